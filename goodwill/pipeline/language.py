"""Language identification for short posts, offline (py3langid ships its model in the wheel)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = ["MIN_CONFIDENCE", "detect_languages"]

MIN_CONFIDENCE = 0.5
_MIN_LETTERS = 3


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """ISO 639-1 codes, or None where the text is too short or the guess too unsure."""
    ident = None
    out: list[str | None] = []
    for text in texts:
        if sum(ch.isalpha() for ch in text[:200]) < _MIN_LETTERS:
            out.append(None)
            continue
        if ident is None:
            ident = _identifier()
        lang, confidence = ident.classify(text[:1000])
        out.append(str(lang) if confidence >= MIN_CONFIDENCE else None)
    return out
