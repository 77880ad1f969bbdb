"""Scale-out: Celery workers on Redis, for when one machine (or one process) is not enough.

Without ``GOODWILL_BROKER_URL`` Goodwill runs embedded, in one process, and nothing here is
imported (Celery stays an optional extra, ``pip install goodwill[workers]``). With a broker,
``goodwill listen`` becomes a dispatcher (``dispatch``): it enqueues each due source as a task,
hands stream batches to workers, and schedules the alert checks; ``goodwill worker`` processes
run the tasks (``tasks``), each with the same ``Ingestor`` the embedded mode uses. Every task is
safe to run twice: the store's uniqueness constraints make a re-delivered batch harmless, the
alert outbox's claims send each delivery once, and a Redis lock keeps one poll per source.
"""

from __future__ import annotations

from goodwill.settings import Settings

__all__ = ["QUEUES", "scale_out"]

QUEUES = ("poll", "ingest", "analysis", "alerts")
"""The task queues; ``goodwill worker --queues`` picks some (all by default)."""


def scale_out(settings: Settings) -> bool:
    """Whether a broker is configured (otherwise: the embedded mode)."""
    return bool(settings.broker_url)
