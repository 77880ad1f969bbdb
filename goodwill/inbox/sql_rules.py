"""The inbox's rules (effective status, answered, SLA breach, priority score) as SQL expressions.

A support team opens the inbox every morning: reading tens of thousands of conversation rows
into Python to rank them or to sum up the metrics took seconds at 100,000 posts. These
expressions let the database filter, rank, page and aggregate instead. Each mirrors a Python
rule in ``goodwill.inbox.service`` or ``goodwill.inbox.priority`` exactly, including the
rounding (Python rounds halves to even) and the microseconds; ``tests/test_inbox_sql_rules.py``
compares both on a varied dataset. Change one, change the other.

Durations are computed as whole microseconds on both databases (PostgreSQL subtracts
timestamps; SQLite stores ``YYYY-MM-DD HH:MM:SS.ffffff`` text, read as epoch seconds plus the
six digits), so dividing by a million in Python gives exactly ``timedelta.total_seconds()``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache
from typing import TypeVar

from sqlalchemy import BigInteger, ColumnElement, String, and_, case, extract, func, literal, or_
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.expression import type_coerce

from goodwill.inbox import priority as p
from goodwill.store.inbox_tables import Conversation

__all__ = [
    "answered_at",
    "effective_status",
    "microseconds_between",
    "needs_answer_now",
    "priority_score",
    "reach_points",
    "resolved_at",
    "unanswered_breach",
]

C = Conversation
_T = TypeVar("_T")
_ColumnLike = ColumnElement[_T] | InstrumentedAttribute[_T]


def effective_status() -> ColumnElement[str]:
    """``_effective_status``: a new ask after a teammate's status reopens the conversation."""
    return case(
        (
            and_(
                C.needs_answer.is_(True),
                or_(
                    C.status.is_(None),
                    C.status_at.is_(None),
                    and_(C.last_ask_at.is_not(None), C.status_at < C.last_ask_at),
                ),
            ),
            "open",
        ),
        (C.status.is_not(None), C.status),
        (C.needs_answer.is_(True), "open"),
        else_="done",
    )


def needs_answer_now() -> ColumnElement[bool]:
    """``ConversationView.needs_answer``: it needs an answer and nobody set it aside."""
    return and_(C.needs_answer.is_(True), effective_status() == "open")


def _human_done() -> ColumnElement[bool]:
    return and_(effective_status() == "done", C.status == "done", C.status_at.is_not(None))


def answered_at() -> ColumnElement[datetime]:
    """``_answered_at``: the brand's first answer, or a teammate's "answered elsewhere"."""
    return case(
        (C.answered_at.is_not(None), C.answered_at),
        (_human_done(), C.status_at),
        else_=None,
    )


def resolved_at() -> ColumnElement[datetime]:
    """``_resolved_at``: when a teammate said done, else the brand's last post."""
    return case(
        (effective_status() != "done", None),
        (and_(C.status == "done", C.status_at.is_not(None)), C.status_at),
        else_=C.last_own_at,
    )


def microseconds_between(
    dialect: str, later: _ColumnLike[datetime | None], earlier: _ColumnLike[datetime | None]
) -> ColumnElement[int]:
    """``later - earlier`` in whole microseconds (NULL when either is NULL)."""
    if dialect == "postgresql":
        seconds = extract("epoch", later - earlier)
        return sql_cast(func.round(seconds * 1_000_000), BigInteger)

    def epoch(t: _ColumnLike[datetime | None]) -> ColumnElement[int]:
        text = type_coerce(t, String)  # SQLite keeps timestamps as text
        whole = func.strftime("%s", func.substr(text, 1, 19))
        return sql_cast(whole, BigInteger) * 1_000_000 + sql_cast(
            func.substr(text, 21, 6), BigInteger
        )

    return type_coerce(epoch(later) - epoch(earlier), BigInteger)


def unanswered_breach(now: datetime, sla_s: int) -> ColumnElement[bool]:
    """Breached and still unanswered: the first ask waited longer than the SLA until ``now``."""
    return and_(
        C.first_ask_at.is_not(None),
        C.first_ask_at < now - timedelta(seconds=sla_s),
        answered_at().is_(None),
    )


@cache
def _reach_thresholds() -> tuple[int, ...]:
    """The fewest followers that earn 1, 2, … ``REACH_MAX`` points, found by asking the Python
    rule itself (so float rounding agrees to the follower)."""

    def points(f: int) -> int:
        return min(p.REACH_MAX, round(5 * math.log10(f + 1)))

    out = []
    for k in range(1, p.REACH_MAX + 1):
        lo, hi = 0, 10**9
        while lo < hi:  # the rule only grows with the followers
            mid = (lo + hi) // 2
            if points(mid) >= k:
                hi = mid
            else:
                lo = mid + 1
        out.append(lo)
    return tuple(out)


def reach_points() -> ColumnElement[int]:
    thresholds = _reach_thresholds()
    whens = [
        (C.max_followers >= thresholds[k - 1], literal(k))
        for k in range(p.REACH_MAX, 0, -1)
        if thresholds[k - 1] > 0
    ]
    return case(*whens, else_=literal(0))


def _wait_points(now: datetime) -> ColumnElement[int]:
    """``min(WAIT_MAX, round(WAIT_PER_HOUR * hours))`` as comparisons with ``now``: the points
    reach ``k`` once the wait passes ``k - 0.5`` steps (exactly ``k - 0.5`` rounds to even)."""
    step = 3600 / p.WAIT_PER_HOUR
    whens = []
    for k in range(p.WAIT_MAX, 0, -1):
        bound = now - timedelta(seconds=(k - 0.5) * step)
        passed = C.last_ask_at <= bound if k % 2 == 0 else C.last_ask_at < bound
        whens.append((passed, literal(k)))
    return case(*whens, else_=literal(0))


def priority_score(now: datetime, sla_s: int) -> ColumnElement[int]:
    """``priority_of(...).score`` for every row, as ``Inbox._view`` computes it."""

    def flag(column: _ColumnLike[int], points: int) -> ColumnElement[int]:
        return case((column > 0, literal(points)), else_=literal(0))

    waiting = case(
        (and_(needs_answer_now(), C.last_ask_at.is_not(None)), _wait_points(now)),
        else_=literal(0),
    )
    breached = case((unanswered_breach(now, sla_s), literal(p.SLA_BREACHED)), else_=literal(0))
    return (
        flag(C.complaints, p.COMPLAINT)
        + flag(C.questions, p.QUESTION)
        + flag(C.direct_mentions, p.DIRECT_MENTION)
        + flag(C.negative, p.NEGATIVE)
        + flag(C.detractors, p.DETRACTOR)
        + flag(C.advocates, p.ADVOCATE)
        + reach_points()
        + waiting
        + breached
    )
