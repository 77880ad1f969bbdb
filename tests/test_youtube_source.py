"""YouTube specifics beyond the contract suite: threads with replies, own replies, quota."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources.base import ConfigError, Page, RateLimited, SourceError
from goodwill.sources.youtube import YouTubeSource, _until_pacific_midnight
from tests.fakes.base import json_reply, load
from tests.fakes.youtube import YouTubeFake
from tests.feedserver import loopback_only, running_server


@pytest.fixture(autouse=True)
def _guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)


@pytest.fixture
def server() -> Iterator[Any]:
    with running_server() as srv:
        yield srv


def poll(config: dict[str, Any]) -> Page:
    async def go() -> Page:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            return await YouTubeSource("y", config, http, backfill=timedelta(days=3)).poll({})

    return asyncio.run(go())


def test_a_thread_and_its_reply_become_posts(server: Any) -> None:
    fake = YouTubeFake(server)
    thread = fake.clone(fake.template)
    now = datetime.now(UTC)
    thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = (
        now - timedelta(hours=2)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    thread["replies"]["comments"][0]["snippet"]["publishedAt"] = (
        now - timedelta(hours=1)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake.threads.append(thread)
    top, reply = poll(fake.config()).posts
    assert top["text"] == "Tried this at home & the crust was perfect. Which flour is it?"
    assert top["url"] == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzDE2tasfmrYLyNkGt4AaABAg"
    assert top["author"] == {
        "id": "UC2qb3nR7m0hLw4J3nN1xyzA",
        "handle": "@homebaker_lu",
        "name": "@homebaker_lu",
    }
    assert top["metrics"] == {"likes": 12, "replies": 1} and top["is_own"] is False
    assert reply["in_reply_to"] == top["id"] and reply["conversation_id"] == top["id"]
    assert reply["is_own"] is True and reply["text"].startswith("Thanks! It's our")
    assert reply["youtube"]["videoId"] == "dQw4w9WgXcQ"


def test_quota_exceeded_waits_until_midnight_pacific(server: Any) -> None:
    fake = YouTubeFake(server)
    server.queued.append(json_reply(load("youtube", "error-quota.json"), 403))
    with pytest.raises(RateLimited, match="quota exceeded") as caught:
        poll(fake.config())
    assert 60 <= caught.value.retry_after <= 25 * 3600
    noon_utc = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles (PST)
    assert _until_pacific_midnight(noon_utc) == 12 * 3600


def test_a_bad_key_says_so(server: Any) -> None:
    fake = YouTubeFake(server)
    with pytest.raises(SourceError, match=r"HTTP 400 .*API key not valid"):
        poll({**fake.config(), "api_key": "nope"})


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="channel_id: required"):
        YouTubeSource.validate_config({"api_key": "k"})
    with pytest.raises(ConfigError, match="is not a channel id"):
        YouTubeSource.validate_config({"api_key": "k", "channel_id": "@brightloaf"})
    with pytest.raises(ConfigError, match="api_key: required"):
        YouTubeSource.validate_config({"channel_id": "UCbrightloafbakery000001"})
    ok = YouTubeSource.validate_config({"api_key": "k", "video_id": "dQw4w9WgXcQ"})
    assert ok["video_id"] == "dQw4w9WgXcQ" and ok["channel_id"] is None
