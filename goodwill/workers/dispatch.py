"""The dispatcher: `goodwill listen` when a broker is configured.

It does no fetching or storing of its own for polled sources: each due source becomes one
``poll_source`` task (marked queued in Redis so that the next tick, or a second dispatcher, does
not queue it again). Streams (Bluesky's Jetstream) hold a connection open, so they stay in this
process, but every page they yield is handed to the workers as an ``ingest_batch`` task with
its cursor. The scheduled alert checks and the outbox are queued here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from goodwill.alerts import AlertService
from goodwill.ingest import Ingestor
from goodwill.listen import Listener, PollOutcome
from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import get_source_class
from goodwill.sources.base import ConfigError, Page, StreamingSource
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository
from goodwill.store.tables import Post, Source, utcnow
from goodwill.workers.app import celery_app
from goodwill.workers.claims import Claims
from goodwill.workers.tasks import (
    DELIVER_JOB,
    alerts_tick,
    deliver_alerts,
    ingest_batch,
    poll_source,
    reanalyse_range,
)

__all__ = ["Dispatcher", "dispatch_reanalysis"]

log = logging.getLogger(__name__)
IDLE = 5.0


class Dispatcher:
    def __init__(
        self,
        repo: Repository,
        settings: Settings,
        *,
        on_queued: Callable[[Source], None] | None = None,
        on_outcome: Callable[[PollOutcome], None] | None = None,
    ) -> None:
        assert settings.broker_url, "the dispatcher needs a broker"
        self.repo = repo
        self.settings = settings
        self.app = celery_app(settings)
        self.claims = Claims(settings.broker_url, settings.worker_lease_seconds)
        self.alerts = AlertService(AlertStore(repo.engine), settings)
        self.on_queued = on_queued
        self.on_outcome = on_outcome
        # Only to tell streams from polled sources and to run streams: it never ingests.
        self._listener_ingestor = Ingestor(repo, settings, analyzers=[])

    def enqueue_due(self, now: datetime | None = None) -> list[Source]:
        """Queue a poll of every enabled, due, polled source not already queued or running."""
        now = now or utcnow()
        queued = []
        for src in self.repo.sources(None):
            if not src.enabled or _is_stream(src) or (src.next_poll_at or now) > now:
                continue
            if self.claims.mark_queued(f"poll:{src.id}"):
                poll_source.delay(src.id)
                queued.append(src)
                if self.on_queued is not None:
                    self.on_queued(src)
        return queued

    def enqueue_alerts(self, now: datetime | None = None) -> None:
        """The scheduled checks once per ``alerts_tick_seconds`` (across all dispatchers), and
        a delivery task when deliveries are due (one queued at a time)."""
        now = now or utcnow()
        tick = self.claims.mark_queued("tick", ttl=self.settings.alerts_tick_seconds)
        if tick:
            alerts_tick.delay()
        due = self.alerts.store.next_due()
        # On a tick too: a delivery claimed by a worker that died is due again after its lease.
        if (tick or (due is not None and due <= now)) and self.claims.mark_queued(DELIVER_JOB):
            deliver_alerts.delay()

    async def hand_off(self, src: Source, page: Page) -> None:
        """A stream's page goes to the workers with its cursor, stored in one transaction."""
        items = [(f"{src.name} item {i}", obj) for i, obj in enumerate(page.posts, 1)]
        # Deletions as plain pairs: the task's arguments travel as JSON.
        deleted = [[d.source, d.external_id] for d in page.deletions]
        await asyncio.to_thread(
            ingest_batch.delay, src.workspace_id, items, src.id, dict(page.cursor), deleted
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Queue due sources and alert work, and keep the streams running, until ``stop``."""
        streams: dict[int, asyncio.Task[None]] = {}
        async with make_client(self.settings) as http:
            listener = Listener(
                self.repo,
                self._listener_ingestor,
                self.settings,
                http,
                on_outcome=self.on_outcome,
                hand_off=self.hand_off,
            )
            try:
                while not stop.is_set():
                    listener.start_streams(streams)
                    try:
                        await asyncio.to_thread(self.enqueue_due)
                        await asyncio.to_thread(self.enqueue_alerts)
                    except Exception:  # the broker or the database may be away for a moment
                        log.exception("dispatch round failed; trying again shortly")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self._wait())
            finally:
                for task in streams.values():
                    task.cancel()
                await asyncio.gather(*streams.values(), return_exceptions=True)
                self.claims.close()

    def _wait(self) -> float:
        upcoming = [
            s.next_poll_at
            for s in self.repo.sources(None)
            if s.enabled and s.next_poll_at and not _is_stream(s)
        ]
        if not upcoming:
            return IDLE
        return min(IDLE, max((min(upcoming) - utcnow()).total_seconds(), 0.2))


def _is_stream(src: Source) -> bool:
    try:
        return issubclass(get_source_class(src.kind), StreamingSource)
    except ConfigError:  # an unknown kind: its poll task records the error in its health
        return False


def dispatch_reanalysis(
    repo: Repository, settings: Settings, workspace_id: int, *, chunk: int, everything: bool
) -> list[tuple[int, int]]:
    """Split the workspace's posts into id ranges of about ``chunk`` posts, one task each."""
    celery_app(settings)
    with repo.session() as s:
        ids = list(
            s.scalars(select(Post.id).where(Post.workspace_id == workspace_id).order_by(Post.id))
        )
    ranges = []
    after = 0
    for start in range(0, len(ids), chunk):
        until = ids[min(start + chunk, len(ids)) - 1]
        reanalyse_range.delay(workspace_id, after, until, everything)
        ranges.append((after, until))
        after = until
    return ranges
