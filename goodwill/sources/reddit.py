"""Reddit: new posts or comments of a subreddit, search, and the account's inbox mentions.

Authentication is OAuth2 as Reddit documents it for scripts and servers: an *app-only* token
(``client_credentials``: public listings and search) or a *script* token (``password``: also the
account's inbox). Tokens live in memory only, reused until shortly before they expire.

Reddit listings are newest first and paged backwards with ``after``; their ``before`` anchor
breaks when the anchored item is deleted. So each poll walks back from the newest item until it
reaches what the cursor has seen (the newest ``created_utc`` seen, and the ids of the last ten
minutes before it, since items are indexed a little out of order), and returns everything new
as one page with the new cursor: a poll cut short is simply done again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import quote

import httpx

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
    choice,
    number,
    optional_number,
    optional_text,
    reject_unknown,
    required_text,
    url,
)
from goodwill.sources.ratelimit import ResetStyle

__all__ = ["API_URL", "AUTH_URL", "LISTINGS", "RedditSource"]

API_URL: Final = "https://oauth.reddit.com"
AUTH_URL: Final = "https://www.reddit.com/api/v1/access_token"
WEB_URL: Final = "https://www.reddit.com"
LISTINGS: Final = ("new", "comments", "search", "mentions")
MAX_PAGES: Final = 10  # Reddit shows at most 1000 items of a listing
OVERLAP_S: Final = 600.0
MAX_RECENT: Final = 2000

# (client id, user) -> (token, expires at): in memory only, never stored.
_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}


class RedditSource(PollingSource, CanReply):
    """Reddit: a subreddit's new posts or comments, a search, or the account's mentions."""

    kind: ClassVar[str] = "reddit"
    default_interval: ClassVar[float] = 300.0
    secret_fields: ClassVar[frozenset[str]] = frozenset({"client_secret", "password"})
    target_key: ClassVar[str] = "subreddit"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(
            config,
            cls.kind,
            {
                "subreddit",
                "listing",
                "query",
                "client_id",
                "client_secret",
                "username",
                "password",
                "interval",
                "page_size",
                "backfill_hours",
                "api_url",
                "auth_url",
            },
        )
        listing = choice(config, "listing", LISTINGS, "new")
        subreddit = optional_text(config, "subreddit", 100)
        if subreddit is not None:
            subreddit = subreddit.removeprefix("/").removeprefix("r/")
            if not subreddit.replace("_", "").replace("+", "").isalnum():
                raise ConfigError(f"subreddit: {subreddit!r} is not a subreddit name")
        query = optional_text(config, "query", 512)
        if listing in ("new", "comments") and not subreddit:
            raise ConfigError(f"subreddit: required for the {listing} listing, e.g. Breadit")
        if listing == "search" and not query:
            raise ConfigError("query: required for the search listing")
        username = optional_text(config, "username", 100)
        password = optional_text(config, "password", 500)
        if listing == "mentions" and not (username and password):
            raise ConfigError(
                "username and password: the mentions listing reads the account's inbox, which "
                "needs a script app's token (docs/sources/reddit.md)"
            )
        if bool(username) != bool(password):
            raise ConfigError("username and password: give both (script app) or neither")
        return {
            "subreddit": subreddit,
            "listing": listing,
            "query": query,
            "client_id": required_text(config, "client_id", "the app's client id", 100),
            "client_secret": required_text(config, "client_secret", "the app's secret", 500),
            "username": username,
            "password": password,
            "interval": number(config, "interval", cls.default_interval, minimum=60),
            "page_size": int(number(config, "page_size", 100, minimum=1, maximum=100)),
            "backfill_hours": optional_number(config, "backfill_hours"),
            "api_url": url(config, "api_url", API_URL),
            "auth_url": url(config, "auth_url", AUTH_URL),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = JsonApi(self.http, self.config["api_url"], ResetStyle.REDDIT, provider="Reddit")

    def rate_limit_state(self) -> dict[str, Any] | None:
        return self.api.rate_limit

    async def _token(self) -> str:
        c = self.config
        key = (c["auth_url"], c["client_id"], c["username"] or "")
        cached = _TOKENS.get(key)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        if c["username"]:
            form = {"grant_type": "password", "username": c["username"], "password": c["password"]}
        else:
            form = {"grant_type": "client_credentials"}
        body = await self.api.request(
            "POST",
            c["auth_url"],
            data=form,
            auth=httpx.BasicAuth(c["client_id"], c["client_secret"]),
            retry=True,  # asking for a token twice does no harm
        )
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            error = body.get("error") if isinstance(body, Mapping) else None
            raise SourceError(
                f"Reddit gave no access token ({error or 'no reason given'}): check client_id, "
                "client_secret, and for a script app the username and password"
            )
        expires = body.get("expires_in")
        lifetime = float(expires) if isinstance(expires, int | float) else 3600.0
        _TOKENS[key] = (token, time.time() + max(lifetime - 300, 60))
        return token

    async def reply(self, in_reply_to: str, text: str) -> dict[str, Any]:
        """Comment on a post (``t3_``) or a comment (``t1_``) as the script app's account
        (scope ``submit``). Not retried: Reddit has no idempotency key."""
        if not self.config["username"]:
            raise SourceError("replying needs a script app (username and password)")
        if not in_reply_to.startswith(("t1_", "t3_")) or not in_reply_to[3:].isalnum():
            raise SourceError(f"{in_reply_to!r} is not a Reddit post or comment id")
        if not text.strip():
            raise SourceError("the reply is empty")
        token = await self._token()
        body = await self.api.request(
            "POST",
            "/api/comment",
            data={"thing_id": in_reply_to, "text": text, "api_type": "json"},
            headers={"Authorization": f"bearer {token}"},
        )
        result = body.get("json") if isinstance(body, Mapping) else None
        errors = result.get("errors") if isinstance(result, Mapping) else None
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else errors
            message = (
                " ".join(str(part) for part in first) if isinstance(first, list) else str(first)
            )
            if isinstance(first, list) and first and first[0] == "RATELIMIT":
                raise RateLimited(f"Reddit refused the reply: {message}", 600.0)
            raise SourceError(f"Reddit refused the reply: {message}")
        data = result.get("data") if isinstance(result, Mapping) else None
        things = data.get("things") if isinstance(data, Mapping) else None
        if not isinstance(things, list) or not things:
            raise SourceError("Reddit accepted the reply but did not return it")
        try:
            post, _ = self._post(things[0])
        except ValueError as exc:
            raise SourceError(f"Reddit accepted the reply but answered oddly: {exc}") from None
        return post

    def _path(self) -> tuple[str, dict[str, Any]]:
        c = self.config
        params: dict[str, Any] = {"limit": c["page_size"], "raw_json": 1}
        sub = quote(c["subreddit"] or "", safe="+")
        if c["listing"] == "new":
            return f"/r/{sub}/new", params
        if c["listing"] == "comments":
            return f"/r/{sub}/comments", params
        if c["listing"] == "mentions":
            return "/message/mentions", params
        params.update(q=c["query"], sort="new", t="all", type="link")
        if c["subreddit"]:
            params["restrict_sr"] = "true"
            return f"/r/{sub}/search", params
        return "/search", params

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        since = cursor.get("since")
        if not isinstance(since, int | float):
            since = backfill_since(self.config, self.backfill).timestamp()
        raw_recent = cursor.get("recent")
        recent: dict[str, float] = {}
        if isinstance(raw_recent, Mapping):
            recent = {str(k): float(v) for k, v in raw_recent.items() if isinstance(v, int | float)}
        token = await self._token()
        path, params = self._path()
        headers = {"Authorization": f"bearer {token}"}
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        newest = float(since)
        seen_now: set[str] = set()
        after: str | None = None
        for page_no in range(MAX_PAGES):
            query = dict(params, after=after) if after else params
            body = await self.api.request("GET", path, params=query, headers=headers)
            children, after = _listing(body, path)
            reached_old = False
            for number_, child in enumerate(children, start=1):
                where = f"page {page_no + 1} item {number_}"
                try:
                    post, created = self._post(child)
                except ValueError as exc:
                    problems.append(f"{where}: {exc}; skipped")
                    continue
                if created < since - OVERLAP_S:
                    reached_old = True
                    continue
                # Within the overlap before ``since``, an item is new only if never seen: it
                # was indexed late.
                if post["id"] in recent or post["id"] in seen_now:
                    continue
                seen_now.add(post["id"])
                recent[post["id"]] = created
                newest = max(newest, created)
                posts.append(post)
            if reached_old or not after or not children:
                break
        horizon = newest - OVERLAP_S
        kept = sorted(((t, i) for i, t in recent.items() if t >= horizon), reverse=True)
        new_cursor = {"since": newest, "recent": {i: t for t, i in kept[:MAX_RECENT]}}
        return Page(posts=posts, cursor=new_cursor, problems=problems)

    def _post(self, child: Any) -> tuple[dict[str, Any], float]:
        if not isinstance(child, Mapping) or not isinstance(child.get("data"), Mapping):
            raise ValueError("not a Reddit thing (no kind and data)")
        kind, data = child.get("kind"), child["data"]
        name = data.get("name")
        if kind not in ("t1", "t3") or not isinstance(name, str) or not name.startswith(kind):
            raise ValueError(f"not a comment or a post (kind {kind!r}, name {name!r})")
        created = data.get("created_utc")
        if isinstance(created, bool) or not isinstance(created, int | float):
            raise ValueError(f"{name}: created_utc is not a number")
        if kind == "t3":
            title = html_to_text(_s(data.get("title")))
            body = html_to_text(_s(data.get("selftext_html"))) or _s(data.get("selftext")).strip()
            text = f"{title} — {body}" if title and body else title or body
            conversation: str | None = name
        else:
            text = html_to_text(_s(data.get("body_html"))) or _s(data.get("body")).strip()
            link_id = data.get("link_id")
            conversation = link_id if isinstance(link_id, str) else None
        if not text or text in ("[deleted]", "[removed]"):
            raise ValueError(f"{name}: no text (deleted or removed)")
        permalink = _s(data.get("permalink")) or _s(data.get("context"))
        author = _s(data.get("author"))
        post: dict[str, Any] = {
            "id": name,
            "source": self.kind,
            "url": WEB_URL + permalink if permalink.startswith("/") else None,
            "text": text,
            "created_at": datetime.fromtimestamp(float(created), UTC).isoformat(),
            "conversation_id": conversation,
            "reddit": dict(data),
            "subreddit": _s(data.get("subreddit")) or None,
        }
        if author and author != "[deleted]":
            post["author"] = {
                "id": _s(data.get("author_fullname")) or f"u/{author}",
                "handle": f"u/{author}",
                "name": None,
            }
            username = self.config["username"]
            post["is_own"] = bool(username) and author.casefold() == username.casefold()
        parent = data.get("parent_id")
        if kind == "t1" and isinstance(parent, str) and parent:
            post["in_reply_to"] = parent
        metrics = {}
        score, comments = data.get("score"), data.get("num_comments")
        if isinstance(score, int) and not isinstance(score, bool) and score >= 0:
            metrics["likes"] = score
        if kind == "t3" and isinstance(comments, int) and comments >= 0:
            metrics["replies"] = comments
        if metrics:
            post["metrics"] = metrics
        return post, float(created)


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _listing(body: Any, path: str) -> tuple[list[Any], str | None]:
    if not isinstance(body, Mapping) or body.get("kind") != "Listing":
        raise SourceError(f"Reddit answered {path} without a Listing")
    data = body.get("data")
    children = data.get("children") if isinstance(data, Mapping) else None
    if not isinstance(children, list):
        raise SourceError(f"Reddit answered {path} with a Listing without children")
    after = data.get("after") if isinstance(data, Mapping) else None
    return children, after if isinstance(after, str) and after else None
