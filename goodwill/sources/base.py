"""The one small interface every connector implements.

A connector only talks to its provider and maps payloads into the post format. It never touches
the database: ``goodwill.ingest`` stores a page's posts and its new cursor in one transaction, so
a crash between the two can neither lose nor duplicate anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from goodwill.domain import Deletion

__all__ = [
    "CanReply",
    "ConfigError",
    "Deletion",
    "Page",
    "PollingSource",
    "RateLimited",
    "SourceError",
    "StreamingSource",
    "UsesTopics",
]


class SourceError(Exception):
    """A fetch failed as a whole; the message is shown as the source's last error."""


class RateLimited(SourceError):
    """The provider asked us to wait; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(ValueError):
    """A source's configuration is unusable; the message says which setting and why."""


@dataclass(slots=True)
class Page:
    """What one poll brought back.

    ``posts`` are post-format dicts (validated later by the pipeline, so one bad item never sinks
    the page); ``cursor`` is the state to persist together with them; ``problems`` are
    item-level messages ("entry 3: no link and no id") that the user should see;
    ``deletions`` are posts the provider says were deleted, removed in the same transaction as
    the page's posts and cursor.
    """

    posts: list[dict[str, Any]]
    cursor: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    has_more: bool = False
    not_modified: bool = False


class PollingSource(ABC):
    """A source that is asked for new items every ``interval`` seconds."""

    kind: ClassVar[str]
    default_interval: ClassVar[float] = 900.0
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    """Settings that are credentials: encrypted at rest, masked when shown, never logged."""
    target_key: ClassVar[str] = "url"
    """The setting that `goodwill sources add KIND TARGET` fills from TARGET."""

    def __init__(
        self,
        name: str,
        config: Mapping[str, Any],
        http: httpx.AsyncClient,
        *,
        backfill: timedelta = timedelta(hours=24),
    ) -> None:
        self.name = name
        self.config = self.validate_config(config)
        self.http = http
        # How far back the first poll reaches (a source's own backfill_hours setting wins).
        self.backfill = backfill

    def rate_limit_state(self) -> dict[str, Any] | None:
        """The provider's latest word on our budget (limit, remaining, reset_in_s), if any."""
        return None

    @classmethod
    @abstractmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return a clean copy of ``config`` or raise ``ConfigError`` naming the problem."""

    @abstractmethod
    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        """Fetch what is new since ``cursor`` (empty on the first run).

        Raise ``RateLimited`` or ``SourceError`` when the fetch as a whole failed.
        """


class StreamingSource(PollingSource):
    """A source the provider pushes to (a WebSocket, server-sent events).

    ``stream`` yields pages for as long as it runs, reconnecting by itself when the connection
    drops, each page with the cursor to store together with it; the listener runs it as a task
    of its own. ``poll`` (inherited contract) reads what is waiting for a short while and
    returns it as one page: `listen --once`, `sources test` and cron use it.
    """

    @classmethod
    def streams(cls, config: Mapping[str, Any]) -> bool:
        """Whether a source with this (stored) ``config`` runs as a stream in the listener.

        A connector that streams only some of what it reads (Mastodon streams a hashtag but
        not a search) says no for the rest, and the listener polls those on their schedule.
        """
        return True

    @abstractmethod
    def stream(self, cursor: Mapping[str, Any]) -> AsyncIterator[Page]:
        """Pages from ``cursor`` on, until cancelled; ``SourceError`` when it gives up."""


class CanReply(ABC):
    """A connector that can answer a post on its network, as the brand account.

    ``in_reply_to`` is the post's id as this connector stored it. The answer is the reply as a
    post-format dict (``is_own`` true), ready to be stored like any other post. A connector must
    never post twice for one call: it retries only what the provider makes idempotent.
    """

    @abstractmethod
    async def reply(self, in_reply_to: str, text: str) -> dict[str, Any]:
        """Post ``text`` as a reply; ``SourceError``/``RateLimited`` when it could not."""

    def rotated_secrets(self) -> dict[str, str]:
        """Credentials the provider replaced while replying (X rotates its OAuth refresh
        tokens on every use): the caller stores them, sealed, in the source's settings, or the
        next reply would fail."""
        return {}


class UsesTopics(ABC):
    """A connector whose provider filters by our topics on its side (X's stream rules).

    The listener hands it the workspace's enabled topics, as ``(name, query)``, before it
    starts; the connector itself never reads the database.
    """

    @abstractmethod
    def use_topics(self, topics: Sequence[tuple[str, str]]) -> None:
        """Remember the topics to translate when the stream starts."""
