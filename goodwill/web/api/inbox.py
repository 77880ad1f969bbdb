"""The inbox over the API: conversations by priority, one with its thread and notes, triage
(assign, status, notes), replies through the source's connector, metrics and templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from goodwill.inbox import ConversationView, InboxError
from goodwill.inbox.reply_templates import ReplyTemplates
from goodwill.store.accounts import Role
from goodwill.store.repository import NotFound
from goodwill.web.deps import Access, api_access
from goodwill.web.inbox_actions import NotAuthentic, inbox_of, reply, resolve_teammate, who

__all__ = ["router"]

router = APIRouter(tags=["inbox"])
Status = Literal["open", "waiting", "done"]
_BASE = "/workspaces/{workspace_id}/inbox"


class PriorityOut(BaseModel):
    score: int
    reasons: list[str]


class ConversationOut(BaseModel):
    id: int
    source: str
    status: str
    assignee: str | None
    needs_answer: bool
    opened_at: datetime
    last_post_at: datetime
    first_ask_at: datetime | None
    answered_at: datetime | None
    resolved_at: datetime | None
    sla_breached: bool = Field(description="The first answer came, or is, later than the SLA.")
    sla_due_at: datetime | None = Field(description="When the first answer is due (unanswered).")
    author_handle: str | None
    preview: str
    post_count: int
    questions: int
    complaints: int
    direct_mentions: int
    negative: int
    priority: PriorityOut

    @classmethod
    def of(cls, v: ConversationView) -> ConversationOut:
        data = v.as_dict()
        return cls.model_validate(data)


class ConversationPageOut(BaseModel):
    items: list[ConversationOut]
    total: int
    next_offset: int | None = Field(description="Pass as ?offset= for the next page.")


class ThreadPostOut(BaseModel):
    id: int
    external_id: str
    author_handle: str | None
    author_name: str | None
    is_own: bool
    created_at: datetime
    text: str
    url: str | None
    in_reply_to: str | None
    intent: str | None
    sentiment: str | None


class NoteOut(BaseModel):
    id: int
    author: str
    text: str
    created_at: datetime


class ConversationDetailOut(ConversationOut):
    posts: list[ThreadPostOut]
    notes: list[NoteOut]


class AssignIn(BaseModel):
    assignee: str | None = Field(
        max_length=200, description="A teammate's name or e-mail; null unassigns."
    )


class StatusIn(BaseModel):
    status: Status


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    send_anyway: bool = Field(
        default=False,
        description="Send even though this text was already sent unchanged the template "
        "threshold times (otherwise 409 with a 'be authentic' warning).",
    )


class ReplyOut(BaseModel):
    to: str = Field(description="The external id of the post answered.")
    stored: bool
    posted: dict[str, Any]
    conversation: ConversationOut


class OpenedOut(BaseModel):
    also_opened_by: str | None
    since: datetime | None


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=5000)


class TemplateOut(BaseModel):
    id: int
    name: str
    text: str
    sent: int = Field(description="Times the brand already sent this text unchanged.")
    flagged: bool = Field(description="Sent at least the template threshold times.")


def _label(analysis: dict[str, Any] | None, key: str) -> str | None:
    value = (analysis or {}).get(key)
    label = value.get("label") if isinstance(value, dict) else None
    return label if isinstance(label, str) else None


def _detail(request: Request, access: Access, conversation_id: int) -> ConversationDetailOut:
    inbox = inbox_of(request)
    ws = access.workspace.id
    try:
        view = inbox.conversation(ws, conversation_id)
        posts = inbox.posts(ws, conversation_id)
        notes = inbox.notes(ws, conversation_id)
    except NotFound:
        raise HTTPException(404, "no such conversation in this workspace") from None
    return ConversationDetailOut(
        **ConversationOut.of(view).model_dump(),
        posts=[
            ThreadPostOut(
                id=p.id,
                external_id=p.external_id,
                author_handle=p.author_handle,
                author_name=p.author_name,
                is_own=p.is_own,
                created_at=p.created_at,
                text=p.text,
                url=p.url,
                in_reply_to=p.in_reply_to,
                intent=_label(p.analysis, "intent"),
                sentiment=_label(p.analysis, "sentiment"),
            )
            for p in posts
        ],
        notes=[
            NoteOut(id=n.id, author=n.author, text=n.text, created_at=n.created_at) for n in notes
        ],
    )


def _act(action: Any) -> None:
    try:
        action()
    except NotFound:
        raise HTTPException(404, "no such conversation in this workspace") from None
    except InboxError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get(_BASE + "/conversations", response_model=ConversationPageOut)
def list_conversations(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    status: Status | None = None,
    assignee: Annotated[
        str | None, Query(max_length=200, description="A teammate's name; '-' for nobody.")
    ] = None,
    needs_answer: bool | None = None,
    sla_breached: Annotated[
        bool | None, Query(description="Unanswered past the SLA (true) or not (false).")
    ] = None,
    source: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ConversationPageOut:
    """Conversations with a question, a complaint or a mention of the brand, most urgent
    first (brought up to date with the stored posts first). Priority moves with waiting time,
    so pages are by offset."""
    inbox = inbox_of(request)
    ws = access.workspace.id
    inbox.refresh(ws)
    now = datetime.now(UTC)
    filters: dict[str, Any] = {
        "status": status,
        "assignee": assignee,
        "needs_answer": needs_answer,
        "sla_breached": sla_breached,
        "source": source,
        "now": now,
    }
    page = inbox.conversations(ws, limit=limit, offset=offset, **filters)
    total = inbox.count_conversations(ws, **filters)
    more = offset + limit < total
    return ConversationPageOut(
        items=[ConversationOut.of(v) for v in page],
        total=total,
        next_offset=offset + limit if more else None,
    )


@router.get(_BASE + "/conversations/{conversation_id}", response_model=ConversationDetailOut)
def get_conversation(
    request: Request, conversation_id: int, access: Annotated[Access, Depends(api_access())]
) -> ConversationDetailOut:
    """The conversation with its posts (oldest first) and the team's notes."""
    return _detail(request, access, conversation_id)


@router.post(_BASE + "/conversations/{conversation_id}/open", response_model=OpenedOut)
def open_conversation(
    request: Request,
    conversation_id: int,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> OpenedOut:
    """Say you are working on it; answers who else opened it in the last ten minutes."""
    try:
        other = inbox_of(request).open_as(access.workspace.id, conversation_id, who(access.user))
    except NotFound:
        raise HTTPException(404, "no such conversation in this workspace") from None
    return OpenedOut(also_opened_by=other[0] if other else None, since=other[1] if other else None)


@router.post(_BASE + "/conversations/{conversation_id}/assign", response_model=ConversationOut)
def assign(
    request: Request,
    conversation_id: int,
    body: AssignIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> ConversationOut:
    inbox = inbox_of(request)
    ws = access.workspace.id
    _act(lambda: inbox.conversation(ws, conversation_id))
    name = resolve_teammate(request, access, body.assignee)
    _act(lambda: inbox.assign(ws, conversation_id, name))
    return ConversationOut.of(inbox.conversation(ws, conversation_id))


@router.post(_BASE + "/conversations/{conversation_id}/status", response_model=ConversationOut)
def set_status(
    request: Request,
    conversation_id: int,
    body: StatusIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> ConversationOut:
    """``done`` on an unanswered conversation means it was answered elsewhere."""
    inbox = inbox_of(request)
    ws = access.workspace.id
    _act(lambda: inbox.set_status(ws, conversation_id, body.status))
    return ConversationOut.of(inbox.conversation(ws, conversation_id))


@router.post(
    _BASE + "/conversations/{conversation_id}/answered-elsewhere", response_model=ConversationOut
)
def answered_elsewhere(
    request: Request,
    conversation_id: int,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> ConversationOut:
    """Mark it answered outside Goodwill (e-mail, phone): done, and counted as answered now."""
    return set_status(request, conversation_id, StatusIn(status="done"), access)


@router.post(
    _BASE + "/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201
)
def add_note(
    request: Request,
    conversation_id: int,
    body: NoteIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> NoteOut:
    """An internal note: teammates see it, the customer never does."""
    inbox = inbox_of(request)
    ws = access.workspace.id
    _act(lambda: inbox.add_note(ws, conversation_id, who(access.user), body.text))
    note = inbox.notes(ws, conversation_id)[-1]
    return NoteOut(id=note.id, author=note.author, text=note.text, created_at=note.created_at)


@router.post(
    _BASE + "/conversations/{conversation_id}/reply",
    response_model=ReplyOut,
    status_code=201,
    responses={
        409: {"description": "The text was sent unchanged many times: be authentic."},
        422: {"description": "The source cannot reply, has no credentials, or the text is empty."},
        502: {"description": "The network refused the reply."},
    },
)
async def send(
    request: Request,
    conversation_id: int,
    body: ReplyIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> Any:
    """Answer the conversation's latest question, complaint or mention as the brand account,
    through the connector of the source that listened to it. The reply is stored as an own
    post, so the conversation counts as answered."""
    try:
        done = await reply(
            request, access, conversation_id, body.text, send_anyway=body.send_anyway
        )
    except NotAuthentic as exc:
        return JSONResponse({"detail": str(exc), "sent": exc.sent}, status_code=409)
    view = inbox_of(request).conversation(access.workspace.id, conversation_id)
    return ReplyOut(
        to=done.to, stored=done.stored, posted=done.posted, conversation=ConversationOut.of(view)
    )


@router.get(_BASE + "/metrics")
def metrics(request: Request, access: Annotated[Access, Depends(api_access())]) -> dict[str, Any]:
    """First response and resolution times (median and p90, seconds), response rate,
    coverage, SLA breaches, conversations per status, flagged templates."""
    inbox = inbox_of(request)
    inbox.refresh(access.workspace.id)
    return inbox.metrics(access.workspace.id).as_dict()


@router.get(_BASE + "/templates", response_model=list[TemplateOut])
def list_templates(
    request: Request, access: Annotated[Access, Depends(api_access())]
) -> list[TemplateOut]:
    """Saved replies, each with how many times it was already sent unchanged."""
    views = ReplyTemplates(inbox_of(request)).list(access.workspace.id)
    return [
        TemplateOut(id=t.id, name=t.name, text=t.text, sent=t.sent, flagged=t.flagged)
        for t in views
    ]


@router.post(_BASE + "/templates", response_model=TemplateOut, status_code=201)
def add_template(
    request: Request,
    body: TemplateIn,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> TemplateOut:
    try:
        t = ReplyTemplates(inbox_of(request)).add(access.workspace.id, body.name, body.text)
    except InboxError as exc:
        raise HTTPException(409 if "already" in str(exc) else 422, str(exc)) from None
    return TemplateOut(id=t.id, name=t.name, text=t.text, sent=t.sent, flagged=t.flagged)


@router.delete(_BASE + "/templates/{template_id}", status_code=204)
def remove_template(
    request: Request,
    template_id: int,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> None:
    try:
        ReplyTemplates(inbox_of(request)).remove(access.workspace.id, template_id)
    except NotFound:
        raise HTTPException(404, "no such template in this workspace") from None
