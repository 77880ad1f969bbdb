"""The API's response and request shapes: what the OpenAPI schema describes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from goodwill.store.tables import Post, Source, Topic

__all__ = [
    "MentionOut",
    "MentionPageOut",
    "SourceIn",
    "SourceOut",
    "SourcePatch",
    "TopicIn",
    "TopicOut",
    "WorkspaceIn",
    "WorkspaceOut",
    "redact",
]


class WorkspaceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class WorkspaceOut(BaseModel):
    id: int
    name: str
    role: str


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    is_owner: bool
    workspaces: list[WorkspaceOut]


class TopicIn(BaseModel):
    name: str = Field(max_length=200)
    kind: str = Field(description="brand, competitor, industry, campaign or person")
    query: str = Field(max_length=10_000)
    enabled: bool = True


class TopicOut(BaseModel):
    id: int
    name: str
    kind: str
    query: str
    enabled: bool

    @classmethod
    def of(cls, t: Topic) -> TopicOut:
        return cls(id=t.id, name=t.name, kind=t.kind, query=t.query, enabled=t.enabled)


class QueryCheckIn(BaseModel):
    query: str = Field(max_length=10_000)


class SourceIn(BaseModel):
    kind: str = Field(max_length=32)
    name: str = Field(default="", max_length=200)
    url: str = Field(default="", max_length=2000)
    config: dict[str, Any] = Field(default_factory=dict)
    interval: float | None = None


class SourcePatch(BaseModel):
    config: dict[str, Any] | None = None
    enabled: bool | None = None


_SECRET_WORDS = ("token", "secret", "password", "key", "auth", "cookie")


def redact(config: dict[str, Any]) -> dict[str, Any]:
    """A source's settings with credential-like values masked (viewers see that one is set)."""
    return {
        k: "•••" if any(w in k.lower() for w in _SECRET_WORDS) and v else v
        for k, v in config.items()
    }


class SourceOut(BaseModel):
    id: int
    kind: str
    name: str
    config: dict[str, Any]
    enabled: bool
    interval_s: float
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    posts_total: int

    @classmethod
    def of(cls, s: Source, *, secrets: bool = False) -> SourceOut:
        """``secrets``: include credential-like settings (for admins); others see them masked."""
        return cls(
            id=s.id,
            kind=s.kind,
            name=s.name,
            config=s.config if secrets else redact(s.config),
            enabled=s.enabled,
            interval_s=s.interval_s,
            last_poll_at=s.last_poll_at,
            last_success_at=s.last_success_at,
            last_error_at=s.last_error_at,
            last_error=s.last_error,
            consecutive_failures=s.consecutive_failures,
            posts_total=s.posts_total,
        )


class SentimentOut(BaseModel):
    label: str | None
    corrected: bool
    model_label: str | None
    confidence: float | None
    intent: str | None


class MentionOut(BaseModel):
    id: int
    source: str
    external_id: str
    url: str | None
    text: str
    created_at: datetime
    lang: str | None
    author_handle: str | None
    author_name: str | None
    is_own: bool
    in_reply_to: str | None
    likes: int | None
    shares: int | None
    replies: int | None
    topic_ids: list[int]
    repeats: int
    sentiment: SentimentOut

    @classmethod
    def of(cls, p: Post, topic_ids: list[int], repeats: int, label: dict[str, Any]) -> MentionOut:
        return cls(
            id=p.id,
            source=p.source,
            external_id=p.external_id,
            url=p.url,
            text=p.text,
            created_at=p.created_at,
            lang=p.lang,
            author_handle=p.author_handle,
            author_name=p.author_name,
            is_own=p.is_own,
            in_reply_to=p.in_reply_to,
            likes=p.likes,
            shares=p.shares,
            replies=p.replies,
            topic_ids=topic_ids,
            repeats=repeats,
            sentiment=SentimentOut(**label),
        )


class MentionPageOut(BaseModel):
    items: list[MentionOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")


class CorrectionIn(BaseModel):
    label: str = Field(description="negative, neutral or positive")


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret, shown once.")


class TokenIn(BaseModel):
    name: str = Field(max_length=200)


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: str
