"""Post rules see every post once, in commit order, with several writers on PostgreSQL.

Ids come from a sequence when a row is inserted, but transactions commit in any order: a batch
that took lower ids can become visible after a batch with higher ids was already evaluated. These
tests hold a batch's transaction open through the real writer (``goodwill.store.writer._write``),
store and evaluate another batch meanwhile, then commit, and check the late post is alerted
exactly once. SQLite has one writer at a time, so there the case cannot arise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, update

from goodwill.alerts import AlertService
from goodwill.alerts import evaluate as evaluate_module
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.pipeline.batch import ProcessedPost, TopicSpec, build_topic_index, process_batch
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore
from goodwill.store.db import writer
from goodwill.store.repository import Repository
from goodwill.store.tables import AlertEvent, AlertRule, Post
from goodwill.store.writer import _write
from tests.commit_order import all_at_once, settle

HOOK = "https://hooks.example.com/goodwill"
QUERY = "brightloaf"


def _raw(n: int, at: datetime) -> dict[str, Any]:
    return {
        "id": f"p{n}",
        "source": "mastodon",
        "text": f"Brightloaf post number {n}",
        "created_at": at.isoformat(),
        "author": {"id": f"u{n}", "handle": f"@user{n}", "followers": 10},
    }


class World:
    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.engine = repo.engine
        self.ws = repo.add_workspace("Brightloaf").id
        self.topic = repo.add_topic(self.ws, "brand", TopicKind.BRAND, QUERY).id
        self.alerts = AlertService(AlertStore(repo.engine), settings, allow_loopback=True)
        self.ingestor = Ingestor(repo, settings, after_batch=[self.alerts.after_batch])
        self.unhooked = Ingestor(repo, settings)  # stores without evaluating
        self.alerts.add_rule(
            self.ws, "all", "mention", topic="brand", webhooks=[(HOOK, "standard")]
        )

    def processed(self, raws: list[dict[str, Any]]) -> list[ProcessedPost]:
        index, problems = build_topic_index([TopicSpec(self.ws, self.topic, QUERY)])
        assert problems == []
        batch, problems = process_batch(
            [(f"item {i}", r) for i, r in enumerate(raws)], workspace_id=self.ws, index=index
        )
        assert problems == []
        return batch

    def ingest(self, raws: list[dict[str, Any]], *, hook: bool = True) -> None:
        ingestor = self.ingestor if hook else self.unhooked
        report = ingestor.ingest(self.ws, [(f"item {i}", r) for i, r in enumerate(raws)])
        assert report.problem_count == 0, report.problems

    def enable(self, enabled: bool) -> None:
        rule = self.alerts.store.rule(self.ws, "all")
        self.alerts.set_enabled(self.ws, rule.id, enabled)

    def alerted(self) -> list[str]:
        """External ids of the posts alerted, one entry per event (repeats would show)."""
        with self.repo.session() as s:
            return sorted(
                s.scalars(
                    select(Post.external_id)
                    .join(AlertEvent, AlertEvent.post_id == Post.id)
                    .where(AlertEvent.workspace_id == self.ws)
                )
            )

    def settle(self) -> None:
        settle(self.engine)


@pytest.fixture
def any_world(repo: Repository, settings: Settings) -> World:
    return World(repo, settings)


@pytest.fixture
def world(any_world: World) -> World:
    if any_world.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: ids become visible in order")
    return any_world


def _open_batch(engine: Engine, world: World, raws: list[dict[str, Any]]) -> Connection:
    """Write a batch through the real writer in a transaction left open (the caller commits)."""
    conn = writer(engine).connect()
    conn.begin()
    result = _write(conn, world.ws, world.processed(raws), None, None)
    assert result.inserted == len(raws)
    return conn


def test_a_post_committed_after_a_later_batch_was_evaluated_is_alerted_once(
    world: World,
) -> None:
    t = datetime.now(UTC).replace(microsecond=0)
    # Batch A takes the lower ids and stays uncommitted (another worker, a slow import).
    late = _open_batch(world.engine, world, [_raw(1, t - timedelta(hours=3))])
    try:
        # Batch B takes higher ids, commits first and is evaluated (its ingest hook runs).
        world.ingest([_raw(2, t), _raw(3, t)])
        world.alerts.evaluate(world.ws)
        assert "p1" not in world.alerted()  # not visible yet
        late.commit()
    finally:
        late.close()
    world.settle()
    world.alerts.evaluate(world.ws)
    world.alerts.tick()
    assert world.alerted() == ["p1", "p2", "p3"]


def test_a_rolled_back_batch_does_not_hold_alerts_back(world: World) -> None:
    t = datetime.now(UTC).replace(microsecond=0)
    lost = _open_batch(world.engine, world, [_raw(1, t - timedelta(hours=3))])
    try:
        world.ingest([_raw(2, t)])
        lost.rollback()
    finally:
        lost.close()
    world.settle()
    world.alerts.evaluate(world.ws)
    assert world.alerted() == ["p2"]


def test_two_evaluators_at_once_alert_each_post_once(world: World) -> None:
    t = datetime.now(UTC).replace(microsecond=0)
    held = _open_batch(world.engine, world, [_raw(n, t - timedelta(hours=2)) for n in range(20)])
    try:
        world.ingest([_raw(n, t) for n in range(20, 40)])
        held.commit()
    finally:
        held.close()
    world.settle()
    all_at_once(lambda: world.alerts.evaluate(world.ws))
    assert world.alerted() == sorted(f"p{n}" for n in range(40))


def test_chunks_never_split_a_transaction(
    any_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan goes a few posts at a time; a transaction bigger than a chunk is read whole,
    and its neighbours neither twice nor never (SQLite: by id, the same answer)."""
    world = any_world
    monkeypatch.setattr(evaluate_module, "SCAN_CHUNK", 3)
    world.enable(False)
    t = datetime.now(UTC).replace(microsecond=0)
    world.ingest([_raw(n, t - timedelta(hours=1)) for n in range(7)])  # one transaction
    for n in range(7, 12):
        world.ingest([_raw(n, t)])  # one each
    world.enable(True)  # watches from here on
    world.ingest([_raw(n, t - timedelta(hours=2)) for n in range(12, 19)], hook=False)
    for n in range(19, 24):
        world.ingest([_raw(n, t - timedelta(hours=4))], hook=False)
    world.ingest([_raw(n, t - timedelta(hours=5)) for n in range(24, 26)], hook=False)
    world.settle()
    world.alerts.evaluate(world.ws)
    assert world.alerted() == sorted(f"p{n}" for n in range(12, 26))


def test_posts_stored_before_the_upgrade_are_still_evaluated(world: World) -> None:
    """Posts stored by an older version have no transaction id: a rule that has not looked at
    them yet (its commit-order mark still 0) reads them by id first."""
    t = datetime.now(UTC).replace(microsecond=0)
    with world.repo.session() as s:
        rule_id = s.scalar(select(AlertRule.id).where(AlertRule.workspace_id == world.ws))
    world.ingest([_raw(1, t)])  # evaluated
    world.enable(False)
    world.ingest([_raw(2, t), _raw(3, t)])  # not evaluated: the rule is off
    with world.repo.session() as s, s.begin():
        newest_seen = s.scalar(select(Post.id).where(Post.external_id == "p1"))
        s.execute(update(Post).values(stored_xact=None))
        s.execute(
            update(AlertRule)
            .where(AlertRule.id == rule_id)
            .values(enabled=True, last_post_id=newest_seen, last_xact=0)
        )
    world.ingest([_raw(4, t)])
    world.settle()
    world.alerts.evaluate(world.ws)
    world.alerts.evaluate(world.ws)
    assert world.alerted() == ["p1", "p2", "p3", "p4"]
