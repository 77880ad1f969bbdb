"""Standing: promoter, neutral or detractor, from a person's sentiment history.

The rule, kept simple enough to explain to the person it describes:

* Each post with a sentiment label counts with a weight that halves every
  ``half_life_days`` (recent posts weigh more). A teammate's correction is already laid over the
  model's label in the stored analysis (``store.corrections``), so a corrected label wins.
* ``score = (Σ weight of positive posts − Σ weight of negative posts) / Σ weight of all labelled
  posts``, between −1 and +1 (neutral posts only dilute).
* With fewer than ``min_posts`` labelled posts a person is ``neutral`` (too little to judge).
  Otherwise ``promoter`` when ``score ≥ threshold``, ``detractor`` when ``score ≤ −threshold``,
  else ``neutral``.

Pure functions, no I/O: ``goodwill.people.sync`` feeds them the posts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["STANDINGS", "StandingRule", "Verdict", "recovered", "standing_of"]

STANDINGS = ("promoter", "neutral", "detractor")


@dataclass(frozen=True, slots=True)
class StandingRule:
    half_life_days: float = 90.0
    min_posts: int = 2
    threshold: float = 0.3


@dataclass(frozen=True, slots=True)
class Verdict:
    standing: str
    score: float
    labelled: int
    positive: int
    negative: int

    def explain(self, rule: StandingRule) -> str:
        if self.labelled < rule.min_posts:
            return (
                f"{self.labelled} post(s) with a sentiment, fewer than {rule.min_posts}: "
                "too few to judge, neutral"
            )
        return (
            f"{self.positive} positive and {self.negative} negative of {self.labelled} labelled "
            f"posts; recent-weighted score {self.score:+.2f} (promoter ≥ {rule.threshold:+.2f}, "
            f"detractor ≤ {-rule.threshold:+.2f}, half-life {rule.half_life_days:g} days)"
        )


def standing_of(
    labels: Iterable[tuple[datetime, str | None]], now: datetime, rule: StandingRule
) -> Verdict:
    """``labels``: (post time, sentiment label or None) of one person's posts."""
    total = signed = 0.0
    labelled = positive = negative = 0
    for at, label in labels:
        if label not in ("positive", "negative", "neutral"):
            continue
        age_days = max((now - at).total_seconds() / 86400.0, 0.0)
        weight = 0.5 ** (age_days / rule.half_life_days) if rule.half_life_days > 0 else 1.0
        total += weight
        labelled += 1
        if label == "positive":
            signed += weight
            positive += 1
        elif label == "negative":
            signed -= weight
            negative += 1
    score = signed / total if total > 0 else 0.0
    if labelled < rule.min_posts:
        standing = "neutral"
    elif score >= rule.threshold:
        standing = "promoter"
    elif score <= -rule.threshold:
        standing = "detractor"
    else:
        standing = "neutral"
    return Verdict(standing, round(score, 4), labelled, positive, negative)


def recovered(labels: Iterable[tuple[datetime, str | None]], resolved_at: datetime) -> bool | None:
    """Whether a detractor's sentiment recovered after their case was resolved: ``True`` when
    their posts since then are neutral or positive on balance (no more negative than positive),
    ``False`` when negative, ``None`` when they have posted nothing labelled since."""
    after = [label for at, label in labels if at > resolved_at and label is not None]
    after = [label for label in after if label in ("positive", "negative", "neutral")]
    if not after:
        return None
    return after.count("negative") <= after.count("positive")
