"""Deletions from the networks, end to end over real connections on 127.0.0.1 (SQLite and
PostgreSQL): Mastodon's streaming ``delete`` event and a Bluesky Jetstream delete commit, each
through the listener, remove a post stored earlier from mentions, search and the rollups, with
the source's cursor stored in the same transaction. And the real Jetstream captures' delete
commits become deletions, when ../shared/data/bluesky_jetstream is present."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources import mastodon_stream
from goodwill.sources.base import Deletion
from goodwill.sources.mastodon import MastodonSource
from goodwill.store.repository import MentionFilter, Repository
from goodwill.store.rollups import rebuild
from tests.fakes.mastodon import MastodonFake
from tests.feedserver import loopback_only, running_server
from tests.test_bluesky_source import FIXTURE, load_events, poll, shared_data
from tests.wsserver import JetstreamServer, running_jetstream

ROLLUPS = ("rollup_topic_hours", "rollup_post_hours", "rollup_people_hours", "rollup_people_totals")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    monkeypatch.setattr(mastodon_stream, "RECONNECT_BASE_S", 0.01)
    loopback_only(monkeypatch)


@pytest.fixture
def jetstream() -> Iterator[JetstreamServer]:
    with running_jetstream() as srv:
        yield srv


def rollups_match_a_recount(repo: Repository) -> bool:
    def snapshot() -> dict[str, list[Any]]:
        with repo.engine.connect() as conn:
            return {
                t: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}")))
                for t in ROLLUPS
            }

    before = snapshot()
    with repo.engine.begin() as conn:
        rebuild(conn)
    return snapshot() == before


def listen_until(repo: Repository, settings: Settings, inserted: int, deleted: int) -> None:
    """Run the listener until the outcomes report this many posts stored and removed."""

    async def go() -> None:
        stop = asyncio.Event()
        seen = {"inserted": 0, "deleted": 0}

        def on(outcome: Any) -> None:
            seen["inserted"] += outcome.report.written.inserted
            seen["deleted"] += outcome.report.written.deleted
            if seen["inserted"] >= inserted and seen["deleted"] >= deleted:
                stop.set()

        async with make_client(settings, allow_loopback=True) as http:
            listener = Listener(repo, Ingestor(repo, settings), settings, http, on_outcome=on)
            await asyncio.wait_for(listener.run(stop), timeout=20)

    asyncio.run(go())


def test_a_mastodon_delete_event_removes_the_stored_status(
    repo: Repository, settings: Settings
) -> None:
    with running_server() as server:
        fake = MastodonFake(server)
        ws = repo.add_workspace("W").id
        repo.add_topic(ws, "Bread", TopicKind.INDUSTRY, "bread")
        config = MastodonSource.validate_config({**fake.config(), "batch_seconds": 0.05})
        repo.add_source(ws, "mastodon", "tag", config, 60)
        doomed = fake.publish(fake.status("<p>bread talk, crumbly sourdough</p>"))
        live: dict[str, Any] = {}

        def script() -> Iterable[bytes | float]:
            yield from fake.after_catch_up(1)
            live["item"] = fake.publish(fake.status("<p>bread talk, fresh rye</p>"))
            yield fake.event_for(live["item"])
            yield 0.2  # a page of its own, stored before the deletion comes
            yield fake.sse("delete", doomed["id"])  # Mastodon sends the bare id
            yield fake.sse("delete", "123")  # a status never stored: nothing happens
            yield from fake.heartbeats()

        fake.script(script)
        assert repo.mentions(ws, MentionFilter(search="crumbly")).posts == []
        listen_until(repo, settings, inserted=2, deleted=1)

        remaining = repo.mentions(ws, MentionFilter()).posts
        assert [p.external_id for p in remaining] == [fake.post_id(live["item"])]
        assert repo.mentions(ws, MentionFilter(search="crumbly")).posts == []
        assert repo.mentions(ws, MentionFilter(search="rye")).posts
        assert rollups_match_a_recount(repo)
        stored = repo.source(ws, "tag")
        assert stored.cursor["min_id"] == live["item"]["id"] and stored.last_error is None


def test_a_jetstream_delete_commit_removes_the_stored_post(
    jetstream: JetstreamServer, repo: Repository, settings: Settings
) -> None:
    events = load_events(FIXTURE)
    *before, delete = events
    assert delete["commit"]["operation"] == "delete"
    ws = repo.add_workspace("W").id
    repo.add_topic(ws, "Brightloaf", TopicKind.BRAND, "brightloaf")
    repo.add_source(
        ws,
        "bluesky",
        "sky",
        {"url": jetstream.url(), "keywords": ["brightloaf"], "batch_seconds": 0.05},
        60,
    )
    jetstream.events = before
    listen_until(repo, settings, inserted=3, deleted=0)
    assert repo.mentions(ws, MentionFilter(search="Heute Brot")).posts
    doomed = f"at://{delete['did']}/app.bsky.feed.post/{delete['commit']['rkey']}"

    jetstream.events = events  # the author deletes it; restarted, the stream resumes
    listen_until(repo, settings, inserted=0, deleted=1)
    ids = {p.external_id for p in repo.mentions(ws, MentionFilter()).posts}
    assert doomed not in ids and len(ids) == 2
    assert repo.mentions(ws, MentionFilter(search="Heute Brot")).posts == []
    assert rollups_match_a_recount(repo)
    assert repo.source(ws, "sky").cursor["time_us"] == delete["time_us"]


def test_a_jetstream_delete_of_something_else_is_not_a_post_deletion(
    jetstream: JetstreamServer,
) -> None:
    events = load_events(FIXTURE)
    like_deleted = {**events[-1], "commit": {**events[-1]["commit"], "collection": "x.y"}}
    bad = {**events[-1], "did": "bob", "time_us": events[-1]["time_us"] + 1}
    jetstream.events = [like_deleted, bad]
    page = poll({"url": jetstream.url(), "everything": True, "poll_seconds": 0.5})
    assert page.deletions == []
    assert any("has no author DID" in m for m in page.problems)


@pytest.mark.skipif(
    not (shared_data() / "bluesky_jetstream" / "expected_v1.jsonl").exists(),
    reason="real Jetstream captures (../shared/data/bluesky_jetstream) are not here",
)
def test_real_jetstream_delete_commits_become_deletions(jetstream: JetstreamServer) -> None:
    events = load_events(shared_data() / "bluesky_jetstream" / "expected_v1.jsonl")
    wanted = {
        Deletion("bluesky", f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}")
        for e in events
        if e["kind"] == "commit"
        and e["commit"]["collection"] == "app.bsky.feed.post"
        and e["commit"]["operation"] == "delete"
    }
    assert wanted  # the capture holds post deletions
    jetstream.events = events
    page = poll({"url": jetstream.url(), "everything": True, "poll_seconds": 1.0})
    assert set(page.deletions) == wanted
