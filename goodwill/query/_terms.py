"""Turning the words of a query into leaves: words, wildcards, phrases, field tests.

Why apart from the parser: this is where the query meets ``goodwill.text``. A query word is cut
by the same tokeniser as the posts, so ``café`` becomes ``cafe``, ``e-mail`` becomes the phrase
``"e mail"`` and ``東京`` the phrase ``"東 京"`` (which matches inside unspaced Japanese text).
"""

from __future__ import annotations

import re

from goodwill.query._ast import Field, Node, Or, Phrase, Wildcard, Word
from goodwill.query._fields import FieldValueError, normalise_value, wildcard_problem
from goodwill.query._lexer import QuerySyntaxError
from goodwill.text import CHARWISE, fold, tokens, tokens_of_folded

__all__ = ["field_node", "phrase_node", "word_node"]

_STARS = re.compile(r"\*+")
_TAG_WORD = re.compile(r"\w+(?:'\w+)*")


def _is_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _wildcard(raw: str, column: int) -> Wildcard:
    """A word with ``*``/``?``: it must stay inside one token and start with two literals."""
    folded = fold(raw)
    problem = wildcard_problem(folded)
    if problem:
        raise QuerySyntaxError(f"'{raw}' at column {column} {problem}", column)
    sigil = folded[0] if folded[0] in "#@" else ""
    body = _STARS.sub("*", folded[len(sigil) :])
    for piece in re.split(r"[*?]+", body):
        if not piece:
            continue
        if CHARWISE.search(piece):
            raise QuerySyntaxError(
                f"'{raw}' at column {column}: wildcards do not work with Chinese, Japanese, "
                "Korean or Thai characters, which are matched one by one; leave the * out",
                column,
            )
        ok = _TAG_WORD.fullmatch(piece) if sigil else tokens_of_folded(piece) == [piece]
        if not ok:
            raise QuerySyntaxError(
                f"'{raw}' at column {column}: a wildcard only works inside one word "
                "(letters, digits, ' and _)",
                column,
            )
    return Wildcard(sigil + body)


def _plain(text: str, raw: str, column: int) -> Node:
    found = tokens(text)
    if not found:
        raise QuerySyntaxError(
            f"'{raw}' at column {column} has no letters, digits or emoji to search for", column
        )
    if len(found) == 1:
        return Word(found[0])
    phrase = Phrase(tuple(Word(t) for t in found))
    folded = fold(text)
    if folded[0] not in "#@" and tokens_of_folded("#" + folded) == ["#" + folded]:
        # 東京 is two tokens in running text but one as a hashtag: #東京 counts too
        return Or((phrase, Word("#" + folded)))
    return phrase


def word_node(raw: str, column: int) -> Node:
    """A bare word: a term, a wildcard, or a phrase when the tokeniser cuts it in several."""
    text = raw.rstrip("?")  # a question mark at the end of a word is punctuation
    if len(text) > 1 and text[0] == "-" and text[1] != "-":
        raise QuerySyntaxError(
            f"'{raw}' at column {column}: to leave out posts with a word, write NOT {text[1:]}",
            column,
        )
    if _is_wildcard(text):
        return _wildcard(text, column)
    return _plain(text, raw, column)


def phrase_node(text: str, column: int) -> Node:
    """A quoted phrase: its tokens next to each other, in order; wildcards allowed inside."""
    chunks = [(m.group().rstrip("?"), column + 1 + m.start()) for m in re.finditer(r"\S+", text)]
    if len(chunks) == 1 and chunks[0][0] and not _is_wildcard(chunks[0][0]):
        return _plain(chunks[0][0], text, column)
    words: list[Word | Wildcard] = []
    for raw, at in chunks:
        if _is_wildcard(raw):
            words.append(_wildcard(raw, at))
        else:
            words.extend(Word(t) for t in tokens(raw))
    if not words:
        what = "empty phrase" if not text.strip() else "phrase with no letters, digits or emoji"
        raise QuerySyntaxError(f"{what} at column {column}", column)
    if len(words) == 1:
        return words[0]
    return Phrase(tuple(words))


def field_node(name: str, raw: str, column: int) -> Field:
    try:
        return Field(name, normalise_value(name, raw))
    except FieldValueError as exc:
        if exc.quoted is not None:
            message = f"'{exc.quoted}' at column {column} {exc.message}"
        else:
            message = f"{exc.message} (column {column})"
        raise QuerySyntaxError(message, column) from None
