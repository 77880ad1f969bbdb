"""Replies sent unchanged many times: templates are allowed, copy-paste at scale is flagged.

Two replies count as the same text when they match after removing @mentions (each reply names
its recipient) and links, folding case and collapsing spaces. That is deliberately strict: a
reply someone edited for the person is not a template.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FlaggedTemplate", "flag_templates", "normalise_reply"]

_MENTION = re.compile(r"(?<![\w])@[\w.@-]+")
_LINK = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True, frozen=True)
class FlaggedTemplate:
    text: str
    count: int


def normalise_reply(text: str) -> str:
    text = _LINK.sub(" ", _MENTION.sub(" ", text))
    return _SPACE.sub(" ", text).strip().casefold()


def flag_templates(sent: Iterable[tuple[str, int]], threshold: int) -> list[FlaggedTemplate]:
    """Normalised texts sent at least ``threshold`` times, most repeated first. ``sent``: each
    distinct text with how many times it was sent (the database counts exact repeats)."""
    counts: Counter[str] = Counter()
    for text, n in sent:
        if normalised := normalise_reply(text):
            counts[normalised] += n
    return [
        FlaggedTemplate(text, n)
        for text, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n >= threshold
    ]
