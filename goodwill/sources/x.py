"""X (Twitter) API v2: recent search, an account's mentions, and the filtered stream
(``x_stream``), with an app bearer token.

Both endpoints answer newest first and page backwards with a token; ``since_id`` bounds them
below. Each poll asks for everything after the stored ``since_id``, walks its pages, and
returns it as one page whose cursor is the newest id of the first answer (``meta.newest_id``):
a poll cut short is done again, and nothing at or below ``since_id`` can come back twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

import httpx

from goodwill.pipeline.sanitise import html_to_text
from goodwill.sources.api import JsonApi
from goodwill.sources.base import (
    CanReply,
    ConfigError,
    Page,
    SourceError,
    StreamingSource,
    UsesTopics,
)
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

__all__ = ["API_URL", "XSource"]

API_URL: Final = "https://api.x.com"
TOKEN_PATH: Final = "/2/oauth2/token"  # noqa: S105 (a path)
MAX_PAGES: Final = 10
TWEET_FIELDS: Final = (
    "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,"
    "public_metrics,lang,entities,edit_history_tweet_ids"
)
USER_FIELDS: Final = "username,name,public_metrics,verified"
RECENT_WINDOW: Final = timedelta(days=7) - timedelta(minutes=5)


class XSource(StreamingSource, UsesTopics, CanReply):
    """X (Twitter) recent search, an account's mentions, or the filtered stream (API v2)."""

    kind: ClassVar[str] = "x"
    default_interval: ClassVar[float] = 900.0
    secret_fields: ClassVar[frozenset[str]] = frozenset(
        {"bearer_token", "client_secret", "refresh_token"}
    )
    target_key: ClassVar[str] = "query"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(
            config,
            cls.kind,
            {
                "query",
                "timeline",
                "user_id",
                "bearer_token",
                "interval",
                "page_size",
                "backfill_hours",
                "api_url",
                "rule",
                "batch_seconds",
                "client_id",
                "client_secret",
                "refresh_token",
            },
        )
        timeline = choice(config, "timeline", ("search", "mentions", "stream"), "search")
        query = optional_text(config, "query", 512)
        user_id = optional_text(config, "user_id", 32)
        if timeline == "search" and not query:
            raise ConfigError("query: required, an X search query such as brightloaf -is:retweet")
        if user_id is not None and not user_id.isdigit():
            raise ConfigError(f"user_id: {user_id!r} is not a numeric X user id")
        if timeline == "mentions" and not user_id:
            raise ConfigError("user_id: required for mentions, the brand account's numeric id")
        return {
            "query": query,
            "timeline": timeline,
            "user_id": user_id,
            "bearer_token": required_text(
                config, "bearer_token", "the app's bearer token (docs/sources/x.md)", 2000
            ),
            "interval": number(config, "interval", cls.default_interval, minimum=60),
            "page_size": int(number(config, "page_size", 100, minimum=10, maximum=100)),
            "backfill_hours": optional_number(config, "backfill_hours", maximum=7 * 24),
            "api_url": url(config, "api_url", API_URL),
            "rule": optional_text(config, "rule", 1024),
            "client_id": optional_text(config, "client_id", 200),
            "client_secret": optional_text(config, "client_secret", 500),
            "refresh_token": optional_text(config, "refresh_token", 2000),
            "batch_seconds": number(config, "batch_seconds", 2, minimum=0.01, maximum=600),
        }

    @classmethod
    def streams(cls, config: Mapping[str, Any]) -> bool:
        return config.get("timeline") == "stream"

    def use_topics(self, topics: Sequence[tuple[str, str]]) -> None:
        self.topics[:] = topics

    def stream(self, cursor: Mapping[str, Any]) -> AsyncIterator[Page]:
        """The filtered stream, its rules synced first (docs/sources/x.md)."""
        from goodwill.sources.x_stream import XStream

        return XStream(self).pages(cursor)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = JsonApi(
            self.http,
            self.config["api_url"],
            ResetStyle.X,
            provider="X",
            headers={"Authorization": f"Bearer {self.config['bearer_token']}"},
        )
        self.topics: list[tuple[str, str]] = []  # (name, query), from the listener
        self._rotated: dict[str, str] = {}

    # -- replying ------------------------------------------------------------------------------

    def rotated_secrets(self) -> dict[str, str]:
        return dict(self._rotated)

    async def reply(self, in_reply_to: str, text: str) -> dict[str, Any]:
        """Reply as the brand account: ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``,
        with a user-context OAuth 2.0 access token from the stored refresh token (scopes
        ``tweet.read tweet.write users.read offline.access``). Not retried: X has no
        idempotency key for posts."""
        c = self.config
        if not (c["client_id"] and c["refresh_token"]):
            raise SourceError(
                "replying needs client_id and refresh_token of the brand account's OAuth 2.0 "
                "authorisation (docs/sources/x.md)"
            )
        if not in_reply_to.isdigit():
            raise SourceError(f"{in_reply_to!r} is not an X post id")
        if not text.strip():
            raise SourceError("the reply is empty")
        auth = {"Authorization": f"Bearer {await self._user_token()}"}
        me = await self.api.request("GET", "/2/users/me", headers=auth)
        user = me.get("data") if isinstance(me, Mapping) else None
        if not isinstance(user, Mapping) or not isinstance(user.get("id"), str):
            raise SourceError("X did not say which account the token belongs to")
        answer = await self.api.request(
            "POST",
            "/2/tweets",
            json={"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to}},
            headers=auth,
        )
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise SourceError("X accepted the reply but did not say its id")
        tweet = {
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "author_id": user["id"],
            "referenced_tweets": [{"type": "replied_to", "id": in_reply_to}],
            **data,
        }
        post = self.to_post(tweet, {str(user["id"]): user})
        post["is_own"] = True
        return post

    async def _user_token(self) -> str:
        """A user access token from the refresh token. X answers with a new refresh token and
        the old one stops working: it is kept for the caller to store (``rotated_secrets``)."""
        c = self.config
        form = {
            "grant_type": "refresh_token",
            "refresh_token": c["refresh_token"],
            "client_id": c["client_id"],
        }
        auth = httpx.BasicAuth(c["client_id"], c["client_secret"]) if c["client_secret"] else None
        # Its own client: the app's bearer token has no business at the token endpoint.
        oauth = JsonApi(self.http, c["api_url"], ResetStyle.X, provider="X")
        answer = await oauth.request("POST", TOKEN_PATH, data=form, auth=auth)
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str) or not token:
            raise SourceError("X's token endpoint answered without an access_token")
        fresh = answer.get("refresh_token")
        if isinstance(fresh, str) and fresh and fresh != c["refresh_token"]:
            self._rotated["refresh_token"] = fresh
            c["refresh_token"] = fresh
        return token

    def rate_limit_state(self) -> dict[str, Any] | None:
        return self.api.rate_limit

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        c = self.config
        if c["timeline"] == "mentions":
            path, page_param = f"/2/users/{c['user_id']}/mentions", "pagination_token"
            return await self.collect(path, page_param, {}, cursor)
        if c["timeline"] == "stream":
            # Outside the listener (`listen --once`, `sources test`): the stream's catch-up.
            from goodwill.sources.x_stream import XStream

            return await XStream(self).catch_up_page(cursor)
        return await self.search(c["query"], cursor)

    async def search(self, query: str, cursor: Mapping[str, Any]) -> Page:
        """Recent search for ``query``, everything after the cursor's ``since_id``."""
        return await self.collect("/2/tweets/search/recent", "next_token", {"query": query}, cursor)

    async def collect(
        self, path: str, page_param: str, extra: Mapping[str, Any], cursor: Mapping[str, Any]
    ) -> Page:
        raw_since = cursor.get("since_id")
        since_id = str(raw_since) if isinstance(raw_since, str) and raw_since.isdigit() else None
        c = self.config
        params: dict[str, Any] = {
            "max_results": c["page_size"],
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
            **extra,
        }
        if since_id:
            params["since_id"] = since_id
        else:
            start = max(backfill_since(c, self.backfill), datetime.now(UTC) - RECENT_WINDOW)
            params["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        newest = since_id
        seen: set[str] = set()
        token: str | None = None
        for page_no in range(MAX_PAGES):
            query = dict(params, **{page_param: token}) if token else params
            body = await self.api.request("GET", path, params=query)
            if not isinstance(body, Mapping):
                raise SourceError(f"X answered {path} without a JSON object")
            for error in body.get("errors") or []:
                if isinstance(error, Mapping):
                    problems.append(f"X reported: {error.get('detail') or error.get('title')}")
            data = body.get("data") or []
            if not isinstance(data, list):
                raise SourceError(f"X answered {path} with data that is not a list")
            users = users_of(body.get("includes"))
            for number_, tweet in enumerate(data, start=1):
                where = f"page {page_no + 1} tweet {number_}"
                try:
                    post = self.to_post(tweet, users)
                except ValueError as exc:
                    problems.append(f"{where}: {exc}; skipped")
                    continue
                if since_id is not None and not newer(post["id"], since_id):
                    continue  # a server that ignored since_id
                if post["id"] in seen:
                    continue
                seen.add(post["id"])
                if newest is None or newer(post["id"], newest):
                    newest = post["id"]
                posts.append(post)
            meta = body.get("meta") if isinstance(body.get("meta"), Mapping) else {}
            token = meta.get("next_token") if isinstance(meta, Mapping) else None
            if not isinstance(token, str) or not token or not data:
                break
        else:
            problems.append(
                f"more than {MAX_PAGES} pages were waiting; the oldest were not read "
                "(poll more often)"
            )
        new_cursor = {**cursor, "since_id": newest} if newest else dict(cursor)
        return Page(posts=posts, cursor=new_cursor, problems=problems)

    def to_post(self, tweet: Any, users: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        if not isinstance(tweet, Mapping):
            raise ValueError("not an object")
        tweet_id = tweet.get("id")
        if not isinstance(tweet_id, str) or not tweet_id.isdigit():
            raise ValueError("no id")
        created = tweet.get("created_at")
        if not isinstance(created, str) or not created:
            raise ValueError(f"{tweet_id}: no created_at")
        try:
            datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{tweet_id}: created_at {created[:40]!r} is not a date") from None
        # X sends text with &amp; &lt; &gt; escaped: decoded once, any markup dropped.
        raw_text = tweet.get("text")
        text = html_to_text(raw_text) if isinstance(raw_text, str) else ""
        if not text:
            raise ValueError(f"{tweet_id}: no text")
        author_id = tweet.get("author_id")
        user = users.get(str(author_id)) if author_id else None
        username = user.get("username") if user else None
        post: dict[str, Any] = {
            "id": tweet_id,
            "source": self.kind,
            "url": f"https://x.com/{username or 'i/web'}/status/{tweet_id}",
            "text": text,
            "created_at": created,
            "x": dict(tweet),
        }
        if isinstance(author_id, str) and author_id:
            profile: Mapping[str, Any] = user or {}
            counts = profile.get("public_metrics")
            followers = counts.get("followers_count") if isinstance(counts, Mapping) else None
            name = profile.get("name")
            post["author"] = {
                "id": author_id,
                "handle": f"@{username}" if isinstance(username, str) else None,
                "name": name if isinstance(name, str) else None,
                "followers": followers if isinstance(followers, int) and followers >= 0 else None,
            }
            post["is_own"] = author_id == self.config["user_id"]
            if user:
                post["x_author"] = dict(user)
        for ref in tweet.get("referenced_tweets") or []:
            if isinstance(ref, Mapping) and ref.get("type") == "replied_to" and ref.get("id"):
                post["in_reply_to"] = str(ref["id"])
        if isinstance(tweet.get("conversation_id"), str):
            post["conversation_id"] = tweet["conversation_id"]
        if isinstance(tweet.get("lang"), str) and tweet["lang"] not in ("und", "qme", "zxx"):
            post["lang"] = tweet["lang"]
        metrics = tweet.get("public_metrics")
        if isinstance(metrics, Mapping):
            post["metrics"] = {
                k: v
                for k, v in (
                    ("likes", metrics.get("like_count")),
                    ("shares", _sum(metrics.get("retweet_count"), metrics.get("quote_count"))),
                    ("replies", metrics.get("reply_count")),
                )
                if isinstance(v, int) and v >= 0
            }
        return post


def _sum(*values: Any) -> int | None:
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return sum(numbers) if numbers else None


def users_of(includes: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(includes, Mapping) or not isinstance(includes.get("users"), list):
        return {}
    return {str(u["id"]): u for u in includes["users"] if isinstance(u, Mapping) and u.get("id")}


def newer(a: str, b: str) -> bool:
    return (len(a), a) > (len(b), b)
