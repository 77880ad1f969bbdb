"""Mastodon (and API-compatible servers): hashtag, public and search timelines, the brand account's
mentions and its own statuses, from the REST API of one instance, and in real time from its
streaming API where the instance allows it (``mastodon_stream``).

Paging follows Mastodon's own model: ids are ordered (snowflakes), and ``min_id`` asks for the
page *immediately newer* than an id. So every poll walks forward from the stored ``min_id`` one
page at a time, each page stored with its newest id as the next ``min_id``: a restart resumes
exactly there. The first poll walks backwards instead (``max_id``), newest first, until it passes
the backfill window. Items at or below the stored ``min_id`` are dropped even if a server sends
them, so a replayed page cannot bring anything twice.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, quote, urlsplit

from goodwill.pipeline.sanitise import html_to_text
from goodwill.sources.api import JsonApi
from goodwill.sources.base import CanReply, ConfigError, Page, SourceError, StreamingSource
from goodwill.sources.config import (
    backfill_since,
    boolean,
    choice,
    number,
    optional_number,
    optional_text,
    reject_unknown,
    url,
)
from goodwill.sources.ratelimit import ResetStyle

__all__ = ["STREAMED", "TIMELINES", "MastodonSource"]

TIMELINES: Final = ("hashtag", "public", "search", "mentions", "own")
STREAMED: Final = frozenset({"hashtag", "public", "mentions"})
"""Timelines the streaming API pushes; search and own statuses (with their counts) are polled."""
_NEEDS_TOKEN: Final = frozenset({"search", "mentions", "own"})
MAX_BACKFILL_PAGES: Final = 10
_LIMITS: Final = {"mentions": 80}  # notifications allow 80 a page, statuses 40


class MastodonSource(StreamingSource, CanReply):
    """Mastodon hashtag, public or search timelines, and the brand account's mentions and posts."""

    kind: ClassVar[str] = "mastodon"
    default_interval: ClassVar[float] = 300.0
    secret_fields: ClassVar[frozenset[str]] = frozenset({"access_token"})
    target_key: ClassVar[str] = "instance"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(
            config,
            cls.kind,
            {
                "instance",
                "timeline",
                "tag",
                "query",
                "local",
                "access_token",
                "interval",
                "page_size",
                "backfill_hours",
                "streaming",
                "streaming_url",
                "batch_seconds",
            },
        )
        given = config.get("instance")
        if isinstance(given, str) and given.strip() and "://" not in given:
            given = f"https://{given.strip()}"  # people type the instance's name
        instance = url({"instance": given}, "instance")
        timeline = choice(config, "timeline", TIMELINES, "hashtag")
        tag = optional_text(config, "tag", 100)
        if tag is not None:
            tag = tag.lstrip("#")
        query = optional_text(config, "query", 500)
        token = optional_text(config, "access_token", 2000)
        if timeline == "hashtag" and not tag:
            raise ConfigError("tag: required for the hashtag timeline, e.g. brightloaf (no #)")
        if timeline == "search" and not query:
            raise ConfigError("query: required for the search timeline")
        if timeline in _NEEDS_TOKEN and not token:
            raise ConfigError(
                f"access_token: the {timeline} timeline needs an access token of the brand "
                "account (docs/sources/mastodon.md says how to make one)"
            )
        limit = _LIMITS.get(timeline, 40)
        streaming_url = config.get("streaming_url") or None
        if streaming_url is not None:
            if isinstance(streaming_url, str) and streaming_url.startswith("wss://"):
                streaming_url = "https://" + streaming_url[6:]  # what /api/v2/instance says
            streaming_url = url({"streaming_url": streaming_url}, "streaming_url")
        return {
            "instance": instance,
            "timeline": timeline,
            "tag": tag,
            "query": query,
            "local": boolean(config, "local"),
            "access_token": token,
            "interval": number(config, "interval", cls.default_interval, minimum=60),
            "page_size": int(number(config, "page_size", limit, minimum=1, maximum=limit)),
            "backfill_hours": optional_number(config, "backfill_hours"),
            "streaming": boolean(config, "streaming", default=True),
            "streaming_url": streaming_url,
            "batch_seconds": number(config, "batch_seconds", 2, minimum=0.01, maximum=600),
        }

    @classmethod
    def streams(cls, config: Mapping[str, Any]) -> bool:
        return (
            config.get("streaming", True) is not False
            and (config.get("timeline") or "hashtag") in STREAMED
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        token = self.config["access_token"]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.api = JsonApi(
            self.http,
            self.config["instance"],
            ResetStyle.MASTODON,
            provider="the instance",
            headers=headers,
        )
        self.host = urlsplit(self.config["instance"]).netloc
        self._own_id: str | None = None

    def rate_limit_state(self) -> dict[str, Any] | None:
        return self.api.rate_limit

    # -- replying ------------------------------------------------------------------------------

    async def reply(self, in_reply_to: str, text: str) -> dict[str, Any]:
        """Post a public reply to a status of this instance (token scope ``write:statuses``).

        An ``Idempotency-Key`` makes Mastodon answer a retried request with the status it
        already created, so a timeout never posts twice.
        """
        if not self.config["access_token"]:
            raise SourceError("replying needs an access token with the write:statuses scope")
        host, _, status_id = in_reply_to.rpartition("/")
        if host != self.host or not status_id.isdigit():
            raise SourceError(
                f"{in_reply_to!r} is not a status of {self.host}: reply from the source that "
                "stored it"
            )
        if not text.strip():
            raise SourceError("the reply is empty")
        me = await self.api.request("GET", "/api/v1/accounts/verify_credentials")
        if isinstance(me, Mapping) and _is_id(me.get("id")):
            self._own_id = str(me["id"])
        status = await self.api.request(
            "POST",
            "/api/v1/statuses",
            json={"status": text, "in_reply_to_id": status_id},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            retry=True,
        )
        try:
            return self._post(status)
        except ValueError as exc:
            raise SourceError(
                f"the instance accepted the reply but answered oddly: {exc}"
            ) from None

    # -- streaming -----------------------------------------------------------------------------

    def stream(self, cursor: Mapping[str, Any]) -> AsyncIterator[Page]:
        """Server-sent events where the instance allows them, polling where it refuses; every
        (re)connection first catches up through the REST timeline from the stored ``min_id``."""
        from goodwill.sources.mastodon_stream import MastodonStream

        return MastodonStream(self).pages(cursor)

    # -- polling -------------------------------------------------------------------------------

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        state = dict(cursor)
        if self.config["access_token"] and not state.get("account_id"):
            me = await self.api.request("GET", "/api/v1/accounts/verify_credentials")
            if not isinstance(me, Mapping) or not _is_id(me.get("id")):
                raise SourceError("the instance did not say which account the token belongs to")
            state["account_id"] = str(me["id"])
        account_id = state.get("account_id")
        self._own_id = str(account_id) if _is_id(account_id) else None
        min_id = state.get("min_id")
        if _is_id(min_id):
            return await self._forward(state, str(min_id))
        return await self._backfill(state)

    async def _forward(self, state: dict[str, Any], min_id: str) -> Page:
        raw = await self._page({"min_id": min_id})
        posts, problems, newest = self._map(raw, after=min_id)
        prev = _link_param(self.api, "prev", "min_id")
        if newest is None and prev is not None and _newer(prev, min_id):
            newest = prev
        if newest is not None:
            state["min_id"] = newest
        has_more = len(raw) >= self.config["page_size"] and newest is not None
        return Page(posts=posts, cursor=state, problems=problems, has_more=has_more)

    async def _backfill(self, state: dict[str, Any]) -> Page:
        cutoff = backfill_since(self.config, self.backfill)
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        newest: str | None = None
        max_id: str | None = None
        for _ in range(MAX_BACKFILL_PAGES):
            raw = await self._page({"max_id": max_id} if max_id else {})
            page_posts, page_problems, page_newest = self._map(raw, after=None)
            problems += page_problems
            if page_newest is not None and (newest is None or _newer(page_newest, newest)):
                newest = page_newest
            recent = [p for p in page_posts if _when(p) >= cutoff]
            posts += recent
            oldest = _oldest_id(raw)
            if len(raw) < self.config["page_size"] or len(recent) < len(page_posts) or not oldest:
                break
            max_id = oldest
        if newest is not None:
            state["min_id"] = newest
        return Page(posts=posts, cursor=state, problems=problems)

    async def _page(self, paging: dict[str, str]) -> list[Any]:
        timeline = self.config["timeline"]
        params: list[tuple[str, Any]] = [("limit", self.config["page_size"])]
        params += list(paging.items())
        if timeline == "hashtag":
            path = f"/api/v1/timelines/tag/{quote(self.config['tag'], safe='')}"
        elif timeline == "public":
            path = "/api/v1/timelines/public"
            if self.config["local"]:
                params.append(("local", "true"))
        elif timeline == "search":
            path = "/api/v2/search"
            params += [("q", self.config["query"]), ("type", "statuses"), ("resolve", "false")]
        elif timeline == "mentions":
            path = "/api/v1/notifications"
            params.append(("types[]", "mention"))
        else:
            if self._own_id is None:
                raise SourceError("the own timeline needs the account of the access token")
            path = f"/api/v1/accounts/{quote(self._own_id, safe='')}/statuses"
        body = await self.api.request("GET", path, params=params)
        if timeline == "search":
            body = body.get("statuses") if isinstance(body, Mapping) else None
        if not isinstance(body, list):
            raise SourceError(f"the instance answered {path} without a list")
        return body

    def _map(
        self, raw: list[Any], *, after: str | None
    ) -> tuple[list[dict[str, Any]], list[str], str | None]:
        """Posts of one page, problems, and the newest item id (the next ``min_id``)."""
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        newest: str | None = None
        notifications = self.config["timeline"] == "mentions"
        for number_, item in enumerate(raw, start=1):
            item_id = item.get("id") if isinstance(item, Mapping) else None
            if not _is_id(item_id):
                problems.append(f"item {number_}: no id; skipped")
                continue
            item_id = str(item_id)
            if after is not None and not _newer(item_id, after):
                continue  # a server that ignored min_id: already stored
            if newest is None or _newer(item_id, newest):
                newest = item_id
            status = item.get("status") if notifications else item
            try:
                post = self._post(status)
            except ValueError as exc:
                problems.append(f"item {number_} ({item_id}): {exc}; skipped")
                continue
            if notifications:
                post["mastodon_notification"] = {
                    k: v for k, v in item.items() if k not in ("status", "account")
                }
            posts.append(post)
        return posts, problems, newest

    def _post(self, status: Any) -> dict[str, Any]:
        if not isinstance(status, Mapping):
            raise ValueError("no status in it")
        boosted_by = None
        if isinstance(status.get("reblog"), Mapping):
            boosted_by = status.get("account")
            status = status["reblog"]
        if not _is_id(status.get("id")):
            raise ValueError("the status has no id")
        created = status.get("created_at")
        if not isinstance(created, str) or _iso(created) is None:
            raise ValueError(f"created_at {str(created)[:40]!r} is not an ISO 8601 date")
        text = html_to_text(_s(status.get("content")))
        warning = html_to_text(_s(status.get("spoiler_text")))
        if warning:
            text = f"[{warning}] {text}".strip()
        if not text:
            media = status.get("media_attachments")
            text = "(media without text)" if isinstance(media, list) and media else ""
        if not text:
            raise ValueError("no text")
        account = status.get("account") if isinstance(status.get("account"), Mapping) else {}
        own_id = self._own_id
        post: dict[str, Any] = {
            "id": f"{self.host}/{status['id']}",
            "source": self.kind,
            "url": _http(status.get("url")) or _http(status.get("uri")),
            "text": text,
            "created_at": created,
            "metrics": {
                k: v
                for k, v in (
                    ("likes", status.get("favourites_count")),
                    ("shares", status.get("reblogs_count")),
                    ("replies", status.get("replies_count")),
                )
                if isinstance(v, int) and not isinstance(v, bool) and v >= 0
            },
            "mastodon": dict(status),
        }
        if account and _is_id(account.get("id")):
            acct = _s(account.get("acct"))
            handle = f"@{acct}" if "@" in acct else f"@{acct}@{self.host}"
            followers = account.get("followers_count")
            post["author"] = {
                "id": f"{self.host}/{account['id']}",
                "handle": handle if acct else None,
                "name": html_to_text(_s(account.get("display_name")))[:200] or None,
                "followers": followers if isinstance(followers, int) and followers >= 0 else None,
            }
            post["is_own"] = own_id is not None and str(account["id"]) == own_id
        if _is_id(status.get("in_reply_to_id")):
            post["in_reply_to"] = f"{self.host}/{status['in_reply_to_id']}"
        lang = status.get("language")
        if isinstance(lang, str) and lang:
            post["lang"] = lang
        if boosted_by is not None:
            post["boosted_by"] = (
                _s(boosted_by.get("acct")) if isinstance(boosted_by, Mapping) else None
            )
        return post


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _http(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()


def _newer(a: str, b: str) -> bool:
    """Whether id ``a`` comes after ``b``: numeric ids compared as numbers, without floats."""
    return (len(a.lstrip("0")), a.lstrip("0")) > (len(b.lstrip("0")), b.lstrip("0"))


def _oldest_id(raw: list[Any]) -> str | None:
    ids = [str(i["id"]) for i in raw if isinstance(i, Mapping) and _is_id(i.get("id"))]
    oldest: str | None = None
    for item_id in ids:
        if oldest is None or _newer(oldest, item_id):
            oldest = item_id
    return oldest


def _iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _when(post: Mapping[str, Any]) -> datetime:
    parsed = _iso(str(post["created_at"]))
    assert parsed is not None  # checked in _post
    return parsed


def _link_param(api: JsonApi, rel: str, key: str) -> str | None:
    """A paging id from the last answer's ``Link`` header (``rel="prev"`` carries ``min_id``)."""
    response = api.last_response
    if response is None:
        return None
    link = response.links.get(rel)
    if not link or "url" not in link:
        return None
    values = parse_qs(urlsplit(link["url"]).query).get(key)
    return values[0] if values and values[0].isdigit() else None
