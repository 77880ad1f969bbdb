"""Long-lived HTTP streams (server-sent events, newline-delimited JSON) over the guarded client.

A provider that pushes keeps one response open for hours. ``open_stream`` makes that request
through the same client and guard as every other call, and turns a refusal into the exception
the connector needs: ``RateLimited`` (429, with the provider's own reset header),
``StreamRefused`` (the server does not offer the stream: fall back to polling),
``StreamHttpError`` (a 5xx) or ``SourceError`` (a network failure): reconnect after a back-off.

``Feed`` reads the open response in a task of its own into a bounded queue, so the connector
can wait for the next item *with a deadline* (to flush a batch on time) without cancelling the
read itself, which would lose the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final, Generic, TypeVar

import httpx

from goodwill.net import BlockedAddress, redact_url
from goodwill.sources.api import describe_error
from goodwill.sources.base import RateLimited, SourceError
from goodwill.sources.ratelimit import ResetStyle, wait_seconds

__all__ = [
    "REFUSED_STATUSES",
    "Feed",
    "StreamEnded",
    "StreamHttpError",
    "StreamRefused",
    "open_stream",
]

REFUSED_STATUSES: Final = frozenset({401, 403, 404, 405, 410, 501})
"""Answers that mean "no stream here" rather than "try again later"."""
QUEUE_SIZE: Final = 10_000

T = TypeVar("T")


class StreamRefused(SourceError):
    """The server does not offer this stream (to us): the connector should poll instead."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


class StreamHttpError(SourceError):
    """The server answered the stream request with a 5xx: try again after a back-off."""


class StreamEnded(SourceError):
    """The open stream ended: closed by the server, dropped, or silent for too long."""


@contextlib.asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient,
    url: str,
    *,
    style: ResetStyle,
    provider: str,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    read_timeout: float = 60.0,
    content_type: str | None = None,
) -> AsyncIterator[httpx.Response]:
    """A 200 response whose body is still to be read, or an exception that says what to do.

    ``read_timeout`` is the longest silence believed: providers send keep-alives (Mastodon a
    comment every 15 s, X a blank line every 20 s), so a longer one is a dead connection.
    ``content_type``, when given, must start the response's content type (an HTML page served
    with 200 for an unknown path is a refusal, not a stream).
    """
    shown = f"GET {redact_url(url)}"
    timeout = httpx.Timeout(10.0, read=read_timeout)
    try:
        async with http.stream(
            "GET", url, params=params, headers=dict(headers or {}), timeout=timeout
        ) as response:
            status = response.status_code
            if status == 429:
                wait = wait_seconds(response.headers, style)
                raise RateLimited(
                    f"HTTP 429 (rate limited) from {shown}"
                    + ("" if wait is None else f"; {provider} asks to wait {wait:g} s"),
                    wait if wait is not None else 60.0,
                )
            if status in REFUSED_STATUSES:
                raise StreamRefused(f"HTTP {status} from {shown}", status)
            if status >= 500:
                raise StreamHttpError(f"HTTP {status} from {shown}")
            if status != 200:
                raise StreamRefused(f"HTTP {status} from {shown}", status)
            kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
            if content_type is not None and not kind.startswith(content_type):
                raise StreamRefused(
                    f"{shown} answered {kind or 'no content type'}, not {content_type}", status
                )
            yield response
    except BlockedAddress as exc:
        raise SourceError(f"refused {shown}: {exc}") from exc
    except httpx.TransportError as exc:  # refused, reset, timed out before the headers
        raise SourceError(f"{shown} failed: {describe_error(exc)}") from exc


class Feed(Generic[T]):
    """The items of one open stream, read ahead by a task; ``next`` waits with a deadline."""

    def __init__(self, items: AsyncIterator[T], what: str) -> None:
        self._queue: asyncio.Queue[T | StreamEnded] = asyncio.Queue(QUEUE_SIZE)
        self._what = what
        self._task = asyncio.create_task(self._read(items))
        self.received = 0

    async def _read(self, items: AsyncIterator[T]) -> None:
        try:
            async for item in items:
                await self._queue.put(item)
        except httpx.ReadTimeout:
            end = StreamEnded(f"{self._what} went silent for too long")
        except httpx.HTTPError as exc:  # a dropped connection, a broken chunk
            end = StreamEnded(f"{self._what} dropped: {describe_error(exc)}")
        except Exception as exc:  # a decoder's complaint about what the server sent
            end = StreamEnded(f"{self._what} broke: {describe_error(exc)}")
        else:
            end = StreamEnded(f"{self._what} was closed by the server")
        await self._queue.put(end)

    async def next(self, timeout: float) -> T | None:
        """The next item, ``None`` when none came within ``timeout`` s; ``StreamEnded`` when
        the stream is over (after every item that came before the end)."""
        try:
            # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that arrives
            # as the item does, and the listener could then never stop this stream.
            async with asyncio.timeout(max(timeout, 0.0)):
                item = await self._queue.get()
        except TimeoutError:
            return None
        if isinstance(item, StreamEnded):
            self._queue.put_nowait(item)  # stays over for any later call
            raise item
        self.received += 1
        return item

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def __aenter__(self) -> Feed[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
