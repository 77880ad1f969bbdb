"""Short-lived claims in Redis: one poll per source at a time, one queued task per job.

Two kinds of keys, both expiring after ``worker_lease_seconds`` so that a worker that died never
holds anything for ever:

* ``queued`` marks a job (a source's poll, a workspace's inbox refresh) as waiting in the
  queue, so the dispatcher does not enqueue it again at every tick while it waits;
* ``lock`` is held while a worker polls a source (``redis.lock.Lock``, released only by its
  owner), so two workers never poll the same source at once, even when a task is delivered
  twice.
"""

from __future__ import annotations

import redis
from redis.lock import Lock

__all__ = ["Claims"]

PREFIX = "goodwill:"


class Claims:
    def __init__(self, broker_url: str, lease: float) -> None:
        self.redis = redis.Redis.from_url(broker_url)
        self.lease = lease

    def mark_queued(self, job: str, ttl: float | None = None) -> bool:
        """Mark ``job`` as queued; ``False`` when it already is (do not enqueue it again)."""
        ms = int((ttl or self.lease) * 1000)
        return bool(self.redis.set(f"{PREFIX}queued:{job}", 1, nx=True, px=ms))

    def unmark_queued(self, job: str) -> None:
        self.redis.delete(f"{PREFIX}queued:{job}")

    def source_lock(self, source_id: int) -> Lock:
        lock: Lock = self.redis.lock(f"{PREFIX}lock:source:{source_id}", timeout=self.lease)
        return lock

    def close(self) -> None:
        self.redis.close()
