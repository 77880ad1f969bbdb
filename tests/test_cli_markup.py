"""Text written by other people (posts, author names, URLs, file content quoted in problems)
or typed by users (workspace, topic, source and rule names) is printed by the `goodwill`
command exactly as written: never read as rich markup (a ``[/]`` used to crash the command
with a MarkupError traceback, ``[link=...]`` planted a terminal hyperlink) nor as an emoji
code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.cli._context import console, err_console
from goodwill.settings import get_settings

runner = CliRunner()

# Each piece breaks or restyles rich output in its own way: a closing tag with nothing to
# close, a named closing tag, a style, a hyperlink, an emoji code.
MARKS = "[/] [/bold] [red]x[/red] [link=https://evil.example]click[/link] :thumbs_up:"
WORKSPACE = f"Acme {MARKS}"
TOPIC = f"brand {MARKS}"
RULE = f"angry {MARKS}"
SOURCE = f"feed {MARKS}"
AUTHOR = f"Zed {MARKS}"
HANDLE = "zed[/]"
URL = "https://example.com/p/[/bold][red]x[/red]"
TEXT = f"{MARKS} is acmebread open on Sunday?"


def _clean(result: Result) -> str:
    """The output, once we know the command ended on purpose and not in a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output and "MarkupError" not in result.output
    return result.output


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A store holding a workspace, topic, source, posts and an alert rule named with markup,
    made with --json so that each test sees its own command's output fail or pass."""
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    for c in (console, err_console):  # wide: tables and lines must not fold what we look for
        monkeypatch.setattr(c, "_width", 400)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        out = _clean(result)
        assert result.exit_code == code, out
        return out

    run("workspaces", "add", WORKSPACE, "--json")
    run("topics", "add", TOPIC, "--kind", "brand", "--query", "acmebread", "--json")
    run("sources", "add", "rss", "https://feed.example/rss.xml", "--name", SOURCE, "--json")
    at = datetime.now(UTC) - timedelta(hours=3)
    rows = [
        {
            "id": f"p{i}",
            "source": "x",
            "text": TEXT,
            "url": URL,
            "created_at": (at + timedelta(minutes=i)).isoformat(),
            "author": {"id": "z1", "handle": HANDLE, "name": AUTHOR},
        }
        for i in range(2)
    ]
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run("import", str(posts), "--json")
    run("alerts", "add", RULE, "--topic", TOPIC, "--email", "team@acme.example", "--json")
    yield run
    get_settings.cache_clear()


def test_workspaces_list(cli: Any) -> None:
    assert WORKSPACE in cli("workspaces", "list")


def test_topics_list(cli: Any) -> None:
    topics = cli("topics", "list")
    assert TOPIC in topics and f"Topics of {WORKSPACE}" in topics  # the title too


def test_sources_list_and_status(cli: Any) -> None:
    assert SOURCE in cli("sources", "list")
    assert SOURCE in cli("sources", "status")


def test_adding_and_removing_echo_names_as_written(cli: Any) -> None:
    name = f"other {MARKS}"
    assert f"Created workspace {name}" in cli("workspaces", "add", name)
    added = cli("topics", "add", name, "--kind", "campaign", "--query", "x")
    assert f"topic {name} to {WORKSPACE}" in added
    assert f"Updated topic {name}" in cli("topics", "edit", name, "--disable")
    assert f"Removed topic {name}" in cli("topics", "remove", name)
    assert f"Added alert rule {name}" in cli(
        "alerts", "add", name, "--topic", TOPIC, "--email", "team@acme.example"
    )
    assert f"Removed alert rule {name}" in cli("alerts", "remove", name)
    src = cli("sources", "add", "rss", "https://feed.example/2.xml", "--name", name)
    assert f"Added rss source {name}, polled" in src
    assert f"Removed source {name}" in cli("sources", "remove", name)


def test_mentions_show_posts_authors_and_urls_as_written(cli: Any) -> None:
    for args in (("mentions", "list"), ("mentions", "list", "--search", "sunday")):
        out = cli(*args)
        assert TEXT in out and HANDLE in out and URL in out and TOPIC in out, out
        assert "👍" not in out


def test_people_show_names_as_written_once(cli: Any) -> None:
    listed = cli("people", "list")
    assert AUTHOR in listed and HANDLE in listed
    assert "\\[" not in listed  # not escaped twice
    pid = json.loads(cli("people", "list", "--json"))["people"][0]["id"]
    shown = cli("people", "show", str(pid))
    assert AUTHOR in shown and HANDLE in shown and TEXT[:100] in shown, shown  # cut at 100
    assert "\\[" not in shown


def test_inbox_list(cli: Any) -> None:
    inbox = cli("inbox", "list")
    assert HANDLE in inbox and TEXT[:80] in inbox and WORKSPACE in inbox, inbox


def test_alerts_list(cli: Any) -> None:
    alerts = cli("alerts", "list")
    assert RULE in alerts and TOPIC in alerts, alerts


def test_import_report(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "b1", "source": "[/bold]", "text": "hi"}) + "\n")
    out = cli("import", str(bad), code=1)
    assert "got '[/bold]'" in out, out


def test_errors_quote_user_input_as_written(cli: Any) -> None:
    assert "'[/bold]nope'" in cli("topics", "remove", "[/bold]nope", code=1)
    assert f"{RULE}x" in cli("alerts", "remove", f"{RULE}x", code=1)
    assert "'[red]x[/red]'" in cli("sources", "remove", "[red]x[/red]", code=1)


def test_listen_table_shows_source_and_error_as_written() -> None:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    from goodwill.cli.run import _outcome_row
    from goodwill.listen import PollOutcome

    error = "HTTP 500: [/bold] [link=https://evil.example]x[/link]"
    t = Table()
    for _ in range(7):
        t.add_column()
    t.add_row(*_outcome_row(PollOutcome(source=SOURCE, workspace_id=1, ok=False, error=error)))
    buf = StringIO()
    Console(file=buf, width=400, emoji=False).print(t)  # as the CLI's console prints it
    assert SOURCE in buf.getvalue() and f"error: {error}" in buf.getvalue()
