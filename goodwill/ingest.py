"""From items to stored mentions: the pipeline and the store, batch by batch.

Everything that brings posts in (file imports, the listener, Celery workers) calls
``Ingestor.ingest``. The cursor that follows a batch is written in the same transaction as the
batch, so a crash at any point resumes without losing or repeating anything.

A large import (several full batches) runs the pipeline one batch ahead in a child process
(``pipeline.ahead``) while this process writes, when the machine has a second core; everything
else runs in one process, batch after batch. A writer thread does not help: it convoys on the
GIL, which SQLite gives up for every row it steps. Scale-out is Celery workers
(``goodwill.workers``), each running this same loop.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, CancelledError
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import islice
from typing import Any

from goodwill.domain import Deletion
from goodwill.pipeline.ahead import PipelineAhead, Processing, can_run_ahead
from goodwill.pipeline.analyse import default_analyzers
from goodwill.pipeline.batch import (
    Analyzer,
    ItemProblem,
    ProcessedPost,
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
# Smaller batches mean a stream that wants each post stored soon, not a bulk import.
_AHEAD_MIN_BATCH = 1000


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
            "deleted": w.deleted,
            "already_deleted": w.already_deleted,
            "rejected": self.problem_count,
            "problems": [str(p) for p in self.problems],
        }


Items = list[tuple[str, Any]]
Processed = tuple[list[ProcessedPost], list[ItemProblem]]


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
        *,
        ahead: bool = False,
    ) -> None:
        """``analyzers``: the analysis hooks; ``None`` means those the settings ask for.
        ``after_batch``: called with (workspace id, posts inserted) once each batch is stored
        (the alerts hook); a hook must not raise.
        ``ahead``: large imports may run the pipeline in a child process (``pipeline.ahead``,
        and the ``ingest_ahead`` setting). The child is spawned, so the program's main module
        must keep its work under ``if __name__ == "__main__":``, as multiprocessing requires;
        the ``goodwill`` command does."""
        self.repo = repo
        self.settings = settings
        self.after_batch = list(after_batch)
        self.analyzers = default_analyzers(settings) if analyzers is None else analyzers
        # The child process can build the same analyzers only when they come from settings
        # (or there are none).
        self._ahead_analyses = analyzers is None
        self._ahead_possible = ahead and (analyzers is None or not analyzers)
        self._index: TopicIndex | None = None
        self._specs: list[TopicSpec] = []
        self._version: object = None
        self._ahead: PipelineAhead | None = None
        self.topic_problems: list[ItemProblem] = []

    def index(self) -> TopicIndex:
        version = self.repo.topics_version()
        if self._index is None or version != self._version:
            self._specs = [
                TopicSpec(t.workspace_id, t.id, t.query) for t in self.repo.all_enabled_topics()
            ]
            self._index, self.topic_problems = build_topic_index(self._specs)
            self._version = version
            self.close()  # a child holding the old topics
        return self._index

    def close(self) -> None:
        """Stop the pipeline's child process, if one was started (it also ends with us)."""
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def _pipeline_ahead(self, first_batch: int, more: bool) -> PipelineAhead | None:
        """The child process for an import of several full batches, when it can help."""
        size = self.settings.ingest_batch_size
        if (
            not more
            or first_batch < size
            or size < _AHEAD_MIN_BATCH
            or not self.settings.ingest_ahead
            or not self._ahead_possible
            or not can_run_ahead()
        ):
            return None
        if self._ahead is None:
            analyses = self.settings if self._ahead_analyses else None
            self._ahead = PipelineAhead(self._specs, analyses)
        return self._ahead

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
        deletions: Sequence[Deletion] = (),
    ) -> IngestReport:
        """Process and store ``items``; ``cursor`` is stored with the last batch, and so are
        ``deletions`` (posts deleted at their source: removed from this workspace, in that
        same transaction, after the batch's posts).

        Items are ``(where, object)`` pairs; a ``ReadProblem`` object is reported as such.
        """
        with _fewer_collections():
            return self._ingest(
                workspace_id,
                items,
                source_id,
                cursor,
                default_source,
                assume_tz,
                on_batch,
                deletions,
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
        deletions: Sequence[Deletion],
    ) -> IngestReport:
        report = IngestReport()
        index = self.index()
        wrote_cursor = False
        ahead: PipelineAhead | None = None
        # The batch processed but not yet written: (processed posts and problems, or the
        # child's future of them; whether it is the last batch).
        pending: tuple[Processed | Processing, bool, Items] | None = None

        def process_here(good: Items) -> Processed:
            return process_batch(
                good,
                workspace_id=workspace_id,
                index=index,
                default_source=default_source,
                max_chars=self.settings.max_post_chars,
                assume_tz=assume_tz,
                analyzers=self.analyzers,
            )

        def write(done: Processed | Processing, last: bool, good: Items) -> None:
            nonlocal wrote_cursor, ahead
            if isinstance(done, Processing):
                try:
                    done = done.result()
                except (BrokenExecutor, CancelledError):
                    # The child died (killed, out of memory): this process goes on alone.
                    self.close()
                    ahead = None
                    done = process_here(good)
            processed, problems = done
            report.note(problems)
            result = write_batch(
                self.repo.engine,
                workspace_id,
                processed,
                source_id=source_id,
                cursor=cursor if last else None,
                deletions=deletions if last else (),
            )
            wrote_cursor = wrote_cursor or last
            report.written.add(result)
            for hook in self.after_batch:
                hook(workspace_id, result.inserted)
            if on_batch is not None:
                on_batch(report)

        for n, (batch, last) in enumerate(_batches(items, self.settings.ingest_batch_size)):
            report.read += len(batch)
            good = _split(batch, report)
            if n == 0:
                # Starting the child takes a moment: the first batch is processed here.
                ahead = self._pipeline_ahead(len(batch), not last)
            done: Processed | Processing
            if ahead is not None and n > 0:
                try:
                    done = ahead.submit(
                        good,
                        workspace_id=workspace_id,
                        default_source=default_source,
                        max_chars=self.settings.max_post_chars,
                        assume_tz=assume_tz,
                    )
                except BrokenExecutor:
                    self.close()
                    ahead = None
                    done = process_here(good)
            else:
                done = process_here(good)
            if pending is not None:
                write(*pending)  # the child works on ``done`` meanwhile
            pending = (done, last, good)
        if pending is not None:
            write(*pending)
        if not wrote_cursor and (source_id is not None or deletions):
            # An empty page still moves the cursor (and says the source is alive).
            result = write_batch(
                self.repo.engine,
                workspace_id,
                [],
                source_id=source_id,
                cursor=cursor,
                deletions=deletions,
            )
            report.written.add(result)
        return report
