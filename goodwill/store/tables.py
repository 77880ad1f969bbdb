"""The tables, declared once for SQLite and PostgreSQL.

Every table that holds user data carries ``workspace_id``: isolation between brands is a column,
checked by the workspace-scoped functions in ``repository``, never a convention. The schema is
created and evolved only by the Alembic migrations next to this file; a test proves the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AlertDelivery",
    "AlertEndpoint",
    "AlertEvent",
    "AlertFeed",
    "AlertRule",
    "AlertRuleEndpoint",
    "ApiToken",
    "Base",
    "Correction",
    "LoginFailure",
    "Membership",
    "Mention",
    "Post",
    "PostBand",
    "Source",
    "Topic",
    "User",
    "WebSession",
    "Workspace",
    "utcnow",
]

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on both databases.

    SQLite has no time zones; storing naive UTC and re-attaching UTC on the way out keeps the
    rest of the code from ever comparing naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json}  # noqa: RUF012


class Workspace(Base):
    """One brand; an agency runs many in one install."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # IANA name (zoneinfo) of the local time digests follow; migration 0010.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class Topic(Base):
    """A named Boolean query of a kind (brand, competitor, industry, campaign, person)."""

    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    query: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Source(Base):
    """A configured place posts come from, with its cursor and health."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_s: Mapped[float] = mapped_column(Float, default=900.0)
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_poll_at: Mapped[datetime | None] = mapped_column(default=None)
    last_poll_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_problems: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    posts_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The provider's latest word on our request budget (migration 0002).
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)


class Post(Base):
    """One stored item in the post format, unique per (workspace, source, external id)."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        Index("ix_posts_workspace_created", "workspace_id", "created_at"),
        # Only originals are ever looked up by key: repeats stay out of the index.
        Index(
            "ix_posts_workspace_dedupe",
            "workspace_id",
            "dedupe_key",
            sqlite_where=text("duplicate_of IS NULL"),
            postgresql_where=text("duplicate_of IS NULL"),
        ),
        # Partial: most posts are originals and many have no thread; they skip these indexes.
        Index(
            "ix_posts_workspace_conversation",
            "workspace_id",
            "conversation_id",
            sqlite_where=text("conversation_id IS NOT NULL"),
            postgresql_where=text("conversation_id IS NOT NULL"),
        ),
        # Replies by the post they answer: the inbox follows threads from new posts.
        Index(
            "ix_posts_workspace_reply",
            "workspace_id",
            "source",
            "in_reply_to",
            sqlite_where=text("in_reply_to IS NOT NULL"),
            postgresql_where=text("in_reply_to IS NOT NULL"),
        ),
        # A person's posts (goodwill.people): by identity, for profiles and standing.
        Index(
            "ix_posts_workspace_author",
            "workspace_id",
            "source",
            "author_id",
            sqlite_where=text("author_id IS NOT NULL"),
            postgresql_where=text("author_id IS NOT NULL"),
        ),
        Index(
            "ix_posts_duplicate_of",
            "duplicate_of",
            sqlite_where=text("duplicate_of IS NOT NULL"),
            postgresql_where=text("duplicate_of IS NOT NULL"),
        ),
        # The inbox's "did any post change?" check reads the latest update (migration 0019).
        Index("ix_posts_workspace_updated", "workspace_id", "updated_at"),
        # Post rules read new posts in commit order on PostgreSQL (goodwill.alerts.evaluate).
        Index(
            "ix_posts_workspace_xact",
            "workspace_id",
            "stored_xact",
            sqlite_where=text("stored_xact IS NOT NULL"),
            postgresql_where=text("stored_xact IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(512))
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL"), default=None
    )
    url: Mapped[str | None] = mapped_column(Text, default=None)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    lang: Mapped[str | None] = mapped_column(String(16), default=None)
    author_id: Mapped[str | None] = mapped_column(String(512), default=None)
    author_handle: Mapped[str | None] = mapped_column(String(512), default=None)
    author_name: Mapped[str | None] = mapped_column(String(512), default=None)
    author_followers: Mapped[int | None] = mapped_column(BigInteger, default=None)
    in_reply_to: Mapped[str | None] = mapped_column(String(512), default=None)
    conversation_id: Mapped[str | None] = mapped_column(String(512), default=None)
    likes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    shares: Mapped[int | None] = mapped_column(BigInteger, default=None)
    replies: Mapped[int | None] = mapped_column(BigInteger, default=None)
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    analysis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[int | None] = mapped_column(BigInteger, default=None)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), default=None
    )
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # PostgreSQL: the id of the transaction that stored the post (pg_current_xact_id(), the
    # column's default, set by migration 0015; NULL for posts stored before it). SQLite: NULL.
    stored_xact: Mapped[int | None] = mapped_column(BigInteger)


class Mention(Base):
    """A post that matched a topic. ``created_at`` is the post's, copied for time series."""

    __tablename__ = "mentions"
    __table_args__ = (
        Index("ix_mentions_topic_created", "workspace_id", "topic_id", "created_at"),
        Index("ix_mentions_topic", "topic_id"),
    )

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class PostBand(Base):
    """Locality-sensitive hash bands of a post's MinHash, to find copy-paste near-duplicates.

    The primary key is the look-up key, so on SQLite the table is one B-tree (WITHOUT ROWID):
    half the cost of a table plus an index on the ingest path. There is deliberately no foreign
    key on ``post_id`` (SQLite would scan this table for every deleted post): whoever deletes a
    post deletes its bands too, which ``repository`` does. Deleting a workspace cascades.
    """

    __tablename__ = "post_bands"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012

    # ``band`` leads the key: with workspace first, PostgreSQL (on fresh statistics) probed only
    # the workspace and filtered every band row of it, 3.6 ms per ingested post.
    band: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(BigId, primary_key=True)


class Correction(Base):
    """A label a user corrected on a post (sentiment, intent, …), kept for a later retrain.

    ``old`` is what the model said, ``new`` what the user chose; ``who`` is free text until
    there are user accounts (the CLI writes the operating-system user).
    """

    __tablename__ = "corrections"
    __table_args__ = (
        Index("ix_corrections_workspace_created", "workspace_id", "created_at"),
        # People sync reads new corrections in commit order on PostgreSQL (migration 0019).
        Index(
            "ix_corrections_workspace_xact",
            "workspace_id",
            "stored_xact",
            sqlite_where=text("stored_xact IS NOT NULL"),
            postgresql_where=text("stored_xact IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(String(64), default=None)
    new: Mapped[str] = mapped_column(String(64))
    who: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # PostgreSQL: the id of the transaction that stored it (``pg_current_xact_id()``, the
    # column's default, migration 0019; NULL before). SQLite: NULL. As ``Post.stored_xact``.
    stored_xact: Mapped[int | None] = mapped_column(BigInteger, default=None)


# -- alerts -------------------------------------------------------------------------------------
# Rules say what to watch, endpoints where to tell; evaluating rules writes events, and each
# (event, endpoint) pair is one row of the outbox (``alert_deliveries``) that the delivery worker
# claims, sends and marks. Uniqueness constraints make evaluation and delivery idempotent.


class AlertRule(Base):
    """What to watch in a workspace (kind, topic, filters, parameters) and how often to tell.

    ``last_post_id`` is the rule's watermark on SQLite: posts with a higher id have not been
    evaluated yet, so a crash between storing a batch and evaluating it only delays the alert.
    On PostgreSQL ``last_xact`` is: posts stored by a transaction with a lower id have been
    evaluated (commit order, not id order; see ``goodwill.alerts.evaluate``).
    """

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), default=None, index=True
    )
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    frequency: Mapped[str] = mapped_column(String(16), default="now")
    max_per_hour: Mapped[int] = mapped_column(Integer, default=20)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_post_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_xact: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_digest_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_fired_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertEndpoint(Base):
    """Where alerts go: an email address or a webhook URL (with its signing secret)."""

    __tablename__ = "alert_endpoints"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "target", "format"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(16), default="standard")
    secret: Mapped[str | None] = mapped_column(String(200), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRuleEndpoint(Base):
    __tablename__ = "alert_rule_endpoints"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True
    )
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("alert_endpoints.id", ondelete="CASCADE"), primary_key=True
    )


class AlertEvent(Base):
    """Something a rule found. ``key`` names it within the rule (``post:42``, ``spike:…``), so
    evaluating the same posts twice finds the event there instead of making a second one.

    ``held``: waiting for the rule's next digest (digest rules, and throttled events of
    as-it-happens rules); ``digest_id`` is the digest event that carried it.
    """

    __tablename__ = "alert_events"
    __table_args__ = (
        UniqueConstraint("rule_id", "key"),
        Index("ix_alert_events_workspace_created", "workspace_id", "created_at"),
        Index("ix_alert_events_rule_held", "rule_id", "held"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_events.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """The outbox: one event for one endpoint. ``message_id`` is the stable ``webhook-id``.

    ``status``: pending → sending (claimed until ``claimed_until``) → sent, or back to pending
    with a later ``next_attempt_at``, or failed (attempts exhausted, endpoint gone).
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_workspace_created", "workspace_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("alert_endpoints.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertFeed(Base):
    """The secret token of a workspace's Atom feed of alerts."""

    __tablename__ = "alert_feeds"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- accounts and the web application (migration 0003) ----------------------------------------


class User(Base):
    """A person who logs in. ``is_owner`` marks the install's owner, who sees every workspace."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class Membership(Base):
    """A user's role in one workspace: owner, admin, responder or viewer."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A logged-in browser. Only a hash of the cookie's secret is stored, so a copy of the
    database cannot be turned into sessions; logging out deletes the row."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A token for the REST API, acting as its user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginFailure(Base):
    """One failed login, by account and by address: what login throttling counts."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = mapped_column(default=utcnow)


# The inbox's tables live in their own module; importing it here registers them on ``Base`` for
# everyone who imports the tables (migrations, the schema test).
from goodwill.store import deletion_tables as deletion_tables  # noqa: E402
from goodwill.store import inbox_tables as inbox_tables  # noqa: E402
from goodwill.store import people_tables as people_tables  # noqa: E402
from goodwill.store import rollup_tables as rollup_tables  # noqa: E402
