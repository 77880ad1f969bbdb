"""Alerts: the rules of a workspace, one form per rule kind, a test through the real channels,
the delivery log with each endpoint's state, and the secret feed URL.

Reading is for every member; changing rules, channels and the feed needs the admin role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.alerts import AlertService, RuleError, RuleView
from goodwill.alerts.channels import endpoint_label
from goodwill.alerts.deliver import Sent
from goodwill.alerts.rules import AUTHOR_SIGNALS, FREQUENCIES, KIND_INFO, RuleParams
from goodwill.alerts.schedule import WEEKDAYS, check_timezone
from goodwill.domain import INTENT_LABELS, SENTIMENT_LABELS
from goodwill.net import make_client
from goodwill.store.accounts import Role
from goodwill.store.alerts import RETRY_FAILED_MAX_DAYS, AlertStore
from goodwill.store.repository import NotFound, StoreError
from goodwill.store.tables import AlertEndpoint
from goodwill.web.deps import Access, ctx, page_access, render

__all__ = [
    "DELIVERY_STATUSES",
    "alert_service",
    "find_rule",
    "form_to_rule",
    "router",
    "send_test",
]

router = APIRouter(include_in_schema=False)

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")
LOG_PAGE = 50
_NUMBERS: dict[str, tuple[str, type]] = {
    "k": ("k (standard deviations)", float),
    "window_hours": ("window (hours)", float),
    "bucket_minutes": ("bucket (minutes)", float),
    "min_volume": ("minimum volume", int),
    "cooldown_hours": ("cool-down (hours)", float),
    "sla_hours": ("SLA (hours)", float),
    "min_followers": ("minimum followers", int),
    "max_per_hour": ("at most per hour", int),
}
_GROUP_PARAMS = {
    "spike": ("k", "window_hours", "bucket_minutes", "min_volume", "cooldown_hours"),
    "sla": ("sla_hours",),
}


def alert_service(request: Request) -> AlertService:
    """The app's one alerts service, made on first use (the app assembles nothing for it)."""
    state = request.app.state
    if not hasattr(state, "alerts"):
        c = ctx(request)
        state.alerts = AlertService(AlertStore(c.repo.engine), c.settings)
    service: AlertService = state.alerts
    return service


def find_rule(service: AlertService, workspace_id: int, rule_id: int) -> RuleView:
    try:
        return service.rule_by_id(workspace_id, rule_id)
    except NotFound:
        raise HTTPException(404, "no such alert rule in this workspace") from None


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def _number(form: Mapping[str, Any], key: str) -> int | float | None:
    raw = str(form.get(key) or "").strip()
    if not raw:
        return None
    label, cast = _NUMBERS[key]
    try:
        value: int | float = cast(raw)
    except ValueError:
        kind = "a whole number" if cast is int else "a number"
        raise RuleError(f"{label}: {raw!r} is not {kind}") from None
    return value


def form_to_rule(
    kind: str, form: Mapping[str, Any], multi: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The keyword arguments of ``AlertService.add_rule`` from a rule form (only the groups of
    settings the kind has are read), or ``RuleError`` naming the field at fault."""
    info = KIND_INFO.get(kind)
    if info is None:
        raise RuleError(f"unknown rule kind {kind!r}")
    filters: dict[str, Any] = {}
    if "filters" in info.groups:
        filters = {
            "sentiment": multi.get("sentiment", []),
            "intent": multi.get("intent", []),
            "source": _lines(str(form.get("source") or "")),
            "min_followers": _number(form, "min_followers"),
        }
    if "author" in info.groups:
        filters["signal"] = str(form.get("signal") or "influential")
    params: dict[str, Any] = {
        key: value
        for group in info.groups
        for key in _GROUP_PARAMS.get(group, ())
        if (value := _number(form, key)) is not None
    }
    for key in ("digest_at", "timezone"):
        if text := str(form.get(key) or "").strip():
            params[key] = text
    if (weekday := str(form.get("digest_weekday") or "").strip()) in WEEKDAYS:
        params["digest_weekday"] = WEEKDAYS.index(weekday)
    webhooks = [(url, "standard") for url in _lines(str(form.get("webhooks") or ""))]
    webhooks += [(url, "slack") for url in _lines(str(form.get("chat_webhooks") or ""))]
    topic = str(form.get("topic") or "").strip() or None
    return {
        "topic": topic,
        "filters": {k: v for k, v in filters.items() if v not in (None, [])},
        "params": params,
        "frequency": str(form.get("frequency") or "now"),
        "max_per_hour": _number(form, "max_per_hour") or 20,
        "emails": _lines(str(form.get("emails") or "")),
        "webhooks": webhooks,
    }


def _values(view: RuleView | None, kind: str) -> dict[str, Any]:
    """What a rule form shows: the rule's own settings, or the defaults of a new one."""
    defaults = RuleParams()
    v: dict[str, Any] = {
        "name": "",
        "kind": kind,
        "topic": "",
        "frequency": "now",
        "max_per_hour": 20,
        "sentiment": [],
        "intent": [],
        "source": "",
        "min_followers": "",
        "signal": "influential",
        "emails": "",
        "webhooks": "",
        "chat_webhooks": "",
        "digest_at": "",
        "digest_weekday": "",
        "timezone": "",
        **{key: getattr(defaults, key) for keys in _GROUP_PARAMS.values() for key in keys},
    }
    if view is None:
        return v
    r = view.rule
    v.update(
        name=r.name,
        topic=view.topic or "",
        frequency=r.frequency,
        max_per_hour=r.max_per_hour,
        sentiment=r.filters.get("sentiment", []),
        intent=r.filters.get("intent", []),
        source=", ".join(r.filters.get("source", [])),
        min_followers=r.filters.get("min_followers") or "",
        signal=r.filters.get("signal", "influential"),
        emails="\n".join(e.target for e in view.endpoints if e.kind == "email"),
        webhooks="\n".join(
            e.target for e in view.endpoints if e.kind == "webhook" and e.format == "standard"
        ),
        chat_webhooks="\n".join(
            e.target for e in view.endpoints if e.kind == "webhook" and e.format == "slack"
        ),
    )
    v.update({k: val for k, val in r.params.items() if k in v})
    if isinstance(r.params.get("digest_weekday"), int):
        v["digest_weekday"] = WEEKDAYS[r.params["digest_weekday"]]
    return v


def _raw_values(
    kind: str, form: Mapping[str, Any], multi: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The form as the user filled it, to show it again with the error."""
    v = _values(None, kind)
    v.update({k: str(form.get(k) or "") for k in v if k not in ("sentiment", "intent", "kind")})
    v["sentiment"], v["intent"] = multi.get("sentiment", []), multi.get("intent", [])
    return v


def _form_page(
    request: Request,
    access: Access,
    *,
    kind: str,
    view: RuleView | None,
    v: dict[str, Any],
    error: str | None = None,
    secrets: list[AlertEndpoint] | None = None,
    test: list[Sent] | None = None,
    status_code: int = 200,
) -> Response:
    c = ctx(request)
    context = {
        "kind": kind,
        "info": KIND_INFO[kind],
        "kinds": KIND_INFO,
        "view": view,
        "v": v,
        "error": error,
        "secrets": secrets or [],
        "test": test,
        "topics": sorted(t.name for t in c.repo.topics(access.workspace.id)),
        "frequencies": list(FREQUENCIES),
        "signals": AUTHOR_SIGNALS,
        "sentiments": SENTIMENT_LABELS,
        "intents": INTENT_LABELS,
        "label": endpoint_label,
        "weekdays": WEEKDAYS,
        "workspace_zone": alert_service(request).store.workspace_timezone(access.workspace.id),
    }
    return render(request, "alert_rule.html", context, access=access, status_code=status_code)


async def _read_form(request: Request) -> tuple[dict[str, Any], dict[str, list[str]]]:
    form = await request.form()
    multi = {key: [str(x) for x in form.getlist(key)] for key in ("sentiment", "intent")}
    return {k: form.get(k) for k in form}, multi


def _new_secrets(before: set[int], view: RuleView) -> list[AlertEndpoint]:
    """Webhook endpoints this save created: their secret is shown this once."""
    return [e for e in view.endpoints if e.kind == "webhook" and e.id not in before and e.secret]


def _summary(view: RuleView) -> str:
    """The rule's filters and parameters in a few words, for the list."""
    f, p = view.rule.filters, view.rule.params
    parts = []
    for key in ("sentiment", "intent", "source"):
        if f.get(key):
            parts.append(f"{key}: {', '.join(f[key])}")
    if f.get("min_followers") is not None:
        parts.append(f"≥ {f['min_followers']:,} followers")
    if view.rule.kind == "author":
        parts.append(f"signal: {f.get('signal', 'influential')}")
    parts += [
        f"{k.replace('_', ' ')}: {v:g}"
        for k, v in p.items()
        if k not in ("digest_at", "digest_weekday", "timezone")
    ]
    return "; ".join(parts) or "no filter"


@router.get("/w/{workspace_id}/alerts")
def alerts_page(request: Request, access: Annotated[Access, Depends(page_access())]) -> Response:
    service = alert_service(request)
    ws = access.workspace.id
    token = service.store.existing_feed_token(ws)
    context = {
        "rules": service.rules(ws),
        "fired": service.store.last_fired(ws),
        "kinds": KIND_INFO,
        "weekdays": WEEKDAYS,
        "summary": _summary,
        "label": endpoint_label,
        "zone": service.store.workspace_timezone(ws),
        "feed_url": f"{str(request.base_url).rstrip('/')}/alerts/feed/{token}.atom"
        if token
        else None,
    }
    return render(request, "alerts.html", context, access=access)


@router.get("/w/{workspace_id}/alerts/new")
def new_rule_form(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    kind: str = "mention",
) -> Response:
    if kind not in KIND_INFO:
        raise HTTPException(404, f"no rule kind {kind!r}")
    return _form_page(request, access, kind=kind, view=None, v=_values(None, kind))


@router.post("/w/{workspace_id}/alerts")
async def create_rule(
    request: Request, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    service = alert_service(request)
    ws = access.workspace.id
    form, multi = await _read_form(request)
    kind = str(form.get("kind") or "mention")
    if kind not in KIND_INFO:
        raise HTTPException(422, f"unknown rule kind {kind!r}")
    before = {e.id for e in service.store.workspace_endpoints(ws)}
    try:
        view = service.add_rule(
            ws, str(form.get("name") or ""), kind, **form_to_rule(kind, form, multi)
        )
    except (RuleError, StoreError) as exc:
        v = _raw_values(kind, form, multi)
        return _form_page(
            request, access, kind=kind, view=None, v=v, error=str(exc), status_code=422
        )
    secrets = _new_secrets(before, view)
    if not secrets:
        return RedirectResponse(f"/w/{ws}/alerts/{view.rule.id}?saved=1", status_code=303)
    return _form_page(request, access, kind=kind, view=view, v=_values(view, kind), secrets=secrets)


@router.get("/w/{workspace_id}/alerts/log")
def log_page(
    request: Request,
    access: Annotated[Access, Depends(page_access())],
    status: Annotated[str, Query(max_length=16)] = "",
    rule: Annotated[str, Query(max_length=200)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    service = alert_service(request)
    ws = access.workspace.id
    if status and status not in DELIVERY_STATUSES:
        raise HTTPException(422, f"unknown status {status!r} (use {', '.join(DELIVERY_STATUSES)})")
    rows = service.log(
        ws, limit=LOG_PAGE + 1, rule=rule or None, status=status or None, before_id=before
    )
    older = rows[LOG_PAGE - 1].delivery.id if len(rows) > LOG_PAGE else None
    context = {
        "rows": rows[:LOG_PAGE],
        "older": older,
        "status": status,
        "rule": rule,
        "statuses": DELIVERY_STATUSES,
        "rule_names": [v.rule.name for v in service.rules(ws)],
        "endpoints": service.store.workspace_endpoints(ws),
        "label": endpoint_label,
    }
    return render(request, "alert_log.html", context, access=access)


@router.post("/w/{workspace_id}/alerts/endpoints/{endpoint_id}/enable")
def enable_endpoint(
    request: Request,
    endpoint_id: int,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    retry_failed_days: Annotated[int, Form(ge=0, le=RETRY_FAILED_MAX_DAYS)] = 0,
) -> Response:
    """Switch the endpoint back on; with ``retry_failed_days``, queue again what failed."""
    try:
        alert_service(request).store.set_endpoint_enabled(
            access.workspace.id, endpoint_id, True, retry_failed_days=retry_failed_days
        )
    except NotFound:
        raise HTTPException(404, "no such endpoint in this workspace") from None
    return RedirectResponse(f"/w/{access.workspace.id}/alerts/log", status_code=303)


@router.post("/w/{workspace_id}/alerts/feed")
def regenerate_feed(
    request: Request, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    """Make the feed URL, or replace it: the old URL stops working at once."""
    alert_service(request).store.feed_token(access.workspace.id, rotate=True)
    return RedirectResponse(f"/w/{access.workspace.id}/alerts#feed", status_code=303)


@router.post("/w/{workspace_id}/alerts/timezone")
def set_timezone(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    timezone: Annotated[str, Form(max_length=64)],
) -> Response:
    """The local time zone of the workspace's daily and weekly digests."""
    service = alert_service(request)
    try:
        zone = check_timezone(timezone)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    service.store.set_workspace_timezone(access.workspace.id, zone)
    return RedirectResponse(f"/w/{access.workspace.id}/alerts#timezone", status_code=303)


@router.get("/w/{workspace_id}/alerts/{rule_id}")
def rule_page(
    request: Request, rule_id: int, access: Annotated[Access, Depends(page_access())]
) -> Response:
    view = find_rule(alert_service(request), access.workspace.id, rule_id)
    kind = view.rule.kind
    return _form_page(request, access, kind=kind, view=view, v=_values(view, kind))


@router.post("/w/{workspace_id}/alerts/{rule_id}")
async def update_rule(
    request: Request, rule_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    service = alert_service(request)
    ws = access.workspace.id
    view = find_rule(service, ws, rule_id)
    kind = view.rule.kind
    form, multi = await _read_form(request)
    before = {e.id for e in service.store.workspace_endpoints(ws)}
    try:
        view = service.update_rule(
            ws, rule_id, str(form.get("name") or ""), **form_to_rule(kind, form, multi)
        )
    except (RuleError, StoreError) as exc:
        v = _raw_values(kind, form, multi)
        return _form_page(
            request, access, kind=kind, view=view, v=v, error=str(exc), status_code=422
        )
    secrets = _new_secrets(before, view)
    if not secrets:
        return RedirectResponse(f"/w/{ws}/alerts/{rule_id}?saved=1", status_code=303)
    return _form_page(request, access, kind=kind, view=view, v=_values(view, kind), secrets=secrets)


@router.post("/w/{workspace_id}/alerts/{rule_id}/enabled")
def toggle_rule(
    request: Request,
    rule_id: int,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    service = alert_service(request)
    find_rule(service, access.workspace.id, rule_id)
    service.set_enabled(access.workspace.id, rule_id, enabled)
    return RedirectResponse(f"/w/{access.workspace.id}/alerts", status_code=303)


async def send_test(request: Request, workspace_id: int, view: RuleView) -> list[Sent]:
    """A clearly marked test alert through the rule's real channels, delivered now."""
    service = alert_service(request)
    async with make_client(ctx(request).settings) as http:
        return await service.send_test(workspace_id, view.rule.name, http)


@router.post("/w/{workspace_id}/alerts/{rule_id}/test")
async def test_rule(
    request: Request, rule_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    ws = access.workspace.id
    view = find_rule(alert_service(request), ws, rule_id)
    kind = view.rule.kind
    try:
        results = await send_test(request, ws, view)
    except StoreError as exc:
        return _form_page(
            request, access, kind=kind, view=view, v=_values(view, kind), error=str(exc)
        )
    return _form_page(request, access, kind=kind, view=view, v=_values(view, kind), test=results)


@router.post("/w/{workspace_id}/alerts/{rule_id}/delete")
def delete_rule(
    request: Request, rule_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    service = alert_service(request)
    view = find_rule(service, access.workspace.id, rule_id)
    service.remove_rule(access.workspace.id, view.rule.name)
    return RedirectResponse(f"/w/{access.workspace.id}/alerts", status_code=303)
