"""Prefilter plans: what a post must contain, or must not, for a query to match.

Why: with ten thousand topics, evaluating every query on every post is far too slow. As in
Luwak/Monitor, each query gets *requirements*, sets of anchors such that the query cannot
match unless one anchor of each occurs in the post's ``stream``; one Aho-Corasick automaton over
all anchors then finds the few candidate queries of a post in a single pass.

- a word ``w`` → ``" w "``; the prefilter reads the stream with every hashtag's ``#`` removed,
  since a plain word also matches its hashtag (``#w`` is anchored as ``" w "`` too);
- a wildcard → its literal prefix with only the left boundary (``" deliver"``);
- a phrase → the phrase itself (its first three tokens: ``" customer service "``);
- AND and NEAR → every side is a requirement; OR → one, the union of its children's;
- NOT → no requirement, but when the excluded part has an exact anchor it becomes a *veto*:
  a post that contains it cannot match;
- fields → their pseudo-tokens (``" \\x01lang=en "``); ``url:`` cannot be anchored.

The rarest requirement is the query's anchor and the next rarest its second: the query is a
candidate only when both were met (a two-pass prefilter, like Luwak's multi-pass
presearcher). When the requirements and vetoes say exactly when the query matches (``acme OR
@acme``, ``acme (refund OR late*) NOT (job* OR hiring)``, the shape of most brand topics), the
query is never evaluated at all.

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
    query is a candidate only when both were met. A post that meets one of the ``vetoes`` (the
    exact form of an exclusion, ``NOT (job* OR hiring)``) cannot match. ``exact`` says that
    meeting the requirements and none of the vetoes *is* matching (``acme OR @acme``,
    ``acme (refund OR late) NOT job*``), so the query need not run at all.
    """

    anchor: Requirement | None
    second: Requirement | None = None
    vetoes: tuple[Requirement, ...] = ()
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
    if isinstance(node, Wildcard):
        pattern = node.pattern
        return pattern[0] != "#" and pattern.count("*") == 1 and pattern[-1] == "*"
    if isinstance(node, Phrase):
        return len(node.words) <= 3 and all(
            isinstance(w, Word) and w.text[0] != "#" for w in node.words
        )
    if isinstance(node, Field):
        return node.name != "url" and not node.wildcard
    if isinstance(node, Or):
        # acme OR #acme: the hashtag is already part of acme, whose anchor is exact
        plain = {c.text for c in node.children if isinstance(c, Word)}
        return all(
            _is_exact(c) or (isinstance(c, Word) and c.text[1:] in plain) for c in node.children
        )
    return False


def plan(node: Node) -> Plan:
    """The rarest requirement as the anchor, the next rarest as the second.

    An AND of at most two exactly-anchored parts, plus exclusions of exactly-anchored parts,
    needs no evaluation at all; that is most brand topics.
    """
    children = node.children if isinstance(node, And) else (node,)
    vetoes = tuple(
        requirements(c.child)[0] for c in children if isinstance(c, Not) and _is_exact(c.child)
    )
    positives = [c for c in children if not (isinstance(c, Not) and _is_exact(c.child))]
    if len(positives) <= 2 and all(_is_exact(p) for p in positives):
        exact = sorted((requirements(p)[0] for p in positives), key=_order)
        return Plan(exact[0], exact[1] if len(exact) > 1 else None, vetoes, exact=True)
    found = sorted(set(requirements(node)), key=_order)
    if not found:
        return Plan(None, None, vetoes)
    return Plan(found[0], found[1] if len(found) > 1 else None, vetoes)
