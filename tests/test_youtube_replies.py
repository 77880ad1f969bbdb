"""YouTube threads with more replies than a thread carries (``comments.list?parentId`` with
paging), and replying as the brand channel with OAuth (refresh grant against a local token
endpoint, then ``comments.insert``), over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources.base import ConfigError, Page, SourceError
from goodwill.sources.youtube import YouTubeSource
from tests.fakes.youtube import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, YouTubeFake
from tests.feedserver import loopback_only, running_server


@pytest.fixture(autouse=True)
def _guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)


@pytest.fixture
def fake() -> Iterator[YouTubeFake]:
    with running_server() as server:
        yield YouTubeFake(server)


def oauth(fake: YouTubeFake, **extra: Any) -> dict[str, Any]:
    return {
        **fake.config(),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "token_url": fake.server.url("/oauth/token"),
        **extra,
    }


def poll(config: dict[str, Any], cursor: dict[str, Any] | None = None) -> Page:
    async def go() -> Page:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            src = YouTubeSource("y", config, http, backfill=timedelta(days=3))
            page = await src.poll(cursor or {})
            page.cursor = json.loads(json.dumps(page.cursor))
            return page

    return asyncio.run(go())


def reply(config: dict[str, Any], to: str, text: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            return await YouTubeSource("y", config, http).reply(to, text)

    return asyncio.run(go())


def test_every_reply_of_a_busy_thread_is_read_once(fake: YouTubeFake) -> None:
    thread_id, replies = fake.add_thread_with_replies(230)  # 3 pages of comments.list
    quiet = fake.add(2)
    page = poll(fake.config())
    ids = [str(p["id"]) for p in page.posts]
    assert sorted(ids) == sorted([thread_id, *replies, *quiet])  # each once
    listed = [r for r in fake.server.requests if r.path == "/youtube/v3/comments"]
    assert [r.arg("parentId") for r in listed] == [thread_id] * 3  # only the busy thread
    assert [r.arg("pageToken") for r in listed] == [None, "100", "200"]
    a_reply = next(p for p in page.posts if p["id"] == replies[0])
    assert a_reply["in_reply_to"] == thread_id and a_reply["conversation_id"] == thread_id

    # The next poll: nothing new, nothing twice.
    again = poll(fake.config(), page.cursor)
    assert again.posts == []


def test_a_thread_with_its_few_replies_costs_no_extra_request(fake: YouTubeFake) -> None:
    thread_id, replies = fake.add_thread_with_replies(4)
    page = poll(fake.config())
    assert sorted(str(p["id"]) for p in page.posts) == sorted([thread_id, *replies])
    assert not [r for r in fake.server.requests if r.path == "/youtube/v3/comments"]


def test_reply_through_oauth_posts_under_the_top_comment(fake: YouTubeFake) -> None:
    thread_id, replies = fake.add_thread_with_replies(2)
    post = reply(oauth(fake), replies[0], "Stone-ground rye, 30 %!")  # a reply to a reply
    [inserted] = fake.inserted
    assert inserted["snippet"]["parentId"] == thread_id
    assert post["id"] == inserted["id"] and post["is_own"] and post["in_reply_to"] == thread_id
    assert post["text"] == "Stone-ground rye, 30 %!"
    token_request = next(r for r in fake.server.requests if r.path == "/oauth/token")
    assert "X-Goog-Api-Key" not in token_request.headers  # the key stays with the API
    insert = next(r for r in fake.server.requests if r.method == "POST" and "comments" in r.path)
    assert insert.headers["Authorization"] == "Bearer ya29.goodwill-access-1"
    assert insert.arg("part") == "snippet"


def test_a_revoked_refresh_token_fails_clearly_and_posts_nothing(fake: YouTubeFake) -> None:
    fake.add_thread_with_replies(1)
    config = oauth(fake, refresh_token="1//0revoked-token-value")
    with pytest.raises(SourceError) as caught:
        reply(config, fake.threads[0]["id"], "hello")
    assert "invalid_grant" in str(caught.value) or "expired or revoked" in str(caught.value)
    assert "1//0revoked-token-value" not in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)
    assert fake.inserted == []


def test_oauth_settings_come_together_and_are_credentials() -> None:
    base = {"channel_id": "UCbrightloafbakery000001", "api_key": "k"}
    with pytest.raises(ConfigError, match="give all three"):
        YouTubeSource.validate_config({**base, "refresh_token": "r"})
    assert {"client_secret", "refresh_token", "api_key"} <= YouTubeSource.secret_fields


def test_replying_without_oauth_says_what_is_missing(fake: YouTubeFake) -> None:
    fake.add(1)
    with pytest.raises(SourceError, match="needs client_id, client_secret and refresh_token"):
        reply(fake.config(), fake.threads[0]["id"], "hello")
