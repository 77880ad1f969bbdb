"""Answering from the inbox: through the connector of the source that stored the post.

The reply goes to the latest post in the conversation that asks for an answer (or, when none
does, the latest post by someone else), as the brand account, and is stored like any own post,
so the conversation closes itself the same way as when the brand answers on the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from goodwill.inbox.service import Inbox, InboxError
from goodwill.inbox.threads import ASK_INTENTS, mention_pattern
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.sources import get_source_class
from goodwill.sources.base import CanReply, PollingSource, SourceError
from goodwill.sources.credentials import scrubbed, secrets_of, store_rotated, unseal
from goodwill.store.tables import Post, Source

__all__ = ["Replied", "reply_problem", "reply_target", "send_reply"]


@dataclass(slots=True)
class Replied:
    posted: dict[str, Any]
    to: str
    stored: bool


def reply_target(inbox: Inbox, workspace_id: int, conversation_id: int) -> Post:
    """The post a reply from the inbox answers."""
    posts = inbox.posts(workspace_id, conversation_id)
    others = [p for p in posts if not p.is_own]
    if not others:
        raise InboxError("nobody but the brand wrote in this conversation: nothing to answer")
    handles = [h for p in posts if p.is_own for h in (p.author_handle, p.author_id) if h]
    handles += inbox.rules(workspace_id).own_handles
    mention = mention_pattern(handles)
    asks = [
        p
        for p in others
        if (p.analysis.get("intent") or {}).get("label") in ASK_INTENTS
        or (mention is not None and mention.search(p.text))
    ]
    return (asks or others)[-1]


def _reply_source(
    inbox: Inbox, workspace_id: int, target: Post
) -> tuple[Source, type[PollingSource]]:
    """The source that stored ``target`` and its connector class, or ``InboxError`` saying why
    Goodwill cannot answer it."""
    source = next((s for s in inbox.repo.sources(workspace_id) if s.id == target.source_id), None)
    if source is None:
        raise InboxError(
            f"post {target.external_id} was imported, not listened to: answer it on "
            f"{target.source} and mark the conversation done"
        )
    cls = get_source_class(source.kind)
    if not issubclass(cls, CanReply):
        raise InboxError(f"{source.kind} sources cannot reply (see docs/sources/)")
    secrets = sorted(cls.secret_fields)
    if secrets and not any(source.config.get(f) for f in secrets):
        raise InboxError(
            f"source {source.name!r} has no credentials ({', '.join(secrets)}): add them on "
            "its Sources page to answer as the brand"
        )
    return source, cls


def reply_problem(inbox: Inbox, workspace_id: int, conversation_id: int) -> str | None:
    """Why a reply from Goodwill cannot be sent in this conversation, or None when it can
    (the reply box says so before anyone writes)."""
    try:
        _reply_source(inbox, workspace_id, reply_target(inbox, workspace_id, conversation_id))
    except InboxError as exc:
        return str(exc)
    return None


async def send_reply(
    inbox: Inbox,
    ingestor: Ingestor,
    settings: Settings,
    http: httpx.AsyncClient,
    workspace_id: int,
    conversation_id: int,
    text: str,
) -> Replied:
    """Post ``text`` as the brand, store it, and bring the conversation up to date.

    Raises ``InboxError`` when the post came from no configured source or one that cannot
    reply, and ``SourceError`` when the network refused.
    """
    if not text.strip():
        raise InboxError("a reply needs some text")
    target = reply_target(inbox, workspace_id, conversation_id)
    source, cls = _reply_source(inbox, workspace_id, target)
    connector = cls(
        source.name,
        unseal(source.config, settings),
        http,
        backfill=timedelta(hours=settings.source_backfill_hours),
    )
    assert isinstance(connector, CanReply)
    try:
        posted = await connector.reply(target.external_id, text)
    except SourceError as exc:  # shown to the user: never a credential a provider quoted back
        raise scrubbed(exc, secrets_of(source.config, cls.secret_fields, settings)) from None
    finally:
        store_rotated(inbox.repo, source, connector, settings)
    report = ingestor.ingest(workspace_id, [("the reply", posted)], source_id=source.id)
    inbox.refresh(workspace_id)
    return Replied(posted, target.external_id, report.written.inserted == 1)
