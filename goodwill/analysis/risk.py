"""Offensive and hateful content: two logistic-regression heads over TF-IDF n-grams.

Trained on the TweetEval ``offensive`` (OffensEval 2019) and ``hate`` (HatEval 2019, hate
against immigrants and women) train splits by ``training/train_risk.py``; the weights ship in
``models/risk.npz`` (under 1 MB, plain arrays). English only. Each head raises its flag from
the probability that gave the best F1 on out-of-fold training predictions (saved with the
weights); the scores themselves are kept so a workspace can sort or filter on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import as_file, files
from typing import Any

import numpy as np

from goodwill.analysis._linear_text import LinearTextModel

__all__ = ["RiskModel", "RiskScores"]

HEADS = ("offensive", "hate")
_FLAGS = {
    (o, h): tuple(head for head, on in zip(HEADS, (o, h), strict=True) if on)
    for o in (False, True)
    for h in (False, True)
}


@dataclass(frozen=True, slots=True)
class RiskScores:
    offensive: float
    hate: float
    flags: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"offensive": self.offensive, "hate": self.hate, "flags": list(self.flags)}


@lru_cache(maxsize=1)
def _model() -> LinearTextModel:
    with as_file(files("goodwill.analysis") / "models" / "risk.npz") as path:
        return LinearTextModel.load(path)


class RiskModel:
    def __init__(self, model: LinearTextModel) -> None:
        if model.heads != HEADS:
            raise ValueError(f"risk model has heads {model.heads}, expected {HEADS}")
        self._model = model

    @classmethod
    def load(cls) -> RiskModel:
        """The shipped model, read once per process."""
        return cls(_model())

    def predict(self, texts: Sequence[str]) -> list[RiskScores]:
        probs = self._model.probabilities(texts)
        flagged = (probs >= np.asarray(self._model.thresholds)).tolist()
        return [
            RiskScores(
                round(offensive, 3),
                round(hate, 3),
                _FLAGS[is_offensive, is_hate],
            )
            for (offensive, hate), (is_offensive, is_hate) in zip(
                probs.tolist(), flagged, strict=True
            )
        ]
