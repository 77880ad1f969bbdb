"""`python -m goodwill listen` as a real process against local replay servers.

Three sources run together, each with its faults: Hacker News polled (a 429 with Retry-After,
then a 500 retried), a Mastodon hashtag over server-sent events dropped mid-stream, and Bluesky's
Jetstream WebSocket dropped mid-stream. The process is stopped with SIGINT (Ctrl-C), must exit
cleanly, and once started again must bring exactly what was published meanwhile: every post
once, none missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from goodwill.sources.hn import HackerNewsSource
from goodwill.sources.mastodon import MastodonSource
from goodwill.store.db import create_store_engine
from goodwill.store.repository import Repository
from goodwill.store.tables import Post
from tests.fakes.hn import HnFake
from tests.fakes.mastodon import MastodonFake
from tests.feedserver import Reply, running_server
from tests.test_stream_contract import JetstreamCase
from tests.wsserver import running_jetstream


@pytest.fixture
def world(tmp_path: Path, sqlite_template: Path) -> Iterator[dict[str, Any]]:
    with running_server() as hn_server, running_server() as toot_server, running_jetstream() as js:
        db = tmp_path / "goodwill.db"
        shutil.copy(sqlite_template, db)
        url = f"sqlite:///{db}"
        engine = create_store_engine(url)
        try:
            yield {
                "repo": Repository(engine),
                "engine": engine,
                "url": url,
                "hn": HnFake(hn_server),
                "mastodon": MastodonFake(toot_server),
                "jetstream": JetstreamCase(js),
                "tmp": tmp_path,
            }
        finally:
            engine.dispose()


def stored_ids(world: dict[str, Any]) -> list[str]:
    with world["engine"].connect() as conn:
        return [str(i) for i in conn.scalars(select(Post.external_id))]


class Listening:
    """One `goodwill listen` process, its output in files."""

    def __init__(self, world: dict[str, Any], run: int) -> None:
        env = {
            **os.environ,
            "GOODWILL_DATABASE_URL": world["url"],
            "GOODWILL_DATA_DIR": str(world["tmp"]),
            "GOODWILL_HTTP_ALLOW_PRIVATE": "true",  # the replay servers are on 127.0.0.1
            "GOODWILL_HTTP_TIMEOUT": "3",
            "GOODWILL_LISTEN_MIN_INTERVAL": "1",
            "GOODWILL_ANALYSIS": "false",
        }
        self.out = world["tmp"] / f"listen-{run}.out"
        self.err = world["tmp"] / f"listen-{run}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "goodwill", "listen"], env=env, stdout=out, stderr=err
            )

    def wait_for(self, done: Callable[[], bool], what: str, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return
            assert self.process.poll() is None, f"listen exited early:\n{self.output()}"
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()}")

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"listen did not stop on SIGINT:\n{self.output()}") from None

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")


def test_listen_survives_the_faults_stops_on_ctrl_c_and_resumes(world: dict[str, Any]) -> None:
    repo: Repository = world["repo"]
    hn: HnFake = world["hn"]
    toots: MastodonFake = world["mastodon"]
    jet: JetstreamCase = world["jetstream"]
    ws = repo.add_workspace("W")
    repo.add_source(ws.id, "hn", "hn", HackerNewsSource.validate_config(hn.config()), 1)
    tag = MastodonSource.validate_config({**toots.config(), "batch_seconds": 0.2})
    repo.add_source(ws.id, "mastodon", "toots", tag, 60)
    sky = {**jet.config(), "keywords": ["brightloaf"], "batch_seconds": 0.2}
    repo.add_source(ws.id, "bluesky", "sky", sky, 60)

    # Hacker News: rate limited first (its reset honoured), then a 500 the client retries.
    expected = hn.add(3)
    hn.server.queued += [hn.rate_limited(1), Reply(b"oops", status=500, content_type="text/plain")]
    # Mastodon: caught up over REST, two posts live, dropped while two more are published,
    # caught up again on reconnecting, one more live.
    expected += toots.add(2)
    live: dict[str, dict[str, Any]] = {}

    def first() -> Iterable[bytes | float]:
        yield from toots.after_catch_up(1)
        for name in ("a", "b"):
            live[name] = toots.publish(toots.status(f"<p>live {name}</p>"))
            yield toots.event_for(live[name])
        for name in ("c", "d"):
            live[name] = toots.publish(toots.status(f"<p>missed {name}</p>"))
        yield 0.1

    def second() -> Iterable[bytes | float]:
        yield from toots.after_catch_up(2)
        live["e"] = toots.publish(toots.status("<p>live e</p>"))
        yield toots.event_for(live["e"])
        yield from toots.heartbeats()

    toots.script(first, abort=True)
    toots.script(second)
    # Jetstream: the first connection drops after two of four events.
    jet.server.drop_after = 2
    expected += jet.backlog(4)

    def toot_ids() -> list[str]:
        return [toots.post_id(live[n]) for n in sorted(live)]

    listening = Listening(world, 1)
    listening.wait_for(
        lambda: len(live) == 5 and set(expected + toot_ids()) <= set(stored_ids(world)),
        "every post of the first run",
    )
    code = listening.interrupt()
    output = listening.output()
    assert code in (0, 130), output
    assert "Traceback" not in output, output
    assert "Stopped. Cursors are saved" in output
    expected += toot_ids()
    assert sorted(stored_ids(world)) == sorted(expected)  # every post once
    assert not hn.server.queued  # the 429 and the 500 were both met
    assert len(toots.stream_requests) == 2  # dropped once, reconnected once
    assert len(jet.server.cursors) >= 2
    health = {s.name: s for s in repo.sources(ws.id)}
    assert all(s.last_success_at for s in health.values()), output
    assert "429" in (health["hn"].last_error or "")  # recorded, then waited out

    # Published while nothing listens: the next run must bring exactly these.
    expected += hn.add(2) + toots.add(2) + jet.backlog(2)
    listening = Listening(world, 2)
    listening.wait_for(lambda: set(expected) <= set(stored_ids(world)), "the second run")
    time.sleep(1.5)  # long enough for a repeat to land, were one coming
    code = listening.interrupt()
    output = listening.output()
    assert code in (0, 130) and "Traceback" not in output, output
    assert sorted(stored_ids(world)) == sorted(expected)  # no gap, no duplicate
    assert len(toots.stream_requests) == 3
