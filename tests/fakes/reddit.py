"""Reddit's OAuth API (www.reddit.com/dev/api): the token endpoint, and listings of things
(``t1`` comments, ``t3`` posts) newest first, paged backwards with ``after``."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

import numpy as np

from goodwill.sources.reddit import RedditSource
from tests.fakes.base import ProviderFake, json_reply, load
from tests.feedserver import Reply, Request

CLIENT_ID = "p-jcoLKBynTLew"
CLIENT_SECRET = "gko_LXELoV07ZBNUXrvWZfzE3aI"
USERNAME = "brightloaf_official"
PASSWORD = "correct horse battery staple"

_TEMPLATES = {
    "new": ("subreddit_new.json", "/r/Breadit/new"),
    "comments": ("subreddit_comments.json", "/r/Breadit/comments"),
    "mentions": ("message_mentions.json", "/message/mentions"),
    "search": ("subreddit_new.json", "/search"),
}


def base36(number: int) -> str:
    return str(np.base_repr(number, 36)).lower()


class RedditFake(ProviderFake):
    kind = "reddit"
    source = RedditSource

    def __init__(self, server: Any, listing: str = "comments") -> None:
        super().__init__(server)
        self.listing = listing
        name, self.path = _TEMPLATES[listing]
        listing_body = load("reddit", name)
        self.template = listing_body["data"]["children"][0]
        self.envelope = listing_body
        self.things: list[dict[str, Any]] = []
        self.next_id = 36**6
        self.tokens_issued = 0
        self.remaining = 600.0
        self.comments_posted = 0
        self.comment_error: list[str] | None = None

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "listing": self.listing,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "api_url": self.server.url(""),
            "auth_url": self.server.url("/api/v1/access_token"),
            "page_size": 7,
        }
        if self.listing in ("new", "comments"):
            config["subreddit"] = "Breadit"
        if self.listing == "search":
            config["query"] = "brightloaf"
        if self.listing == "mentions":
            config.update(username=USERNAME, password=PASSWORD)
        return config

    def thing(self, text: str, at: int | None = None) -> dict[str, Any]:
        self.next_id += 1
        at = self.tick() if at is None else at
        thing = self.clone(self.template)
        data = thing["data"]
        data["id"] = base36(self.next_id)
        data["name"] = f"{thing['kind']}_{data['id']}"
        data["created_utc"] = data["created"] = float(at)
        if thing["kind"] == "t3":
            data["title"] = text
            data["selftext"], data["selftext_html"] = "", None
        else:
            data["body"] = text
            data["body_html"] = f'<div class="md"><p>{text}</p>\n</div>'
        return thing

    def add(self, count: int, text: str = "bread talk") -> list[str]:
        new = [self.thing(f"{text} {i}") for i in range(count)]
        self.things.extend(new)
        return [t["data"]["name"] for t in new]

    def add_html(self, html: str) -> str:
        thing = self.thing("x")
        key = "selftext_html" if thing["kind"] == "t3" else "body_html"
        thing["data"][key] = html
        if thing["kind"] == "t3":
            thing["data"]["title"] = ""
        self.things.append(thing)
        return str(thing["data"]["name"])

    def add_old(self) -> str:
        thing = self.thing("ancient", at=self.clock - 40 * 86400)
        self.things.append(thing)
        return str(thing["data"]["name"])

    def add_malformed(self) -> None:
        broken = self.thing("no date")
        broken["data"]["created_utc"] = "yesterday"
        self.things.append({**broken, "at": self.clock})
        self.tick()
        more = {"kind": "more", "data": {"count": 3, "name": "t1__", "id": "_", "children": []}}
        self.things.append({**more, "at": self.clock})

    def rate_limited(self, wait: int) -> Reply:
        return json_reply(
            {"message": "Too Many Requests", "error": 429},
            429,
            {
                "x-ratelimit-remaining": "0.0",
                "x-ratelimit-used": "600",
                "x-ratelimit-reset": str(wait),
            },
        )

    def handle(self, request: Request) -> Reply | None:
        if request.path == "/api/v1/access_token":
            return self._token(request)
        if request.headers.get("Authorization") != "bearer token-for-goodwill":
            return json_reply(load("reddit", "error-401.json"), 401)
        if request.path == "/api/comment" and request.method == "POST":
            return self._comment(request)
        if request.path != self.path:
            return json_reply({"message": "Not Found", "error": 404}, 404)
        limit = int(request.arg("limit") or 25)
        things = sorted(self.things, key=_created, reverse=True)
        after = request.arg("after")
        if self.ignore_cursor_once:
            self.ignore_cursor_once = False
            after = None
        if after:
            names = [t["data"].get("name") for t in things]
            things = things[names.index(after) + 1 :] if after in names else []
        page = [{k: v for k, v in t.items() if k != "at"} for t in things[:limit]]
        body = self.clone(self.envelope)
        body["data"]["children"] = page
        body["data"]["dist"] = len(page)
        body["data"]["after"] = page[-1]["data"]["name"] if len(things) > limit else None
        self.remaining -= 1
        return json_reply(
            body,
            headers={
                "x-ratelimit-remaining": f"{self.remaining:.1f}",
                "x-ratelimit-used": f"{600 - self.remaining:.0f}",
                "x-ratelimit-reset": "300",
            },
        )

    def _comment(self, request: Request) -> Reply:
        form = parse_qs(request.body.decode())
        self.comments_posted += 1
        if self.comment_error is not None:
            return json_reply({"json": {"errors": [self.comment_error]}})
        parent = form["thing_id"][0]
        template = load("reddit", "subreddit_comments.json")["data"]["children"][0]
        self.next_id += 1
        comment = self.clone(template)
        data = comment["data"]
        data.update(
            id=base36(self.next_id),
            name=f"t1_{base36(self.next_id)}",
            parent_id=parent,
            author=USERNAME,
            author_fullname="t2_brand",
            body=form["text"][0],
            body_html=None,
            created_utc=float(self.tick()),
        )
        return json_reply({"json": {"errors": [], "data": {"things": [comment]}}})

    def _token(self, request: Request) -> Reply:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = parse_qs(request.body.decode())
        if request.method != "POST" or request.headers.get("Authorization") != f"Basic {expected}":
            return json_reply(load("reddit", "error-401.json"), 401)
        grant = form.get("grant_type", [""])[0]
        if grant == "password":
            if form.get("username") != [USERNAME] or form.get("password") != [PASSWORD]:
                return json_reply({"error": "invalid_grant"})  # Reddit answers 200 here
        elif grant != "client_credentials":
            return json_reply({"error": "unsupported_grant_type"}, 400)
        self.tokens_issued += 1
        token = load("reddit", "access_token.json")
        token["access_token"] = "token-for-goodwill"
        return json_reply(token)


def _created(thing: dict[str, Any]) -> float:
    value = thing["data"].get("created_utc")
    if isinstance(value, int | float):
        return float(value)
    return float(thing.get("at", 0))
