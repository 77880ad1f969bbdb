"""Many queries matched together: an Aho-Corasick prefilter, then compiled closures.

Why: a Goodwill server holds the topics of every workspace, thousands of queries, and every
incoming post must be matched against all of them. Most queries cannot match most posts, and
their prefilter plans (``_anchors``) prove it cheaply:

1. one automaton over the anchors of every query runs once over the text part of the post's
   ``stream``, read with the hashtags' ``#`` removed (field anchors are pseudo-tokens, looked
   up in a dict instead; wildcard field anchors get a small automaton over the pseudo-tokens);
   each anchor names the queries for which it is the first requirement, those for which it is
   the second, and those it vetoes (it is the exact form of one of their exclusions);
2. a query with two requirements is a candidate only when both were met, and never when one of
   its vetoes was (set operations);
3. candidates are evaluated, except those whose plan already says the answer.

With ten thousand topics the index is larger than the processor's caches, so the layout is
chosen for few memory reads per post: an anchor that is the first requirement of exactly one
query (most are) is stored as that query's number itself, other anchors as a number into a
table, and which queries have second requirements or vetoes is one byte per query.

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
_FIRST, _SECOND, _VETO = 0, 1, 2
_PAIRED, _VETOED = 1, 2  # flags per query

Roles = tuple[tuple[int, ...], frozenset[int], frozenset[int]]
"""For one anchor: the queries it is the first requirement of, the second of, and vetoes.

The last two are sets, so that intersecting them with a post's few candidates costs in
proportion to the candidates, however many queries share a common second word or exclusion.
"""


class _Tables:
    """Anchor → roles, for word patterns, exact field tokens and field prefixes.

    ``encode`` gives each anchor one integer: a query number when the anchor is the first
    requirement of that query alone, or ``size`` plus a position in ``roles``.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.words: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self.fields: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self.field_prefixes: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self.roles: list[Roles] = []

    def add(self, pattern: str, slot: int, role: int) -> None:
        if not pattern.startswith(_FIELD_MARK):
            table, key = self.words, pattern
        elif pattern.endswith(" "):
            table, key = self.fields, pattern[1:-1]
        else:
            table, key = self.field_prefixes, pattern
        table.setdefault(key, ([], [], []))[role].append(slot)

    def encode(self, firsts: list[int], seconds: list[int], vetoes: list[int]) -> int:
        if len(firsts) == 1 and not seconds and not vetoes:
            return firsts[0]
        self.roles.append((tuple(firsts), frozenset(seconds), frozenset(vetoes)))
        return self.size + len(self.roles) - 1

    def automaton(
        self, table: dict[str, tuple[list[int], list[int], list[int]]]
    ) -> ahocorasick.Automaton | None:
        if not table:
            return None
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for pattern in sorted(table):  # trie nodes in depth-first order: fewer cache misses
            automaton.add_word(pattern, self.encode(*table[pattern]))
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
        self._fields: dict[str, int] = {}
        self._roles: list[Roles] = []
        self._size = 0
        self._always: tuple[int, ...] = ()
        self._flags = bytearray()

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
        queries = list(self._queries.values())
        size = len(queries)
        tables = _Tables(size)
        always: list[int] = []
        flags = bytearray(size)
        self._matchers = []
        for slot, query in enumerate(queries):
            plan = query._plan
            if plan.anchor is None:
                always.append(slot)
            else:
                for pattern in plan.anchor.patterns:
                    tables.add(pattern, slot, _FIRST)
            if plan.second is not None:
                flags[slot] |= _PAIRED
                for pattern in plan.second.patterns:
                    tables.add(pattern, slot, _SECOND)
            for veto in plan.vetoes:
                flags[slot] |= _VETOED
                for pattern in veto.patterns:
                    tables.add(pattern, slot, _VETO)
            self._matchers.append(None if plan.exact else query._matcher)
        self._keys = list(self._queries)
        self._words = tables.automaton(tables.words)
        self._field_prefixes = tables.automaton(tables.field_prefixes)
        self._fields = {token: tables.encode(*roles) for token, roles in tables.fields.items()}
        self._roles = tables.roles
        self._size = size
        self._always = tuple(always)
        self._flags = flags
        self._stale = False

    def candidates(self, doc: Document) -> set[int]:
        """Slots of the queries that the prefilter lets through for ``doc``."""
        if self._stale:
            self._rebuild()
        size = self._size
        found: set[int] = set(self._always)
        shared: list[int] = []  # anchors with more to them than one query's first requirement
        if self._words is not None:
            text = doc.stream[: doc.text_end]
            if " #" in text:
                text = text.replace(" #", " ")
            for _end, code in self._words.iter(text):
                if code < size:
                    found.add(code)
                else:
                    shared.append(code - size)
        fields = self._fields
        if fields:
            for token in doc.fields:
                code = fields.get(token)
                if code is None:
                    continue
                if code < size:
                    found.add(code)
                else:
                    shared.append(code - size)
        if self._field_prefixes is not None and doc.fields:
            for _end, code in self._field_prefixes.iter(doc.stream, doc.text_end - 1):
                if code < size:
                    found.add(code)
                else:
                    shared.append(code - size)
        roles = [self._roles[i] for i in shared]
        if roles:
            found.update(*[firsts for firsts, _seconds, _vetoes in roles])
        need = 0
        flags = self._flags
        for slot in found:
            need |= flags[slot]
        if need & _PAIRED:
            # a query with a second requirement is a candidate only when that was met too
            met = {slot for slot in found if not flags[slot] & _PAIRED}
            for _firsts, seconds, _vetoes in roles:
                if seconds:
                    met |= found & seconds
            found = met
        if need & _VETOED:
            for _firsts, _seconds, vetoes in roles:
                if vetoes:
                    found = found - vetoes
        return found

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
