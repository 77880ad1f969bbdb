"""The inbox pages: conversations by priority with their SLA, one conversation with its thread,
notes, assignment, status and the reply box, and the answer metrics.

Plain forms that post and redirect (every action works without script); ``inbox.js`` only adds
the template picker's "be authentic" hint and the metrics chart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.inbox import STATUSES, ConversationView, InboxError
from goodwill.inbox.reply import reply_problem, reply_target
from goodwill.inbox.reply_templates import ReplyTemplates
from goodwill.store.accounts import Role
from goodwill.store.repository import NotFound
from goodwill.web.deps import Access, ctx, page_access, render
from goodwill.web.inbox_actions import (
    NotAuthentic,
    inbox_of,
    reply,
    resolve_teammate,
    teammates,
    who,
)
from goodwill.web.pages.mentions import label_of

__all__ = ["human_duration", "router"]

router = APIRouter(include_in_schema=False)

TABS = {"open": "Needs an answer", "waiting": "Waiting", "done": "Done", "all": "All"}
PAGE_SIZE = 50
"""Conversations on one inbox page, most urgent first; the rest are on the next pages."""


def human_duration(seconds: float | None) -> str:
    """3 min, 2.5 h, 1.2 d: what a person reads at a glance ("–" when there is nothing)."""
    if seconds is None:
        return "–"
    seconds = abs(seconds)
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def sla_badge(v: ConversationView, now: datetime) -> dict[str, str] | None:
    """The SLA as a badge: breached (and how long ago), due (a countdown), or answered late."""
    if v.sla_due_at is not None:
        left = (v.sla_due_at - now).total_seconds()
        if left <= 0:
            return {"kind": "breached", "text": f"SLA breached {human_duration(left)} ago"}
        return {"kind": "due", "text": f"answer due in {human_duration(left)}"}
    if v.sla_breached:
        return {"kind": "late", "text": "answered after the SLA"}
    return None


def chips(v: ConversationView) -> list[str]:
    out = ["complaint"] * (v.complaints > 0) + ["question"] * (v.questions > 0)
    out += ["mention"] * (v.direct_mentions > 0) + ["negative"] * (v.negative > 0)
    return out


def _conversation(request: Request, access: Access, conversation_id: int) -> ConversationView:
    try:
        return inbox_of(request).conversation(access.workspace.id, conversation_id)
    except NotFound:
        raise HTTPException(404, "no such conversation in this workspace") from None


def _back(access: Access, conversation_id: int, anchor: str = "") -> Response:
    url = f"/w/{access.workspace.id}/inbox/{conversation_id}{anchor}"
    return RedirectResponse(url, status_code=303)


@router.get("/w/{workspace_id}/inbox")
def inbox_page(
    request: Request,
    access: Annotated[Access, Depends(page_access())],
    status: Annotated[str, Query(max_length=16)] = "open",
    mine: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    if status not in TABS:
        raise HTTPException(404, f"no {status!r} tab: use {', '.join(TABS)}")
    inbox = inbox_of(request)
    ws = access.workspace.id
    inbox.refresh(ws)
    now = datetime.now(UTC)
    filters: dict[str, Any] = {
        "status": None if status == "all" else status,
        "assignee": who(access.user) if mine else None,
        "now": now,
    }
    views = inbox.conversations(ws, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
    shown = inbox.count_conversations(ws, **filters)
    m = inbox.metrics(ws, now=now)
    counts: dict[str, int] = dict(m.by_status)
    counts["all"] = sum(m.by_status.values())
    chart = {
        "labels": list(STATUSES),
        "values": [m.by_status[s] for s in STATUSES],
    }
    context: dict[str, Any] = {
        "views": views,
        "tab": status,
        "tabs": TABS,
        "counts": counts,
        "mine": mine,
        "m": m,
        "badges": {v.id: sla_badge(v, now) for v in views},
        "chips": {v.id: chips(v) for v in views},
        "human": human_duration,
        "now": now,
        "chart_json": json.dumps(chart),
        "templates": ReplyTemplates(inbox).list(ws),
        "page": page,
        "pages": max(1, -(-shown // PAGE_SIZE)),
    }
    return render(request, "inbox.html", context, access=access)


def _conversation_page(
    request: Request,
    access: Access,
    conversation_id: int,
    *,
    draft: str = "",
    warning: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    inbox = inbox_of(request)
    ws = access.workspace.id
    view = _conversation(request, access, conversation_id)
    other = None
    if access.role.allows(Role.RESPONDER):  # viewers read; they are not "on it"
        other = inbox.open_as(ws, conversation_id, who(access.user))
    posts = inbox.posts(ws, conversation_id)
    corrected = ctx(request).corrections.latest(ws, [p.id for p in posts])
    try:
        target = reply_target(inbox, ws, conversation_id)
    except InboxError:
        target = None
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "v": view,
        "posts": posts,
        "labels": {p.id: label_of(p, corrected) for p in posts},
        "notes": inbox.notes(ws, conversation_id),
        "other": other,
        "teammates": teammates(request, access),
        "statuses": STATUSES,
        "templates": ReplyTemplates(inbox).list(ws),
        "target": target,
        "problem": reply_problem(inbox, ws, conversation_id),
        "badge": sla_badge(view, now),
        "chips": chips(view),
        "human": human_duration,
        "draft": draft,
        "warning": warning,
        "error": error,
    }
    return render(request, "conversation.html", context, access=access, status_code=status_code)


@router.get("/w/{workspace_id}/inbox/{conversation_id}")
def conversation_page(
    request: Request, conversation_id: int, access: Annotated[Access, Depends(page_access())]
) -> Response:
    return _conversation_page(request, access, conversation_id)


@router.post("/w/{workspace_id}/inbox/{conversation_id}/assign")
def assign(
    request: Request,
    conversation_id: int,
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
    assignee: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _conversation(request, access, conversation_id)
    name = resolve_teammate(request, access, assignee)
    inbox_of(request).assign(access.workspace.id, conversation_id, name)
    return _back(access, conversation_id)


@router.post("/w/{workspace_id}/inbox/{conversation_id}/status")
def set_status(
    request: Request,
    conversation_id: int,
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    _conversation(request, access, conversation_id)
    try:
        inbox_of(request).set_status(access.workspace.id, conversation_id, status)
    except InboxError as exc:
        raise HTTPException(422, str(exc)) from None
    return _back(access, conversation_id)


@router.post("/w/{workspace_id}/inbox/{conversation_id}/answered-elsewhere")
def answered_elsewhere(
    request: Request,
    conversation_id: int,
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
) -> Response:
    return set_status(request, conversation_id, access, "done")


@router.post("/w/{workspace_id}/inbox/{conversation_id}/notes")
def add_note(
    request: Request,
    conversation_id: int,
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
    text: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    _conversation(request, access, conversation_id)
    try:
        inbox_of(request).add_note(access.workspace.id, conversation_id, who(access.user), text)
    except InboxError as exc:
        return _conversation_page(request, access, conversation_id, error=str(exc), status_code=422)
    return _back(access, conversation_id, "#notes")


@router.post("/w/{workspace_id}/inbox/{conversation_id}/reply")
async def send(
    request: Request,
    conversation_id: int,
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
    text: Annotated[str, Form(max_length=10_000)] = "",
    send_anyway: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        await reply(request, access, conversation_id, text, send_anyway=send_anyway == "1")
    except NotAuthentic as exc:
        return _conversation_page(
            request, access, conversation_id, draft=text, warning=str(exc), status_code=409
        )
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        return _conversation_page(
            request,
            access,
            conversation_id,
            draft=text,
            error=str(exc.detail),
            status_code=exc.status_code,
        )
    return _back(access, conversation_id, "#thread")


@router.post("/w/{workspace_id}/inbox-templates")
def add_template(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    name: Annotated[str, Form(max_length=200)] = "",
    text: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        ReplyTemplates(inbox_of(request)).add(access.workspace.id, name, text)
    except InboxError as exc:
        raise HTTPException(422, str(exc)) from None
    return RedirectResponse(f"/w/{access.workspace.id}/inbox#templates", status_code=303)


@router.post("/w/{workspace_id}/inbox-templates/{template_id}/delete")
def remove_template(
    request: Request, template_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    try:
        ReplyTemplates(inbox_of(request)).remove(access.workspace.id, template_id)
    except NotFound:
        raise HTTPException(404, "no such template in this workspace") from None
    return RedirectResponse(f"/w/{access.workspace.id}/inbox#templates", status_code=303)
