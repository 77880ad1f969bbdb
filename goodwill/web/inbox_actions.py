"""What the inbox's pages and its API both do: find the service, check a teammate, reply.

Kept in one place so that a rule (who may be assigned, when a reply needs a "be authentic"
confirmation, which error a failed reply gives) is the same in the browser and over the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from goodwill.inbox import Inbox, InboxError
from goodwill.inbox.reply import Replied, reply_problem, send_reply
from goodwill.inbox.reply_templates import ReplyTemplates
from goodwill.ingest import Ingestor
from goodwill.net import make_client
from goodwill.sources.base import ConfigError, SourceError
from goodwill.store.accounts import Role
from goodwill.store.repository import NotFound
from goodwill.store.tables import User
from goodwill.web.deps import Access, ctx
from goodwill.web.pages.alerts import alert_service

__all__ = [
    "NotAuthentic",
    "inbox_of",
    "reply",
    "reply_ingestor",
    "resolve_teammate",
    "teammates",
    "who",
]


def inbox_of(request: Request) -> Inbox:
    context = ctx(request)
    return Inbox(context.repo, context.settings)


def who(user: User) -> str:
    """How a teammate is named in assignments, notes and the two-teammates guard."""
    return user.name or user.email


def teammates(request: Request, access: Access) -> list[str]:
    """Who can be given a conversation: members who may answer, and the current user."""
    names = [
        who(u)
        for u, role in ctx(request).accounts.members(access.workspace.id)
        if role.allows(Role.RESPONDER)
    ]
    if who(access.user) not in names:
        names.append(who(access.user))
    return sorted(set(names), key=str.casefold)


def resolve_teammate(request: Request, access: Access, name: str | None) -> str | None:
    """The teammate's name as stored, from their name or e-mail; None unassigns."""
    if name is None or not name.strip():
        return None
    wanted = name.strip().casefold()
    allowed = teammates(request, access)
    members = [u for u, _ in ctx(request).accounts.members(access.workspace.id)] + [access.user]
    for u in members:
        if wanted in (u.email.casefold(), (u.name or "").casefold()) and who(u) in allowed:
            return who(u)
    raise HTTPException(422, f"{name.strip()!r} is not a teammate who can answer in this workspace")


def reply_ingestor(request: Request) -> Ingestor:
    """The app's ingestor for replies sent from the inbox: stored like every listened post,
    with the alerts hook after the batch (rules see it and move past it, as they do for posts
    the listener stores), made on first use."""
    state = request.app.state
    if not hasattr(state, "inbox_ingestor"):
        c = ctx(request)
        state.inbox_ingestor = Ingestor(
            c.repo, c.settings, after_batch=[alert_service(request).after_batch]
        )
    ingestor: Ingestor = state.inbox_ingestor
    return ingestor


@dataclass(slots=True)
class NotAuthentic(Exception):
    """The reply's text was already sent unchanged this many times: confirm before sending."""

    sent: int

    def __str__(self) -> str:
        return (
            f"be authentic: this text was already sent unchanged {self.sent} times; "
            "write to the person, or confirm to send it anyway"
        )


async def reply(
    request: Request, access: Access, conversation_id: int, text: str, *, send_anyway: bool
) -> Replied:
    """Send ``text`` as the brand through the conversation's source. ``HTTPException`` with a
    message fit for the user when it cannot; ``NotAuthentic`` when it needs a confirmation."""
    c = ctx(request)
    inbox = inbox_of(request)
    ws = access.workspace.id
    if not text.strip():
        raise HTTPException(422, "a reply needs some text")
    try:
        inbox.conversation(ws, conversation_id)  # 404 before anything else
    except NotFound:
        raise HTTPException(404, "no such conversation in this workspace") from None
    problem = reply_problem(inbox, ws, conversation_id)
    if problem is not None:
        raise HTTPException(422, problem)
    if not send_anyway:
        sent = ReplyTemplates(inbox).sent_unchanged(ws, text)
        if sent is not None:
            raise NotAuthentic(sent)
    ingestor = reply_ingestor(request)
    try:
        async with make_client(c.settings) as http:
            done = await send_reply(inbox, ingestor, c.settings, http, ws, conversation_id, text)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except InboxError as exc:
        raise HTTPException(422, str(exc)) from None
    except ConfigError as exc:
        raise HTTPException(422, f"the source's credentials cannot be used: {exc}") from None
    except SourceError as exc:
        raise HTTPException(502, f"the reply was not posted: {exc}") from None
    return done
