"""A large import with the pipeline one batch ahead in a child process stores exactly what the
one-process import stores: the same posts, labels, repeats, mentions, problems and cursor."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from goodwill.domain import Author, Metrics, TopicKind
from goodwill.domain import Post as DomainPost
from goodwill.ingest import Ingestor
from goodwill.pipeline.ahead import _from_wire, _to_wire, can_run_ahead
from goodwill.pipeline.batch import ProcessedPost, TopicSpec, build_topic_index, process_batch
from goodwill.pipeline.dedupe import DedupeKeys
from goodwill.settings import Settings
from goodwill.store.repository import Repository
from goodwill.store.tables import Mention, Post, Source, Topic

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WORDS = ["love", "hate", "slow", "delivery", "croissant", "why", "refund", "great", "open"]

pytestmark = pytest.mark.skipif(not can_run_ahead(), reason="needs a second CPU core")


def _items(n: int) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for i in range(n):
        words = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 5, 7, 11))
        obj: dict[str, Any] = {
            "id": str(i),
            "source": "x" if i % 3 else "mastodon",
            "text": f"Brightloaf {words} number {i % 400} again, said the regular customer",
            "created_at": (T0 + timedelta(seconds=i)).isoformat(),
            "author": {"id": f"u{i % 97}", "handle": f"@user{i % 97}"},
        }
        if i % 2:
            obj["lang"] = "en"
        if i % 250 == 7:
            obj["text"] = ""  # a problem, reported with its line
        if i % 333 == 5:
            obj["created_at"] = "yesterday"
        if i % 5 == 0:
            obj["text"] = "Crumbly Co " + obj["text"]  # the competitor's topic too
        out.append((f"line {i + 1}", obj))
    return out


def _stored(repo: Repository, workspace_id: int) -> list[tuple[Any, ...]]:
    original = aliased(Post)
    with Session(repo.engine) as s:
        posts = s.execute(
            select(
                Post.source,
                Post.external_id,
                Post.text,
                Post.lang,
                Post.analysis,
                Post.dedupe_key,
                original.external_id,
            )
            .outerjoin(original, original.id == Post.duplicate_of)
            .where(Post.workspace_id == workspace_id)
            .order_by(Post.source, Post.external_id)
        ).all()
        mentions = s.execute(
            select(Post.source, Post.external_id, Topic.name)
            .join(Mention, Mention.post_id == Post.id)
            .join(Topic, Topic.id == Mention.topic_id)
            .where(Post.workspace_id == workspace_id)
            .order_by(Post.source, Post.external_id, Topic.name)
        ).all()
        cursor = s.scalar(select(Source.cursor).where(Source.workspace_id == workspace_id))
    return [*map(tuple, posts), *map(tuple, mentions), ("cursor", cursor)]


def test_pipeline_ahead_stores_what_one_process_stores(
    repo: Repository, settings: Settings
) -> None:
    items = _items(3500)
    results = []
    for ahead in (False, True):
        ws = repo.add_workspace(f"ahead {ahead}").id
        repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
        repo.add_topic(ws, "rival", TopicKind.COMPETITOR, '"crumbly co"')
        source = repo.add_source(ws, "rss", "feed", {"url": "https://b.example/f"}, 900)
        run = settings.model_copy(
            update={"ingest_batch_size": 1000, "ingest_ahead": ahead, "sentiment": "vader"}
        )
        ingestor = Ingestor(repo, run, ahead=True)
        try:
            report = ingestor.ingest(ws, items, source_id=source.id, cursor={"page": 9})
            assert (ingestor._ahead is not None) == ahead  # the child really ran
        finally:
            ingestor.close()
        results.append((report.as_dict(), _stored(repo, ws)))
    (one_report, one_rows), (ahead_report, ahead_rows) = results
    assert one_report["inserted"] > 3000 and one_report["duplicates"] > 0
    assert one_report["rejected"] == len(one_report["problems"]) > 0
    assert ahead_report == one_report
    assert ahead_rows == one_rows
    assert ahead_rows[-1] == ("cursor", {"page": 9})
    labelled = [row for row in ahead_rows if len(row) == 7 and row[4]]
    assert labelled and all("sentiment" in row[4] for row in labelled)


def test_a_child_that_dies_mid_import_loses_nothing(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("killed").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    run = settings.model_copy(update={"ingest_batch_size": 1000})
    ingestor = Ingestor(repo, run, analyzers=(), ahead=True)
    killed: list[int] = []

    def kill_the_child(report: object) -> None:
        ahead = ingestor._ahead
        if ahead is not None and not killed:
            for pid in list(ahead._pool._processes or {}):  # type: ignore[attr-defined]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    try:
        report = ingestor.ingest(ws, _items(4500), on_batch=kill_the_child)
    finally:
        ingestor.close()
    assert killed
    expected = Ingestor(repo, run.model_copy(update={"ingest_ahead": False}), analyzers=())
    again = expected.ingest(ws, _items(4500))
    assert report.read == 4500 and report.written.inserted + report.written.duplicates > 0
    # Everything the file holds was stored by the first import: the second finds it all.
    assert again.written.inserted == 0 and again.written.unchanged == report.written.inserted


def test_small_imports_and_custom_analyzers_stay_in_one_process(
    repo: Repository, settings: Settings
) -> None:
    ws = repo.add_workspace("small").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    run = settings.model_copy(update={"ingest_batch_size": 1000})
    one_batch = Ingestor(repo, run, analyzers=(), ahead=True)
    one_batch.ingest(ws, _items(900))
    assert one_batch._ahead is None

    seen: list[int] = []
    custom = Ingestor(repo, run, analyzers=[lambda batch: seen.append(len(batch))], ahead=True)
    custom.ingest(ws, _items(2500))
    assert custom._ahead is None and sum(seen) > 2000  # our analyzer ran, here

    library = Ingestor(repo, run, analyzers=())  # not asked for: a library caller's default
    library.ingest(ws, _items(2500))
    assert library._ahead is None


def test_the_wire_format_keeps_every_field() -> None:
    """The child sends processed posts as plain tuples: every field must make the trip. A field
    added to these classes fails here until ``pipeline.ahead`` carries it too."""
    assert [f.name for f in fields(DomainPost)] == [
        *("id", "source", "text", "created_at", "url", "lang", "author", "in_reply_to"),
        *("conversation_id", "metrics", "is_own", "extra"),
    ]
    assert [f.name for f in fields(ProcessedPost)] == [
        *("post", "content_hash", "keys", "topic_ids", "detected_lang", "analysis"),
    ]
    assert [f.name for f in fields(DedupeKeys)] == ["exact", "signature", "bands"]
    assert [f.name for f in fields(Author)] == ["id", "handle", "name", "followers"]
    assert [f.name for f in fields(Metrics)] == ["likes", "shares", "replies"]
    index, _ = build_topic_index([TopicSpec(1, 1, "brightloaf")])
    obj = {
        "id": "7",
        "source": "mastodon",
        "url": "https://m.example/@ana/7",
        "text": "Brightloaf, is the rye sourdough back this week? My whole family loves it",
        "created_at": T0.isoformat(),
        "author": {"id": "a1", "handle": "@ana", "name": "Ana", "followers": 120},
        "in_reply_to": "6",
        "conversation_id": "5",
        "metrics": {"likes": 3, "shares": 1, "replies": 2},
        "is_own": False,
        "visibility": "public",
    }
    (processed,), problems = process_batch([("line 1", obj)], workspace_id=1, index=index)
    assert not problems and processed.keys.signature and processed.topic_ids == [1]
    processed.analysis = {"sentiment": {"label": "positive", "score": 0.9}}
    assert _from_wire(pickle.loads(pickle.dumps(_to_wire(processed)))) == processed


def test_goodwill_import_of_a_large_file_runs_with_the_child(tmp_path: Path) -> None:
    """The command as users run it (``python -m goodwill``): the spawned child must not run
    the command again, and the import must land whole."""
    env = {
        **os.environ,
        "GOODWILL_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "GOODWILL_DATA_DIR": str(tmp_path),
        "GOODWILL_INGEST_BATCH_SIZE": "1000",
        "GOODWILL_ANALYSIS": "false",
    }
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(obj) + "\n" for _, obj in _items(3200)))

    def goodwill(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "goodwill", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    goodwill("workspaces", "add", "Brightloaf")
    goodwill("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    report = json.loads(goodwill("import", str(path), "--json"))
    assert report["read"] == 3200 and report["rejected"] > 0
    assert report["inserted"] + report["rejected"] == 3200
    counted = json.loads(goodwill("mentions", "count", "--json"))
    assert report["mentions"] == report["inserted"]  # every post names Brightloaf
    assert counted["topics"] == {"brand": report["inserted"]}
