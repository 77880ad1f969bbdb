"""Bluesky from Jetstream over a real WebSocket on 127.0.0.1: mapping, cursor and rewind,
dropped connections, refused handshakes, malformed events, the listener's stream tasks, and a
replay of real captured events when ../shared/data/bluesky_jetstream is present."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.pipeline.normalise import parse_post
from goodwill.settings import Settings
from goodwill.sources import get_source_class
from goodwill.sources.base import ConfigError, Page, SourceError
from goodwill.sources.bluesky import BlueskyJetstreamSource
from goodwill.store.repository import Repository
from tests.wsserver import JetstreamServer, running_jetstream

FIXTURE = Path(__file__).parent / "fixtures" / "bluesky" / "jetstream_events.jsonl"


def shared_data() -> Path:
    env = os.environ.get("GOODWILL_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def load_events(path: Path) -> list[dict[str, Any]]:
    """Events with their times moved to the last minute, keeping their order and gaps."""
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    shift = int(time.time() * 1_000_000) - 60_000_000 - max(e["time_us"] for e in events)
    for event in events:
        event["time_us"] += shift
    return events


@pytest.fixture
def jetstream() -> Iterator[JetstreamServer]:
    with running_jetstream() as srv:
        yield srv


def config(srv: JetstreamServer, **extra: Any) -> dict[str, Any]:
    return {"url": srv.url(), "keywords": "brightloaf", "poll_seconds": 2.0, **extra}


def poll(cfg: dict[str, Any], cursor: dict[str, Any] | None = None, **kw: Any) -> Page:
    async def go() -> Page:
        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=kw.get("loopback", True)) as http:
            src = BlueskyJetstreamSource("b", cfg, http, backfill=timedelta(hours=2))
            return await src.poll(cursor or {})

    return asyncio.run(go())


def stream(cfg: dict[str, Any], pages: int, cursor: dict[str, Any] | None = None) -> list[Page]:
    async def go() -> list[Page]:
        settings = Settings(_env_file=None, http_timeout=3)
        out: list[Page] = []
        async with make_client(settings, allow_loopback=True) as http:
            src = BlueskyJetstreamSource("b", cfg, http, backfill=timedelta(hours=2))
            src.reconnect_base_s = 0.01
            src.max_failures = 2
            pages_of = src.stream(cursor or {})
            try:
                async for page in pages_of:
                    out.append(page)
                    if sum(len(p.posts) for p in out) >= pages:
                        break
            finally:
                await pages_of.aclose()  # type: ignore[attr-defined]
        return out

    return asyncio.run(asyncio.wait_for(go(), 20))


def test_registered_and_configured() -> None:
    assert get_source_class("bluesky") is BlueskyJetstreamSource
    with pytest.raises(ConfigError, match="keywords: required"):
        BlueskyJetstreamSource.validate_config({})
    with pytest.raises(ConfigError, match="url: 'https://x' is not a ws:// or wss://"):
        BlueskyJetstreamSource.validate_config({"keywords": "a", "url": "https://x"})
    with pytest.raises(ConfigError, match="dids: 'bob' is not a DID"):
        BlueskyJetstreamSource.validate_config({"dids": "bob"})
    ok = BlueskyJetstreamSource.validate_config({"keywords": "brightloaf, bright loaf"})
    assert ok["keywords"] == ["brightloaf", "bright loaf"]


def test_posts_are_mapped_and_filtered(jetstream: JetstreamServer) -> None:
    jetstream.events = load_events(FIXTURE)
    page = poll(config(jetstream, own_did="did:plc:brightloafbrand000000000"))
    assert jetstream.queries[0]["wantedCollections"] == ["app.bsky.feed.post"]
    by_rkey = {p["id"].rsplit("/", 1)[1]: p for p in page.posts}
    assert set(by_rkey) == {"3lbrkq2aa2c2a", "3lbrkq3cc2c2c", "3lbrkq4dd2c2d"}  # keyword matches
    question, answer = by_rkey["3lbrkq2aa2c2a"], by_rkey["3lbrkq3cc2c2c"]
    assert question["id"] == "at://did:plc:anaexample0000000000000/app.bsky.feed.post/3lbrkq2aa2c2a"
    assert (
        question["url"]
        == "https://bsky.app/profile/did:plc:anaexample0000000000000/post/3lbrkq2aa2c2a"
    )
    assert question["author"]["id"] == "did:plc:anaexample0000000000000"
    assert question["lang"] == "en" and question["is_own"] is False
    assert answer["in_reply_to"] == question["id"] and answer["conversation_id"] == question["id"]
    assert answer["is_own"] is True
    assert answer["bluesky"]["commit"]["rev"] == "3lbrkq3cc2c2c"  # raw fields kept
    for post in page.posts:
        assert parse_post(post).source == "bluesky"
    # Plain text, as typed: markup-looking text is the author's text (interfaces escape it).
    assert by_rkey["3lbrkq4dd2c2d"]["text"].endswith("<script>alert(1)</script>")
    assert page.cursor["time_us"] == max(e["time_us"] for e in jetstream.events)


def test_resume_rewinds_a_few_seconds_and_repeats_nothing(jetstream: JetstreamServer) -> None:
    events = load_events(FIXTURE)
    jetstream.events = events[:3]
    first = poll(config(jetstream, rewind_seconds=5))
    assert len(first.posts) == 2
    jetstream.events = events
    cursor = json.loads(json.dumps(first.cursor))
    second = poll(config(jetstream, rewind_seconds=5), cursor)
    assert jetstream.cursors[-1] == first.cursor["time_us"] - 5_000_000
    # The rewound stretch came again; only the post not seen before is new.
    assert [p["id"].rsplit("/", 1)[1] for p in second.posts] == ["3lbrkq4dd2c2d"]


def test_a_stream_dropped_mid_way_reconnects_from_its_cursor(jetstream: JetstreamServer) -> None:
    jetstream.events = load_events(FIXTURE)
    jetstream.drop_after = 2  # the first connection dies after two events, without a close
    pages = stream(config(jetstream, batch_seconds=0.1), pages=3)
    ids = [p["id"] for page in pages for p in page.posts]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert len(jetstream.cursors) >= 2  # it reconnected, with a cursor this time
    assert all(isinstance(c, int) for c in jetstream.cursors)


def test_a_server_that_refuses_fails_clearly(jetstream: JetstreamServer) -> None:
    jetstream.refuse = 100
    with pytest.raises(SourceError, match=r"Jetstream connection failed: .*503"):
        poll(config(jetstream))
    with pytest.raises(SourceError, match="Jetstream keeps failing"):
        stream(config(jetstream), pages=1)


def test_malformed_events_are_reported_and_good_ones_land(jetstream: JetstreamServer) -> None:
    events = load_events(FIXTURE)
    base = events[0]["time_us"]
    broken_text = json.loads(json.dumps(events[0]))
    broken_text["commit"]["rkey"] = "3lbrkqbad"
    broken_text["commit"]["record"]["text"] = {"not": "text"}
    jetstream.events = [
        {"time_us": base, "raw": "{not json"},
        {"time_us": base, "raw": json.dumps({"kind": "commit"})},
        broken_text,
        *events,
    ]
    page = poll(config(jetstream))
    assert len(page.posts) == 3
    assert any("not valid JSON" in p for p in page.problems)
    assert any("no time_us" in p for p in page.problems)
    assert any("text is not a string" in p for p in page.problems)


def test_the_guard_applies_to_websockets(jetstream: JetstreamServer) -> None:
    with pytest.raises(SourceError, match=r"refused to connect to 127\.0\.0\.1.*loopback"):
        poll(config(jetstream), loopback=False)


def test_listener_runs_the_stream_and_resumes_after_restart(
    jetstream: JetstreamServer, repo: Repository, settings: Settings
) -> None:
    events = load_events(FIXTURE)
    jetstream.events = events[:3]
    ws = repo.add_workspace("W")
    repo.add_source(
        ws.id,
        "bluesky",
        "sky",
        {"url": jetstream.url(), "keywords": ["brightloaf"], "batch_seconds": 0.05},
        60,
    )

    async def run_until(posts: int, deleted: int = 0) -> None:
        stop = asyncio.Event()
        seen = {"n": 0, "deleted": 0}

        def on(outcome: Any) -> None:
            seen["n"] += outcome.report.written.inserted
            seen["deleted"] += outcome.report.written.deleted
            if seen["n"] >= posts and seen["deleted"] >= deleted:
                stop.set()

        async with make_client(settings, allow_loopback=True) as http:
            listener = Listener(repo, Ingestor(repo, settings), settings, http, on_outcome=on)
            await asyncio.wait_for(listener.run(stop), timeout=20)

    asyncio.run(run_until(2))
    assert repo.post_count(ws.id) == 2
    stored = repo.source(ws.id, "sky")
    assert stored.cursor["time_us"] >= events[2]["time_us"] and stored.last_success_at

    jetstream.events = events
    # Restarted: rewinds, stores only the new one, which its author then deletes (the last
    # event), so it is removed again.
    asyncio.run(run_until(1, deleted=1))
    assert repo.post_count(ws.id) == 2
    assert repo.source(ws.id, "sky").cursor["time_us"] == events[-1]["time_us"]


@pytest.mark.skipif(
    not (shared_data() / "bluesky_jetstream" / "expected_v1.jsonl").exists(),
    reason="real Jetstream captures (../shared/data/bluesky_jetstream) are not here",
)
def test_real_jetstream_capture_replays_every_post_once(jetstream: JetstreamServer) -> None:
    events = load_events(shared_data() / "bluesky_jetstream" / "expected_v1.jsonl")
    creates = {
        f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}"
        for e in events
        if e["kind"] == "commit"
        and e["commit"]["collection"] == "app.bsky.feed.post"
        and e["commit"]["operation"] == "create"
    }
    jetstream.events = events
    jetstream.drop_after = 7
    pages = stream(
        {"url": jetstream.url(), "everything": True, "batch_seconds": 0.1}, pages=len(creates)
    )
    posts = [p for page in pages for p in page.posts]
    assert {p["id"] for p in posts} == creates and len(posts) == len(creates)
    for post in posts:
        parse_post(post)


def test_search_posts_brings_handles_and_counts() -> None:
    from tests.fakes.bluesky import BlueskySearchFake
    from tests.feedserver import running_server

    with running_server() as server:
        fake = BlueskySearchFake(server, login=True)
        view = fake.view(fake.template["record"]["text"])
        fake.views.append(view)

        async def go() -> Page:
            settings = Settings(_env_file=None, http_timeout=3)
            async with make_client(settings, allow_loopback=True) as http:
                source_cls = get_source_class("bluesky-search")
                src = source_cls("s", fake.config(), http, backfill=timedelta(hours=2))
                return await src.poll({})

        [post] = asyncio.run(go()).posts
        with pytest.raises(SourceError, match="Invalid identifier or password"):
            asyncio.run(_search_with(fake, {"app_password": "wrong"}))
    assert post["id"] == view["uri"] and post["source"] == "bluesky"
    assert post["author"] == {
        "id": "did:plc:anaexample0000000000000",
        "handle": "@ana.example",
        "name": "Ana",
    }
    assert post["metrics"] == {"likes": 9, "shares": 3, "replies": 1} and post["lang"] == "en"


async def _search_with(fake: Any, changes: dict[str, Any]) -> Page:
    settings = Settings(_env_file=None, http_timeout=3)
    async with make_client(settings, allow_loopback=True) as http:
        source_cls = get_source_class("bluesky-search")
        src = source_cls("s", {**fake.config(), **changes}, http, backfill=timedelta(hours=2))
        return await src.poll({})


def test_own_feed_marks_posts_own_and_refreshes_their_counts(
    repo: Repository, settings: Settings
) -> None:
    from tests.fakes.bluesky import BRAND_DID, BlueskySearchFake
    from tests.feedserver import running_server

    with running_server() as server:
        fake = BlueskySearchFake(server)
        own = [fake.view(f"Fresh rye today {i}") for i in range(9)]
        for view in own:
            view["uri"] = view["uri"].replace("did:plc:anaexample0000000000000", BRAND_DID)
            view["author"] = {**view["author"], "did": BRAND_DID, "handle": "brightloaf.example"}
        fake.views += own
        fake.reposts = [fake.view("someone else's post, reposted")]
        ws = repo.add_workspace("W")
        config = {**fake.config(), "feed": "own", "own_did": BRAND_DID}
        del config["query"]
        repo.add_source(ws.id, "bluesky-search", "own", config, 600)

        async def once() -> Any:
            async with make_client(settings, allow_loopback=True) as http:
                listener = Listener(repo, Ingestor(repo, settings), settings, http)
                [outcome] = await listener.run_once()
                return outcome

        first = asyncio.run(once())
        assert first.ok and first.report.written.inserted == 9
        own[0]["likeCount"] = 40  # the brand's post got liked since
        second = asyncio.run(once())
        assert second.report.written.inserted == 0 and second.report.written.updated == 1
    assert repo.post_count(ws.id) == 9
    with pytest.raises(ConfigError, match="own_did: required for the own feed"):
        get_source_class("bluesky-search").validate_config({"feed": "own"})


@pytest.mark.parametrize(
    "location",
    [
        "ws://169.254.169.254/subscribe",  # cloud metadata
        "ws://10.0.0.5:6008/subscribe",  # a private address
        "ws://internal.test/subscribe",  # a name: never resolved by anyone but the guard
    ],
)
def test_a_websocket_redirect_elsewhere_is_refused(
    jetstream: JetstreamServer, location: str
) -> None:
    """The guard vets the address before the handshake; a 302 to another host must not take
    the connection where the guard never looked (websockets would otherwise follow it)."""
    jetstream.redirect_to = location
    with pytest.raises(SourceError, match="redirect") as caught:
        poll(config(jetstream))
    assert location.split("/")[2] in str(caught.value)
    assert len(jetstream.cursors) == 1  # one handshake, answered with the redirect; no other


def test_the_websocket_connects_to_the_address_the_guard_vetted(
    jetstream: JetstreamServer,
) -> None:
    """DNS rebinding: the name is resolved once, by the guard, and the socket opens to that
    address; a name that also resolves to an internal address is refused before connecting."""
    calls: list[str] = []

    async def go(answers: list[str]) -> Page:
        async def resolve(host: str, port: int) -> list[str]:
            calls.append(host)
            return answers

        settings = Settings(_env_file=None, http_timeout=3)
        async with make_client(settings, allow_loopback=True, resolver=resolve) as http:
            cfg = config(jetstream, url=f"ws://jetstream.test:{jetstream.port}/subscribe")
            src = BlueskyJetstreamSource("b", cfg, http, backfill=timedelta(hours=2))
            return await src.poll({})

    jetstream.events = load_events(FIXTURE)
    page = asyncio.run(go(["127.0.0.1"]))  # jetstream.test exists only in this resolver
    assert len(page.posts) == 3 and calls == ["jetstream.test"]
    connections = len(jetstream.cursors)
    with pytest.raises(SourceError, match=r"refused to connect to jetstream\.test.*10\.0\.0\.5"):
        asyncio.run(go(["127.0.0.1", "10.0.0.5"]))
    assert len(jetstream.cursors) == connections  # nothing reached the server
