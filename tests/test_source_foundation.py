"""What all live connectors share: rate-limit headers, sealed credentials, the sources CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.settings import Settings, get_settings
from goodwill.sources import api as api_module
from goodwill.sources.base import ConfigError
from goodwill.sources.credentials import KEY_FILE, masked, seal, unseal
from goodwill.sources.ratelimit import ResetStyle, rate_limit_state, wait_seconds
from tests.fakes.hn import HnFake
from tests.feedserver import FeedServer, loopback_only, running_server

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
runner = CliRunner()


# --- rate limits, each provider's own way ------------------------------------------------------


def test_mastodon_reset_is_iso8601() -> None:
    headers = {"X-RateLimit-Reset": "2026-11-22T12:05:00.000Z", "X-RateLimit-Remaining": "0"}
    assert wait_seconds(headers, ResetStyle.MASTODON, NOW) == 300
    headers["X-RateLimit-Limit"] = "300"
    assert rate_limit_state(headers, ResetStyle.MASTODON, NOW) == {
        "remaining": 0,
        "limit": 300,
        "reset_in_s": 300,
    }


def test_reddit_reset_is_seconds_remaining_and_limit_is_used_plus_remaining() -> None:
    headers = {"x-ratelimit-reset": "42", "x-ratelimit-remaining": "3.0", "x-ratelimit-used": "97"}
    assert wait_seconds(headers, ResetStyle.REDDIT, NOW) == 42
    assert rate_limit_state(headers, ResetStyle.REDDIT, NOW) == {
        "remaining": 3,
        "limit": 100,
        "reset_in_s": 42,
    }


@pytest.mark.parametrize(
    ("style", "header"),
    [(ResetStyle.BLUESKY, "ratelimit-reset"), (ResetStyle.X, "x-rate-limit-reset")],
)
def test_bluesky_and_x_resets_are_epoch_seconds(style: ResetStyle, header: str) -> None:
    epoch = int((NOW + timedelta(seconds=90)).timestamp())
    assert wait_seconds({header: str(epoch)}, style, NOW) == 90


def test_retry_after_wins_and_nonsense_is_not_believed() -> None:
    assert wait_seconds({"Retry-After": "7", "x-ratelimit-reset": "500"}, ResetStyle.REDDIT) == 7
    assert wait_seconds({"X-RateLimit-Reset": "soon"}, ResetStyle.MASTODON, NOW) is None
    far = str(int((NOW + timedelta(days=400)).timestamp()))
    assert wait_seconds({"x-rate-limit-reset": far}, ResetStyle.X, NOW) is None
    past = "2026-11-22T11:00:00Z"
    assert wait_seconds({"X-RateLimit-Reset": past}, ResetStyle.MASTODON, NOW) == 0
    assert wait_seconds({}, ResetStyle.BLUESKY, NOW) is None


# --- credentials ---------------------------------------------------------------------------


def test_seal_with_the_configured_key_and_unseal(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key=SecretStr(key))
    sealed = seal(
        {"instance": "https://m.example", "access_token": "tok-123"}, {"access_token"}, settings
    )
    assert sealed["instance"] == "https://m.example"
    assert "tok-123" not in json.dumps(sealed)
    assert unseal(sealed, settings)["access_token"] == "tok-123"
    assert not (tmp_path / KEY_FILE).exists()  # the key came from the setting

    other = Settings(
        _env_file=None, data_dir=tmp_path, secret_key=SecretStr(Fernet.generate_key().decode())
    )
    with pytest.raises(
        ConfigError, match="access_token: the stored credential cannot be decrypted"
    ):
        unseal(sealed, other)


def test_without_a_key_setting_a_private_key_file_is_made(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="no key to read stored credentials"):
        unseal({"t": {"sealed": "x"}}, settings)
    sealed = seal({"t": "secret-value"}, {"t"}, settings)
    key_file = tmp_path / "data" / KEY_FILE
    assert key_file.exists() and (os.stat(key_file).st_mode & 0o777) == 0o600
    assert unseal(sealed, settings) == {"t": "secret-value"}


def test_masked_never_shows_a_secret_in_full() -> None:
    shown = masked(
        {"a": "abcdefghijklmnopqrstuvwxyz", "b": "short", "c": {"sealed": "gAAA"}, "u": "x"},
        {"a", "b"},
    )
    assert shown == {"a": "••••wxyz", "b": "••••", "c": "••••", "u": "x"}


# --- the sources CLI ---------------------------------------------------------------------------


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    loopback_only(monkeypatch)
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    with running_server() as srv:
        yield srv


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOODWILL_HTTP_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("GOODWILL_HTTP_TIMEOUT", "3")
    monkeypatch.setenv("GOODWILL_SOURCE_UNHEALTHY_AFTER", "2")
    get_settings.cache_clear()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield run
    get_settings.cache_clear()


def test_add_test_listen_and_unhealthy(cli: Any, server: FeedServer) -> None:
    hn = HnFake(server)
    cli("workspaces", "add", "W")
    api = hn.config()["api_url"]
    cli("sources", "add", "hn", "bread", "--set", f"api_url={api}", "--set", "page_size=5")
    [row] = json.loads(cli("sources", "list", "--json").stdout)
    assert row["name"] == "hn: bread" and row["target"] == "bread"
    bad = cli("sources", "add", "hn", "x", "--set", "colour=blue", ok=False)
    assert "unknown setting 'colour'" in bad.output

    first = hn.add(3)
    tried = json.loads(cli("sources", "test", "hn: bread", "--json").stdout)
    assert tried["count"] == 3 and {p["id"] for p in tried["posts"]} == set(first)
    assert json.loads(cli("workspaces", "list", "--json").stdout)[0]["posts"] == 0  # not stored
    shown = cli("sources", "test", "hn: bread").stdout
    assert "would bring in 3 posts" in shown and "nothing was stored" in shown

    done = json.loads(cli("listen", "--once", "--json").stdout)
    assert done[0]["inserted"] == 3

    # The API breaks for good: after 2 failures (the setting) the source is unhealthy.
    server.handler = None
    server.default.status = 500
    for _ in range(2):
        cli("listen", "--once", ok=False)
    [status] = json.loads(cli("sources", "status", "--json").stdout)
    assert status["health"].startswith("unhealthy") and "HTTP 500" in status["last_error"]
    text = cli("sources", "status").stdout
    assert "unhealthy" in text and "HTTP 500" in text


def test_credentials_are_sealed_in_the_store_and_masked_in_the_cli(
    cli: Any, server: FeedServer, database_url: str
) -> None:
    from goodwill.store.db import create_store_engine
    from goodwill.store.repository import Repository
    from tests.fakes.mastodon import TOKEN, MastodonFake

    fake = MastodonFake(server, "mentions")
    cli("workspaces", "add", "W")
    cli(
        "sources",
        "add",
        "mastodon",
        server.url(""),
        "--name",
        "mentions",
        "--set",
        "timeline=mentions",
        "--secret",
        f"access_token={TOKEN}",
    )
    engine = create_store_engine(database_url)
    try:
        [src] = Repository(engine).sources(None)
    finally:
        engine.dispose()
    assert TOKEN not in json.dumps(src.config) and "sealed" in src.config["access_token"]
    for command in ("list", "status"):
        out = cli("sources", command, "--json").stdout
        assert TOKEN not in out and TOKEN[-4:] not in out
    assert (
        json.loads(cli("sources", "list", "--json").stdout)[0]["config"]["access_token"] == "••••"
    )

    # The sealed token is opened for the poll: the fake only answers the right one.
    fake.add(2)
    done = json.loads(cli("listen", "--once", "--json").stdout)
    assert done[0]["ok"] and done[0]["inserted"] == 2
    [status] = json.loads(cli("sources", "status", "--json").stdout)
    assert status["rate_limit"]["limit"] == 300
    wrong = cli(
        "sources", "add", "mastodon", "m.example", "--set", "tag=x", "--secret", "tag=y", ok=False
    )
    assert "'tag' is not a credential of a mastodon source" in wrong.output
