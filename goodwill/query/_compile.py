"""Compiling a tree into nested closures, so matching never interprets the tree again.

Why closures: a topic index evaluates thousands of queries per second; walking the tree with
``isinstance`` dispatch on every call would cost more than the tests themselves. Each node
becomes one small function over a :class:`Document`:

- a word is a substring test on ``stream`` (``" acme "``, or ``"#acme "`` for its hashtag),
  cheaper than building a set of the post's tokens when only a few words are tested, and so is
  a prefix wildcard (``" deliver"``); the substring tests of an OR, of an AND, and of the
  exclusions of an AND are fused into one closure each;
- a phrase is a substring search in ``stream`` (``" customer service "``), with a regular
  expression only when the post has hashtags (a plain word also matches its hashtag) or the
  phrase has wildcards;
- any other wildcard is a regular expression over ``stream``, after a cheap check for its
  literal prefix;
- NEAR first checks that both sides occur at all, then compares token positions.

Children of AND/OR run cheapest first, and AND/OR stop at the first answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from goodwill.query._ast import And, Field, Near, Node, Not, Or, Phrase, Wildcard, Word, is_plain
from goodwill.query._document import Document
from goodwill.query._fields import PSEUDO, query_author_keys

__all__ = ["Matcher", "compile_tree", "cost"]

Matcher = Callable[[Document], bool]
Spans = Callable[[dict[str, list[int]]], list[tuple[int, int]]]


def cost(node: Node) -> int:
    """A rough price of evaluating ``node``, to run cheap children first."""
    if isinstance(node, Word):
        return 1
    if isinstance(node, Field):
        return 4 if node.wildcard or node.name == "url" else 1
    if isinstance(node, Wildcard):
        return 4
    if isinstance(node, Phrase):
        return 3 + sum(3 for w in node.words if isinstance(w, Wildcard))
    if isinstance(node, Not):
        return cost(node.child)
    if isinstance(node, Near):
        return 10 + cost(node.left) + cost(node.right)
    return sum(cost(c) for c in node.children)


def _atom_regex(atom: Word | Wildcard) -> str:
    """The regular expression for one token of ``stream`` (no surrounding spaces)."""
    text = atom.text if isinstance(atom, Word) else atom.pattern
    body = "".join(
        "[^ ]*" if c == "*" else "[^ ]" if c == "?" and isinstance(atom, Wildcard) else re.escape(c)
        for c in text
    )
    return "#?" + body if is_plain(text) else body


def _needles(word: str) -> tuple[str, ...]:
    """Where ``word`` shows in ``stream``: as a token, and as a hashtag if it is a plain word."""
    return (f" {word} ", f"#{word} ") if is_plain(word) else (f" {word} ",)


def _is_prefix(node: Wildcard) -> bool:
    """``deliver*``: one ``*``, at the end, so a substring test says it all."""
    pattern = node.pattern
    return pattern.endswith("*") and pattern.count("*") == 1 and "?" not in pattern


def _needles_of(node: Node) -> list[str] | None:
    """Substrings of ``stream`` of which one is there exactly when ``node`` matches, if any."""
    if isinstance(node, Word):
        return list(_needles(node.text))
    if isinstance(node, Wildcard) and _is_prefix(node):
        prefix = node.prefix
        return [" " + prefix, "#" + prefix] if is_plain(prefix) else [" " + prefix]
    if isinstance(node, Or):
        found: list[str] = []
        for child in node.children:
            needles = _needles_of(child)
            if needles is None:
                return None
            found += needles
        return found
    return None


def _any_needle(needles: list[str]) -> Matcher:
    if len(needles) == 1:
        needle = needles[0]
        return lambda doc: needle in doc.stream

    def match(doc: Document) -> bool:
        stream = doc.stream
        for needle in needles:  # noqa: SIM110 - a loop beats any() with a generator here
            if needle in stream:
                return True
        return False

    return match


def _no_needle(needles: list[str]) -> Matcher:
    def match(doc: Document) -> bool:
        stream = doc.stream
        for needle in needles:  # noqa: SIM110 - a loop beats all() with a generator here
            if needle in stream:
                return False
        return True

    return match


def _every_group(groups: list[list[str]]) -> Matcher:
    if len(groups) == 1:
        return _any_needle(groups[0])

    def match(doc: Document) -> bool:
        stream = doc.stream
        for needles in groups:
            for needle in needles:
                if needle in stream:
                    break
            else:
                return False
        return True

    return match


def _wildcard(node: Wildcard) -> Matcher:
    prefix = node.prefix
    search = re.compile(" " + _atom_regex(node) + " ").search

    def match(doc: Document) -> bool:
        stream = doc.stream
        return prefix in stream and search(stream) is not None

    return match


def _phrase(node: Phrase) -> Matcher:
    search = re.compile(" " + " ".join(_atom_regex(w) for w in node.words) + " ").search
    if any(isinstance(w, Wildcard) for w in node.words):
        literal = max((w.prefix for w in node.words if isinstance(w, Wildcard)), key=len)

        def match_wild(doc: Document) -> bool:
            stream = doc.stream
            return literal in stream and search(stream) is not None

        return match_wild
    needle = " " + " ".join(w.text for w in node.words if isinstance(w, Word)) + " "

    def match(doc: Document) -> bool:
        stream = doc.stream
        if needle in stream:
            return True
        return " #" in stream and search(stream) is not None

    return match


def _field(node: Field) -> Matcher:
    value = node.value
    if node.name == "url":
        if not node.wildcard:
            return lambda doc: value in doc.url_key
        pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
        url_search = re.compile(pattern, re.DOTALL).search
        return lambda doc: url_search(doc.url_key) is not None
    head = f"{PSEUDO}{node.name}="
    if node.wildcard:
        body = value.replace(" ", "_")
        regex = "".join("[^ ]*" if c == "*" else "[^ ]" if c == "?" else re.escape(c) for c in body)
        search = re.compile(" " + re.escape(head) + regex + " ").search
        return lambda doc: search(doc.stream) is not None
    if node.name == "author":
        wanted = frozenset(head + k for k in query_author_keys(value))
        return lambda doc: not wanted.isdisjoint(doc.fields)
    token = head + value
    return lambda doc: token in doc.fields


def _all(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    if len(matchers) == 2:
        first, second = matchers
        return lambda doc: first(doc) and second(doc)

    def match(doc: Document) -> bool:
        for m in matchers:  # noqa: SIM110 - hot path: a loop beats all()/any() over a generator
            if not m(doc):
                return False
        return True

    return match


def _any(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    if len(matchers) == 2:
        first, second = matchers
        return lambda doc: first(doc) or second(doc)

    def match(doc: Document) -> bool:
        for m in matchers:  # noqa: SIM110 - hot path: a loop beats all()/any() over a generator
            if m(doc):
                return True
        return False

    return match


def _bool(node: And | Or) -> Matcher:
    """AND/OR, with the children that are plain substring tests fused into one closure each.

    ``(acme OR acme* OR @acme)`` is one loop over five needles; in an AND, every needle group
    is checked in one closure, and the exclusions ``NOT (job* OR hiring)`` in another.
    """
    groups: list[list[str]] = []
    excluded: list[str] = []
    rest: list[Node] = []
    for child in dict.fromkeys(node.children):
        needles = _needles_of(child)
        if needles is not None:
            groups.append(needles)
            continue
        if isinstance(node, And) and isinstance(child, Not):
            needles = _needles_of(child.child)
            if needles is not None:
                excluded += needles
                continue
        rest.append(child)
    matchers = [compile_tree(c) for c in sorted(rest, key=cost)]
    if isinstance(node, Or):
        if groups:
            matchers.insert(0, _any_needle([n for g in groups for n in g]))
        return _any(matchers)
    if excluded:
        matchers.insert(0, _no_needle(excluded))
    if groups:
        matchers.insert(0, _every_group(groups))
    return _all(matchers)


def _token_spans(node: Word | Wildcard) -> Spans:
    if isinstance(node, Word):
        word = node.text
        return lambda pos: [(p, p + 1) for p in pos.get(word, ())]
    # positions hold the bare word of a hashtag too, so no "#?" here
    fullmatch = re.compile(_atom_regex(node).removeprefix("#?")).fullmatch
    return lambda pos: [(p, p + 1) for t, ps in pos.items() if fullmatch(t) for p in ps]


def _spans(node: Node) -> Spans:
    if isinstance(node, Word | Wildcard):
        return _token_spans(node)
    if isinstance(node, Phrase):
        parts = [_token_spans(w) for w in node.words]
        length = len(parts)

        def phrase_spans(pos: dict[str, list[int]]) -> list[tuple[int, int]]:
            starts = [s for s, _ in parts[0](pos)]
            later = [{s for s, _ in part(pos)} for part in parts[1:]]
            return [
                (s, s + length)
                for s in starts
                if all(s + i + 1 in found for i, found in enumerate(later))
            ]

        return phrase_spans
    assert isinstance(node, Or), node  # the parser only lets words, phrases and ORs in
    children = [_spans(c) for c in node.children]
    return lambda pos: [span for child in children for span in child(pos)]


def _near(node: Near) -> Matcher:
    present = _all([compile_tree(node.left), compile_tree(node.right)])
    left, right = _spans(node.left), _spans(node.right)
    distance, ordered = node.distance, node.ordered

    def match(doc: Document) -> bool:
        if not present(doc):
            return False
        pos = doc.positions()
        after = right(pos)
        for l_start, l_end in left(pos):
            for r_start, r_end in after:
                if l_end <= r_start:
                    if r_start - l_end < distance:
                        return True
                elif not ordered and r_end <= l_start and l_start - r_end < distance:
                    return True
        return False

    return match


def compile_tree(node: Node) -> Matcher:
    """A function telling whether a document matches ``node``."""
    needles = _needles_of(node)
    if needles is not None:  # a word, a prefix wildcard, or an OR of those
        return _any_needle(needles)
    if isinstance(node, Wildcard):
        return _wildcard(node)
    if isinstance(node, Phrase):
        return _phrase(node)
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Not):
        child = compile_tree(node.child)
        return lambda doc: not child(doc)
    if isinstance(node, Near):
        return _near(node)
    assert isinstance(node, And | Or), node  # a Word always has needles
    return _bool(node)
