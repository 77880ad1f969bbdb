"""Mastodon in real time: the streaming API's server-sent events, with REST to close every gap.

``GET /api/v1/streaming/hashtag?tag=…`` (``hashtag/local``), ``/public`` (``public/local``) and
``/user/notification`` push ``event: update`` (a new status), ``status.update`` (an edit),
``notification`` and ``delete``, each ``data:`` line a JSON entity (a ``delete`` carries the
deleted status's id, as a bare string), with a comment line as a heartbeat every 15 s. A
``delete`` becomes a ``Deletion`` of the post as we store it (``host/id``): the writer removes
it with the batch, and a deletion of a status we never stored (or a boost's own id) changes
nothing. The stream has no cursor, so every (re)connection first catches up through
the REST timeline from the stored ``min_id`` (what ``MastodonSource.poll`` does), and only then
relays what the stream pushed meanwhile; a status the catch-up already brought is skipped, so a
drop leaves neither a gap nor a repeat. Each relayed batch moves ``min_id`` to the newest id it
holds, stored with it.

An instance that does not stream to us (401 without a token, 404 or 501 where the streaming
server is not exposed) is polled instead, every ``interval`` seconds, and the page says so; every
``STREAM_RETRY_S`` it tries streaming again (an instance's streaming server may only have been
down, or its proxy misconfigured for a while), so a long-running listener does not poll for good
over a passing refusal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final

import httpx
import orjson
from httpx_sse import EventSource, ServerSentEvent

from goodwill.sources.base import Deletion, Page, RateLimited, SourceError
from goodwill.sources.ratelimit import ResetStyle, backoff_seconds
from goodwill.sources.streaming import Feed, StreamEnded, StreamRefused, open_stream

if TYPE_CHECKING:
    from goodwill.sources.mastodon import MastodonSource

__all__ = ["MastodonStream"]

RECONNECT_BASE_S = 1.0
"""First wait before reconnecting; doubled per failure in a row, with jitter. Tests shrink it."""
RECONNECT_MAX_S: Final = 300.0
MAX_FAILURES = 8
"""Failures in a row (refused connections, 5xx, drops before any event) before giving up: the
listener then marks the source unhealthy and restarts it after its own back-off."""
READ_TIMEOUT_S = 60.0
"""Silence believed before the connection counts as dead (Mastodon's heartbeat is every 15 s)."""
STREAM_RETRY_S = 600.0
"""How long a source whose stream was refused polls before it tries streaming again."""
MAX_CATCH_UP_PAGES: Final = 20
MAX_EVENT_BYTES: Final = 1 << 20


class MastodonStream:
    """One run of a Mastodon source's stream; ``pages`` yields until cancelled."""

    def __init__(self, source: MastodonSource) -> None:
        self.source = source
        self.config = source.config
        self.state: dict[str, Any] = {}
        self.received = 0  # events the current connection brought
        self.poll_failures = 0  # failed polls in a row while the stream is refused

    # -- the loop ------------------------------------------------------------------------------

    async def pages(self, cursor: Mapping[str, Any]) -> AsyncIterator[Page]:
        self.state = dict(cursor)
        failures = 0
        refused_before = False
        while True:
            self.received = 0
            wait: float | None = None
            try:
                async with (
                    self._open() as response,
                    Feed(EventSource(response).aiter_sse(), "the stream") as feed,
                ):
                    seen: set[str] = set()
                    async for page in self._catch_up(seen):
                        yield page
                    self.poll_failures = 0
                    async for page in self._relay(feed, seen):
                        yield page
            except StreamRefused as exc:
                # Said once per run, not at every retry: the source's health shows the rest.
                note = (
                    ""
                    if refused_before
                    else (
                        f"streaming refused ({exc}); polling every {self.config['interval']:g} s "
                        f"instead, and trying streaming again every {STREAM_RETRY_S:g} s"
                    )
                )
                refused_before = True
                async for page in self._poll_for_a_while(note):
                    yield page
                failures, wait = 0, 0.0
            except StreamEnded as exc:
                # A stream that brought something and then dropped is a normal event: reconnect
                # soon. One that ends before bringing anything counts towards giving up.
                failures = 1 if self.received else failures + 1
                reason = str(exc)
            except RateLimited as exc:
                failures += 1
                reason, wait = str(exc), exc.retry_after
            except SourceError as exc:
                failures += 1
                reason = str(exc)
            if failures > MAX_FAILURES:
                raise SourceError(
                    f"Mastodon streaming keeps failing ({failures} times in a row): {reason}"
                )
            if wait is None:
                wait = backoff_seconds(RECONNECT_BASE_S, failures, RECONNECT_MAX_S)
            await asyncio.sleep(wait)

    def _open(self) -> AbstractAsyncContextManager[httpx.Response]:
        timeline = self.config["timeline"]
        local = "/local" if self.config["local"] else ""
        params: list[tuple[str, str]] = []
        if timeline == "hashtag":
            path = f"/api/v1/streaming/hashtag{local}"
            params.append(("tag", self.config["tag"]))
        elif timeline == "public":
            path = f"/api/v1/streaming/public{local}"
        else:  # mentions: the brand account's notifications
            path = "/api/v1/streaming/user/notification"
        base = self.config["streaming_url"] or self.config["instance"]
        return open_stream(
            self.source.http,
            base + path,
            style=ResetStyle.MASTODON,
            provider="the instance",
            params=params,
            headers={**self.source.api.headers, "Accept": "text/event-stream"},
            read_timeout=READ_TIMEOUT_S,
            content_type="text/event-stream",
        )

    # -- catching up through REST --------------------------------------------------------------

    async def _catch_up(self, seen: set[str]) -> AsyncIterator[Page]:
        """Everything newer than the stored ``min_id`` (the backfill window on a first run)."""
        for _ in range(MAX_CATCH_UP_PAGES):
            page = await self.source.poll(self.state)
            self.state = dict(page.cursor)
            seen.update(str(p["id"]) for p in page.posts)
            yield page
            if not page.has_more:
                return

    async def _poll_for_a_while(self, note: str) -> AsyncIterator[Page]:
        """Polling in place of a refused stream, with the listener's kind of back-off, for
        ``STREAM_RETRY_S``; then the caller tries streaming again."""
        interval = float(self.config["interval"])
        retry_at = time.monotonic() + STREAM_RETRY_S
        while True:
            # Counted across retries of the stream: polling that keeps failing still gives up.
            failures = self.poll_failures
            try:
                async for page in self._catch_up(set()):
                    if note:
                        page.problems.insert(0, note)
                        note = ""
                    yield page
            except RateLimited as exc:
                failures += 1
                wait = max(exc.retry_after, interval)
            except SourceError as exc:
                failures += 1
                if failures > MAX_FAILURES:
                    raise SourceError(
                        f"Mastodon polling keeps failing ({failures} times in a row): {exc}"
                    ) from exc
                wait = backoff_seconds(interval, failures, RECONNECT_MAX_S * 12)
            else:
                failures = 0
                wait = interval
            self.poll_failures = failures
            left = retry_at - time.monotonic()
            if left <= wait:
                # Time to try streaming again. A provider's rate limit still holds, though.
                await asyncio.sleep(max(left, 0.0) if failures == 0 else wait)
                return
            await asyncio.sleep(wait)

    # -- relaying the stream -------------------------------------------------------------------

    async def _relay(self, feed: Feed[ServerSentEvent], seen: set[str]) -> AsyncIterator[Page]:
        """Batches of what the stream pushes, every ``batch_seconds``; ``StreamEnded`` at the
        end, after a last page with whatever came before it."""
        batch_s = float(self.config["batch_seconds"])
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        deletions: list[Deletion] = []
        moved = False
        flush_at = time.monotonic() + batch_s

        def page() -> Page:
            return Page(
                posts=posts, cursor=dict(self.state), problems=problems, deletions=deletions
            )

        while True:
            try:
                event = await feed.next(flush_at - time.monotonic())
                self.received = feed.received
            except StreamEnded:
                if posts or problems or deletions or moved:
                    yield page()
                raise
            if event is not None:
                if event.event == "delete":
                    self._take_delete(event, deletions, problems)
                else:
                    moved = self._take(event, seen, posts, problems) or moved
            if time.monotonic() >= flush_at:
                if posts or problems or deletions or moved:
                    yield page()
                    posts, problems, deletions, moved = [], [], [], False
                flush_at = time.monotonic() + batch_s

    def _take_delete(
        self, event: ServerSentEvent, deletions: list[Deletion], problems: list[str]
    ) -> None:
        """A ``delete`` event: its data is the status id (bare, or as a JSON string)."""
        status_id = event.data.strip().strip('"')
        if not status_id.isdigit() or len(status_id) > 40:
            problems.append(f"a delete event without a status id ({event.data[:40]!r}); skipped")
            return
        deletions.append(Deletion(self.source.kind, f"{self.source.host}/{status_id}"))

    def _take(
        self,
        event: ServerSentEvent,
        seen: set[str],
        posts: list[dict[str, Any]],
        problems: list[str],
    ) -> bool:
        """Map one event into ``posts`` (or a problem); whether it moved the cursor."""
        name = event.event
        notifications = self.config["timeline"] == "mentions"
        wanted = ("notification",) if notifications else ("update", "status.update")
        if name not in wanted:
            return False  # filters_changed, announcement…: nothing to store
        if len(event.data) > MAX_EVENT_BYTES:
            problems.append(f"a {name} event is larger than 1 MB; skipped")
            return False
        try:
            payload = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            problems.append(f"a {name} event is not valid JSON ({event.data[:40]!r}); skipped")
            return False
        item_id = payload.get("id") if isinstance(payload, Mapping) else None
        if not isinstance(item_id, str) or not item_id.isdigit():
            problems.append(f"a {name} event has no id; skipped")
            return False
        moved = False
        if name != "status.update":  # an edit keeps its old id: it moves nothing
            moved = self._advance(item_id)
        status: Any = payload
        if notifications:
            if payload.get("type") != "mention":
                return moved  # favourites, follows, boosts of ours: not posts
            status = payload.get("status")
        try:
            post = self.source._post(status)
        except ValueError as exc:
            problems.append(f"a {name} event ({item_id}): {exc}; skipped")
            return moved
        if name != "status.update":
            if post["id"] in seen:
                return moved  # the catch-up brought it already
            seen.add(post["id"])
        if notifications:
            post["mastodon_notification"] = {
                k: v for k, v in payload.items() if k not in ("status", "account")
            }
        posts.append(post)
        return moved

    def _advance(self, item_id: str) -> bool:
        current = self.state.get("min_id")
        if isinstance(current, str) and current.isdigit() and not _newer(item_id, current):
            return False
        self.state["min_id"] = item_id
        return True


def _newer(a: str, b: str) -> bool:
    return (len(a.lstrip("0")), a.lstrip("0")) > (len(b.lstrip("0")), b.lstrip("0"))
