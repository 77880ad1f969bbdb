"""The inbox's figures: how fast and how completely the brand answers.

Percentiles use the "inclusive" method of ``statistics.quantiles`` (linear interpolation between
the closest ranks; the median of an even count is the mean of the middle two), so anyone can
check them with a spreadsheet.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["InboxMetrics", "Spread", "spread"]


@dataclass(slots=True, frozen=True)
class Spread:
    """Durations in seconds: how many, their median and 90th percentile (None when empty)."""

    count: int
    median_s: float | None
    p90_s: float | None


def spread(seconds: Sequence[float]) -> Spread:
    if not seconds:
        return Spread(0, None, None)
    if len(seconds) == 1:
        return Spread(1, float(seconds[0]), float(seconds[0]))
    p90 = statistics.quantiles(seconds, n=10, method="inclusive")[8]
    return Spread(len(seconds), float(statistics.median(seconds)), float(p90))


@dataclass(slots=True)
class InboxMetrics:
    workspace: str
    conversations: int
    needing_answer: int
    by_status: dict[str, int]
    first_response: Spread
    resolution: Spread
    response_rate: float | None
    """Conversations that needed an answer and got one from the brand, of all that needed one."""
    coverage: float | None
    """Questions and complaints followed by a brand post in their thread, of all of them."""
    questions_and_complaints: int
    sla_s: int
    sla_breaches: int
    templates: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
