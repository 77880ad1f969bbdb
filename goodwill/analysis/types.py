"""Plain result types shared by the analysis models (no I/O, no model code)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Prediction"]


class Prediction(NamedTuple):
    """One label for one text, with the model's confidence in it (0 to 1)."""

    label: str
    confidence: float
