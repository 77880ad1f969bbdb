"""Reading the mention stream's filters and page cursor from a query string (pages and API).

The cursor is the last row's (time, id), written as ``<iso time>_<id>``: opaque to users, cheap to
check, and it makes every page an index range scan however deep the reader goes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import HTTPException, Query

from goodwill.store.corrections import SENTIMENTS
from goodwill.store.repository import MentionFilter

__all__ = ["StreamParams", "decode_cursor", "encode_cursor"]


def encode_cursor(before: tuple[datetime, int] | None) -> str | None:
    return f"{before[0].isoformat()}_{before[1]}" if before else None


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    moment, _, ident = cursor.rpartition("_")
    try:
        when = datetime.fromisoformat(moment)
        return (when if when.tzinfo else when.replace(tzinfo=UTC), int(ident))
    except ValueError:
        raise HTTPException(400, "bad page cursor") from None


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be a date like 2026-11-22") from None


class StreamParams:
    """The stream's filters, as query parameters (one definition for the page and the API)."""

    def __init__(
        self,
        topic: Annotated[int | None, Query(description="Topic id.")] = None,
        q: Annotated[
            str, Query(max_length=500, description='Full-text search: words, "phrases", prefix*.')
        ] = "",
        source: Annotated[str, Query(max_length=32, description="Network: x, rss, …")] = "",
        sentiment: Annotated[
            str, Query(max_length=16, description="negative, neutral or positive.")
        ] = "",
        intent: Annotated[str, Query(max_length=32, description="An intent label.")] = "",
        lang: Annotated[str, Query(max_length=16, description="Language code, e.g. en.")] = "",
        since: Annotated[
            str, Query(max_length=10, description="First day (UTC), inclusive: YYYY-MM-DD.")
        ] = "",
        until: Annotated[
            str, Query(max_length=10, description="Last day (UTC), inclusive: YYYY-MM-DD.")
        ] = "",
        own: Annotated[
            str, Query(pattern="^(|only|exclude)$", description="only, or exclude, our own posts.")
        ] = "",
        cursor: Annotated[
            str | None, Query(max_length=100, description="The previous page's next_cursor.")
        ] = None,
    ) -> None:
        self.topic = topic
        self.q = q
        self.source = source
        self.sentiment = sentiment
        self.intent = intent
        self.lang = lang
        # Plain text, so an empty date field of a submitted form means "no limit".
        self.since = _day(since, "since")
        self.until = _day(until, "until")
        self.own = own
        self.cursor = cursor

    def to_filter(self) -> MentionFilter:
        if self.sentiment and self.sentiment not in SENTIMENTS:
            raise HTTPException(422, f"sentiment must be one of {', '.join(SENTIMENTS)}")
        return MentionFilter(
            topic_ids=[self.topic] if self.topic else [],
            search=self.q or None,
            source=self.source or None,
            lang=self.lang or None,
            sentiment=self.sentiment or None,
            intent=self.intent or None,
            since=datetime.combine(self.since, time(), UTC) if self.since else None,
            until=datetime.combine(self.until, time(), UTC) + timedelta(days=1)
            if self.until
            else None,
            own={"only": True, "exclude": False}.get(self.own),
        )

    def query_string(self, **changes: object) -> str:
        """These filters as a query string (without the cursor unless given in ``changes``)."""
        from urllib.parse import urlencode

        values: dict[str, object] = {
            "topic": self.topic,
            "q": self.q,
            "source": self.source,
            "sentiment": self.sentiment,
            "intent": self.intent,
            "lang": self.lang,
            "since": self.since,
            "until": self.until,
            "own": self.own,
        }
        values.update(changes)
        return urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})
