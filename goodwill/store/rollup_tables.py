"""The dashboard's rollups: counts per UTC hour, kept exact as posts are written and relabelled.

Why: with a million mentions, grouping the posts table for a dashboard takes seconds in SQLite;
summing a few thousand pre-counted rows takes milliseconds. ``store.rollups`` maintains these
tables in the same transaction as every change that moves a count, and can rebuild them.

Buckets are whole UTC hours, as an integer (hours since 1970-01-01 UTC), so a day in any time
zone whose offset is a whole number of hours is an exact sum of buckets.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from goodwill.store.tables import Base

__all__ = [
    "RollupPeopleHour",
    "RollupPeopleTotal",
    "RollupPeopleWindow",
    "RollupPeopleWindowStart",
    "RollupPostHour",
    "RollupTopicHour",
]

# On SQLite each rollup is one B-tree keyed by its primary key (no separate rowid table).
NO_ROWID = {"sqlite_with_rowid": False}


class RollupTopicHour(Base):
    """Mentions of a topic in an hour (reposts included): the volume chart, share of voice and
    the stream's per-topic counts."""

    __tablename__ = "rollup_topic_hours"
    __table_args__ = NO_ROWID

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class RollupPostHour(Base):
    """Posts in at least one topic, per hour, shown sentiment (``unknown`` when none) and whether
    the post is a repeat: the sentiment chart (originals) and the stream's total (all)."""

    __tablename__ = "rollup_post_hours"
    __table_args__ = NO_ROWID

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(32), primary_key=True)
    duplicate: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class RollupPeopleHour(Base):
    """Posts in a topic by one author (not the brand's own) in an hour: top people in a period.

    Keyed author first, so the period count of a given author is one index range."""

    __tablename__ = "rollup_people_hours"
    __table_args__ = NO_ROWID

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    handle: Mapped[str] = mapped_column(String(512), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class RollupPeopleTotal(Base):
    """An author's posts in topics over all time: the bound that lets top people read only the
    authors who could be in the top (no one posts more in a period than in all time).

    ``name`` and ``followers`` are the largest seen and are not lowered when posts go away."""

    __tablename__ = "rollup_people_totals"
    __table_args__ = (
        Index("ix_rollup_people_totals_workspace_n", "workspace_id", "n", "source", "handle"),
        NO_ROWID,
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    handle: Mapped[str] = mapped_column(String(512), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(512), default=None)
    followers: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RollupPeopleWindowStart(Base):
    """Where a workspace's window of the last ``days`` days starts now (``store.rollup_windows``):
    a whole UTC hour, moved forward once a UTC day by the writer."""

    __tablename__ = "rollup_people_window_starts"
    __table_args__ = NO_ROWID

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_hour: Mapped[int] = mapped_column(BigInteger)


class RollupPeopleWindow(Base):
    """An author's posts in topics since the start of a window (``RollupPeopleWindowStart``):
    a bound, a day or so wider than the dashboard's period, that lets top people read only the
    few authors who could be in a period's top when everyone posts about as much.

    Keyed by window then count (the index), so the authors with most posts come first."""

    __tablename__ = "rollup_people_windows"
    __table_args__ = (
        Index(
            "ix_rollup_people_windows_workspace_days_n",
            "workspace_id",
            "days",
            "n",
            "source",
            "handle",
        ),
        NO_ROWID,
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    handle: Mapped[str] = mapped_column(String(512), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
