"""The Bluesky AppView's ``app.bsky.feed.searchPosts`` (docs.bsky.app): newest first with
``sort=latest``, ``since`` bound, opaque ``cursor`` paging, ratelimit-* headers (epoch reset);
the PDS's ``com.atproto.server.createSession`` and ``refreshSession`` for app-password sessions
(access tokens that expire with HTTP 400 ``ExpiredToken``), and the brand account's
``app.bsky.notification.listNotifications`` (newest first, ``cursor`` paging, ``reasons``)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from goodwill.sources.bluesky_search import BlueskySearchSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

HANDLE = "brightloaf.example"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
BRAND_DID = "did:plc:brightloafbrand000000000"


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class BlueskySearchFake(ProviderFake):
    kind = "bluesky-search"
    post_source = "bluesky"
    source = BlueskySearchSource
    text_is_html = False

    def __init__(self, server: Any, login: bool = False, feed: str = "search") -> None:
        super().__init__(server)
        self.feed = feed
        self.login = login or feed == "notifications"
        self.access, self.refresh = "jwt-access", "jwt-refresh"
        self.sessions_created = 0
        self.refreshed = 0
        self.notification_kinds = ["mention", "reply", "quote"]
        self.template = load("bluesky", "search_posts.json")["posts"][0]
        self.views: list[dict[str, Any]] = []
        self.counter = 0
        self.created: list[dict[str, Any]] = []
        self.reposts: list[dict[str, Any]] = []

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "query": "brightloaf",
            "api_url": self.server.url(""),
            "pds_url": self.server.url("/pds"),
            "page_size": 7,
        }
        if self.login:
            config.update(identifier=HANDLE, app_password=APP_PASSWORD)
        if self.feed == "notifications":
            config.update(feed="notifications", query=None)
        return config

    def notification(self, view: dict[str, Any], reason: str) -> dict[str, Any]:
        """A notification as listNotifications gives it: the post's uri, author, record and
        indexedAt, with why the brand is told (mention, reply, quote, like, follow ...)."""
        item = {k: view[k] for k in ("uri", "cid", "author", "record", "indexedAt") if k in view}
        item.update(reason=reason, isRead=False, labels=[])
        if reason in ("reply", "quote", "like"):
            item["reasonSubject"] = f"at://{BRAND_DID}/app.bsky.feed.post/3lbrand000001"
        return item

    def expire(self) -> None:
        """The current access token expires, as it does after about two hours."""
        self.access = f"{self.access}-expired"

    def authorised(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access}"

    def _auth_error(self, request: Request) -> Reply:
        if request.headers.get("Authorization", "").endswith("-expired") or (
            request.headers.get("Authorization", "").startswith("Bearer jwt-access")
            and not self.authorised(request)
        ):
            return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return json_reply({"error": "AuthMissing", "message": "Authentication Required"}, 401)

    def view(self, text: str, at: int | None = None) -> dict[str, Any]:
        self.counter += 1
        at = self.tick() if at is None else at
        view = self.clone(self.template)
        rkey = f"3lbr{self.counter:09d}"
        view["uri"] = f"at://did:plc:anaexample0000000000000/app.bsky.feed.post/{rkey}"
        view["record"]["text"] = text
        view["record"]["createdAt"] = _iso(at - 0.5)
        view["indexedAt"] = _iso(at)
        return view

    def publish(self, view: dict[str, Any]) -> dict[str, Any]:
        if self.feed == "notifications":
            kinds = self.notification_kinds
            view = self.notification(view, kinds[self.counter % len(kinds)])
        self.views.append(view)
        return view

    def add(self, count: int, text: str = "bread talk") -> list[str]:
        new = [self.publish(self.view(f"{text} {i}")) for i in range(count)]
        if self.feed == "notifications":  # likes and follows are no posts: never stored
            like = self.notification(self.view("a like"), "like")
            like["uri"] = "at://did:plc:anaexample0000000000000/app.bsky.feed.like/3lk0000001"
            self.views.append(like)
        return [v["uri"] for v in new]

    def add_html(self, html: str) -> str:
        return str(self.publish(self.view(html))["uri"])

    def add_old(self) -> str:
        return str(self.publish(self.view("ancient", at=self.clock - 40 * 86400))["uri"])

    def add_malformed(self) -> None:
        no_text = self.view("x")
        no_text["record"] = {"$type": "app.bsky.feed.post"}
        self.publish(no_text)
        bad_uri = self.view("y")
        bad_uri["uri"] = "https://bsky.app/not-an-at-uri"
        self.publish(bad_uri)

    def rate_limited(self, wait: int) -> Reply:
        return json_reply(
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            429,
            {
                "ratelimit-limit": "3000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(time.time()) + wait),
                "ratelimit-policy": "3000;w=300",
            },
        )

    def _create(self, request: Request) -> Reply:
        if not self.authorised(request):
            return self._auth_error(request)
        body = json.loads(request.body)
        record = body["record"]
        if body["repo"] != BRAND_DID or record.get("$type") != "app.bsky.feed.post":
            return json_reply({"error": "InvalidRequest", "message": "bad record"}, 400)
        uri = f"at://{BRAND_DID}/app.bsky.feed.post/{body['rkey']}"
        self.created.append(body)
        return json_reply({"uri": uri, "cid": "bafyreireply", "validationStatus": "valid"})

    def _session(self) -> Reply:
        return json_reply(
            {
                "did": BRAND_DID,
                "handle": HANDLE,
                "accessJwt": self.access,
                "refreshJwt": self.refresh,
                "active": True,
            }
        )

    def _notifications(self, request: Request) -> Reply:
        if not self.authorised(request):
            return self._auth_error(request)
        reasons = set(request.query.get("reasons", []))
        items = [v for v in self.views if not reasons or v.get("reason") in reasons]
        items.sort(key=lambda v: v["indexedAt"], reverse=True)
        if self.ignore_cursor_once:  # listNotifications has no lower bound to ignore
            self.ignore_cursor_once = False
        size = int(request.arg("limit") or 50)
        offset = int(request.arg("cursor") or 0)
        body: dict[str, Any] = {"notifications": items[offset : offset + size]}
        if offset + size < len(items):
            body["cursor"] = str(offset + size)
        return json_reply(body, headers=self._limits())

    @staticmethod
    def _limits() -> dict[str, str]:
        return {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "2999",
            "ratelimit-reset": str(int(time.time()) + 300),
            "ratelimit-policy": "3000;w=300",
        }

    def handle(self, request: Request) -> Reply | None:
        if request.path == "/pds/xrpc/com.atproto.server.createSession":
            body = json.loads(request.body)
            if body != {"identifier": HANDLE, "password": APP_PASSWORD}:
                return json_reply(
                    {
                        "error": "AuthenticationRequired",
                        "message": "Invalid identifier or password",
                    },
                    401,
                )
            self.sessions_created += 1
            return self._session()
        if request.path == "/pds/xrpc/com.atproto.server.refreshSession":
            if request.headers.get("Authorization") != f"Bearer {self.refresh}":
                return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
            self.refreshed += 1
            self.access = f"jwt-access-{self.refreshed + 1}"
            self.refresh = f"jwt-refresh-{self.refreshed + 1}"
            return self._session()
        if request.path == "/pds/xrpc/app.bsky.notification.listNotifications":
            return self._notifications(request)
        if request.path == "/xrpc/app.bsky.feed.getPosts":
            wanted = set(request.query.get("uris", []))
            return json_reply({"posts": [v for v in self.views if v["uri"] in wanted]})
        if request.path == "/pds/xrpc/com.atproto.repo.createRecord":
            return self._create(request)
        if request.path == "/xrpc/app.bsky.feed.getAuthorFeed":
            actor = request.arg("actor")
            mine = [v for v in self.views if v["uri"].startswith(f"at://{actor}/")]
            mine.sort(key=lambda v: v["indexedAt"], reverse=True)
            size = int(request.arg("limit") or 50)
            offset = int(request.arg("cursor") or 0)
            feed: list[dict[str, Any]] = [{"post": v} for v in mine[offset : offset + size]]
            feed += [
                {"post": v, "reason": {"$type": "app.bsky.feed.defs#reasonRepost"}}
                for v in self.reposts
            ]
            answer: dict[str, Any] = {"feed": feed}
            if offset + size < len(mine):
                answer["cursor"] = str(offset + size)
            return json_reply(answer)
        if request.path != "/xrpc/app.bsky.feed.searchPosts":
            return json_reply({"error": "MethodNotImplemented"}, 501)
        if self.login and not self.authorised(request):
            if request.headers.get("Authorization"):
                return self._auth_error(request)
            return json_reply({"error": "AuthMissing", "message": "Authentication Required"}, 403)
        views = sorted(self.views, key=lambda v: v["indexedAt"], reverse=True)
        since = request.arg("since")
        if self.ignore_cursor_once:
            self.ignore_cursor_once = False
            since = None
        if since:
            views = [v for v in views if v["indexedAt"] >= since]
        size = int(request.arg("limit") or 25)
        offset = int(request.arg("cursor") or 0)
        page = views[offset : offset + size]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(views)}
        if offset + size < len(views):
            body["cursor"] = str(offset + size)
        return json_reply(
            body,
            headers={
                "ratelimit-limit": "3000",
                "ratelimit-remaining": "2999",
                "ratelimit-reset": str(int(time.time()) + 300),
                "ratelimit-policy": "3000;w=300",
            },
        )
