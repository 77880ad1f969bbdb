"""A post as queries see it: its tokens, one string for the prefilter, its field pseudo-tokens.

Why build it once per post: tokenising is the most expensive step of matching, and one post is
tested against thousands of topics. ``build`` does only what every post needs; what only some
queries need is computed on first use and kept:

- ``tokens``: ``goodwill.text.tokens`` of the text, in order;
- ``stream``: ``" tok1 tok2 … \\x01lang=en \\x01source=x "``: one space before and after every
  token, so a phrase is a substring search and the Aho-Corasick prefilter can demand word
  boundaries; the field pseudo-tokens (``fields``) come last;
- ``keys`` (lazy): the set of tokens, plus the bare word of every hashtag (a plain word matches
  its hashtag) and the field pseudo-tokens;
- ``positions()`` (lazy, for NEAR) and ``url_key`` (lazy, for ``url:``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from goodwill.query._fields import pseudo_tokens, url_key
from goodwill.text import tokens

__all__ = ["Document"]


@dataclass(frozen=True, slots=True)
class Document:
    """What a query is evaluated against; make one with :meth:`build`, once per post."""

    text: str
    tokens: tuple[str, ...]
    stream: str
    fields: tuple[str, ...] = ()
    url: str | None = None
    text_end: int = 0
    _keys: frozenset[str] | None = field(default=None, compare=False, repr=False)
    _positions: dict[str, list[int]] | None = field(default=None, compare=False, repr=False)
    _url_key: str | None = field(default=None, compare=False, repr=False)

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
        found = tokens(text)
        stream = " " + " ".join(found) + " "
        text_end = len(stream)
        fields, tail = pseudo_tokens(author_handle, author_name, url, lang, source)
        # a frozen dataclass's __init__ is slow (object.__setattr__ per field); this runs for
        # every post, so the slots are filled directly
        doc = _new(cls)
        _set_text(doc, text)
        _set_tokens(doc, tuple(found))
        _set_stream(doc, stream + tail if tail else stream)
        _set_fields(doc, fields)
        _set_url(doc, url)
        _set_text_end(doc, text_end)
        _set_keys(doc, None)
        _set_positions(doc, None)
        _set_url_key(doc, None)
        return doc

    @property
    def keys(self) -> frozenset[str]:
        """Tokens, bare words of hashtags, and field pseudo-tokens (computed on first use)."""
        keys = self._keys
        if keys is None:
            tokens = self.tokens
            if " #" in self.stream:
                keys = frozenset([*tokens, *self.fields, *[t[1:] for t in tokens if t[0] == "#"]])
            else:
                keys = frozenset([*tokens, *self.fields])
            _set_keys(self, keys)
        return keys

    @property
    def url_key(self) -> str:
        """The URL as ``url:`` compares it: folded, without scheme and ``www.``."""
        key = self._url_key
        if key is None:
            key = url_key(self.url)
            _set_url_key(self, key)
        return key

    def positions(self) -> dict[str, list[int]]:
        """Token → its positions (a hashtag also under its bare word); computed on first use."""
        cached = self._positions
        if cached is None:
            cached = {}
            for i, token in enumerate(self.tokens):
                cached.setdefault(token, []).append(i)
                if token[0] == "#":
                    cached.setdefault(token[1:], []).append(i)
            _set_positions(self, cached)
        return cached


_new = object.__new__
_slot = Document.__dict__
_set_text = _slot["text"].__set__
_set_tokens = _slot["tokens"].__set__
_set_stream = _slot["stream"].__set__
_set_fields = _slot["fields"].__set__
_set_url = _slot["url"].__set__
_set_text_end = _slot["text_end"].__set__
_set_keys = _slot["_keys"].__set__
_set_positions = _slot["_positions"].__set__
_set_url_key = _slot["_url_key"].__set__
