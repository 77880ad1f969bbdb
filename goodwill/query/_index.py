"""Many queries matched together: an Aho-Corasick prefilter, then compiled closures.

Why: a Goodwill server holds the topics of every workspace, thousands of queries, and every
incoming post must be matched against all of them. Most queries cannot match most posts, and
their prefilter plans (``_anchors``) prove it cheaply:

1. one automaton over the anchors of every query runs once over the text part of the post's
   ``stream``, read with the hashtags' ``#`` removed (field anchors are pseudo-tokens, looked
   up in a dict instead; wildcard field anchors get a small automaton over the pseudo-tokens);
   each anchor names the queries for which it is the first requirement and those for which it
   is the second;
2. a query with two requirements is a candidate only when both were met (set operations);
3. candidates are evaluated, except those whose anchor already says the answer.

The automata are rebuilt lazily, on the first match after queries were added or removed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import ahocorasick

from goodwill.query._compile import Matcher
from goodwill.query._document import Document
from goodwill.query._fields import PSEUDO
from goodwill.query._query import Query

__all__ = ["TopicIndex"]

_FIELD_MARK = " " + PSEUDO
_MAX_SECOND = 64
"""A second requirement shared by more queries than this costs more than it saves."""

Slots = tuple[frozenset[int], frozenset[int]]
"""For one anchor: the queries it is the first requirement of, and those it is the second of."""


class _Anchors:
    """Anchor → slots, sorted into word patterns, exact field tokens and field prefixes."""

    def __init__(self) -> None:
        self.words: dict[str, tuple[list[int], list[int]]] = {}
        self.fields: dict[str, tuple[list[int], list[int]]] = {}
        self.field_prefixes: dict[str, tuple[list[int], list[int]]] = {}

    def add(self, pattern: str, slot: int, which: int) -> None:
        if not pattern.startswith(_FIELD_MARK):
            table, key = self.words, pattern
        elif pattern.endswith(" "):
            table, key = self.fields, pattern[1:-1]
        else:
            table, key = self.field_prefixes, pattern
        table.setdefault(key, ([], []))[which].append(slot)


def _frozen(table: dict[str, tuple[list[int], list[int]]]) -> dict[str, Slots]:
    return {key: (frozenset(first), frozenset(second)) for key, (first, second) in table.items()}


def _automaton(table: dict[str, tuple[list[int], list[int]]]) -> ahocorasick.Automaton | None:
    if not table:
        return None
    automaton = ahocorasick.Automaton()
    for pattern, slots in _frozen(table).items():
        automaton.add_word(pattern, slots)
    automaton.make_automaton()
    return automaton


class TopicIndex:
    """Queries under keys such as ``(workspace_id, topic_id)``; ``match`` names the keys."""

    def __init__(self) -> None:
        self._queries: dict[Hashable, Query] = {}
        self._stale = True
        self._keys: list[Hashable] = []
        self._matchers: list[Matcher | None] = []
        self._words: ahocorasick.Automaton | None = None
        self._field_prefixes: ahocorasick.Automaton | None = None
        self._fields: dict[str, Slots] = {}
        self._field_tokens: frozenset[str] = frozenset()
        self._always: tuple[int, ...] = ()
        self._paired: frozenset[int] = frozenset()

    def add(self, key: Hashable, query: Query) -> None:
        """Add ``query`` under ``key``; a key that is already there gets the new query."""
        self._queries[key] = query
        self._stale = True

    def remove(self, key: Hashable) -> None:
        """Forget ``key``; removing a key that is not there does nothing."""
        if self._queries.pop(key, None) is not None:
            self._stale = True

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, key: object) -> bool:
        return key in self._queries

    def _rebuild(self) -> None:
        plans = [query._plan for query in self._queries.values()]
        shared: dict[str, int] = {}
        for prefilter in plans:
            if prefilter.second is not None:
                for pattern in prefilter.second.patterns:
                    shared[pattern] = shared.get(pattern, 0) + 1
        anchors = _Anchors()
        always: list[int] = []
        paired: list[int] = []
        for slot, prefilter in enumerate(plans):
            if prefilter.anchor is None:
                always.append(slot)
                continue
            for pattern in prefilter.anchor.patterns:
                anchors.add(pattern, slot, 0)
            second = prefilter.second
            if second is not None and all(shared[p] <= _MAX_SECOND for p in second.patterns):
                paired.append(slot)
                for pattern in second.patterns:
                    anchors.add(pattern, slot, 1)
        self._keys = list(self._queries)
        self._matchers = [
            None if prefilter.exact else query._matcher
            for prefilter, query in zip(plans, self._queries.values(), strict=True)
        ]
        self._words = _automaton(anchors.words)
        self._field_prefixes = _automaton(anchors.field_prefixes)
        self._fields = _frozen(anchors.fields)
        self._field_tokens = frozenset(self._fields)
        self._always = tuple(always)
        self._paired = frozenset(paired)
        self._stale = False

    def candidates(self, doc: Document) -> set[int]:
        """Slots of the queries that the prefilter lets through for ``doc``."""
        if self._stale:
            self._rebuild()
        first: set[int] = set(self._always)
        hits: list[Slots] = []
        if self._words is not None:
            text = doc.stream[: doc.text_end]
            if " #" in text:
                text = text.replace(" #", " ")
            hits = [slots for _end, slots in self._words.iter(text)]
        if not self._field_tokens.isdisjoint(doc.fields):
            hits += [self._fields[t] for t in doc.fields if t in self._fields]
        if self._field_prefixes is not None and doc.fields:
            hits += [s for _end, s in self._field_prefixes.iter(doc.stream, doc.text_end - 1)]
        for firsts, _seconds in hits:
            if firsts:
                first.update(firsts)
        if not first:
            return first
        paired = self._paired
        if paired.isdisjoint(first):
            return first
        # a query with a second requirement is a candidate only when that was met too
        second: set[int] = set()
        for _firsts, seconds in hits:
            if seconds:
                second.update(seconds)
        return (first - paired) | (first & second)

    def match(self, doc: Document) -> list[Hashable]:
        """The keys of every query that matches ``doc``, in the order they were first added."""
        found = self.candidates(doc)
        if not found:
            return []
        matchers, keys = self._matchers, self._keys
        if len(found) == 1:
            slot = found.pop()
            run = matchers[slot]
            return [keys[slot]] if run is None or run(doc) else []
        out = []
        for slot in sorted(found):
            run = matchers[slot]
            if run is None or run(doc):
                out.append(keys[slot])
        return out

    def match_batch(self, docs: Sequence[Document]) -> list[list[Hashable]]:
        """``match`` for each document, in order."""
        return [self.match(doc) for doc in docs]
