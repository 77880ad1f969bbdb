"""YouTube Data API v3 ``commentThreads.list`` (developers.google.com/youtube/v3): threads of a
channel's videos, newest first with ``order=time``, ``pageToken`` paging, quota errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from goodwill.sources.youtube import YouTubeSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

API_KEY = "AIzaSyD-goodwill-test-key-0123456789abc"
CHANNEL = "UCbrightloafbakery000001"


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
        if request.headers.get("X-Goog-Api-Key") != API_KEY:
            return json_reply(load("youtube", "error-400-key.json"), 400)
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
