"""What `goodwill workers status` shows: queue depths in Redis, and the workers that answer."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy.engine import make_url

from goodwill.settings import Settings
from goodwill.workers import QUEUES
from goodwill.workers.app import celery_app

__all__ = ["workers_status"]

# Kombu keeps each priority level of a Redis queue in its own list: QUEUE, QUEUE\x06\x163, ...
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def workers_status(settings: Settings, *, timeout: float = 1.0) -> dict[str, Any]:
    """Waiting tasks per queue, and each worker's pool size and the tasks it runs now."""
    assert settings.broker_url
    app = celery_app(settings)
    client = redis.Redis.from_url(settings.broker_url)
    try:
        depths = {q: sum(int(client.llen(q + s)) for s in _PRIORITY_SUFFIXES) for q in QUEUES}
    finally:
        client.close()
    inspect = app.control.inspect(timeout=timeout)
    stats = inspect.stats() or {}
    active = inspect.active() or {}
    workers = [
        {
            "name": name,
            "concurrency": (info.get("pool") or {}).get("max-concurrency"),
            "active": [task.get("name") for task in active.get(name, [])],
            "processed": sum((info.get("total") or {}).values()),
        }
        for name, info in sorted(stats.items())
    ]
    return {"broker": _redacted(settings.broker_url), "queues": depths, "workers": workers}
