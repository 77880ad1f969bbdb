"""Refreshing only the threads that new posts touched, instead of the whole workspace.

A refresh used to read every post of the workspace and rebuild every thread, so one new reply
cost as much as the first refresh. When the only change since the last refresh is new posts
(none removed, none changed, no sentiment corrected, no new brand account), only the threads
those posts belong to can change. They are found from the new posts by following replies and
conversation ids in both directions, one query per level of the threads (never one per post),
until no new post turns up: the result is the complete threads, which ``build_threads``
summarises exactly as a full refresh would.

The mark stored after each refresh says what the posts looked like: their count, the highest
id, the latest ``updated_at`` and the latest correction. Anything else than "more posts, with
higher ids" falls back to the full refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from goodwill.inbox.threads import PostRow
from goodwill.store.tables import Correction, Post

__all__ = ["Mark", "only_new_posts", "post_rows", "read_mark", "thread_closure"]

CHUNK = 500
VERSION = "t2"
"""Changes when the way threads are summed up changes: an older mark then means "recompute"."""


@dataclass(frozen=True, slots=True)
class Mark:
    count: int
    last_id: int | None
    last_update: str
    last_fix: str

    def __str__(self) -> str:
        return f"{VERSION}:{self.count}:{self.last_id}:{self.last_update}:{self.last_fix}"

    @classmethod
    def parse(cls, text: str | None) -> Mark | None:
        """The stored mark, or None when there is none or it cannot be read (full refresh)."""
        if not text:
            return None
        try:
            version, count, last_id, rest = text.split(":", 3)
            if version != VERSION:
                return None
            last_update, last_fix = rest.rsplit(":", 1)
            return cls(
                int(count), None if last_id == "None" else int(last_id), last_update, last_fix
            )
        except ValueError:
            return None


def read_mark(conn: Connection, workspace_id: int) -> Mark:
    """A fingerprint of the workspace's posts: two aggregate queries, no rows read."""
    count, last_id, last_update = conn.execute(
        select(func.count(), func.max(Post.id), func.max(Post.updated_at)).where(
            Post.workspace_id == workspace_id
        )
    ).one()
    last_fix = conn.scalar(
        select(func.max(Correction.id)).where(Correction.workspace_id == workspace_id)
    )
    return Mark(count, last_id, str(last_update), str(last_fix))


def only_new_posts(conn: Connection, workspace_id: int, before: Mark, now: Mark) -> bool:
    """Whether the posts differ from ``before`` only by posts added with higher ids."""
    if before.last_id is None or now.last_id is None or now.last_id <= before.last_id:
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
    """The slim projection of posts that threading needs."""
    intent = Post.analysis[("intent", "label")].as_string()
    sentiment = Post.analysis[("sentiment", "label")].as_string()
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
    ).where(Post.workspace_id == workspace_id, *conditions)
    return [PostRow(*row) for row in conn.execute(q)]


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
