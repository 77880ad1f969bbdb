"""What a rule can watch, its filters and parameters, validated with precise messages.

Kinds come in two families. *Post* rules (``mention``, ``author``) look at each new post as it
is stored, right after its batch. *Scheduled* rules (``volume_spike``, ``negative_spike``,
``unanswered``) look at the topic over time and run on the scheduler's tick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from goodwill.alerts.schedule import check_timezone, parse_clock
from goodwill.domain import INTENT_LABELS, SENTIMENT_LABELS
from goodwill.store.alerts import Speaker
from goodwill.store.tables import Post

__all__ = [
    "AUTHOR_SIGNALS",
    "FREQUENCIES",
    "KINDS",
    "KIND_INFO",
    "POST_KINDS",
    "AuthorSignal",
    "KindInfo",
    "RuleError",
    "RuleFilters",
    "RuleParams",
    "Speaker",
    "matches",
    "needs_person",
    "validate_rule",
]

POST_KINDS: Final = ("mention", "author")
SCHEDULED_KINDS: Final = ("volume_spike", "negative_spike", "unanswered")
KINDS: Final = POST_KINDS + SCHEDULED_KINDS
FREQUENCIES: Final = {"now": 3600.0, "hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0}
"""Frequency → digest period in seconds. ``now`` sends as it happens; its period only paces
the digest of events held back by throttling."""

TOPIC_REQUIRED: Final = ("mention", "volume_spike", "negative_spike")


@dataclass(frozen=True, slots=True)
class KindInfo:
    """How the interfaces present a rule kind: its label, one line of help, and which groups of
    settings its form shows (``filters``: sentiment, intent, source, followers; ``author``: the
    author signal; ``spike``: k, window, bucket, minimum volume, cool-down; ``sla``)."""

    label: str
    help: str
    groups: tuple[str, ...]
    topic_required: bool


KIND_INFO: dict[str, KindInfo] = {
    "mention": KindInfo(
        "New mentions",
        "Each new post of the topic that passes the filters.",
        ("filters",),
        True,
    ),
    "author": KindInfo(
        "Author speaking",
        "An author who matters (by the chosen signal) posts, about the topic if one is given.",
        ("author", "filters"),
        False,
    ),
    "volume_spike": KindInfo(
        "Volume spike",
        "The topic's mentions in the last bucket exceed the mean plus k standard deviations.",
        ("spike",),
        True,
    ),
    "negative_spike": KindInfo(
        "Negative-share spike",
        "The share of negative mentions in the last bucket exceeds its usual level.",
        ("spike",),
        True,
    ),
    "unanswered": KindInfo(
        "Unanswered question",
        "A question got no answer from your own account within the SLA.",
        ("sla",),
        False,
    ),
}
"""Every kind the interfaces offer, in the order they offer it. A new kind adds an entry here
(and its evaluation in ``evaluate``); a new way of recognising an author only registers an
``AuthorSignal`` in ``AUTHOR_SIGNALS`` and shows up in every form."""

assert tuple(KIND_INFO) == KINDS


class RuleError(ValueError):
    """A rule that cannot be saved, with a message fit for the user."""


@dataclass(frozen=True, slots=True)
class AuthorSignal:
    """One way of recognising an author who matters. ``test`` sees the post, the rule's
    filters and the author's ``Speaker`` (``None`` when the author is no remembered person, or
    when ``needs_person`` is false and nobody looked)."""

    label: str
    help: str
    test: Callable[[Post, RuleFilters, Speaker | None], bool]
    needs_person: bool = False


def _influential(post: Post, filters: RuleFilters, speaker: Speaker | None) -> bool:
    return (post.author_followers or 0) >= (filters.min_followers or 0)


def _advocate(post: Post, filters: RuleFilters, speaker: Speaker | None) -> bool:
    return speaker is not None and speaker.advocate


def _standing(standing: str) -> Callable[[Post, RuleFilters, Speaker | None], bool]:
    def test(post: Post, filters: RuleFilters, speaker: Speaker | None) -> bool:
        return speaker is not None and speaker.standing == standing

    return test


AUTHOR_SIGNALS: dict[str, AuthorSignal] = {
    "influential": AuthorSignal(
        "influential", "at least the minimum followers below", _influential
    ),
    "advocate": AuthorSignal(
        "advocate", "a remembered person who is an advocate (see People)", _advocate, True
    ),
    "detractor": AuthorSignal(
        "detractor", "a remembered person whose standing is detractor", _standing("detractor"), True
    ),
    "promoter": AuthorSignal(
        "promoter", "a remembered person whose standing is promoter", _standing("promoter"), True
    ),
}
"""How an ``author`` rule recognises who is speaking, in the order the forms offer them.
Signals with ``needs_person`` are judged on the author's person (``goodwill.people``) as it
stands once the people are brought up to date with the posts being evaluated."""


def needs_person(kind: str, filters: RuleFilters) -> bool:
    """Whether evaluating this rule needs the authors' people (standing, advocacy)."""
    return kind == "author" and AUTHOR_SIGNALS[filters.signal].needs_person


class RuleFilters(BaseModel):
    """Which posts a post rule reports (every filter given must hold)."""

    model_config = ConfigDict(extra="forbid")

    sentiment: list[Literal["negative", "neutral", "positive"]] = Field(default_factory=list)
    intent: list[Literal["question", "complaint", "praise", "suggestion", "purchase", "other"]] = (
        Field(default_factory=list)
    )
    source: list[str] = Field(default_factory=list)
    min_followers: int | None = Field(default=None, ge=0)
    signal: str = Field(
        default="influential",
        description="author rules: who counts, one of " + ", ".join(AUTHOR_SIGNALS),
    )


class RuleParams(BaseModel):
    """Parameters of scheduled rules; defaults suit an hourly series of a busy topic."""

    model_config = ConfigDict(extra="forbid")

    k: float = Field(default=3.0, gt=0, description="standard deviations above the mean")
    window_hours: float = Field(default=7 * 24, gt=0, description="trailing baseline window")
    bucket_minutes: float = Field(default=60, gt=0, description="width of one bucket")
    min_volume: int = Field(default=10, ge=1, description="mentions needed in the bucket")
    cooldown_hours: float = Field(default=6, ge=0, description="quiet time after a spike")
    sla_hours: float = Field(default=4, gt=0, description="hours a question may wait")
    lookback_hours: float = Field(
        default=7 * 24, gt=0, description="questions older than SLA + this are not chased"
    )
    digest_at: str | None = Field(
        default=None,
        description="daily and weekly digests: local time HH:MM (else: a period since the last)",
    )
    digest_weekday: int | None = Field(
        default=None, ge=0, le=6, description="weekly digests: day of the week, 0 is Monday"
    )
    timezone: str | None = Field(
        default=None, description="IANA time zone of digest_at (else: the workspace's)"
    )

    @field_validator("digest_at")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        return None if value is None else parse_clock(value).strftime("%H:%M")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @model_validator(mode="after")
    def _window_holds_buckets(self) -> RuleParams:
        if self.window_hours * 60 < 2 * self.bucket_minutes:
            raise ValueError("window_hours must hold at least two buckets")
        return self


def _messages(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "rule"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def validate_rule(
    kind: str,
    frequency: str,
    topic_id: int | None,
    filters: dict[str, Any],
    params: dict[str, Any],
) -> tuple[RuleFilters, RuleParams]:
    if kind not in KINDS:
        raise RuleError(f"unknown rule kind {kind!r} (use {', '.join(KINDS)})")
    if frequency not in FREQUENCIES:
        raise RuleError(f"unknown frequency {frequency!r} (use {', '.join(FREQUENCIES)})")
    if kind in TOPIC_REQUIRED and topic_id is None:
        raise RuleError(f"a {kind} rule needs a topic")
    try:
        f = RuleFilters.model_validate(filters)
        p = RuleParams.model_validate(params)
    except ValidationError as exc:
        raise RuleError(_messages(exc)) from None
    if p.digest_weekday is not None and frequency != "weekly":
        raise RuleError("a weekday is for weekly digests (set the frequency to weekly)")
    if p.digest_at is not None and frequency not in ("daily", "weekly"):
        raise RuleError("a digest time is for daily and weekly digests")
    if p.digest_weekday is not None and p.digest_at is None:
        raise RuleError("a weekly digest on a weekday needs its time of day (HH:MM)")
    if kind != "author" and "signal" in filters:
        raise RuleError("a signal (who counts) is for author rules")
    if kind == "author":
        if f.signal not in AUTHOR_SIGNALS:
            raise RuleError(
                f"unknown author signal {f.signal!r} (known: {', '.join(AUTHOR_SIGNALS)})"
            )
        if f.signal == "influential" and f.min_followers is None:
            raise RuleError("an author rule needs --min-followers (who counts as influential)")
    assert set(SENTIMENT_LABELS) >= set(f.sentiment)
    assert set(INTENT_LABELS) >= set(f.intent)
    return f, p


def _label(post: Post, field: str) -> str | None:
    value = (post.analysis or {}).get(field)
    return value.get("label") if isinstance(value, dict) else None


def matches(kind: str, filters: RuleFilters, post: Post, speaker: Speaker | None = None) -> bool:
    """Whether a new post is reported by a post rule with these filters (``speaker``: the
    author's person, for signals that need one)."""
    if filters.sentiment and _label(post, "sentiment") not in filters.sentiment:
        return False
    if filters.intent and _label(post, "intent") not in filters.intent:
        return False
    if filters.source and post.source not in filters.source:
        return False
    if kind == "author" and not AUTHOR_SIGNALS[filters.signal].test(post, filters, speaker):
        return False
    return filters.min_followers is None or (post.author_followers or 0) >= filters.min_followers
