"""Cutting a query into lexemes: words, quoted phrases, fields, operators and parentheses.

Why a separate step: every error message names a 1-based column, and the lexer is the only
place that still sees raw positions; it also owns the rules that are about spelling rather than
structure (operators are UPPERCASE only, ``NEAR/3f``, smart quotes, ``field:value``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "FIELDS",
    "MAX_NEAR",
    "Kind",
    "Lexeme",
    "QuerySyntaxError",
    "lex",
]

FIELDS = ("author", "site", "url", "lang", "source")
MAX_NEAR = 100

_OPEN_QUOTES = '"“„«'
_CLOSE_QUOTES = '"”“»'
_QUOTES = frozenset(_OPEN_QUOTES + _CLOSE_QUOTES)
_BARE = re.compile(r"[^\s()" + re.escape("".join(sorted(_QUOTES))) + "]+")
_NEAR = re.compile(r"NEAR/(\d{1,6})(f?)")
_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)


class QuerySyntaxError(ValueError):
    """A query that cannot be understood; ``str(error)`` is a sentence for the user.

    ``message`` is that sentence and ``column`` the 1-based position it is about (1 when the
    problem is the query as a whole, such as an empty query).
    """

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return self.message


class Kind(enum.Enum):
    WORD = "word"
    PHRASE = "phrase"
    FIELD = "field"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    NEAR = "NEAR"
    OPEN = "("
    CLOSE = ")"


@dataclass(frozen=True, slots=True)
class Lexeme:
    """One piece of the query. ``text`` is the raw spelling (the value, for a field)."""

    kind: Kind
    column: int
    text: str
    field: str = ""
    quoted: bool = False
    distance: int = 0
    ordered: bool = False

    @property
    def spelling(self) -> str:
        """How the lexeme reads in the query, for messages (``NEAR/3f``, ``OR``, ``(``)."""
        if self.kind is Kind.NEAR:
            return f"NEAR/{self.distance}{'f' if self.ordered else ''}"
        return self.text


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    """The text between the quote at ``start`` and its closing quote, and the index after it."""
    for end in range(start + 1, len(query)):
        if query[end] in _CLOSE_QUOTES:
            return query[start + 1 : end], end + 1
    raise QuerySyntaxError(f"unterminated quote starting at column {start + 1}", start + 1)


def _bare_word(query: str, start: int) -> int:
    """Where the word starting at ``start`` ends: at a space, a parenthesis or a quote."""
    match = _BARE.match(query, start)
    return match.end() if match else start


def _classify(word: str, column: int) -> Lexeme:
    if word in ("AND", "OR", "NOT"):
        return Lexeme(Kind[word], column, word)
    if word == "NEAR" or word.startswith("NEAR/"):
        match = _NEAR.fullmatch(word)
        if match is None:
            raise QuerySyntaxError(f"NEAR needs a distance, as in NEAR/3 (column {column})", column)
        distance = int(match.group(1))
        if not 1 <= distance <= MAX_NEAR:
            raise QuerySyntaxError(
                f"NEAR distance must be between 1 and {MAX_NEAR}, not {distance} (column {column})",
                column,
            )
        return Lexeme(Kind.NEAR, column, word, distance=distance, ordered=bool(match.group(2)))
    return Lexeme(Kind.WORD, column, word)


def lex(query: str) -> list[Lexeme]:
    """The lexemes of ``query``; raises :class:`QuerySyntaxError` for quotes, fields and NEAR."""
    out: list[Lexeme] = []
    i = 0
    n = len(query)
    while i < n:
        char = query[i]
        column = i + 1
        if char.isspace():
            i += 1
        elif char == "(":
            out.append(Lexeme(Kind.OPEN, column, char))
            i += 1
        elif char == ")":
            out.append(Lexeme(Kind.CLOSE, column, char))
            i += 1
        elif char in _QUOTES:
            text, i = _read_quoted(query, i)
            out.append(Lexeme(Kind.PHRASE, column, text, quoted=True))
        else:
            end = _bare_word(query, i)
            word = query[i:end]
            field = _FIELD.fullmatch(word)
            if field is None:
                out.append(_classify(word, column))
                i = end
                continue
            name = field.group(1).lower()
            if name not in FIELDS:
                raise QuerySyntaxError(
                    f"unknown field '{field.group(1)}:' at column {column} "
                    f"(known fields: {', '.join(FIELDS)})",
                    column,
                )
            value, quoted = field.group(2), False
            if not value and end < n and query[end] in _QUOTES:
                value, end = _read_quoted(query, end)
                quoted = True
            if not value.strip():
                raise QuerySyntaxError(
                    f"field '{name}:' at column {column} needs a value right after the colon, "
                    f"as in {_EXAMPLES[name]}",
                    column,
                )
            out.append(Lexeme(Kind.FIELD, column, value, field=name, quoted=quoted))
            i = end
    return out


_EXAMPLES = {
    "author": "author:acme",
    "site": "site:example.com",
    "url": "url:example.com/blog",
    "lang": "lang:en",
    "source": "source:reddit",
}
