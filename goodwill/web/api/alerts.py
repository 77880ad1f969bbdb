"""Alert rules, a test through their real channels, the delivery log, endpoints and the feed.

Reading is for every member; changes need the admin role. A webhook's signing secret is in the
answer that created the endpoint, and nowhere else in this API.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from goodwill.alerts import RuleError, RuleView
from goodwill.alerts.channels import endpoint_label
from goodwill.alerts.rules import RuleFilters, RuleParams
from goodwill.alerts.schedule import check_timezone
from goodwill.store.accounts import Role
from goodwill.store.alerts import RETRY_FAILED_MAX_DAYS, LogRow
from goodwill.store.repository import NotFound, StoreError
from goodwill.store.tables import AlertEndpoint
from goodwill.web.deps import Access, api_access
from goodwill.web.pages.alerts import DELIVERY_STATUSES, alert_service, find_rule, send_test

__all__ = ["router"]

router = APIRouter(tags=["alerts"])


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000)
    format: Literal["standard", "slack"] = Field(
        default="standard",
        description="standard: signed JSON (Standard Webhooks); slack: a Slack, Mattermost "
        "and Discord compatible chat message.",
    )


class RuleIn(BaseModel):
    name: str = Field(max_length=200)
    kind: str = Field(
        default="mention",
        description="mention, author, volume_spike, negative_spike or unanswered.",
    )
    topic: str | None = Field(default=None, description="Topic name; required by some kinds.")
    filters: RuleFilters = Field(default_factory=RuleFilters)
    params: RuleParams = Field(default_factory=RuleParams)
    frequency: str = Field(default="now", description="now, hourly, daily or weekly.")
    max_per_hour: int = Field(default=20, ge=1)
    emails: list[str] = Field(default_factory=list, max_length=50)
    webhooks: list[WebhookIn] = Field(default_factory=list, max_length=50)


class RulePatch(BaseModel):
    enabled: bool | None = Field(default=None, description="Switch on or off; absent: as is.")


class EndpointPatch(BaseModel):
    enabled: bool | None = Field(default=None, description="Switch on or off; absent: as is.")
    retry_failed_days: int = Field(
        default=0,
        ge=0,
        le=RETRY_FAILED_MAX_DAYS,
        description="When re-enabling: queue again the deliveries to this endpoint that failed "
        "and were made in this many last days (0: none).",
    )


class EndpointOut(BaseModel):
    id: int
    kind: str
    target: str = Field(description="Chat webhook URLs are shortened for non-admins.")
    format: str
    enabled: bool
    disabled_reason: str | None
    secret: str | None = Field(
        default=None, description="The signing secret, only in the answer that created it."
    )
    retried: int | None = Field(
        default=None, description="Failed deliveries queued again by this change."
    )

    @classmethod
    def of(cls, e: AlertEndpoint, *, full: bool, secret: bool = False) -> EndpointOut:
        return cls(
            id=e.id,
            kind=e.kind,
            target=e.target if full else endpoint_label(e.kind, e.target),
            format=e.format,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            secret=e.secret if secret else None,
        )


class RuleOut(BaseModel):
    id: int
    name: str
    kind: str
    topic: str | None
    filters: dict[str, Any]
    params: dict[str, Any]
    frequency: str
    max_per_hour: int
    enabled: bool
    last_fired_at: datetime | None
    endpoints: list[EndpointOut]

    @classmethod
    def of(
        cls,
        view: RuleView,
        fired: datetime | None,
        *,
        full: bool,
        new_endpoints: Collection[int] = (),
    ) -> RuleOut:
        r = view.rule
        return cls(
            id=r.id,
            name=r.name,
            kind=r.kind,
            topic=view.topic,
            filters=r.filters,
            params=r.params,
            frequency=r.frequency,
            max_per_hour=r.max_per_hour,
            enabled=r.enabled,
            last_fired_at=fired,
            endpoints=[
                EndpointOut.of(e, full=full, secret=e.id in new_endpoints) for e in view.endpoints
            ],
        )


class RulePageOut(BaseModel):
    items: list[RuleOut]
    next_after: int | None = Field(description="Pass as ?after= for the next page.")


class TestResultOut(BaseModel):
    endpoint: str
    ok: bool
    status: int | None
    error: str | None
    will_retry: bool


class DeliveryOut(BaseModel):
    id: int
    message_id: str = Field(description="The webhook-id: the same on every retry.")
    rule: str
    title: str
    endpoint_id: int
    endpoint: str
    status: str = Field(description="pending, sending, sent or failed.")
    attempts: int
    next_attempt_at: datetime | None = Field(description="When pending: the next try.")
    last_status: int | None
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: LogRow) -> DeliveryOut:
        d = row.delivery
        return cls(
            id=d.id,
            message_id=d.message_id,
            rule=row.rule,
            title=row.title,
            endpoint_id=row.endpoint.id,
            endpoint=endpoint_label(row.endpoint.kind, row.endpoint.target),
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            last_status=d.last_status,
            last_error=d.last_error,
            sent_at=d.sent_at,
            created_at=d.created_at,
        )


class DeliveryPageOut(BaseModel):
    items: list[DeliveryOut]
    next_before: int | None = Field(description="Pass as ?before= for the next (older) page.")


class FeedOut(BaseModel):
    url: str | None = Field(description="The secret Atom feed URL; null until one is made.")


def _save_args(body: RuleIn) -> dict[str, Any]:
    return {
        "topic": body.topic,
        "filters": body.filters.model_dump(exclude_unset=True),
        "params": body.params.model_dump(exclude_unset=True),
        "frequency": body.frequency,
        "max_per_hour": body.max_per_hour,
        "emails": body.emails,
        "webhooks": [(w.url, w.format) for w in body.webhooks],
    }


def _admin(access: Access) -> bool:
    return access.role.allows(Role.ADMIN)


@router.get("/workspaces/{workspace_id}/alerts/rules", response_model=RulePageOut)
def list_rules(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    after: Annotated[int, Query(ge=0, description="Last id of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RulePageOut:
    service = alert_service(request)
    ws = access.workspace.id
    views = [v for v in service.rules(ws) if v.rule.id > after]
    fired = service.store.last_fired(ws)
    items = [RuleOut.of(v, fired.get(v.rule.id), full=_admin(access)) for v in views[:limit]]
    return RulePageOut(items=items, next_after=items[-1].id if len(views) > limit else None)


@router.post("/workspaces/{workspace_id}/alerts/rules", response_model=RuleOut, status_code=201)
def create_rule(
    request: Request, body: RuleIn, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> RuleOut:
    service = alert_service(request)
    ws = access.workspace.id
    before = {e.id for e in service.store.workspace_endpoints(ws)}
    try:
        view = service.add_rule(ws, body.name, body.kind, **_save_args(body))
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None
    except StoreError as exc:
        raise HTTPException(409, str(exc)) from None
    new = {e.id for e in view.endpoints} - before
    return RuleOut.of(view, None, full=True, new_endpoints=new)


@router.get("/workspaces/{workspace_id}/alerts/rules/{rule_id}", response_model=RuleOut)
def get_rule(
    request: Request, rule_id: int, access: Annotated[Access, Depends(api_access())]
) -> RuleOut:
    service = alert_service(request)
    view = find_rule(service, access.workspace.id, rule_id)
    fired = service.store.last_fired(access.workspace.id).get(rule_id)
    return RuleOut.of(view, fired, full=_admin(access))


@router.put("/workspaces/{workspace_id}/alerts/rules/{rule_id}", response_model=RuleOut)
def replace_rule(
    request: Request,
    rule_id: int,
    body: RuleIn,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> RuleOut:
    """Replace the rule's settings and channels. Its kind cannot change."""
    service = alert_service(request)
    ws = access.workspace.id
    view = find_rule(service, ws, rule_id)
    if body.kind != view.rule.kind:
        raise HTTPException(422, f"a rule's kind cannot change ({view.rule.kind}); make a new one")
    before = {e.id for e in service.store.workspace_endpoints(ws)}
    try:
        view = service.update_rule(ws, rule_id, body.name, **_save_args(body))
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None
    except StoreError as exc:
        raise HTTPException(409, str(exc)) from None
    new = {e.id for e in view.endpoints} - before
    fired = service.store.last_fired(ws).get(rule_id)
    return RuleOut.of(view, fired, full=True, new_endpoints=new)


@router.patch("/workspaces/{workspace_id}/alerts/rules/{rule_id}", response_model=RuleOut)
def patch_rule(
    request: Request,
    rule_id: int,
    body: RulePatch,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> RuleOut:
    """Switch a rule on or off."""
    service = alert_service(request)
    ws = access.workspace.id
    view = find_rule(service, ws, rule_id)
    if body.enabled is not None:
        view = service.set_enabled(ws, rule_id, body.enabled)
    return RuleOut.of(view, service.store.last_fired(ws).get(rule_id), full=True)


@router.delete("/workspaces/{workspace_id}/alerts/rules/{rule_id}", status_code=204)
def delete_rule(
    request: Request, rule_id: int, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> None:
    service = alert_service(request)
    view = find_rule(service, access.workspace.id, rule_id)
    service.remove_rule(access.workspace.id, view.rule.name)


@router.post(
    "/workspaces/{workspace_id}/alerts/rules/{rule_id}/test", response_model=list[TestResultOut]
)
async def test_rule(
    request: Request, rule_id: int, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> list[TestResultOut]:
    """Send a test alert (type ``alert.test``) through the rule's enabled channels now."""
    ws = access.workspace.id
    view = find_rule(alert_service(request), ws, rule_id)
    try:
        sent = await send_test(request, ws, view)
    except StoreError as exc:
        raise HTTPException(409, str(exc)) from None
    return [
        TestResultOut(
            endpoint=s.endpoint, ok=s.ok, status=s.status, error=s.error, will_retry=not s.final
        )
        for s in sent
    ]


@router.get("/workspaces/{workspace_id}/alerts/deliveries", response_model=DeliveryPageOut)
def deliveries(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    status: Annotated[Literal["pending", "sending", "sent", "failed"] | None, Query()] = None,
    rule: Annotated[str | None, Query(max_length=200)] = None,
    endpoint_id: Annotated[int | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, description="next_before of the last page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPageOut:
    """The outbox, newest first."""
    assert status is None or status in DELIVERY_STATUSES
    rows = alert_service(request).log(
        access.workspace.id,
        limit=limit + 1,
        rule=rule,
        status=status,
        endpoint_id=endpoint_id,
        before_id=before,
    )
    items = [DeliveryOut.of(r) for r in rows[:limit]]
    return DeliveryPageOut(items=items, next_before=items[-1].id if len(rows) > limit else None)


@router.get("/workspaces/{workspace_id}/alerts/endpoints", response_model=list[EndpointOut])
def endpoints(
    request: Request, access: Annotated[Access, Depends(api_access())]
) -> list[EndpointOut]:
    store = alert_service(request).store
    return [
        EndpointOut.of(e, full=_admin(access))
        for e in store.workspace_endpoints(access.workspace.id)
    ]


@router.patch(
    "/workspaces/{workspace_id}/alerts/endpoints/{endpoint_id}", response_model=EndpointOut
)
def patch_endpoint(
    request: Request,
    endpoint_id: int,
    body: EndpointPatch,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> EndpointOut:
    """Re-enable an endpoint (after HTTP 410), optionally queueing again what failed in the
    last ``retry_failed_days``, or switch it off (its waiting deliveries wait)."""
    store = alert_service(request).store
    found = [e for e in store.workspace_endpoints(access.workspace.id) if e.id == endpoint_id]
    if not found:
        raise HTTPException(404, "no such endpoint in this workspace")
    if body.enabled is None:
        return EndpointOut.of(found[0], full=True)
    try:
        e, retried = store.set_endpoint_enabled(
            access.workspace.id,
            endpoint_id,
            body.enabled,
            retry_failed_days=body.retry_failed_days,
        )
    except NotFound:
        raise HTTPException(404, "no such endpoint in this workspace") from None
    out = EndpointOut.of(e, full=True)
    out.retried = retried
    return out


def _feed_url(request: Request, token: str | None) -> str | None:
    return f"{str(request.base_url).rstrip('/')}/alerts/feed/{token}.atom" if token else None


@router.get("/workspaces/{workspace_id}/alerts/feed", response_model=FeedOut)
def feed(request: Request, access: Annotated[Access, Depends(api_access())]) -> FeedOut:
    token = alert_service(request).store.existing_feed_token(access.workspace.id)
    return FeedOut(url=_feed_url(request, token))


@router.post("/workspaces/{workspace_id}/alerts/feed", response_model=FeedOut)
def regenerate_feed(
    request: Request, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> FeedOut:
    """Make the feed URL, or replace it (the old one stops working)."""
    token = alert_service(request).store.feed_token(access.workspace.id, rotate=True)
    return FeedOut(url=_feed_url(request, token))


class TimezoneIO(BaseModel):
    timezone: str = Field(max_length=64, description="IANA name, e.g. Europe/Paris.")


@router.get("/workspaces/{workspace_id}/alerts/timezone", response_model=TimezoneIO)
def get_timezone(request: Request, access: Annotated[Access, Depends(api_access())]) -> TimezoneIO:
    """The local time zone of the workspace's daily and weekly digests."""
    return TimezoneIO(timezone=alert_service(request).store.workspace_timezone(access.workspace.id))


@router.put("/workspaces/{workspace_id}/alerts/timezone", response_model=TimezoneIO)
def put_timezone(
    request: Request,
    body: TimezoneIO,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> TimezoneIO:
    try:
        zone = check_timezone(body.timezone)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    alert_service(request).store.set_workspace_timezone(access.workspace.id, zone)
    return TimezoneIO(timezone=zone)
