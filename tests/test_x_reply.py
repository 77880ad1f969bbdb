"""Replying on X as the brand with a user-context OAuth 2.0 token, over real HTTP on 127.0.0.1:
the refresh grant (one-use refresh tokens, the new one stored sealed), ``POST /2/tweets`` with
``reply.in_reply_to_tweet_id``, and the refusals an app without the right tier or token gets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.net import make_client
from goodwill.settings import Settings, get_settings
from goodwill.sources import api as api_module
from goodwill.sources.base import CanReply, SourceError
from goodwill.sources.credentials import is_sealed
from goodwill.sources.x import XSource
from goodwill.store.db import create_store_engine
from goodwill.store.repository import Repository
from tests.fakes.x import BRAND_ID, CLIENT_ID, FIRST_REFRESH, TOKEN, XFake
from tests.feedserver import FeedServer, loopback_only, running_server

runner = CliRunner()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)
    with running_server() as srv:
        yield srv


def reply(config: dict[str, Any], to: str, text: str) -> tuple[dict[str, Any], dict[str, str]]:
    async def go() -> tuple[dict[str, Any], dict[str, str]]:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            source = XSource("x", config, http)
            try:
                return await source.reply(to, text), source.rotated_secrets()
            except SourceError as exc:
                exc.rotated = source.rotated_secrets()  # type: ignore[attr-defined]
                raise

    return asyncio.run(go())


def user_config(fake: XFake) -> dict[str, Any]:
    return {**fake.config(), "client_id": CLIENT_ID, "refresh_token": FIRST_REFRESH}


def test_x_can_reply() -> None:
    assert issubclass(XSource, CanReply)


def test_a_reply_is_posted_with_the_user_token_and_the_new_refresh_token_kept(
    server: FeedServer,
) -> None:
    fake = XFake(server)
    [parent] = fake.add(1)
    post, rotated = reply(user_config(fake), parent, "Open till 6 today!")
    assert fake.posted == [
        {"text": "Open till 6 today!", "reply": {"in_reply_to_tweet_id": parent}}
    ]
    assert post["is_own"] and post["in_reply_to"] == parent and post["text"] == "Open till 6 today!"
    assert post["author"] == {
        "id": BRAND_ID,
        "handle": "@brightloaf",
        "name": "Brightloaf",
        "followers": None,
    }
    assert rotated == {"refresh_token": "user-refresh-2"}
    sent = next(r for r in server.requests if r.path == "/2/tweets")
    assert sent.headers["Authorization"] == "Bearer user-access-1"  # never the app's token
    token_request = next(r for r in server.requests if r.path == "/2/oauth2/token")
    assert token_request.headers.get("Authorization") != f"Bearer {TOKEN}"


def test_an_app_that_may_not_post_fails_clearly_and_keeps_its_new_refresh_token(
    server: FeedServer,
) -> None:
    fake = XFake(server)
    fake.can_post = False
    [parent] = fake.add(1)
    with pytest.raises(SourceError, match=r"HTTP 403 .*oauth1 app permissions") as caught:
        reply(user_config(fake), parent, "hello")
    assert caught.value.rotated == {"refresh_token": "user-refresh-2"}  # type: ignore[attr-defined]
    assert fake.posted == []


def test_a_spent_refresh_token_and_missing_settings_say_so(server: FeedServer) -> None:
    fake = XFake(server)
    [parent] = fake.add(1)
    fake.refresh_token = "user-refresh-9"  # the stored one was used elsewhere
    with pytest.raises(SourceError, match="token was invalid") as caught:
        reply(user_config(fake), parent, "hello")
    assert FIRST_REFRESH not in str(caught.value)
    with pytest.raises(SourceError, match="needs client_id and refresh_token"):
        reply(fake.config(), parent, "hello")


def test_replies_from_the_cli_store_the_rotated_token_sealed(
    server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOODWILL_HTTP_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    try:
        fake = XFake(server)
        first, second = fake.add(2)

        def run(*args: str) -> Any:
            result = runner.invoke(app, list(args))
            assert result.exit_code == 0, result.output
            return result

        run("workspaces", "add", "W")
        run(
            "sources",
            "add",
            "x",
            "brightloaf",
            "--name",
            "x",
            "--set",
            f"api_url={server.url('')}",
            "--set",
            f"client_id={CLIENT_ID}",
            "--secret",
            f"bearer_token={TOKEN}",
            "--secret",
            f"refresh_token={FIRST_REFRESH}",
        )
        # Two replies: the second works only if the first one's new refresh token was kept.
        for parent in (first, second):
            out = json.loads(run("sources", "reply", "x", parent, "Thanks!", "--json").stdout)
            assert out["stored"] is True and out["posted"]["in_reply_to"] == parent
        assert len(fake.posted) == 2
        engine = create_store_engine(database_url)
        try:
            repo = Repository(engine)
            [ws] = repo.workspaces()
            stored = repo.source(ws.id, "x").config["refresh_token"]
        finally:
            engine.dispose()
        assert is_sealed(stored) and "user-refresh" not in json.dumps(stored)
    finally:
        get_settings.cache_clear()
