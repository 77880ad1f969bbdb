"""Reading a workspace's new posts so that none is ever skipped: shared by alert rules
(``goodwill.alerts.evaluate``) and people (``goodwill.people.sync``).

SQLite has one writer at a time (BEGIN IMMEDIATE), so ids become visible in order and a reader's
watermark is a post id. On PostgreSQL ids come from a sequence at INSERT but several writers
commit in any order: a batch holding ids 100-199 can commit after 200-299 was read, and an id
watermark would skip it for good. There each post stores the 64-bit id of the transaction that
wrote it (``posts.stored_xact``, the column's default ``pg_current_xact_id()``, migration 0015),
and a reader takes only posts of transactions below the snapshot's xmin, the oldest transaction
still running: every one below has committed or rolled back, so nothing can appear there later.
The watermark is then that xmin (commit order). A long-running write transaction anywhere on the
server delays (never drops) what readers see until it ends.

Posts stored before migration 0015 have no transaction id: a watermark whose ``xact`` is still 0
reads those by id first, from its ``post_id``, then moves to commit order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, func, select, text

from goodwill.store.tables import Post

__all__ = ["Frontier", "Watermark", "horizon", "next_page", "next_xact", "read_frontier"]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Watermark:
    """How far a reader has looked. SQLite: every post with ``id <= post_id``. PostgreSQL:
    every post stored by a transaction with an id below ``xact``; while ``xact`` is 0, the
    posts stored before migration 0015 (no transaction id) are read by id first."""

    post_id: int
    xact: int


@dataclass(frozen=True, slots=True)
class Frontier:
    """What readers may read now. SQLite (``commit_order`` false): posts up to ``newest_id``,
    whose writers have all committed (one writer at a time). PostgreSQL: posts stored by
    transactions below ``horizon``, the oldest transaction still running (all below it have
    committed or rolled back); ``newest_xact`` is the newest of those that stored a post of the
    workspace (None: none did)."""

    commit_order: bool
    newest_id: int
    horizon: int = 0
    newest_xact: int | None = None

    def behind(self, mark: Watermark) -> bool:
        """Whether there may be posts past ``mark`` to read now."""
        if not self.commit_order:
            return mark.post_id < self.newest_id
        return mark.xact == 0 or (self.newest_xact is not None and mark.xact <= self.newest_xact)

    def reached(self, mark: Watermark) -> bool:
        if not self.commit_order:
            return mark.post_id >= self.newest_id
        return mark.xact >= self.horizon


_HORIZON = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
"""The oldest transaction still running, anywhere in the cluster (64-bit: never wraps)."""
_NEXT_XACT = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
"""The first transaction id not yet given out: transactions from here on are "from now on"."""


def horizon(conn: Connection) -> int:
    """PostgreSQL: the oldest transaction still running (all below it have ended)."""
    return int(conn.scalar(_HORIZON) or 0)


def next_xact(conn: Connection) -> int:
    """PostgreSQL: the first transaction id not yet given out; SQLite: 0 (unused)."""
    if conn.dialect.name != "postgresql":
        return 0
    return int(conn.scalar(_NEXT_XACT) or 0)


def read_frontier(conn: Connection, workspace_id: int) -> Frontier:
    """What may be read now: one or two indexed aggregates, no rows read."""
    if conn.dialect.name != "postgresql":
        newest = conn.scalar(select(func.max(Post.id)).where(Post.workspace_id == workspace_id))
        return Frontier(commit_order=False, newest_id=int(newest or 0))
    below = horizon(conn)
    newest_xact = conn.scalar(
        select(func.max(Post.stored_xact)).where(
            Post.workspace_id == workspace_id,
            Post.stored_xact.is_not(None),
            Post.stored_xact < below,
        )
    )
    return Frontier(True, 0, below, None if newest_xact is None else int(newest_xact))


def _key(row: Any) -> tuple[int, int | None]:
    return int(row.id), row.stored_xact


def next_page(
    run: Callable[[Select[Any]], Sequence[R]],
    q: Select[Any],
    mark: Watermark,
    frontier: Frontier,
    limit: int,
) -> tuple[list[R], Watermark]:
    """The next posts of ``q`` (a select over ``posts`` whose rows carry ``id`` and
    ``stored_xact``, narrowed by the caller to what it looks at) past ``mark``, about ``limit``
    at a time, and the watermark once they are handled. ``run`` executes a select and returns
    its rows (ORM objects or rows). In commit order, a transaction's posts never straddle two
    calls; a transaction bigger than ``limit`` is returned whole (a batch is bounded by its
    writer)."""
    if not frontier.commit_order or mark.xact == 0:
        # By id: SQLite, or PostgreSQL's posts stored before migration 0015.
        if frontier.commit_order:
            q = q.where(Post.stored_xact.is_(None), Post.id > mark.post_id)
            upto = mark.post_id
        else:
            q = q.where(Post.id > mark.post_id, Post.id <= frontier.newest_id)
            upto = frontier.newest_id
        rows = list(run(q.order_by(Post.id).limit(limit)))
        if len(rows) == limit:
            return rows, Watermark(_key(rows[-1])[0], mark.xact)
        upto = max(upto, _key(rows[-1])[0] if rows else 0)
        return rows, Watermark(upto, 1 if frontier.commit_order else mark.xact)
    ranged = q.where(Post.stored_xact >= mark.xact, Post.stored_xact < frontier.horizon)
    rows = list(run(ranged.order_by(Post.stored_xact, Post.id).limit(limit)))
    if len(rows) < limit:
        return rows, Watermark(mark.post_id, frontier.horizon)
    last = _key(rows[-1])[1]
    assert last is not None
    if _key(rows[0])[1] != last:
        # Up to the last transaction of the page; it is read whole by the next call.
        return [r for r in rows if _key(r)[1] != last], Watermark(mark.post_id, last)
    whole = list(run(q.where(Post.stored_xact == last).order_by(Post.id)))
    return whole, Watermark(mark.post_id, last + 1)
