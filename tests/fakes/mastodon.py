"""A Mastodon instance's REST API (docs.joinmastodon.org): timelines, search, notifications,
account statuses, with ``min_id``/``max_id`` paging, ``Link`` headers and rate-limit headers;
and its streaming API (server-sent events), one scripted stream per connection."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from goodwill.sources.mastodon import MastodonSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

TOKEN = "mastodon-test-token-0123456789abcdef"
BRAND_ID = "109000000000000001"


def _iso(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _newer(a: str, b: str) -> bool:
    return int(a) > int(b)


class MastodonFake(ProviderFake):
    kind = "mastodon"
    source = MastodonSource

    def __init__(self, server: Any, timeline: str = "hashtag") -> None:
        super().__init__(server)
        self.timeline = timeline
        self.template = load("mastodon", "status.json")
        self.me = load("mastodon", "verify_credentials.json")
        self.notification_template = load("mastodon", "notification_mention.json")
        # Items as the timeline serves them: statuses, or notifications wrapping statuses.
        self.items: list[dict[str, Any]] = []
        # Ids of different lengths on purpose: snowflakes must be compared as numbers.
        self.next_id = 99_999_990
        self.remaining = 300
        self.idempotent: dict[str, dict[str, Any]] = {}
        self.posted: list[dict[str, Any]] = []
        # Streaming: one script per connection (then heartbeats until the test ends), or a
        # status that refuses every stream (401 without a token, 404 where it is not exposed).
        self.scripts: list[tuple[Callable[[], Iterable[bytes | float]], bool]] = []
        self.refuse_stream: int | None = None
        self.stream_requests: list[Request] = []

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "instance": self.server.url(""),
            "timeline": self.timeline,
            "page_size": 7,
        }
        if self.timeline == "hashtag":
            config["tag"] = "bread"
        if self.timeline == "search":
            config["query"] = "brightloaf"
        if self.timeline in ("search", "mentions", "own"):
            config["access_token"] = TOKEN
        return config

    def post_id(self, item: dict[str, Any]) -> str:
        status = item["status"] if self.timeline == "mentions" else item
        return f"127.0.0.1:{self.server.port}/{status['id']}"

    def status(self, html: str, at: int | None = None, own: bool = False) -> dict[str, Any]:
        self.next_id += 7
        at = self.tick() if at is None else at
        status = self.clone(self.template)
        status["id"] = str(self.next_id)
        status["created_at"] = _iso(at)
        status["content"] = html
        if own:
            status["account"] = {**status["account"], "id": BRAND_ID, "acct": "brightloaf"}
        return status

    def publish(self, status: dict[str, Any]) -> dict[str, Any]:
        item = self.notification(status) if self.timeline == "mentions" else status
        self.items.append(item)
        return item

    def add(self, count: int, text: str = "bread talk") -> list[str]:
        own = self.timeline == "own"
        items = [self.publish(self.status(f"<p>{text} {i}</p>", own=own)) for i in range(count)]
        return [self.post_id(i) for i in items]

    def add_html(self, html: str) -> str:
        return self.post_id(self.publish(self.status(html, own=self.timeline == "own")))

    def add_old(self) -> str:
        return self.post_id(self.publish(self.status("<p>ancient</p>", at=self.clock - 40 * 86400)))

    def add_malformed(self) -> None:
        broken = self.status("<p>no date</p>")
        broken["created_at"] = "last tuesday"
        self.publish(broken)
        no_id = self.status("<p>no id</p>")
        no_id["id"] = None
        if self.timeline == "mentions":
            self.items.append({"id": str(self.next_id + 3), "type": "mention", "status": None})
        else:
            self.items.append(no_id)

    def rate_limited(self, wait: int) -> Reply:
        reset = datetime.now(UTC) + timedelta(seconds=wait)
        return json_reply(
            {"error": "Too many requests"},
            429,
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"
                ),
            },
        )

    def _post_status(self, request: Request, authorised: bool) -> Reply:
        if not authorised:
            return json_reply(load("mastodon", "error-401.json"), 401)
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotent:  # Mastodon answers a repeat with the same status
            return json_reply(self.idempotent[key])
        form = json.loads(request.body)
        parent = form.get("in_reply_to_id")
        known = {i.get("id") for i in self.items} | {
            (i.get("status") or {}).get("id") for i in self.items
        }
        if parent and parent not in known:
            return json_reply({"error": "Record not found"}, 404)
        status = self.status(html.escape(form["status"]).join(["<p>", "</p>"]), own=True)
        status["in_reply_to_id"] = parent
        status["in_reply_to_account_id"] = "109332234519342112"
        self.posted.append(status)
        if self.timeline != "mentions":  # a reply is not a mention of oneself
            self.items.append(status)
        if key:
            self.idempotent[key] = status
        return json_reply(status)

    def _headers(self) -> dict[str, str]:
        self.remaining = max(self.remaining - 1, 0)
        reset = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": reset,
        }

    # -- streaming ------------------------------------------------------------------------------

    @staticmethod
    def sse(event: str, data: Any) -> bytes:
        """One event as the streaming server writes it: the payload is JSON on one data line."""
        text = data if isinstance(data, str) else json.dumps(data)
        return f"event: {event}\ndata: {text}\n\n".encode()

    def notification(self, status: dict[str, Any], kind: str = "mention") -> dict[str, Any]:
        item = self.clone(self.notification_template)
        item["id"] = str(int(status["id"]) + 1)
        item["type"] = kind
        item["created_at"] = status["created_at"]
        item["status"] = status
        return item

    def event_for(self, item: dict[str, Any]) -> bytes:
        """The event that announces a published item on this fake's timeline's stream."""
        if self.timeline == "mentions":
            return self.sse("notification", item)
        return self.sse("update", item)

    def script(self, steps: Callable[[], Iterable[bytes | float]], abort: bool = False) -> None:
        """What the next stream connection sends; ``abort`` drops it without a proper end."""
        self.scripts.append((steps, abort))

    def timeline_reads(self) -> int:
        return sum(
            r.method == "GET"
            and not r.path.startswith("/api/v1/streaming/")
            and r.path != "/api/v1/accounts/verify_credentials"
            for r in self.server.requests
        )

    def after_catch_up(self, reads: int = 1) -> Iterable[float]:
        """Hold a stream until the client's REST catch-up (``reads`` timeline reads in all)
        has been answered, as a live stream would be quiet meanwhile."""
        while self.timeline_reads() < reads:
            yield 0.01

    @staticmethod
    def heartbeats() -> Iterable[bytes | float]:
        while True:
            yield b":thump\n\n"
            yield 0.05

    def _stream(self, request: Request, authorised: bool) -> Reply:
        self.stream_requests.append(request)
        if self.refuse_stream is not None:
            return json_reply({"error": "Streaming is not available"}, self.refuse_stream)
        expected = {
            "hashtag": "/api/v1/streaming/hashtag",
            "public": "/api/v1/streaming/public",
            "mentions": "/api/v1/streaming/user/notification",
        }.get(self.timeline)
        if request.path != expected:
            return json_reply({"error": "Unknown stream type"}, 400)
        if self.timeline == "mentions" and not authorised:
            return json_reply({"error": "Missing access token"}, 401)
        if self.scripts:
            steps, abort = self.scripts.pop(0)
            return Reply(stream=steps(), abort=abort, content_type="text/event-stream")
        return Reply(stream=self.heartbeats(), content_type="text/event-stream")

    def handle(self, request: Request) -> Reply | None:
        authorised = request.headers.get("Authorization") == f"Bearer {TOKEN}"
        path = request.path
        if path.startswith("/api/v1/streaming/"):
            return self._stream(request, authorised)
        if path == "/api/v1/statuses" and request.method == "POST":
            return self._post_status(request, authorised)
        if path == "/api/v1/accounts/verify_credentials":
            if not authorised:
                return json_reply(load("mastodon", "error-401.json"), 401)
            return json_reply(self.me, headers=self._headers())
        expected = {
            "hashtag": "/api/v1/timelines/tag/bread",
            "public": "/api/v1/timelines/public",
            "search": "/api/v2/search",
            "mentions": "/api/v1/notifications",
            "own": f"/api/v1/accounts/{BRAND_ID}/statuses",
        }[self.timeline]
        if path != expected:
            return json_reply({"error": "Record not found"}, 404)
        if self.timeline in ("search", "mentions") and not authorised:
            return json_reply(load("mastodon", "error-401.json"), 401)
        if self.timeline == "mentions" and request.query.get("types[]") != ["mention"]:
            return json_reply({"error": "expected types[]=mention"}, 422)
        limit = int(request.arg("limit") or 20)
        items = sorted(self.items, key=lambda i: int(i["id"]) if i.get("id") else 0)
        min_id, max_id = request.arg("min_id"), request.arg("max_id")
        if self.ignore_cursor_once:
            self.ignore_cursor_once = False
            min_id = max_id = None
        if min_id:  # the page immediately newer than min_id
            page = [i for i in items if i.get("id") and _newer(i["id"], min_id)][:limit]
        elif max_id:
            page = [i for i in items if i.get("id") and _newer(max_id, i["id"])][-limit:]
        else:
            page = items[-limit:]
        page = list(reversed(page))  # newest first, as Mastodon sends them
        headers = self._headers()
        ids = [i["id"] for i in page if i.get("id")]
        if ids:
            base = self.server.url(path)
            headers["Link"] = (
                f'<{base}?max_id={min(ids, key=int)}>; rel="next", '
                f'<{base}?min_id={max(ids, key=int)}>; rel="prev"'
            )
        if self.timeline == "search":
            body = load("mastodon", "search_v2.json")
            body["statuses"] = page
            return json_reply(body, headers=headers)
        return json_reply(page, headers=headers)
