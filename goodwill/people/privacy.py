"""A person's data: everything about them as JSON, and forgetting them for good.

Forgetting deletes the person's posts (and the reposts and copies of them, which carry their
words), with everything that hangs off those posts (topic matches, corrections, full-text index
entries: the SQLite triggers and PostgreSQL's generated column follow the rows); deletes the
conversations they started (with their internal notes); replaces their handles in other posts,
in the remaining conversations' previews and notes, and their words and handles in alert events
(so the outbox cannot send them); deletes the person with identities, labels, notes, nurture
log and cases; and records a tombstone of hashed identities (``forgotten_identities``) that the
writer checks, so the same posts imported again or fetched again from a source are dropped.
What it cannot reach is listed in docs/people.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.orm import Session

from goodwill.people.service import People
from goodwill.people.sync import person_posts
from goodwill.store.db import writer
from goodwill.store.inbox_tables import Conversation, ConversationNote, InboxRules, SentText
from goodwill.store.people_tables import (
    ForgottenIdentity,
    Person,
    PersonIdentity,
    identity_hashes,
    text_hash,
)
from goodwill.store.removal import remove_posts
from goodwill.store.tables import AlertEvent, Post, utcnow

__all__ = ["FORGOTTEN", "ForgetReport", "export_person", "forget_person"]

FORGOTTEN = "[forgotten]"
_CHUNK = 500


@dataclass(slots=True)
class ForgetReport:
    posts_deleted: int = 0
    posts_scrubbed: int = 0
    conversations_deleted: int = 0
    alert_events_scrubbed: int = 0
    tombstones: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "posts_deleted": self.posts_deleted,
            "posts_scrubbed": self.posts_scrubbed,
            "conversations_deleted": self.conversations_deleted,
            "alert_events_scrubbed": self.alert_events_scrubbed,
            "tombstones": self.tombstones,
        }


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_person(people: People, workspace_id: int, person_id: int) -> dict[str, Any]:
    """Everything stored about a person: profile, identities, labels, standing and score,
    notes, nurture log, detractor cases, their posts in full and the conversations they began."""
    view = people.view(workspace_id, person_id)
    with Session(people.engine) as s:
        idents = [(person_id, i["source"], i["author_id"]) for i in view.identities]
        refs = person_posts(s.connection(), workspace_id, idents).get(person_id, [])
        ids = [p.id for p in refs]
        posts = []
        for chunk in _chunks(ids):
            for post in s.scalars(
                select(Post)
                .where(Post.workspace_id == workspace_id, Post.id.in_(chunk))
                .order_by(Post.created_at, Post.id)
            ):
                posts.append(
                    {
                        "id": post.id,
                        "source": post.source,
                        "external_id": post.external_id,
                        "url": post.url,
                        "text": post.text,
                        "created_at": post.created_at.isoformat(),
                        "lang": post.lang,
                        "author": {
                            "id": post.author_id,
                            "handle": post.author_handle,
                            "name": post.author_name,
                            "followers": post.author_followers,
                        },
                        "in_reply_to": post.in_reply_to,
                        "conversation_id": post.conversation_id,
                        "metrics": {
                            "likes": post.likes,
                            "shares": post.shares,
                            "replies": post.replies,
                        },
                        "analysis": post.analysis,
                        "extra": post.extra,
                    }
                )
        conversations = []
        for chunk in _chunks(ids):
            for c in s.scalars(
                select(Conversation).where(
                    Conversation.workspace_id == workspace_id, Conversation.root_post_id.in_(chunk)
                )
            ):
                conversations.append(
                    {
                        "id": c.id,
                        "opened_at": c.opened_at.isoformat(),
                        "status": c.status,
                        "assignee": c.assignee,
                        "preview": c.preview,
                        "posts": c.post_count,
                        "first_response_at": _iso(c.first_response_at),
                    }
                )
    return {
        "format": "goodwill-person-1",
        "exported_at": utcnow().isoformat(),
        "person": view.as_dict(),
        "notes": [
            {"at": n.created_at.isoformat(), "by": n.author, "text": n.text}
            for n in people.notes(workspace_id, person_id)
        ],
        "nurture": [
            {"at": e.at.isoformat(), "action": e.action, "by": e.who, "note": e.note}
            for e in people.nurture_log(workspace_id, person_id)
        ],
        "detractor_cases": [c.as_dict() for c in people.cases(workspace_id, person_id)],
        "posts": posts,
        "conversations": conversations,
    }


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _scrub(value: Any, words: list[str]) -> Any:
    """``value`` (JSON) with every string containing one of ``words`` rewritten."""
    if isinstance(value, str):
        for word in words:
            if word and word in value:
                value = value.replace(word, FORGOTTEN)
        return value
    if isinstance(value, list):
        return [_scrub(v, words) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, words) for k, v in value.items()}
    return value


def _handle_forms(handles: Iterable[str]) -> list[str]:
    """``@ana@mastodon.example`` is written ``@ana@mastodon.example`` or ``@ana`` in posts."""
    out: set[str] = set()
    for handle in handles:
        h = handle.strip()
        if not h:
            continue
        bare = h.lstrip("@")
        out.add(f"@{bare}")
        local = bare.split("@")[0]
        if len(local) >= 3:
            out.add(f"@{local}")
    # Longest first, so ``@ana@host`` is replaced before its ``@ana`` prefix.
    return sorted(out, key=len, reverse=True)


def forget_person(people: People, workspace_id: int, person_id: int) -> ForgetReport:
    """Remove a person and their words from the workspace, and keep them from coming back."""
    report = ForgetReport()
    engine = people.engine
    with Session(writer(engine)) as s, s.begin():
        conn = s.connection()
        person = s.scalar(
            select(Person).where(Person.id == person_id, Person.workspace_id == workspace_id)
        )
        if person is None:
            from goodwill.store.repository import NotFound

            raise NotFound(f"no person {person_id} in this workspace")
        idents = list(
            s.scalars(
                select(PersonIdentity).where(
                    PersonIdentity.workspace_id == workspace_id,
                    PersonIdentity.person_id == person_id,
                )
            )
        )
        refs = person_posts(
            conn, workspace_id, [(person_id, i.source, i.author_id) for i in idents]
        ).get(person_id, [])
        ids = [p.id for p in refs]
        # Reposts and copies of their posts carry their words too.
        for chunk in _chunks(list(ids)):
            ids += list(
                s.scalars(
                    select(Post.id).where(
                        Post.workspace_id == workspace_id, Post.duplicate_of.in_(chunk)
                    )
                )
            )
        ids = sorted(set(ids))
        texts: list[str] = []
        hashes_set = {h for i in idents for h in identity_hashes(i.source, i.author_id, i.handle)}
        for chunk in _chunks(ids):
            for body, key in s.execute(
                select(Post.text, Post.dedupe_key).where(Post.id.in_(chunk))
            ):
                texts.append(body)
                if key is not None:
                    hashes_set.add(text_hash(key))
        hashes = sorted(hashes_set)
        known = set(
            s.scalars(
                select(ForgottenIdentity.identity_hash).where(
                    ForgottenIdentity.workspace_id == workspace_id,
                    ForgottenIdentity.identity_hash.in_(hashes),
                )
            )
        )
        for h in hashes:
            if h not in known:
                s.add(ForgottenIdentity(workspace_id=workspace_id, identity_hash=h))
                report.tombstones += 1
        handles = _handle_forms(i.handle for i in idents if i.handle)
        names = [i.name for i in idents if i.name and len(i.name) >= 4]
        words = sorted(set(texts), key=len, reverse=True) + handles + names
        report.conversations_deleted = _forget_conversations(s, conn, workspace_id, ids, words)
        report.alert_events_scrubbed = _forget_alerts(s, workspace_id, ids, words)
        # The dashboard's rollups lose what these posts counted for, their author's name too;
        # their repeats are among ``ids`` (they carry the words), so none is promoted.
        remove_posts(conn, workspace_id, ids, promote_repeats=False)
        report.posts_deleted = len(ids)
        report.posts_scrubbed = _scrub_mentions_of(s, conn, workspace_id, handles)
        s.execute(delete(Person).where(Person.id == person_id))
    return report


def _forget_conversations(
    s: Session, conn: Connection, workspace_id: int, ids: list[int], words: list[str]
) -> int:
    deleted = 0
    for chunk in _chunks(ids):
        result = s.execute(
            delete(Conversation).where(
                Conversation.workspace_id == workspace_id, Conversation.root_post_id.in_(chunk)
            )
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    # Other conversations they took part in: previews and notes that quote or name them.
    for c in s.scalars(select(Conversation).where(Conversation.workspace_id == workspace_id)):
        preview = _scrub(c.preview, words)
        handle = c.author_handle and _scrub(c.author_handle, words)
        if preview != c.preview or handle != c.author_handle:
            c.preview, c.author_handle = preview, handle
    for note in s.scalars(
        select(ConversationNote).where(ConversationNote.workspace_id == workspace_id)
    ):
        text = _scrub(note.text, words)
        if text != note.text:
            note.text = text
    # The brand's sent texts (counted for the "be authentic" check) may quote them: dropped,
    # and counted again from the remaining posts at the next refresh.
    s.execute(delete(SentText).where(SentText.workspace_id == workspace_id))
    s.execute(
        update(InboxRules).where(InboxRules.workspace_id == workspace_id).values(refresh_mark=None)
    )
    return deleted


def _forget_alerts(s: Session, workspace_id: int, ids: list[int], words: list[str]) -> int:
    """Alert events about their posts, and digests quoting them: the outbox renders from these,
    so deliveries still pending send the scrubbed version."""
    scrubbed = 0
    wanted = set(ids)
    for event in s.scalars(
        select(AlertEvent).where(
            AlertEvent.workspace_id == workspace_id,
            (AlertEvent.post_id.is_not(None)) | (AlertEvent.kind == "digest"),
        )
    ):
        if event.post_id in wanted:
            event.payload = {
                "rule": event.payload.get("rule"),
                "rule_kind": event.payload.get("rule_kind"),
                "forgotten": True,
            }
            event.title = f"{FORGOTTEN} (a forgotten person's post)"
            event.post_id = None
            scrubbed += 1
            continue
        payload = _scrub(event.payload, words)
        title = _scrub(event.title, words)
        if payload != event.payload or title != event.title:
            event.payload, event.title = payload, title
            scrubbed += 1
    return scrubbed


def _scrub_mentions_of(s: Session, conn: Connection, workspace_id: int, handles: list[str]) -> int:
    """Other people's posts that name them by handle keep their words, without the handle.

    One pass over the workspace's texts (``LIKE``): full-text indexes tokenise handles
    differently on each database (PostgreSQL keeps ``ana@host`` as one e-mail-like token), and
    forgetting is rare enough to afford a scan."""
    if not handles:
        return 0
    scrubbed = 0
    for post in s.scalars(
        select(Post).where(
            Post.workspace_id == workspace_id,
            or_(*(Post.text.contains(h, autoescape=True) for h in handles)),
        )
    ):
        text = _scrub(post.text, handles)
        if text != post.text:
            post.text = text
            scrubbed += 1
    return scrubbed
