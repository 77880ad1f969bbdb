"""How urgent a conversation is, as a score with its reasons, so a teammate can see why.

Points add up from what the thread holds (a complaint weighs more than a question), how it feels
(negative posts), who wrote it (a detractor or an advocate, from ``goodwill.people``; reach, on a
log scale: ten times the followers is five points more) and how long the person has waited (two
points an hour, capped), plus a jump when the workspace's first-answer SLA is breached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Priority", "priority_of"]

COMPLAINT = 30
QUESTION = 20
DIRECT_MENTION = 10
NEGATIVE = 15
REACH_MAX = 25
WAIT_PER_HOUR = 2.0
WAIT_MAX = 30
SLA_BREACHED = 20
DETRACTOR = 25
ADVOCATE = 20


@dataclass(slots=True)
class Priority:
    score: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: int, reason: str) -> None:
        if points > 0:
            self.score += points
            self.reasons.append(f"{reason} (+{points})")


def priority_of(
    *,
    complaints: int,
    questions: int,
    direct_mentions: int,
    negative: int,
    max_followers: int | None,
    waiting_since: datetime | None,
    sla_breached: bool,
    now: datetime,
    detractors: int = 0,
    advocates: int = 0,
) -> Priority:
    """``waiting_since``: the unanswered ask's time, None when nobody is waiting."""
    p = Priority()
    if complaints:
        p.add(COMPLAINT, "complaint")
    if questions:
        p.add(QUESTION, "question")
    if direct_mentions:
        p.add(DIRECT_MENTION, "mentions the brand's account")
    if negative:
        p.add(NEGATIVE, "negative sentiment")
    if detractors:
        p.add(DETRACTOR, "a detractor wrote")
    if advocates:
        p.add(ADVOCATE, "an advocate wrote")
    if max_followers:
        reach = min(REACH_MAX, round(5 * math.log10(max_followers + 1)))
        p.add(reach, f"author has {max_followers:,} followers")
    if waiting_since is not None:
        hours = max(0.0, (now - waiting_since).total_seconds() / 3600)
        p.add(min(WAIT_MAX, round(WAIT_PER_HOUR * hours)), f"waiting {hours:.1f} h")
    if sla_breached:
        p.add(SLA_BREACHED, "first-answer SLA breached")
    return p
