"""Replying as the brand account, over real HTTP against the local provider fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.net import make_client
from goodwill.settings import Settings, get_settings
from goodwill.sources import api as api_module
from goodwill.sources import reddit as reddit_module
from goodwill.sources.base import CanReply, RateLimited, SourceError
from goodwill.sources.hn import HackerNewsSource
from goodwill.sources.mastodon import MastodonSource
from goodwill.sources.reddit import RedditSource
from tests.fakes.mastodon import TOKEN, MastodonFake
from tests.fakes.reddit import RedditFake
from tests.feedserver import FeedServer, Reply, loopback_only, running_server

runner = CliRunner()


@pytest.fixture(autouse=True)
def _guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(reddit_module, "_TOKENS", {})
    loopback_only(monkeypatch)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as srv:
        yield srv


def reply(cls: type[Any], config: dict[str, Any], to: str, text: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            source = cls("s", config, http, backfill=timedelta(days=1))
            assert isinstance(source, CanReply)
            result: dict[str, Any] = await source.reply(to, text)
            return result

    return asyncio.run(go())


def test_which_connectors_can_reply() -> None:
    assert issubclass(MastodonSource, CanReply) and issubclass(RedditSource, CanReply)
    assert not issubclass(HackerNewsSource, CanReply)


def test_mastodon_reply_is_posted_once_even_when_retried(server: FeedServer) -> None:
    fake = MastodonFake(server, "mentions")
    [mention] = fake.add(1)
    # The first POST fails after the instance may have acted: the retry carries the same
    # Idempotency-Key, so the instance answers with one status, not two.
    original = fake.handle

    def flaky(request: Any) -> Any:
        answer = original(request)
        if request.method == "POST" and not getattr(flaky, "failed", False):
            flaky.failed = True  # type: ignore[attr-defined]
            return Reply(b"gateway timeout", status=504, content_type="text/plain")
        return answer

    server.handler = flaky
    posted = reply(MastodonSource, fake.config(), mention, "Yes, 8 to 14 on Sundays!")
    assert len(fake.posted) == 1
    posts = [r for r in server.requests if r.method == "POST"]
    assert (
        len(posts) == 2
        and posts[0].headers["Idempotency-Key"] == posts[1].headers["Idempotency-Key"]
    )
    assert json.loads(posts[0].body) == {
        "status": "Yes, 8 to 14 on Sundays!",
        "in_reply_to_id": mention.rsplit("/", 1)[1],
    }
    assert posted["is_own"] is True and posted["text"] == "Yes, 8 to 14 on Sundays!"
    assert posted["in_reply_to"] == mention


def test_mastodon_refuses_a_post_of_another_instance(server: FeedServer) -> None:
    fake = MastodonFake(server, "mentions")
    with pytest.raises(SourceError, match=r"is not a status of 127\.0\.0\.1"):
        reply(MastodonSource, fake.config(), "mastodon.social/1", "hi")


def test_reddit_reply_and_its_refusals(server: FeedServer) -> None:
    fake = RedditFake(server, "mentions")
    [mention] = fake.add(1)
    posted = reply(RedditSource, fake.config(), mention, "Six hours, yes.")
    assert posted["in_reply_to"] == mention and posted["is_own"] is True
    assert posted["text"] == "Six hours, yes." and posted["id"].startswith("t1_")

    fake.comment_error = [
        "RATELIMIT",
        "you are doing that too much. try again in 9 minutes.",
        "ratelimit",
    ]
    with pytest.raises(RateLimited, match="try again in 9 minutes"):
        reply(RedditSource, fake.config(), mention, "again")

    # A failed POST is not retried: Reddit has no idempotency key.
    fake.comment_error = None
    before = fake.comments_posted
    server.queued.append(Reply(b"oops", status=500, content_type="text/plain"))
    token_and_500 = len(server.requests)
    with pytest.raises(SourceError, match="HTTP 500"):
        reply(RedditSource, fake.config(), mention, "once only")
    assert fake.comments_posted == before
    assert len(server.requests) == token_and_500 + 1


def test_reply_from_the_cli_is_posted_and_stored(
    server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOODWILL_HTTP_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    try:
        fake = MastodonFake(server, "mentions")
        [mention] = fake.add(1)

        def run(*args: str) -> Any:
            result = runner.invoke(app, list(args))
            assert result.exit_code == 0, result.output
            return result

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
        out = json.loads(run("sources", "reply", "m", mention, "See you Sunday", "--json").stdout)
        assert out["stored"] is True and out["posted"]["is_own"] is True
        assert json.loads(run("workspaces", "list", "--json").stdout)[0]["posts"] == 1

        run("sources", "add", "hn", "bread", "--name", "h")
        refused = runner.invoke(app, ["sources", "reply", "h", "1", "x"])
        assert refused.exit_code == 1 and "hn sources cannot reply" in refused.output
    finally:
        get_settings.cache_clear()


def test_bluesky_reply_names_parent_and_root(server: FeedServer) -> None:
    from goodwill.sources.bluesky_search import BlueskySearchSource
    from tests.fakes.bluesky import BRAND_DID, BlueskySearchFake

    fake = BlueskySearchFake(server, login=True)
    root = fake.view("Is Brightloaf open on Sundays?")
    parent = fake.view("I think so?")
    parent["record"]["reply"] = {
        "root": {"uri": root["uri"], "cid": root["cid"]},
        "parent": {"uri": root["uri"], "cid": root["cid"]},
    }
    fake.views += [root, parent]
    posted = reply(BlueskySearchSource, fake.config(), parent["uri"], "Yes, 8 to 14!")
    [created] = fake.created
    assert created["repo"] == BRAND_DID and len(created["rkey"]) == 13
    assert created["record"]["reply"] == {
        "root": {"uri": root["uri"], "cid": root["cid"]},
        "parent": {"uri": parent["uri"], "cid": parent["cid"]},
    }
    assert posted["id"] == f"at://{BRAND_DID}/app.bsky.feed.post/{created['rkey']}"
    assert posted["is_own"] is True and posted["in_reply_to"] == parent["uri"]
    assert posted["conversation_id"] == root["uri"]
    assert posted["author"]["handle"] == "@brightloaf.example"
    with pytest.raises(SourceError, match="at most 300 characters"):
        reply(BlueskySearchSource, fake.config(), parent["uri"], "x" * 301)
    with pytest.raises(SourceError, match="was not found"):
        reply(BlueskySearchSource, fake.config(), parent["uri"][:-3] + "zzz", "hi")
