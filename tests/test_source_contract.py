"""The contract every live connector keeps, run against each one's local API fake.

Each provider fake (tests/fakes/) serves its provider's documented payload shapes over real HTTP
on 127.0.0.1 and honours the same cursor parameters, so these tests exercise the connector's real
paging: resuming without gaps or duplicates, empty and replayed pages, the provider's own
rate-limit header, server errors and recovery, malformed items, and hostile HTML.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest

from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.pipeline.normalise import parse_post
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources import get_source_class
from goodwill.sources.atproto_session import forget_sessions
from goodwill.sources.base import Page, PollingSource, RateLimited, SourceError
from goodwill.store.repository import Repository
from tests.fakes.base import HOSTILE_HTML, HOSTILE_VISIBLE, ProviderFake
from tests.fakes.bluesky import BlueskySearchFake
from tests.fakes.hn import HnFake
from tests.fakes.mastodon import MastodonFake
from tests.fakes.reddit import RedditFake
from tests.fakes.x import XFake
from tests.fakes.youtube import BusyThreadsYouTubeFake, YouTubeFake
from tests.feedserver import Reply, loopback_only, running_server

FAKES: dict[str, Any] = {
    "hn": HnFake,
    "mastodon-hashtag": MastodonFake,
    "mastodon-mentions": lambda server: MastodonFake(server, "mentions"),
    "mastodon-own": lambda server: MastodonFake(server, "own"),
    "mastodon-search": lambda server: MastodonFake(server, "search"),
    "reddit-comments": RedditFake,
    "reddit-new": lambda server: RedditFake(server, "new"),
    "reddit-mentions": lambda server: RedditFake(server, "mentions"),
    "reddit-search": lambda server: RedditFake(server, "search"),
    "x-search": XFake,
    "x-mentions": lambda server: XFake(server, "mentions"),
    "youtube": YouTubeFake,
    "youtube-busy-threads": BusyThreadsYouTubeFake,
    "bluesky-search": BlueskySearchFake,
    "bluesky-search-session": lambda server: BlueskySearchFake(server, login=True),
    "bluesky-notifications": lambda server: BlueskySearchFake(server, feed="notifications"),
}


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)
    forget_sessions()  # AT Protocol sessions live in memory per process


@pytest.fixture(params=sorted(FAKES))
def fake(request: pytest.FixtureRequest) -> Iterator[ProviderFake]:
    with running_server() as server:
        yield FAKES[request.param](server)


def poll_all(
    fake: ProviderFake, cursor: Mapping[str, Any] | None = None, timeout: float = 3
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """Poll until the connector says it has no more, as the listener does; the cursor goes
    through JSON after every page, as it does through the database."""
    settings = Settings(_env_file=None, http_timeout=timeout)

    async def go() -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
        async with make_client(settings, allow_loopback=True) as http:
            source = fake.source("test", fake.config(), http, backfill=timedelta(days=2))
            state = dict(cursor or {})
            posts: list[dict[str, Any]] = []
            problems: list[str] = []
            for _ in range(50):
                page: Page = await source.poll(state)
                posts.extend(page.posts)
                problems.extend(page.problems)
                state = json.loads(json.dumps(page.cursor))
                if not page.has_more:
                    break
            else:
                raise AssertionError("the connector never stopped saying has_more")
            return posts, state, problems

    return asyncio.run(go())


def ids(posts: list[dict[str, Any]]) -> list[str]:
    return [str(p["id"]) for p in posts]


def test_registered_as_a_plugin(fake: ProviderFake) -> None:
    assert get_source_class(fake.kind) is fake.source
    assert issubclass(fake.source, PollingSource)


def test_first_poll_reads_the_backfill_window_then_resumes_without_gaps(
    fake: ProviderFake,
) -> None:
    fake.add_old()
    first = fake.add(5)
    posts, cursor, problems = poll_all(fake)
    assert sorted(ids(posts)) == sorted(first) and problems == []

    second = fake.add(3)
    posts, cursor, _ = poll_all(fake, cursor)
    assert sorted(ids(posts)) == sorted(second)

    # More than several pages at once: every one, once.
    many = fake.add(31)
    posts, cursor, _ = poll_all(fake, cursor)
    assert sorted(ids(posts)) == sorted(many)
    assert len(set(ids(posts))) == len(posts)


def test_every_post_is_valid_and_keeps_the_raw_payload(fake: ProviderFake) -> None:
    fake.add(4)
    posts, _, _ = poll_all(fake)
    for post in posts:
        parsed = parse_post(post)
        network = fake.post_source or fake.kind
        assert parsed.source == network and parsed.text
        assert parsed.url is None or parsed.url.startswith("https://")
        assert isinstance(parsed.extra.get(network), dict)  # the provider's raw fields


def test_empty_page_keeps_the_cursor_usable(fake: ProviderFake) -> None:
    fake.add(2)
    _, cursor, _ = poll_all(fake)
    posts, cursor2, problems = poll_all(fake, cursor)
    assert posts == [] and problems == []
    later = fake.add(1)
    posts, _, _ = poll_all(fake, cursor2)
    assert ids(posts) == later


def test_a_replayed_page_brings_nothing_twice(fake: ProviderFake) -> None:
    fake.add(4)
    _, cursor, _ = poll_all(fake)
    new = fake.add(2)
    fake.ignore_cursor_once = True  # the server answers as if the cursor were not sent
    posts, cursor, _ = poll_all(fake, cursor)
    assert sorted(ids(posts)) == sorted(new)


def test_429_reads_the_providers_reset_header(fake: ProviderFake) -> None:
    fake.add(1)
    fake.server.queued.append(fake.rate_limited(120))
    with pytest.raises(RateLimited) as caught:
        poll_all(fake)
    assert 115 <= caught.value.retry_after <= 121
    assert "429" in str(caught.value)


def test_500_is_retried_and_a_lasting_one_fails_clearly(fake: ProviderFake) -> None:
    first = fake.add(2)
    fake.server.queued.append(Reply(b"upstream broke", status=500, content_type="text/plain"))
    posts, cursor, _ = poll_all(fake)  # one 500, then the retry succeeds
    assert sorted(ids(posts)) == sorted(first)

    second = fake.add(2)
    fake.server.queued.extend(
        Reply(b"down", status=502, content_type="text/plain") for _ in range(10)
    )
    with pytest.raises(SourceError, match="HTTP 502"):
        poll_all(fake, cursor)
    fake.server.queued.clear()
    posts, _, _ = poll_all(fake, cursor)  # recovery: resumes from the stored cursor
    assert sorted(ids(posts)) == sorted(second)


def test_a_slow_server_times_out_clearly_and_the_next_poll_resumes(fake: ProviderFake) -> None:
    first = fake.add(2)
    _, cursor, _ = poll_all(fake)
    second = fake.add(2)
    # Slower than the timeout, on every try (a token request counts too).
    fake.server.queued.extend(Reply(b"{}", delay=2.0) for _ in range(6))
    with pytest.raises(SourceError, match="ReadTimeout"):
        poll_all(fake, cursor, timeout=0.3)
    fake.server.queued.clear()
    posts, _, _ = poll_all(fake, cursor)
    assert sorted(ids(posts)) == sorted(second) and not set(ids(posts)) & set(first)


def test_malformed_items_are_reported_and_good_ones_still_land(fake: ProviderFake) -> None:
    good = fake.add(2)
    fake.add_malformed()
    more = fake.add(1)
    posts, _, problems = poll_all(fake)
    assert sorted(ids(posts)) == sorted(good + more)
    assert problems and all("skipped" in p for p in problems)


def test_a_body_that_is_not_json_fails_with_a_clear_message(fake: ProviderFake) -> None:
    fake.server.queued.append(Reply(b"<html>Bad gateway</html>", content_type="text/html"))
    with pytest.raises(SourceError, match="not valid JSON"):
        poll_all(fake)


def test_hostile_html_becomes_plain_text(fake: ProviderFake) -> None:
    post_id = fake.add_html(HOSTILE_HTML)
    posts, _, _ = poll_all(fake)
    [post] = [p for p in posts if str(p["id"]) == post_id]
    if not fake.text_is_html:
        # A plain-text network: that is what the author typed and what readers saw there.
        # It stays text (every interface escapes it); it is never parsed as markup.
        assert post["text"] == HOSTILE_HTML
        return
    assert HOSTILE_VISIBLE in post["text"]
    for bad in ("<", "script", "alert", "onerror", "javascript:", "iframe"):
        assert bad not in post["text"]


def test_listener_stores_resumes_after_restart_and_keeps_others_going(
    fake: ProviderFake, repo: Repository, settings: Settings, tmp_path: Any
) -> None:
    """Through the real listener and store: a restart resumes, a broken source does not stop
    this one, and keeps being reported unhealthy with its reason."""
    ws = repo.add_workspace("W")
    clean = fake.source.validate_config(fake.config())
    repo.add_source(ws.id, fake.kind, "live", clean, 300)
    broken = dict(clean)
    for key, value in clean.items():
        if isinstance(value, str) and value.startswith("http://127.0.0.1"):
            broken[key] = "http://127.0.0.1:9/nothing-listens-here"
    repo.add_source(ws.id, fake.kind, "broken", broken, 300)
    first = fake.add(9)

    async def run_once() -> dict[str, Any]:
        async with make_client(settings, allow_loopback=True) as http:
            listener = Listener(repo, Ingestor(repo, settings), settings, http)
            return {o.source: o for o in await listener.run_once()}

    outcomes = asyncio.run(run_once())
    assert outcomes["live"].ok and outcomes["live"].report.written.inserted == len(first)
    assert not outcomes["broken"].ok and "127.0.0.1:9" in (outcomes["broken"].error or "")

    second = fake.add(3)
    outcomes = asyncio.run(run_once())  # a new Listener: as after a restart
    assert outcomes["live"].report.written.inserted == len(second)
    assert outcomes["live"].report.written.updated + outcomes["live"].report.written.unchanged == 0
    assert repo.post_count(ws.id) == len(first) + len(second)
    failing = repo.source(ws.id, "broken")
    assert failing.consecutive_failures == 2 and failing.last_error
