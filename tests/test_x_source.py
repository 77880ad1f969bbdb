"""X specifics beyond the contract suite: mapping, own account, settings, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources.base import ConfigError, Page, SourceError
from goodwill.sources.x import XSource
from tests.fakes.x import BRAND_ID, XFake
from tests.feedserver import loopback_only, running_server


@pytest.fixture(autouse=True)
def _guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)


@pytest.fixture
def server() -> Iterator[Any]:
    with running_server() as srv:
        yield srv


def poll(config: dict[str, Any], cursor: dict[str, Any] | None = None) -> tuple[Page, Any]:
    async def go() -> tuple[Page, Any]:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            src = XSource("x", config, http, backfill=timedelta(days=1))
            return await src.poll(cursor or {}), src.rate_limit_state()

    return asyncio.run(go())


def test_a_tweet_becomes_a_post(server: Any) -> None:
    fake = XFake(server)
    tweet = fake.tweet(fake.template["text"])
    fake.tweets.append(tweet)
    page, rate_limit = poll(fake.config())
    [post] = page.posts
    assert post["text"] == "@brightloaf delivery window 8–14 is too wide & nobody answers >:("
    assert post["url"] == f"https://x.com/ana_bakes/status/{tweet['id']}"
    assert post["author"] == {
        "id": "1453297460318773249",
        "handle": "@ana_bakes",
        "name": "Ana P.",
        "followers": 210,
    }
    assert post["in_reply_to"] == "1859210006152429568"
    assert post["conversation_id"] == "1859210006152429568"
    assert post["metrics"] == {"likes": 7, "shares": 2, "replies": 2}
    assert post["lang"] == "en" and post["is_own"] is False
    assert post["x"]["public_metrics"]["impression_count"] == 412
    assert page.cursor == {"since_id": tweet["id"]}
    assert rate_limit == {"remaining": 449, "limit": 450, "reset_in_s": pytest.approx(900, abs=3)}


def test_own_tweets_in_mentions_are_marked(server: Any) -> None:
    fake = XFake(server, "mentions")
    tweet = fake.tweet("thanks for asking")
    tweet["author_id"] = BRAND_ID
    fake.tweets.append(tweet)
    [post] = poll(fake.config())[0].posts
    assert post["is_own"] is True and post["url"] == f"https://x.com/i/web/status/{tweet['id']}"


def test_a_bad_token_says_so(server: Any) -> None:
    fake = XFake(server)
    with pytest.raises(SourceError, match=r"HTTP 401 .*Unauthorized \(check the token"):
        poll({**fake.config(), "bearer_token": "nope"})


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="bearer_token: required"):
        XSource.validate_config({"query": "a"})
    with pytest.raises(ConfigError, match="query: required"):
        XSource.validate_config({"bearer_token": "t"})
    with pytest.raises(ConfigError, match="user_id: required for mentions"):
        XSource.validate_config({"bearer_token": "t", "timeline": "mentions"})
    with pytest.raises(ConfigError, match="is not a numeric X user id"):
        XSource.validate_config({"bearer_token": "t", "query": "a", "user_id": "@brand"})
    with pytest.raises(ConfigError, match="backfill_hours: must be between 0 and 168"):
        XSource.validate_config({"bearer_token": "t", "query": "a", "backfill_hours": 200})
