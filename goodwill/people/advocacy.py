"""The advocate score: how much a person speaks up for the brand, with its breakdown.

Four parts, each shown to the user with its count and points:

* **positive mentions**: 10 points per positive post about the workspace's topics, up to 10
  posts (100 points): repeated praise, not one happy moment.
* **defending**: 20 points per positive reply in a thread where someone else was negative
  before (the parent post, or an earlier post of the same conversation), up to 5 (100 points).
* **sharing**: 5 points per repost or copy they made of a post about the topics (up to 10), plus
  ``5 × log2(1 + shares)`` for the shares their positive posts got.
* **reach**: ``10 × log10(1 + followers)`` of their largest identity (1,000 followers: 30;
  1,000,000: 60). Reach only counts once someone has said something positive.

A person with a negative standing is never listed as an advocate, whatever the score. Pure
functions: ``goodwill.people.sync`` gathers the facts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["AdvocateFacts", "advocate_score"]

POSITIVE_POINTS, POSITIVE_CAP = 10.0, 10
DEFEND_POINTS, DEFEND_CAP = 20.0, 5
REPOST_POINTS, REPOST_CAP = 5.0, 10


@dataclass(slots=True)
class AdvocateFacts:
    """What the score is computed from, each event with its time (for "rising advocates")."""

    positive_at: list[datetime] = field(default_factory=list)
    defended_at: list[datetime] = field(default_factory=list)
    reposted_at: list[datetime] = field(default_factory=list)
    shares_received: list[tuple[datetime, int]] = field(default_factory=list)
    followers: int | None = None


def advocate_score(facts: AdvocateFacts, until: datetime | None = None) -> dict[str, Any]:
    """``{"score", "parts": {name: {"count", "points"}}}``, counting only events before
    ``until`` when given (the score as it stood then)."""

    def upto(times: list[datetime]) -> int:
        return sum(1 for t in times if until is None or t < until)

    positive = upto(facts.positive_at)
    defended = upto(facts.defended_at)
    reposts = upto(facts.reposted_at)
    shares = sum(n for t, n in facts.shares_received if until is None or t < until)
    followers = facts.followers or 0
    parts = {
        "positive_mentions": {
            "count": positive,
            "points": POSITIVE_POINTS * min(positive, POSITIVE_CAP),
        },
        "defending": {"count": defended, "points": DEFEND_POINTS * min(defended, DEFEND_CAP)},
        "sharing": {
            "count": reposts,
            "shares_received": shares,
            "points": round(
                REPOST_POINTS * min(reposts, REPOST_CAP) + 5.0 * math.log2(1 + shares), 2
            ),
        },
        "reach": {
            "followers": followers,
            "points": round(10.0 * math.log10(1 + followers), 2) if positive else 0.0,
        },
    }
    score = round(sum(float(p["points"]) for p in parts.values()), 2)
    return {"score": score, "parts": parts}
