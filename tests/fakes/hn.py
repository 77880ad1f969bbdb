"""The Algolia HN search API (``/api/v1/search_by_date``), as documented at hn.algolia.com/api."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from goodwill.sources.hn import HackerNewsSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

_FILTER = re.compile(r"^(created_at_i)(>=|<=|>|<|=)(\d+)$")


class HnFake(ProviderFake):
    kind = "hn"
    source = HackerNewsSource

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        page = load("hn", "search_by_date.json")
        self.comment_template, self.story_template = page["hits"]
        self.envelope = {k: v for k, v in page.items() if k != "hits"}
        self.hits: list[dict[str, Any]] = []
        self.next_id = 50_000_000

    def config(self) -> dict[str, Any]:
        return {"query": "bread", "api_url": self.server.url("/api/v1"), "page_size": 7}

    def _hit(self, text: str, at: int | None = None, story: bool = False) -> dict[str, Any]:
        self.next_id += 1
        at = self.tick() if at is None else at
        hit = self.clone(self.story_template if story else self.comment_template)
        hit["objectID"] = str(self.next_id)
        hit["created_at_i"] = at
        hit["created_at"] = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if story:
            hit["title"] = text
            hit["story_id"] = self.next_id
        else:
            hit["comment_text"] = text
        return hit

    def add(self, count: int, text: str = "bread talk") -> list[str]:
        new = [self._hit(f"{text} {i}", story=i % 3 == 0) for i in range(count)]
        self.hits.extend(new)
        return [h["objectID"] for h in new]

    def add_same_second(self, count: int) -> list[str]:
        """Items sharing one created_at_i, as busy threads produce."""
        at = self.tick()
        new = [self._hit(f"same second {i}", at=at) for i in range(count)]
        self.hits.extend(new)
        return [h["objectID"] for h in new]

    def add_html(self, html: str) -> str:
        hit = self._hit(html)
        self.hits.append(hit)
        return str(hit["objectID"])

    def add_old(self) -> str:
        hit = self._hit("ancient bread", at=self.clock - 40 * 86400)
        self.hits.append(hit)
        return str(hit["objectID"])

    def add_malformed(self) -> None:
        hit = self._hit("")
        hit["comment_text"] = None  # deleted comments come back like this
        self.hits.append(hit)
        broken = self._hit("no id")
        del broken["objectID"]
        self.hits.append(broken)

    def rate_limited(self, wait: int) -> Reply:
        # Algolia documents a plain 429; we honour Retry-After when a proxy adds it.
        return json_reply(
            {"message": "Too many requests", "status": 429}, 429, {"Retry-After": str(wait)}
        )

    def handle(self, request: Request) -> Reply | None:
        if request.path != "/api/v1/search_by_date":
            return json_reply({"message": "Not Found", "status": 404}, 404)
        hits = sorted(self.hits, key=lambda h: (_at(h), str(h.get("objectID", ""))), reverse=True)
        if self.ignore_cursor_once:
            self.ignore_cursor_once = False
        else:
            for clause in (request.arg("numericFilters") or "").split(","):
                match = _FILTER.match(clause.strip())
                if clause and not match:
                    return json_reply(load("hn", "error-400.json"), 400)
                if match:
                    op, value = match.group(2), int(match.group(3))
                    hits = [h for h in hits if _compare(_at(h), op, value)]
        tags = request.arg("tags") or ""
        if tags == "story" or tags == "comment":
            hits = [h for h in hits if tags in h.get("_tags", [])]
        per_page = int(request.arg("hitsPerPage") or 20)
        page = int(request.arg("page") or 0)
        pages = (len(hits) + per_page - 1) // per_page
        body = dict(self.envelope)
        body.update(
            hits=hits[page * per_page : (page + 1) * per_page],
            nbHits=len(hits),
            nbPages=pages,
            page=page,
            hitsPerPage=per_page,
            query=request.arg("query") or "",
        )
        return json_reply(body)


def _at(hit: dict[str, Any]) -> int:
    value = hit.get("created_at_i")
    return value if isinstance(value, int) else 0


def _compare(left: int, op: str, right: int) -> bool:
    return {
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
        "=": left == right,
    }[op]
