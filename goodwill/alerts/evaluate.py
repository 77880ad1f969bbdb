"""Evaluating rules: new posts after each batch, and the scheduled checks on a tick.

Everything here is a function of the store and a ``now``: tests pass a time, the listener and
``goodwill alerts run`` pass the clock. Each rule's events, outbox rows and watermark are
written together (``AlertStore.record``), so evaluating twice is harmless and a crash between a
batch and its evaluation only delays the alert to the next evaluation.

Which posts are "new" to a rule. SQLite has one writer at a time (BEGIN IMMEDIATE), so ids
become visible in order and the rule's watermark is a post id. On PostgreSQL ids come from a
sequence at INSERT but several writers commit in any order: a batch holding ids 100-199 can
commit after 200-299 was evaluated, and an id watermark would skip it for good. There each post
stores the 64-bit id of the transaction that wrote it (``posts.stored_xact``, filled by the
column's default ``pg_current_xact_id()``), and a rule reads only posts of transactions below
the snapshot's xmin, the oldest transaction still running: every one below has committed or
rolled back, so nothing can appear there later. The watermark is then that xmin (commit order).

Weighed and not taken: a per-workspace queue of stored posts consumed with ``FOR UPDATE SKIP
LOCKED`` costs a write per post on every backend, SQLite's hot path included, and each rule
needs its own consumption record anyway; remembering the id gaps below the watermark cannot
tell a gap that will fill from an id the sequence lost to a rollback, so it needs an expiry,
and then a slow transaction loses posts again. Reading the ``xmin`` system column instead of a
stored column wraps around at 2^32 and changes when a row is updated. The cost of the design
taken: one indexed aggregate per tick, no write when nothing is new, and a long-running write
transaction anywhere on the server delays (never drops) alerts until it ends.

Two evaluators at once (workers): each rule's events are recorded under its row lock
(``AlertStore.record``), events are unique per ``(rule, post)``, and the watermark only moves
forward, so a post reaches each rule once however many evaluators overlap.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from goodwill.alerts.messages import digest_draft, post_draft
from goodwill.alerts.rules import (
    FREQUENCIES,
    POST_KINDS,
    RuleFilters,
    RuleParams,
    matches,
    needs_person,
)
from goodwill.alerts.schedule import latest_slot, parse_clock
from goodwill.store.alerts import AlertStore, EventDraft, Recorded, Speaker, mark_of
from goodwill.store.tables import AlertEvent, AlertRule

__all__ = ["Evaluation", "digest_due", "evaluate_new_posts", "evaluate_scheduled", "spike"]

SCAN_CHUNK = 5000


@dataclass(slots=True)
class Evaluation:
    events: int = 0
    held: int = 0
    deliveries: list[int] = field(default_factory=list)

    def add(self, r: Recorded) -> None:
        self.events += r.events
        self.held += r.held
        self.deliveries.extend(r.deliveries)


def _held(rule: AlertRule) -> bool:
    return rule.frequency != "now"


def _person(speaker: Speaker | None) -> dict[str, object]:
    if speaker is None:
        return {}
    return {
        "person": {
            "id": speaker.person_id,
            "name": speaker.name,
            "standing": speaker.standing,
            "advocate": speaker.advocate,
        }
    }


def evaluate_new_posts(
    store: AlertStore,
    workspace_id: int,
    now: datetime,
    *,
    refresh_people: Callable[[int], object] | None = None,
) -> Evaluation:
    """Run the workspace's post rules over the posts stored since each rule last looked.

    Rules that judge the author's person (advocate, detractor) first bring the workspace's
    people up to date with ``refresh_people`` (``People.sync``), after the newest post to look
    at is known: every post evaluated is already counted in its author's standing. If the
    refresh fails, the exception propagates before any watermark moves."""
    out = Evaluation()
    rules = [r for r in store.rules(workspace_id) if r.enabled and r.kind in POST_KINDS]
    if not rules:
        return out
    frontier = store.frontier(workspace_id)
    parsed = [
        (rule, RuleFilters.model_validate(rule.filters))
        for rule in rules
        if frontier.behind(mark_of(rule))
    ]
    # Only when a people rule has posts to judge: a tick with nothing new pays nothing.
    people = any(needs_person(r.kind, f) for r, f in parsed)
    if people and refresh_people is not None:
        refresh_people(workspace_id)
    topics = store.topic_names(workspace_id)
    for rule, filters in parsed:
        person = needs_person(rule.kind, filters)
        mark = mark_of(rule)
        while not frontier.reached(mark):
            posts, upto = store.next_posts(workspace_id, mark, frontier, rule.topic_id, SCAN_CHUNK)
            topic = topics.get(rule.topic_id) if rule.topic_id else None
            speakers = (
                store.speakers(
                    workspace_id, [(p.source, p.author_id) for p in posts if p.author_id]
                )
                if person
                else {}
            )
            drafts = []
            for p in posts:
                speaker = speakers.get((p.source, p.author_id or ""))
                if matches(rule.kind, filters, p, speaker):
                    drafts.append(post_draft(rule.kind, rule, p, topic, **_person(speaker)))
            out.add(
                store.record(
                    workspace_id, rule.id, drafts, now=now, watermark=upto, hold=_held(rule)
                )
            )
            mark = upto
    return out


@dataclass(frozen=True, slots=True)
class Spike:
    current: float
    mean: float
    std: float
    threshold: float
    count: int


def spike(series: Sequence[float], current: float, k: float) -> Spike | None:
    """``current`` against ``mean + k·std`` of the baseline ``series``; ``None`` if not above."""
    if not series:
        return None
    mean = statistics.fmean(series)
    std = statistics.pstdev(series) if len(series) > 1 else 0.0
    threshold = mean + k * std
    if current > threshold:
        return Spike(current, mean, std, threshold, 0)
    return None


def _spike_draft(
    store: AlertStore, rule: AlertRule, params: RuleParams, now: datetime
) -> EventDraft | None:
    assert rule.topic_id is not None
    bucket = timedelta(minutes=params.bucket_minutes)
    start = now - timedelta(hours=params.window_hours)
    rows = store.mention_series(rule.workspace_id, rule.topic_id, start, now)
    n = max(math.floor((now - start) / bucket), 2)
    counts = [0] * n
    negatives = [0] * n
    for at, label in rows:
        i = n - 1 - min(math.floor((now - at) / bucket), n - 1)
        counts[i] += 1
        negatives[i] += label == "negative"
    current = counts[-1]
    if current < params.min_volume:
        return None
    topic = store.topic_names(rule.workspace_id).get(rule.topic_id, "")
    if rule.kind == "volume_spike":
        found = spike([float(c) for c in counts[:-1]], float(current), params.k)
        if found is None:
            return None
        summary = (
            f"{current} mentions of {topic} in the last {params.bucket_minutes:g} minutes; "
            f"usually {found.mean:.1f} (threshold {found.threshold:.1f})."
        )
    else:
        shares = [neg / c for neg, c in zip(negatives[:-1], counts[:-1], strict=True) if c]
        found = spike(shares, negatives[-1] / current, params.k)
        if found is None:
            return None
        summary = (
            f"{found.current:.0%} of {current} mentions of {topic} in the last "
            f"{params.bucket_minutes:g} minutes are negative; usually {found.mean:.0%} "
            f"(threshold {found.threshold:.0%})."
        )
    what = "Volume" if rule.kind == "volume_spike" else "Negative share"
    return EventDraft(
        key=f"spike:{now.isoformat()}",
        kind=rule.kind,
        title=f"{what} spike: {topic}",
        payload={
            "rule": rule.name,
            "rule_kind": rule.kind,
            "topic": topic,
            "summary": summary,
            "count": current,
            "negative": negatives[-1],
            "value": found.current,
            "baseline_mean": found.mean,
            "baseline_std": found.std,
            "threshold": found.threshold,
            "bucket_minutes": params.bucket_minutes,
            "window_hours": params.window_hours,
        },
    )


def _check(store: AlertStore, rule: AlertRule, now: datetime) -> Recorded | None:
    params = RuleParams.model_validate(rule.params)
    hold = _held(rule)
    if rule.kind in ("volume_spike", "negative_spike"):
        cooldown = timedelta(hours=params.cooldown_hours)
        if rule.last_fired_at is not None and now - rule.last_fired_at < cooldown:
            return None
        draft = _spike_draft(store, rule, params, now)
        if draft is None:
            return None
        return store.record(rule.workspace_id, rule.id, [draft], now=now, fired=True, hold=hold)
    if rule.kind == "unanswered":
        sla = timedelta(hours=params.sla_hours)
        posts = store.open_questions(
            rule.workspace_id,
            topic_id=rule.topic_id,
            after_id=rule.last_post_id,
            asked_before=now - sla,
            asked_after=now - sla - timedelta(hours=params.lookback_hours),
        )
        if not posts:
            return None
        topic = store.topic_names(rule.workspace_id).get(rule.topic_id) if rule.topic_id else None
        drafts = [
            post_draft(
                "unanswered",
                rule,
                p,
                topic,
                sla_hours=params.sla_hours,
                waiting_hours=round((now - p.created_at).total_seconds() / 3600, 1),
            )
            for p in posts
        ]
        return store.record(rule.workspace_id, rule.id, drafts, now=now, hold=hold)
    return None


def digest_due(rule: AlertRule, params: RuleParams, now: datetime, zone: str) -> bool:
    """Daily and weekly digests with a ``digest_at`` go at that local time (in the rule's zone,
    else ``zone``, the workspace's); others once a period has passed since the last."""
    if params.digest_at is not None and rule.frequency in ("daily", "weekly"):
        at = parse_clock(params.digest_at)
        weekday = params.digest_weekday
        if rule.frequency == "weekly" and weekday is None:
            weekday = rule.created_at.astimezone(ZoneInfo(params.timezone or zone)).weekday()
        slot = latest_slot(now, at, params.timezone or zone, weekday)
        return rule.last_digest_at < slot
    period = timedelta(seconds=FREQUENCIES[rule.frequency])
    return now - rule.last_digest_at >= period


def _digest(store: AlertStore, rule: AlertRule, now: datetime) -> Recorded | None:
    params = RuleParams.model_validate(rule.params)
    zone = store.workspace_timezone(rule.workspace_id) if params.digest_at else "UTC"
    if not digest_due(rule, params, now, zone):
        return None

    def build(r: AlertRule, held: Sequence[AlertEvent]) -> EventDraft:
        return digest_draft(r, held, now)

    return store.digest(rule.workspace_id, rule.id, now=now, build=build)


def evaluate_scheduled(
    store: AlertStore, now: datetime, rules: Sequence[AlertRule] | None = None
) -> Evaluation:
    """Spikes, unanswered questions and due digests for every enabled rule (or ``rules``)."""
    out = Evaluation()
    for rule in store.all_rules() if rules is None else rules:
        for step in (_check, _digest):
            recorded = step(store, rule, now)
            if recorded is not None:
                out.add(recorded)
    return out
