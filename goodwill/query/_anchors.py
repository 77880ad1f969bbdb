"""Anchors: the strings a post must contain for a query to have any chance of matching.

Why: with ten thousand topics, evaluating every query on every post is far too slow. As in
Luwak/Monitor, each query gets an *anchor set* such that the query cannot match unless one of
its anchors occurs in the post's ``stream``; one Aho-Corasick automaton over all anchors then
finds the few candidate queries of a post in a single pass.

- a word ``w`` → ``" w "`` (and ``"#w "``: a plain word also matches its hashtag);
- a wildcard → its literal prefix with only the left boundary (``" deliver"``, ``"#deliver"``);
- a phrase or a NEAR → the anchors of its rarest part (every part must occur);
- AND → the rarest child's anchors; OR → the union of its children's (all must be anchorable);
- NOT → nothing (a query is never anchored by what it excludes);
- fields → their pseudo-tokens (``" \\x01lang=en "``); ``url:`` cannot be anchored.

"Rarest" is a guess, because the index has no corpus statistics: common words and short words
are assumed frequent, long words rare, prefixes more frequent than whole words, and a language
or a source very frequent. A query without anchors (``url:x`` alone) is evaluated on every post.
"""

from __future__ import annotations

from goodwill.query._ast import And, Field, Near, Node, Not, Or, Phrase, Wildcard, Word, is_plain
from goodwill.query._fields import PSEUDO, query_author_keys

__all__ = ["Anchors", "anchors"]

Anchors = tuple[frozenset[str], float]
"""The anchor strings, and an estimate of how often one of them occurs in a post."""

_COMMON = frozenset(
    """
    a about after all also am an and any are as at be because been but by can could did do
    does don't for from get got had has have he her here him his how i i'm if in into is it
    its just know like me more my new no not now of on one or our out so some than that the
    their them then there these they this to too up us was we were what when which who will
    with would you your rt amp im via de la le les el en et un une des der die das und y que
    e o da do em para com por il di per non
    """.split()
)
_FIELD_RATE = {"lang": 0.3, "source": 0.3, "site": 0.01, "author": 0.001}


def _word_rate(token: str) -> float:
    if token in _COMMON:
        return 0.05
    body = token.lstrip("#@")
    length = len(body)
    rate = 0.03 if length <= 1 else 0.02 if length == 2 else 0.01 if length == 3 else 0.004
    if length >= 6:
        rate = 0.002
    if length >= 9:
        rate = 0.001
    if body.isdigit():
        rate *= 2
    if token[0] in "#@":
        rate *= 0.5
    return rate


def _atom(node: Word | Wildcard) -> Anchors:
    if isinstance(node, Word):
        text = node.text
        found = {f" {text} "}
        if is_plain(text):
            found.add(f"#{text} ")
        return frozenset(found), _word_rate(text)
    prefix = node.prefix
    found = {" " + prefix}
    if is_plain(prefix):
        found.add("#" + prefix)
    return frozenset(found), _word_rate(prefix) * 4


def _phrase(node: Phrase) -> Anchors:
    """The phrase itself (its first three tokens), spelt with and without hashtags.

    ``"customer service"`` → ``" customer service "``, ``"#customer service "``,
    ``" customer #service "``, ``"#customer #service "``: far rarer than either word alone.
    When a wildcard comes early, the rarest single token has to do.
    """
    head: list[Word] = []
    for word in node.words[:3]:
        if not isinstance(word, Word):
            break
        head.append(word)
    if len(head) < 2:
        return _cheapest([_atom(w) for w in node.words]) or _atom(node.words[0])
    first = head[0].text
    variants = [" " + first, "#" + first] if is_plain(first) else [" " + first]
    for word in head[1:]:
        spellings = [word.text, "#" + word.text] if is_plain(word.text) else [word.text]
        variants = [f"{v} {s}" for v in variants for s in spellings]
    rate = min(_word_rate(w.text) for w in head) * 0.1
    return frozenset(v + " " for v in variants), rate


def _field(node: Field) -> Anchors | None:
    if node.name == "url":
        return None
    head = f" {PSEUDO}{node.name}="
    rate = _FIELD_RATE[node.name]
    if node.wildcard:
        cut = min(i for i in (node.value.find("*"), node.value.find("?")) if i >= 0)
        return frozenset({head + node.value[:cut].replace(" ", "_")}), min(1.0, rate * 4)
    if node.name == "author":
        return frozenset(f"{head}{k} " for k in query_author_keys(node.value)), rate
    return frozenset({f"{head}{node.value} "}), rate


def _cheapest(options: list[Anchors | None]) -> Anchors | None:
    usable = [o for o in options if o is not None]
    return min(usable, key=lambda o: (o[1], len(o[0]))) if usable else None


def anchors(node: Node) -> Anchors | None:
    """The anchor set of ``node``, or None when it cannot be anchored."""
    if isinstance(node, Word | Wildcard):
        return _atom(node)
    if isinstance(node, Phrase):
        return _phrase(node)
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Not):
        return None
    if isinstance(node, Near):
        return _cheapest([anchors(node.left), anchors(node.right)])
    if isinstance(node, And):
        return _cheapest([anchors(c) for c in node.children])
    union: set[str] = set()
    total = 0.0
    for child in node.children:
        found = anchors(child)
        if found is None:
            return None
        union |= found[0]
        total += found[1]
    return frozenset(union), min(1.0, total)
