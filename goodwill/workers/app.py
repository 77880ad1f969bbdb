"""The Celery application, configured from the settings (never from a config module of its own).

Tasks are acknowledged only after they finish (``acks_late``), and a task whose worker process
died is put back (``reject_on_worker_lost``); when the whole worker dies, Redis gives its
unacknowledged tasks to another worker after ``worker_lease_seconds`` (the visibility timeout).
Every task is idempotent, so running one again is safe.
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery

from goodwill.settings import Settings
from goodwill.workers import QUEUES

__all__ = ["celery_app"]

ROUTES = {
    "goodwill.poll_source": {"queue": "poll"},
    "goodwill.ingest_batch": {"queue": "ingest"},
    "goodwill.reanalyse_range": {"queue": "analysis"},
    "goodwill.refresh_inbox": {"queue": "alerts"},
    "goodwill.alerts_tick": {"queue": "alerts"},
    "goodwill.deliver_alerts": {"queue": "alerts"},
}


@lru_cache(maxsize=4)
def _app(broker_url: str, lease: float) -> Celery:
    app = Celery("goodwill", broker=broker_url, include=["goodwill.workers.tasks"])
    # Redis looks for abandoned (unacknowledged) tasks every ``restore`` seconds.
    restore = max(1.0, min(10.0, lease / 3))
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_routes=ROUTES,
        task_default_queue="ingest",
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": lease,
            "unacked_restore_interval": restore,
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    assert set(QUEUES) == {r["queue"] for r in ROUTES.values()}
    return app


def celery_app(settings: Settings) -> Celery:
    """The application for these settings, made the current one (tasks are sent through it)."""
    if not settings.broker_url:
        raise ValueError("no broker configured: set GOODWILL_BROKER_URL (redis://host:6379/0)")
    app = _app(settings.broker_url, settings.worker_lease_seconds)
    app.set_current()
    app.set_default()
    return app
