"""Authors' posts since the start of the last 7, 30 and 90 days: top people's tight bound.

Top people ranks authors by posts in a period. Nobody posts more in a period than since any
earlier moment, so counting the period of authors in order of a count over a wider span, and
stopping when that count falls below the tenth best, is exact. The all-time totals are such a
span, but when thousands of authors post about equally often, a week's tenth best is reached by
a hundred thousand of them over all time. These windows start at most a day or two before the
dashboard's period (``start_for``), so only the few hundred authors who posted that much lately
are read.

A window counts every post from its start on, future ones included (the periods end nowhere
either). The writer adds to it in ``keep_windows``, inside ``rollups.apply``, so every change
the rollups follow (ingest, edits, corrections, reanalysis, removals, forgetting) moves it too;
when the UTC day changes, the first write moves each start forward and takes away the hours it
left behind, counted from the posts in the same transaction. A new workspace gets its (empty)
windows with it; ``rebuild_windows`` recounts them (migration 0018, ``rollups rebuild``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, and_, delete, func, insert, literal, select, update

from goodwill.store.rollup_sql import drop_zeros, hour_sql, in_topics, upsert_adding
from goodwill.store.rollup_tables import (
    RollupPeopleHour,
    RollupPeopleWindow,
    RollupPeopleWindowStart,
)
from goodwill.store.tables import Post, utcnow

__all__ = [
    "STARTS",
    "WINDOWS",
    "WINDOW_DAYS",
    "clock",
    "keep_windows",
    "rebuild_windows",
    "start_for",
    "window_for",
]

WINDOW_DAYS = (7, 30, 90)
"""The dashboard's periods; any other period uses the nearest longer window, or all time."""

WINDOWS = cast(Table, RollupPeopleWindow.__table__)
STARTS = cast(Table, RollupPeopleWindowStart.__table__)
PPH = RollupPeopleHour
KEYS = ["workspace_id", "days", "source", "handle"]


def clock() -> datetime:
    """Now (a seam so tests can let days pass)."""
    return utcnow()


def start_for(days: int, now: datetime) -> int:
    """The hour a ``days`` window starts at on ``now``'s UTC day: ``days`` whole days before
    its midnight. A period of ``days`` days in any time zone up to 14 hours from UTC starts
    10 to 38 hours later, so the window always contains it and is at most two days wider."""
    midnight = int(now.timestamp() // 3600) // 24 * 24
    return midnight - 24 * days


def _starts(conn: Connection, workspace_id: int, lock: str | None = None) -> dict[int, int]:
    query = select(STARTS.c.days, STARTS.c.start_hour).where(STARTS.c.workspace_id == workspace_id)
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    return {int(d): int(h) for d, h in conn.execute(query)}


def _build(conn: Connection, workspace_id: int, days: int, start: int) -> None:
    """Count one window from the hourly rollups (which already hold this transaction's posts)."""
    conn.execute(
        insert(WINDOWS).from_select(
            ["workspace_id", "days", "source", "handle", "n"],
            select(literal(workspace_id), literal(days), PPH.source, PPH.handle, func.sum(PPH.n))
            .where(PPH.workspace_id == workspace_id, PPH.hour >= start)
            .group_by(PPH.source, PPH.handle),
        )
    )


def _take_away(conn: Connection, workspace_id: int, days: int, old: int, new: int) -> None:
    """Move a window's start from hour ``old`` to ``new``: subtract its authors' posts in
    between, counted from the posts (by the posts' time index, bucketed as the rollups do)."""
    hour = hour_sql(conn.dialect.name, Post.created_at)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    # A little wider than the hours by time (the index), then exact by bucket.
    low = epoch + timedelta(hours=old - 1)
    high = epoch + timedelta(hours=new + 1)
    gone = conn.execute(
        select(Post.source, Post.author_handle, func.count())
        .where(Post.workspace_id == workspace_id, Post.created_at >= low, Post.created_at < high)
        .where(hour >= old, hour < new)
        .where(in_topics(), Post.is_own.is_(False), Post.author_handle.is_not(None))
        .group_by(Post.source, Post.author_handle)
    ).all()
    rows = [(workspace_id, days, src, handle, -int(n)) for src, handle, n in gone]
    upsert_adding(conn, WINDOWS, KEYS, rows)
    drop_zeros(conn, WINDOWS, KEYS, [r[:-1] for r in rows])
    conn.execute(
        update(STARTS)
        .where(STARTS.c.workspace_id == workspace_id, STARTS.c.days == days)
        .values(start_hour=new)
    )


def keep_windows(
    conn: Connection, workspace_id: int, people: Mapping[tuple[str, str, int], int]
) -> None:
    """Add ``people`` ((source, handle, hour) → posts, after the hourly rollups took it) to the
    windows that contain each hour, and move starts forward when the UTC day requires.

    Concurrent PostgreSQL writers: adding new posts takes no lock (writers must not wait for
    each other's open batches); a writer that moves a start locks the starts, and one that
    takes posts away (edits, removals) waits for it, so nothing is taken away twice. The one
    overlap left, new posts older than the start added under the old start while another
    writer moves it, can only leave a window too high: still a bound, never a wrong top.
    A workspace without starts (``rebuild_windows`` makes them) keeps no windows."""
    now = clock()
    current = _starts(conn, workspace_id)
    if not current:
        return
    moving = any(
        start_for(days, now) > start for days, start in current.items() if days in WINDOW_DAYS
    )
    if moving:
        current = _starts(conn, workspace_id, "update")
    elif any(n < 0 for n in people.values()):
        current = _starts(conn, workspace_id, "share")
    adds: dict[tuple[int, str, str], int] = defaultdict(int)
    for (source, handle, hour), n in people.items():
        for days, start in current.items():
            if hour >= start:
                adds[(days, source, handle)] += n
    rows = [(workspace_id, d, s, h, n) for (d, s, h), n in adds.items() if n]
    upsert_adding(conn, WINDOWS, KEYS, rows)
    drop_zeros(conn, WINDOWS, KEYS, [r[:-1] for r in rows if r[-1] < 0])
    if moving:
        for days, start in current.items():
            want = start_for(days, now) if days in WINDOW_DAYS else start
            if want > start:
                _take_away(conn, workspace_id, days, start, want)


def rebuild_windows(conn: Connection, workspace_id: int) -> None:
    """Count a workspace's windows again from the hourly rollups, starting as of today."""
    now = clock()
    conn.execute(delete(WINDOWS).where(WINDOWS.c.workspace_id == workspace_id))
    conn.execute(delete(STARTS).where(STARTS.c.workspace_id == workspace_id))
    for days in WINDOW_DAYS:
        start = start_for(days, now)
        conn.execute(insert(STARTS).values(workspace_id=workspace_id, days=days, start_hour=start))
        _build(conn, workspace_id, days, start)


def window_for(conn: Connection, workspace_id: int, since_hour: int) -> int | None:
    """The window (its ``days``) that contains a period starting at ``since_hour`` most tightly,
    or None when none does (then all-time totals bound it)."""
    return conn.execute(
        select(STARTS.c.days)
        .where(and_(STARTS.c.workspace_id == workspace_id, STARTS.c.start_hour <= since_hour))
        .order_by(STARTS.c.start_hour.desc())
        .limit(1)
    ).scalar()
