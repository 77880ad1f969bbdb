"""Many queries matched together: an Aho-Corasick prefilter, then compiled closures.

Why: a Goodwill server holds the topics of every workspace, thousands of queries, and every
incoming post must be matched against all of them. Most queries cannot match most posts, and
their prefilter plans (``_anchors``) prove it cheaply:

1. one automaton over the anchors of every query runs once over the text part of the post's
   ``stream``, read with the hashtags' ``#`` removed, and names the anchors found (field
   anchors are pseudo-tokens, looked up in a dict instead; wildcard field anchors get a small
   automaton over the pseudo-tokens);
2. the queries whose first requirement is among them are the candidates, minus those whose
   second requirement is not, and minus those with a veto among them (the exact form of one of
   their exclusions);
3. candidates are evaluated, except those whose plan already says the answer.

With ten thousand topics the index is larger than the processor's caches, so the layout is
chosen for few memory reads per post: anchors are numbers, an anchor's queries one tuple in a
list, and a query's second requirement and vetoes (sets of anchor numbers) are looked at only
when that query is a candidate.

The automata are rebuilt lazily, on the first match after queries were added or removed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import ahocorasick

from goodwill.query._anchors import Requirement
from goodwill.query._compile import Matcher
from goodwill.query._document import Document
from goodwill.query._fields import PSEUDO
from goodwill.query._query import Query

__all__ = ["TopicIndex"]

_FIELD_MARK = " " + PSEUDO
_NONE: frozenset[int] = frozenset()


class _Anchors:
    """Every anchor pattern gets a number; word patterns, field tokens and field prefixes."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.firsts: list[list[int]] = []  # anchor number → queries it is the first requirement of

    def number(self, pattern: str) -> int:
        found = self.ids.get(pattern)
        if found is None:
            found = self.ids[pattern] = len(self.firsts)
            self.firsts.append([])
        return found

    def numbers(self, requirement: Requirement) -> frozenset[int]:
        return frozenset(self.number(p) for p in requirement.patterns)

    def automaton(self, field_prefixes: bool) -> ahocorasick.Automaton | None:
        """The automaton over the word patterns, or over the field prefixes."""
        if field_prefixes:
            chosen = [p for p in self.ids if p.startswith(_FIELD_MARK) and not p.endswith(" ")]
        else:
            chosen = [p for p in self.ids if not p.startswith(_FIELD_MARK)]
        if not chosen:
            return None
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for pattern in sorted(chosen):  # depth-first insertion order: fewer cache misses
            automaton.add_word(pattern, self.ids[pattern])
        automaton.make_automaton()
        return automaton

    def fields(self) -> dict[str, int]:
        """Field pseudo-token → anchor number, for the exact field anchors."""
        return {
            p[1:-1]: i for p, i in self.ids.items() if p.startswith(_FIELD_MARK) and p.endswith(" ")
        }


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
        self._firsts: list[tuple[int, ...]] = []
        self._always: tuple[int, ...] = ()
        self._seconds: list[frozenset[int]] = []
        self._vetoes: list[frozenset[int]] = []

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
        anchors = _Anchors()
        always: list[int] = []
        self._seconds = []
        self._vetoes = []
        self._matchers = []
        # one block of int objects for every query number, shared by all the tables below: a
        # post touches a few dozen of them, and neighbours in memory stay in cache together
        slots = list(range(len(queries)))
        for slot, query in zip(slots, queries, strict=True):
            plan = query._plan
            if plan.anchor is None:
                always.append(slot)
            else:
                for number in anchors.numbers(plan.anchor):
                    anchors.firsts[number].append(slot)
            second = _NONE
            if plan.second is not None:
                second = anchors.numbers(plan.second)
            vetoes = _NONE
            if plan.vetoes:
                vetoes = frozenset().union(*(anchors.numbers(v) for v in plan.vetoes))
            self._seconds.append(second)
            self._vetoes.append(vetoes)
            self._matchers.append(None if plan.exact else query._matcher)
        self._keys = list(self._queries)
        self._firsts = [tuple(firsts) for firsts in anchors.firsts]
        self._words = anchors.automaton(field_prefixes=False)
        self._field_prefixes = anchors.automaton(field_prefixes=True)
        self._fields = anchors.fields()
        self._always = tuple(always)
        self._stale = False

    def _anchors_in(self, doc: Document) -> list[int]:
        """The numbers of the anchors found in ``doc``: the automaton pass, and field lookups."""
        found: list[int] = []
        if self._words is not None:
            text = doc.stream[: doc.text_end]
            if " #" in text:
                text = text.replace(" #", " ")
            found = [number for _end, number in self._words.iter(text)]
        if doc.fields:
            fields = self._fields
            if fields:
                found += [fields[t] for t in doc.fields if t in fields]
            if self._field_prefixes is not None:
                found += [n for _end, n in self._field_prefixes.iter(doc.stream, doc.text_end - 1)]
        return found

    def _resolve(self, anchors: list[int]) -> set[int]:
        """Candidate queries from the anchors found: first requirements, seconds, vetoes."""
        found: set[int] = set(self._always) if self._always else set()
        if anchors:
            firsts = self._firsts
            found.update(*[firsts[a] for a in anchors])
        if not found:
            return found
        hit = set(anchors)
        seconds, vetoes = self._seconds, self._vetoes
        return {
            slot
            for slot in found
            if (seconds[slot] is _NONE or not seconds[slot].isdisjoint(hit))
            and vetoes[slot].isdisjoint(hit)
        }

    def candidates(self, doc: Document) -> set[int]:
        """Numbers of the queries that the prefilter lets through for ``doc``."""
        if self._stale:
            self._rebuild()
        return self._resolve(self._anchors_in(doc))

    def _evaluate(self, doc: Document, found: set[int]) -> list[Hashable]:
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

    def match(self, doc: Document) -> list[Hashable]:
        """The keys of every query that matches ``doc``, in the order they were first added."""
        if self._stale:
            self._rebuild()
        return self._evaluate(doc, self._resolve(self._anchors_in(doc)))

    def match_batch(self, docs: Sequence[Document]) -> list[list[Hashable]]:
        """``match`` for each document, in order.

        The automaton runs over all the documents first, then their candidates are resolved
        and evaluated, so each stage finds its tables still in the processor's cache.
        """
        if self._stale:
            self._rebuild()
        found = [self._anchors_in(doc) for doc in docs]
        return [self._evaluate(doc, self._resolve(f)) for doc, f in zip(docs, found, strict=True)]
