"""Re-scoring stored posts, and users' corrections surviving it and source edits (SQLite, PG)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.analysis.engine import MODEL_VERSIONS, TextAnalyzer
from goodwill.cli import app
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.reanalyse import is_stale, reanalyse
from goodwill.settings import Settings, get_settings
from goodwill.store.repository import MentionFilter, Repository

POSTS = {
    "1": "@brightloaf my order never arrived and nobody answers. Terrible service.",
    "2": "@brightloaf what time do you open on Sundays?",
    "3": "Brightloaf croissants are the best, thank you for the lovely morning!",
}
OLD_MODELS = {"sentiment": "vader", "intent": "rules-0", "risk": "tfidf-lr-0"}


def _item(post_id: str, text: str) -> tuple[str, Any]:
    return (
        f"post {post_id}",
        {"id": post_id, "source": "x", "text": text, "created_at": "2026-11-01T10:00:00Z"},
    )


def _posts(repo: Repository, ws_id: int) -> dict[str, Any]:
    page = repo.mentions(ws_id, MentionFilter(include_duplicates=True), limit=50)
    return {p.external_id: p for p in page.posts}


def _workspace(repo: Repository, settings: Settings, name: str = "Brightloaf") -> int:
    ws = repo.add_workspace(name)
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, "brightloaf OR @brightloaf")
    Ingestor(repo, settings).ingest(ws.id, [_item(i, t) for i, t in POSTS.items()])
    return ws.id


def _stale(label: str) -> dict[str, Any]:
    return {
        "sentiment": {"label": label, "confidence": 0.5},
        "intent": {"label": "other", "confidence": 0.5},
        "risk": {"offensive": 0.9, "hate": 0.9, "flags": ["offensive", "hate"]},
        "models": OLD_MODELS,
        "topics_hook": {"kept": True},
    }


def test_stale_posts_are_rescored_and_corrections_still_win(
    repo: Repository, settings: Settings
) -> None:
    ws_id = _workspace(repo, settings)
    other_id = _workspace(repo, settings, "Other")
    ids = {k: p.id for k, p in _posts(repo, ws_id).items()}
    repo.correct_label(ws_id, ids["2"], "intent", "complaint", who="ana")
    repo.correct_label(ws_id, ids["2"], "sentiment", "negative", who="ana")
    repo.correct_label(ws_id, ids["2"], "sentiment", "positive", who="ben")  # the latest wins
    # posts 1 and 2 as an older model version left them; post 3 is current
    repo.write_analysis(ws_id, {ids["1"]: _stale("positive"), ids["2"]: _stale("neutral")})
    other_ids = {k: p.id for k, p in _posts(repo, other_id).items()}
    repo.write_analysis(other_id, {other_ids["1"]: _stale("positive")})
    stored = _posts(repo, ws_id)
    assert stored["2"].analysis["intent"]["label"] == "complaint"  # written over, still corrected
    assert stored["2"].analysis["intent"]["model_label"] == "other"

    analyzer = TextAnalyzer(settings.sentiment)  # the mode the posts were stored with
    seen = []
    report = reanalyse(
        repo, ws_id, analyzer, batch_size=2, on_batch=lambda r: seen.append(r.scanned)
    )
    assert (report.scanned, report.rescored, report.last_id) == (3, 2, max(ids.values()))
    assert seen == [2, 3]
    posts = _posts(repo, ws_id)
    one, two = posts["1"].analysis, posts["2"].analysis
    assert one["sentiment"]["label"] == "negative"
    assert one["intent"]["label"] == "complaint"
    assert one == {**analyzer.analyse([POSTS["1"]])[0], "topics_hook": {"kept": True}}
    assert two["intent"] == {
        "label": "complaint",
        "confidence": 1.0,
        "corrected": True,
        "model_label": "question",
    }
    assert two["sentiment"]["label"] == "positive"
    assert two["sentiment"]["model_label"] == "neutral"
    assert not is_stale(two, analyzer.versions)
    # the other workspace was not touched
    assert _posts(repo, other_id)["1"].analysis["models"] == OLD_MODELS

    # nothing stale any more: a second run re-scores nothing (so an interrupted run resumes)
    assert reanalyse(repo, ws_id, analyzer).rescored == 0
    # --all re-scores everything; after_id resumes past the posts done
    assert reanalyse(repo, ws_id, analyzer, everything=True).rescored == 3
    resumed = reanalyse(repo, ws_id, analyzer, everything=True, after_id=ids["1"])
    assert (resumed.scanned, resumed.rescored) == (2, 2)
    assert _posts(repo, ws_id)["2"].analysis["intent"]["label"] == "complaint"


def test_an_edited_post_is_analysed_again_and_keeps_its_correction(
    repo: Repository, settings: Settings, tmp_path: Path
) -> None:
    ws_id = _workspace(repo, settings)
    post = _posts(repo, ws_id)["2"]
    assert post.analysis["intent"]["label"] == "question"
    repo.correct_label(ws_id, post.id, "intent", "praise", who="ana")

    edited = "@brightloaf my order never arrived, nobody answers, terrible service"
    report = Ingestor(repo, settings).ingest(ws_id, [_item("2", edited)])
    assert report.written.updated == 1
    after = _posts(repo, ws_id)["2"]
    assert after.text == edited
    assert after.analysis["sentiment"]["label"] == "negative"  # the new text's, not the old
    assert after.analysis["intent"] == {
        "label": "praise",
        "confidence": 1.0,
        "corrected": True,
        "model_label": "complaint",
    }
    # an edit stored with analysis switched off leaves the stored analysis as it was
    quiet = Settings(data_dir=tmp_path, analysis=False)
    Ingestor(repo, quiet).ingest(ws_id, [_item("2", edited + " (edited)")])
    assert _posts(repo, ws_id)["2"].analysis == after.analysis
    # and an unchanged post is not touched at all
    assert Ingestor(repo, settings).ingest(ws_id, [_item("3", POSTS["3"])]).written.unchanged == 1


def test_cli_reanalyze(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOODWILL_SENTIMENT", "vader")
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result

    run("workspaces", "add", "Brightloaf")
    run("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf OR @brightloaf")
    f = tmp_path / "posts.jsonl"
    f.write_text("".join(json.dumps(_item(i, t)[1]) + "\n" for i, t in POSTS.items()))
    run("import", str(f), "--json")
    out = json.loads(run("reanalyze", "--json").stdout)
    assert out == {
        "scanned": 3,
        "rescored": 0,
        "last_id": out["last_id"],
        "models": {"sentiment": "vader", **MODEL_VERSIONS},
    }
    assert json.loads(run("reanalyze", "--all", "--json").stdout)["rescored"] == 3
    assert "3 of 3 posts re-scored" in run("reanalyze", "--all").stdout
    assert "0 of 3 posts re-scored" in run("reanalyze", "--stale").stdout
    get_settings.cache_clear()
