"""Credentials never show: not in logs, not in CLI output, not in a stored error, whatever the
provider answers.

Every connector kind with credentials is added through the CLI (``--secret KEY=VALUE``), used
once against its local fake, then made to fail in the ways a provider fails, including a
careless or hostile one that echoes the request's credentials back in its error body. Through
`sources add/list/status/test` and `listen --once`, with every logger at DEBUG, no secret value
may appear anywhere.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.settings import get_settings
from goodwill.sources import api as api_module
from goodwill.sources.atproto_session import forget_sessions
from tests.fakes.base import ProviderFake, json_reply
from tests.fakes.bluesky import BlueskySearchFake
from tests.fakes.mastodon import MastodonFake
from tests.fakes.reddit import RedditFake
from tests.fakes.x import XFake
from tests.fakes.youtube import YouTubeFake
from tests.feedserver import FeedServer, Reply, Request, loopback_only, running_server

runner = CliRunner()

FAKES: dict[str, Any] = {
    "mastodon-mentions": lambda server: MastodonFake(server, "mentions"),
    "reddit-mentions": lambda server: RedditFake(server, "mentions"),
    "x-search": XFake,
    "youtube": YouTubeFake,
    "bluesky-notifications": lambda server: BlueskySearchFake(server, feed="notifications"),
}


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)
    forget_sessions()


@pytest.fixture(params=sorted(FAKES))
def fake(request: pytest.FixtureRequest) -> Iterator[ProviderFake]:
    with running_server() as server:
        yield FAKES[request.param](server)


@pytest.fixture
def cli(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, list[str]]]:
    import shutil

    db = tmp_path / "goodwill.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.setenv("GOODWILL_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOODWILL_HTTP_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("GOODWILL_HTTP_TIMEOUT", "3")
    get_settings.cache_clear()
    outputs: list[str] = []

    def run(*args: str) -> Any:
        result = runner.invoke(app, list(args))
        outputs.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    yield run, outputs
    get_settings.cache_clear()


def echoing(server: FeedServer, status: int) -> None:
    """From now on the provider fails, quoting back everything it was sent."""

    def handle(request: Request) -> Reply:
        # The credentials first, before any length limit can cut them off.
        auth = request.headers.get("Authorization") or request.headers.get("X-Goog-Api-Key")
        message = f"bad {auth} {request.body.decode()[:300]} {request.query}"
        return json_reply({"error": "invalid_request", "message": message}, status)

    server.handler = handle


def test_no_secret_is_ever_shown_or_logged(
    fake: ProviderFake, cli: tuple[Any, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    run, outputs = cli
    caplog.set_level(logging.DEBUG)
    config = fake.source.validate_config(fake.config())
    secrets = {k: str(v) for k, v in config.items() if k in fake.source.secret_fields and v}
    assert secrets, "this fake configures no credential"
    options: list[str] = []
    for key, value in fake.config().items():
        flag = "--secret" if key in secrets else "--set"
        options += [flag, f"{key}={value}"]
    run("workspaces", "add", "W")
    assert run("sources", "add", fake.kind, "--name", "src", *options).exit_code == 0
    fake.add(2)
    assert run("sources", "test", "src").exit_code == 0  # the credentials work
    assert run("listen", "--once").exit_code == 0

    for status in (401, 403, 500):
        echoing(fake.server, status)
        forget_sessions()
        assert run("sources", "test", "src").exit_code != 0
        assert run("listen", "--once").exit_code != 0
    fake.server.handler = None
    fake.server.default = Reply(b"", status=200, content_type="text/plain")  # not JSON at all
    run("sources", "test", "src")
    run("listen", "--once")
    for command in ("list", "status"):
        run("sources", command)
        run("sources", command, "--json")
    [row] = json.loads(run("sources", "status", "--json").stdout)
    assert row["last_error"], "the failures were not recorded"

    shown = "\n".join(outputs) + "\n" + caplog.text
    for key, value in secrets.items():
        assert value not in shown, f"{key} was shown or logged"
        if len(value) >= 12:  # not even most of it
            assert value[:-4] not in shown and value[4:] not in shown, f"{key} partly shown"


def test_scrub_masks_our_credentials_and_any_bearer_value() -> None:
    from goodwill.sources.base import RateLimited
    from goodwill.sources.credentials import scrub, scrubbed

    text = "401: bad key AIza-secret-123 and Bearer eyJhbGciOi.derived-token; basic dXNlcjpwYXNz"
    clean = scrub(text, ["AIza-secret-123", "x"])
    assert clean == "401: bad key •••• and Bearer ••••; basic ••••"
    limited = scrubbed(RateLimited("429 for AIza-secret-123", 30.0), ["AIza-secret-123"])
    assert isinstance(limited, RateLimited) and limited.retry_after == 30.0
    assert str(limited) == "429 for ••••"
