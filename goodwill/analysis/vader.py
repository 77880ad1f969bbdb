"""VADER, the fast sentiment mode: a lexicon and rules, thousands of posts per second.

VADER (Hutto and Gilbert, 2014) scores a text with a ``compound`` value from -1 to 1. We use
its authors' thresholds: at least 0.05 is positive, at most -0.05 negative, neutral between.
Confidence grows with the distance from the nearest threshold; it ranks, it is not calibrated.
On tweets it is much weaker than a trained model (see docs/analysis.md for measured figures),
so it is the choice for low-end machines or huge backfills, not the default where a model ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from goodwill.analysis.types import Prediction

__all__ = ["VaderSentiment"]

THRESHOLD = 0.05


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    # Reads the lexicon files shipped in the vaderSentiment wheel: once per process.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def label_compound(compound: float) -> Prediction:
    """Map VADER's compound score to a label and a confidence in [0.5, 1]."""
    if compound >= THRESHOLD:
        return Prediction("positive", round(0.5 + 0.5 * compound, 3))
    if compound <= -THRESHOLD:
        return Prediction("negative", round(0.5 - 0.5 * compound, 3))
    return Prediction("neutral", round(1.0 - 0.5 * abs(compound) / THRESHOLD, 3))


class VaderSentiment:
    """Same interface as the neural ``SentimentModel``: ``load()`` once, ``predict(texts)``."""

    name = "vader"

    def __init__(self, analyzer: Any) -> None:
        self._score = analyzer.polarity_scores

    @classmethod
    def load(cls) -> VaderSentiment:
        return cls(_analyzer())

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [label_compound(float(self._score(t)["compound"])) for t in texts]
