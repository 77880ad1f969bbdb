"""`goodwill people` commands on a real store: list by standing, show, tag, note, nurture,
cases, merge, remind; third-party names are printed as text, never as terminal markup."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.settings import get_settings
from tests.test_people import NEGATIVE, POSITIVE, post


def test_people_commands(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    run("workspaces", "add", "Brightloaf")
    run("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    at = datetime.now(UTC) - timedelta(days=1)
    dan = {"id": "d1", "handle": "dan", "name": "[red]Dan[/red]"}
    rows = [
        {
            "id": f"n{i}",
            "source": "x",
            "text": t,
            "author": dan,
            "created_at": (at + timedelta(hours=i)).isoformat(),
        }
        for i, t in enumerate(NEGATIVE)
    ]
    rows.append(
        {
            "id": "m1",
            "source": "mastodon",
            "text": "brightloaf rye",
            "created_at": at.isoformat(),
            "author": {"id": "m9", "handle": "@dan@social.example", "name": "[red]Dan[/red]"},
        }
    )
    f = tmp_path / "posts.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run("import", str(f))
    listed = json.loads(run("people", "list", "--standing", "detractor", "--json"))
    assert listed["total"] == 1
    pid = listed["people"][0]["id"]
    assert "[red]" in run("people", "list")  # printed literally, not as red "Dan"
    shown = run("people", "show", str(pid))
    assert "[red]Dan[/red]" in shown and "detractor case" in shown
    other = next(
        p["id"] for p in json.loads(run("people", "list", "--json"))["people"] if p["id"] != pid
    )
    assert f"maybe the same as person {other}" in shown
    run("people", "merge", str(pid), str(other))
    assert len(json.loads(run("people", "show", str(pid), "--json"))["person"]["identities"]) == 2
    run("people", "tag", str(pid), "customer")
    run("people", "note", str(pid), "Prefers DMs", "--by", "sam")
    assert "not-an-action" in run("people", "nurture", str(pid), "not-an-action", code=1)
    run("people", "nurture", str(pid), "thanked", "--note", "sorry note", "--by", "sam")
    run("people", "case", str(pid), "contacted", "--by", "sam")
    run("people", "case", str(pid), "resolved", "--by", "sam")
    assert "no detractor case under way" in run("people", "case", str(pid), "resolved", code=1)
    detail = json.loads(run("people", "show", str(pid), "--json"))
    assert detail["cases"][0]["status"] == "resolved"
    assert detail["person"]["roles"] == ["customer"]
    assert json.loads(run("people", "remind", "--json")) == []  # contacted just now
    assert "no person 999" in run("people", "show", "999", code=1)
    assert "unknown standing" in run("people", "list", "--standing", "famous", code=1)
    get_settings.cache_clear()


def test_people_list_by_standing_as_json(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`goodwill people list --standing advocate|promoter|detractor --json`: each filter
    lists exactly the people of that standing, as JSON."""
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    now = datetime.now(UTC)
    eve = {"id": "e1", "handle": "eve", "name": "Eve", "followers": 9999}
    pia = {"id": "p1", "handle": "pia", "name": "Pia"}
    dan = {"id": "d1", "handle": "dan", "name": "Dan"}
    rows = [
        post("d0", NEGATIVE[0], dan, now - timedelta(days=3), conversation_id="t1"),
        post("d1", NEGATIVE[1], dan, now - timedelta(days=2)),
        post(
            "e0",
            "Brightloaf is wonderful, I love their bread, best bakery in town!",
            eve,
            now - timedelta(days=60),
            metrics={"likes": 1, "shares": 3, "replies": 0},
        ),
        post(
            "e1",
            "@dan I disagree, Brightloaf has always been wonderful and kind to me, love them!",
            eve,
            now - timedelta(days=1),
            conversation_id="t1",
            in_reply_to="d0",
        ),
        post("e2", "Brightloaf's new rye is fantastic, thank you, I love it!", eve, now),
        post("p0", POSITIVE, pia, now - timedelta(days=5)),
        post("p1", "Lovely bread at Brightloaf today, thank you!", pia, now - timedelta(days=4)),
    ]
    f = tmp_path / "posts.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run("workspaces", "add", "Brightloaf")
    run("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    run("import", str(f))

    def names(standing: str) -> set[str]:
        listed = json.loads(run("people", "list", "--standing", standing, "--json"))
        assert listed["total"] == len(listed["people"])
        return {p["name"] for p in listed["people"]}

    everyone = json.loads(run("people", "list", "--json"))["people"]
    assert {p["name"]: p["standing"] for p in everyone} == {
        "Eve": "promoter",
        "Pia": "promoter",
        "Dan": "detractor",
    }
    assert names("advocate") == {"Eve"}
    assert names("promoter") == {"Eve", "Pia"}
    assert names("detractor") == {"Dan"}
    get_settings.cache_clear()
