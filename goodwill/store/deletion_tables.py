"""What deletions at the source leave behind: tombstones, and people to recompute.

A connector reports a post deleted on its network (``sources.base.Deletion``); the writer
removes it from the workspace whose source reported it (``store.removal``) and records a
tombstone here, which keeps the post out when it arrives after its deletion: Celery workers
may store a stream's pages out of order, and a rewound stream, a search backfill or an old
export may bring a deleted post again.

Scoped to the workspace, like all user data: a source is configured by a workspace's admins
(its URL, its credentials), so what it reports may only change that workspace. A workspace
that stores a network's posts without listening to its deletions (a keyword search source
only) keeps them; docs/concepts.md says so.

A tombstone of a post that was stored lasts ``TOMBSTONE_DAYS``. One of a post never stored
(the firehose brings deletions of posts no topic matched, many per second) lasts
``UNSTORED_TOMBSTONE``: long enough for workers to store a stream's pages out of order, short
enough that the table stays small.

People whose posts were removed are recorded in ``people_stale``: their standing and counts
are recomputed by the next ``people.sync``, which clears the rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from goodwill.store.tables import Base, BigId, utcnow

__all__ = ["TOMBSTONE_DAYS", "UNSTORED_TOMBSTONE", "DeletedPost", "StalePerson"]

TOMBSTONE_DAYS = 30
"""How long a deletion keeps a post that was stored from being stored again."""
UNSTORED_TOMBSTONE = timedelta(hours=1)
"""How long a deletion of a post never stored keeps it out (pages stored out of order)."""


class DeletedPost(Base):
    """A post the workspace's source says was deleted: not stored again until ``kept_until``."""

    __tablename__ = "deleted_posts"
    __table_args__ = (Index("ix_deleted_posts_kept_until", "kept_until"),)

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
    kept_until: Mapped[datetime] = mapped_column()


class StalePerson(Base):
    """A person who lost posts to a deletion: ``people.sync`` recomputes them, then forgets
    the row."""

    __tablename__ = "people_stale"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
