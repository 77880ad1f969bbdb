"""Tweet normalisation shared by training and inference, so the model sees text the same way.

TweetEval (the benchmark the sentiment model is measured on) replaces user mentions with
"@user" and links with "http"; doing the same to every post at inference time keeps real posts
in the distribution the model was trained on, and keeps user names out of the model's input.
"""

from __future__ import annotations

import html
import re

__all__ = ["comparison_key", "normalise_tweet"]

_MENTION = re.compile(r"(?<![\w@])@\w+")
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_HTTP = re.compile(r"\bhttp\b")


def normalise_tweet(text: str) -> str:
    """Text as TweetEval writes it: mentions as @user, links as http.

    HTML entities and the literal JSON escapes (\\u2019) left in the SemEval downloads are decoded.
    """
    text = html.unescape(_JSON_ESCAPE.sub(_unescape, text))
    text = _LINK.sub("http", text)
    text = _MENTION.sub("@user", text)
    return _SPACE.sub(" ", text).strip()


def comparison_key(text: str) -> str:
    """A key under which the same tweet from two data sets compares equal (for de-duplication)."""
    text = _HTTP.sub("", normalise_tweet(text).lower())  # TweetEval dropped most links
    return re.sub(r"[^\w@]+", "", text)


def _unescape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char.isprintable() else " "
