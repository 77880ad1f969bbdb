"""Bluesky in real time, from Jetstream: the network's commits as JSON over a WebSocket.

Jetstream (github.com/bluesky-social/jetstream) filters server-side by collection
(``wantedCollections``) and author (``wantedDids``), not by words: keywords are matched here.
Its cursor is an event's ``time_us``; we store the largest seen, and on every (re)connect ask for
events from a few seconds before it, because event times are not strictly ordered. Posts seen in
that rewound stretch are remembered in the cursor and skipped, so nothing is lost or repeated.

A commit deleting an ``app.bsky.feed.post`` becomes a ``Deletion`` of ``at://DID/…/RKEY``, the
id its post is stored under. It has no text to match keywords against, so every deletion the
stream brings is passed on; the writer removes the post where it was stored and ignores the
rest (cheaply: one look-up per page).

The WebSocket goes to an address vetted by the same guard as all outbound HTTP
(``net.vetted_addresses``), never to a name resolved a second time.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final
from urllib.parse import urlencode, urlsplit

import orjson
import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from goodwill.net import BlockedAddress, vetted_addresses
from goodwill.sources.base import ConfigError, Deletion, Page, SourceError, StreamingSource
from goodwill.sources.config import (
    backfill_since,
    boolean,
    number,
    optional_number,
    optional_text,
    reject_unknown,
)
from goodwill.sources.ratelimit import backoff_seconds

__all__ = ["JETSTREAM_URL", "BlueskyJetstreamSource", "event_to_post", "post_uri"]

JETSTREAM_URL: Final = "wss://jetstream2.us-east.bsky.network/subscribe"
POST: Final = "app.bsky.feed.post"
MAX_RECENT: Final = 2000
MAX_MESSAGE_BYTES: Final = 1 << 20
_DID_RE = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}$")
_WORD_SPLIT = re.compile(r"\s*,\s*")


class RedirectRefused(InvalidHandshake):
    """The server answered the handshake with a redirect, which is never followed."""


class _GuardedConnect(connect):
    """``connect`` that follows no redirect: the guard vetted one address, and a ``Location``
    could name any other (websockets would follow it, resolving the new host itself)."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        if isinstance(exc, InvalidStatus) and 300 <= exc.response.status_code < 400:
            location = exc.response.headers.get("Location", "?")
            return RedirectRefused(
                f"the server answered HTTP {exc.response.status_code}, a redirect to "
                f"{location[:200]}; redirects are not followed: set url to the final address"
            )
        return exc


class BlueskyJetstreamSource(StreamingSource):
    """Bluesky posts in real time from Jetstream, filtered by keywords or accounts."""

    kind: ClassVar[str] = "bluesky"
    default_interval: ClassVar[float] = 60.0
    target_key: ClassVar[str] = "keywords"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(
            config,
            cls.kind,
            {
                "keywords",
                "dids",
                "own_did",
                "everything",
                "url",
                "rewind_seconds",
                "batch_seconds",
                "poll_seconds",
                "interval",
                "backfill_hours",
            },
        )
        keywords = _words(config.get("keywords"), "keywords")
        dids = _words(config.get("dids"), "dids")
        for did in dids:
            if not _DID_RE.match(did):
                raise ConfigError(f"dids: {did!r} is not a DID like did:plc:abc123")
        own = optional_text(config, "own_did", 2048)
        if own is not None and not _DID_RE.match(own):
            raise ConfigError(f"own_did: {own!r} is not a DID like did:plc:abc123")
        everything = boolean(config, "everything")
        if not keywords and not dids and not everything:
            raise ConfigError(
                "keywords: required (words to listen for, comma-separated), unless dids lists "
                "accounts to follow; set everything=true to store every post of the network"
            )
        address = optional_text(config, "url", 2048) or JETSTREAM_URL
        parts = urlsplit(address)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ConfigError(f"url: {address!r} is not a ws:// or wss:// address")
        return {
            "keywords": keywords,
            "dids": dids,
            "own_did": own,
            "everything": everything,
            "url": address,
            "rewind_seconds": number(config, "rewind_seconds", 5, minimum=0, maximum=3600),
            "batch_seconds": number(config, "batch_seconds", 2, minimum=0.01, maximum=600),
            "poll_seconds": number(config, "poll_seconds", 10, minimum=0.05, maximum=600),
            "interval": number(config, "interval", cls.default_interval, minimum=60),
            "backfill_hours": optional_number(config, "backfill_hours", maximum=72),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconnect_base_s = 1.0
        self.max_failures = 8
        self._patterns = [
            re.compile(rf"(?<!\w){re.escape(k)}(?!\w)", re.IGNORECASE)
            for k in self.config["keywords"]
        ]

    # -- the two ways in --------------------------------------------------------------------

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        """What arrives within ``poll_seconds`` (or until the server closes), as one page."""
        state = _State.load(cursor, self._start_us(cursor))
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        deletions: list[Deletion] = []
        deadline = time.monotonic() + self.config["poll_seconds"]
        try:
            async with await self._connect(state) as ws:
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that
                        # arrives with a message, and the listener could not stop this stream.
                        async with asyncio.timeout(left):
                            message = await ws.recv()
                    except TimeoutError:
                        break
                    self._take(message, state, posts, problems, deletions)
        except websockets.ConnectionClosedOK:
            pass
        except (
            websockets.ConnectionClosed,
            OSError,
            TimeoutError,
            websockets.InvalidHandshake,
        ) as exc:
            if not posts and not state.moved:
                raise SourceError(f"Jetstream connection failed: {_describe(exc)}") from exc
            problems.append(f"the connection dropped ({_describe(exc)}); resuming next time")
        return Page(posts=posts, cursor=state.dump(), problems=problems, deletions=deletions)

    async def stream(self, cursor: Mapping[str, Any]) -> AsyncIterator[Page]:
        state = _State.load(cursor, self._start_us(cursor))
        failures = 0
        while True:
            posts: list[dict[str, Any]] = []
            problems: list[str] = []
            deletions: list[Deletion] = []
            try:
                async with await self._connect(state) as ws:
                    failures = 0
                    flush_at = time.monotonic() + self.config["batch_seconds"]
                    while True:
                        left = flush_at - time.monotonic()
                        try:
                            async with asyncio.timeout(max(left, 0)):  # see ``poll``
                                message = await ws.recv()
                            self._take(message, state, posts, problems, deletions)
                        except TimeoutError:
                            pass
                        if time.monotonic() >= flush_at:
                            if posts or problems or deletions or state.moved:
                                yield Page(
                                    posts=posts,
                                    cursor=state.dump(),
                                    problems=problems,
                                    deletions=deletions,
                                )
                                posts, problems, deletions = [], [], []
                                state.moved = False
                            flush_at = time.monotonic() + self.config["batch_seconds"]
            except (
                websockets.ConnectionClosed,
                OSError,
                TimeoutError,
                websockets.InvalidHandshake,
            ) as exc:
                failures += 1
                reason = _describe(exc)
            if posts or problems or deletions or state.moved:  # kept, though it dropped
                yield Page(posts=posts, cursor=state.dump(), problems=problems, deletions=deletions)
                state.moved = False
            if failures > self.max_failures:
                raise SourceError(f"Jetstream keeps failing ({failures} times): {reason}")
            await asyncio.sleep(backoff_seconds(self.reconnect_base_s, failures, 60.0))

    # -- connection -------------------------------------------------------------------------

    def _start_us(self, cursor: Mapping[str, Any]) -> int:
        if isinstance(cursor.get("time_us"), int):
            return int(cursor["time_us"])
        # Jetstream replays about a day; the backfill window cannot reach further than that.
        since = max(
            backfill_since(self.config, self.backfill), datetime.now(UTC) - timedelta(hours=24)
        )
        return int(since.timestamp() * 1_000_000)

    async def _connect(self, state: _State) -> _GuardedConnect:
        rewind = int(self.config["rewind_seconds"] * 1_000_000)
        params: list[tuple[str, str]] = [("wantedCollections", POST)]
        params += [("wantedDids", did) for did in self.config["dids"]]
        params.append(("cursor", str(max(state.time_us - rewind, 0))))
        address = f"{self.config['url']}?{urlencode(params)}"
        parts = urlsplit(self.config["url"])
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            vetted = await vetted_addresses(self.http, host, port, timeout=10)
        except BlockedAddress as exc:
            raise SourceError(f"refused to connect to {host}: {exc}") from exc
        except Exception as exc:  # httpcore's resolution errors
            raise OSError(f"could not resolve {host}: {exc}") from exc
        extra: dict[str, Any] = {"host": vetted[0], "port": port}
        if parts.scheme == "wss":
            extra["server_hostname"] = host  # TLS still checks the name, as for HTTP
        user_agent = self.http.headers.get("User-Agent")
        return _GuardedConnect(
            address,
            open_timeout=10,
            max_size=MAX_MESSAGE_BYTES,
            user_agent_header=user_agent,
            **extra,
        )

    # -- events -----------------------------------------------------------------------------

    def _take(
        self,
        message: str | bytes,
        state: _State,
        posts: list[dict[str, Any]],
        problems: list[str],
        deletions: list[Deletion],
    ) -> None:
        try:
            event = orjson.loads(message)
        except orjson.JSONDecodeError:
            problems.append(f"an event is not valid JSON ({str(message)[:40]!r}…); skipped")
            return
        if not isinstance(event, Mapping) or not isinstance(event.get("time_us"), int):
            problems.append("an event has no time_us; skipped")
            return
        state.saw(int(event["time_us"]))
        commit = event.get("commit")
        if event.get("kind") != "commit" or not isinstance(commit, Mapping):
            return  # identity and account events
        if commit.get("collection") != POST:
            return
        if commit.get("operation") == "delete":
            did, rkey = event.get("did"), commit.get("rkey")
            if not isinstance(did, str) or not _DID_RE.match(did):
                problems.append(f"a delete at {event['time_us']} has no author DID; skipped")
            elif not isinstance(rkey, str) or not rkey or "/" in rkey:
                problems.append(f"a delete at {event['time_us']} has no record key; skipped")
            else:
                deletions.append(Deletion("bluesky", post_uri(did, rkey)))
            return
        if commit.get("operation") not in ("create", "update"):
            return
        try:
            post = event_to_post(event, own_did=self.config["own_did"])
        except ValueError as exc:
            problems.append(f"event at {event['time_us']}: {exc}; skipped")
            return
        if not self._wanted(post, event):
            return
        if state.seen_before(post["id"], int(event["time_us"])):
            return
        posts.append(post)

    def _wanted(self, post: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
        if self.config["everything"]:
            return True
        if self.config["dids"] and event.get("did") in self.config["dids"]:
            return True
        return any(p.search(post["text"]) for p in self._patterns)


class _State:
    """The cursor: the largest ``time_us`` seen, and the posts seen in the rewound stretch."""

    def __init__(self, time_us: int, recent: dict[str, int]) -> None:
        self.time_us = time_us
        self.recent = recent
        self.moved = False

    @classmethod
    def load(cls, cursor: Mapping[str, Any], start_us: int) -> _State:
        raw = cursor.get("recent")
        recent = {}
        if isinstance(raw, Mapping):
            recent = {str(k): int(v) for k, v in raw.items() if isinstance(v, int)}
        return cls(start_us, recent)

    def saw(self, time_us: int) -> None:
        if time_us > self.time_us:
            self.time_us = time_us
            self.moved = True

    def seen_before(self, post_id: str, time_us: int) -> bool:
        if post_id in self.recent:
            return True
        self.recent[post_id] = time_us
        return False

    def dump(self) -> dict[str, Any]:
        # Keep what a rewind can bring back again (a minute's margin), and never too many.
        horizon = self.time_us - 60_000_000
        kept = sorted(((t, i) for i, t in self.recent.items() if t >= horizon), reverse=True)
        self.recent = {i: t for t, i in kept[:MAX_RECENT]}
        return {"time_us": self.time_us, "recent": dict(self.recent)}


def _words(value: Any, key: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = [w for w in _WORD_SPLIT.split(value.strip()) if w]
    elif isinstance(value, list) and all(isinstance(w, str) for w in value):
        items = [w.strip() for w in value if w.strip()]
    else:
        raise ConfigError(f"{key}: expected comma-separated text or a list of strings")
    if len(items) > 100 or any(len(w) > 200 for w in items):
        raise ConfigError(f"{key}: at most 100 entries of at most 200 characters")
    return items


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def post_uri(did: str, rkey: str) -> str:
    """The AT URI a post is stored under (its ``id``), and a deletion names."""
    return f"at://{did}/{POST}/{rkey}"


def event_to_post(event: Mapping[str, Any], *, own_did: str | None = None) -> dict[str, Any]:
    """A Jetstream commit of an ``app.bsky.feed.post`` as a post; ``ValueError`` says why not."""
    did, commit = event.get("did"), event["commit"]
    record = commit.get("record")
    rkey = commit.get("rkey")
    if not isinstance(did, str) or not _DID_RE.match(did):
        raise ValueError("no author DID")
    if not isinstance(rkey, str) or not rkey or "/" in rkey:
        raise ValueError("no record key")
    if not isinstance(record, Mapping):
        raise ValueError("no record")
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("the record's text is not a string")
    seen_at = datetime.fromtimestamp(event["time_us"] / 1_000_000, UTC)
    created = _iso(record.get("createdAt"))
    # createdAt is whatever the client wrote: believed only near the time the relay saw it.
    if created is None or abs(created - seen_at) > timedelta(days=1):
        created = seen_at
    if not text.strip():
        embed = record.get("embed")
        text = "(media without text)" if isinstance(embed, Mapping) else ""
    if not text.strip():
        raise ValueError("no text")
    uri = post_uri(did, rkey)
    post: dict[str, Any] = {
        "id": uri,
        "source": "bluesky",
        "url": f"https://bsky.app/profile/{did}/post/{rkey}",
        # Plain text as the author typed it: anything that looks like markup is their text,
        # escaped by every interface that shows it.
        "text": text,
        "created_at": created.isoformat(),
        "author": {"id": did, "handle": None, "name": None},
        "conversation_id": uri,
        "is_own": own_did is not None and did == own_did,
        "bluesky": {
            "did": did,
            "time_us": event["time_us"],
            "commit": {k: v for k, v in commit.items() if k != "record"},
            "record": dict(record),
        },
    }
    add_thread_and_lang(post, record)
    return post


_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")


def add_thread_and_lang(post: dict[str, Any], record: Mapping[str, Any]) -> None:
    """Set ``in_reply_to``, ``conversation_id`` and ``lang`` from an app.bsky.feed.post record
    (the same record shape in Jetstream events and in searchPosts results)."""
    reply = record.get("reply")
    if isinstance(reply, Mapping):
        parent, root = reply.get("parent"), reply.get("root")
        if isinstance(parent, Mapping) and isinstance(parent.get("uri"), str):
            post["in_reply_to"] = parent["uri"]
        if isinstance(root, Mapping) and isinstance(root.get("uri"), str):
            post["conversation_id"] = root["uri"]
    langs = record.get("langs")
    if isinstance(langs, list) and langs and isinstance(langs[0], str):
        lang = langs[0].strip().lower()
        if _LANG_RE.match(lang):
            post["lang"] = lang
