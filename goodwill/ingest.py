"""From items to stored mentions: the pipeline and the store, batch by batch.

Everything that brings posts in (file imports, the listener, later Celery workers) calls
``Ingestor.ingest``. The cursor that follows a batch is written in the same transaction as the
batch, so a crash at any point resumes without losing or repeating anything.

Large inputs use the machine's second core: the pipeline (pure, CPU-bound Python) runs in a
worker process on the next batches while this process writes the current one. Writes stay in
one process, in order, one transaction per batch. Threads do not help here: SQLite gives up the
GIL for every row it steps, and then waits behind the pipeline thread to get it back.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import islice
from typing import Any

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
            "rejected": self.problem_count,
            "problems": [str(p) for p in self.problems],
        }


Items = list[tuple[str, Any]]
_worker_index: TopicIndex | None = None


def _start_worker(specs: list[TopicSpec]) -> None:
    global _worker_index
    _worker_index, _ = build_topic_index(specs)
    parent = os.getppid()

    def exit_with_parent() -> None:
        # A parent killed outright (SIGKILL, OOM) cannot stop its pool: never outlive it.
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True, name="goodwill-orphan-guard").start()


def _run_in_worker(
    items: Items,
    workspace_id: int,
    default_source: str | None,
    max_chars: int,
    assume_tz: tzinfo | None,
) -> tuple[list[ProcessedPost], list[ItemProblem]]:
    assert _worker_index is not None
    return process_batch(
        items,
        workspace_id=workspace_id,
        index=_worker_index,
        default_source=default_source,
        max_chars=max_chars,
        assume_tz=assume_tz,
    )


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
        self, repo: Repository, settings: Settings, analyzers: Sequence[Analyzer] = ()
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.analyzers = analyzers
        self._index: TopicIndex | None = None
        self._specs: list[TopicSpec] = []
        self._version: object = None
        self.topic_problems: list[ItemProblem] = []

    def index(self) -> TopicIndex:
        version = self.repo.topics_version()
        if self._index is None or version != self._version:
            self._specs = [
                TopicSpec(t.workspace_id, t.id, t.query) for t in self.repo.all_enabled_topics()
            ]
            self._index, self.topic_problems = build_topic_index(self._specs)
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
        report = IngestReport()
        index = self.index()
        options: dict[str, Any] = {
            "workspace_id": workspace_id,
            "default_source": default_source,
            "max_chars": self.settings.max_post_chars,
            "assume_tz": assume_tz,
        }
        wrote_cursor = False
        pool: ProcessPoolExecutor | None = None
        waiting: deque[tuple[Future[tuple[list[ProcessedPost], list[ItemProblem]]], bool]] = deque()

        def store(processed: list[ProcessedPost], problems: list[ItemProblem], last: bool) -> None:
            nonlocal wrote_cursor
            report.note(problems)
            for analyze in self.analyzers:
                analyze(processed)
            result = write_batch(
                self.repo.engine,
                workspace_id,
                processed,
                source_id=source_id,
                cursor=cursor if last else None,
            )
            wrote_cursor = wrote_cursor or last
            report.written.add(result)
            if on_batch is not None:
                on_batch(report)

        try:
            for number, (batch, last) in enumerate(
                _batches(items, self.settings.ingest_batch_size)
            ):
                report.read += len(batch)
                good = _split(batch, report)
                if (number == 0 and last) or not self._use_worker():
                    # One batch (a listener's page) is not worth starting a process for.
                    store(*process_batch(good, index=index, **options), last)
                    continue
                if pool is None:
                    pool = ProcessPoolExecutor(
                        max_workers=self.settings.ingest_workers,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_start_worker,
                        initargs=(self._specs,),
                    )
                waiting.append((pool.submit(_run_in_worker, good, **options), last))
                # One batch more in flight than workers: none idles while this process writes.
                while len(waiting) > self.settings.ingest_workers + 1:
                    future, was_last = waiting.popleft()
                    store(*future.result(), was_last)
            while waiting:
                future, was_last = waiting.popleft()
                store(*future.result(), was_last)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        if source_id is not None and not wrote_cursor:
            # An empty page still moves the cursor (and says the source is alive).
            write_batch(self.repo.engine, workspace_id, [], source_id=source_id, cursor=cursor)
        return report

    def _use_worker(self) -> bool:
        return self.settings.ingest_workers > 0 and (os.cpu_count() or 1) > 1
