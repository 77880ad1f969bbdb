"""YouTube: comments on a channel's videos (or one video), from the Data API v3, and replies
posted as the brand channel through OAuth.

``commentThreads.list`` with ``order=time`` answers newest thread first, paged with
``pageToken``, each thread with its top-level comment and at most five replies; a thread with
more (``totalReplyCount``) has all of them read with ``comments.list?parentId=``. Like Reddit's
listings it has no "since" parameter, so each poll walks back from the newest until it reaches
the newest time seen before (less an overlap, skipping ids already seen there) and stores what
is new with the new cursor in one go.

Quota, not request rate, is YouTube's limit: 10,000 units a day per project, one unit per page
read. A ``quotaExceeded`` answer is turned into ``RateLimited`` until the quota resets (midnight
Pacific time).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import orjson

from goodwill.pipeline.sanitise import html_to_text
from goodwill.sources.api import JsonApi
from goodwill.sources.base import (
    CanReply,
    ConfigError,
    Page,
    PollingSource,
    RateLimited,
    SourceError,
)
from goodwill.sources.config import (
    backfill_since,
    number,
    optional_number,
    optional_text,
    reject_unknown,
    required_text,
    url,
)
from goodwill.sources.ratelimit import ResetStyle

__all__ = ["API_URL", "YouTubeSource"]

API_URL: Final = "https://www.googleapis.com/youtube/v3"
MAX_PAGES: Final = 10
OVERLAP_S: Final = 600.0
MAX_RECENT: Final = 2000
MAX_REPLY_PAGES: Final = 5
"""Pages of 100 replies read for one thread per poll (one quota unit each)."""
TOKEN_URL: Final = "https://oauth2.googleapis.com/token"  # noqa: S105 (an address)
PACIFIC: Final = ZoneInfo("America/Los_Angeles")
_VIDEO_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class YouTubeSource(PollingSource, CanReply):
    """YouTube comments on the brand channel's videos (or one video), Data API v3."""

    kind: ClassVar[str] = "youtube"
    default_interval: ClassVar[float] = 900.0
    secret_fields: ClassVar[frozenset[str]] = frozenset(
        {"api_key", "client_secret", "refresh_token"}
    )
    target_key: ClassVar[str] = "channel_id"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(
            config,
            cls.kind,
            {
                "channel_id",
                "video_id",
                "api_key",
                "interval",
                "page_size",
                "backfill_hours",
                "api_url",
                "client_id",
                "client_secret",
                "refresh_token",
                "token_url",
            },
        )
        channel = optional_text(config, "channel_id", 64)
        video = optional_text(config, "video_id", 64)
        if channel is not None and not (channel.startswith("UC") and len(channel) == 24):
            raise ConfigError(f"channel_id: {channel!r} is not a channel id (UC + 22 characters)")
        if video is not None and not (
            len(video) == 11 and video.replace("-", "").replace("_", "").isalnum()
        ):
            raise ConfigError(f"video_id: {video!r} is not a video id (11 characters)")
        if not channel and not video:
            raise ConfigError("channel_id: required (or video_id for one video)")
        oauth = {
            key: optional_text(config, key, 2000)
            for key in ("client_id", "client_secret", "refresh_token")
        }
        if any(oauth.values()) and not all(oauth.values()):
            raise ConfigError(
                "client_id, client_secret and refresh_token: give all three to reply "
                "(docs/sources/youtube.md), or none"
            )
        return {
            "channel_id": channel,
            "video_id": video,
            "api_key": required_text(
                config, "api_key", "a Google API key (docs/sources/youtube.md)"
            ),
            "interval": number(config, "interval", cls.default_interval, minimum=60),
            "page_size": int(number(config, "page_size", 100, minimum=1, maximum=100)),
            "backfill_hours": optional_number(config, "backfill_hours"),
            "api_url": url(config, "api_url", API_URL),
            **oauth,
            "token_url": url(config, "token_url", TOKEN_URL),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The key goes in a header, never in a URL that error messages could show.
        self.api = JsonApi(
            self.http,
            self.config["api_url"],
            ResetStyle.GENERIC,
            provider="YouTube",
            headers={"X-Goog-Api-Key": self.config["api_key"]},
        )

    def rate_limit_state(self) -> dict[str, Any] | None:
        return self.api.rate_limit

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        since = cursor.get("since")
        if not isinstance(since, int | float):
            since = backfill_since(self.config, self.backfill).timestamp()
        raw_recent = cursor.get("recent")
        recent: dict[str, float] = {}
        if isinstance(raw_recent, Mapping):
            recent = {str(k): float(v) for k, v in raw_recent.items() if isinstance(v, int | float)}
        params: dict[str, Any] = {
            "part": "snippet,replies",
            "order": "time",
            "textFormat": "html",
            "maxResults": self.config["page_size"],
        }
        if self.config["video_id"]:
            params["videoId"] = self.config["video_id"]
        else:
            params["allThreadsRelatedToChannelId"] = self.config["channel_id"]
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        newest = float(since)
        token: str | None = None
        for page_no in range(MAX_PAGES):
            query = dict(params, pageToken=token) if token else params
            body = await self._get("/commentThreads", query)
            items = body.get("items") if isinstance(body, Mapping) else None
            if not isinstance(items, list):
                raise SourceError("YouTube answered commentThreads without a list of items")
            reached_old = False
            for number_, thread in enumerate(items, start=1):
                where = f"page {page_no + 1} thread {number_}"
                try:
                    found = self._thread(thread)
                except ValueError as exc:
                    problems.append(f"{where}: {exc}; skipped")
                    continue
                if self._has_more_replies(thread, found) and found[0][1] >= since - OVERLAP_S:
                    found += await self._more_replies(found, problems)
                for post, at in found:
                    if at < since - OVERLAP_S:
                        reached_old = reached_old or post.get("in_reply_to") is None
                        continue
                    if post["id"] in recent:
                        continue
                    recent[post["id"]] = at
                    newest = max(newest, at)
                    posts.append(post)
            token = body.get("nextPageToken") if isinstance(body, Mapping) else None
            if reached_old or not isinstance(token, str) or not token or not items:
                break
        horizon = newest - OVERLAP_S
        kept = sorted(((t, i) for i, t in recent.items() if t >= horizon), reverse=True)
        new_cursor = {"since": newest, "recent": {i: t for t, i in kept[:MAX_RECENT]}}
        return Page(posts=posts, cursor=new_cursor, problems=problems)

    @staticmethod
    def _has_more_replies(thread: Mapping[str, Any], found: list[Any]) -> bool:
        total = thread["snippet"].get("totalReplyCount")
        return isinstance(total, int) and total > len(found) - 1

    async def _more_replies(
        self, found: list[tuple[dict[str, Any], float]], problems: list[str]
    ) -> list[tuple[dict[str, Any], float]]:
        """The thread's replies beyond the five it came with (``comments.list?parentId``)."""
        thread_id = str(found[0][0]["id"])
        have = {str(post["id"]) for post, _ in found}
        out: list[tuple[dict[str, Any], float]] = []
        params: dict[str, Any] = {
            "part": "snippet",
            "parentId": thread_id,
            "textFormat": "html",
            "maxResults": 100,
        }
        token: str | None = None
        for _ in range(MAX_REPLY_PAGES):
            body = await self._get("/comments", dict(params, pageToken=token) if token else params)
            items = body.get("items") if isinstance(body, Mapping) else None
            if not isinstance(items, list):
                raise SourceError("YouTube answered comments without a list of items")
            for number_, comment in enumerate(items, start=1):
                try:
                    post, at = self._comment(comment, thread_id, None)
                except ValueError as exc:
                    problems.append(f"thread {thread_id} reply {number_}: {exc}; skipped")
                    continue
                if post["id"] not in have:
                    have.add(post["id"])
                    out.append((post, at))
            token = body.get("nextPageToken")
            if not isinstance(token, str) or not token or not items:
                return out
        problems.append(
            f"thread {thread_id} has more than {MAX_REPLY_PAGES * 100} replies; the rest were "
            "not read"
        )
        return out

    # -- replying ------------------------------------------------------------------------------

    async def reply(self, in_reply_to: str, text: str) -> dict[str, Any]:
        """Reply as the brand channel: ``comments.insert`` under the thread's top-level comment,
        with an access token fresh from the stored refresh token (scope ``youtube.force-ssl``).

        Not retried: comments.insert has no idempotency key, and a reply posted twice is worse
        than one that failed and says so.
        """
        if not self.config["refresh_token"]:
            raise SourceError(
                "replying needs client_id, client_secret and refresh_token of the brand "
                "channel (docs/sources/youtube.md)"
            )
        if not text.strip():
            raise SourceError("the reply is empty")
        if len(text) > 10_000:
            raise SourceError(
                f"a YouTube comment has at most 10,000 characters; this has {len(text)}"
            )
        # YouTube threads are one level deep: a reply to a reply goes under the top comment.
        parent = in_reply_to.split(".", 1)[0]
        if not parent or not all(c in _VIDEO_CHARS for c in parent):
            raise SourceError(f"{in_reply_to!r} is not a YouTube comment id")
        token = await self._access_token()
        comment = await self.api.request(
            "POST",
            "/comments",
            params={"part": "snippet"},
            json={"snippet": {"parentId": parent, "textOriginal": text}},
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            post, _ = self._comment(comment, parent, None)
        except ValueError as exc:
            raise SourceError(f"YouTube accepted the reply but answered oddly: {exc}") from None
        post["is_own"] = True
        return post

    async def _access_token(self) -> str:
        """A short-lived access token from the refresh token (Google's refresh tokens do not
        rotate, so nothing needs to be stored back)."""
        # Its own client: the API key has no business at the token endpoint.
        google = JsonApi(self.http, self.config["token_url"], ResetStyle.GENERIC, provider="Google")
        answer = await google.request(
            "POST",
            "",
            data={
                "grant_type": "refresh_token",
                "client_id": self.config["client_id"],
                "client_secret": self.config["client_secret"],
                "refresh_token": self.config["refresh_token"],
            },
            retry=True,
        )
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str) or not token:
            raise SourceError("Google's token endpoint answered without an access_token")
        return token

    async def _get(self, path: str, params: Mapping[str, Any]) -> Any:
        try:
            return await self.api.request("GET", path, params=params)
        except SourceError as exc:
            response = self.api.last_response
            if response is not None and response.status_code == 403 and _quota(response.content):
                raise RateLimited(
                    f"YouTube quota exceeded ({exc}); it resets at midnight Pacific time",
                    _until_pacific_midnight(),
                ) from exc
            raise

    def _thread(self, thread: Any) -> list[tuple[dict[str, Any], float]]:
        if not isinstance(thread, Mapping) or not isinstance(thread.get("snippet"), Mapping):
            raise ValueError("not a comment thread")
        thread_id = thread.get("id")
        if not isinstance(thread_id, str) or not thread_id:
            raise ValueError("the thread has no id")
        snippet = thread["snippet"]
        top = snippet.get("topLevelComment")
        out = [self._comment(top, thread_id, snippet.get("totalReplyCount"))]
        replies = thread.get("replies")
        if isinstance(replies, Mapping) and isinstance(replies.get("comments"), list):
            for reply in replies["comments"]:
                try:
                    out.append(self._comment(reply, thread_id, None))
                except ValueError:
                    continue  # a broken reply does not sink its thread
        return out

    def _comment(
        self, comment: Any, thread_id: str, reply_count: Any
    ) -> tuple[dict[str, Any], float]:
        if not isinstance(comment, Mapping) or not isinstance(comment.get("snippet"), Mapping):
            raise ValueError(f"thread {thread_id}: no comment in it")
        snippet = comment["snippet"]
        comment_id = comment.get("id")
        if not isinstance(comment_id, str) or not comment_id:
            raise ValueError(f"thread {thread_id}: a comment has no id")
        published = snippet.get("publishedAt")
        try:
            at = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
            if at.tzinfo is None:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"comment {comment_id}: publishedAt {published!r} is not a date"
            ) from None
        text = html_to_text(
            snippet.get("textDisplay") if isinstance(snippet.get("textDisplay"), str) else ""
        )
        if not text:
            original = snippet.get("textOriginal")
            text = original.strip() if isinstance(original, str) else ""
        if not text:
            raise ValueError(f"comment {comment_id}: no text")
        video = snippet.get("videoId")
        author_channel = snippet.get("authorChannelId")
        author_id = author_channel.get("value") if isinstance(author_channel, Mapping) else None
        name = snippet.get("authorDisplayName")
        post: dict[str, Any] = {
            "id": comment_id,
            "source": self.kind,
            "url": f"https://www.youtube.com/watch?v={video}&lc={comment_id}"
            if isinstance(video, str) and video
            else None,
            "text": text,
            "created_at": at.astimezone(UTC).isoformat(),
            "conversation_id": thread_id,
            "youtube": {"id": comment_id, **dict(snippet)},
        }
        if isinstance(author_id, str) and author_id:
            post["author"] = {
                "id": author_id,
                "handle": name if isinstance(name, str) and name.startswith("@") else None,
                "name": name if isinstance(name, str) else None,
            }
            post["is_own"] = author_id == self.config["channel_id"]
        parent = snippet.get("parentId")
        if isinstance(parent, str) and parent:
            post["in_reply_to"] = parent
        metrics: dict[str, int] = {}
        likes = snippet.get("likeCount")
        if isinstance(likes, int) and not isinstance(likes, bool) and likes >= 0:
            metrics["likes"] = likes
        if isinstance(reply_count, int) and not isinstance(reply_count, bool) and reply_count >= 0:
            metrics["replies"] = reply_count
        if metrics:
            post["metrics"] = metrics
        return post, at.timestamp()


def _quota(body: bytes) -> bool:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    errors = error.get("errors") if isinstance(error, Mapping) else None
    return isinstance(errors, list) and any(
        isinstance(e, Mapping) and e.get("reason") in ("quotaExceeded", "dailyLimitExceeded")
        for e in errors
    )


def _until_pacific_midnight(now: datetime | None = None) -> float:
    local = (now or datetime.now(UTC)).astimezone(PACIFIC)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - local).total_seconds())
