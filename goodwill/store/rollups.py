"""Keeping the dashboard's rollups (``store.rollup_tables``) exact, and rebuilding them.

Every count is a function of the stored posts and mentions, so there is one rule: whoever
changes what a post counts as (its mentions, its shown sentiment, whether it is a repeat) does it
inside ``kept_exact``, which reads the posts' contributions before and after the change in the
same transaction and adds the difference. New posts from the writer skip the "before" (they had
none) and have their contributions counted in Python from the batch itself, so the ingest path
pays one grouped upsert per table and nothing else. ``rebuild`` recomputes a workspace from
scratch: for databases that existed before the rollups, and after a topic is removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
)

from goodwill.store.rollup_sql import drop_zeros as _drop_zeros
from goodwill.store.rollup_sql import hour_of, hour_sql, in_topics
from goodwill.store.rollup_sql import upsert_adding as _upsert
from goodwill.store.rollup_tables import (
    RollupPeopleHour,
    RollupPeopleTotal,
    RollupPostHour,
    RollupTopicHour,
)
from goodwill.store.rollup_windows import keep_windows, rebuild_windows
from goodwill.store.tables import Mention, Post, Workspace

__all__ = [
    "Delta",
    "apply",
    "contributions",
    "effective_sentiment",
    "hour_of",
    "hour_sql",
    "kept_exact",
    "label_of",
    "rebuild",
]

TOPIC_HOURS = cast(Table, RollupTopicHour.__table__)
POST_HOURS = cast(Table, RollupPostHour.__table__)
PEOPLE_HOURS = cast(Table, RollupPeopleHour.__table__)
PEOPLE_TOTALS = cast(Table, RollupPeopleTotal.__table__)
UNKNOWN = "unknown"
CHUNK = 500


def effective_sentiment() -> Any:
    """The label a post is shown with: the analysis column already holds the latest user
    correction laid over the model's label (``store.corrections``)."""
    return Post.analysis[("sentiment", "label")].as_string()


def label_of(analysis: Mapping[str, Any] | None) -> str:
    """``effective_sentiment`` of an analysis in Python (``unknown`` when there is none)."""
    sentiment = (analysis or {}).get("sentiment")
    label = sentiment.get("label") if isinstance(sentiment, dict) else None
    return label if isinstance(label, str) else UNKNOWN


Counts = dict[tuple[Any, ...], int]


@dataclass(slots=True)
class Delta:
    """Counts to add (or, negative, to take away) per rollup key."""

    topics: Counts = field(default_factory=lambda: defaultdict(int))
    """(topic id, hour) → mentions."""
    posts: Counts = field(default_factory=lambda: defaultdict(int))
    """(hour, sentiment, is a repeat) → posts in at least one topic."""
    people: Counts = field(default_factory=lambda: defaultdict(int))
    """(source, handle, hour) → posts."""
    totals: Counts = field(default_factory=lambda: defaultdict(int))
    """(source, handle) → posts."""
    names: dict[tuple[str, str], tuple[str | None, int | None]] = field(default_factory=dict)
    """(source, handle) → (the largest name, the largest follower count) seen."""

    def add_post(
        self,
        topic_ids: Iterable[int],
        created_at: datetime,
        analysis: Mapping[str, Any] | None,
        *,
        duplicate: bool,
        source: str,
        handle: str | None,
        name: str | None,
        followers: int | None,
        is_own: bool,
    ) -> None:
        """Count one new post the way ``contributions`` would find it in the database."""
        hour = hour_of(created_at)
        topics = list(topic_ids)
        if not topics:
            return
        for topic_id in topics:
            self.topics[(topic_id, hour)] += 1
        self.posts[(hour, label_of(analysis), duplicate)] += 1
        if is_own or handle is None:
            return
        self.people[(source, handle, hour)] += 1
        self.totals[(source, handle)] += 1
        self.see_name(source, handle, name, followers)

    def see_name(self, source: str, handle: str, name: str | None, followers: int | None) -> None:
        old_name, old_followers = self.names.get((source, handle), (None, None))
        self.names[(source, handle)] = (
            _larger(old_name, name),
            _larger(old_followers, followers),
        )

    def minus(self, other: Delta) -> Delta:
        out = Delta()
        for mine, theirs, target in (
            (self.topics, other.topics, out.topics),
            (self.posts, other.posts, out.posts),
            (self.people, other.people, out.people),
            (self.totals, other.totals, out.totals),
        ):
            for key in set(mine) | set(theirs):
                n = mine.get(key, 0) - theirs.get(key, 0)
                if n:
                    target[key] = n
        out.names = dict(self.names)
        return out

    def plus(self, other: Delta) -> None:
        """Add ``other``'s counts to these, in place."""
        for mine, theirs in (
            (self.topics, other.topics),
            (self.posts, other.posts),
            (self.people, other.people),
            (self.totals, other.totals),
        ):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        for (source, handle), (name, followers) in other.names.items():
            self.see_name(source, handle, name, followers)

    def __bool__(self) -> bool:
        return bool(self.topics or self.posts or self.people or self.totals)


def _larger(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _people_conditions() -> list[Any]:
    return [in_topics(), Post.is_own.is_(False), Post.author_handle.is_not(None)]


def contributions(conn: Connection, workspace_id: int, post_ids: Sequence[int]) -> Delta:
    """What these posts count for now, read from the database (chunked, grouped)."""
    out = Delta()
    dialect = conn.dialect.name
    ids = sorted(set(post_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        m_hour = hour_sql(dialect, Mention.created_at)
        for topic_id, hour, n in conn.execute(
            select(Mention.topic_id, m_hour, func.count())
            .where(Mention.workspace_id == workspace_id, Mention.post_id.in_(chunk))
            .group_by(Mention.topic_id, m_hour)
        ):
            out.topics[(topic_id, int(hour))] += int(n)
        p_hour = hour_sql(dialect, Post.created_at)
        label = func.coalesce(effective_sentiment(), UNKNOWN)
        dup = Post.duplicate_of.is_not(None)
        mine = [Post.workspace_id == workspace_id, Post.id.in_(chunk)]
        for hour, lab, is_dup, n in conn.execute(
            select(p_hour, label, dup, func.count())
            .where(*mine, in_topics())
            .group_by(p_hour, label, dup)
        ):
            out.posts[(int(hour), str(lab), bool(is_dup))] += int(n)
        for source, handle, hour, n, name, followers in conn.execute(
            select(
                Post.source,
                Post.author_handle,
                p_hour,
                func.count(),
                func.max(Post.author_name),
                func.max(Post.author_followers),
            )
            .where(*mine, *_people_conditions())
            .group_by(Post.source, Post.author_handle, p_hour)
        ):
            handle = cast(str, handle)
            out.people[(source, handle, int(hour))] += int(n)
            out.totals[(source, handle)] += int(n)
            out.see_name(source, handle, name, followers)
    return out


def apply(conn: Connection, workspace_id: int, delta: Delta) -> None:
    """Add ``delta`` to the rollups of ``workspace_id`` (in the caller's transaction)."""
    if not delta:
        return
    ws = workspace_id
    specs: list[tuple[Table, list[str], list[tuple[Any, ...]]]] = [
        (
            TOPIC_HOURS,
            ["workspace_id", "topic_id", "hour"],
            [(ws, t, h, n) for (t, h), n in delta.topics.items()],
        ),
        (
            POST_HOURS,
            ["workspace_id", "hour", "sentiment", "duplicate"],
            [(ws, h, s, d, n) for (h, s, d), n in delta.posts.items()],
        ),
        (
            PEOPLE_HOURS,
            ["workspace_id", "source", "handle", "hour"],
            [(ws, s, a, h, n) for (s, a, h), n in delta.people.items()],
        ),
    ]
    for table, keys, rows in specs:
        _upsert(conn, table, keys, rows)
        _drop_zeros(conn, table, keys, [r[:-1] for r in rows if r[-1] < 0])
    totals = [
        (ws, s, a, n, *delta.names.get((s, a), (None, None))) for (s, a), n in delta.totals.items()
    ]
    keys = ["workspace_id", "source", "handle"]
    _upsert(conn, PEOPLE_TOTALS, keys, totals, extra=("name", "followers"))
    _drop_zeros(conn, PEOPLE_TOTALS, keys, [r[:3] for r in totals if r[3] < 0])
    if delta.people:
        keep_windows(conn, ws, delta.people)


@contextmanager
def kept_exact(conn: Connection, workspace_id: int, post_ids: Sequence[int]) -> Iterator[None]:
    """Run a change of these posts (labels, mentions, repeat links) with the rollups following
    it exactly, in the same transaction as ``conn``."""
    before = contributions(conn, workspace_id, post_ids)
    yield
    apply(conn, workspace_id, contributions(conn, workspace_id, post_ids).minus(before))


def rebuild(conn: Connection, workspace_id: int | None = None) -> int:
    """Recompute the rollups of one workspace (all when None) from the posts; how many done."""
    if workspace_id is None:
        ids = list(conn.execute(select(Workspace.id).order_by(Workspace.id)).scalars())
    else:
        ids = [workspace_id]
    dialect = conn.dialect.name
    for ws in ids:
        for table in (TOPIC_HOURS, POST_HOURS, PEOPLE_HOURS, PEOPLE_TOTALS):
            conn.execute(delete(table).where(table.c.workspace_id == ws))
        m_hour = hour_sql(dialect, Mention.created_at)
        conn.execute(
            insert(TOPIC_HOURS).from_select(
                ["workspace_id", "topic_id", "hour", "n"],
                select(literal(ws), Mention.topic_id, m_hour, func.count())
                .where(Mention.workspace_id == ws)
                .group_by(Mention.topic_id, m_hour),
            )
        )
        p_hour = hour_sql(dialect, Post.created_at)
        label = func.coalesce(effective_sentiment(), UNKNOWN)
        dup = Post.duplicate_of.is_not(None)
        conn.execute(
            insert(POST_HOURS).from_select(
                ["workspace_id", "hour", "sentiment", "duplicate", "n"],
                select(literal(ws), p_hour, label, dup, func.count())
                .where(Post.workspace_id == ws, in_topics())
                .group_by(p_hour, label, dup),
            )
        )
        people = [Post.workspace_id == ws, *_people_conditions()]
        conn.execute(
            insert(PEOPLE_HOURS).from_select(
                ["workspace_id", "source", "handle", "hour", "n"],
                select(literal(ws), Post.source, Post.author_handle, p_hour, func.count())
                .where(*people)
                .group_by(Post.source, Post.author_handle, p_hour),
            )
        )
        conn.execute(
            insert(PEOPLE_TOTALS).from_select(
                ["workspace_id", "source", "handle", "n", "name", "followers"],
                select(
                    literal(ws),
                    Post.source,
                    Post.author_handle,
                    func.count(),
                    func.max(Post.author_name),
                    func.max(Post.author_followers),
                )
                .where(*people)
                .group_by(Post.source, Post.author_handle),
            )
        )
        rebuild_windows(conn, ws)
    return len(ids)
