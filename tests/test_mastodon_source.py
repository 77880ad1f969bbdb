"""Mastodon specifics beyond the contract suite: mapping, own account, settings, errors."""

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
from goodwill.sources.mastodon import MastodonSource
from tests.fakes.mastodon import BRAND_ID, MastodonFake
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
            src = MastodonSource("m", config, http, backfill=timedelta(days=1))
            return await src.poll(cursor or {}), src.rate_limit_state()

    return asyncio.run(go())


def test_a_status_becomes_a_post(server: Any) -> None:
    fake = MastodonFake(server)
    status = fake.status(fake.template["content"])
    status["in_reply_to_id"] = "113562931224500000"
    fake.publish(status)
    page, rate_limit = poll(fake.config())
    [post] = page.posts
    host = f"127.0.0.1:{server.port}"
    assert post["id"] == f"{host}/{status['id']}"
    assert post["text"] == "Is @brightloaf open on Sundays? Their rye is #bread perfection"
    assert post["author"] == {
        "id": f"{host}/109332234519342112",
        "handle": f"@ana@{host}",
        "name": "Ana :bread_emoji:",
        "followers": 210,
    }
    assert post["metrics"] == {"likes": 2, "shares": 0, "replies": 1}
    assert post["in_reply_to"] == f"{host}/113562931224500000"
    assert post["lang"] == "en" and post["is_own"] is False
    assert post["url"] == "https://mastodon.example/@ana/113562931224506478"
    assert post["mastodon"]["visibility"] == "public"  # raw fields kept
    assert rate_limit is not None and rate_limit["limit"] == 300 and rate_limit["remaining"] < 300
    assert page.cursor["min_id"] == status["id"]


def test_a_boost_is_stored_as_the_boosted_status(server: Any) -> None:
    fake = MastodonFake(server)
    original = fake.status("<p>the original</p>")
    boost = fake.status("")
    boost["reblog"] = original
    boost["account"] = {**boost["account"], "acct": "booster@other.example"}
    fake.publish(boost)
    [post] = poll(fake.config())[0].posts
    assert post["text"] == "the original" and post["id"].endswith(original["id"])
    assert post["boosted_by"] == "booster@other.example"


def test_own_statuses_are_marked_own_and_mentions_are_not(server: Any) -> None:
    own = MastodonFake(server, "own")
    own.add(2)
    page, _ = poll(own.config())
    assert [p["is_own"] for p in page.posts] == [True, True]
    assert page.cursor["account_id"] == BRAND_ID
    assert all(p["author"]["handle"].startswith("@brightloaf@") for p in page.posts)

    mentions = MastodonFake(server, "mentions")
    mentions.add(1)
    [post] = poll(mentions.config())[0].posts
    assert post["is_own"] is False and post["mastodon_notification"]["type"] == "mention"


def test_a_bad_token_says_so(server: Any) -> None:
    fake = MastodonFake(server, "mentions")
    config = {**fake.config(), "access_token": "wrong"}
    with pytest.raises(SourceError, match=r"HTTP 401 .*The access token is invalid.*scopes"):
        poll(config)


def test_settings_are_checked() -> None:
    ok = MastodonSource.validate_config({"instance": "mastodon.example", "tag": "#Bread"})
    assert ok["instance"] == "https://mastodon.example" and ok["tag"] == "Bread"
    with pytest.raises(ConfigError, match="tag: required"):
        MastodonSource.validate_config({"instance": "https://m.example"})
    with pytest.raises(ConfigError, match="access_token: the mentions timeline needs"):
        MastodonSource.validate_config({"instance": "https://m.example", "timeline": "mentions"})
    with pytest.raises(ConfigError, match="query: required"):
        MastodonSource.validate_config(
            {"instance": "https://m.example", "timeline": "search", "access_token": "t"}
        )
    with pytest.raises(ConfigError, match="timeline: 'home' is not one of"):
        MastodonSource.validate_config({"instance": "https://m.example", "timeline": "home"})
    with pytest.raises(ConfigError, match="instance: unsupported scheme"):
        MastodonSource.validate_config({"instance": "ftp://m.example", "tag": "x"})
    with pytest.raises(ConfigError, match="page_size: must be between 1 and 40"):
        MastodonSource.validate_config({"instance": "m.example", "tag": "x", "page_size": 100})
