"""The alerts service: what the CLI, the web layer and the listener call.

* rules: ``add_rule``, ``rules``, ``remove_rule``, ``send_test``; the delivery log: ``log``;
* the ingest hook ``after_batch`` evaluates post rules for a workspace's new posts and wakes
  the delivery worker;
* ``tick`` runs the scheduled checks (spikes, unanswered questions, digests), and ``run``
  delivers and ticks until stopped (the embedded mode inside ``goodwill listen``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from goodwill.alerts.channels import check_email, endpoint_label, masked_secret
from goodwill.alerts.deliver import DeliveryWorker, Sent
from goodwill.alerts.evaluate import Evaluation, evaluate_new_posts, evaluate_scheduled
from goodwill.alerts.rules import RuleError, validate_rule
from goodwill.net import refuse_internal
from goodwill.people import People
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore, EndpointSpec, EventDraft, LogRow
from goodwill.store.repository import Repository, StoreError
from goodwill.store.tables import AlertEndpoint, AlertRule, utcnow

__all__ = ["AlertService", "RuleView"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RuleView:
    rule: AlertRule
    topic: str | None
    endpoints: list[AlertEndpoint]

    def as_dict(self, *, secrets: bool = False, masked: bool = False) -> dict[str, Any]:
        """``secrets``: chat URLs and signing secrets in full (for whoever just created them,
        or asked for them by name); ``masked``: the secrets' last characters only."""
        r = self.rule
        return {
            "name": r.name,
            "kind": r.kind,
            "topic": self.topic,
            "filters": r.filters,
            "params": r.params,
            "frequency": r.frequency,
            "max_per_hour": r.max_per_hour,
            "enabled": r.enabled,
            "endpoints": [
                {
                    "kind": e.kind,
                    # Chat webhook URLs hold a secret in their path: shown with the secrets.
                    "target": e.target if secrets else endpoint_label(e.kind, e.target),
                    "format": e.format,
                    "enabled": e.enabled,
                    "disabled_reason": e.disabled_reason,
                    **({"secret": e.secret} if secrets and e.secret else {}),
                    **(
                        {"secret": masked_secret(e.secret)}
                        if masked and not secrets and e.secret
                        else {}
                    ),
                }
                for e in self.endpoints
            ],
        }


class AlertService:
    def __init__(
        self, store: AlertStore, settings: Settings, *, allow_loopback: bool = False
    ) -> None:
        """``allow_loopback`` lets rules name webhooks on 127.0.0.1 (tests with a local
        receiver, as ``make_client``'s flag of the same name); ``http_allow_private`` opens it
        for an install."""
        self.store = store
        self.settings = settings
        self.allow_loopback = allow_loopback
        self._wake: Callable[[], None] | None = None
        # Author rules on advocates and detractors judge the author's person: evaluation
        # first brings the workspace's people up to date (only what is new since last time).
        self.people = People(Repository(store.engine), settings)

    # -- rules --------------------------------------------------------------------------------
    def _prepare(
        self,
        workspace_id: int,
        kind: str,
        topic: str | None,
        filters: dict[str, Any] | None,
        params: dict[str, Any] | None,
        frequency: str,
        max_per_hour: int,
        emails: Sequence[str],
        webhooks: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        """Everything a rule's save needs, validated; ``RuleError`` names what is wrong."""
        topic_id = None
        if topic is not None:
            by_name = {v: k for k, v in self.store.topic_names(workspace_id).items()}
            if topic not in by_name:
                raise RuleError(f"no topic named {topic!r} in this workspace")
            topic_id = by_name[topic]
        f, p = validate_rule(kind, frequency, topic_id, filters or {}, params or {})
        if max_per_hour < 1:
            raise RuleError("max_per_hour must be at least 1")
        if not emails and not webhooks:
            raise RuleError("a rule needs at least one channel: an email address or a webhook")
        endpoints = []
        try:
            endpoints += [EndpointSpec("email", check_email(a)) for a in emails]
            for url, fmt in webhooks:
                if fmt not in ("standard", "slack"):
                    raise RuleError(f"unknown webhook format {fmt!r} (use standard or slack)")
                # Visibly internal targets are refused now; host names on each connection.
                clean = refuse_internal(
                    url,
                    allow_private=self.settings.http_allow_private,
                    allow_loopback=self.allow_loopback,
                )
                endpoints.append(EndpointSpec("webhook", clean, fmt))
        except ValueError as exc:
            raise RuleError(str(exc)) from None
        return {
            "topic_id": topic_id,
            "filters": f.model_dump(exclude_defaults=True),
            "params": p.model_dump(exclude_defaults=True),
            "frequency": frequency,
            "max_per_hour": max_per_hour,
            "endpoints": endpoints,
        }

    def add_rule(
        self,
        workspace_id: int,
        name: str,
        kind: str,
        *,
        topic: str | None = None,
        filters: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        frequency: str = "now",
        max_per_hour: int = 20,
        emails: Sequence[str] = (),
        webhooks: Sequence[tuple[str, str]] = (),
    ) -> RuleView:
        """Validate and save a rule with its endpoints (``webhooks``: (URL, format) pairs)."""
        values = self._prepare(
            workspace_id,
            kind,
            topic,
            filters,
            params,
            frequency,
            max_per_hour,
            emails,
            webhooks,
        )
        rule = self.store.add_rule(workspace_id, name=name, kind=kind, **values)
        return self._views(workspace_id, [rule])[0]

    def update_rule(
        self,
        workspace_id: int,
        rule_id: int,
        name: str,
        *,
        topic: str | None = None,
        filters: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        frequency: str = "now",
        max_per_hour: int = 20,
        emails: Sequence[str] = (),
        webhooks: Sequence[tuple[str, str]] = (),
    ) -> RuleView:
        """Replace a rule's settings and channels, validated as for a new rule (same kind)."""
        kind = self.store.rule_by_id(workspace_id, rule_id).kind
        values = self._prepare(
            workspace_id,
            kind,
            topic,
            filters,
            params,
            frequency,
            max_per_hour,
            emails,
            webhooks,
        )
        rule = self.store.update_rule(workspace_id, rule_id, name=name, **values)
        return self._views(workspace_id, [rule])[0]

    def set_enabled(self, workspace_id: int, rule_id: int, enabled: bool) -> RuleView:
        rule = self.store.set_rule_enabled(workspace_id, rule_id, enabled)
        return self._views(workspace_id, [rule])[0]

    def _views(self, workspace_id: int, rules: Sequence[AlertRule]) -> list[RuleView]:
        topics = self.store.topic_names(workspace_id)
        endpoints = self.store.endpoints(workspace_id, [r.id for r in rules])
        return [
            RuleView(r, topics.get(r.topic_id) if r.topic_id else None, endpoints[r.id])
            for r in rules
        ]

    def rules(self, workspace_id: int) -> list[RuleView]:
        return self._views(workspace_id, self.store.rules(workspace_id))

    def rule(self, workspace_id: int, name: str) -> RuleView:
        return self._views(workspace_id, [self.store.rule(workspace_id, name)])[0]

    def rule_by_id(self, workspace_id: int, rule_id: int) -> RuleView:
        return self._views(workspace_id, [self.store.rule_by_id(workspace_id, rule_id)])[0]

    def remove_rule(self, workspace_id: int, name: str) -> None:
        self.store.remove_rule(workspace_id, name)

    def log(
        self,
        workspace_id: int,
        *,
        limit: int = 50,
        rule: str | None = None,
        status: str | None = None,
        endpoint_id: int | None = None,
        before_id: int | None = None,
    ) -> list[LogRow]:
        return self.store.delivery_log(
            workspace_id,
            limit=limit,
            rule=rule,
            status=status,
            endpoint_id=endpoint_id,
            before_id=before_id,
        )

    # -- evaluation ---------------------------------------------------------------------------
    def set_waker(self, wake: Callable[[], None] | None) -> None:
        """``wake`` is called (from any thread) when new deliveries wait."""
        self._wake = wake

    def _refresh_people(self, workspace_id: int) -> None:
        self.people.sync(workspace_id)

    def evaluate(self, workspace_id: int, now: datetime | None = None) -> Evaluation:
        result = evaluate_new_posts(
            self.store, workspace_id, now or utcnow(), refresh_people=self._refresh_people
        )
        if result.deliveries and self._wake is not None:
            self._wake()
        return result

    def after_batch(self, workspace_id: int, inserted: int) -> None:
        """The ingest hook: new posts were stored. An alert failure never fails an ingest:
        the rule's watermark stays, so the next batch or tick evaluates these posts again."""
        if inserted <= 0:
            return
        try:
            self.evaluate(workspace_id)
        except (StoreError, OSError, ValueError) as exc:
            log.warning("alert evaluation for workspace %s failed: %s", workspace_id, exc)
        except Exception:
            log.exception("alert evaluation for workspace %s failed", workspace_id)

    def tick(self, now: datetime | None = None) -> Evaluation:
        """Scheduled checks of every workspace (spikes, unanswered questions, digests), and the
        post rules of every workspace in case a batch's hook did not run (a crash)."""
        now = now or utcnow()
        result = evaluate_scheduled(self.store, now)
        for workspace_id in {r.workspace_id for r in self.store.all_rules()}:
            extra = evaluate_new_posts(
                self.store, workspace_id, now, refresh_people=self._refresh_people
            )
            result.events += extra.events
            result.held += extra.held
            result.deliveries.extend(extra.deliveries)
        if result.deliveries and self._wake is not None:
            self._wake()
        return result

    def make_test(self, workspace_id: int, name: str) -> list[int]:
        """A test event through the rule's real channels; returns its delivery ids."""
        rule = self.store.rule(workspace_id, name)
        now = utcnow()
        draft = EventDraft(
            key=f"test:{now.isoformat()}",
            kind="test",
            title=f"Test alert for rule {rule.name}",
            payload={
                "rule": rule.name,
                "rule_kind": rule.kind,
                "message": "This is a test alert from Goodwill: this channel works.",
            },
        )
        recorded = self.store.record(workspace_id, rule.id, [draft], now=now, throttle=False)
        if not recorded.deliveries:
            raise StoreError(f"rule {name!r} has no enabled channel to test")
        return recorded.deliveries

    # -- delivery -----------------------------------------------------------------------------
    def worker(self, http: httpx.AsyncClient) -> DeliveryWorker:
        return DeliveryWorker(self.store, self.settings, http)

    async def send_test(self, workspace_id: int, name: str, http: httpx.AsyncClient) -> list[Sent]:
        ids = await asyncio.to_thread(self.make_test, workspace_id, name)
        return await self.worker(http).deliver_due(only=ids)

    async def run(self, stop: asyncio.Event, http: httpx.AsyncClient, *, idle: float = 5.0) -> None:
        """Deliver as deliveries appear and tick on schedule, until ``stop`` (embedded mode).

        New deliveries wake the worker at once; ``idle`` is how often it looks anyway (for
        retries falling due, and deliveries made by other processes)."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def waker() -> None:
            loop.call_soon_threadsafe(wake.set)

        self.set_waker(waker)
        delivering = asyncio.create_task(self.worker(http).run(stop, wake, idle=idle))
        try:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(self.tick)
                except Exception:
                    log.exception("scheduled alert checks failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.alerts_tick_seconds)
        finally:
            self.set_waker(None)
            stop.set()
            await delivering
