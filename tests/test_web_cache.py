"""The figures cache: readers never wait for a refresh once a value exists."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from goodwill.settings import Settings
from goodwill.store.db import create_store_engine
from goodwill.store.migrate import upgrade
from goodwill.store.repository import Repository
from goodwill.web.app import create_app
from goodwill.web.cache import StaleCache


def test_stale_values_are_served_while_one_refresh_runs() -> None:
    cache = StaleCache(ttl=0.05)
    calls: list[int] = []
    release = threading.Event()

    def compute() -> int:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return len(calls)

    assert cache.get("k", compute).value == 1
    time.sleep(0.1)
    started = time.perf_counter()
    assert [cache.get("k", compute).value for _ in range(5)] == [1] * 5  # stale, at once
    assert time.perf_counter() - started < 0.5
    assert len(calls) == 2  # one refresh, not five
    release.set()
    deadline = time.monotonic() + 5
    while cache.get("k", compute).value != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get("k", compute).value == 2


def test_forget_drops_one_workspace_and_ttl_zero_never_keeps() -> None:
    cache = StaleCache(ttl=60)
    cache.get((1, "a"), lambda: "one")
    cache.get((2, "a"), lambda: "two")
    cache.forget(1)
    assert cache.get((1, "a"), lambda: "new").value == "new"
    assert cache.get((2, "a"), lambda: "other").value == "two"
    nocache = StaleCache(ttl=0)
    assert nocache.get("k", lambda: 1).value == 1
    assert nocache.get("k", lambda: 2).value == 2


def test_a_failed_refresh_keeps_the_last_value_and_drain_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A background refresh that fails (the store went away) is logged, not raised in a thread
    nobody watches; the app's shutdown drains refreshes before the store closes."""
    cache = StaleCache(ttl=0.01)
    assert cache.get("k", lambda: "first").value == "first"
    time.sleep(0.05)
    started = threading.Event()
    release = threading.Event()

    def failing() -> str:
        started.set()
        release.wait(5)
        raise RuntimeError("server closed the connection")

    with caplog.at_level(logging.WARNING, logger="goodwill.web.cache"):
        assert cache.get("k", failing).value == "first"
        assert started.wait(5)
        assert cache.drain(timeout=0.05) is False  # still running
        release.set()
        assert cache.drain(timeout=5) is True
    assert "keeping the last figures" in caplog.text
    assert cache.get("k", lambda: "again").value == "first"  # stale: refreshes in background
    assert cache.drain(timeout=5)
    assert cache.get("k", lambda: "later").value == "again"


def test_the_app_waits_for_background_refreshes_when_it_stops(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(engine)
    app = create_app(Repository(engine), Settings(data_dir=tmp_path))
    done = threading.Event()

    def slow() -> str:
        time.sleep(0.3)
        done.set()
        return "fresh"

    cache: StaleCache = app.state.ctx.inbox_refreshes
    cache.ttl = 0.01
    with TestClient(app):
        cache.get("k", lambda: "first")
        time.sleep(0.05)
        assert cache.get("k", slow).value == "first"
    assert done.is_set()  # the shutdown waited for the refresh
    engine.dispose()


def test_a_refresh_begun_before_forget_does_not_store_its_old_value() -> None:
    cache = StaleCache(ttl=0.01)
    cache.get((1, "inbox"), lambda: 3)
    time.sleep(0.02)
    started, release = threading.Event(), threading.Event()

    def slow_old_count() -> int:
        started.set()
        release.wait(5)
        return 3  # read before the user's change below

    assert cache.get((1, "inbox"), slow_old_count).value == 3  # starts the background refresh
    assert started.wait(5)
    cache.forget(1)  # the user answered a conversation: the count is now 2
    release.set()
    assert cache.drain(5)
    assert cache.get((1, "inbox"), lambda: 2).value == 2


def test_a_change_in_a_workspace_drops_its_navigation_count() -> None:
    import asyncio

    from goodwill.web.app import FreshCountsAfterChanges

    events: list[object] = []

    class Recorder(StaleCache):
        def forget(self, prefix: object) -> None:
            events.append(("forget", prefix))
            super().forget(prefix)

    async def handler(scope: object, receive: object, send: object) -> None:
        events.append("handled")  # the change is committed before the response starts
        await send({"type": "http.response.start", "status": 303, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    async def call(method: str, path: str) -> list[object]:
        events.clear()
        sent: list[object] = []

        async def send(message: object) -> None:
            sent.append(message)

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b""}

        await FreshCountsAfterChanges(handler, (Recorder(1.0),))(  # type: ignore[arg-type]
            {"type": "http", "method": method, "path": path}, receive, send
        )
        assert len(sent) == 2
        return list(events)

    assert asyncio.run(call("GET", "/w/7/inbox")) == ["handled"]
    assert asyncio.run(call("POST", "/login")) == ["handled"]
    assert asyncio.run(call("POST", "/w/7/inbox/12/status")) == ["handled", ("forget", 7)]
    assert asyncio.run(call("DELETE", "/api/workspaces/9/people/3")) == ["handled", ("forget", 9)]
    assert asyncio.run(call("POST", "/w/70x/inbox")) == ["handled"]
