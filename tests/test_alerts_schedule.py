"""Digests at a fixed local time: daily at HH:MM and weekly on a weekday, in the workspace's or
the rule's time zone, driven by a controllable clock across changes to and from summer time,
on the real store (the scheduler's own ``evaluate_scheduled``)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from goodwill.alerts import AlertService, RuleError
from goodwill.alerts.evaluate import evaluate_scheduled
from goodwill.alerts.schedule import check_timezone, latest_slot, parse_clock
from goodwill.domain import TopicKind
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore, EventDraft
from goodwill.store.repository import Repository
from goodwill.store.tables import AlertEvent, AlertRule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Clock:
    """The scheduler's ticks, every ``step`` from ``start`` to ``end``, on the real store."""

    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.store = AlertStore(repo.engine)
        self.alerts = AlertService(self.store, settings)
        self.ws = repo.add_workspace("Brightloaf").id
        repo.add_topic(self.ws, "brand", TopicKind.BRAND, "brightloaf")

    def rule(self, name: str, frequency: str, since: datetime, **params: Any) -> int:
        view = self.alerts.add_rule(
            self.ws,
            name,
            "mention",
            topic="brand",
            frequency=frequency,
            params=params,
            emails=["care@b.example"],
        )
        with Session(self.repo.engine) as s, s.begin():
            s.execute(
                update(AlertRule)
                .where(AlertRule.id == view.rule.id)
                .values(created_at=since, last_digest_at=since)
            )
        return view.rule.id

    def run(
        self, start: datetime, end: datetime, step: timedelta, fine: int | None = None
    ) -> dict[int, list[datetime]]:
        """Tick from ``start`` to ``end`` every ``step`` (on weekday ``fine`` only: the other
        days every 6 hours, to keep a three-week run short). Returns rule id → the moments its
        digest came due (the scheduler restarts a rule's period exactly then, alerts or not)."""
        out: dict[int, list[datetime]] = {}
        last = {r.id: r.last_digest_at for r in self.store.all_rules()}
        now = start
        while now <= end:
            if fine is not None and now.weekday() != fine and now.hour % 6 != 0:
                now += step
                continue
            evaluate_scheduled(self.store, now)
            for rule in self.store.all_rules():
                if rule.last_digest_at != last.get(rule.id):
                    out.setdefault(rule.id, []).append(rule.last_digest_at)
                    last[rule.id] = rule.last_digest_at
            now += step
        return out

    def hold(self, rule_id: int, key: str, at: datetime) -> None:
        draft = EventDraft(key=key, kind="mention", title=key, payload={"summary": key})
        self.store.record(self.ws, rule_id, [draft], now=at, hold=True)

    def digests(self, rule_id: int) -> list[tuple[datetime, int]]:
        with Session(self.repo.engine) as s:
            digests = s.execute(
                select(AlertEvent.created_at, AlertEvent.id)
                .where(AlertEvent.rule_id == rule_id, AlertEvent.kind == "digest")
                .order_by(AlertEvent.id)
            ).all()
            return [
                (
                    at,
                    int(
                        s.scalar(
                            select(func.count())
                            .select_from(AlertEvent)
                            .where(AlertEvent.digest_id == digest_id)
                        )
                        or 0
                    ),
                )
                for at, digest_id in digests
            ]


@pytest.fixture
def clock(repo: Repository, settings: Settings) -> Clock:
    return Clock(repo, settings)


def test_daily_at_nine_paris_across_the_spring_change(clock: Clock) -> None:
    # Europe/Paris moves from UTC+1 to UTC+2 on Sunday 29 March 2026 at 02:00.
    clock.store.set_workspace_timezone(clock.ws, "Europe/Paris")
    rule = clock.rule("morning", "daily", utc(2026, 3, 27, 12), digest_at="09:00")
    clock.hold(rule, "before the first", utc(2026, 3, 27, 13))
    fired = clock.run(utc(2026, 3, 27, 12), utc(2026, 3, 29, 0), timedelta(minutes=15))
    clock.hold(rule, "on the day of the change", utc(2026, 3, 29, 1))
    clock.hold(rule, "and another", utc(2026, 3, 29, 2))
    for rule_id, times in clock.run(
        utc(2026, 3, 29, 0, 15), utc(2026, 3, 31, 12), timedelta(minutes=15)
    ).items():
        fired.setdefault(rule_id, []).extend(times)
    assert fired[rule] == [
        utc(2026, 3, 28, 8),  # 09:00 CET
        utc(2026, 3, 29, 7),  # 09:00 CEST: one hour earlier in UTC, still 09:00 on the wall
        utc(2026, 3, 30, 7),
        utc(2026, 3, 31, 7),
    ]
    # Digests carry what was held; a day with nothing held sends nothing.
    assert clock.digests(rule) == [(utc(2026, 3, 28, 8), 1), (utc(2026, 3, 29, 7), 2)]


def test_weekly_on_monday_new_york_across_the_autumn_change(clock: Clock) -> None:
    # America/New_York moves from UTC-4 to UTC-5 on Sunday 1 November 2026.
    since = utc(2026, 10, 20, 0, 30)
    rule = clock.rule(
        "weekly",
        "weekly",
        since,
        digest_at="08:30",
        digest_weekday=0,
        timezone="America/New_York",  # the rule's own zone; the workspace stays UTC
    )
    fired = clock.run(since, utc(2026, 11, 10), timedelta(hours=1), fine=0)
    assert fired[rule] == [
        utc(2026, 10, 26, 12, 30),  # Monday 08:30 EDT
        utc(2026, 11, 2, 13, 30),  # Monday 08:30 EST
        utc(2026, 11, 9, 13, 30),
    ]
    assert [d.astimezone(ZoneInfo("America/New_York")).weekday() for d in fired[rule]] == [0] * 3


def test_a_time_the_clocks_skip_and_one_that_happens_twice(clock: Clock) -> None:
    clock.store.set_workspace_timezone(clock.ws, "Europe/Paris")
    since = utc(2026, 3, 28, 12)
    skipped = clock.rule("skipped", "daily", since, digest_at="02:30")  # 29 March: no 02:30
    since_autumn = utc(2026, 10, 24, 12)
    twice = clock.rule("twice", "daily", since_autumn, digest_at="02:30")  # 25 Oct: two 02:30s
    spring = clock.run(since, utc(2026, 3, 30, 12), timedelta(minutes=15))
    # 02:30 on the earlier offset (UTC+1) is 01:30 UTC, which the wall clock shows as 03:30.
    assert spring[skipped] == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    autumn = clock.run(since_autumn, utc(2026, 10, 26, 12), timedelta(minutes=15))
    # Once, at the first 02:30 (still UTC+2), not again an hour later.
    assert autumn[twice] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_without_a_time_digests_keep_their_period(clock: Clock) -> None:
    rule = clock.rule("every24h", "daily", utc(2026, 3, 27, 10, 7))
    fired = clock.run(utc(2026, 3, 27, 10, 7), utc(2026, 3, 29, 12), timedelta(minutes=15))
    assert fired[rule] == [utc(2026, 3, 28, 10, 7), utc(2026, 3, 29, 10, 7)]


def test_the_workspace_zone_change_moves_the_next_digest(clock: Clock) -> None:
    rule = clock.rule("morning", "daily", utc(2026, 6, 1, 12), digest_at="09:00")
    first = clock.run(utc(2026, 6, 1, 12), utc(2026, 6, 2, 12), timedelta(minutes=15))
    assert first[rule] == [utc(2026, 6, 2, 9)]  # UTC
    clock.store.set_workspace_timezone(clock.ws, "Asia/Tokyo")  # UTC+9, no summer time
    second = clock.run(utc(2026, 6, 2, 12, 15), utc(2026, 6, 4, 1), timedelta(minutes=15))
    assert second[rule] == [utc(2026, 6, 3, 0), utc(2026, 6, 4, 0)]


@pytest.mark.parametrize(
    ("frequency", "params", "message"),
    [
        ("daily", {"digest_at": "9am"}, "'9am' is not a time of day: write it as HH:MM"),
        ("daily", {"digest_at": "24:00"}, "is not a time of day"),
        ("now", {"digest_at": "09:00"}, "a digest time is for daily and weekly digests"),
        ("daily", {"digest_at": "09:00", "digest_weekday": 1}, "a weekday is for weekly"),
        ("weekly", {"digest_weekday": 1}, "needs its time of day"),
        ("weekly", {"digest_at": "09:00", "digest_weekday": 7}, "less than or equal to 6"),
        ("daily", {"digest_at": "09:00", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_schedules_are_refused(
    clock: Clock, frequency: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(")):
        clock.alerts.add_rule(
            clock.ws,
            "x",
            "mention",
            topic="brand",
            frequency=frequency,
            params=params,
            emails=["a@b.example"],
        )


def test_pure_helpers() -> None:
    assert parse_clock(" 07:05 ") == time(7, 5)
    assert check_timezone("utc") == "UTC"
    with pytest.raises(ValueError, match="unknown time zone 'Paris'"):
        check_timezone("Paris")
    now = utc(2026, 3, 29, 6, 59)
    assert latest_slot(now, time(9), "Europe/Paris") == utc(2026, 3, 28, 8)
    assert latest_slot(now + timedelta(minutes=1), time(9), "Europe/Paris") == utc(2026, 3, 29, 7)
    assert latest_slot(utc(2026, 3, 29), time(9), "UTC", weekday=2) == utc(2026, 3, 25, 9)
