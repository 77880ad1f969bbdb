"""All the analysis of a batch of texts in one call: sentiment, intent and risk.

Models are loaded on first use and kept for the life of the process (one load, many batches).
The sentiment model is chosen by name: ``vader`` (the fast lexicon mode) or ``model`` (the
trained model in ``goodwill.analysis.sentiment_model``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

from goodwill.analysis.types import Prediction

__all__ = [
    "SENTIMENT_MODES",
    "AnalysisUnavailable",
    "SentimentPredictor",
    "TextAnalyzer",
    "check_sentiment_mode",
    "load_sentiment",
]

SENTIMENT_MODES = ("model", "vader")
_MODEL_MODULE = "goodwill.analysis.sentiment_model"
MODEL_VERSIONS = {"intent": "rules-2", "risk": "tfidf-lr-1"}


class AnalysisUnavailable(RuntimeError):
    """The configured model cannot be used here; the message says what to do."""


class SentimentPredictor(Protocol):
    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


def check_sentiment_mode(mode: str) -> None:
    """Fail early and clearly (before any post is read) when ``mode`` cannot be loaded."""
    if mode not in SENTIMENT_MODES:
        raise AnalysisUnavailable(
            f"unknown sentiment mode {mode!r}: use one of {', '.join(SENTIMENT_MODES)}"
        )
    if mode == "model" and importlib.util.find_spec(_MODEL_MODULE) is None:
        raise AnalysisUnavailable(
            "GOODWILL_SENTIMENT=model, but this installation has no trained sentiment model "
            f"({_MODEL_MODULE}); set GOODWILL_SENTIMENT=vader to use the fast lexicon mode"
        )


@cache
def load_sentiment(mode: str) -> SentimentPredictor:
    """The sentiment model for ``mode``, loaded once per process."""
    check_sentiment_mode(mode)
    if mode == "vader":
        from goodwill.analysis.vader import VaderSentiment

        return VaderSentiment.load()
    module = importlib.import_module(_MODEL_MODULE)
    model: SentimentPredictor = module.SentimentModel.load()
    return model


class TextAnalyzer:
    """Analyses batches of texts; cheap to build, loads its models on the first batch."""

    def __init__(self, sentiment: str = "vader") -> None:
        check_sentiment_mode(sentiment)
        self.sentiment_mode = sentiment
        self.versions = {"sentiment": sentiment, **MODEL_VERSIONS}

    def analyse(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """One dict per text: ``sentiment`` and ``intent`` ({label, confidence}), ``risk``
        ({offensive, hate, flags}) and ``models`` (which model produced each)."""
        if not texts:
            return []
        sentiments = load_sentiment(self.sentiment_mode).predict(texts)
        # Imported here: every ``goodwill`` command imports this module, few analyse.
        from goodwill.analysis.intent import classify_intents
        from goodwill.analysis.risk import RiskModel

        intents = classify_intents(texts)
        risks = RiskModel.load().predict(texts)
        return [
            {
                "sentiment": {"label": s.label, "confidence": round(float(s.confidence), 3)},
                "intent": {"label": i.label, "confidence": i.confidence},
                "risk": r.as_dict(),
                "models": dict(self.versions),
            }
            for s, i, r in zip(sentiments, intents, risks, strict=True)
        ]
