"""Text normalisation and tokenisation, shared by the query language and the pipeline.

Why one module on the bottom floor: a query term and a post must be cut into words by exactly
the same rules, or ``café`` in a query silently misses "Cafe" in a post. The query language
tokenises its terms with :func:`tokens`, ``Document.build`` tokenises posts with it, and the
de-duplication keys use the same tokens (``pipeline.dedupe``).

The rules (docs/query-language.md explains them to users):

- :func:`fold` is NFKC, then casefold, then diacritics removed from Latin and Greek letters
  (``é`` → ``e``; Cyrillic ``й`` keeps its breve), a few letters that do not decompose mapped to
  their plain form (``ł ø đ æ œ``), typographic apostrophes made ``'``, and emoji presentation
  selectors and skin-tone modifiers removed (``👍🏽`` → ``👍``). ASCII text takes a fast path.
- :func:`tokens` yields, in order:
  words of letters, digits and underscores (a hyphen or any other punctuation splits them; an
  apostrophe inside a word keeps it together, ``don't``, and a possessive ``'s`` is dropped,
  ``apple's`` → ``apple``); ``#hashtag`` and ``@mention`` as one token each *with* the sigil
  (a sigil right after a letter, as in ``bob@example.com``, is punctuation; the query layer lets
  a plain word also match its hashtag); each emoji, flag, keycap or ZWJ sequence as one token;
  each Chinese, Japanese, Korean, Thai, Lao, Khmer or Myanmar character as its own token,
  because those scripts do not put spaces between words. Links (``https://…``, ``www.…``) are
  skipped entirely: their pieces (``https``, ``t``, ``co``) would only be noise.

Speed matters (every post of every source goes through here), so there are two fast paths that
give exactly the result of the one regular expression ``_TOKEN`` (a property test holds them to
it): ASCII text (also once typographic apostrophes and quotes are made ASCII) is cut with
``bytes.translate`` and ``str.split``, and text that is mostly ASCII with a few emoji is cut
into ASCII and non-ASCII runs.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["CHARWISE", "fold", "is_emoji", "tokens", "tokens_of_folded"]

_TRANSLATE: dict[int, str | None] = {
    0x2019: "'",  # right single quotation mark, the usual typographic apostrophe
    0x2018: "'",
    0x02BC: "'",  # modifier letter apostrophe
    0xFF07: "'",
    ord("ł"): "l",
    ord("ø"): "o",
    ord("đ"): "d",
    ord("ħ"): "h",
    ord("ı"): "i",
    ord("æ"): "ae",
    ord("œ"): "oe",
    ord("þ"): "th",
    ord("ð"): "d",
    0xFE0E: None,  # text / emoji presentation selectors
    0xFE0F: None,
    **{cp: None for cp in range(0x1F3FB, 0x1F400)},  # emoji skin-tone modifiers
}
_NEEDS_TRANSLATE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in _TRANSLATE) + "]")


# Combining marks of the Latin and Greek alphabets, unless they sit on a Cyrillic letter
# (й and ё are letters of their own in Russian, not accented и and е).
_MARKS = re.compile(r"(?<![\u0400-\u052f])[\u0300-\u036f]+")


def _fold_run(run: str) -> str:
    folded = unicodedata.normalize("NFKC", run).casefold()
    if folded.isascii():
        return folded
    if _NEEDS_TRANSLATE.search(folded):
        folded = folded.translate(_TRANSLATE)
    decomposed = unicodedata.normalize("NFD", folded)
    stripped = _MARKS.sub("", decomposed)
    return folded if stripped == decomposed else unicodedata.normalize("NFC", stripped)


_fold_short_run = functools.lru_cache(maxsize=65_536)(_fold_run)
_NON_ASCII_RUNS = re.compile(r"([^\x00-\x7f]+)")


def _folded_pieces(text: str) -> list[str]:
    """``text`` cut into ASCII and non-ASCII runs (alternating, ASCII first), each folded.

    ASCII needs only ``lower``; a non-ASCII run (an emoji, an accented letter, a Japanese
    sentence) is folded on its own, and short ones are cached: the same few emoji come back in
    post after post.
    """
    pieces = _NON_ASCII_RUNS.split(text)
    for i, piece in enumerate(pieces):
        if i % 2:
            pieces[i] = _fold_short_run(piece) if len(piece) <= 16 else _fold_run(piece)
        elif piece:
            pieces[i] = piece.lower()
    return pieces


def fold(text: str) -> str:
    """The matching form of ``text``: case-, accent- and width-insensitive (see module doc)."""
    if text.isascii():
        return text.lower()
    return "".join(_folded_pieces(text))


# Scripts written without spaces between words: one token per character.
_CHAR_SCRIPTS = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1100-\u11ff"  # Hangul Jamo
    "\u1780-\u17ff"  # Khmer
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7af"  # Hangul syllables
    "\ud7b0-\ud7ff"  # Hangul Jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
CHARWISE = re.compile(f"[{_CHAR_SCRIPTS}]")
"""A character of a script that is tokenised one character at a time (CJK, Thai, …)."""

_PICTOGRAPH = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf"
    "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf"
    "\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f1e5\U0001f200-\U0001faff"
)
_EMOJI = (
    r"[\U0001f1e6-\U0001f1ff]{1,2}"  # a flag is a pair of regional indicators
    r"|[0-9#*]\u20e3"  # keycap
    rf"|[{_PICTOGRAPH}][\U000e0020-\U000e007f]*(?:\u200d[{_PICTOGRAPH}][\U000e0020-\U000e007f]*)*"
)


def _mark_ranges() -> str:
    """Combining marks (vowel signs, viramas, …) of scripts that use spaces: part of a word.

    Python's ``re`` has no ``\\p{M}``, so the class is built once from ``unicodedata``; the
    marks of the one-token-per-character scripts are left out (they are tokens of their own).
    """
    spans: list[list[int]] = []
    for low, high in ((0x0300, 0x0DFF), (0x0F00, 0x0FFF), (0x10A0, 0x1DFF), (0x20D0, 0x20E2)):
        for cp in range(low, high + 1):
            if unicodedata.category(chr(cp))[0] != "M" or 0x1780 <= cp <= 0x17FF:
                continue
            if spans and spans[-1][1] == cp - 1:
                spans[-1][1] = cp
            else:
                spans.append([cp, cp])
    return "".join(f"{chr(a)}-{chr(b)}" if b > a else chr(a) for a, b in spans)


_MARK = f"[{_mark_ranges()}\ua670-\ua67f\ua8e0-\ua8ff\ufe20-\ufe2f]"
_WORD_CHAR = rf"[^\W{_CHAR_SCRIPTS}]"
_WORD = rf"{_WORD_CHAR}(?:{_WORD_CHAR}+|{_MARK}+)*"
_TAG_BODY = rf"\w(?:\w+|{_MARK}+)*"
_TOKEN = re.compile(
    rf"(?<!\w)[#@]{_TAG_BODY}(?:'{_TAG_BODY})*|{_EMOJI}|[{_CHAR_SCRIPTS}]|{_WORD}(?:'{_WORD})*",
)
_ASCII_TOKEN = re.compile(r"(?<!\w)[#@]\w+(?:'\w+)*|\w+(?:'\w+)*|\x02")
_LINK = re.compile(r"(?:\b[a-z][a-z0-9+.\-]*://|\bwww\.)\S*")
_WORDISH_EDGE = re.compile(rf"[\w#@'*\u20e3{_MARK[1:-1]}]")

# ASCII: every character that cannot be part of a token becomes a space in one C pass. The
# mixed path also keeps \x02, its placeholder for a non-ASCII run.
_ASCII_KEEP = b"abcdefghijklmnopqrstuvwxyz0123456789_'#@"
_ASCII_SPACES = bytes(c if c in _ASCII_KEEP else 32 for c in range(256))
_PLACEHOLDER = "\x02"
_ASCII_SPACES_KEEP_PLACEHOLDER = bytes(c if c in _ASCII_KEEP or c == 2 else 32 for c in range(256))


def _strip_possessive(found: list[str]) -> list[str]:
    return [t[:-2] if t.endswith("'s") and len(t) > 2 else t for t in found]


def _ascii_tokens(folded: str, table: bytes = _ASCII_SPACES) -> list[str]:
    """``_TOKEN`` on lowercase ASCII, without running a regular expression in the usual case.

    After the translation only ``a-z 0-9 _ ' # @`` and spaces are left, so ``split`` gives the
    tokens unless a sigil or an apostrophe is out of place (``c#``, ``#``, ``'quoted'``): those
    rare texts take the regular expression.
    """
    padded = " " + folded.encode("ascii").translate(table).decode("ascii") + " "
    find = padded.find
    for mark in "#@'":
        i = find(mark)
        while i != -1:
            if padded[i + 1] in " #@'" or (padded[i - 1] in " #@'") is (mark == "'"):
                return _strip_possessive(_ASCII_TOKEN.findall(padded))
            i = find(mark, i + 1)
    if "'s " in padded:
        padded = padded.replace("'s ", " ")
    return padded.split()


def _regex_tokens(folded: str) -> list[str]:
    found: list[str] = _TOKEN.findall(folded)
    return _strip_possessive(found) if "'s" in folded else found


@functools.lru_cache(maxsize=16_384)
def _run_tokens(run: str) -> tuple[str, ...]:
    return tuple(_regex_tokens(run))


def _drop_links(folded: str) -> str:
    """``_LINK.sub(" ", folded)``, with the expression run only from the first link on.

    A link cannot start before the space that precedes its ``://`` or ``www.``, and links
    usually come last in a post.
    """
    found = [i for i in (folded.find("://"), folded.find("www.")) if i >= 0]
    if not found:
        return folded
    start = folded.rfind(" ", 0, min(found)) + 1
    return folded[:start] + _LINK.sub(" ", folded[start:])


def tokens_of_folded(folded: str) -> list[str]:
    """:func:`tokens` of a string that is already :func:`fold`-ed."""
    if "://" in folded or "www." in folded:
        folded = _drop_links(folded)
    if folded.isascii():
        return _ascii_tokens(folded)
    return _regex_tokens(folded)


def _mixed_tokens(text: str) -> list[str]:
    """Mostly-ASCII text with a few emoji, dashes or accents, without the slow expression.

    The folded ASCII runs are tokenised together, each non-ASCII run standing in as a
    placeholder token, and the placeholders are then replaced by the run's own tokens. That is
    only right where no token can cross from a run into its neighbour, so when word-like
    characters touch both sides of a cut, or a link is around, the whole text goes the slow way.
    """
    pieces = _folded_pieces(text)
    if len(pieces) > 21 or _PLACEHOLDER in text:
        return tokens_of_folded("".join(pieces))
    ascii_parts = [pieces[0]]
    runs: list[str] = []
    for i in range(1, len(pieces), 2):
        run = pieces[i]
        if run.isascii():  # "é" folded to "e", "…" to "...": part of the ASCII around it
            ascii_parts[-1] += run + pieces[i + 1]
        else:
            runs.append(run)
            ascii_parts.append(pieces[i + 1])
    edge = _WORDISH_EDGE.match
    for i, run in enumerate(runs):
        before, after = ascii_parts[i], ascii_parts[i + 1]
        if (before and edge(before[-1]) and edge(run[0])) or (
            after and edge(after[0]) and edge(run[-1])
        ):
            return tokens_of_folded("".join(pieces))
    joined = " \x02 ".join(ascii_parts)
    if not runs or "://" in joined or "www." in joined:
        return tokens_of_folded("".join(pieces))
    found = _ascii_tokens(joined, _ASCII_SPACES_KEEP_PLACEHOLDER)
    at = 0
    for run in runs:
        at = found.index(_PLACEHOLDER, at)
        replacement = _run_tokens(run) if len(run) <= 16 else tuple(_regex_tokens(run))
        found[at : at + 1] = replacement
        at += len(replacement)
    return found


# Typography that makes otherwise plain English text non-ASCII, and ASCII that folds and
# tokenises exactly alike (not "-" for a dash: it could extend a link's scheme).
_TYPOGRAPHY = (
    ("\u2019", "'"),
    ("\u2018", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u2026", "..."),
    ("\xa0", " "),
)


def tokens(text: str) -> list[str]:
    """The folded tokens of ``text`` in order: words, ``#tags``, ``@mentions``, emoji, CJK chars."""
    if not text.isascii():
        for char, plain in _TYPOGRAPHY:
            if char in text:
                text = text.replace(char, plain)
        if not text.isascii():
            return _mixed_tokens(text)
    folded = text.lower()
    if "://" in folded or "www." in folded:
        folded = _drop_links(folded)
    return _ascii_tokens(folded)


_STARTS_EMOJI = re.compile(rf"[{_PICTOGRAPH}\U0001f1e6-\U0001f1ff]|[0-9#*]\u20e3")


def is_emoji(token: str) -> bool:
    """Whether a token from :func:`tokens` is an emoji, flag or keycap (not a word)."""
    return _STARTS_EMOJI.match(token) is not None
