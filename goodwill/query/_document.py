"""A post as queries see it: one string for matching and the prefilter, its field tokens.

Why build it once per post: tokenising is the most expensive step of matching, and one post is
tested against thousands of topics. ``build`` does only what every post needs; what only some
queries need is computed on first use and kept:

- ``stream``: ``" tok1 tok2 … \\x01lang=en \\x01source=x "``, the tokens of the text
  (``goodwill.text.tokens``) with one space before and after each, so a word or a phrase is a
  substring test and the Aho-Corasick prefilter can demand word boundaries; the field
  pseudo-tokens (``fields``) come last, from ``text_end`` on;
- ``tokens`` (lazy): the tokens in order, cut back out of ``stream``;
- ``keys`` (lazy): the set of tokens, plus the bare word of every hashtag (a plain word matches
  its hashtag) and the field pseudo-tokens;
- ``positions()`` (lazy, for NEAR) and ``url_key`` (lazy, for ``url:``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from goodwill.query._fields import pseudo_tokens, url_key
from goodwill.text import tokens

__all__ = ["Document"]


@dataclass(frozen=True, slots=True)
class Document:
    """What a query is evaluated against; make one with :meth:`build`, once per post."""

    text: str
    stream: str
    fields: tuple[str, ...] = ()
    url: str | None = None
    text_end: int = 0
    _lazy: dict[str, Any] | None = field(default=None, compare=False, repr=False)

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
        stream = f" {' '.join(tokens(text))} "
        fields, tail = pseudo_tokens(author_handle, author_name, url, lang, source)
        # a frozen dataclass's __init__ is slow (object.__setattr__ per field); this runs for
        # every post, so the slots are filled directly
        doc = _new(cls)
        _set_text(doc, text)
        _set_stream(doc, stream + tail if tail else stream)
        _set_fields(doc, fields)
        _set_url(doc, url)
        _set_text_end(doc, len(stream))
        _set_lazy(doc, None)
        return doc

    def _cache(self) -> dict[str, Any]:
        lazy = self._lazy
        if lazy is None:
            lazy = {}
            _set_lazy(self, lazy)
        return lazy

    @property
    def tokens(self) -> tuple[str, ...]:
        """The tokens of the text, in order."""
        cache = self._cache()
        found: tuple[str, ...] | None = cache.get("tokens")
        if found is None:
            inner = self.stream[1 : self.text_end - 1]
            found = cache["tokens"] = tuple(inner.split(" ")) if inner else ()
        return found

    @property
    def keys(self) -> frozenset[str]:
        """Tokens, bare words of hashtags, and field pseudo-tokens (computed on first use)."""
        cache = self._cache()
        keys: frozenset[str] | None = cache.get("keys")
        if keys is None:
            found = self.tokens
            bare = [t[1:] for t in found if t[0] == "#"]
            keys = cache["keys"] = frozenset([*found, *self.fields, *bare])
        return keys

    @property
    def url_key(self) -> str:
        """The URL as ``url:`` compares it: folded, without scheme and ``www.``."""
        cache = self._cache()
        key: str | None = cache.get("url_key")
        if key is None:
            key = cache["url_key"] = url_key(self.url)
        return key

    def positions(self) -> dict[str, list[int]]:
        """Token → its positions (a hashtag also under its bare word); computed on first use."""
        cache = self._cache()
        found: dict[str, list[int]] | None = cache.get("positions")
        if found is None:
            found = cache["positions"] = {}
            for i, token in enumerate(self.tokens):
                found.setdefault(token, []).append(i)
                if token[0] == "#":
                    found.setdefault(token[1:], []).append(i)
        return found


_new = object.__new__
_slot = Document.__dict__
_set_text = _slot["text"].__set__
_set_stream = _slot["stream"].__set__
_set_fields = _slot["fields"].__set__
_set_url = _slot["url"].__set__
_set_text_end = _slot["text_end"].__set__
_set_lazy = _slot["_lazy"].__set__
