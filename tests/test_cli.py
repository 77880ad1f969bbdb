"""The `goodwill` command as a user types it, on a real database."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()

    def run(*args: str, input: str | None = None, ok: bool = True) -> Any:
        result = runner.invoke(app, list(args), input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield run
    get_settings.cache_clear()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_workspace_topic_import_and_mentions(cli: Any, tmp_path: Path) -> None:
    cli("workspaces", "add", "Brightloaf")
    out = json.loads(cli("workspaces", "list", "--json").stdout)
    assert out[0]["name"] == "Brightloaf" and out[0]["default"] is True
    cli("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf OR @brightloaf")
    cli("topics", "add", "rivals", "--kind", "competitor", "--query", '"oven republic"')
    topics = json.loads(cli("topics", "list", "--json").stdout)
    assert [t["name"] for t in topics] == ["brand", "rivals"]

    f = write_jsonl(
        tmp_path / "posts.jsonl",
        [
            {
                "id": "1",
                "source": "x",
                "text": "Brightloaf rocks",
                "created_at": "2026-11-01T10:00:00Z",
            },
            {
                "id": "2",
                "source": "x",
                "text": "Oven Republic is fine",
                "created_at": "2026-11-01T11:00:00Z",
            },
            {"id": "3", "source": "x", "text": 42, "created_at": "2026-11-01T11:00:00Z"},
        ],
    )
    report = json.loads(cli("import", str(f), "--json").stdout)
    assert (report["inserted"], report["rejected"]) == (2, 1)
    assert report["problems"] == ["line 3 (id '3'): text: expected a string, got int"]
    again = json.loads(cli("import", str(f), "--json").stdout)
    assert (again["inserted"], again["unchanged"]) == (0, 2)

    counts = json.loads(cli("mentions", "count", "--json").stdout)
    assert counts["topics"] == {"brand": 1, "rivals": 1}
    listed = json.loads(cli("mentions", "list", "--topic", "brand", "--json").stdout)
    assert [m["id"] for m in listed] == ["1"] and listed[0]["topics"] == ["brand"]
    found = json.loads(cli("mentions", "list", "--search", "republic", "--json").stdout)
    assert [m["id"] for m in found] == ["2"]
    human = cli("mentions", "list").stdout
    assert "Brightloaf rocks" in human and "Oven Republic" in human


def test_csv_import_with_mapping(cli: Any, tmp_path: Path) -> None:
    cli("workspaces", "add", "W")
    cli("topics", "add", "t", "--kind", "brand", "--query", "bread")
    f = tmp_path / "p.csv"
    f.write_text(
        "tid,body,when\n1,bread is good,2026-11-01 10:00\n2,no match,2026-11-01 10:00\n"
        "3,bread again,not a date\n"
    )
    out = cli(
        "import",
        str(f),
        "--map",
        "id=tid",
        "--map",
        "text=body",
        "--map",
        "created_at=when",
        "--assume-tz",
        "UTC",
        "--json",
    ).stdout
    report = json.loads(out)
    assert (report["inserted"], report["mentions"], report["rejected"]) == (2, 1, 1)
    assert report["problems"][0].startswith("line 4 (id '3'): created_at:")


def test_query_check_and_match(cli: Any) -> None:
    res = cli("query", "check", "(late OR delayed) NEAR/5 delivery")
    assert "understood as" in res.stdout
    bad = cli("query", "check", "(late OR delayed", ok=False)
    assert bad.exit_code == 1 and "column" in bad.output and "Traceback" not in bad.output
    as_json = json.loads(cli("query", "check", "a OR", "--json", ok=False).stdout)
    assert as_json["ok"] is False and as_json["column"] >= 1
    posts = "\n".join(
        json.dumps(p)
        for p in [
            {
                "id": "a",
                "source": "x",
                "text": "delivery was late",
                "created_at": "2026-11-01T10:00:00Z",
            },
            {
                "id": "b",
                "source": "x",
                "text": "delivery on time",
                "created_at": "2026-11-01T10:00:00Z",
            },
            {
                "id": "c",
                "source": "x",
                "text": "late late late",
                "created_at": "2026-11-01T10:00:00Z",
            },
        ]
    )
    res = cli("query", "match", "late NEAR/3 delivery", input=posts + "\n")
    assert res.stdout.split() == ["a"]


def test_errors_are_messages_not_tracebacks(cli: Any, tmp_path: Path) -> None:
    res = cli("mentions", "list", ok=False)
    assert res.exit_code == 1 and "no workspace yet" in res.output
    cli("workspaces", "add", "A")
    cli("workspaces", "add", "B")
    res = cli("topics", "list", "--workspace", "C", ok=False)
    assert "no workspace named 'C'" in res.output
    res = cli("topics", "add", "t", "--kind", "brand", "--query", "NOT x", "-w", "A", ok=False)
    assert "query has a problem" in res.output
    res = cli("import", str(tmp_path / "missing.jsonl"), "-w", "A", ok=False)
    assert "no such file" in res.output
    res = cli("sources", "add", "carrier-pigeon", "x", "-w", "A", ok=False)
    assert "rss" in res.output


@pytest.mark.slow
def test_killed_import_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    """A real process killed with SIGKILL mid-import; importing again gives every post once."""
    db = tmp_path / "gw.db"
    env = {
        **os.environ,
        "GOODWILL_DATABASE_URL": f"sqlite:///{db}",
        "GOODWILL_INGEST_BATCH_SIZE": "200",
    }
    rows = [
        {
            "id": str(i),
            "source": "x",
            "text": f"bread post {i} " + "word " * (i % 7),
            "created_at": "2026-11-01T10:00:00Z",
        }
        for i in range(20_000)
    ]
    f = write_jsonl(tmp_path / "big.jsonl", rows)
    gw = [sys.executable, "-m", "goodwill"]
    subprocess.run([*gw, "workspaces", "add", "W"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*gw, "topics", "add", "t", "--kind", "brand", "--query", "bread"],
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [*gw, "import", str(f), "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    import sqlite3

    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db, timeout=1) as conn:
                stored = conn.execute("select count(*) from posts").fetchone()[0]
        except sqlite3.Error:
            continue
        if stored >= 1000:
            break
    if proc.poll() is not None:
        pytest.skip("the import finished before it could be killed (machine too fast)")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        partial = conn.execute("select count(*) from posts").fetchone()[0]
    assert 0 < partial < 20_000 and partial % 200 == 0  # whole batches only
    out = subprocess.run(
        [*gw, "import", str(f), "--json"], env=env, check=True, capture_output=True
    )
    report = json.loads(out.stdout)
    assert report["inserted"] == 20_000 - partial and report["unchanged"] == partial
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from posts").fetchone()[0] == 20_000
        assert conn.execute("select count(*) from mentions").fetchone()[0] == 20_000


def test_error_caret_sits_under_the_column_even_after_emoji() -> None:
    from goodwill.cli._context import point_at

    assert point_at("🍕 AND (x", 9).splitlines()[1] == "  " + " " * 9 + "^"
    assert point_at("abc", 2).splitlines()[1] == "   ^"


@pytest.mark.slow
def test_demo_command_serves_the_demo_workspace(tmp_path: Path) -> None:
    """What `./go demo` runs: loads the demo and serves it; every topic has mentions."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GOODWILL_DATA_DIR": str(tmp_path)}
    env.pop("GOODWILL_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "goodwill", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    try:
        assert proc.stdout is not None
        # `goodwill demo` prints how to log in (a fresh password each run) before serving.
        for line in proc.stdout:
            printed.append(line)
            if "Log in as" in line:
                break
        match = re.search(r"Log in as (\S+) with password (\S+)", "".join(printed))
        assert match, "".join(printed)
        email, password = match.groups()
        deadline = time.monotonic() + 90
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
        page = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                page = client.get("/login")
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert page is not None and page.status_code == 200
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token
        login = {"email": email, "password": password, "csrf_token": token.group(1)}
        page = client.post("/login", data=login, follow_redirects=True)
        assert page.status_code == 200 and "Share of voice" in page.text  # the dashboard
        page = client.get(str(page.url).replace("/dashboard", "/mentions"))
        assert "Brightloaf (demo)" in page.text
        for topic in ("Brightloaf", "Crumbly &amp; Co", "Oven Republic", "Bakery delivery"):
            assert topic in page.text
        assert page.text.count('<li class="mention') == 50  # a full first page
        assert (tmp_path / "goodwill.db").exists()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    out = "".join(printed) + out
    assert "topic Brightloaf:" in out and "http://127.0.0.1:" in out
