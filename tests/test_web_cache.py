"""The figures cache: readers never wait for a refresh once a value exists."""

from __future__ import annotations

import threading
import time

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
