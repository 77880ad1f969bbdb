"""The contract every streaming connector keeps, run against each one's local stream.

tests/test_source_contract.py runs every connector's polling side (the same kinds' ``poll``);
this suite runs the streaming variants the listener keeps open: Mastodon's server-sent events
(a hashtag, and the brand account's notifications), X's filtered stream (newline-delimited
JSON) and Bluesky's Jetstream (a WebSocket). Each is a real connection to 127.0.0.1 that a
case below scripts through one small interface, and every case must: be registered as a
streaming plugin; survive a connection dropped mid-stream, with items published while it was
down, bringing every item once; resume from a stored cursor with only what is newer; report a
malformed event and go on; give up clearly when the server keeps refusing; and, through the
real listener and store, resume after a restart without gaps or duplicates.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources import get_source_class, mastodon_stream, x_stream
from goodwill.sources.base import Page, SourceError, StreamingSource
from goodwill.sources.bluesky import BlueskyJetstreamSource
from goodwill.sources.mastodon import MastodonSource
from goodwill.sources.x import XSource
from goodwill.store.repository import Repository
from tests.fakes.mastodon import MastodonFake
from tests.fakes.x import XFake
from tests.feedserver import Reply, loopback_only, running_server
from tests.wsserver import JetstreamServer, running_jetstream


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(mastodon_stream, "RECONNECT_BASE_S", 0.01)
    monkeypatch.setattr(mastodon_stream, "MAX_FAILURES", 2)
    monkeypatch.setattr(x_stream, "WAIT_SCALE", 0.001)
    monkeypatch.setattr(x_stream, "MAX_FAILURES", 2)
    loopback_only(monkeypatch)


class StreamCase(ABC):
    """One streaming connector against its local server, behind the suite's interface."""

    kind: ClassVar[str]
    source: ClassVar[type[StreamingSource]]

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """A source's settings (short batches, so pages come quickly)."""

    @abstractmethod
    def backlog(self, count: int) -> list[str]:
        """Publish ``count`` items before any connection; return their post ids."""

    @abstractmethod
    def drop_mid_stream(self) -> Callable[[], list[str]]:
        """Script the next two connections: the first relays two items live and dies without a
        proper end while two more are published; the second relays one more (and, where the
        provider can, a late echo of one already brought). Return what gives every new item's
        post id (empty until the script has published them all)."""

    @abstractmethod
    def malformed_then_good(self) -> list[str]:
        """The next connection sends a malformed event, then a good item (its id returned)."""

    @abstractmethod
    def refuse_forever(self) -> None:
        """Every connection from now on is refused with a 503."""

    @abstractmethod
    def connections(self) -> int:
        """How many stream connections the server has answered (or refused)."""

    def tune(self, source: StreamingSource) -> None:
        """Shorten a connector's waits where they live on the instance (none by default)."""
        return None


class MastodonCase(StreamCase):
    kind = "mastodon"
    source = MastodonSource

    def __init__(self, fake: MastodonFake) -> None:
        self.fake = fake

    def config(self) -> dict[str, Any]:
        return {**self.fake.config(), "batch_seconds": 0.05}

    def backlog(self, count: int) -> list[str]:
        return self.fake.add(count)

    def connections(self) -> int:
        return len(self.fake.stream_requests)

    def _new(self, text: str) -> dict[str, Any]:
        return self.fake.publish(self.fake.status(f"<p>{text}</p>"))

    def drop_mid_stream(self) -> list[str]:
        fake, live = self.fake, dict[str, dict[str, Any]]()
        reads = fake.timeline_reads()

        def first() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(reads + 1)
            for name in ("a", "b"):
                live[name] = self._new(f"live {name}")
                yield fake.event_for(live[name])
            for name in ("c", "d"):  # published while the connection is down
                live[name] = self._new(f"missed {name}")
            yield 0.05

        def second() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(reads + 2)
            yield fake.event_for(live["d"])  # a late echo of one the catch-up brought
            live["e"] = self._new("live e")
            yield fake.event_for(live["e"])
            yield from fake.heartbeats()

        fake.script(first, abort=True)
        fake.script(second)
        return lambda: [fake.post_id(live[n]) for n in "abcde"] if len(live) == 5 else []

    def malformed_then_good(self) -> list[str]:
        fake = self.fake
        good = self._new("bread is back")
        reads = fake.timeline_reads()

        def script() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(reads + 1)
            event = "notification" if fake.timeline == "mentions" else "update"
            yield fake.sse(event, '{"id": "123", "content": ')  # cut short
            yield fake.event_for(good)
            yield from fake.heartbeats()

        fake.items.remove(good)  # only the stream brings it, after the broken event
        fake.script(script)
        return [fake.post_id(good)]

    def refuse_forever(self) -> None:
        self.fake.server.queued.extend(
            Reply(b"down", status=503, content_type="text/plain") for _ in range(60)
        )


class XStreamCase(StreamCase):
    kind = "x"
    source = XSource

    def __init__(self, fake: XFake) -> None:
        self.fake = fake
        self.ours = ["goodwill:live"]

    def config(self) -> dict[str, Any]:
        return {**self.fake.config(), "batch_seconds": 0.05, "rule": "brightloaf"}

    def backlog(self, count: int) -> list[str]:
        return self.fake.add(count, "brightloaf")

    def connections(self) -> int:
        return len(self.fake.stream_requests)

    def _new(self, text: str) -> dict[str, Any]:
        tweet = self.fake.tweet(f"{text} brightloaf")
        self.fake.tweets.append(tweet)
        return tweet

    def drop_mid_stream(self) -> list[str]:
        fake, live = self.fake, dict[str, dict[str, Any]]()
        searches = fake.searches()

        def first() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(searches + 1)
            for name in ("a", "b"):
                live[name] = self._new(f"live {name}")
                yield fake.line(live[name], self.ours)
            for name in ("c", "d"):
                live[name] = self._new(f"missed {name}")
            yield 0.05

        def second() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(searches + 2)
            yield fake.line(live["d"], self.ours)
            live["e"] = self._new("live e")
            yield fake.line(live["e"], self.ours)
            yield from fake.keep_alive()

        fake.script(first, abort=True)
        fake.script(second)
        return lambda: [live[n]["id"] for n in "abcde"] if len(live) == 5 else []

    def malformed_then_good(self) -> list[str]:
        fake = self.fake
        good = fake.tweet("bread is back brightloaf")
        searches = fake.searches()

        def script() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(searches + 1)
            yield b'{"data": {"id": "12'  # cut short
            yield b"\r\n"
            fake.tweets.append(good)
            yield fake.line(good, self.ours)
            yield from fake.keep_alive()

        fake.script(script)
        return [good["id"]]

    def refuse_forever(self) -> None:
        self.fake.stream_status = 503


class JetstreamCase(StreamCase):
    kind = "bluesky"
    source = BlueskyJetstreamSource
    DID = "did:plc:anaexample0000000000000"

    def __init__(self, server: JetstreamServer) -> None:
        self.server = server
        self.clock = int(time.time() * 1_000_000) - 600_000_000  # ten minutes ago
        self.count = 0

    def config(self) -> dict[str, Any]:
        return {"url": self.server.url(), "keywords": "brightloaf", "batch_seconds": 0.05}

    def tune(self, source: StreamingSource) -> None:
        assert isinstance(source, BlueskyJetstreamSource)
        source.reconnect_base_s = 0.01
        source.max_failures = 2

    def _event(self, text: str) -> tuple[dict[str, Any], str]:
        self.count += 1
        self.clock += 100_000
        rkey = f"3lbrkz{self.count:07d}"
        created = datetime.fromtimestamp(self.clock / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event = {
            "did": self.DID,
            "time_us": self.clock,
            "kind": "commit",
            "commit": {
                "rev": rkey,
                "operation": "create",
                "collection": "app.bsky.feed.post",
                "rkey": rkey,
                "record": {
                    "$type": "app.bsky.feed.post",
                    "createdAt": created,
                    "langs": ["en"],
                    "text": f"{text} brightloaf",
                },
                "cid": f"bafyreicontract{self.count:010d}",
            },
        }
        return event, f"at://{self.DID}/app.bsky.feed.post/{rkey}"

    def _publish(self, count: int, text: str) -> list[str]:
        ids = []
        for i in range(count):
            event, post_id = self._event(f"{text} {i}")
            self.server.events.append(event)
            ids.append(post_id)
        return ids

    def backlog(self, count: int) -> list[str]:
        return self._publish(count, "backlog")

    def connections(self) -> int:
        return len(self.server.cursors)

    def drop_mid_stream(self) -> Callable[[], list[str]]:
        # Jetstream replays from the cursor: what was published while the connection was down
        # comes on the next one, after a rewind of a few seconds that must repeat nothing.
        self.server.drop_after = len(self.server.events) + 2
        ids = self._publish(5, "live")
        return lambda: ids

    def malformed_then_good(self) -> list[str]:
        self.clock += 100_000
        self.server.events.append({"time_us": self.clock, "raw": "{not json"})
        return self._publish(1, "bread is back")

    def refuse_forever(self) -> None:
        self.server.refuse = 1000


CASES: dict[str, Callable[[ExitStack], StreamCase]] = {
    "mastodon-hashtag-sse": lambda stack: MastodonCase(
        MastodonFake(stack.enter_context(running_server()))
    ),
    "mastodon-notifications-sse": lambda stack: MastodonCase(
        MastodonFake(stack.enter_context(running_server()), "mentions")
    ),
    "x-filtered-stream": lambda stack: XStreamCase(
        XFake(stack.enter_context(running_server()), "stream")
    ),
    "bluesky-jetstream": lambda stack: JetstreamCase(stack.enter_context(running_jetstream())),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Iterator[StreamCase]:
    with ExitStack() as stack:
        yield CASES[request.param](stack)


def stream(
    case: StreamCase,
    until: Callable[[list[Page]], bool],
    cursor: dict[str, Any] | None = None,
) -> list[Page]:
    """Pages of the stream until ``until`` says enough (the cursor through JSON, as stored)."""

    async def go() -> list[Page]:
        settings = Settings(_env_file=None, http_timeout=3)
        out: list[Page] = []
        async with make_client(settings, allow_loopback=True) as http:
            src = case.source("live", case.config(), http, backfill=timedelta(hours=2))
            case.tune(src)
            pages: AsyncIterator[Page] = src.stream(cursor or {})
            try:
                async for page in pages:
                    page.cursor = json.loads(json.dumps(page.cursor))
                    out.append(page)
                    if until(out):
                        break
            finally:
                await pages.aclose()  # type: ignore[attr-defined]
        return out

    return asyncio.run(asyncio.wait_for(go(), 20))


def post_ids(pages: list[Page]) -> list[str]:
    return [str(p["id"]) for page in pages for p in page.posts]


def having(wanted: Callable[[], Iterable[str]]) -> Callable[[list[Page]], bool]:
    def enough(pages: list[Page]) -> bool:
        want = set(wanted())
        return bool(want) and want <= set(post_ids(pages))

    return enough


def test_registered_as_a_streaming_plugin(case: StreamCase) -> None:
    assert get_source_class(case.kind) is case.source
    assert issubclass(case.source, StreamingSource)
    assert case.source.streams(case.source.validate_config(case.config()))


def test_a_stream_dropped_mid_way_resumes_without_gaps_or_repeats(case: StreamCase) -> None:
    backlog = case.backlog(2)
    dropped = case.drop_mid_stream()

    def expected() -> list[str]:
        later = dropped()
        return backlog + later if later else []

    pages = stream(case, having(expected))
    ids = post_ids(pages)
    assert sorted(ids) == sorted(expected())  # every one, once
    assert len(ids) == 7
    assert case.connections() == 2  # it was dropped, and reconnected once


def test_a_restart_from_the_stored_cursor_reads_only_what_is_newer(case: StreamCase) -> None:
    first = case.backlog(2)
    pages = stream(case, having(lambda: first))
    cursor = pages[-1].cursor
    newer = case.backlog(2)
    pages = stream(case, having(lambda: newer), cursor)
    assert sorted(post_ids(pages)) == sorted(newer)


def test_a_malformed_event_is_reported_and_the_stream_goes_on(case: StreamCase) -> None:
    good = case.malformed_then_good()
    pages = stream(case, having(lambda: good))
    assert post_ids(pages) == good
    problems = [p for page in pages for p in page.problems]
    assert any("not valid JSON" in p and "skipped" in p for p in problems), problems


def test_a_server_that_keeps_refusing_fails_clearly(case: StreamCase) -> None:
    case.refuse_forever()
    with pytest.raises(SourceError, match=r"keeps failing.*503"):
        stream(case, lambda pages: False)


def test_the_listener_stores_the_stream_and_resumes_after_a_restart(
    case: StreamCase, repo: Repository, settings: Settings
) -> None:
    ws = repo.add_workspace("W")
    repo.add_source(ws.id, case.kind, "live", case.source.validate_config(case.config()), 60)
    first = case.backlog(3)

    async def run_until(posts: int) -> None:
        stop = asyncio.Event()
        seen = {"n": 0}

        def on(outcome: Any) -> None:
            assert outcome.ok, outcome.error
            seen["n"] += outcome.report.written.inserted
            if seen["n"] >= posts:
                stop.set()

        async with make_client(settings, allow_loopback=True) as http:
            listener = Listener(repo, Ingestor(repo, settings), settings, http, on_outcome=on)
            assert listener.is_stream(repo.source(ws.id, "live"))
            await asyncio.wait_for(listener.run(stop), timeout=20)

    asyncio.run(run_until(len(first)))
    assert repo.post_count(ws.id) == len(first)
    stored = repo.source(ws.id, "live")
    assert stored.cursor and stored.last_success_at

    second = case.backlog(2)
    asyncio.run(run_until(len(second)))  # a new Listener: as after a restart
    assert repo.post_count(ws.id) == len(first) + len(second)
    assert repo.source(ws.id, "live").consecutive_failures == 0
