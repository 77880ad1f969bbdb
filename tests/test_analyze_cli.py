"""`goodwill analyze`: JSON lines in, one labelled JSON line out per good post, bad lines named."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from goodwill.analysis.engine import TextAnalyzer
from goodwill.cli import analyze_posts as analyze_module
from goodwill.cli import app
from goodwill.settings import get_settings

LINES = [
    # the post format, every field
    {
        "id": "t1",
        "source": "x",
        "text": "@AmazonHelp my package never arrived and nobody answers. Terrible service.",
        "created_at": "2026-11-01T10:00:00Z",
        "author": {"handle": "ana"},
    },
    # bare id and text; a numeric id comes back as a string
    {"id": 2, "text": "@Delta How early can I check in my bags for a 4:35pm flight from FLL?"},
    {"id": "3", "text": "Excellent service from agent Kim today! Thank you so much"},
    {"id": "4", "text": "Merci beaucoup, le pain est délicieux et le service parfait"},
    {"id": "5", "text": "you are a fucking idiot, shut up"},
    {"id": "6", "text": "Obrigado!", "lang": "PT-BR"},
]


@pytest.fixture(autouse=True)
def _vader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOODWILL_SENTIMENT", "vader")
    get_settings.cache_clear()


def _run(args: list[str], stdin: str | None = None) -> Any:
    result = CliRunner().invoke(app, ["analyze", *args], input=stdin)
    get_settings.cache_clear()
    return result


def _jsonl(objs: list[Any]) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


def test_labels_each_post_in_order() -> None:
    result = _run([], _jsonl(LINES))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["t1", "2", "3", "4", "5", "6"]
    assert set(out[0]) == {"id", "sentiment", "intent", "risk", "lang"}
    by_id = {o["id"]: o for o in out}
    assert by_id["t1"]["sentiment"]["label"] == "negative"
    assert by_id["t1"]["intent"]["label"] == "complaint"
    assert by_id["2"]["intent"]["label"] == "question"
    assert by_id["3"]["sentiment"]["label"] == "positive"
    assert by_id["3"]["intent"]["label"] == "praise"
    assert by_id["4"]["lang"] == "fr"
    assert by_id["t1"]["lang"] == "en"
    assert by_id["6"]["lang"] == "pt-br"  # the post's own language is kept
    assert "offensive" in by_id["5"]["risk"]["flags"]
    assert by_id["3"]["risk"]["flags"] == []
    for o in out:
        assert o["sentiment"]["label"] in {"negative", "neutral", "positive"}
        assert 0.5 <= o["sentiment"]["score"] <= 1


def test_bad_lines_are_named_and_the_rest_go_on(tmp_path: Path) -> None:
    lines = [
        *[json.dumps(o).encode() for o in LINES[:2]],
        b"",  # line 3: blank, skipped silently
        b"{not json",  # line 4
        json.dumps({"id": "x"}).encode(),  # line 5: no text
        json.dumps({"id": "y", "text": "  \u0000 "}).encode(),  # line 6: empty once cleaned
        json.dumps({"id": "z", "text": "hi", "lang": "english please"}).encode(),  # line 7
        json.dumps(["id", "text"]).encode(),  # line 8
        b'{"id": "w", "text": "caf\xe9"}',  # line 9: not UTF-8
        json.dumps(LINES[2]).encode(),  # line 10
    ]
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = _run([str(path)])
    assert result.exit_code == 1
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["t1", "2", "3"]
    errors = result.stderr.splitlines()
    assert errors[0].startswith("line 4: is not valid JSON")
    assert errors[1] == "line 5: text: expected a string, got nothing"
    assert errors[2] == "line 6: text: is empty"
    assert errors[3].startswith("line 7: lang: expected a language code")
    assert errors[4] == "line 8: post: expected a JSON object, got list"
    assert errors[5].startswith("line 9: is not valid JSON")
    assert errors[6] == "6 bad lines skipped; 3 posts analysed"


def test_missing_file_and_unavailable_model(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(["/nonexistent/posts.jsonl"])
    assert result.exit_code == 1
    assert "no such file" in result.stderr
    if importlib.util.find_spec("goodwill.analysis.sentiment_model") is not None:
        return  # the trained model is installed here
    monkeypatch.setenv("GOODWILL_SENTIMENT", "model")
    get_settings.cache_clear()
    result = _run([], _jsonl(LINES))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "GOODWILL_SENTIMENT=vader" in result.stderr


def test_batches_keep_the_order() -> None:
    lines = [
        json.dumps({"id": str(i), "text": f"post number {i} is fine"}).encode() for i in range(7)
    ]
    problems: list[tuple[int, str]] = []
    out = list(
        analyze_module.analyse_lines(
            [*lines[:3], b"oops\n", *lines[3:]],
            TextAnalyzer("vader"),
            on_problem=lambda n, m: problems.append((n, m)),
            batch_size=2,
        )
    )
    assert [o["id"] for o in out] == [str(i) for i in range(7)]
    assert [n for n, _ in problems] == [4]


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        analyze_module, "err_console", Console(file=screen, force_terminal=True, width=80)
    )
    monkeypatch.setattr(analyze_module, "_progress_wanted", lambda: True)
    path = tmp_path / "posts.jsonl"
    path.write_text(_jsonl(LINES))
    result = _run([str(path)])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == len(LINES)
    assert "analysing" in screen.getvalue()
    # and from stdin, where the size is unknown
    result = _run([], _jsonl(LINES))
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == len(LINES)


def test_no_progress_bar_when_not_on_a_terminal() -> None:
    assert analyze_module._progress_wanted() is False
