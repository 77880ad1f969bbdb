"""What deletions at the source leave behind: tombstones, and people to recompute.

A connector reports a post deleted on its network (``sources.base.Deletion``); the writer
removes it from every workspace that stored it (``store.removal``) and records a tombstone
here. The tombstone keeps the post out when it arrives after its deletion (Celery workers may
store a stream's pages out of order; a rewound stream or an old export may bring it again). It
is a network fact, not a workspace's data: keyed by (source, external id) alone, and pruned
after ``TOMBSTONE_DAYS`` (the firehose of a keyword source brings deletions of posts we never
stored, so tombstones cannot be kept for ever).

People whose posts were removed are recorded in ``people_stale``: their standing and counts
are recomputed by the next ``people.sync``, which clears the rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from goodwill.store.tables import Base, BigId, utcnow

__all__ = ["TOMBSTONE_DAYS", "DeletedPost", "StalePerson"]

TOMBSTONE_DAYS = 30
"""How long a deletion keeps its post from being stored again."""


class DeletedPost(Base):
    """A post its network says was deleted: never stored again (within ``TOMBSTONE_DAYS``)."""

    __tablename__ = "deleted_posts"
    __table_args__ = (Index("ix_deleted_posts_deleted_at", "deleted_at"),)

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)


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
