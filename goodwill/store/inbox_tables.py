"""The inbox's tables: one row per conversation worth a look, its notes, and workspace rules.

A conversation row holds two kinds of columns. The derived ones (times, counts, the signals that
make up its priority) are recomputed from the stored posts by ``goodwill.inbox.threads``; the
human ones (status, assignee, notes) are set by teammates and survive every recomputation,
because the row is found again by its stable ``thread_key``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    "PREVIEW_CHARS",
    "Conversation",
    "ConversationNote",
    "InboxRules",
    "ReplyTemplate",
    "SentText",
]

PREVIEW_CHARS = 280
"""A conversation's preview is the start of one of its posts, this long at most."""


class Conversation(Base):
    """A thread (reply chain or network conversation id) that needs or got the brand's answer."""

    __tablename__ = "inbox_conversations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "thread_key"),
        Index("ix_inbox_conversations_workspace_last", "workspace_id", "last_post_at"),
        # The incremental refresh finds the conversations of the threads it recomputes.
        Index("ix_inbox_conversations_workspace_root", "workspace_id", "root_post_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    thread_key: Mapped[str] = mapped_column(String(600))
    source: Mapped[str] = mapped_column(String(32))
    root_post_id: Mapped[int] = mapped_column(BigInteger)
    post_count: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime]
    opened_by_customer: Mapped[bool] = mapped_column(Boolean)
    last_post_at: Mapped[datetime]
    first_ask_at: Mapped[datetime | None] = mapped_column(default=None)
    last_ask_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_own_at: Mapped[datetime | None] = mapped_column(default=None)
    needs_answer: Mapped[bool] = mapped_column(Boolean, default=False)
    asks: Mapped[int] = mapped_column(Integer, default=0)
    asks_answered: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    direct_mentions: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    max_followers: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Posts by people whose standing is advocate or detractor (migration 0008, goodwill.people).
    advocates: Mapped[int] = mapped_column(Integer, default=0)
    detractors: Mapped[int] = mapped_column(Integer, default=0)
    author_handle: Mapped[str | None] = mapped_column(String(512), default=None)
    # Durations in microseconds for the metrics (``ThreadFacts``; migration 0019).
    first_response_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    answer_wait_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    own_after_ask_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    preview: Mapped[str] = mapped_column(Text, default="")
    # Set by people; never touched by a recomputation.
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    status_at: Mapped[datetime | None] = mapped_column(default=None)
    assignee: Mapped[str | None] = mapped_column(String(200), default=None)
    # Who opened it last and when: the guard against two teammates answering at once.
    viewer: Mapped[str | None] = mapped_column(String(200), default=None)
    viewer_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationNote(Base):
    """An internal note on a conversation: seen by teammates, never sent."""

    __tablename__ = "inbox_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxRules(Base):
    """A workspace's inbox rules: its SLA, extra own handles, and when a template is flagged."""

    __tablename__ = "inbox_rules"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    first_response_sla_s: Mapped[int] = mapped_column(Integer, default=4 * 3600)
    own_handles: Mapped[list[Any]] = mapped_column(Json, default=list)
    template_threshold: Mapped[int] = mapped_column(Integer, default=5)
    # What the posts looked like at the last refresh; the same mark means nothing to redo.
    refresh_mark: Mapped[str | None] = mapped_column(String(200), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplyTemplate(Base):
    """A saved reply the team starts from (and should make personal before sending)."""

    __tablename__ = "inbox_reply_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentText(Base):
    """How many times the brand's own posts said one text (normalised as
    ``goodwill.inbox.templates.normalise_reply`` does), kept by each inbox refresh: the
    "be authentic" check and the metrics' flagged templates read a few rows here instead of
    grouping every own post of the workspace (migration 0019)."""

    __tablename__ = "inbox_sent_texts"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of ``text``: a key of fixed size however long the post."""
    text: Mapped[str] = mapped_column(Text)
    sent: Mapped[int] = mapped_column(Integer)
