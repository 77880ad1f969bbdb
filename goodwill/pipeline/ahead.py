"""The pipeline one batch ahead of the writer, in a second process.

A large import spends about as long in the pipeline (validate, clean, repeat keys, language,
topic matching, analysis) as in the store's writer, and both are busy Python: in one process
they take turns. With a second core, a child process runs the pipeline over batch N+1 while
this process writes batch N, and the import goes nearly as fast as the slower of the two.

The child is spawned (never forked: the parent may hold database connections, threads and
model sessions), builds its own topic index from the topic specs and its own analyzers from
the settings, and is kept for later imports until the topics change. Only plain data crosses:
the raw items going in, the processed posts and problems coming back, in order. Nothing is
written by the child, so a crash of either process loses nothing the writer had not committed.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import tzinfo
from typing import Any

from goodwill.domain import Author, Metrics, Post
from goodwill.pipeline.analyse import default_analyzers
from goodwill.pipeline.batch import (
    Analyzer,
    ItemProblem,
    ProcessedPost,
    TopicSpec,
    build_topic_index,
    process_batch,
)
from goodwill.pipeline.dedupe import DedupeKeys
from goodwill.query import TopicIndex
from goodwill.settings import Settings

__all__ = ["PipelineAhead", "Processing", "can_run_ahead"]

_index: TopicIndex | None = None
_analyzers: Sequence[Analyzer] = ()


def can_run_ahead() -> bool:
    """A second process helps only with a second core, and daemonic processes (Celery's
    prefork workers) may not start children."""
    return (multiprocessing.cpu_count() or 1) > 1 and not multiprocessing.current_process().daemon


def _start(specs: list[TopicSpec], settings: Settings | None) -> None:
    global _index, _analyzers
    # As in the parent while it ingests (``goodwill.ingest``): a batch makes hundreds of
    # thousands of short-lived containers, and the default thresholds collect far too often.
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    _index, _ = build_topic_index(specs)
    _analyzers = default_analyzers(settings) if settings is not None else ()


Wire = tuple[Any, ...]


def _to_wire(p: ProcessedPost) -> Wire:
    """A processed post as a tuple of plain values. Slotted dataclasses pickle through a
    per-object ``fields()`` walk: measured 70 µs to pickle and 60 µs to unpickle a post, as
    long as the pipeline itself; this tuple takes a tenth of that."""
    post, author, metrics, keys = p.post, p.post.author, p.post.metrics, p.keys
    return (
        post.id,
        post.source,
        post.text,
        post.created_at,
        post.url,
        post.lang,
        None if author is None else (author.id, author.handle, author.name, author.followers),
        post.in_reply_to,
        post.conversation_id,
        (metrics.likes, metrics.shares, metrics.replies),
        post.is_own,
        post.extra,
        p.content_hash,
        (keys.exact, keys.signature, keys.bands),
        p.topic_ids,
        p.detected_lang,
        p.analysis,
    )


def _from_wire(w: Wire) -> ProcessedPost:
    (pid, source, text, created_at, url, lang, author, reply_to, conversation, metrics) = w[:10]
    is_own, extra, content_hash, keys, topic_ids, detected_lang, analysis = w[10:]
    post = Post(
        pid,
        source,
        text,
        created_at,
        url,
        lang,
        None if author is None else Author(*author),
        reply_to,
        conversation,
        Metrics(*metrics),
        is_own,
        extra,
    )
    return ProcessedPost(post, content_hash, DedupeKeys(*keys), topic_ids, detected_lang, analysis)


def _run(
    items: list[tuple[str, Any]],
    workspace_id: int,
    default_source: str | None,
    max_chars: int,
    assume_tz: tzinfo | None,
) -> tuple[list[Wire], list[ItemProblem]]:
    assert _index is not None, "the child was not started"
    processed, problems = process_batch(
        items,
        workspace_id=workspace_id,
        index=_index,
        default_source=default_source,
        max_chars=max_chars,
        assume_tz=assume_tz,
        analyzers=_analyzers,
    )
    return [_to_wire(p) for p in processed], problems


class Processing:
    """A batch the child is working on; ``result`` waits for it."""

    def __init__(self, future: Future[tuple[list[Wire], list[ItemProblem]]]) -> None:
        self._future = future

    def result(self) -> tuple[list[ProcessedPost], list[ItemProblem]]:
        wires, problems = self._future.result()
        return [_from_wire(w) for w in wires], problems


class PipelineAhead:
    """A child process holding the compiled topics (and analyzers) of one topics version.

    ``settings``: the child's analyzers are those the settings ask for; ``None`` means none.
    """

    def __init__(self, specs: list[TopicSpec], settings: Settings | None) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(specs, settings),
        )

    def submit(
        self,
        items: list[tuple[str, Any]],
        *,
        workspace_id: int,
        default_source: str | None,
        max_chars: int,
        assume_tz: tzinfo | None,
    ) -> Processing:
        return Processing(
            self._pool.submit(_run, items, workspace_id, default_source, max_chars, assume_tz)
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
