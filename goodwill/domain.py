"""The words of the domain, as plain types that every floor of Goodwill can import.

Nothing here does I/O: the query language, the pipeline and the store all speak these types, so
they live on the lowest floor.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "INTENT_LABELS",
    "SENTIMENT_LABELS",
    "Author",
    "Deletion",
    "Metrics",
    "Post",
    "TopicKind",
]

SENTIMENT_LABELS = ("negative", "neutral", "positive")
"""What a post's ``analysis["sentiment"]["label"]`` can be (models and user corrections)."""
INTENT_LABELS = ("question", "complaint", "praise", "suggestion", "purchase", "other")
"""What a post's ``analysis["intent"]["label"]`` can be."""


class TopicKind(enum.StrEnum):
    """Why a topic is listened to (seed 002: you, your competitors, your industry)."""

    BRAND = "brand"
    COMPETITOR = "competitor"
    INDUSTRY = "industry"
    CAMPAIGN = "campaign"
    PERSON = "person"


@dataclass(slots=True)
class Author:
    """Who wrote a post, as the network names them (one identity of a future person)."""

    id: str
    handle: str | None = None
    name: str | None = None
    followers: int | None = None


@dataclass(slots=True)
class Metrics:
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None


@dataclass(slots=True)
class Post:
    """One normalised item in the post format (docs/post-format.md).

    ``id`` is unique within ``source``; ``extra`` keeps every field we do not model so that no
    provider detail is lost on the way through.
    """

    id: str
    source: str
    text: str
    created_at: datetime
    url: str | None = None
    lang: str | None = None
    author: Author | None = None
    in_reply_to: str | None = None
    conversation_id: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    is_own: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The post-format object, the inverse of ``pipeline.normalise.parse_post``."""
        out: dict[str, Any] = dict(self.extra)
        out.update(
            {
                "id": self.id,
                "source": self.source,
                "url": self.url,
                "text": self.text,
                "created_at": self.created_at.isoformat(),
            }
        )
        if self.lang:
            out["lang"] = self.lang
        if self.author is not None:
            out["author"] = {
                "id": self.author.id,
                "handle": self.author.handle,
                "name": self.author.name,
                "followers": self.author.followers,
            }
        if self.in_reply_to:
            out["in_reply_to"] = self.in_reply_to
        if self.conversation_id:
            out["conversation_id"] = self.conversation_id
        m = self.metrics
        if m.likes is not None or m.shares is not None or m.replies is not None:
            out["metrics"] = {"likes": m.likes, "shares": m.shares, "replies": m.replies}
        if self.is_own:
            out["is_own"] = True
        return out


@dataclass(frozen=True, slots=True)
class Deletion:
    """A post its network says was deleted: ``source`` and ``external_id`` as the connector
    stores the post (the post format's ``source`` and ``id``). Platform terms require that we
    delete it too; the writer removes it from the workspace whose source reported it and keeps
    it from coming back."""

    source: str
    external_id: str
