"""The tasks workers run. Each opens what it needs once per worker process (``runtime``).

Every task may run twice (a worker killed before acknowledging it): a poll re-reads from the
stored cursor and the store's uniqueness constraint drops what is already there; a batch is
stored once whatever the number of deliveries; re-analysis writes the same scores again; alert
deliveries are claimed row by row in the database (``AlertStore.claim_due``) so each is sent
by one worker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from celery import shared_task
from redis.exceptions import LockError
from sqlalchemy.exc import OperationalError

from goodwill.alerts import AlertService
from goodwill.analysis.engine import TextAnalyzer
from goodwill.domain import Deletion
from goodwill.inbox.service import Inbox
from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.reanalyse import reanalyse
from goodwill.settings import Settings, get_settings
from goodwill.store.alerts import AlertStore
from goodwill.store.db import create_store_engine
from goodwill.store.repository import Repository
from goodwill.store.tables import Source, utcnow
from goodwill.workers.claims import Claims

__all__ = [
    "alerts_tick",
    "deliver_alerts",
    "ingest_batch",
    "poll_source",
    "reanalyse_range",
    "refresh_inbox",
    "runtime",
]

log = logging.getLogger(__name__)

# A database that is briefly unreachable is retried, with back-off, rather than dropped.
RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}
DELIVER_JOB = "deliver"


@dataclass
class Runtime:
    """What one worker process keeps between tasks: the store, the compiled topics, the models."""

    settings: Settings

    @cached_property
    def repo(self) -> Repository:
        return Repository(create_store_engine(self.settings.resolved_database_url()))

    @cached_property
    def claims(self) -> Claims:
        assert self.settings.broker_url
        return Claims(self.settings.broker_url, self.settings.worker_lease_seconds)

    @cached_property
    def alerts(self) -> AlertService:
        service = AlertService(AlertStore(self.repo.engine), self.settings)
        service.set_waker(self.wake_delivery)
        return service

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(
            self.repo, self.settings, after_batch=[self.alerts.after_batch, self.stored]
        )

    def wake_delivery(self) -> None:
        """New alert deliveries wait: one delivery task is queued (not one per batch)."""
        if self.claims.mark_queued(DELIVER_JOB):
            deliver_alerts.delay()

    def stored(self, workspace_id: int, inserted: int) -> None:
        """After a batch: the workspace's inbox is refreshed by a task (one queued at a time)."""
        if inserted > 0 and self.claims.mark_queued(f"inbox:{workspace_id}"):
            refresh_inbox.delay(workspace_id)


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """This process's runtime, made on first use (after the fork, never in the parent)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(get_settings())
    return _runtime


def _source(repo: Repository, source_id: int) -> Source | None:
    return next((s for s in repo.sources(None) if s.id == source_id), None)


@shared_task(name="goodwill.poll_source", **RETRY)
def poll_source(source_id: int) -> dict[str, Any]:
    """Poll one source (all its waiting pages) and store what it brings, unless another worker
    is polling it now or it is not due any more (a task delivered twice)."""
    rt = runtime()
    lock = rt.claims.source_lock(source_id)
    if not lock.acquire(blocking=False):
        return {"source_id": source_id, "skipped": "another worker is polling it"}
    try:
        src = _source(rt.repo, source_id)
        if src is None or not src.enabled:
            return {"source_id": source_id, "skipped": "removed or disabled"}
        if src.next_poll_at is not None and src.next_poll_at > utcnow():
            return {"source_id": source_id, "skipped": "not due"}

        async def poll() -> dict[str, Any]:
            async with make_client(rt.settings) as http:
                outcome = await Listener(rt.repo, rt.ingestor, rt.settings, http).poll(src)
            report = outcome.report.as_dict()
            del report["problems"]
            return {"source_id": source_id, "ok": outcome.ok, "error": outcome.error, **report}

        return asyncio.run(poll())
    finally:
        # The dispatcher may queue this source again (it is due again at next_poll_at).
        rt.claims.unmark_queued(f"poll:{source_id}")
        try:
            lock.release()
        except LockError:  # held past the lease: another worker may own it now
            log.warning("poll of source %s outlived its lock", source_id)


@shared_task(name="goodwill.ingest_batch", **RETRY)
def ingest_batch(
    workspace_id: int,
    items: list[tuple[str, Any]],
    source_id: int | None = None,
    cursor: dict[str, Any] | None = None,
    deletions: list[list[str]] | None = None,
) -> dict[str, Any]:
    """Store one batch (a stream's page), with its cursor and the deletions it reported
    (``[source, external id]`` pairs). Delivered twice, it is stored once."""
    report = runtime().ingestor.ingest(
        workspace_id,
        [(str(w), obj) for w, obj in items],
        source_id=source_id,
        cursor=cursor,
        deletions=[Deletion(str(s), str(e)) for s, e in deletions or ()],
    )
    return report.as_dict()


@shared_task(name="goodwill.reanalyse_range", **RETRY)
def reanalyse_range(
    workspace_id: int, after_id: int, until_id: int, everything: bool = False
) -> dict[str, int]:
    """Re-score the workspace's posts with ids in ``(after_id, until_id]``."""
    rt = runtime()
    analyzer = TextAnalyzer(rt.settings.sentiment)
    report = reanalyse(
        rt.repo, workspace_id, analyzer, everything=everything, after_id=after_id, until_id=until_id
    )
    return report.as_dict()


@shared_task(name="goodwill.refresh_inbox", **RETRY)
def refresh_inbox(workspace_id: int) -> dict[str, Any]:
    """Bring a workspace's conversations up to date with its posts."""
    rt = runtime()
    # Unmarked first: posts stored during this refresh queue the next one.
    rt.claims.unmark_queued(f"inbox:{workspace_id}")
    report = Inbox(rt.repo, rt.settings).refresh(workspace_id)
    return {"workspace_id": workspace_id, "threads": report.threads, "skipped": report.skipped}


@shared_task(name="goodwill.alerts_tick", **RETRY)
def alerts_tick() -> dict[str, int]:
    """The scheduled alert checks (digests, spikes, unanswered questions) of every workspace."""
    result = runtime().alerts.tick()
    return {"events": result.events, "deliveries": len(result.deliveries)}


@shared_task(name="goodwill.deliver_alerts", **RETRY)
def deliver_alerts() -> dict[str, int]:
    """Send the alert deliveries due now. Each row is claimed in the database before it is sent,
    so several of these tasks at once never send one delivery twice."""
    rt = runtime()
    rt.claims.unmark_queued(DELIVER_JOB)

    async def deliver() -> dict[str, int]:
        async with make_client(rt.settings) as http:
            sent = await rt.alerts.worker(http).deliver_due()
        return {"sent": sum(s.ok for s in sent), "failed": sum(not s.ok for s in sent)}

    return asyncio.run(deliver())
