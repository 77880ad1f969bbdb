"""Analysis on the way in, and users' corrections, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings, get_settings
from goodwill.store.repository import MentionFilter, NotFound, Repository, StoreError

POSTS = [
    ("1", "@brightloaf my order never arrived and nobody answers. Terrible service."),
    ("2", "@brightloaf what time do you open on Sundays?"),
    ("3", "Brightloaf croissants are the best, thank you for the lovely morning!"),
]


def _items() -> list[tuple[str, Any]]:
    return [
        (f"line {n}", {"id": i, "source": "x", "text": t, "created_at": f"2026-11-0{n}T10:00:00Z"})
        for n, (i, t) in enumerate(POSTS, 1)
    ]


def _by_external_id(repo: Repository, ws_id: int) -> dict[str, Any]:
    page = repo.mentions(ws_id, MentionFilter(), limit=10)
    return {p.external_id: p for p in page.posts}


def test_ingest_stores_sentiment_intent_and_risk(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("Brightloaf")
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, "brightloaf OR @brightloaf")
    Ingestor(repo, settings).ingest(ws.id, _items())
    posts = _by_external_id(repo, ws.id)
    got = {
        i: (p.analysis["sentiment"]["label"], p.analysis["intent"]["label"])
        for i, p in posts.items()
    }
    assert got == {
        "1": ("negative", "complaint"),
        "2": ("neutral", "question"),
        "3": ("positive", "praise"),
    }
    assert posts["2"].lang == "en"  # language detection is untouched
    assert posts["3"].analysis["risk"]["flags"] == []


def test_analysis_can_be_switched_off(repo: Repository, tmp_path: Path) -> None:
    ws = repo.add_workspace("Brightloaf")
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, "brightloaf OR @brightloaf")
    Ingestor(repo, Settings(data_dir=tmp_path, analysis=False)).ingest(ws.id, _items())
    assert all(p.analysis == {} for p in _by_external_id(repo, ws.id).values())


def test_corrections_are_scoped_validated_and_exported(
    repo: Repository, settings: Settings
) -> None:
    ws = repo.add_workspace("Brightloaf")
    other = repo.add_workspace("Other")
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, "brightloaf OR @brightloaf")
    Ingestor(repo, settings).ingest(ws.id, _items())
    post = _by_external_id(repo, ws.id)["2"]

    with pytest.raises(NotFound):
        repo.correct_label(other.id, post.id, "sentiment", "positive", who="mallory")
    with pytest.raises(StoreError, match="'happy' is not a sentiment label"):
        repo.correct_label(ws.id, post.id, "sentiment", "happy", who="ana")
    with pytest.raises(StoreError, match="'lang' cannot be corrected"):
        repo.correct_label(ws.id, post.id, "lang", "fr", who="ana")

    first = repo.correct_label(ws.id, post.id, "sentiment", "positive", who="ana")
    assert (first.old, first.new) == ("neutral", "positive")
    second = repo.correct_label(ws.id, post.id, "sentiment", "negative", who="ben")
    assert second.old == "positive"
    stored = _by_external_id(repo, ws.id)["2"].analysis["sentiment"]
    assert stored == {
        "label": "negative",
        "confidence": 1.0,
        "corrected": True,
        "model_label": "neutral",
    }
    rows = repo.corrections(ws.id)
    assert [(c.who, c.old, c.new, p.external_id) for c, p in rows] == [
        ("ana", "neutral", "positive", "2"),
        ("ben", "positive", "negative", "2"),
    ]
    assert repo.corrections(other.id) == []
    assert repo.corrections(ws.id, since=datetime(2100, 1, 1, tzinfo=UTC)) == []


def test_cli_shows_corrects_and_exports(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result

    run("workspaces", "add", "Brightloaf")
    run("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf OR @brightloaf")
    f = tmp_path / "posts.jsonl"
    f.write_text("".join(json.dumps(obj) + "\n" for _, obj in _items()))
    run("import", str(f), "--json")
    listed = json.loads(run("mentions", "list", "--json").stdout)
    question = next(m for m in listed if m["id"] == "2")
    assert question["analysis"]["intent"]["label"] == "question"
    assert "question" in run("mentions", "list").stdout

    out = run(
        "mentions",
        "correct",
        str(question["post_id"]),
        "--intent",
        "complaint",
        "--sentiment",
        "Negative",
        "--who",
        "ana",
        "--json",
    ).stdout
    assert json.loads(out) == [
        {"post_id": question["post_id"], "field": "sentiment", "old": "neutral", "new": "negative"},
        {"post_id": question["post_id"], "field": "intent", "old": "question", "new": "complaint"},
    ]
    bad = run("mentions", "correct", str(question["post_id"]), "--sentiment", "meh", code=1)
    assert "not a sentiment label" in bad.output
    assert run("mentions", "correct", "999999", "--sentiment", "positive", code=1)
    run("mentions", "correct", str(question["post_id"]), code=1)

    lines = [json.loads(x) for x in run("analysis", "export-corrections").stdout.splitlines()]
    assert [(x["field"], x["old"], x["new"], x["who"]) for x in lines] == [
        ("sentiment", "neutral", "negative", "ana"),
        ("intent", "question", "complaint", "ana"),
    ]
    assert lines[0]["text"] == POSTS[1][1] and lines[0]["id"] == "2"

    monkeypatch.setenv("GOODWILL_SENTIMENT", "model")
    get_settings.cache_clear()
    import importlib.util

    if importlib.util.find_spec("goodwill.analysis.sentiment_model") is None:
        refused = run("import", str(f), code=1)
        assert "GOODWILL_SENTIMENT=vader" in refused.output
    get_settings.cache_clear()
