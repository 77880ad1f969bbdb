"""Mastodon streaming over real server-sent events on 127.0.0.1: catch-up through REST, relay,
a connection dropped mid-stream and resumed without gaps or repeats, a malformed event, the
notifications stream, refusal and the fall-back to polling, giving up, and the listener running
a stream beside a poller."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.pipeline.normalise import parse_post
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources import mastodon_stream
from goodwill.sources.base import Page
from goodwill.sources.mastodon import MastodonSource
from goodwill.store.repository import Repository
from tests.fakes.base import json_reply
from tests.fakes.mastodon import TOKEN, MastodonFake
from tests.feedserver import Reply, loopback_only, running_server


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(mastodon_stream, "RECONNECT_BASE_S", 0.01)
    loopback_only(monkeypatch)


def make_fake(timeline: str = "hashtag") -> Iterator[MastodonFake]:
    with running_server() as server:
        yield MastodonFake(server, timeline)


@pytest.fixture
def fake() -> Iterator[MastodonFake]:
    yield from make_fake()


@pytest.fixture
def mentions() -> Iterator[MastodonFake]:
    yield from make_fake("mentions")


def config(fake: MastodonFake, **extra: Any) -> dict[str, Any]:
    return {**fake.config(), "batch_seconds": 0.05, **extra}


def stream(
    fake: MastodonFake,
    until: Callable[[list[Page]], bool],
    cursor: dict[str, Any] | None = None,
    **extra: Any,
) -> list[Page]:
    """Pages of the stream until ``until`` says enough (the cursor through JSON, as stored)."""

    async def go() -> list[Page]:
        settings = Settings(_env_file=None, http_timeout=3)
        out: list[Page] = []
        async with make_client(settings, allow_loopback=True) as http:
            src = MastodonSource("m", config(fake, **extra), http, backfill=timedelta(days=2))
            pages = src.stream(cursor or {})
            try:
                async for page in pages:
                    page.cursor = json.loads(json.dumps(page.cursor))
                    out.append(page)
                    if until(out):
                        break
            finally:
                await pages.aclose()  # type: ignore[attr-defined]
        return out

    return asyncio.run(asyncio.wait_for(go(), 15))


def post_ids(pages: list[Page]) -> list[str]:
    return [str(p["id"]) for page in pages for p in page.posts]


def having(*wanted: str) -> Callable[[list[Page]], bool]:
    return lambda pages: set(wanted) <= set(post_ids(pages))


def test_only_pushed_timelines_are_streams() -> None:
    base = {"instance": "https://mastodon.example", "tag": "bread"}
    streams = MastodonSource.streams
    assert streams(MastodonSource.validate_config(base))
    assert streams(MastodonSource.validate_config({**base, "timeline": "public"}))
    mentions = {**base, "timeline": "mentions", "access_token": "t"}
    assert streams(MastodonSource.validate_config(mentions))
    assert not streams(MastodonSource.validate_config({**mentions, "timeline": "own"}))
    assert not streams(MastodonSource.validate_config({**base, "streaming": "false"}))
    wss = MastodonSource.validate_config({**base, "streaming_url": "wss://streaming.example"})
    assert wss["streaming_url"] == "https://streaming.example"


def test_catches_up_relays_and_resumes_after_a_drop_without_gaps_or_repeats(
    fake: MastodonFake,
) -> None:
    backlog = fake.add(3)  # before the stream opens: the first catch-up's backfill
    live: dict[str, dict[str, Any]] = {}

    def first() -> Iterable[bytes | float]:
        yield from fake.after_catch_up(1)
        for name in ("a", "b"):
            live[name] = fake.publish(fake.status(f"<p>live {name}</p>"))
            yield fake.event_for(live[name])
        # Published while the connection is down: only the REST catch-up can bring these.
        for name in ("c", "d", "e"):
            live[name] = fake.publish(fake.status(f"<p>missed {name}</p>"))
        yield 0.05

    def second() -> Iterable[bytes | float]:
        yield from fake.after_catch_up(2)
        yield fake.event_for(live["e"])  # a late echo of one the catch-up already brought
        live["f"] = fake.publish(fake.status("<p>live f</p>"))
        yield fake.event_for(live["f"])
        yield from fake.heartbeats()

    fake.script(first, abort=True)  # dropped mid-stream: no closing chunk
    fake.script(second)
    pages = stream(fake, lambda pages: len(set(post_ids(pages))) >= 9)
    ids = post_ids(pages)
    expected = backlog + [fake.post_id(live[n]) for n in "abcdef"]
    assert sorted(ids) == sorted(expected)  # every one, once
    assert len(fake.stream_requests) == 2
    assert fake.stream_requests[0].arg("tag") == "bread"
    # The reconnection caught up through REST from the last id the stream had brought.
    catch_ups = [r.arg("min_id") for r in fake.server.requests if r.path.endswith("/tag/bread")]
    assert catch_ups == [None, live["b"]["id"]]
    assert pages[-1].cursor["min_id"] == live["f"]["id"]
    for page in pages:
        for post in page.posts:
            assert parse_post(post).text


def test_resume_from_a_stored_cursor_reads_only_what_is_newer(fake: MastodonFake) -> None:
    fake.add(2)
    pages = stream(fake, lambda pages: True)
    cursor = pages[-1].cursor
    newer = fake.add(2)
    pages = stream(fake, having(*newer), cursor)
    assert sorted(post_ids(pages)) == sorted(newer)


def test_a_malformed_event_is_reported_and_the_stream_goes_on(fake: MastodonFake) -> None:
    good: dict[str, Any] = {}

    def script() -> Iterable[bytes | float]:
        yield from fake.after_catch_up()
        yield fake.sse("update", '{"id": "123", "content": ')  # cut short
        undated = fake.status("<p>no date</p>")
        undated["created_at"] = "yesterday"
        yield fake.sse("update", undated)
        yield fake.sse("delete", "104")  # nothing to store
        yield b": a comment line\n\n"
        good["item"] = fake.publish(fake.status("<p>bread is back</p>"))
        yield fake.event_for(good["item"])
        edited = {**good["item"], "content": "<p>bread is back, edited</p>"}
        yield fake.sse("status.update", edited)  # an edit: the same post, stored again
        yield from fake.heartbeats()

    fake.script(script)
    pages = stream(fake, lambda pages: len(post_ids(pages)) >= 2)
    assert post_ids(pages) == [fake.post_id(good["item"])] * 2
    assert [p["text"] for page in pages for p in page.posts][-1] == "bread is back, edited"
    assert pages[-1].cursor["min_id"] == good["item"]["id"]
    problems = [p for page in pages for p in page.problems]
    assert any("not valid JSON" in p for p in problems)
    assert any("ISO 8601" in p for p in problems)
    assert all("skipped" in p for p in problems)


def test_mentions_come_from_the_notifications_stream(mentions: MastodonFake) -> None:
    sent: dict[str, Any] = {}

    def script() -> Iterable[bytes | float]:
        yield from mentions.after_catch_up()
        mention = mentions.notification(mentions.status("<p>@brightloaf open today?</p>"))
        sent["mention"] = mention
        yield mentions.sse("notification", mention)
        favourite = mentions.notification(mentions.status("<p>ours</p>"), kind="favourite")
        sent["favourite"] = favourite
        yield mentions.sse("notification", favourite)
        yield from mentions.heartbeats()

    mentions.script(script)

    def done(pages: list[Page]) -> bool:
        return "favourite" in sent and pages[-1].cursor.get("min_id") == sent["favourite"]["id"]

    pages = stream(mentions, done)
    [post] = [p for page in pages for p in page.posts]
    assert post["id"] == mentions.post_id(sent["mention"])
    assert post["mastodon_notification"]["type"] == "mention"
    request = mentions.stream_requests[0]
    assert request.path == "/api/v1/streaming/user/notification"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status", [401, 404, 501])
def test_a_refused_stream_falls_back_to_polling(fake: MastodonFake, status: int) -> None:
    fake.refuse_stream = status
    posted = fake.add(3)
    pages = stream(fake, having(*posted))
    assert sorted(post_ids(pages)) == sorted(posted)
    note = pages[0].problems[0]
    assert note.startswith(f"streaming refused (HTTP {status} from GET http://127.0.0.1")
    assert "polling every 300 s instead" in note
    assert len(fake.stream_requests) == 1  # refused once: not hammered


def test_a_refused_stream_is_tried_again_while_polling_in_between(
    fake: MastodonFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running listener does not poll for good over a passing refusal: it polls, and
    every STREAM_RETRY_S tries the stream again, which once accepted relays live posts."""
    monkeypatch.setattr(mastodon_stream, "STREAM_RETRY_S", 0.4)
    fake.refuse_stream = 404
    posted = fake.add(2)
    live: dict[str, Any] = {}
    polls_while_refused: list[int] = []

    def script() -> Iterable[bytes | float]:
        yield from fake.after_catch_up(fake.timeline_reads() + 1)
        live["item"] = fake.publish(fake.status("<p>streamed at last</p>"))
        yield fake.event_for(live["item"])
        yield from fake.heartbeats()

    def until(pages: list[Page]) -> bool:
        if fake.refuse_stream is not None and len(fake.stream_requests) == 2:
            # Refused at first and again on the retry, polling in between: now it is back.
            polls_while_refused.append(fake.timeline_reads())
            fake.refuse_stream = None
            fake.script(script)
        return "item" in live and fake.post_id(live["item"]) in post_ids(pages)

    pages = stream(fake, until, interval=60)
    ids = post_ids(pages)
    assert sorted(ids) == sorted([*posted, fake.post_id(live["item"])])  # none twice
    assert len(fake.stream_requests) == 3  # refused, refused on retry, accepted
    assert polls_while_refused == [2]  # one poll after each refusal
    notes = [p for page in pages for p in page.problems if p.startswith("streaming refused")]
    assert len(notes) == 1 and "trying streaming again every 0.4 s" in notes[0]


def test_429_then_5xx_on_connect_are_waited_out(fake: MastodonFake) -> None:
    reset = datetime.now(UTC) + timedelta(seconds=0.2)
    fake.server.queued.append(
        json_reply(
            {"error": "Too many requests"},
            429,
            {"X-RateLimit-Reset": reset.isoformat(timespec="milliseconds")},
        )
    )
    fake.server.queued.append(Reply(b"down", status=502, content_type="text/plain"))
    posted = fake.add(1)
    pages = stream(fake, having(*posted))
    assert post_ids(pages) == posted
    assert len(fake.stream_requests) == 1  # the two faults, then this one


def test_a_stream_that_keeps_failing_makes_the_source_unhealthy(
    fake: MastodonFake, repo: Repository, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mastodon_stream, "MAX_FAILURES", 3)
    fake.server.queued.extend(
        Reply(b"down", status=503, content_type="text/plain") for _ in range(40)
    )
    ws = repo.add_workspace("W")
    clean = MastodonSource.validate_config(config(fake, access_token=TOKEN))
    src = repo.add_source(ws.id, "mastodon", "toots", clean, 300)

    async def go() -> None:
        async with make_client(settings, allow_loopback=True) as http:
            listener = Listener(repo, Ingestor(repo, settings), settings, http)
            await asyncio.wait_for(listener.stream(src), 15)

    asyncio.run(go())
    health = repo.source(ws.id, "toots")
    assert len(fake.stream_requests) == 0  # refused before the stream: 4 tries, all 503
    assert sum(r.path.startswith("/api/v1/streaming/") for r in fake.server.requests) == 4
    assert health.consecutive_failures == 1
    assert "keeps failing" in (health.last_error or "") and "HTTP 503" in (health.last_error or "")
    assert TOKEN not in (health.last_error or "")


def test_the_listener_runs_the_stream_beside_a_poller_and_resumes(
    fake: MastodonFake, repo: Repository, settings: Settings
) -> None:
    with running_server() as other:
        own = MastodonFake(other, "own")
        ws = repo.add_workspace("W")
        repo.add_source(ws.id, "mastodon", "tag", MastodonSource.validate_config(config(fake)), 60)
        repo.add_source(ws.id, "mastodon", "own", MastodonSource.validate_config(own.config()), 60)
        fake.add(2)
        own.add(2)

        async def run_until(posts: int) -> None:
            stop = asyncio.Event()
            seen = {"n": 0}

            def on(outcome: Any) -> None:
                seen["n"] += outcome.report.written.inserted
                if seen["n"] >= posts:
                    stop.set()

            async with make_client(settings, allow_loopback=True) as http:
                listener = Listener(repo, Ingestor(repo, settings), settings, http, on_outcome=on)
                assert listener.is_stream(repo.source(ws.id, "tag"))
                assert not listener.is_stream(repo.source(ws.id, "own"))
                await asyncio.wait_for(listener.run(stop), timeout=15)

        asyncio.run(run_until(4))
        assert repo.post_count(ws.id) == 4
        stored = repo.source(ws.id, "tag")
        assert stored.cursor["min_id"] and stored.last_success_at

        live: dict[str, Any] = {}

        def script() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(fake.timeline_reads() + 1)
            live["item"] = fake.publish(fake.status("<p>live after restart</p>"))
            yield fake.event_for(live["item"])
            yield from fake.heartbeats()

        fake.script(script)
        asyncio.run(run_until(1))  # restarted: catches up from its cursor, then the stream
        assert repo.post_count(ws.id) == 5
        assert repo.source(ws.id, "tag").cursor["min_id"] == live["item"]["id"]
