"""X API v2 (docs.x.com): recent search and user mentions, newest first, ``since_id`` and
``start_time`` bounds, ``next_token``/``pagination_token`` paging, x-rate-limit-* headers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from goodwill.sources.x import XSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI"
BRAND_ID = "1120004543214567424"


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

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bearer_token": TOKEN,
            "api_url": self.server.url(""),
            "page_size": 10,
            "timeline": self.timeline,
        }
        if self.timeline == "search":
            config["query"] = "brightloaf -is:retweet"
        else:
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

    def handle(self, request: Request) -> Reply | None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_reply(load("x", "error-401.json"), 401)
        if self.timeline == "search":
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
