"""Figures that are costly to compute and fine to be a minute old: the dashboard's aggregates
and the stream's per-topic counts.

Why stale-while-revalidate: with a million mentions a dashboard takes seconds to aggregate in
SQLite. A reader gets the last figures at once (the page says how old they are) while one
background thread computes fresh ones; only the very first view of a key waits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

__all__ = ["Cached", "StaleCache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Cached:
    value: Any
    computed_at: float  # time.time() when the value was computed

    @property
    def age(self) -> float:
        return time.time() - self.computed_at


class StaleCache:
    def __init__(self, ttl: float, max_entries: int = 512) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, Cached] = {}
        self._refreshing: set[Hashable] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        # Bumped by forget(): a background refresh that began before a change must not store
        # the figures it read from before that change.
        self._epoch = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Cached:
        """The cached value (refreshed in the background once older than ``ttl``), or a fresh one.

        With ``ttl`` 0 nothing is kept: every call computes.
        """
        if self.ttl <= 0:
            return Cached(compute(), time.time())
        with self._lock:
            entry = self._entries.get(key)
            stale = entry is not None and entry.age > self.ttl
            start_refresh = stale and key not in self._refreshing
            if start_refresh:
                self._refreshing.add(key)
        if entry is None:
            entry = Cached(compute(), time.time())
            self._store(key, entry)
            return entry
        if start_refresh:
            thread = threading.Thread(
                target=self._refresh, args=(key, compute, self._epoch), daemon=True
            )
            with self._lock:
                self._threads.add(thread)
            thread.start()
        return entry

    def _refresh(self, key: Hashable, compute: Callable[[], Any], epoch: int) -> None:
        # A failed refresh keeps the last figures (the page shows their age) and tries again on
        # the next read; nobody is waiting on this thread to hear about the error.
        try:
            self._store(key, Cached(compute(), time.time()), epoch)
        except Exception:
            log.warning("refreshing %r failed; keeping the last figures", key, exc_info=True)
        finally:
            with self._lock:
                self._refreshing.discard(key)
                self._threads.discard(threading.current_thread())

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait for the background refreshes under way (the app's shutdown, before the store
        closes); True when none is left running."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def _store(self, key: Hashable, entry: Cached, epoch: int | None = None) -> None:
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                return  # computed from before a forget(): the next read computes afresh
            if len(self._entries) >= self.max_entries and key not in self._entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = entry

    def forget(self, prefix: Hashable) -> None:
        """Drop every key whose first element is ``prefix`` (a workspace after a change)."""
        with self._lock:
            self._epoch += 1
            for key in [k for k in self._entries if isinstance(k, tuple) and k[:1] == (prefix,)]:
                del self._entries[key]
