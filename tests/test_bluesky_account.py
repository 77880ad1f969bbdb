"""The brand's Bluesky account through an AT Protocol session, over real HTTP on 127.0.0.1:
its notifications (mentions, replies, quotes; not likes), a session opened once and refreshed
when its access token expires, a new one when the refresh token is gone too, and credentials
kept out of errors and cursors."""

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
from goodwill.sources.atproto_session import forget_sessions
from goodwill.sources.base import ConfigError, Page, SourceError
from goodwill.sources.bluesky_search import BlueskySearchSource
from tests.fakes.bluesky import APP_PASSWORD, BlueskySearchFake
from tests.feedserver import loopback_only, running_server


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)
    forget_sessions()


@pytest.fixture
def fake() -> Iterator[BlueskySearchFake]:
    with running_server() as server:
        yield BlueskySearchFake(server, feed="notifications")


def poll(fake: BlueskySearchFake, cursor: dict[str, Any] | None = None, **extra: Any) -> Page:
    async def go() -> Page:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            config = {**fake.config(), **extra}
            src = BlueskySearchSource("b", config, http, backfill=timedelta(days=2))
            page = await src.poll(cursor or {})
            page.cursor = json.loads(json.dumps(page.cursor))
            return page

    return asyncio.run(go())


def test_notifications_need_the_account() -> None:
    with pytest.raises(ConfigError, match="required for notifications"):
        BlueskySearchSource.validate_config({"feed": "notifications"})


def test_mentions_replies_and_quotes_are_stored_likes_are_not(fake: BlueskySearchFake) -> None:
    posted = fake.add(6)
    page = poll(fake)
    assert sorted(p["id"] for p in page.posts) == sorted(posted) and page.problems == []
    reasons = {p["bluesky_notification"]["reason"] for p in page.posts}
    assert reasons == {"mention", "reply", "quote"}
    reply = next(p for p in page.posts if p["bluesky_notification"]["reason"] == "reply")
    assert reply["bluesky_notification"]["reasonSubject"].startswith("at://did:plc:brightloaf")
    assert reply["author"]["handle"] and not reply["is_own"]
    listed = [r for r in fake.server.requests if r.path.endswith("listNotifications")]
    assert listed[0].query["reasons"] == ["mention", "reply", "quote"]
    assert listed[0].headers["Authorization"] == "Bearer jwt-access"
    for value in page.cursor.values():  # the cursor holds no token
        assert "jwt" not in json.dumps(value)


def test_one_session_is_reused_and_refreshed_when_it_expires(fake: BlueskySearchFake) -> None:
    first = fake.add(2)
    page = poll(fake)
    assert sorted(p["id"] for p in page.posts) == sorted(first)
    second = fake.add(2)
    page = poll(fake, page.cursor)  # a new connector, as the listener makes: same session
    assert sorted(p["id"] for p in page.posts) == sorted(second)
    assert fake.sessions_created == 1 and fake.refreshed == 0

    fake.expire()
    third = fake.add(1)
    page = poll(fake, page.cursor)
    assert [p["id"] for p in page.posts] == third
    assert fake.sessions_created == 1 and fake.refreshed == 1
    refresh = next(r for r in fake.server.requests if r.path.endswith("refreshSession"))
    assert refresh.headers["Authorization"] == "Bearer jwt-refresh"

    # The refresh token has expired too: a new session is opened.
    fake.expire()
    fake.refresh = "jwt-refresh-revoked"
    fourth = fake.add(1)
    page = poll(fake, page.cursor)
    assert [p["id"] for p in page.posts] == fourth
    assert fake.sessions_created == 2


def test_a_wrong_app_password_fails_without_showing_it(fake: BlueskySearchFake) -> None:
    with pytest.raises(SourceError) as caught:
        poll(fake, app_password="wrong-pass-word-1234")
    assert "Invalid identifier or password" in str(caught.value)
    assert "wrong-pass-word-1234" not in str(caught.value) and APP_PASSWORD not in str(caught.value)
