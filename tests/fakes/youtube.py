"""YouTube Data API v3 ``commentThreads.list`` (developers.google.com/youtube/v3): threads of a
channel's videos, newest first with ``order=time``, ``pageToken`` paging, quota errors; a
thread's replies (``comments.list?parentId``, the thread itself carrying at most five), and
``comments.insert`` with an OAuth access token from Google's token endpoint (refresh grant)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from goodwill.sources.youtube import YouTubeSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

API_KEY = "AIzaSyD-goodwill-test-key-0123456789abc"
CHANNEL = "UCbrightloafbakery000001"
CLIENT_ID = "1234567890-goodwill.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-goodwill-test-secret"
REFRESH_TOKEN = "1//0goodwill-test-refresh-token"


class YouTubeFake(ProviderFake):
    kind = "youtube"
    source = YouTubeSource

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        body = load("youtube", "comment_threads.json")
        self.envelope = {k: v for k, v in body.items() if k != "items"}
        self.template = body["items"][0]
        self.threads: list[dict[str, Any]] = []
        self.counter = 0
        self.replies: dict[str, list[dict[str, Any]]] = {}  # every reply, by thread
        self.access_tokens: set[str] = set()
        self.inserted: list[dict[str, Any]] = []

    def config(self) -> dict[str, Any]:
        return {
            "channel_id": CHANNEL,
            "api_key": API_KEY,
            "api_url": self.server.url("/youtube/v3"),
            "page_size": 7,
        }

    def thread(self, html: str, at: int | None = None) -> dict[str, Any]:
        self.counter += 1
        at = self.tick() if at is None else at
        thread = self.clone(self.template)
        thread_id = f"Ugz{self.counter:020d}AaABAg"
        thread["id"] = thread["snippet"]["topLevelComment"]["id"] = thread_id
        top = thread["snippet"]["topLevelComment"]["snippet"]
        top["textDisplay"] = html
        top["publishedAt"] = top["updatedAt"] = datetime.fromtimestamp(at, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        thread["snippet"]["totalReplyCount"] = 0
        del thread["replies"]
        return thread

    def reply_comment(self, thread: dict[str, Any], text: str) -> dict[str, Any]:
        self.counter += 1
        top = thread["snippet"]["topLevelComment"]
        comment = self.clone(top)
        comment["id"] = f"{thread['id']}.9xYz{self.counter:010d}"
        snippet = comment["snippet"]
        snippet["textDisplay"] = text
        snippet["textOriginal"] = text
        snippet["parentId"] = thread["id"]
        snippet["publishedAt"] = snippet["updatedAt"] = datetime.fromtimestamp(
            self.tick(), UTC
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
        return comment

    def add_thread_with_replies(self, count: int) -> tuple[str, list[str]]:
        """A thread with ``count`` replies; it carries only the five latest, as YouTube's do."""
        thread = self.thread("<p>which flour?</p>")
        replies = [self.reply_comment(thread, f"reply {i}") for i in range(count)]
        self.replies[thread["id"]] = replies
        thread["snippet"]["totalReplyCount"] = count
        thread["replies"] = {"comments": replies[-5:]}
        self.threads.append(thread)
        return thread["id"], [r["id"] for r in replies]

    def _token(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        expected = {
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        }
        if form != expected:
            return json_reply(
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
                400,
            )
        token = f"ya29.goodwill-access-{len(self.access_tokens) + 1}"
        self.access_tokens.add(token)
        return json_reply(
            {
                "access_token": token,
                "expires_in": 3599,
                "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
                "token_type": "Bearer",
            }
        )

    def _insert(self, request: Request) -> Reply:
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.access_tokens:
            return json_reply(
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "errors": [{"reason": "authError"}],
                    }
                },
                401,
            )
        snippet = json.loads(request.body)["snippet"]
        thread = next((t for t in self.threads if t["id"] == snippet["parentId"]), None)
        if thread is None:
            return json_reply({"error": {"code": 404, "message": "parent not found"}}, 404)
        comment = self.reply_comment(thread, snippet["textOriginal"])
        comment["snippet"]["authorChannelId"] = {"value": CHANNEL}
        comment["snippet"]["authorDisplayName"] = "@brightloaf"
        self.replies.setdefault(thread["id"], []).append(comment)
        self.inserted.append(comment)
        return json_reply(comment)

    def _comments(self, request: Request) -> Reply:
        replies = self.replies.get(request.arg("parentId") or "", [])
        size = int(request.arg("maxResults") or 20)
        offset = int(request.arg("pageToken") or 0)
        body: dict[str, Any] = {
            "kind": "youtube#commentListResponse",
            "items": replies[offset : offset + size],
        }
        if offset + size < len(replies):
            body["nextPageToken"] = str(offset + size)
        return json_reply(body)

    def add(self, count: int, text: str = "bread talk") -> list[str]:
        new = [self.thread(f"{text} {i}") for i in range(count)]
        self.threads.extend(new)
        return [t["id"] for t in new]

    def add_html(self, html: str) -> str:
        thread = self.thread(html)
        self.threads.append(thread)
        return str(thread["id"])

    def add_old(self) -> str:
        thread = self.thread("ancient", at=self.clock - 40 * 86400)
        self.threads.append(thread)
        return str(thread["id"])

    def add_malformed(self) -> None:
        no_date = self.thread("no date")
        no_date["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = "soon"
        no_date["at"] = self.clock
        self.threads.append(no_date)
        empty = self.thread("x")
        empty["snippet"]["topLevelComment"] = None
        empty["at"] = self.tick()
        self.threads.append(empty)

    def rate_limited(self, wait: int) -> Reply:
        return json_reply(
            {"error": {"code": 429, "message": "Too many requests", "errors": []}},
            429,
            {"Retry-After": str(wait)},
        )

    def handle(self, request: Request) -> Reply | None:
        if request.path == "/oauth/token" and request.method == "POST":
            return self._token(request)
        if request.headers.get("X-Goog-Api-Key") != API_KEY:
            return json_reply(load("youtube", "error-400-key.json"), 400)
        if request.path == "/youtube/v3/comments":
            return self._insert(request) if request.method == "POST" else self._comments(request)
        if request.path != "/youtube/v3/commentThreads":
            return json_reply({"error": {"code": 404, "message": "Not Found"}}, 404)
        if request.arg("allThreadsRelatedToChannelId") != CHANNEL or request.arg("order") != "time":
            return json_reply({"error": {"code": 400, "message": "bad filter"}}, 400)
        threads = sorted(self.threads, key=_published, reverse=True)
        if self.ignore_cursor_once:  # there is no cursor parameter: replay the first page
            self.ignore_cursor_once = False
            offset = 0
        else:
            offset = int(request.arg("pageToken") or 0)
        size = int(request.arg("maxResults") or 20)
        page = threads[offset : offset + size]
        body = dict(self.envelope)
        body["items"] = [{k: v for k, v in t.items() if k != "at"} for t in page]
        body["pageInfo"] = {"totalResults": len(page), "resultsPerPage": size}
        body["nextPageToken"] = str(offset + size) if offset + size < len(threads) else None
        if body["nextPageToken"] is None:
            del body["nextPageToken"]
        return json_reply(body)


def _published(thread: dict[str, Any]) -> float:
    if "at" in thread:
        return float(thread["at"])
    snippet = thread["snippet"]["topLevelComment"]["snippet"]
    return datetime.fromisoformat(snippet["publishedAt"].replace("Z", "+00:00")).timestamp()


class BusyThreadsYouTubeFake(YouTubeFake):
    """Every batch of new comments arrives as one busy thread: more replies than the five a
    thread carries and than one page of ``comments.list`` holds, so the contract suite runs
    the connector's reply paging too (a single item stays a plain thread)."""

    def add(self, count: int, text: str = "bread talk") -> list[str]:
        if count < 2:
            return super().add(count, text)
        thread_id, replies = self.add_thread_with_replies(100 + count)
        return [thread_id, *replies]
