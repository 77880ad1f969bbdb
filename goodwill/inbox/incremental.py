"""Refreshing only the threads that new posts touched, instead of the whole workspace.

A refresh used to read every post of the workspace and rebuild every thread, so one new reply
cost as much as the first refresh. When the only change since the last refresh is new posts
(none removed, none changed, no sentiment corrected, no new brand account), only the threads
those posts belong to can change. They are found from the new posts by following replies and
conversation ids in both directions, one query per level of the threads (never one per post),
until no new post turns up: the result is the complete threads, which ``build_threads``
summarises exactly as a full refresh would.

The mark stored after each refresh says what the posts looked like: their count, the highest
id, the latest ``updated_at`` and the latest correction, and when a person's standing was last
recomputed (goodwill.people). Anything else than "more posts, with higher ids" falls back to
the full refresh. People recomputed since the last refresh (their standing may have changed)
add their posts to the new ones, so their threads are summed up again too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select

from goodwill.inbox.threads import PostRow
from goodwill.store.people_tables import Person, PersonIdentity
from goodwill.store.tables import Correction, Post

__all__ = [
    "Mark",
    "only_new_posts",
    "post_rows",
    "posts_of_people_recomputed",
    "read_mark",
    "thread_closure",
]

CHUNK = 500
VERSION = "t4"
"""Changes when the way threads are summed up changes: an older mark then means "recompute"."""


@dataclass(frozen=True, slots=True)
class Mark:
    count: int
    last_id: int | None
    last_update: str
    last_fix: str
    last_person: str

    def __str__(self) -> str:
        return "|".join(
            (
                VERSION,
                str(self.count),
                str(self.last_id),
                self.last_update,
                self.last_fix,
                self.last_person,
            )
        )

    @classmethod
    def parse(cls, text: str | None) -> Mark | None:
        """The stored mark, or None when there is none or it cannot be read (full refresh)."""
        if not text:
            return None
        parts = text.split("|")
        if len(parts) != 6 or parts[0] != VERSION:
            return None
        _, count, last_id, last_update, last_fix, last_person = parts
        try:
            return cls(
                int(count),
                None if last_id == "None" else int(last_id),
                last_update,
                last_fix,
                last_person,
            )
        except ValueError:
            return None


def read_mark(conn: Connection, workspace_id: int) -> Mark:
    """A fingerprint of the workspace's posts and people: aggregate queries, no rows read."""
    count, last_id, last_update = conn.execute(
        select(func.count(), func.max(Post.id), func.max(Post.updated_at)).where(
            Post.workspace_id == workspace_id
        )
    ).one()
    # Count and highest id: a correction committed late (a lower id, on PostgreSQL) still
    # changes the mark.
    fixes, last_fix = conn.execute(
        select(func.count(), func.max(Correction.id)).where(Correction.workspace_id == workspace_id)
    ).one()
    last_person = conn.scalar(
        select(func.max(Person.recomputed_at)).where(Person.workspace_id == workspace_id)
    )
    return Mark(count, last_id, str(last_update), f"{fixes}:{last_fix}", str(last_person))


def only_new_posts(conn: Connection, workspace_id: int, before: Mark, now: Mark) -> bool:
    """Whether the posts differ from ``before`` only by posts added with higher ids (or not at
    all, when only people changed)."""
    if before.last_id is None or now.last_id is None or now.last_id < before.last_id:
        return False
    if before.last_fix != now.last_fix:
        return False
    added = conn.scalar(
        select(func.count()).where(
            Post.workspace_id == workspace_id, Post.id > before.last_id, Post.id <= now.last_id
        )
    )
    if now.count - before.count != added:  # some removed, or a late commit below the mark
        return False
    old_update = conn.scalar(
        select(func.max(Post.updated_at)).where(
            Post.workspace_id == workspace_id, Post.id <= before.last_id
        )
    )
    return str(old_update) == before.last_update  # none of the older posts was re-imported


def post_rows(
    conn: Connection, workspace_id: int, *conditions: ColumnElement[bool]
) -> list[PostRow]:
    """The slim projection of posts that threading needs, with the author's standing."""
    intent = Post.analysis[("intent", "label")].as_string()
    sentiment = Post.analysis[("sentiment", "label")].as_string()
    # The author's standing (goodwill.people): advocate, detractor, or nothing to say.
    standing = case(
        (Person.is_advocate.is_(True), "advocate"),
        (Person.standing == "detractor", "detractor"),
        else_=None,
    )
    q = select(
        Post.id,
        Post.source,
        Post.external_id,
        Post.in_reply_to,
        Post.conversation_id,
        Post.is_own,
        Post.created_at,
        Post.author_handle,
        Post.author_followers,
        intent,
        sentiment,
        Post.text,
        standing,
    )
    q = (
        q.outerjoin(
            PersonIdentity,
            (PersonIdentity.workspace_id == workspace_id)
            & (PersonIdentity.source == Post.source)
            & (PersonIdentity.author_id == Post.author_id),
        )
        .outerjoin(Person, Person.id == PersonIdentity.person_id)
        .where(Post.workspace_id == workspace_id, *conditions)
    )
    return [PostRow(*row) for row in conn.execute(q)]


def posts_of_people_recomputed(
    conn: Connection, workspace_id: int, before: Mark, up_to_id: int | None
) -> list[PostRow]:
    """Posts (up to ``up_to_id``) of the people whose standing was recomputed since ``before``:
    their threads may rank or ask differently now."""
    if before.last_person == "None":
        changed = select(Person.id).where(Person.workspace_id == workspace_id)
    else:
        changed = select(Person.id).where(
            Person.workspace_id == workspace_id,
            Person.recomputed_at > datetime.fromisoformat(before.last_person),
        )
    identities = select(PersonIdentity.source, PersonIdentity.author_id).where(
        PersonIdentity.workspace_id == workspace_id, PersonIdentity.person_id.in_(changed)
    )
    rows: list[PostRow] = []
    for source, author_id in conn.execute(identities):
        conditions = [Post.source == source, Post.author_id == author_id]
        if up_to_id is not None:
            conditions.append(Post.id <= up_to_id)
        rows += post_rows(conn, workspace_id, *conditions)
    return rows


def _chunks(values: Iterable[Any]) -> Iterable[Sequence[Any]]:
    items = sorted(values)
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def thread_closure(conn: Connection, workspace_id: int, seeds: list[PostRow]) -> list[PostRow]:
    """Every post in the threads of ``seeds``: parents, children, siblings and posts with the
    same conversation id, level by level, per source (threads never cross sources)."""
    found = {r.id: r for r in seeds}
    frontier = list(seeds)
    while frontier:
        refs: dict[str, set[str]] = {}
        convs: dict[str, set[str]] = {}
        for r in frontier:
            ids = refs.setdefault(r.source, set())
            ids.add(r.external_id)
            if r.in_reply_to:
                ids.add(r.in_reply_to)
            if r.conversation_id:
                convs.setdefault(r.source, set()).add(r.conversation_id)
        rows: list[PostRow] = []
        for source, ids in refs.items():
            for chunk in _chunks(ids):
                same = Post.source == source
                rows += post_rows(conn, workspace_id, same, Post.external_id.in_(chunk))
                rows += post_rows(conn, workspace_id, same, Post.in_reply_to.in_(chunk))
        for source, conv_ids in convs.items():
            for chunk in _chunks(conv_ids):
                rows += post_rows(
                    conn, workspace_id, Post.source == source, Post.conversation_id.in_(chunk)
                )
        frontier = []
        for r in rows:
            if r.id not in found:
                found[r.id] = r
                frontier.append(r)
    return list(found.values())
