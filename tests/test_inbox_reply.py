"""Answering from the inbox through the source's connector, over real HTTP to a local fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.inbox import Inbox
from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.settings import Settings, get_settings
from goodwill.sources import api as api_module
from goodwill.sources.credentials import seal
from goodwill.sources.mastodon import MastodonSource
from goodwill.store.repository import Repository
from tests.fakes.mastodon import TOKEN, MastodonFake
from tests.feedserver import FeedServer, loopback_only, running_server

runner = CliRunner()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)
    with running_server() as srv:
        yield srv


def test_reply_from_the_inbox_is_posted_stored_and_closes_the_conversation(
    server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOODWILL_HTTP_ALLOW_PRIVATE", "true")
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result

    try:
        fake = MastodonFake(server, "mentions")
        [mention] = fake.add(1, text="Is the shop open on Sunday?")
        run("workspaces", "add", "W")
        run(
            "sources",
            "add",
            "mastodon",
            server.url(""),
            "--name",
            "m",
            "--set",
            "timeline=mentions",
            "--secret",
            f"access_token={TOKEN}",
        )
        run("listen", "--once")
        [conv] = json.loads(run("inbox", "list", "--json").stdout)
        assert conv["status"] == "open"

        out = json.loads(run("inbox", "reply", str(conv["id"]), "Yes, 8 to 14!", "--json").stdout)
        assert out["to"] == mention and out["stored"] is True
        assert out["posted"]["is_own"] is True and out["posted"]["in_reply_to"] == mention
        [after] = json.loads(run("inbox", "list", "--json").stdout)
        assert (after["id"], after["status"], after["post_count"]) == (conv["id"], "done", 2)

        refused = run("inbox", "reply", str(conv["id"]), "  ", code=1)
        assert "needs some text" in refused.output
    finally:
        get_settings.cache_clear()


def test_a_reply_the_brand_posts_on_the_network_closes_the_conversation_when_listened(
    server: FeedServer, repo: Repository, settings: Settings
) -> None:
    """Answering on the network directly is as good as answering from Goodwill: the listener
    stores the brand account's reply as its own post (the connector knows the account), and
    the conversation closes by itself, first response counted."""
    settings = settings.model_copy(update={"http_allow_private": True})
    ws = repo.add_workspace("Brightloaf").id
    fake = MastodonFake(server, "search")
    sealed = seal(fake.config(), MastodonSource.secret_fields, settings)
    repo.add_source(ws, "mastodon", "m", sealed, 60)

    def listen() -> None:
        async def go() -> None:
            async with make_client(settings) as http:
                [outcome] = await Listener(
                    repo, Ingestor(repo, settings), settings, http
                ).run_once()
                assert outcome.ok, outcome.error

        asyncio.run(go())

    question = fake.status("<p>@brightloaf is the shop open on Sunday?</p>")
    fake.publish(question)
    listen()
    inbox = Inbox(repo)
    inbox.refresh(ws)
    [conv] = inbox.conversations(ws)
    assert (conv.status, conv.needs_answer) == ("open", True)

    answer = fake.status("<p>@ana yes, from 8 to 14! brightloaf</p>", own=True)
    answer["in_reply_to_id"] = question["id"]
    fake.publish(answer)
    listen()
    inbox.refresh(ws)
    [after] = inbox.conversations(ws)
    assert after.id == conv.id and after.post_count == 2
    assert (after.status, after.needs_answer) == ("done", False)
    assert after.first_response_at is not None and after.answered_at == after.first_response_at
    assert inbox.metrics(ws).response_rate == 1.0
