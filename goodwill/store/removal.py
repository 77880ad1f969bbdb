"""Removing stored posts with everything that hangs off them: the one way to do it.

Two callers: forgetting a person (``people.privacy``) and deletions at the source (the writer,
``store.writer``). Both need the same things to follow the posts out, in the caller's
transaction: the rollups (``kept_exact`` reads what the posts and their repeats counted for
before and after), the band rows (no foreign key, see ``PostBand``), and the posts themselves,
whose mentions and corrections cascade and whose search entries follow (the SQLite delete
trigger on ``posts_fts``, PostgreSQL's generated column goes with the row).

Repeats of a removed original (``posts.duplicate_of``) are other people's posts. Forgetting
removes them too (they carry the forgotten person's words), so for it they are only unlinked.
A deletion at the source removes one author's post only, and the repeats stay: the earliest
repeat is promoted to original and the others point at it. Promoting rather than unlinking
keeps the group together: the dashboard still counts one original and its repeats, and the
next copy of the same words is still recognised as a repeat (the promoted post gets the band
rows that near-duplicate search looks up, from its stored signature). Unlinking would turn
every repeat into an original at once and inflate the "unique posts" figures.

``clear_traces`` handles what a deletion leaves elsewhere: alert events about the posts lose
their quoted text, and so do the digests that bundled them (their top mentions and titles; the
counts stay), so the outbox, which renders from the events when it sends, and the Atom feed no
longer quote the post; conversation previews showing a removed post are blanked until the inbox's
next refresh (which recomputes the threads in full, because the post count fell), and the
authors' people are queued for ``people.sync`` to recompute.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, tuple_, update

from goodwill.pipeline.dedupe import bands_of
from goodwill.store.deletion_tables import StalePerson
from goodwill.store.inbox_tables import PREVIEW_CHARS, Conversation
from goodwill.store.people_tables import PersonIdentity
from goodwill.store.rollups import kept_exact
from goodwill.store.tables import AlertEvent, Post, PostBand

__all__ = ["DELETED_PREVIEW", "DELETED_TITLE", "clear_traces", "remove_posts"]

CHUNK = 500
DELETED_PREVIEW = "[deleted at its source]"
"""Shown in place of a conversation preview whose post was deleted, until the next refresh."""
DELETED_TITLE = "(a post since deleted at its source)"
"""The title of an alert event, or of a digest's mention, whose post was deleted."""


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(values), CHUNK):
        yield list(values[i : i + CHUNK])


def remove_posts(
    conn: Connection, workspace_id: int, post_ids: Iterable[int], *, promote_repeats: bool
) -> int:
    """Delete these posts of ``workspace_id`` with their mentions, bands, search entries and
    rollup counts; their repeats are promoted (``promote_repeats``) or unlinked. How many
    posts were deleted."""
    ids = sorted(set(post_ids))
    if not ids:
        return 0
    gone = set(ids)
    repeats: list[Any] = []
    for chunk in _chunks(ids):
        repeats += [
            r
            for r in conn.execute(
                select(Post.id, Post.duplicate_of, Post.created_at, Post.minhash).where(
                    Post.workspace_id == workspace_id, Post.duplicate_of.in_(chunk)
                )
            )
            if r.id not in gone
        ]
    deleted = 0
    with kept_exact(conn, workspace_id, [*ids, *(r.id for r in repeats)]):
        if promote_repeats:
            _promote(conn, workspace_id, repeats)
        else:
            for chunk in _chunks(ids):
                conn.execute(
                    update(Post)
                    .where(Post.workspace_id == workspace_id, Post.duplicate_of.in_(chunk))
                    .values(duplicate_of=None)
                )
        for chunk in _chunks(ids):
            conn.execute(
                delete(PostBand).where(
                    PostBand.workspace_id == workspace_id, PostBand.post_id.in_(chunk)
                )
            )
            result = conn.execute(
                delete(Post).where(Post.workspace_id == workspace_id, Post.id.in_(chunk))
            )
            deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted


def _promote(conn: Connection, workspace_id: int, repeats: Sequence[Any]) -> None:
    """The earliest repeat of each removed original becomes the original of the others."""
    groups: dict[int, list[Any]] = defaultdict(list)
    for r in repeats:
        groups[r.duplicate_of].append(r)
    links: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    for group in groups.values():
        group.sort(key=lambda r: (r.created_at, r.id))
        first = group[0]
        links.append({"_id": first.id, "_to": None})
        links += [{"_id": r.id, "_to": first.id} for r in group[1:]]
        if first.minhash is not None:
            bands += [
                {"band": b, "workspace_id": workspace_id, "post_id": first.id}
                for b in bands_of(first.minhash)
            ]
    if links:
        conn.execute(
            update(Post).where(Post.id == bindparam("_id")).values(duplicate_of=bindparam("_to")),
            links,
        )
    if bands:
        conn.execute(insert(PostBand), bands)


def clear_traces(conn: Connection, workspace_id: int, post_ids: Sequence[int]) -> None:
    """Before ``remove_posts`` for a deletion: alert events, conversation previews and people
    that still show or count these posts (see the module's docstring)."""
    ids = sorted(set(post_ids))
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(Post.text, Post.source, Post.author_id).where(
                Post.workspace_id == workspace_id, Post.id.in_(chunk)
            )
        ).all()
        events = conn.execute(
            select(AlertEvent.id, AlertEvent.payload, AlertEvent.digest_id).where(
                AlertEvent.workspace_id == workspace_id, AlertEvent.post_id.in_(chunk)
            )
        ).all()
        digests = sorted({e.digest_id for e in events if e.digest_id is not None})
        if digests:
            _scrub_digests(conn, workspace_id, digests, {e.id for e in events}, set(chunk))
        if events:
            conn.execute(
                update(AlertEvent)
                .where(AlertEvent.id == bindparam("_id"))
                .values(payload=bindparam("payload"), title=bindparam("title"), post_id=None),
                [
                    {
                        "_id": e.id,
                        "payload": {
                            "rule": (e.payload or {}).get("rule"),
                            "rule_kind": (e.payload or {}).get("rule_kind"),
                            "deleted_at_source": True,
                        },
                        "title": DELETED_TITLE,
                    }
                    for e in events
                ],
            )
        previews = sorted({r.text[:PREVIEW_CHARS] for r in rows})
        conn.execute(
            update(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                or_(Conversation.root_post_id.in_(chunk), Conversation.preview.in_(previews)),
            )
            .values(preview=DELETED_PREVIEW)
        )
        authors = sorted({(r.source, r.author_id) for r in rows if r.author_id is not None})
        if not authors:
            continue
        people = set(
            conn.execute(
                select(PersonIdentity.person_id).where(
                    PersonIdentity.workspace_id == workspace_id,
                    tuple_(PersonIdentity.source, PersonIdentity.author_id).in_(authors),
                )
            ).scalars()
        )
        known = set(
            conn.execute(
                select(StalePerson.person_id).where(
                    StalePerson.workspace_id == workspace_id,
                    StalePerson.person_id.in_(sorted(people)),
                )
            ).scalars()
        )
        fresh = sorted(people - known)
        if fresh:
            conn.execute(
                insert(StalePerson),
                [{"workspace_id": workspace_id, "person_id": p} for p in fresh],
            )


def _scrub_digests(
    conn: Connection,
    workspace_id: int,
    digest_ids: Sequence[int],
    gone_events: set[int],
    gone_posts: set[int],
) -> None:
    """Digests that bundled events about deleted posts: their top mentions of those posts
    become a stub, and their list of titles (the first of their events, by id) too."""
    for digest_id, payload in conn.execute(
        select(AlertEvent.id, AlertEvent.payload).where(
            AlertEvent.workspace_id == workspace_id, AlertEvent.id.in_(digest_ids)
        )
    ).all():
        payload = dict(payload or {})
        titles = list(payload.get("titles") or [])
        members = conn.scalars(
            select(AlertEvent.id)
            .where(AlertEvent.digest_id == digest_id)
            .order_by(AlertEvent.id)
            .limit(len(titles))
        ).all()
        payload["titles"] = [
            DELETED_TITLE if i < len(members) and members[i] in gone_events else t
            for i, t in enumerate(titles)
        ]
        payload["top"] = [
            {
                "title": DELETED_TITLE,
                "rule": item.get("rule"),
                "rule_kind": item.get("rule_kind"),
                "deleted_at_source": True,
            }
            if ((item.get("post") or {}).get("id") in gone_posts)
            else item
            for item in payload.get("top") or []
        ]
        conn.execute(update(AlertEvent).where(AlertEvent.id == digest_id).values(payload=payload))
