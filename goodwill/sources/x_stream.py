"""X's filtered stream: rules kept in step with the source, posts in real time, gaps closed by
recent search.

Rules belong to the app, not to a connection: ``POST /2/tweets/search/stream/rules`` adds
(``{"add": [{"value", "tag"}]}``) and deletes (``{"delete": {"ids": [...]}}``), ``GET`` lists
them. Each source owns the rules tagged ``goodwill:<source name>`` (its own ``rule``) or
``goodwill:<source name>:<topic>`` (its workspace's topics, translated by ``x_rules``); when the
stream starts it adds what is missing and deletes only its own rules that are no longer wanted.

``GET /2/tweets/search/stream`` answers newline-delimited JSON: one object per matching post
(``data``, ``includes.users``, ``matching_rules``), a blank line as keep-alive every 20 seconds.
The stream has no cursor; every (re)connection first runs a recent search for the same rules
from the stored ``since_id`` (what a drop would otherwise lose), then relays the stream, skipping
what the search already brought.

Reconnecting follows X's guidance (docs.x.com, "Handling disconnections"): at once after an
established connection drops; network errors back off linearly (+250 ms, at most 16 s); HTTP
errors exponentially from 5 s (at most 320 s); 429 exponentially from one minute.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final

import httpx
import orjson

from goodwill.sources.base import Page, RateLimited, SourceError
from goodwill.sources.ratelimit import ResetStyle
from goodwill.sources.streaming import (
    Feed,
    StreamEnded,
    StreamHttpError,
    StreamRefused,
    open_stream,
)
from goodwill.sources.x import TWEET_FIELDS, USER_FIELDS, newer, users_of
from goodwill.sources.x_rules import MAX_RULE_LENGTH, Untranslatable, translate

if TYPE_CHECKING:
    from goodwill.sources.x import XSource

__all__ = ["XStream", "reconnect_wait"]

RULES_PATH: Final = "/2/tweets/search/stream/rules"
STREAM_PATH: Final = "/2/tweets/search/stream"
MAX_FAILURES = 8
"""Failed connections in a row before the source is marked unhealthy."""
READ_TIMEOUT_S = 21.0
"""X sends a keep-alive every 20 s; a second's grace, then the connection is dead."""
WAIT_SCALE = 1.0
"""Multiplies every reconnection wait; tests make it tiny."""


def reconnect_wait(kind: str, attempt: int) -> float:
    """X's documented back-off for the ``attempt``-th failure in a row of this ``kind``."""
    if kind == "network":
        return min(0.25 * attempt, 16.0)
    if kind == "http":
        return min(5.0 * 2.0 ** (attempt - 1), 320.0)
    return min(60.0 * 2.0 ** (attempt - 1), 900.0)  # 429: at most the 15-minute window


class XStream:
    """One run of an X source's filtered stream."""

    def __init__(self, source: XSource) -> None:
        self.source = source
        self.api = source.api
        self.state: dict[str, Any] = {}
        self.tags: set[str] = set()
        self.queries: list[str] = []
        self.received = 0
        self.own = f"goodwill:{source.name}"

    # -- rules -----------------------------------------------------------------------------------

    def wanted_rules(self) -> tuple[list[dict[str, str]], list[str]]:
        """The rules this source should have, and why some topics have none."""
        rule = self.source.config["rule"]
        if rule:
            return [{"value": rule, "tag": self.own}], []
        rules: list[dict[str, str]] = []
        notes: list[str] = []
        for name, query in self.source.topics:
            try:
                translation = translate(query)
            except Untranslatable as exc:
                notes.append(f"topic {name!r} has no X rule: {exc}")
                continue
            notes += [f"topic {name!r}: {note}" for note in translation.notes]
            rules.append({"value": translation.value, "tag": f"{self.own}:{name}"[:128]})
        return rules, notes

    async def sync_rules(self) -> list[str]:
        """Make X's rules of this source the wanted ones; the problems to show."""
        wanted, problems = self.wanted_rules()
        if not wanted:
            raise SourceError(
                "no rules to stream: give the source a rule (--set rule=...) or add topics "
                "X can express; " + "; ".join(problems)
            )
        body = await self.api.request("GET", RULES_PATH)
        existing = body.get("data") if isinstance(body, Mapping) else None
        mine = [
            r
            for r in (existing if isinstance(existing, list) else [])
            if isinstance(r, Mapping)
            and isinstance(r.get("tag"), str)
            and (r["tag"] == self.own or r["tag"].startswith(self.own + ":"))
        ]
        have = {(r.get("value"), r.get("tag")) for r in mine}
        want = {(r["value"], r["tag"]) for r in wanted}
        stale = [str(r["id"]) for r in mine if (r.get("value"), r.get("tag")) not in want]
        if stale:
            await self.api.request("POST", RULES_PATH, json={"delete": {"ids": stale}}, retry=True)
        missing = [r for r in wanted if (r["value"], r["tag"]) not in have]
        refused: set[str] = set()
        if missing:
            answer = await self.api.request("POST", RULES_PATH, json={"add": missing}, retry=True)
            for error in (answer.get("errors") if isinstance(answer, Mapping) else None) or []:
                if not isinstance(error, Mapping) or error.get("title") == "DuplicateRule":
                    continue
                value = str(error.get("value") or "")
                refused.add(value)
                reason = error.get("details") or error.get("detail") or error.get("title")
                if isinstance(reason, list):
                    reason = "; ".join(str(r) for r in reason)
                problems.append(f"X refused the rule {value!r}: {reason}")
        accepted = [r for r in wanted if r["value"] not in refused]
        if not accepted:
            raise SourceError("X accepted none of the rules: " + "; ".join(problems))
        self.tags = {r["tag"] for r in accepted}
        self.queries = _search_queries([r["value"] for r in accepted])
        return problems

    # -- catching up -----------------------------------------------------------------------------

    async def catch_up(self, seen: set[str]) -> Page:
        """Recent search for the same rules since the stored ``since_id``, as one page."""
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        newest = self.state.get("since_id")
        for query in self.queries:
            page = await self.source.search(query, self.state)
            problems += page.problems
            for post in page.posts:
                if post["id"] not in seen:
                    seen.add(post["id"])
                    posts.append(post)
            found = page.cursor.get("since_id")
            if isinstance(found, str) and (not isinstance(newest, str) or newer(found, newest)):
                newest = found
        if isinstance(newest, str):
            self.state["since_id"] = newest
        return Page(posts=posts, cursor=dict(self.state), problems=problems)

    async def catch_up_page(self, cursor: Mapping[str, Any]) -> Page:
        """What ``poll`` does for a stream source: rules synced, then the catch-up search."""
        self.state = dict(cursor)
        problems = await self.sync_rules()
        page = await self.catch_up(set())
        page.problems[:0] = problems
        return page

    # -- the loop --------------------------------------------------------------------------------

    async def pages(self, cursor: Mapping[str, Any]) -> AsyncIterator[Page]:
        self.state = dict(cursor)
        notes = await self.sync_rules()
        failures = 0
        attempts = {"network": 0, "http": 0, "429": 0}
        while True:
            self.received = 0
            wait = 0.0
            try:
                async with (
                    self._open() as response,
                    Feed(response.aiter_lines(), "the X stream") as feed,
                ):
                    seen: set[str] = set()
                    page = await self.catch_up(seen)
                    page.problems[:0], notes = notes, []
                    yield page
                    async for page in self._relay(feed, seen):
                        yield page
            except StreamRefused as exc:
                raise SourceError(
                    f"X refused the filtered stream ({exc}): it needs an app bearer token of "
                    "the Pro tier or above (docs/sources/x.md)"
                ) from exc
            except StreamEnded as exc:
                reason = str(exc)
                if self.received:  # an established stream dropped: reconnect at once
                    failures, attempts = 0, dict.fromkeys(attempts, 0)
                else:
                    failures += 1
                    attempts["network"] += 1
                    wait = reconnect_wait("network", attempts["network"])
            except RateLimited as exc:
                failures += 1
                attempts["429"] += 1
                reason = str(exc)
                wait = max(exc.retry_after, reconnect_wait("429", attempts["429"]))
            except StreamHttpError as exc:
                failures += 1
                attempts["http"] += 1
                reason = str(exc)
                wait = reconnect_wait("http", attempts["http"])
            except SourceError as exc:  # refused connections, timeouts, a failed catch-up
                failures += 1
                attempts["network"] += 1
                reason = str(exc)
                wait = reconnect_wait("network", attempts["network"])
            if failures > MAX_FAILURES:
                raise SourceError(f"the X stream keeps failing ({failures} times): {reason}")
            await asyncio.sleep(wait * WAIT_SCALE)

    def _open(self) -> AbstractAsyncContextManager[httpx.Response]:
        return open_stream(
            self.source.http,
            self.api.url(STREAM_PATH),
            style=ResetStyle.X,
            provider="X",
            params={
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id",
                "user.fields": USER_FIELDS,
            },
            headers=self.api.headers,
            read_timeout=READ_TIMEOUT_S,
        )

    async def _relay(self, feed: Feed[str], seen: set[str]) -> AsyncIterator[Page]:
        batch_s = float(self.source.config["batch_seconds"])
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        flush_at = time.monotonic() + batch_s
        while True:
            try:
                line = await feed.next(flush_at - time.monotonic())
                self.received = feed.received
            except StreamEnded:
                if posts or problems:
                    yield Page(posts=posts, cursor=dict(self.state), problems=problems)
                raise
            if line is not None and line.strip():
                self._take(line, seen, posts, problems)
            if time.monotonic() >= flush_at:
                if posts or problems:
                    yield Page(posts=posts, cursor=dict(self.state), problems=problems)
                    posts, problems = [], []
                flush_at = time.monotonic() + batch_s

    def _take(
        self, line: str, seen: set[str], posts: list[dict[str, Any]], problems: list[str]
    ) -> None:
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            problems.append(f"a line of the stream is not valid JSON ({line[:40]!r}); skipped")
            return
        if not isinstance(item, Mapping):
            problems.append("a line of the stream is not a JSON object; skipped")
            return
        if "data" not in item:
            for error in item.get("errors") or [item]:
                if isinstance(error, Mapping):
                    said = error.get("detail") or error.get("title") or "an unknown error"
                    problems.append(f"X said on the stream: {said}")
            return
        rules = item.get("matching_rules")
        tags = {
            r.get("tag")
            for r in (rules if isinstance(rules, list) else [])
            if isinstance(r, Mapping)
        }
        if not tags & self.tags:
            return  # another source's rule on the same app
        try:
            post = self.source.to_post(item["data"], users_of(item.get("includes")))
        except ValueError as exc:
            problems.append(f"a post of the stream: {exc}; skipped")
            return
        since = self.state.get("since_id")
        if not isinstance(since, str) or newer(post["id"], since):
            self.state["since_id"] = post["id"]
        if post["id"] in seen:
            return
        seen.add(post["id"])
        post["x_matching_rules"] = sorted(t for t in tags if isinstance(t, str))
        posts.append(post)


def _search_queries(values: list[str]) -> list[str]:
    """Rules OR-ed into as few recent-search queries as fit X's query length."""
    queries: list[str] = []
    current = ""
    for value in values:
        part = f"({value})"
        joined = f"{current} OR {part}" if current else part
        if current and len(joined) > MAX_RULE_LENGTH:
            queries.append(current)
            joined = part
        current = joined
    if current:
        queries.append(current)
    return queries
