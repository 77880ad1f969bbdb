"""Anchors: what a post must contain for a query to have any chance of matching.

Why: with ten thousand topics, evaluating every query on every post is far too slow. As in
Luwak/Monitor, each query gets an *anchor set* such that the query cannot match unless one of
its anchors occurs in the post's ``stream``; one Aho-Corasick automaton over all anchors then
finds the few candidate queries of a post in a single pass.

- a word ``w`` → ``" w "``; the prefilter reads the stream with every hashtag's ``#`` removed,
  since a plain word also matches its hashtag (``#w`` is anchored as ``" w "`` too);
- a wildcard → its literal prefix with only the left boundary (``" deliver"``);
- a phrase → the phrase itself (its first three tokens: ``" customer service "``);
- AND and NEAR → every side is required; OR → the union of its children's (each must have one);
- NOT → nothing (a query is never anchored by what it excludes);
- fields → their pseudo-tokens (``" \\x01lang=en "``); ``url:`` cannot be anchored.

A query usually has several requirements (``Acme AND (refund OR late)``: ``Acme``, and one of
``refund``/``late``). The rarest is the query's anchor; the next rarest, when it is rare
enough, goes into the automaton as well, and the query is a candidate only when both were met:
a two-pass prefilter, like Luwak's multi-pass presearcher.

"Rarest" is a guess, since the index has no corpus statistics: common and short words are
assumed frequent, long words rare, a phrase rarer than its words, a prefix more frequent than a
word, and a language or source very frequent. A query with no requirement at all (``url:x``
alone) is evaluated on every post.
"""

from __future__ import annotations

from dataclasses import dataclass

from goodwill.query._ast import And, Field, Near, Node, Not, Or, Phrase, Wildcard, Word
from goodwill.query._fields import PSEUDO, query_author_keys

__all__ = ["Plan", "Requirement", "plan", "requirements"]

# Words too frequent to be good anchors (English, and the commonest of a few other languages).
_COMMON_WORDS = (
    "a about after all also am an and any are as at be because been but by can could did do "
    "does don't for from get got had has have he her here him his how i i'm if in into is "
    "it its just know like me more my new no not now of on one or our out so some than that "
    "the their them then there these they this to too up us was we were what when which who "
    "will with would you your rt amp im via de la le les el en et un une des der die das "
    "und y que e o da do em para com por il di per non"
)
_COMMON = frozenset(_COMMON_WORDS.split())
_FIELD_RATE = {"lang": 0.3, "source": 0.3, "site": 0.01, "author": 0.001}
_SECOND_MAX_RATE = 0.05


@dataclass(frozen=True, slots=True)
class Requirement:
    """One of ``patterns`` occurs in the stream whenever the query matches.

    ``rate`` guesses the share of posts that meet it.
    """

    patterns: frozenset[str]
    rate: float


@dataclass(frozen=True, slots=True)
class Plan:
    """How the index prefilters one query.

    ``anchor`` None means the query runs on every post. With a ``second`` requirement, the
    query is a candidate only when both were met. ``exact`` says that meeting the anchor *is*
    matching (``acme OR @acme OR "acme air"``), so the query need not run at all.
    """

    anchor: Requirement | None
    second: Requirement | None = None
    exact: bool = False


def _word_rate(token: str) -> float:
    if token in _COMMON:
        return 0.05
    body = token.lstrip("#@")
    length = len(body)
    rate = (0.03, 0.03, 0.02, 0.01, 0.005, 0.004, 0.002, 0.002, 0.0015)[min(length, 8)]
    if length >= 10:
        rate = 0.001
    if body.isdigit():
        rate *= 2
    if token[0] in "#@":
        rate *= 0.5
    return rate


def _bare(token: str) -> str:
    """The prefilter reads hashtags without their ``#`` (``#acme`` and ``acme`` look alike)."""
    return token[1:] if token[0] == "#" else token


def _word(word: Word) -> Requirement:
    text = word.text
    return Requirement(frozenset({f" {_bare(text)} "}), _word_rate(text))


def _wildcard(node: Wildcard) -> Requirement:
    prefix = node.prefix
    return Requirement(frozenset({" " + _bare(prefix)}), min(1.0, _word_rate(prefix) * 4))


def _phrase(node: Phrase) -> Requirement:
    """The phrase itself, or its first three tokens: far rarer than either word alone.

    When a wildcard comes early, the rarest single token has to do.
    """
    words = [w for w in node.words if isinstance(w, Word)]
    rarest = min(words, key=lambda w: _word_rate(w.text)) if words else None
    head: list[Word] = []
    for word in node.words[:3]:
        if not isinstance(word, Word):
            break
        head.append(word)
    if len(head) < 2:
        if rarest is not None:
            return _word(rarest)
        return min((_wildcard(w) for w in node.words if isinstance(w, Wildcard)), key=_order)
    pattern = " " + " ".join(_bare(w.text) for w in head) + " "
    rate = min(_word_rate(w.text) for w in head) * 0.1
    return Requirement(frozenset({pattern}), rate)


def _field(node: Field) -> Requirement | None:
    if node.name == "url":
        return None
    head = f"{PSEUDO}{node.name}="
    rate = _FIELD_RATE[node.name]
    if node.wildcard:
        cut = min(i for i in (node.value.find("*"), node.value.find("?")) if i >= 0)
        prefix = " " + head + node.value[:cut].replace(" ", "_")
        return Requirement(frozenset({prefix}), min(1.0, rate * 4))
    values = query_author_keys(node.value) if node.name == "author" else [node.value]
    return Requirement(frozenset(f" {head}{v} " for v in values), rate)


def _order(req: Requirement) -> tuple[float, int, list[str]]:
    return (req.rate, len(req.patterns), sorted(req.patterns))


def requirements(node: Node) -> list[Requirement]:
    """Requirements that must *all* be met for ``node`` to match (empty: none known).

    An AND or a NEAR needs each of its sides, so it contributes the requirements of every
    anchorable child; an OR needs one of its children, so it contributes one requirement, the
    union of each child's rarest (none at all if one child has none).
    """
    if isinstance(node, Word):
        return [_word(node)]
    if isinstance(node, Wildcard):
        return [_wildcard(node)]
    if isinstance(node, Phrase):
        return [_phrase(node)]
    if isinstance(node, Field):
        found = _field(node)
        return [found] if found is not None else []
    if isinstance(node, Not):
        return []
    if isinstance(node, Near):
        return requirements(node.left) + requirements(node.right)
    if isinstance(node, And):
        return [req for child in node.children for req in requirements(child)]
    best: list[Requirement] = []
    for child in node.children:
        options = requirements(child)
        if not options:
            return []
        best.append(min(options, key=_order))
    patterns = frozenset().union(*(r.patterns for r in best))
    return [Requirement(patterns, min(1.0, sum(r.rate for r in best)))]


def _is_exact(node: Node) -> bool:
    """True when the requirement of ``node`` says exactly when it matches.

    A hashtag is not: the prefilter reads ``#acme`` as ``acme``.
    """
    if isinstance(node, Word):
        return node.text[0] != "#"
    if isinstance(node, Phrase):
        return len(node.words) <= 3 and all(
            isinstance(w, Word) and w.text[0] != "#" for w in node.words
        )
    if isinstance(node, Field):
        return node.name != "url" and not node.wildcard
    if isinstance(node, Or):
        return all(_is_exact(c) for c in node.children)
    return False


def plan(node: Node) -> Plan:
    """The rarest requirement as the anchor, the next rarest (if rare enough) as the second."""
    found = sorted(set(requirements(node)), key=_order)
    if not found:
        return Plan(None)
    second = found[1] if len(found) > 1 and found[1].rate <= _SECOND_MAX_RATE else None
    return Plan(found[0], second, _is_exact(node))
