"""People's tables: a person per workspace, the identities it links, and what teammates record.

A person's derived columns (standing, advocate score, counts) are recomputed by
``goodwill.people.sync`` from the posts of its identities; the human ones (tags, notes, nurture
log, detractor cases) are set by teammates and survive every recomputation. ``forgotten_identities``
holds only hashes: what ingestion checks so a forgotten person's posts are never stored again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from goodwill.store.tables import Base, BigId, Json, utcnow

__all__ = [
    "DetractorCase",
    "ForgottenIdentity",
    "NurtureEntry",
    "PeopleState",
    "Person",
    "PersonIdentity",
    "PersonLabel",
    "PersonNote",
    "identity_hashes",
    "text_hash",
]


def identity_hashes(source: str, author_id: str | None, handle: str | None) -> list[str]:
    """The tombstone keys of an author: SHA-256 of the source with the author's id, and with
    the handle (case-folded), so the same account is recognised whichever one a source sends."""
    out = []
    for kind, value in (("id", author_id), ("handle", handle)):
        if value:
            key = f"v1\0{source}\0{kind}\0{value.strip().casefold()}"
            out.append(hashlib.sha256(key.encode()).hexdigest())
    return out


def text_hash(dedupe_key: int) -> str:
    """The tombstone key of a forgotten post's words: copies and reposts of it by other people
    share its exact repeat key (``pipeline.dedupe``), so they are dropped too."""
    return hashlib.sha256(f"v1\0text\0{dedupe_key}".encode()).hexdigest()


class Person(Base):
    """Someone who spoke about the workspace's topics, on one network or several."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_workspace_standing", "workspace_id", "standing"),
        Index("ix_people_workspace_advocate", "workspace_id", "advocate_score"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    # Derived from the posts (goodwill.people.sync); never edited by hand.
    standing: Mapped[str] = mapped_column(String(16), default="neutral")
    standing_score: Mapped[float] = mapped_column(Float, default=0.0)
    labelled_posts: Mapped[int] = mapped_column(Integer, default=0)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    followers: Mapped[int | None] = mapped_column(BigInteger, default=None)
    advocate_score: Mapped[float] = mapped_column(Float, default=0.0)
    # Score at least ``people_advocate_score`` when last recomputed, and not a detractor.
    is_advocate: Mapped[bool] = mapped_column(Boolean, default=False)
    advocate_score_before: Mapped[float] = mapped_column(Float, default=0.0)
    advocate_breakdown: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_post_at: Mapped[datetime | None] = mapped_column(default=None)
    last_post_at: Mapped[datetime | None] = mapped_column(default=None)
    last_contact_at: Mapped[datetime | None] = mapped_column(default=None)
    recomputed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonIdentity(Base):
    """One account on one network (the post format's author), linked to a person."""

    __tablename__ = "person_identities"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "author_id"),
        Index("ix_person_identities_name", "workspace_id", "name_key"),
        Index("ix_person_identities_profile", "workspace_id", "profile_url"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str] = mapped_column(String(512))
    handle: Mapped[str | None] = mapped_column(String(512), default=None)
    name: Mapped[str | None] = mapped_column(String(512), default=None)
    name_key: Mapped[str | None] = mapped_column(String(512), default=None)
    profile_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    links: Mapped[list[Any]] = mapped_column(Json, default=list)
    followers: Mapped[int | None] = mapped_column(BigInteger, default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonLabel(Base):
    """A role (customer, prospect, …) or a free tag on a person."""

    __tablename__ = "person_labels"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonNote(Base):
    """A teammate's note on a person: internal, never sent."""

    __tablename__ = "person_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NurtureEntry(Base):
    """Something done for a person: thanked, gift sent, met, other; with a note."""

    __tablename__ = "person_nurture"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    who: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class DetractorCase(Base):
    """Working with a detractor: open → contacted → resolved, each step with when and who."""

    __tablename__ = "detractor_cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(200))
    contacted_at: Mapped[datetime | None] = mapped_column(default=None)
    contacted_by: Mapped[str | None] = mapped_column(String(200), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(200), default=None)
    note: Mapped[str] = mapped_column(Text, default="")


class PeopleState(Base):
    """How far people have been built from a workspace's posts and corrections (watermarks).

    Posts: ``last_post_id`` on SQLite; on PostgreSQL ``last_xact``, posts stored by a
    transaction with a lower id have been read (``goodwill.store.commit_order``; 0: posts
    stored before migration 0015 are still read by ``last_post_id`` first)."""

    __tablename__ = "people_state"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    last_post_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_xact: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_correction_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # Corrections as posts: ``last_correction_id`` on SQLite, ``last_correction_xact`` on
    # PostgreSQL (0: those stored before migration 0019 are read by id first).
    last_correction_xact: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ForgottenIdentity(Base):
    """A tombstone: the hash of a forgotten author's identity (``identity_hashes``)."""

    __tablename__ = "forgotten_identities"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    identity_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
