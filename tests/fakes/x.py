"""X API v2 (docs.x.com): recent search and user mentions, newest first, ``since_id`` and
``start_time`` bounds, ``next_token``/``pagination_token`` paging, x-rate-limit-* headers; and
the filtered stream: rules (list, add, delete) and the stream itself as newline-delimited JSON
with keep-alive blank lines, one scripted stream per connection."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from goodwill.sources.x import XSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI"
BRAND_ID = "1120004543214567424"
CLIENT_ID = "goodwill-test-client-id"
FIRST_REFRESH = "user-refresh-1"


class XFake(ProviderFake):
    kind = "x"
    source = XSource

    def __init__(self, server: Any, timeline: str = "search") -> None:
        super().__init__(server)
        self.timeline = timeline
        body = load("x", "search_recent.json")
        self.template = body["data"][0]
        self.user = body["includes"]["users"][0]
        self.tweets: list[dict[str, Any]] = []
        self.next_id = 1859212374721658880
        # The filtered stream: the app's rules, and one script per connection.
        self.rules: list[dict[str, str]] = []
        self.next_rule = 1_700_000_000_000_000_000
        self.scripts: list[tuple[Callable[[], Iterable[bytes | float]], bool]] = []
        self.stream_requests: list[Request] = []
        self.rule_changes: list[dict[str, Any]] = []
        self.stream_status: int | None = None  # answer every stream request with this
        self.stream_faults: list[Reply] = []  # answers for the next stream requests, in turn
        # Replies: OAuth 2.0 user context, refresh tokens good for one use.
        self.refresh_token = FIRST_REFRESH
        self.user_tokens: set[str] = set()
        self.posted: list[dict[str, Any]] = []
        self.can_post = True  # False: an app on a tier that may not post

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bearer_token": TOKEN,
            "api_url": self.server.url(""),
            "page_size": 10,
            "timeline": self.timeline,
        }
        if self.timeline == "search":
            config["query"] = "brightloaf -is:retweet"
        elif self.timeline == "mentions":
            config["user_id"] = BRAND_ID
        return config

    def tweet(self, text: str, at: int | None = None) -> dict[str, Any]:
        self.next_id += 4096 * 1024
        at = self.tick() if at is None else at
        tweet = self.clone(self.template)
        tweet["id"] = str(self.next_id)
        tweet["edit_history_tweet_ids"] = [tweet["id"]]
        tweet["created_at"] = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        tweet["text"] = text
        return tweet

    def add(self, count: int, text: str = "bread talk") -> list[str]:
        new = [self.tweet(f"{text} {i}") for i in range(count)]
        self.tweets.extend(new)
        return [t["id"] for t in new]

    def add_html(self, html: str) -> str:
        tweet = self.tweet(html)
        self.tweets.append(tweet)
        return str(tweet["id"])

    def add_old(self) -> str:
        tweet = self.tweet("ancient", at=self.clock - 6 * 86400)
        self.tweets.append(tweet)
        return str(tweet["id"])

    def add_malformed(self) -> None:
        no_date = self.tweet("no date")
        del no_date["created_at"]
        self.tweets.append(no_date)
        no_id = self.tweet("no id")
        no_id["id"] = None
        no_id["sort"] = self.next_id
        self.tweets.append(no_id)

    def rate_limited(self, wait: int) -> Reply:
        return json_reply(
            load("x", "error-429.json"),
            429,
            {
                "x-rate-limit-limit": "450",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + wait),
            },
        )

    # -- the filtered stream ----------------------------------------------------------------------

    def line(self, tweet: dict[str, Any], tags: Iterable[str]) -> bytes:
        """One post as the stream sends it, with the rules it matched."""
        by_tag = {r["tag"]: r["id"] for r in self.rules}
        item = {
            "data": tweet,
            "includes": {"users": [self.user]},
            "matching_rules": [{"id": by_tag.get(t, "1"), "tag": t} for t in tags],
        }
        return json.dumps(item).encode() + b"\r\n"

    def script(self, steps: Callable[[], Iterable[bytes | float]], abort: bool = False) -> None:
        self.scripts.append((steps, abort))

    @staticmethod
    def keep_alive() -> Iterable[bytes | float]:
        while True:
            yield b"\r\n"
            yield 0.05

    def searches(self) -> int:
        return sum(r.path == "/2/tweets/search/recent" for r in self.server.requests)

    def after_catch_up(self, searches: int = 1) -> Iterable[float]:
        while self.searches() < searches:
            yield 0.01

    def _rules(self, request: Request) -> Reply:
        if request.method == "GET":
            meta = {"sent": "2026-11-22T10:00:00.000Z", "result_count": len(self.rules)}
            body: dict[str, Any] = {"meta": meta}
            if self.rules:
                body["data"] = self.rules
            return json_reply(body)
        change = json.loads(request.body)
        self.rule_changes.append(change)
        if "delete" in change:
            ids = set(change["delete"]["ids"])
            deleted = [r for r in self.rules if r["id"] in ids]
            self.rules = [r for r in self.rules if r["id"] not in ids]
            summary = {"deleted": len(deleted), "not_deleted": len(ids) - len(deleted)}
            return json_reply({"meta": {"sent": "2026-11-22T10:00:00.000Z", "summary": summary}})
        created, errors = [], []
        for rule in change["add"]:
            if "*" in rule["value"]:
                errors.append(
                    {
                        "value": rule["value"],
                        "details": ["Rules may not contain wildcards."],
                        "title": "UnprocessableEntity",
                        "type": "https://api.twitter.com/2/problems/invalid-rules",
                    }
                )
                continue
            self.next_rule += 1
            created.append({"id": str(self.next_rule), **rule})
        self.rules += created
        body = {
            "meta": {
                "sent": "2026-11-22T10:00:00.000Z",
                "summary": {
                    "created": len(created),
                    "not_created": len(errors),
                    "valid": len(created),
                    "invalid": len(errors),
                },
            }
        }
        if created:
            body["data"] = created
        if errors:
            body["errors"] = errors
        return json_reply(body, 201 if created else 200)

    def _stream(self, request: Request) -> Reply:
        self.stream_requests.append(request)
        if self.stream_faults:
            return self.stream_faults.pop(0)
        if self.stream_status is not None:
            return json_reply(
                {"title": "Stream unavailable", "status": self.stream_status}, self.stream_status
            )
        if "author_id" not in (request.arg("tweet.fields") or ""):
            return json_reply({"title": "Invalid Request", "status": 400}, 400)
        if self.scripts:
            steps, abort = self.scripts.pop(0)
            return Reply(stream=steps(), abort=abort, content_type="application/json")
        return Reply(stream=self.keep_alive(), content_type="application/json")

    # -- replying as the brand (OAuth 2.0 user context) ----------------------------------------

    def _oauth_token(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("client_id") != CLIENT_ID
            or form.get("refresh_token") != self.refresh_token
        ):
            return json_reply(
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
                400,
            )
        number = len(self.user_tokens) + 1
        access = f"user-access-{number}"
        self.user_tokens.add(access)
        self.refresh_token = f"user-refresh-{number + 1}"  # the old one stops working
        return json_reply(
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": access,
                "scope": "tweet.write users.read tweet.read offline.access",
                "refresh_token": self.refresh_token,
            }
        )

    def _as_user(self, request: Request) -> Reply:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.user_tokens:
            return json_reply(
                {
                    "title": "Unsupported Authentication",
                    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for "
                    "this endpoint.",
                    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
                    "status": 403,
                },
                403,
            )
        if request.path == "/2/users/me":
            return json_reply(
                {"data": {"id": BRAND_ID, "name": "Brightloaf", "username": "brightloaf"}}
            )
        if not self.can_post:
            return json_reply(
                {
                    "title": "Forbidden",
                    "detail": "Your client app is not configured with the appropriate oauth1 app "
                    "permissions for this endpoint.",
                    "type": "https://api.twitter.com/2/problems/oauth1-permissions",
                    "status": 403,
                },
                403,
            )
        body = json.loads(request.body)
        self.next_id += 4096 * 1024
        data = {
            "id": str(self.next_id),
            "text": body["text"],
            "edit_history_tweet_ids": [str(self.next_id)],
        }
        self.posted.append(body)
        return json_reply({"data": data}, 201)

    def handle(self, request: Request) -> Reply | None:
        if request.path == "/2/oauth2/token" and request.method == "POST":
            return self._oauth_token(request)
        if request.path == "/2/users/me" or (
            request.path == "/2/tweets" and request.method == "POST"
        ):
            return self._as_user(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_reply(load("x", "error-401.json"), 401)
        if request.path == "/2/tweets/search/stream/rules":
            return self._rules(request)
        if request.path == "/2/tweets/search/stream":
            return self._stream(request)
        if self.timeline in ("search", "stream"):
            expected, page_param = "/2/tweets/search/recent", "next_token"
        else:
            expected, page_param = f"/2/users/{BRAND_ID}/mentions", "pagination_token"
        if request.path != expected:
            return json_reply({"title": "Not Found Error", "status": 404}, 404)
        if "author_id" not in (request.arg("tweet.fields") or ""):
            return json_reply({"title": "Invalid Request", "status": 400}, 400)
        tweets = sorted(self.tweets, key=_key, reverse=True)
        since_id, start = request.arg("since_id"), request.arg("start_time")
        if self.ignore_cursor_once:
            self.ignore_cursor_once = False
            since_id = start = None
        if since_id:
            tweets = [t for t in tweets if _key(t) > int(since_id)]
        if start:
            bound = datetime.fromisoformat(start.replace("Z", "+00:00"))
            tweets = [
                t
                for t in tweets
                if "created_at" not in t
                or datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) >= bound
            ]
        size = int(request.arg("max_results") or 10)
        offset = int(request.arg(page_param) or 0)
        page = tweets[offset : offset + size]
        headers = {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "449",
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }
        if not page:
            return json_reply(load("x", "empty.json"), headers=headers)
        ids = [t["id"] for t in page if t.get("id")]
        meta: dict[str, Any] = {"result_count": len(page)}
        if ids:
            meta.update(newest_id=max(ids, key=int), oldest_id=min(ids, key=int))
        if offset + size < len(tweets):
            meta["next_token"] = str(offset + size)
        body = {
            "data": [{k: v for k, v in t.items() if k != "sort"} for t in page],
            "includes": {"users": [self.user]},
            "meta": meta,
        }
        return json_reply(body, headers=headers)


def _key(tweet: dict[str, Any]) -> int:
    return int(tweet["id"]) if tweet.get("id") else int(tweet.get("sort", 0))
