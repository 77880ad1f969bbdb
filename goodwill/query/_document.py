"""A post as queries see it: its tokens, a set of them, and one string for the prefilter.

Why build it once per post: tokenising is the most expensive step of matching, and one post is
tested against thousands of topics. Everything a compiled query looks at is prepared here:

- ``tokens``: ``goodwill.text.tokens`` of the text, in order (positions for NEAR);
- ``keys``: the set of tokens, plus the bare word of every hashtag (a plain word matches its
  hashtag) and the field pseudo-tokens (``\\x01lang=en``, ``\\x01site=example.com``, …);
- ``stream``: ``" tok1 tok2 … \\x01lang=en "``: one space before and after every token, so a
  phrase is a substring search and the Aho-Corasick prefilter can demand word boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from goodwill.query._fields import pseudo_tokens, url_key
from goodwill.text import fold, tokens_of_folded

__all__ = ["Document"]


@dataclass(frozen=True, slots=True)
class Document:
    """What a query is evaluated against; make one with :meth:`build`, once per post."""

    text: str
    tokens: tuple[str, ...]
    keys: frozenset[str]
    stream: str
    url: str = ""
    has_hashtags: bool = False
    _positions: dict[str, list[int]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        text: str,
        *,
        author_handle: str | None = None,
        author_name: str | None = None,
        url: str | None = None,
        lang: str | None = None,
        source: str | None = None,
    ) -> Document:
        found = tokens_of_folded(fold(text))
        pseudo = pseudo_tokens(author_handle, author_name, url, lang, source)
        stream = " " + " ".join(found) + " "
        has_hashtags = " #" in stream
        if has_hashtags:
            keys = frozenset([*found, *pseudo, *[t[1:] for t in found if t[0] == "#"]])
        else:
            keys = frozenset([*found, *pseudo])
        if pseudo:
            stream += " ".join(pseudo) + " "
        return cls(text, tuple(found), keys, stream, url_key(url), has_hashtags)

    def positions(self) -> dict[str, list[int]]:
        """Token → its positions (a hashtag also under its bare word); computed on first use."""
        cached = self._positions
        if cached is None:
            cached = {}
            for i, token in enumerate(self.tokens):
                cached.setdefault(token, []).append(i)
                if token[0] == "#":
                    cached.setdefault(token[1:], []).append(i)
            object.__setattr__(self, "_positions", cached)
        return cached
