"""Result types shared by the analysis models, so callers never depend on one model's module."""

from __future__ import annotations

from typing import NamedTuple


class Prediction(NamedTuple):
    """One model's answer for one post: a lowercase label and how sure the model is (0..1)."""

    label: str
    confidence: float
