"""The listener: polls every enabled source when it is due, stores what it brings, keeps health.

Each source is polled on its own schedule; one that fails backs off exponentially (with jitter)
and says why in its health, while the others go on. Pages are stored through ``Ingestor``, with
the source's cursor in the same transaction, so stopping at any moment (Ctrl-C, a crash) and
starting again neither loses nor repeats posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from goodwill.alerts import AlertService
from goodwill.ingest import Ingestor, IngestReport
from goodwill.pipeline.batch import ItemProblem
from goodwill.settings import Settings
from goodwill.sources import get_source_class
from goodwill.sources.base import (
    ConfigError,
    Page,
    PollingSource,
    RateLimited,
    SourceError,
    StreamingSource,
    UsesTopics,
)
from goodwill.sources.credentials import scrub, secrets_of, unseal
from goodwill.sources.ratelimit import backoff_seconds
from goodwill.store.repository import Repository
from goodwill.store.tables import Source, utcnow

__all__ = ["Listener", "PollOutcome", "backoff_seconds", "connector_for", "hand_topics"]

log = logging.getLogger(__name__)
MAX_PAGES_PER_POLL = 20


@dataclass(slots=True)
class PollOutcome:
    source: str
    workspace_id: int
    ok: bool
    report: IngestReport = field(default_factory=IngestReport)
    error: str | None = None
    not_modified: bool = False
    next_poll_at: datetime | None = None
    rate_limit: dict[str, Any] | None = None


def connector_for(src: Source, http: httpx.AsyncClient, settings: Settings) -> PollingSource:
    """The connector of a stored source, its credentials decrypted in memory only."""
    cls = get_source_class(src.kind)
    backfill = timedelta(hours=settings.source_backfill_hours)
    return cls(src.name, unseal(src.config, settings), http, backfill=backfill)


def hand_topics(repo: Repository, src: Source, connector: PollingSource) -> None:
    """Connectors that filter by our topics on the provider's side (X's stream rules) get the
    workspace's enabled topics here."""
    if isinstance(connector, UsesTopics):
        topics = repo.topics(src.workspace_id)
        connector.use_topics([(t.name, t.query) for t in topics if t.enabled])


class Listener:
    def __init__(
        self,
        repo: Repository,
        ingestor: Ingestor,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        on_outcome: Callable[[PollOutcome], None] | None = None,
        alerts: AlertService | None = None,
        hand_off: Callable[[Source, Page], Awaitable[None]] | None = None,
    ) -> None:
        """``alerts``: deliver alerts and run their scheduled checks while listening.
        ``hand_off``: where a stream's pages go instead of this process's ingestor (to Celery
        workers, when a broker is configured)."""
        self.repo = repo
        self.ingestor = ingestor
        self.settings = settings
        self.http = http
        self.on_outcome = on_outcome
        self.alerts = alerts
        self.hand_off = hand_off
        self._write_lock = asyncio.Lock()

    async def _store(self, src: Source, page: Page, outcome: PollOutcome) -> None:
        items = [(f"{src.name} item {i}", obj) for i, obj in enumerate(page.posts, 1)]
        async with self._write_lock:
            report = await asyncio.to_thread(
                self.ingestor.ingest,
                src.workspace_id,
                items,
                source_id=src.id,
                cursor=page.cursor,
                deletions=page.deletions,
            )
        outcome.report.read += report.read
        outcome.report.written.add(report.written)
        outcome.report.note(report.problems)
        # Connector-level notes (an entry without a link, a bad date) join item problems.
        outcome.report.note(ItemProblem(src.name, p) for p in page.problems)
        outcome.not_modified = page.not_modified

    async def stream(self, src: Source) -> None:
        """Run a streaming source until it gives up or is cancelled; every batch it yields is
        stored with its cursor, and recorded in its health."""
        try:
            connector = connector_for(src, self.http, self.settings)
            streams = isinstance(connector, StreamingSource) and connector.streams(src.config or {})
            if not streams or not isinstance(connector, StreamingSource):
                raise ConfigError(f"{src.kind} sources are not streams")
            await self._hand_topics(src, connector)
            async for page in connector.stream(dict(src.cursor or {})):
                outcome = PollOutcome(src.name, src.workspace_id, ok=True)
                if self.hand_off is not None:
                    await self.hand_off(src, page)
                    outcome.report.read = len(page.posts)
                    outcome.report.note(ItemProblem(src.name, p) for p in page.problems)
                else:
                    await self._store(src, page, outcome)
                outcome.rate_limit = connector.rate_limit_state()
                self._record_health(src, outcome, utcnow())
                src.consecutive_failures = 0
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, SourceError | ConfigError):
                log.exception("stream %s failed unexpectedly", src.name)
            outcome = PollOutcome(src.name, src.workspace_id, ok=False, error=str(exc))
            self._record_health(src, outcome, utcnow())
            if self.on_outcome is not None:
                self.on_outcome(outcome)

    async def _hand_topics(self, src: Source, connector: PollingSource) -> None:
        if isinstance(connector, UsesTopics):
            await asyncio.to_thread(hand_topics, self.repo, src, connector)

    def _streams_to_start(self, running: dict[int, asyncio.Task[None]]) -> list[Source]:
        """Enabled streams not running now: at once, unless one that failed is backing off."""
        now = utcnow()
        out = []
        for src in self.repo.sources(None):
            if not src.enabled or not self.is_stream(src):
                continue
            task = running.get(src.id)
            if task is not None and not task.done():
                continue
            waiting = src.consecutive_failures and src.next_poll_at and src.next_poll_at > now
            if not waiting:
                out.append(src)
        return out

    def is_stream(self, src: Source) -> bool:
        try:
            cls = get_source_class(src.kind)
        except ConfigError:
            return False
        return issubclass(cls, StreamingSource) and cls.streams(src.config or {})

    async def poll(self, src: Source) -> PollOutcome:
        """Poll one source now (all its waiting pages), store, and record its health."""
        outcome = PollOutcome(src.name, src.workspace_id, ok=False)
        now = utcnow()
        cursor: dict[str, Any] = dict(src.cursor or {})
        connector: PollingSource | None = None
        try:
            connector = connector_for(src, self.http, self.settings)
            await self._hand_topics(src, connector)
            for _ in range(MAX_PAGES_PER_POLL):
                page = await connector.poll(cursor)
                await self._store(src, page, outcome)
                cursor = page.cursor
                if not page.has_more:
                    break
        except RateLimited as exc:
            outcome.error = str(exc)
            # A provider's "come back later" is honoured, within our own bounds.
            wait = min(
                max(exc.retry_after, self.settings.listen_min_interval),
                self.settings.listen_max_backoff,
            )
            outcome.next_poll_at = now + timedelta(seconds=wait)
        except (SourceError, ConfigError) as exc:
            outcome.error = str(exc)
        except Exception as exc:  # a connector bug must not stop the other sources
            log.exception("source %s failed unexpectedly", src.name)
            outcome.error = f"unexpected error: {type(exc).__name__}: {exc}"
        else:
            outcome.ok = True
        outcome.rate_limit = connector.rate_limit_state() if connector is not None else None
        self._record_health(src, outcome, now)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    def _record_health(self, src: Source, outcome: PollOutcome, now: datetime) -> None:
        interval = max(src.interval_s, self.settings.listen_min_interval)
        values: dict[str, Any] = {"last_poll_at": now}
        # Shown, stored and logged from here on: never a credential, whatever a provider said.
        secrets = self._secrets(src) if outcome.error or outcome.report.problems else []
        if outcome.error:
            outcome.error = scrub(outcome.error, secrets)
        if outcome.rate_limit is not None:
            values["rate_limit"] = {**outcome.rate_limit, "at": now.isoformat()}
        if outcome.ok:
            values["consecutive_failures"] = 0
            outcome.next_poll_at = now + timedelta(seconds=interval)
            values["last_problems"] = {
                "at": now.isoformat(),
                "count": outcome.report.problem_count,
                "items": [scrub(str(p), secrets) for p in outcome.report.problems[:50]],
            }
        else:
            failures = src.consecutive_failures + 1
            values["consecutive_failures"] = failures
            values["last_error"] = outcome.error
            values["last_error_at"] = now
            if outcome.next_poll_at is None:
                wait = backoff_seconds(interval, failures, self.settings.listen_max_backoff)
                outcome.next_poll_at = now + timedelta(seconds=wait)
        values["next_poll_at"] = outcome.next_poll_at
        self.repo.update_source(src.workspace_id, src.id, **values)

    def _secrets(self, src: Source) -> list[str]:
        try:
            fields = get_source_class(src.kind).secret_fields
        except ConfigError:
            fields = frozenset()
        return secrets_of(src.config or {}, fields, self.settings)

    def due(self, now: datetime | None = None) -> list[Source]:
        now = now or utcnow()
        return [
            s
            for s in self.repo.sources(None)
            if s.enabled and (s.next_poll_at is None or s.next_poll_at <= now)
        ]

    async def run_once(self) -> list[PollOutcome]:
        """Poll every enabled source once, whether due or not (for `listen --once` and cron)."""
        sources = [s for s in self.repo.sources(None) if s.enabled]
        outcomes = list(await asyncio.gather(*(self.poll(s) for s in sources)))
        if self.alerts is not None:
            await asyncio.to_thread(self.alerts.tick)
            await self.alerts.worker(self.http).deliver_due()
        return outcomes

    async def run(self, stop: asyncio.Event) -> None:
        """Poll sources as they fall due, and keep every stream running (restarted after its
        back-off when it gives up), until ``stop`` is set; alerts are delivered (and their
        scheduled checks run) beside the polling."""
        alerting = None
        if self.alerts is not None:
            alerting = asyncio.create_task(self.alerts.run(stop, self.http))
        try:
            await self._poll_until(stop)
        finally:
            if alerting is not None:
                stop.set()
                await alerting

    def start_streams(self, running: dict[int, asyncio.Task[None]]) -> None:
        """Start every enabled stream not running now (``running``: by source id)."""
        for src in self._streams_to_start(running):
            running[src.id] = asyncio.create_task(self.stream(src))

    async def _poll_until(self, stop: asyncio.Event) -> None:
        streams: dict[int, asyncio.Task[None]] = {}
        try:
            while not stop.is_set():
                due = self.due()
                self.start_streams(streams)
                polled = [s for s in due if not self.is_stream(s)]
                if polled:
                    await asyncio.gather(*(self.poll(s) for s in polled))
                upcoming = [
                    s.next_poll_at
                    for s in self.repo.sources(None)
                    if s.enabled and s.next_poll_at and not self.is_stream(s)
                ]
                wait = 5.0
                if upcoming:
                    wait = min(wait, max((min(upcoming) - datetime.now(UTC)).total_seconds(), 0.2))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        finally:
            for task in streams.values():
                task.cancel()
            await asyncio.gather(*streams.values(), return_exceptions=True)
