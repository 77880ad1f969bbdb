"""Many queries matched together: an Aho-Corasick prefilter, then compiled closures.

Why: a Goodwill server holds the topics of every workspace, thousands of queries, and every
incoming post must be matched against all of them. Most queries cannot match most posts, and
their anchors (``_anchors``) prove it cheaply: one automaton over every anchor of every query
runs once over the post's ``stream`` and names the candidates; only those are evaluated. The
automaton is rebuilt lazily, on the first match after queries were added or removed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import ahocorasick

from goodwill.query._compile import Matcher
from goodwill.query._document import Document
from goodwill.query._query import Query

__all__ = ["TopicIndex"]


class TopicIndex:
    """Queries under keys such as ``(workspace_id, topic_id)``; ``match`` names the keys."""

    def __init__(self) -> None:
        self._queries: dict[Hashable, Query] = {}
        self._stale = True
        self._automaton: ahocorasick.Automaton | None = None
        self._keys: list[Hashable] = []
        self._matchers: list[Matcher] = []
        self._always: tuple[int, ...] = ()

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
        by_anchor: dict[str, list[int]] = {}
        always: list[int] = []
        self._keys = list(self._queries)
        self._matchers = []
        for slot, query in enumerate(self._queries.values()):
            self._matchers.append(query._matcher)
            found = query._anchors
            if found is None:
                always.append(slot)
                continue
            for anchor in found[0]:
                by_anchor.setdefault(anchor, []).append(slot)
        automaton = None
        if by_anchor:
            automaton = ahocorasick.Automaton()
            for anchor, slots in by_anchor.items():
                automaton.add_word(anchor, tuple(slots))
            automaton.make_automaton()
        self._automaton = automaton
        self._always = tuple(always)
        self._stale = False

    def match(self, doc: Document) -> list[Hashable]:
        """The keys of every query that matches ``doc``, in the order they were first added."""
        if self._stale:
            self._rebuild()
        candidates: set[int] = set(self._always)
        if self._automaton is not None:
            for _end, slots in self._automaton.iter(doc.stream):
                candidates.update(slots)
        if not candidates:
            return []
        matchers, keys = self._matchers, self._keys
        return [keys[s] for s in sorted(candidates) if matchers[s](doc)]

    def match_batch(self, docs: Sequence[Document]) -> list[list[Hashable]]:
        """``match`` for each document, in order."""
        return [self.match(doc) for doc in docs]
