"""`goodwill alerts` as a user types it: add, list, test through a real webhook, import that
fires an alert, log, run, feed; errors are precise and secrets stay out of the log."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.settings import get_settings
from tests.alertsinks import WebhookReceiver
from tests.feedserver import Reply, loopback_only, running_server

runner = CliRunner()


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOODWILL_HTTP_ALLOW_PRIVATE", "true")  # the receiver is on 127.0.0.1
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield run
    get_settings.cache_clear()


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def test_alerts_from_the_command_line(cli: Any, hook: WebhookReceiver, tmp_path: Path) -> None:
    cli("workspaces", "add", "Brightloaf")
    cli("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    added = json.loads(
        cli(
            "alerts", "add", "angry", "--topic", "brand", "--sentiment", "negative",
            "--webhook", hook.url, "--json",
        ).stdout
    )  # fmt: skip
    secret = added["endpoints"][0]["secret"]
    assert added["filters"] == {"sentiment": ["negative"]}
    listed = json.loads(cli("alerts", "list", "--json").stdout)
    assert listed[0]["name"] == "angry" and "secret" not in listed[0]["endpoints"][0]

    tested = json.loads(cli("alerts", "test", "angry", "--json").stdout)
    assert tested[0]["ok"] is True
    Webhook(secret).verify(hook.requests[0].body, hook.requests[0].headers)

    f = tmp_path / "posts.jsonl"
    now = datetime.now(UTC).isoformat()
    f.write_text(
        json.dumps(
            {"id": "1", "source": "x", "text": "Brightloaf is awful, I hate it", "created_at": now}
        )
        + "\n"
        + json.dumps({"id": "2", "source": "x", "text": "Brightloaf is lovely", "created_at": now})
        + "\n"
    )
    cli("import", str(f), "--json")
    # The import delivered at once: no listener needed.
    assert len(hook.requests) == 2
    body = json.loads(hook.requests[1].body)
    assert body["type"] == "alert.mention"
    assert body["data"]["post"]["text"] == "Brightloaf is awful, I hate it"

    log = json.loads(cli("alerts", "log", "--json").stdout)
    assert [(r["title"], r["status"], r["attempts"]) for r in log] == [
        ("New mention about brand by someone", "sent", 1),
        ("Test alert for rule angry", "sent", 1),
    ]
    assert secret not in cli("alerts", "log").stdout

    summary = json.loads(cli("alerts", "run", "--json").stdout)
    assert summary == {"events": 0, "held_for_digest": 0, "sent": 0, "failed": 0}

    path = cli("alerts", "feed", "--url").stdout.strip()
    assert path.startswith("/alerts/feed/") and path.endswith(".atom")
    root = ET.fromstring(cli("alerts", "feed").stdout_bytes)
    assert len(root.findall("{http://www.w3.org/2005/Atom}entry")) == 2

    cli("alerts", "remove", "angry")
    assert json.loads(cli("alerts", "list", "--json").stdout) == []


def test_secrets_are_masked_unless_revealed_by_name(cli: Any) -> None:
    """`alerts add` prints a new webhook's secret once; afterwards `list --secrets` shows which
    secret (masked: the last four characters), and only `--reveal-secrets` prints it in full,
    with a warning on stderr. Chat webhook URLs carry a secret in their path: the same."""
    cli("workspaces", "add", "Brightloaf")
    cli("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    chat = "https://hooks.slack.com/services/T000/B000/sekritpathsekritpath"
    added = json.loads(
        cli(
            "alerts", "add", "all", "--topic", "brand", "--webhook", "https://hooks.example.com/a",
            "--webhook", chat, "--format", "slack", "--json",
        ).stdout
    )  # fmt: skip
    secrets = [e["secret"] for e in added["endpoints"]]
    assert all(s.startswith("whsec_") and len(s) > 30 for s in secrets)
    assert chat in [e["target"] for e in added["endpoints"]]  # its creator sees it, once

    for args in (("alerts", "list"), ("alerts", "list", "--secrets")):
        for extra in ((), ("--json",)):
            out = cli(*args, *extra).stdout
            assert "sekritpath" not in out
            assert not any(s in out for s in secrets)
    masked = cli("alerts", "list", "--secrets").stdout
    assert all(f"whsec_…{s[-4:]}" in masked for s in secrets)
    listed = json.loads(cli("alerts", "list", "--secrets", "--json").stdout)
    assert [e["secret"] for e in listed[0]["endpoints"]] == [f"whsec_…{s[-4:]}" for s in secrets]
    assert json.loads(cli("alerts", "list", "--json").stdout)[0]["endpoints"][0].keys() == {
        "kind",
        "target",
        "format",
        "enabled",
        "disabled_reason",
    }

    revealed = cli("alerts", "list", "--reveal-secrets")
    assert all(s in revealed.stdout for s in secrets) and chat in revealed.stdout
    assert "printing webhook secrets in full" in revealed.stderr
    full = json.loads(cli("alerts", "list", "--reveal-secrets", "--json").stdout)
    assert [e["secret"] for e in full[0]["endpoints"]] == secrets
    assert chat in [e["target"] for e in full[0]["endpoints"]]


def test_an_endpoint_disabled_by_410_is_enabled_again(cli: Any, hook: WebhookReceiver) -> None:
    cli("workspaces", "add", "Brightloaf")
    cli("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    cli("alerts", "add", "all", "--topic", "brand", "--webhook", hook.url)
    hook.answer = lambda n, r: 410
    assert cli("alerts", "test", "all", ok=False).exit_code == 1
    [endpoint] = json.loads(cli("alerts", "endpoints", "--json").stdout)
    assert endpoint["enabled"] is False and "HTTP 410" in endpoint["disabled_reason"]
    assert "disabled (HTTP 410" in cli("alerts", "endpoints").stdout
    refused = cli("alerts", "enable-endpoint", "999", ok=False)
    assert refused.exit_code != 0 and "no alert endpoint 999" in refused.output
    too_far = cli(
        "alerts", "enable-endpoint", str(endpoint["id"]), "--retry-failed-days", "31", ok=False
    )
    assert too_far.exit_code == 2
    hook.answer = lambda n, r: 204
    done = json.loads(
        cli(
            "alerts", "enable-endpoint", str(endpoint["id"]), "--retry-failed-days", "7", "--json"
        ).stdout
    )  # fmt: skip
    assert done == {"id": endpoint["id"], "enabled": True, "retried": 1}
    assert json.loads(cli("alerts", "run", "--json").stdout)["sent"] == 1
    assert len(hook.requests) == 2 and len(set(hook.ids())) == 1  # the same test alert, again
    log = json.loads(cli("alerts", "log", "--json").stdout)
    assert [(r["status"], r["attempts"]) for r in log] == [("sent", 1)]


def test_alerts_errors_are_precise(cli: Any, hook: WebhookReceiver) -> None:
    cli("workspaces", "add", "Brightloaf")
    cli("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    bad = cli("alerts", "add", "x", "--topic", "brand", ok=False)
    assert bad.exit_code == 1 and "needs at least one channel" in bad.output
    bad = cli("alerts", "add", "x", "--kind", "spike", "--email", "a@b.example", ok=False)
    assert "unknown rule kind 'spike'" in bad.output
    bad = cli("alerts", "add", "x", "--topic", "brand", "--webhook", "ftp://h/x", ok=False)
    assert "unsupported scheme 'ftp'" in bad.output
    bad = cli("alerts", "test", "nope", ok=False)
    assert "no alert rule named 'nope'" in bad.output
    bad = cli(
        "alerts",
        "add",
        "x",
        "--kind",
        "author",
        "--signal",
        "fan",
        "--email",
        "a@b.example",
        ok=False,
    )
    assert (
        "unknown author signal 'fan' (known: influential, advocate, detractor, promoter)"
        in " ".join(bad.output.split())
    )
    bad = cli(
        "alerts",
        "add",
        "x",
        "--topic",
        "brand",
        "--signal",
        "advocate",
        "--email",
        "a@b.example",
        ok=False,
    )
    assert "a signal (who counts) is for author rules" in bad.output
    cli(
        "alerts",
        "add",
        "foes",
        "--kind",
        "author",
        "--signal",
        "detractor",
        "--email",
        "a@b.example",
    )
    [rule] = json.loads(cli("alerts", "list", "--json").stdout)
    assert rule["name"] == "foes" and rule["filters"] == {"signal": "detractor"}
    cli("alerts", "remove", "foes")
    hook.answer = lambda n, r: 500
    cli("alerts", "add", "x", "--topic", "brand", "--webhook", hook.url, "--format", "slack")
    failed = cli("alerts", "test", "x", ok=False)
    assert failed.exit_code == 1 and "HTTP 500" in failed.output and "will retry" in failed.output
    log = json.loads(cli("alerts", "log", "--json").stdout)
    assert log[0]["status"] == "pending" and log[0]["last_status"] == 500


def test_listen_once_alerts_on_a_real_feed(
    cli: Any, hook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback_only(monkeypatch)
    cli("workspaces", "add", "Brightloaf")
    cli("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    cli("alerts", "add", "news", "--topic", "brand", "--webhook", hook.url)
    with running_server() as server:
        rss = (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>b</title>'
            b"<link>https://blog.example/</link><description>d</description>"
            b"<item><title>Brightloaf opens a bakery</title><link>https://blog.example/1</link>"
            b"<guid>https://blog.example/1</guid><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>"
            b"</item></channel></rss>"
        )
        cli("sources", "add", "rss", server.serve("/feed.xml", Reply(rss)), "--name", "blog")
        cli("listen", "--once", "--json")
    [req] = hook.requests
    body = json.loads(req.body)
    assert body["type"] == "alert.mention"
    assert "Brightloaf opens a bakery" in body["data"]["post"]["text"]
    assert json.loads(cli("alerts", "log", "--json").stdout)[0]["status"] == "sent"


def test_digest_at_a_local_time_from_the_command_line(cli: Any) -> None:
    cli("workspaces", "add", "Brightloaf")
    cli("topics", "add", "brand", "--kind", "brand", "--query", "brightloaf")
    assert cli("alerts", "timezone").stdout.strip() == "UTC"
    assert cli("alerts", "timezone", "Europe/Paris").stdout.strip() == "Europe/Paris"
    bad = cli("alerts", "timezone", "Paris", ok=False)
    assert bad.exit_code == 1 and "unknown time zone 'Paris'" in bad.output
    cli(
        "alerts", "add", "weekly", "--topic", "brand", "--frequency", "weekly",
        "--at", "08:30", "--weekday", "Monday", "--email", "a@b.example",
    )  # fmt: skip
    [rule] = json.loads(cli("alerts", "list", "--json").stdout)
    assert rule["params"] == {"digest_at": "08:30", "digest_weekday": 0}
    bad = cli(
        "alerts", "add", "x", "--topic", "brand", "--frequency", "weekly", "--at", "08:30",
        "--weekday", "someday", "--email", "a@b.example", ok=False,
    )  # fmt: skip
    assert "unknown weekday 'someday'" in bad.output
