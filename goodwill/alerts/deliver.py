"""The delivery worker: claims due outbox rows, sends each, and records what the receiver said.

At-least-once with a stable id: a row is marked sent only after the receiver acknowledged
(2xx, or SMTP's 250), and a row claimed by a worker that died goes back to the pool when its
lease (``alerts_claim_seconds``) runs out. The only repeat possible is a message acknowledged
in the instant before its row was marked; it carries the same ``webhook-id`` (and email
``Message-ID``), so receivers drop it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from goodwill.alerts.channels import Attempt, endpoint_label, send_email, send_webhook
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore, Claimed
from goodwill.store.tables import utcnow

__all__ = ["RETRY_SCHEDULE", "DeliveryWorker", "Sent", "retry_delay"]

log = logging.getLogger(__name__)

RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds before each retry (Standard Webhooks' recommendation): about 28 hours in all."""


def retry_delay(attempts: int, scale: float = 1.0) -> float | None:
    """Wait before the next try after ``attempts`` failed ones; ``None``: give up.

    Each wait gets ±25 % jitter so that deliveries failing together (a receiver down) do not
    come back together.
    """
    if attempts > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempts - 1] * scale
    return base * random.uniform(0.75, 1.25)


@dataclass(frozen=True, slots=True)
class Sent:
    delivery_id: int
    message_id: str
    endpoint: str
    ok: bool
    status: int | None
    error: str | None
    final: bool  # no retry will follow


class DeliveryWorker:
    """One ``deliver_due`` claims, sends concurrently and marks; ``run`` repeats it."""

    def __init__(
        self,
        store: AlertStore,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        batch: int = 50,
    ) -> None:
        self.store = store
        self.settings = settings
        self.http = http
        self.batch = batch

    async def _send(self, c: Claimed) -> Attempt:
        if c.endpoint.kind == "email":
            return await send_email(self.settings, c.endpoint, c.event, c.delivery)
        return await send_webhook(self.http, c.endpoint, c.event, c.delivery)

    async def _one(self, c: Claimed) -> Sent:
        try:
            attempt = await self._send(c)
        except Exception as exc:  # a bug in one channel must not strand the others' claims
            log.exception("alert delivery %s failed unexpectedly", c.delivery.id)
            attempt = Attempt(ok=False, error=f"unexpected error: {type(exc).__name__}")
        now = utcnow()
        retry_at: datetime | None = None
        if not attempt.ok and not attempt.permanent and not attempt.gone:
            delay = retry_delay(c.delivery.attempts + 1, self.settings.alerts_retry_scale)
            if delay is not None:
                retry_at = now + timedelta(seconds=delay)
        await asyncio.to_thread(
            self.store.finish,
            c.delivery,
            now=now,
            ok=attempt.ok,
            status_code=attempt.status,
            error=attempt.error,
            retry_at=retry_at,
            disable_endpoint=attempt.gone,
        )
        if not attempt.ok:
            log.warning(
                "alert delivery %s to endpoint %s failed: %s",
                c.delivery.message_id,
                c.endpoint.id,
                attempt.error,
            )
        return Sent(
            c.delivery.id,
            c.delivery.message_id,
            endpoint_label(c.endpoint.kind, c.endpoint.target),
            attempt.ok,
            attempt.status,
            attempt.error,
            attempt.ok or retry_at is None,
        )

    async def deliver_due(self, only: Sequence[int] | None = None) -> list[Sent]:
        """Send everything due now (or only the deliveries ``only``), batch after batch."""
        results: list[Sent] = []
        lease = timedelta(seconds=self.settings.alerts_claim_seconds)
        # Due as of the start: a failure rescheduled during this round waits for the next one.
        start = utcnow()
        while True:
            claimed = await asyncio.to_thread(
                self.store.claim_due, now=start, lease=lease, limit=self.batch, only=only
            )
            if not claimed:
                return results
            results.extend(await asyncio.gather(*(self._one(c) for c in claimed)))

    async def run(self, stop: asyncio.Event, wake: asyncio.Event, *, idle: float = 5.0) -> None:
        """Deliver until ``stop``; ``wake`` (set after a batch made deliveries) cuts the wait."""
        while not stop.is_set():
            wake.clear()
            try:
                await self.deliver_due()
            except Exception:  # the database may be briefly unavailable; try again shortly
                log.exception("alert delivery round failed")
            wait = idle
            due = await asyncio.to_thread(self.store.next_due)
            if due is not None:
                wait = min(wait, max((due - utcnow()).total_seconds(), 0.05))
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            _done, pending = await asyncio.wait(
                waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
