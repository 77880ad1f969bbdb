"""Bluesky keyword search (``app.bsky.feed.searchPosts``): backfill, and a polling alternative
to Jetstream that also brings handles, display names and like/repost/reply counts; and, as the
brand account, its own posts with their counts (``getAuthorFeed``) and its notifications
(``app.bsky.notification.listNotifications``: mentions, replies and quotes).

Results come newest first (``sort=latest``), paged with an opaque ``cursor``; ``since`` bounds
them below. Each poll walks back to the newest time seen before (less an overlap, skipping the
ids already seen there) and stores what is new in one go. Post ids are AT URIs, the same as the
``bluesky`` (Jetstream) source gives, so a post found by both is stored once.

The public AppView may ask for authentication; with ``identifier`` and ``app_password`` the
source uses an AT Protocol session (``atproto_session``: opened once per process, refreshed when
it expires) and reads as that account. The session's tokens stay in memory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

from goodwill.sources.api import JsonApi
from goodwill.sources.atproto_session import AtSession
from goodwill.sources.base import CanReply, ConfigError, Page, PollingSource, SourceError
from goodwill.sources.bluesky import add_thread_and_lang
from goodwill.sources.config import (
    backfill_since,
    choice,
    number,
    optional_number,
    optional_text,
    reject_unknown,
    required_text,
    url,
)
from goodwill.sources.ratelimit import ResetStyle

__all__ = ["APPVIEW_URL", "FEEDS", "NOTIFIED_REASONS", "PDS_URL", "BlueskySearchSource"]

FEEDS: Final = ("search", "own", "notifications")
NOTIFIED_REASONS: Final = ("mention", "reply", "quote")
"""Notifications that are posts someone wrote to or about the brand (not likes or follows)."""

APPVIEW_URL: Final = "https://public.api.bsky.app"
PDS_URL: Final = "https://bsky.social"
MAX_PAGES: Final = 10
OVERLAP_S: Final = 600.0
MAX_RECENT: Final = 2000
OWN_REFRESH: Final = timedelta(days=3)
_URI_RE = re.compile(
    r"^at://(did:[a-z]+:[A-Za-z0-9._:%-]+)/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]+)$"
)


class BlueskySearchSource(PollingSource, CanReply):
    """Bluesky posts matching a search (searchPosts), with handles and counts."""

    kind: ClassVar[str] = "bluesky-search"
    default_interval: ClassVar[float] = 600.0
    secret_fields: ClassVar[frozenset[str]] = frozenset({"app_password"})
    target_key: ClassVar[str] = "query"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(
            config,
            cls.kind,
            {
                "query",
                "feed",
                "own_did",
                "identifier",
                "app_password",
                "interval",
                "page_size",
                "backfill_hours",
                "api_url",
                "pds_url",
            },
        )
        identifier = optional_text(config, "identifier", 300)
        password = optional_text(config, "app_password", 300)
        if bool(identifier) != bool(password):
            raise ConfigError("identifier and app_password: give both (an app password) or neither")
        feed = choice(config, "feed", FEEDS, "search")
        own_did = optional_text(config, "own_did", 2048)
        if feed == "own" and not own_did:
            raise ConfigError("own_did: required for the own feed, the brand account's DID")
        if feed == "notifications" and not identifier:
            raise ConfigError(
                "identifier and app_password: required for notifications, the brand account's "
                "handle and an app password (docs/sources/bluesky.md)"
            )
        return {
            "query": optional_text(config, "query", 500)
            if feed != "search"
            else required_text(config, "query", "the words to search for (Lucene syntax)"),
            "feed": feed,
            "own_did": own_did,
            "identifier": identifier,
            "app_password": password,
            "interval": number(config, "interval", cls.default_interval, minimum=60),
            "page_size": int(number(config, "page_size", 100, minimum=1, maximum=100)),
            "backfill_hours": optional_number(config, "backfill_hours"),
            "api_url": url(config, "api_url", APPVIEW_URL),
            "pds_url": url(config, "pds_url", PDS_URL),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = JsonApi(
            self.http, self.config["api_url"], ResetStyle.BLUESKY, provider="Bluesky"
        )
        self.session: AtSession | None = None
        if self.config["identifier"]:
            self.session = AtSession(
                self.api,
                self.config["pds_url"],
                self.config["identifier"],
                self.config["app_password"],
            )

    def rate_limit_state(self) -> dict[str, Any] | None:
        return self.api.rate_limit

    async def reply(self, in_reply_to: str, text: str) -> dict[str, Any]:
        """Reply as the app password's account: ``com.atproto.repo.createRecord`` of a post
        whose ``reply`` names the parent and the thread's root (read with ``getPosts``).

        Not retried: a second try could post twice. The record key is chosen here (a TID),
        so the reply's URI is known even when the answer is lost.
        """
        if self.session is None:
            raise SourceError("replying needs identifier and app_password (an app password)")
        if _URI_RE.match(in_reply_to) is None:
            raise SourceError(f"{in_reply_to!r} is not a Bluesky post's AT URI")
        if not text.strip():
            raise SourceError("the reply is empty")
        if len(text) > 300:
            raise SourceError(
                f"a Bluesky post has at most 300 characters; this one has {len(text)}"
            )
        did = await self.session.did()
        found = await self.session.request(
            "GET", "/xrpc/app.bsky.feed.getPosts", params={"uris": in_reply_to}
        )
        views = found.get("posts") if isinstance(found, Mapping) else None
        parent = views[0] if isinstance(views, list) and views else None
        if not isinstance(parent, Mapping) or not isinstance(parent.get("cid"), str):
            raise SourceError(f"{in_reply_to} was not found (deleted, or not visible)")
        parent_ref = {"uri": in_reply_to, "cid": parent["cid"]}
        record = parent.get("record")
        thread = record.get("reply") if isinstance(record, Mapping) else None
        root = thread.get("root") if isinstance(thread, Mapping) else None
        root_ref = root if isinstance(root, Mapping) and root.get("cid") else parent_ref
        now = datetime.now(UTC)
        rkey = _tid(now)
        post_record = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "reply": {"root": dict(root_ref), "parent": parent_ref},
        }
        created = await self.session.request(
            "POST",
            self.config["pds_url"] + "/xrpc/com.atproto.repo.createRecord",
            json={
                "repo": did,
                "collection": "app.bsky.feed.post",
                "rkey": rkey,
                "record": post_record,
            },
        )
        uri = created.get("uri") if isinstance(created, Mapping) else None
        if not isinstance(uri, str) or _URI_RE.match(uri) is None:
            raise SourceError("Bluesky accepted the reply but did not say where it is")
        identifier = self.config["identifier"]
        view = {
            "uri": uri,
            "cid": created.get("cid"),
            # An identifier can be an e-mail address: that is no handle.
            "author": {"did": did, "handle": None if "@" in identifier else identifier},
            "record": post_record,
            "indexedAt": post_record["createdAt"],
        }
        post, _ = self._post(view)
        post["is_own"] = True
        return post

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        since = cursor.get("since")
        if not isinstance(since, int | float):
            since = backfill_since(self.config, self.backfill).timestamp()
        raw_recent = cursor.get("recent")
        recent: dict[str, float] = {}
        if isinstance(raw_recent, Mapping):
            recent = {str(k): float(v) for k, v in raw_recent.items() if isinstance(v, int | float)}
        feed = self.config["feed"]
        own = feed == "own"
        if feed == "notifications":
            path = self.config["pds_url"] + "/xrpc/app.bsky.notification.listNotifications"
            params: dict[str, Any] = {
                "limit": self.config["page_size"],
                "reasons": list(NOTIFIED_REASONS),
            }
        elif own:
            # The brand's own posts: every one of the last days is read again, so that their
            # like, repost and reply counts stay current (unchanged ones are not rewritten).
            since = min(since, (datetime.now(UTC) - OWN_REFRESH).timestamp())
            recent = {}
            path = "/xrpc/app.bsky.feed.getAuthorFeed"
            params = {
                "actor": self.config["own_did"],
                "filter": "posts_with_replies",
                "limit": self.config["page_size"],
            }
        else:
            lower = datetime.fromtimestamp(since - OVERLAP_S, UTC)
            path = "/xrpc/app.bsky.feed.searchPosts"
            params = {
                "q": self.config["query"],
                "sort": "latest",
                "limit": self.config["page_size"],
                "since": lower.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        newest = float(since)
        page_cursor: str | None = None
        for page_no in range(MAX_PAGES):
            query = dict(params, cursor=page_cursor) if page_cursor else params
            if self.session is not None:
                body = await self.session.request("GET", path, params=query)
            else:
                body = await self.api.request("GET", path, params=query)
            found = _views(body, feed)
            if found is None:
                raise SourceError(f"Bluesky answered {path} without a list of posts")
            reached_old = False
            for number_, view in enumerate(found, start=1):
                try:
                    post, at = self._post(view)
                except ValueError as exc:
                    problems.append(f"page {page_no + 1} post {number_}: {exc}; skipped")
                    continue
                if at < since - OVERLAP_S:
                    reached_old = True
                    continue
                if post["id"] in recent:
                    continue
                recent[post["id"]] = at
                newest = max(newest, at)
                if own:
                    post["is_own"] = True
                if feed == "notifications":
                    post["bluesky_notification"] = {
                        k: view.get(k) for k in ("reason", "reasonSubject", "isRead", "cid")
                    }
                posts.append(post)
            next_cursor = body.get("cursor")
            page_cursor = next_cursor if isinstance(next_cursor, str) and next_cursor else None
            if reached_old or page_cursor is None or not found:
                break
        horizon = newest - OVERLAP_S
        kept = sorted(((t, i) for i, t in recent.items() if t >= horizon), reverse=True)
        new_cursor = {"since": newest, "recent": {i: t for t, i in kept[:MAX_RECENT]}}
        return Page(posts=posts, cursor=new_cursor, problems=problems)

    def _post(self, view: Any) -> tuple[dict[str, Any], float]:
        """A ``PostView`` as a post, and the time it sorts by (``indexedAt``)."""
        if not isinstance(view, Mapping):
            raise ValueError("not a post view")
        uri = view.get("uri")
        match = _URI_RE.match(uri) if isinstance(uri, str) else None
        if match is None:
            raise ValueError(f"uri {str(uri)[:80]!r} is not a post's AT URI")
        did, rkey = match.groups()
        record = view.get("record")
        if not isinstance(record, Mapping) or not isinstance(record.get("text"), str):
            raise ValueError(f"{uri}: the record has no text")
        indexed = _iso(view.get("indexedAt"))
        if indexed is None:
            raise ValueError(f"{uri}: indexedAt is not a date")
        created = _iso(record.get("createdAt"))
        if created is None or abs(created - indexed) > timedelta(days=1):
            created = indexed
        text = record["text"]
        if not text.strip():
            text = "(media without text)" if isinstance(record.get("embed"), Mapping) else ""
        if not text.strip():
            raise ValueError(f"{uri}: no text")
        raw_author = view.get("author")
        author: Mapping[str, Any] = raw_author if isinstance(raw_author, Mapping) else {}
        handle = author.get("handle")
        name = author.get("displayName")
        post: dict[str, Any] = {
            "id": uri,
            "source": "bluesky",
            "url": f"https://bsky.app/profile/{did}/post/{rkey}",
            "text": text,  # plain text, as typed (see docs/sources/bluesky.md)
            "created_at": created.isoformat(),
            "author": {
                "id": did,
                "handle": f"@{handle}" if isinstance(handle, str) and handle else None,
                "name": name if isinstance(name, str) and name else None,
            },
            "conversation_id": uri,
            "is_own": did == self.config["own_did"],
            "bluesky": {k: v for k, v in view.items() if k != "author"},
            "bluesky_author": dict(author),
        }
        add_thread_and_lang(post, record)
        counts = {
            "likes": view.get("likeCount"),
            "shares": _sum(view.get("repostCount"), view.get("quoteCount")),
            "replies": view.get("replyCount"),
        }
        post["metrics"] = {
            k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)
        }
        return post, indexed.timestamp()


def _views(body: Any, feed: str) -> list[Any] | None:
    """The post views of a searchPosts answer, of an author feed (reposts left out), or of a
    notification list (only mentions, replies and quotes: a notification carries the post's
    ``uri``, ``author``, ``record`` and ``indexedAt`` as a post view does)."""
    if not isinstance(body, Mapping):
        return None
    if feed == "search":
        found = body.get("posts")
        return found if isinstance(found, list) else None
    if feed == "notifications":
        listed = body.get("notifications")
        if not isinstance(listed, list):
            return None
        return [
            n for n in listed if not isinstance(n, Mapping) or n.get("reason") in NOTIFIED_REASONS
        ]
    items = body.get("feed")
    if not isinstance(items, list):
        return None
    return [
        item.get("post")
        for item in items
        if isinstance(item, Mapping) and not isinstance(item.get("reason"), Mapping)
    ]


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _sum(*values: Any) -> int | None:
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    return sum(numbers) if numbers else None


_TID_CHARS: Final = "234567abcdefghijklmnopqrstuvwxyz"


def _tid(now: datetime) -> str:
    """An AT Protocol TID (a record key that sorts by time): 13 base32-sortable characters of
    the microseconds since the epoch, shifted left 10 bits for a clock id."""
    value = int(now.timestamp() * 1_000_000) << 10
    out = []
    for _ in range(13):
        out.append(_TID_CHARS[value & 31])
        value >>= 5
    return "".join(reversed(out))
