"""The demo world: Brightloaf, a fictional bakery-café chain, its competitors and a month of posts.

Everything here is invented: the brand, the people, their handles and every address (all on
``.example`` hosts). ``posts.jsonl`` holds about 390 hand-written posts in the post format, spread
over the 30 days before :data:`ANCHOR`; :func:`demo_posts` moves them so that the newest one is
five minutes old, keeping the spacing between them (a reply still comes 10 minutes after its
question, a storm still happens on a Saturday night three weeks ago).

What the month contains, so a demo can point at it:

- questions to the brand (hours, gluten, allergens, refunds, app login), many of them naming
  Brightloaf without tagging it, some answered within minutes, some after a day, some never;
- complaints: a Halloween-storm night of late deliveries, the app 4.2 login loop, a double
  charge, rude staff, wrong orders, a viral sarcastic "doorstop" loaf;
- detractors: Marcus (late delivery, recovered), Gareth (doorstop, grudgingly recovered), Dana
  (double charge, not recovered, no answer since);
- advocates: Ana (Mastodon and Bluesky, defends the brand), Tom (X, shares and defends), Priya (a
  creator whose ranking video goes viral), plus a staff member's personal account;
- suggestions that the brand acts on (the dark rye comes back, plant milks become free);
- Crumbly & Co (a new bread subscription that misses deliveries) and Oven Republic (a Lisbon
  opening and an allergen recall); industry news, recipes and job ads (which the industry topic
  excludes with NOT);
- retweets, copy-paste near-duplicates, crypto-giveaway and promo spam from bot accounts;
- English, Spanish, French, German, Portuguese, Italian, Dutch, Japanese, Arabic and Hindi; about
  half the posts carry a ``lang``, the rest are left to detection.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, Final, TypedDict

__all__ = ["ANCHOR", "BRAND", "NEWEST_AGE", "TOPICS", "DemoTopic", "demo_posts"]

#: The moment the hand-written month ends; ``posts.jsonl`` is dated in the 30 days before it.
ANCHOR: Final = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

#: How old the newest post is after :func:`demo_posts` has moved the month to ``now``.
NEWEST_AGE: Final = timedelta(minutes=5)

_DATA_FILE = "posts.jsonl"


class DemoTopic(TypedDict):
    name: str
    kind: str  # a goodwill.domain.TopicKind value
    query: str


BRAND: Final[dict[str, Any]] = {
    "workspace": "Brightloaf (demo)",
    "name": "Brightloaf",
    "site": "brightloaf.example",
    # author.handle of the brand's own accounts, exactly as they appear in the posts
    "handles": [
        "brightloaf",
        "brightloaf@mastodon.example",
        "brightloaf.example",
        "Brightloaf_Team",
        "blog.brightloaf.example",
    ],
    # the same, per network (the X and YouTube accounts share the handle "brightloaf")
    "accounts": [
        {"source": "x", "handle": "brightloaf"},
        {"source": "mastodon", "handle": "brightloaf@mastodon.example"},
        {"source": "bluesky", "handle": "brightloaf.example"},
        {"source": "reddit", "handle": "Brightloaf_Team"},
        {"source": "youtube", "handle": "brightloaf"},
        {"source": "rss", "handle": "blog.brightloaf.example"},
    ],
}

TOPICS: Final[list[DemoTopic]] = [
    {
        "name": "Brightloaf",
        "kind": "brand",
        "query": (
            'Brightloaf OR "Bright Loaf" OR ブライトローフ OR @brightloaf OR #brightloaf'
            " OR site:brightloaf.example"
        ),
    },
    {
        "name": "Crumbly & Co",
        "kind": "competitor",
        "query": (
            '"Crumbly & Co" OR "Crumbly and Co" OR CrumblyCo OR @crumblyco OR "Crumb Club"'
            " OR #crumbclub OR author:crumblyco OR site:crumbly.example"
        ),
    },
    {
        "name": "Oven Republic",
        "kind": "competitor",
        "query": (
            '"Oven Republic" OR OvenRepublic OR @ovenrepublic OR #ovenrepublic'
            " OR author:ovenrepublic OR author:ovenrepublic.example OR site:ovenrepublic.example"
        ),
    },
    {
        "name": "Bakery delivery & sourdough",
        "kind": "industry",
        "query": (
            '(((sourdough OR "artisan bread" OR bak*) NEAR/6 (deliver* OR subscription* OR app'
            " OR apps)) OR (flour NEAR/4 pric*)) NOT (recipe* OR job* OR hiring)"
        ),
    },
]


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[dict[str, Any], ...], datetime]:
    text = resources.files(__name__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    posts = tuple(json.loads(line) for line in text.splitlines() if line.strip())
    newest = max(datetime.fromisoformat(p["created_at"]) for p in posts)
    return posts, newest


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def demo_posts(now: datetime | None = None) -> list[dict[str, Any]]:
    """The demo posts (fresh copies), moved in time so the newest is five minutes before ``now``.

    ``now`` defaults to the current time; a naive ``now`` is taken as UTC. Each post keeps the
    time zone it was written in (a Tokyo post stays at +09:00) and the spacing to every other post.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    posts, newest = _load()
    shift = (now - NEWEST_AGE) - newest
    out: list[dict[str, Any]] = []
    for post in posts:
        item = copy.deepcopy(post)
        item["created_at"] = _iso(datetime.fromisoformat(item["created_at"]) + shift)
        out.append(item)
    return out
