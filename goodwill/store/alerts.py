"""Workspace-scoped reads and writes for alerts: rules, endpoints, events and the outbox.

The same gate as ``repository``: each function that reads user data names the workspace. The
two exceptions are the delivery worker's ``claim_due`` and the scheduler's ``all_rules``, which
serve every workspace of the install (like the listener's ``sources(None)``) and are never
called on behalf of a user.

Evaluation writes its events, their outbox rows and the rule's new watermark in ONE
transaction; uniqueness of ``(rule, key)`` and ``(event, endpoint)`` in the database makes a
second evaluation of the same posts, or a second worker, harmless.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goodwill.store.commit_order import (
    Frontier,
    Watermark,
    next_page,
    next_xact,
    read_frontier,
)
from goodwill.store.db import writer
from goodwill.store.people_tables import Person, PersonIdentity
from goodwill.store.repository import NotFound, StoreError
from goodwill.store.tables import (
    AlertDelivery,
    AlertEndpoint,
    AlertEvent,
    AlertFeed,
    AlertRule,
    AlertRuleEndpoint,
    Mention,
    Post,
    Topic,
    Workspace,
    utcnow,
)

__all__ = [
    "RETRY_FAILED_MAX_DAYS",
    "AlertStore",
    "Claimed",
    "EndpointSpec",
    "EventDraft",
    "Frontier",
    "LogRow",
    "Speaker",
    "Watermark",
    "mark_of",
    "new_webhook_secret",
]


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    kind: str  # email | webhook
    target: str
    format: str = "standard"  # webhooks: standard | slack


@dataclass(slots=True)
class EventDraft:
    key: str
    kind: str
    title: str
    payload: dict[str, Any]
    post_id: int | None = None


@dataclass(slots=True)
class Claimed:
    """A delivery this worker owns until ``claimed_until``, with what it needs to send it."""

    delivery: AlertDelivery
    event: AlertEvent
    endpoint: AlertEndpoint
    rule_name: str


@dataclass(slots=True)
class LogRow:
    delivery: AlertDelivery
    rule: str
    title: str
    endpoint: AlertEndpoint


@dataclass(frozen=True, slots=True)
class Speaker:
    """The person behind a post's author, as ``goodwill.people`` last computed them."""

    person_id: int
    name: str
    standing: str
    advocate: bool


def mark_of(rule: AlertRule) -> Watermark:
    return Watermark(rule.last_post_id, rule.last_xact)


def _start_marks(s: Session, workspace_id: int) -> tuple[int, int]:
    """A rule's watermark that watches posts stored from now on: (newest id, next xact)."""
    newest = s.scalar(select(func.max(Post.id)).where(Post.workspace_id == workspace_id))
    return int(newest or 0), next_xact(s.connection())


@dataclass(slots=True)
class Recorded:
    events: int = 0
    held: int = 0
    deliveries: list[int] = field(default_factory=list)


def _locked_rule(s: Session, workspace_id: int, rule_id: int) -> AlertRule:
    """The workspace's rule, locked for the transaction: changes and evaluations of one rule
    are serialised across processes (PostgreSQL; on SQLite the write transaction already does),
    so a key check after this sees the events another evaluation committed meanwhile."""
    rule = s.scalar(
        select(AlertRule)
        .where(AlertRule.workspace_id == workspace_id, AlertRule.id == rule_id)
        .with_for_update()
    )
    if rule is None:
        raise NotFound(f"no alert rule {rule_id} in this workspace")
    return rule


RETRY_FAILED_MAX_DAYS = 30
"""How far back re-enabling an endpoint may queue its failed deliveries again."""


def _enabled_endpoints() -> Any:
    return select(AlertEndpoint.id).where(AlertEndpoint.enabled.is_(True))


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def session(self, *, write: bool = False) -> Session:
        return Session(writer(self.engine) if write else self.engine, expire_on_commit=False)

    # -- rules --------------------------------------------------------------------------------
    def add_rule(
        self,
        workspace_id: int,
        *,
        name: str,
        kind: str,
        topic_id: int | None,
        filters: dict[str, Any],
        params: dict[str, Any],
        frequency: str,
        max_per_hour: int,
        endpoints: Sequence[EndpointSpec],
    ) -> AlertRule:
        """A new rule; it watches posts stored from now on (its watermark is the newest post)."""
        name = name.strip()
        if not name:
            raise StoreError("an alert rule needs a name")
        try:
            with self.session(write=True) as s, s.begin():
                if (
                    topic_id is not None
                    and s.scalar(
                        select(Topic.id).where(
                            Topic.id == topic_id, Topic.workspace_id == workspace_id
                        )
                    )
                    is None
                ):
                    raise NotFound(f"no topic {topic_id} in this workspace")
                newest, xact = _start_marks(s, workspace_id)
                rule = AlertRule(
                    workspace_id=workspace_id,
                    name=name,
                    kind=kind,
                    topic_id=topic_id,
                    filters=filters,
                    params=params,
                    frequency=frequency,
                    max_per_hour=max_per_hour,
                    last_post_id=newest,
                    last_xact=xact,
                    last_digest_at=utcnow(),
                )
                s.add(rule)
                s.flush()
                # A channel named twice is one endpoint, linked once: one delivery per event.
                for endpoint_id in dict.fromkeys(
                    self._endpoint(s, workspace_id, spec).id for spec in endpoints
                ):
                    s.add(AlertRuleEndpoint(rule_id=rule.id, endpoint_id=endpoint_id))
        except IntegrityError as exc:
            raise StoreError(f"this workspace already has an alert rule named {name!r}") from exc
        return rule

    def _endpoint(self, s: Session, workspace_id: int, spec: EndpointSpec) -> AlertEndpoint:
        """The workspace's endpoint for ``spec``, created (with a fresh secret) if new."""
        found = s.scalar(
            select(AlertEndpoint).where(
                AlertEndpoint.workspace_id == workspace_id,
                AlertEndpoint.kind == spec.kind,
                AlertEndpoint.target == spec.target,
                AlertEndpoint.format == spec.format,
            )
        )
        if found is not None:
            return found
        endpoint = AlertEndpoint(
            workspace_id=workspace_id,
            kind=spec.kind,
            target=spec.target,
            format=spec.format,
            secret=new_webhook_secret() if spec.kind == "webhook" else None,
        )
        s.add(endpoint)
        s.flush()
        return endpoint

    def rules(self, workspace_id: int) -> list[AlertRule]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(AlertRule)
                    .where(AlertRule.workspace_id == workspace_id)
                    .order_by(AlertRule.id)
                )
            )

    def rule(self, workspace_id: int, name: str) -> AlertRule:
        with self.session() as s:
            rule = s.scalar(
                select(AlertRule).where(
                    AlertRule.workspace_id == workspace_id, AlertRule.name == name
                )
            )
        if rule is None:
            raise NotFound(f"no alert rule named {name!r} in this workspace")
        return rule

    def remove_rule(self, workspace_id: int, name: str) -> None:
        rule = self.rule(workspace_id, name)
        with self.session(write=True) as s, s.begin():
            s.delete(s.get_one(AlertRule, rule.id))

    def rule_by_id(self, workspace_id: int, rule_id: int) -> AlertRule:
        with self.session() as s:
            rule = s.scalar(
                select(AlertRule).where(
                    AlertRule.workspace_id == workspace_id, AlertRule.id == rule_id
                )
            )
        if rule is None:
            raise NotFound(f"no alert rule {rule_id} in this workspace")
        return rule

    def update_rule(
        self,
        workspace_id: int,
        rule_id: int,
        *,
        name: str,
        topic_id: int | None,
        filters: dict[str, Any],
        params: dict[str, Any],
        frequency: str,
        max_per_hour: int,
        endpoints: Sequence[EndpointSpec],
    ) -> AlertRule:
        """Change a rule's settings and channels (its kind stays: its events mean that kind).

        The watermark, the digest period and the events already found stay as they are.
        Endpoints no rule uses any more stay in the workspace with their delivery history.
        """
        name = name.strip()
        if not name:
            raise StoreError("an alert rule needs a name")
        try:
            with self.session(write=True) as s, s.begin():
                rule = _locked_rule(s, workspace_id, rule_id)
                if (
                    topic_id is not None
                    and s.scalar(
                        select(Topic.id).where(
                            Topic.id == topic_id, Topic.workspace_id == workspace_id
                        )
                    )
                    is None
                ):
                    raise NotFound(f"no topic {topic_id} in this workspace")
                rule.name = name
                rule.topic_id = topic_id
                rule.filters = filters
                rule.params = params
                rule.frequency = frequency
                rule.max_per_hour = max_per_hour
                wanted = {self._endpoint(s, workspace_id, spec).id for spec in endpoints}
                linked = set(
                    s.scalars(
                        select(AlertRuleEndpoint.endpoint_id).where(
                            AlertRuleEndpoint.rule_id == rule_id
                        )
                    )
                )
                for endpoint_id in linked - wanted:
                    s.delete(s.get_one(AlertRuleEndpoint, (rule_id, endpoint_id)))
                for endpoint_id in wanted - linked:
                    s.add(AlertRuleEndpoint(rule_id=rule_id, endpoint_id=endpoint_id))
        except IntegrityError as exc:
            raise StoreError(f"this workspace already has an alert rule named {name!r}") from exc
        return rule

    def set_rule_enabled(self, workspace_id: int, rule_id: int, enabled: bool) -> AlertRule:
        """Switch a rule on or off. Switched back on, it watches posts from now on: what arrived
        while it was off is not alerted late."""
        with self.session(write=True) as s, s.begin():
            rule = _locked_rule(s, workspace_id, rule_id)
            if enabled and not rule.enabled:
                newest, xact = _start_marks(s, workspace_id)
                rule.last_post_id = max(rule.last_post_id, newest)
                rule.last_xact = max(rule.last_xact, xact)
            rule.enabled = enabled
        return rule

    def last_fired(self, workspace_id: int) -> dict[int, datetime]:
        """Rule id → when it last found something (test alerts do not count)."""
        with self.session() as s:
            return dict(
                s.execute(
                    select(AlertEvent.rule_id, func.max(AlertEvent.created_at))
                    .where(AlertEvent.workspace_id == workspace_id, AlertEvent.kind != "test")
                    .group_by(AlertEvent.rule_id)
                ).all()
            )

    def workspace_endpoints(self, workspace_id: int) -> list[AlertEndpoint]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(AlertEndpoint)
                    .where(AlertEndpoint.workspace_id == workspace_id)
                    .order_by(AlertEndpoint.id)
                )
            )

    def set_endpoint_enabled(
        self,
        workspace_id: int,
        endpoint_id: int,
        enabled: bool,
        *,
        retry_failed_days: int = 0,
    ) -> tuple[AlertEndpoint, int]:
        """Re-enable an endpoint (after a 410 was fixed on the receiver's side), or pause it;
        with the endpoint and how many failed deliveries were queued again.

        Paused, its waiting deliveries wait (the worker skips them) and go when it is back on.
        ``retry_failed_days`` (re-enabling only): its deliveries made in that many last days
        that were given up (the 410 itself, or retries run out) are queued again, each with a
        fresh retry schedule, under the same ``webhook-id`` (receivers that saw one drop it).
        Alerts raised while it was off were never queued for it: they stay in the feed."""
        if not 0 <= retry_failed_days <= RETRY_FAILED_MAX_DAYS:
            raise StoreError(f"retry_failed_days must be 0 to {RETRY_FAILED_MAX_DAYS}")
        now = utcnow()
        retried = 0
        with self.session(write=True) as s, s.begin():
            endpoint = s.scalar(
                select(AlertEndpoint)
                .where(AlertEndpoint.workspace_id == workspace_id, AlertEndpoint.id == endpoint_id)
                .with_for_update()
            )
            if endpoint is None:
                raise NotFound(f"no alert endpoint {endpoint_id} in this workspace")
            endpoint.enabled = enabled
            endpoint.disabled_reason = None if enabled else "switched off by a user"
            if enabled and retry_failed_days > 0:
                done = s.execute(
                    update(AlertDelivery)
                    .where(
                        AlertDelivery.workspace_id == workspace_id,
                        AlertDelivery.endpoint_id == endpoint_id,
                        AlertDelivery.status == "failed",
                        AlertDelivery.created_at >= now - timedelta(days=retry_failed_days),
                    )
                    .values(
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        claimed_until=None,
                        claim_token=None,
                    )
                )
                retried = int(getattr(done, "rowcount", 0) or 0)
        return endpoint, retried

    def all_rules(self) -> list[AlertRule]:
        """Every enabled rule of every workspace, for the scheduler (not user-facing)."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
                )
            )

    def endpoints(
        self, workspace_id: int, rule_ids: Sequence[int]
    ) -> dict[int, list[AlertEndpoint]]:
        """Rule id → its endpoints."""
        out: dict[int, list[AlertEndpoint]] = {r: [] for r in rule_ids}
        if not rule_ids:
            return out
        with self.session() as s:
            for rule_id, endpoint in s.execute(
                select(AlertRuleEndpoint.rule_id, AlertEndpoint)
                .join(AlertEndpoint, AlertEndpoint.id == AlertRuleEndpoint.endpoint_id)
                .where(
                    AlertEndpoint.workspace_id == workspace_id,
                    AlertRuleEndpoint.rule_id.in_(list(rule_ids)),
                )
                .order_by(AlertEndpoint.id)
            ):
                out[rule_id].append(endpoint)
        return out

    def topic_names(self, workspace_id: int) -> dict[int, str]:
        with self.session() as s:
            return dict(
                s.execute(
                    select(Topic.id, Topic.name).where(Topic.workspace_id == workspace_id)
                ).all()
            )

    # -- what rules look at -------------------------------------------------------------------
    def frontier(self, workspace_id: int) -> Frontier:
        """What post rules may read now: one or two indexed aggregates, no rows read."""
        with self.session() as s:
            return read_frontier(s.connection(), workspace_id)

    def next_posts(
        self,
        workspace_id: int,
        mark: Watermark,
        frontier: Frontier,
        topic_id: int | None,
        limit: int,
    ) -> tuple[list[Post], Watermark]:
        """The next posts past ``mark`` that a post rule looks at (originals, not the brand's
        own; of ``topic_id`` if given), about ``limit`` at a time, and the watermark once they
        are evaluated. In commit order, a transaction's posts never straddle two calls."""
        q = select(Post).where(
            Post.workspace_id == workspace_id,
            Post.duplicate_of.is_(None),
            Post.is_own.is_(False),
        )
        if topic_id is not None:
            q = q.where(
                select(Mention.post_id)
                .where(Mention.post_id == Post.id, Mention.topic_id == topic_id)
                .exists()
            )
        with self.session() as s:
            return next_page(lambda sel: list(s.scalars(sel)), q, mark, frontier, limit)

    def speakers(
        self, workspace_id: int, authors: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Speaker]:
        """``(source, author id)`` → the person of that identity in the workspace (one query
        per 500 authors; authors who are no person are absent)."""
        wanted = sorted(set(authors))
        out: dict[tuple[str, str], Speaker] = {}
        with self.session() as s:
            for i in range(0, len(wanted), 500):
                rows = s.execute(
                    select(
                        PersonIdentity.source,
                        PersonIdentity.author_id,
                        Person.id,
                        Person.name,
                        Person.standing,
                        Person.is_advocate,
                    )
                    .join(Person, Person.id == PersonIdentity.person_id)
                    .where(
                        PersonIdentity.workspace_id == workspace_id,
                        Person.workspace_id == workspace_id,
                        tuple_(PersonIdentity.source, PersonIdentity.author_id).in_(
                            wanted[i : i + 500]
                        ),
                    )
                )
                for source, author_id, pid, name, standing, advocate in rows:
                    out[(source, author_id)] = Speaker(pid, name, standing, bool(advocate))
        return out

    def mention_series(
        self, workspace_id: int, topic_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, str | None]]:
        """(time, sentiment label) of every mention of a topic in ``[start, end)``, repeats
        included: volume counts every voice."""
        label = Post.analysis["sentiment"]["label"].as_string()
        with self.session() as s:
            rows = s.execute(
                select(Mention.created_at, label)
                .join(Post, Post.id == Mention.post_id)
                .where(
                    Mention.workspace_id == workspace_id,
                    Mention.topic_id == topic_id,
                    Mention.created_at >= start,
                    Mention.created_at < end,
                )
            )
            return [(t, lab) for t, lab in rows]

    def open_questions(
        self,
        workspace_id: int,
        *,
        topic_id: int | None,
        after_id: int,
        asked_before: datetime,
        asked_after: datetime,
    ) -> list[Post]:
        """Posts asked in ``[asked_after, asked_before)``, stored after the rule began, that no
        own post answers (by ``in_reply_to`` or later in the same conversation)."""
        q = select(Post).where(
            Post.workspace_id == workspace_id,
            Post.id > after_id,
            Post.is_own.is_(False),
            Post.duplicate_of.is_(None),
            Post.created_at < asked_before,
            Post.created_at >= asked_after,
        )
        if topic_id is not None:
            q = q.where(
                select(Mention.post_id)
                .where(Mention.post_id == Post.id, Mention.topic_id == topic_id)
                .exists()
            )
        with self.session() as s:
            candidates = [
                p
                for p in s.scalars(q.order_by(Post.id))
                if (p.analysis or {}).get("intent", {}).get("label") == "question"
            ]
            if not candidates:
                return []
            ids = [p.external_id for p in candidates]
            threads = {p.conversation_id or p.external_id for p in candidates}
            replies = list(
                s.execute(
                    select(Post.in_reply_to, Post.conversation_id, Post.created_at).where(
                        Post.workspace_id == workspace_id,
                        Post.is_own.is_(True),
                        or_(Post.in_reply_to.in_(ids), Post.conversation_id.in_(list(threads))),
                    )
                )
            )
        answered: set[int] = set()
        for p in candidates:
            thread = p.conversation_id or p.external_id
            for in_reply_to, conversation, at in replies:
                if in_reply_to == p.external_id or (conversation == thread and at > p.created_at):
                    answered.add(p.id)
                    break
        return [p for p in candidates if p.id not in answered]

    # -- events and the outbox ----------------------------------------------------------------
    def record(
        self,
        workspace_id: int,
        rule_id: int,
        drafts: Sequence[EventDraft],
        *,
        now: datetime,
        watermark: Watermark | None = None,
        fired: bool = False,
        hold: bool = False,
        throttle: bool = True,
    ) -> Recorded:
        """Store new events of a rule with their outbox rows, in one transaction.

        Events whose key the rule already has are skipped. ``hold`` keeps them for the rule's
        next digest; beyond the rule's ``max_per_hour`` as-it-happens events are held too
        (``throttle``), so nothing is dropped. ``watermark`` moves the rule's watermark forward
        (never back); ``fired`` stamps ``last_fired_at`` (the cool-down of spikes).
        """
        out = Recorded()
        with self.session(write=True) as s, s.begin():
            rule = _locked_rule(s, workspace_id, rule_id)
            keys = [d.key for d in drafts]
            existing = set(
                s.scalars(
                    select(AlertEvent.key).where(
                        AlertEvent.rule_id == rule_id, AlertEvent.key.in_(keys)
                    )
                )
                if keys
                else []
            )
            budget = len(drafts)
            if throttle and not hold:
                recent = s.scalar(
                    select(func.count())
                    .select_from(AlertEvent)
                    .where(
                        AlertEvent.rule_id == rule_id,
                        AlertEvent.held.is_(False),
                        AlertEvent.digest_id.is_(None),
                        AlertEvent.created_at >= now - timedelta(hours=1),
                    )
                )
                budget = max(rule.max_per_hour - int(recent or 0), 0)
            endpoints = [
                e
                for e in s.scalars(
                    select(AlertEndpoint)
                    .join(AlertRuleEndpoint, AlertRuleEndpoint.endpoint_id == AlertEndpoint.id)
                    .where(AlertRuleEndpoint.rule_id == rule_id, AlertEndpoint.enabled.is_(True))
                )
            ]
            for draft in drafts:
                if draft.key in existing:
                    continue
                existing.add(draft.key)
                held = hold or budget <= 0
                event = AlertEvent(
                    workspace_id=workspace_id,
                    rule_id=rule_id,
                    key=draft.key,
                    kind=draft.kind,
                    post_id=draft.post_id,
                    title=draft.title,
                    payload=draft.payload,
                    held=held,
                    created_at=now,
                )
                s.add(event)
                out.events += 1
                if held:
                    out.held += 1
                    continue
                budget -= 1
                s.flush()
                out.deliveries.extend(self._deliveries(s, event, endpoints, now))
            if watermark is not None:
                # Only forward: a second evaluator that finished first keeps its progress.
                rule.last_post_id = max(rule.last_post_id, watermark.post_id)
                rule.last_xact = max(rule.last_xact, watermark.xact)
            if fired and out.events:
                rule.last_fired_at = now
        return out

    def _deliveries(
        self, s: Session, event: AlertEvent, endpoints: Sequence[AlertEndpoint], now: datetime
    ) -> list[int]:
        rows = [
            AlertDelivery(
                workspace_id=event.workspace_id,
                event_id=event.id,
                endpoint_id=e.id,
                message_id=f"msg_{uuid.uuid4().hex}",
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
            for e in endpoints
        ]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]

    def digest(self, workspace_id: int, rule_id: int, *, now: datetime, build: Any) -> Recorded:
        """Bundle the rule's held events into one digest event (``build(held) -> EventDraft``
        or ``None``), send it, and restart the digest period, in one transaction."""
        out = Recorded()
        with self.session(write=True) as s, s.begin():
            rule = _locked_rule(s, workspace_id, rule_id)
            held = list(
                s.scalars(
                    select(AlertEvent)
                    .where(AlertEvent.rule_id == rule_id, AlertEvent.held.is_(True))
                    .order_by(AlertEvent.id)
                )
            )
            rule.last_digest_at = now
            draft = build(rule, held) if held else None
            if draft is None:
                return out
            event = AlertEvent(
                workspace_id=workspace_id,
                rule_id=rule_id,
                key=draft.key,
                kind=draft.kind,
                title=draft.title,
                payload=draft.payload,
                created_at=now,
            )
            s.add(event)
            s.flush()
            for e in held:
                e.held = False
                e.digest_id = event.id
            endpoints = list(
                s.scalars(
                    select(AlertEndpoint)
                    .join(AlertRuleEndpoint, AlertRuleEndpoint.endpoint_id == AlertEndpoint.id)
                    .where(AlertRuleEndpoint.rule_id == rule_id, AlertEndpoint.enabled.is_(True))
                )
            )
            out.events = 1
            out.deliveries = self._deliveries(s, event, endpoints, now)
        return out

    def claim_due(
        self, *, now: datetime, lease: timedelta, limit: int, only: Sequence[int] | None = None
    ) -> list[Claimed]:
        """Claim up to ``limit`` due deliveries (any workspace) for ``lease``, in one transaction.

        Due: pending and past ``next_attempt_at``, or claimed by a worker whose lease ran out
        (it died mid-delivery). PostgreSQL workers skip rows another worker has locked; SQLite
        takes the write lock up front, so two workers never claim the same row.
        """
        token = uuid.uuid4().hex
        due = or_(
            and_(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now),
            and_(AlertDelivery.status == "sending", AlertDelivery.claimed_until <= now),
        )
        # A paused endpoint's deliveries wait for it to be switched back on.
        q = select(AlertDelivery).where(due, AlertDelivery.endpoint_id.in_(_enabled_endpoints()))
        if only is not None:
            q = q.where(AlertDelivery.id.in_(list(only)))
        q = q.order_by(AlertDelivery.next_attempt_at, AlertDelivery.id).limit(limit)
        with self.session(write=True) as s, s.begin():
            rows = list(s.scalars(q.with_for_update(skip_locked=True)))
            for d in rows:
                d.status = "sending"
                d.claimed_until = now + lease
                d.claim_token = token
            if not rows:
                return []
            events = {
                e.id: e
                for e in s.scalars(
                    select(AlertEvent).where(AlertEvent.id.in_({d.event_id for d in rows}))
                )
            }
            endpoints = {
                e.id: e
                for e in s.scalars(
                    select(AlertEndpoint).where(AlertEndpoint.id.in_({d.endpoint_id for d in rows}))
                )
            }
            names = dict(
                s.execute(
                    select(AlertRule.id, AlertRule.name).where(
                        AlertRule.id.in_({e.rule_id for e in events.values()})
                    )
                ).all()
            )
        return [
            Claimed(
                d, events[d.event_id], endpoints[d.endpoint_id], names[events[d.event_id].rule_id]
            )
            for d in rows
        ]

    def finish(
        self,
        delivery: AlertDelivery,
        *,
        now: datetime,
        ok: bool,
        status_code: int | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
        disable_endpoint: bool = False,
    ) -> bool:
        """Record one attempt of a claimed delivery; ``False`` if the claim was lost meanwhile.

        Sent: marked once the receiver acknowledged. Failed with ``retry_at``: pending again.
        Failed without: given up. ``disable_endpoint`` (HTTP 410) switches the endpoint off and
        gives up its other waiting deliveries.
        """
        values: dict[str, Any] = {
            "attempts": AlertDelivery.attempts + 1,
            "last_status": status_code,
            "last_error": error,
            "claimed_until": None,
            "claim_token": None,
        }
        if ok:
            values.update(status="sent", sent_at=now)
        elif retry_at is not None:
            values.update(status="pending", next_attempt_at=retry_at)
        else:
            values.update(status="failed")
        with self.session(write=True) as s, s.begin():
            done = s.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == delivery.id,
                    AlertDelivery.claim_token == delivery.claim_token,
                )
                .values(values)
            )
            if disable_endpoint:
                s.execute(
                    update(AlertEndpoint)
                    .where(AlertEndpoint.id == delivery.endpoint_id)
                    .values(enabled=False, disabled_reason=error)
                )
                s.execute(
                    update(AlertDelivery)
                    .where(
                        AlertDelivery.endpoint_id == delivery.endpoint_id,
                        AlertDelivery.status == "pending",
                    )
                    .values(status="failed", last_error=f"endpoint disabled: {error}")
                )
        return bool(getattr(done, "rowcount", 0))

    def next_due(self) -> datetime | None:
        """When the earliest waiting delivery falls due (any workspace)."""
        with self.session() as s:
            return s.scalar(
                select(func.min(AlertDelivery.next_attempt_at)).where(
                    AlertDelivery.status == "pending",
                    AlertDelivery.endpoint_id.in_(_enabled_endpoints()),
                )
            )

    # -- reading back -------------------------------------------------------------------------
    def delivery_log(
        self,
        workspace_id: int,
        *,
        limit: int = 50,
        rule: str | None = None,
        status: str | None = None,
        endpoint_id: int | None = None,
        before_id: int | None = None,
    ) -> list[LogRow]:
        """Outbox rows, newest first; ``before_id`` pages back (keyset, stable under inserts)."""
        q = (
            select(AlertDelivery, AlertRule.name, AlertEvent.title, AlertEndpoint)
            .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id)
            .join(AlertRule, AlertRule.id == AlertEvent.rule_id)
            .join(AlertEndpoint, AlertEndpoint.id == AlertDelivery.endpoint_id)
            .where(AlertDelivery.workspace_id == workspace_id)
            .order_by(AlertDelivery.id.desc())
            .limit(limit)
        )
        if rule is not None:
            q = q.where(AlertRule.name == rule)
        if status is not None:
            q = q.where(AlertDelivery.status == status)
        if endpoint_id is not None:
            q = q.where(AlertDelivery.endpoint_id == endpoint_id)
        if before_id is not None:
            q = q.where(AlertDelivery.id < before_id)
        with self.session() as s:
            return [LogRow(d, name, title, e) for d, name, title, e in s.execute(q)]

    def events(self, workspace_id: int, *, limit: int = 50) -> list[tuple[AlertEvent, str]]:
        """Alerts as sent (as-it-happens events and digests, newest first), with rule names."""
        with self.session() as s:
            return list(
                s.execute(
                    select(AlertEvent, AlertRule.name)
                    .join(AlertRule, AlertRule.id == AlertEvent.rule_id)
                    .where(
                        AlertEvent.workspace_id == workspace_id,
                        AlertEvent.held.is_(False),
                        AlertEvent.digest_id.is_(None),
                    )
                    .order_by(AlertEvent.id.desc())
                    .limit(limit)
                )
            )

    def feed_token(self, workspace_id: int, *, rotate: bool = False) -> str:
        with self.session(write=True) as s, s.begin():
            feed = s.get(AlertFeed, workspace_id)
            if feed is None:
                feed = AlertFeed(workspace_id=workspace_id, token=secrets.token_urlsafe(32))
                s.add(feed)
            elif rotate:
                feed.token = secrets.token_urlsafe(32)
            return feed.token

    def workspace_timezone(self, workspace_id: int) -> str:
        """The IANA time zone of the workspace's digests."""
        with self.session() as s:
            zone = s.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id))
        if zone is None:
            raise NotFound(f"no workspace {workspace_id}")
        return zone

    def set_workspace_timezone(self, workspace_id: int, zone: str) -> None:
        """``zone`` must be checked by the caller (``alerts.schedule.check_timezone``)."""
        with self.session(write=True) as s, s.begin():
            s.execute(update(Workspace).where(Workspace.id == workspace_id).values(timezone=zone))

    def existing_feed_token(self, workspace_id: int) -> str | None:
        """The feed token if one was made (reading it creates nothing)."""
        with self.session() as s:
            feed = s.get(AlertFeed, workspace_id)
        return feed.token if feed is not None else None

    def workspace_of_feed(self, token: str) -> int | None:
        with self.session() as s:
            feed = s.scalar(select(AlertFeed).where(AlertFeed.token == token))
        if feed is None or not secrets.compare_digest(feed.token, token):
            return None
        return feed.workspace_id
