"""The pipeline: pure functions over a batch, from raw post-format objects to storable posts.

normalise → dedupe keys → language → match topics → analysis hook. No step touches the
database or the network, so the same function serves the listener, imports, Celery workers
and the tests. A bad item becomes an ``ItemProblem`` naming it; the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import orjson

from goodwill.domain import Post
from goodwill.pipeline.dedupe import DedupeKeys, dedupe_keys
from goodwill.pipeline.language import detect_languages
from goodwill.pipeline.normalise import PostError, parse_post
from goodwill.query import Document, QuerySyntaxError, TopicIndex, parse

__all__ = [
    "Analyzer",
    "ItemProblem",
    "ProcessedPost",
    "TopicSpec",
    "build_topic_index",
    "content_hash",
    "process_batch",
]


@dataclass(frozen=True, slots=True)
class TopicSpec:
    workspace_id: int
    topic_id: int
    query: str


@dataclass(slots=True)
class ItemProblem:
    """An item that was refused: ``where`` says which ("line 12", "entry 3"), ``message`` why."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(slots=True)
class ProcessedPost:
    post: Post
    content_hash: str
    keys: DedupeKeys
    topic_ids: list[int]
    detected_lang: bool = False
    analysis: dict[str, Any] = field(default_factory=dict)


Analyzer = Callable[[Sequence[ProcessedPost]], None]
"""The analysis hook: fills ``ProcessedPost.analysis`` for a batch (sentiment, intent, …)."""


def content_hash(obj: Any) -> str:
    """Changes whenever anything the source told us about a post changes (edits, metrics).

    Computed on the source's own object (keys sorted), which says the same as our normalised
    copy for this purpose and costs half as much.
    """
    raw = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def build_topic_index(topics: Iterable[TopicSpec]) -> tuple[TopicIndex, list[ItemProblem]]:
    """One index over the topics of every workspace; a stored query that no longer parses is
    reported, not fatal."""
    index = TopicIndex()
    problems = []
    for spec in topics:
        try:
            index.add((spec.workspace_id, spec.topic_id), parse(spec.query))
        except QuerySyntaxError as exc:
            problems.append(ItemProblem(f"topic {spec.topic_id}", str(exc)))
    return index, problems


def _document(post: Post) -> Document:
    author = post.author
    return Document.build(
        post.text,
        author_handle=author.handle if author else None,
        author_name=author.name if author else None,
        url=post.url,
        lang=post.lang,
        source=post.source,
    )


def process_batch(
    items: Sequence[tuple[str, Any]],
    *,
    workspace_id: int,
    index: TopicIndex,
    default_source: str | None = None,
    max_chars: int = 20_000,
    assume_tz: tzinfo | None = None,
    analyzers: Sequence[Analyzer] = (),
) -> tuple[list[ProcessedPost], list[ItemProblem]]:
    """Validate and enrich ``items`` (pairs of a label for messages and the raw object).

    When the same (source, id) appears twice in a batch the later one wins, as an edit would.
    """
    problems: list[ItemProblem] = []
    by_key: dict[tuple[str, str], tuple[Post, Any]] = {}
    for where, raw in items:
        try:
            post = parse_post(
                raw, default_source=default_source, max_chars=max_chars, assume_tz=assume_tz
            )
        except PostError as exc:
            label = raw.get("id") if isinstance(raw, dict) else None
            suffix = f" (id {str(label)[:80]!r})" if isinstance(label, str | int) else ""
            problems.append(ItemProblem(f"{where}{suffix}", str(exc)))
            continue
        key = (post.source, post.id)
        by_key.pop(key, None)
        by_key[key] = (post, raw)
    if not by_key:
        return [], problems
    posts = [post for post, _ in by_key.values()]
    # The hash covers what the source said, not our guesses, so re-detection never "edits".
    hashes = [content_hash(raw) for _, raw in by_key.values()]
    missing = [i for i, p in enumerate(posts) if p.lang is None]
    for i, lang in zip(missing, detect_languages([posts[i].text for i in missing]), strict=True):
        posts[i].lang = lang
    detected = {i for i in missing if posts[i].lang is not None}

    documents = [_document(p) for p in posts]
    keys = dedupe_keys([d.tokens for d in documents])
    matched: list[list[Hashable]] = index.match_batch(documents)
    processed = []
    for i, (post, digest, post_keys, hits) in enumerate(
        zip(posts, hashes, keys, matched, strict=True)
    ):
        topic_ids = sorted(
            int(key[1]) for key in hits if isinstance(key, tuple) and key[0] == workspace_id
        )
        processed.append(ProcessedPost(post, digest, post_keys, topic_ids, i in detected))
    for analyze in analyzers:
        analyze(processed)
    return processed, problems
