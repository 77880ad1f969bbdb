"""From items to stored mentions: the pipeline and the store, batch by batch.

Everything that brings posts in (file imports, the listener, Celery workers) calls
``Ingestor.ingest``. The cursor that follows a batch is written in the same transaction as the
batch, so a crash at any point resumes without losing or repeating anything.

Everything runs in one process, batch after batch. We measured a pipeline worker process and a
writer thread (benchmarks/bench_ingest.py): on the two vCPUs of our reference machine two busy
processes run no faster than one, and a thread convoys on the GIL, which SQLite gives up for
every row it steps. Scale-out is Celery workers (``goodwill.workers``), each running this
same loop.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import islice
from typing import Any

from goodwill.pipeline.analyse import default_analyzers
from goodwill.pipeline.batch import (
    Analyzer,
    ItemProblem,
    TopicSpec,
    build_topic_index,
    process_batch,
)
from goodwill.query import TopicIndex
from goodwill.settings import Settings
from goodwill.sources.files import ReadProblem
from goodwill.store.repository import Repository
from goodwill.store.writer import WriteResult, write_batch

__all__ = ["IngestReport", "Ingestor"]

MAX_PROBLEMS_KEPT = 1000
# Objects allocated between collections of the youngest generation while a batch is in flight.
_GC_YOUNG_THRESHOLD = 50_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Let the cyclic garbage collector run less often while batches flow.

    A batch allocates hundreds of thousands of short-lived containers (post dicts, tokens, rows)
    that reference counting frees, but each 700 allocations the default thresholds start a
    collection, and every tenth of those walks the older generations, which hold the compiled
    topics. Measured on bench_ingest: a fifth of the CPU time. Cycles are still collected,
    only in larger steps, and the previous thresholds come back afterwards.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], _GC_YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@dataclass(slots=True)
class IngestReport:
    read: int = 0
    written: WriteResult = field(default_factory=WriteResult)
    problems: list[ItemProblem] = field(default_factory=list)
    problem_count: int = 0

    def note(self, problems: Iterable[ItemProblem]) -> None:
        for problem in problems:
            self.problem_count += 1
            if len(self.problems) < MAX_PROBLEMS_KEPT:
                self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        w = self.written
        return {
            "read": self.read,
            "inserted": w.inserted,
            "updated": w.updated,
            "unchanged": w.unchanged,
            "duplicates": w.duplicates,
            "mentions": w.mentions,
            "forgotten": w.forgotten,
            "rejected": self.problem_count,
            "problems": [str(p) for p in self.problems],
        }


Items = list[tuple[str, Any]]


def _split(batch: Items, report: IngestReport) -> Items:
    good = []
    for where, obj in batch:
        if isinstance(obj, ReadProblem):
            report.note([ItemProblem(where, obj.message)])
        else:
            good.append((where, obj))
    return good


def _batches(
    items: Iterable[tuple[str, Any]], size: int
) -> Iterator[tuple[list[tuple[str, Any]], bool]]:
    """Batches of ``size``, each with whether it is the last (so the cursor can go with it)."""
    it = iter(items)
    batch = list(islice(it, size))
    while batch:
        following = list(islice(it, size))
        yield batch, not following
        batch = following


class Ingestor:
    """Holds the compiled topics of every workspace and rebuilds them only when topics change."""

    def __init__(
        self,
        repo: Repository,
        settings: Settings,
        analyzers: Sequence[Analyzer] | None = None,
        after_batch: Sequence[Callable[[int, int], None]] = (),
    ) -> None:
        """``analyzers``: the analysis hooks; ``None`` means those the settings ask for.
        ``after_batch``: called with (workspace id, posts inserted) once each batch is stored
        (the alerts hook); a hook must not raise."""
        self.repo = repo
        self.settings = settings
        self.after_batch = list(after_batch)
        self.analyzers = default_analyzers(settings) if analyzers is None else analyzers
        self._index: TopicIndex | None = None
        self._version: object = None
        self.topic_problems: list[ItemProblem] = []

    def index(self) -> TopicIndex:
        version = self.repo.topics_version()
        if self._index is None or version != self._version:
            specs = [
                TopicSpec(t.workspace_id, t.id, t.query) for t in self.repo.all_enabled_topics()
            ]
            self._index, self.topic_problems = build_topic_index(specs)
            self._version = version
        return self._index

    def ingest(
        self,
        workspace_id: int,
        items: Iterable[tuple[str, Any]],
        *,
        source_id: int | None = None,
        cursor: dict[str, Any] | None = None,
        default_source: str | None = None,
        assume_tz: tzinfo | None = None,
        on_batch: Callable[[IngestReport], None] | None = None,
    ) -> IngestReport:
        """Process and store ``items``; ``cursor`` is stored with the last batch.

        Items are ``(where, object)`` pairs; a ``ReadProblem`` object is reported as such.
        """
        with _fewer_collections():
            return self._ingest(
                workspace_id, items, source_id, cursor, default_source, assume_tz, on_batch
            )

    def _ingest(
        self,
        workspace_id: int,
        items: Iterable[tuple[str, Any]],
        source_id: int | None,
        cursor: dict[str, Any] | None,
        default_source: str | None,
        assume_tz: tzinfo | None,
        on_batch: Callable[[IngestReport], None] | None,
    ) -> IngestReport:
        report = IngestReport()
        index = self.index()
        wrote_cursor = False
        for batch, last in _batches(items, self.settings.ingest_batch_size):
            report.read += len(batch)
            processed, problems = process_batch(
                _split(batch, report),
                workspace_id=workspace_id,
                index=index,
                default_source=default_source,
                max_chars=self.settings.max_post_chars,
                assume_tz=assume_tz,
                analyzers=self.analyzers,
            )
            report.note(problems)
            result = write_batch(
                self.repo.engine,
                workspace_id,
                processed,
                source_id=source_id,
                cursor=cursor if last else None,
            )
            wrote_cursor = wrote_cursor or last
            report.written.add(result)
            for hook in self.after_batch:
                hook(workspace_id, result.inserted)
            if on_batch is not None:
                on_batch(report)
        if source_id is not None and not wrote_cursor:
            # An empty page still moves the cursor (and says the source is alive).
            write_batch(self.repo.engine, workspace_id, [], source_id=source_id, cursor=cursor)
        return report
