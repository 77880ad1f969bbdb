"""Reddit specifics beyond the contract suite: OAuth, mapping, settings, and the real recorded
API responses in ../shared/data/reddit_praw_cassettes when they are present."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from goodwill.net import make_client
from goodwill.pipeline.normalise import parse_post
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources import reddit as reddit_module
from goodwill.sources.base import ConfigError, Page, SourceError
from goodwill.sources.reddit import RedditSource
from tests.fakes.base import json_reply
from tests.fakes.reddit import USERNAME, RedditFake
from tests.feedserver import loopback_only, running_server


@pytest.fixture(autouse=True)
def _guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(reddit_module, "_TOKENS", {})
    loopback_only(monkeypatch)


@pytest.fixture
def server() -> Iterator[Any]:
    with running_server() as srv:
        yield srv


def poll(config: dict[str, Any], cursor: dict[str, Any] | None = None, times: int = 1) -> Page:
    async def go() -> Page:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True) as http:
            page = None
            for _ in range(times):
                src = RedditSource("r", config, http, backfill=timedelta(days=1))
                page = await src.poll(cursor or {})
            assert page is not None
            return page

    return asyncio.run(go())


def test_a_comment_becomes_a_post_and_the_token_is_reused(server: Any) -> None:
    fake = RedditFake(server)
    [name] = fake.add(1, text="Longer bulk ferment &amp; patience")
    page = poll(fake.config(), times=3)
    [post] = page.posts
    assert post["id"] == name and post["text"] == "Longer bulk ferment & patience 0"
    assert post["author"] == {"id": "t2_3nq7v0", "handle": "u/crumb_doctor", "name": None}
    assert post["in_reply_to"] == "t3_1gx2k9a" and post["conversation_id"] == "t3_1gx2k9a"
    assert post["url"].startswith("https://www.reddit.com/r/Breadit/comments/1gx2k9a/")
    assert post["metrics"] == {"likes": 4} and post["is_own"] is False
    assert post["reddit"]["subreddit_id"] == "t5_2qxvg"
    assert fake.tokens_issued == 1  # one token for three polls


def test_mentions_use_the_script_account(server: Any) -> None:
    fake = RedditFake(server, "mentions")
    fake.add(1)
    [post] = poll(fake.config()).posts
    assert post["reddit"]["type"] == "username_mention" and post["is_own"] is False
    own = fake.thing("my own reply")
    own["data"]["author"] = USERNAME
    fake.things.append(own)
    page = poll(fake.config())
    assert [p["is_own"] for p in page.posts if p["id"] == own["data"]["name"]] == [True]


def test_bad_credentials_say_what_to_check(server: Any) -> None:
    fake = RedditFake(server, "mentions")
    with pytest.raises(SourceError, match="no access token \\(invalid_grant\\): check client_id"):
        poll({**fake.config(), "password": "wrong"})
    with pytest.raises(SourceError, match=r"HTTP 401 .*check the token"):
        poll({**fake.config(), "client_secret": "wrong"})


def test_settings_are_checked() -> None:
    base = {"client_id": "i", "client_secret": "s"}
    assert (
        RedditSource.validate_config({**base, "subreddit": "r/Breadit"})["subreddit"] == "Breadit"
    )
    with pytest.raises(ConfigError, match="subreddit: required for the new listing"):
        RedditSource.validate_config(base)
    with pytest.raises(ConfigError, match="the mentions listing reads the account's inbox"):
        RedditSource.validate_config({**base, "listing": "mentions"})
    with pytest.raises(ConfigError, match="client_secret: required"):
        RedditSource.validate_config({"client_id": "i", "subreddit": "x"})
    with pytest.raises(ConfigError, match="is not a subreddit name"):
        RedditSource.validate_config({**base, "subreddit": "../admin"})
    assert RedditSource.secret_fields == {"client_secret", "password"}


def shared_data() -> Path:
    env = os.environ.get("GOODWILL_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


CASSETTES = shared_data() / "reddit_praw_cassettes"


@pytest.mark.skipif(not CASSETTES.exists(), reason="PRAW cassettes (../shared/data) not here")
@pytest.mark.parametrize(
    ("cassette", "listing"),
    [
        ("TestSubredditListings.test_comments.json", "comments"),
        ("TestFront.test_new.json", "new"),
        ("TestInbox.test_mentions.json", "mentions"),
        ("TestSubreddit.test_search.json", "search"),
    ],
)
def test_real_recorded_listings(server: Any, cassette: str, listing: str) -> None:
    """Real Reddit answers: every thing becomes a valid post or a reported problem."""
    recorded = json.loads((CASSETTES / cassette).read_text())["interactions"]
    body = next(
        json.loads(i["response"]["body"]["string"])
        for i in recorded
        if "oauth.reddit.com" in i["request"]["uri"]
    )
    headers = next(
        {k: v[0] for k, v in i["response"]["headers"].items()}
        for i in recorded
        if "oauth.reddit.com" in i["request"]["uri"]
    )
    fake = RedditFake(server, listing)
    fake_handle = fake.handle
    server.handler = lambda request: (
        fake_handle(request)
        if request.path == "/api/v1/access_token"
        else json_reply(body, headers={k: v for k, v in headers.items() if "ratelimit" in k})
    )
    children = body["data"]["children"]
    config = {**fake.config(), "backfill_hours": 24 * 365 * 30, "page_size": 100}
    page = poll(config)
    assert len(page.posts) + len(page.problems) == len(children)
    assert len(page.posts) >= len(children) * 0.9
    for post in page.posts:
        parsed = parse_post(post)
        assert parsed.text
        # Reddit's HTML wrappers are gone; HTML quoted in a code block is the author's text.
        for markup in ("SC_OFF", '<div class="md">', "&lt;", "&amp;", "&#39;"):
            assert markup not in parsed.text
        assert parsed.url is None or parsed.url.startswith("https://www.reddit.com/")
