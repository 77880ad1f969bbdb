"""Hacker News stories and comments, from the public Algolia search API (``search_by_date``).

The cursor is the ``created_at_i`` (Unix seconds) of the newest item seen, with the ids seen at
that second. Each poll reads one fixed window ``since <= created_at_i <= until`` page by page,
``until`` being the moment the window opened, so items that arrive meanwhile cannot shift the
pages under us; the window's progress (its page) is stored with every page, so a restart goes
on where it stopped. Items at the window's lower edge are asked for again (``>=``) and dropped
by id, so one arriving in the same second as the last one seen is not lost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from goodwill.pipeline.sanitise import html_to_text
from goodwill.sources.api import JsonApi
from goodwill.sources.base import Page, PollingSource, SourceError
from goodwill.sources.config import (
    backfill_since,
    choice,
    number,
    optional_number,
    reject_unknown,
    required_text,
    url,
)
from goodwill.sources.ratelimit import ResetStyle

__all__ = ["API_URL", "HackerNewsSource"]

API_URL: Final = "https://hn.algolia.com/api/v1"
ITEM_URL: Final = "https://news.ycombinator.com/item?id="
TAGS: Final = {"all": "(story,comment)", "stories": "story", "comments": "comment"}
MAX_HITS_PER_PAGE: Final = 1000
MAX_IDS_KEPT: Final = 500
_HIDDEN: Final = ("_highlightResult", "_snippetResult", "_rankingInfo")


class HackerNewsSource(PollingSource):
    """Hacker News stories and comments matching a search, from the Algolia HN API."""

    kind: ClassVar[str] = "hn"
    default_interval: ClassVar[float] = 300.0
    target_key: ClassVar[str] = "query"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(
            config,
            cls.kind,
            {"query", "items", "interval", "api_url", "page_size", "backfill_hours"},
        )
        return {
            "query": required_text(config, "query", "the words to search for, e.g. brightloaf"),
            "items": choice(config, "items", tuple(TAGS), "all"),
            "interval": number(config, "interval", cls.default_interval, minimum=60),
            "api_url": url(config, "api_url", API_URL),
            "page_size": int(number(config, "page_size", 100, minimum=1, maximum=1000)),
            "backfill_hours": optional_number(config, "backfill_hours"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = JsonApi(self.http, self.config["api_url"], ResetStyle.GENERIC, provider="HN")

    def rate_limit_state(self) -> dict[str, Any] | None:
        return self.api.rate_limit

    async def poll(self, cursor: Mapping[str, Any]) -> Page:
        since = _int(cursor.get("since"))
        if since is None:
            since = int(backfill_since(self.config, self.backfill).timestamp())
        ids_at_since = {str(i) for i in cursor.get("ids") or [] if isinstance(i, str | int)}
        window = cursor.get("window") if isinstance(cursor.get("window"), Mapping) else None
        until = _int(window.get("until")) if window else None
        page_no = _int(window.get("page")) if window else None
        if window is None or until is None or page_no is None or until < since:
            until, page_no = int(time.time()), 0
            newest, newest_ids = since, sorted(ids_at_since)
        else:
            newest = _int(window.get("newest")) or since
            newest_ids = [str(i) for i in window.get("newest_ids") or []]

        body = await self.api.request(
            "GET",
            "/search_by_date",
            params={
                "query": self.config["query"],
                "tags": TAGS[self.config["items"]],
                "numericFilters": f"created_at_i>={since},created_at_i<={until}",
                "hitsPerPage": self.config["page_size"],
                "page": page_no,
            },
        )
        if not isinstance(body, Mapping) or not isinstance(body.get("hits"), list):
            raise SourceError("the HN search API answered without a list of hits")
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        for number_, hit in enumerate(body["hits"], start=1):
            where = f"page {page_no} hit {number_}"
            try:
                post, at = _post(hit)
            except ValueError as exc:
                problems.append(f"{where}: {exc}; skipped")
                continue
            # The window's bounds, again: a server that ignored the filter cannot repeat items.
            if at < since or at > until or (at == since and post["id"] in ids_at_since):
                continue
            posts.append(post)
            if at > newest:
                newest, newest_ids = at, []
            if at == newest and post["id"] not in newest_ids:
                newest_ids.append(post["id"])

        pages = _int(body.get("nbPages")) or 0
        has_more = bool(body["hits"]) and page_no + 1 < pages
        if has_more:
            new_cursor: dict[str, Any] = {
                "since": since,
                "ids": sorted(ids_at_since),
                "window": {
                    "until": until,
                    "page": page_no + 1,
                    "newest": newest,
                    "newest_ids": newest_ids[-MAX_IDS_KEPT:],
                },
            }
        else:
            new_cursor = {"since": newest, "ids": sorted(newest_ids)[-MAX_IDS_KEPT:]}
            hits = _int(body.get("nbHits")) or 0
            shown = pages * self.config["page_size"]
            if pages and hits > shown:
                problems.append(
                    f"{hits} items matched but the API shows only {shown}; the older ones of "
                    "this poll were not read (poll more often, or narrow the query)"
                )
        return Page(posts=posts, cursor=new_cursor, problems=problems, has_more=has_more)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _post(hit: Any) -> tuple[dict[str, Any], int]:
    """One search hit as a post, and its ``created_at_i``; ``ValueError`` says what is wrong."""
    if not isinstance(hit, Mapping):
        raise ValueError(f"expected an object, got {type(hit).__name__}")
    object_id = hit.get("objectID")
    if not isinstance(object_id, str | int) or isinstance(object_id, bool) or not str(object_id):
        raise ValueError("no objectID")
    object_id = str(object_id)
    at = _int(hit.get("created_at_i"))
    if at is None:
        raise ValueError(f"item {object_id}: created_at_i is not a number of seconds")
    raw_tags = hit.get("_tags")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    is_comment = "comment" in tags or isinstance(hit.get("comment_text"), str)
    title = html_to_text(_text(hit.get("title")))
    if is_comment:
        text = html_to_text(_text(hit.get("comment_text")))
    else:
        body = html_to_text(_text(hit.get("story_text")))
        text = f"{title} — {body}" if title and body else title or body
    if not text:
        raise ValueError(f"item {object_id}: no title and no text")
    author = _text(hit.get("author")).strip()
    story_id = _int(hit.get("story_id"))
    parent_id = _int(hit.get("parent_id"))
    post: dict[str, Any] = {
        "id": object_id,
        "source": HackerNewsSource.kind,
        "url": ITEM_URL + object_id,
        "text": text,
        "created_at": datetime.fromtimestamp(at, UTC).isoformat(),
        "conversation_id": str(story_id) if is_comment and story_id else object_id,
        "hn": {k: v for k, v in hit.items() if k not in _HIDDEN},
    }
    if author:
        post["author"] = {"id": author, "handle": author, "name": None}
    if is_comment and parent_id is not None:
        post["in_reply_to"] = str(parent_id)
    metrics = {}
    points, comments = _int(hit.get("points")), _int(hit.get("num_comments"))
    if points is not None and points >= 0:
        metrics["likes"] = points
    if comments is not None and comments >= 0:
        metrics["replies"] = comments
    if metrics:
        post["metrics"] = metrics
    if not is_comment and title:
        post["title"] = title
    link = _text(hit.get("url")) or _text(hit.get("story_url"))
    if link.startswith(("http://", "https://")):
        post["link"] = link
    return post, at


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
