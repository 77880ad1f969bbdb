"""People sync absorbs every post once, in commit order, with several writers on PostgreSQL.

Ids come from a sequence when a row is inserted, but transactions commit in any order: a batch
that took lower ids can become visible after a batch with higher ids was already synced. These
tests hold a batch's transaction open through the real writer (``goodwill.store.writer._write``),
store and sync another batch meanwhile, then commit, and check the late posts count, once, in
their author's counts and standing. SQLite has one writer at a time, so there the case cannot
arise; the tests that make sense there run on both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select, update

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.people import People
from goodwill.pipeline.analyse import default_analyzers
from goodwill.pipeline.batch import ProcessedPost, TopicSpec, build_topic_index, process_batch
from goodwill.settings import Settings
from goodwill.store.corrections import corrected
from goodwill.store.db import writer
from goodwill.store.people_tables import DetractorCase, PeopleState, Person, PersonIdentity
from goodwill.store.repository import Repository
from goodwill.store.rollups import kept_exact
from goodwill.store.tables import Correction, Post
from goodwill.store.writer import _write
from tests.commit_order import all_at_once, settle

QUERY = "brightloaf"
NEGATIVE = [
    "Brightloaf ruined my order again, the bread was stale and moldy. Awful, never again.",
    "Still furious at Brightloaf: rude staff, terrible service, a total waste of money.",
]
POSITIVE = "Brightloaf sorted it all out, thank you so much, wonderful people and lovely bread!"


def _raw(pid: str, text_: str, author: str, at: datetime) -> dict[str, Any]:
    return {
        "id": pid,
        "source": "mastodon",
        "text": text_,
        "created_at": at.isoformat(),
        "author": {"id": author, "handle": f"@{author}", "name": author.title()},
    }


class World:
    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.engine = repo.engine
        self.settings = settings
        self.ws = repo.add_workspace("Brightloaf").id
        self.topic = repo.add_topic(self.ws, "brand", TopicKind.BRAND, QUERY).id
        self.people = People(repo, settings)

    def processed(self, raws: list[dict[str, Any]]) -> list[ProcessedPost]:
        index, problems = build_topic_index([TopicSpec(self.ws, self.topic, QUERY)])
        assert problems == []
        batch, problems = process_batch(
            [(f"item {i}", r) for i, r in enumerate(raws)],
            workspace_id=self.ws,
            index=index,
            analyzers=default_analyzers(self.settings),
        )
        assert problems == []
        return batch

    def ingest(self, raws: list[dict[str, Any]]) -> None:
        report = Ingestor(self.repo, self.settings).ingest(
            self.ws, [(f"item {i}", r) for i, r in enumerate(raws)]
        )
        assert report.problem_count == 0, report.problems

    def open_batch(self, raws: list[dict[str, Any]]) -> Connection:
        """Write a batch through the real writer in a transaction left open (the caller
        commits or rolls back)."""
        conn = writer(self.engine).connect()
        conn.begin()
        result = _write(conn, self.ws, self.processed(raws), None, None)
        assert result.inserted == len(raws)
        return conn

    def person(self, author_id: str) -> list[Person]:
        """Every person with this author's identity (more than one would be double counting)."""
        with self.people.session() as s:
            return list(
                s.scalars(
                    select(Person)
                    .join(PersonIdentity, PersonIdentity.person_id == Person.id)
                    .where(Person.workspace_id == self.ws, PersonIdentity.author_id == author_id)
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


def test_a_batch_committed_after_a_later_one_was_synced_counts_once(world: World) -> None:
    t = datetime.now(UTC).replace(microsecond=0)
    # Batch A takes the lower ids and stays uncommitted (another worker, a slow import):
    # Carl's two complaints.
    late = world.open_batch(
        [
            _raw("a1", NEGATIVE[0], "carl", t - timedelta(hours=4)),
            _raw("a2", NEGATIVE[1], "carl", t - timedelta(hours=3)),
        ]
    )
    try:
        # Batch B takes higher ids, commits first and is synced.
        world.ingest([_raw("b1", POSITIVE, "bea", t)])
        world.people.sync(world.ws)
        assert world.person("carl") == []  # not visible yet
        late.commit()
    finally:
        late.close()
    world.settle()
    world.people.sync(world.ws)
    (carl,) = world.person("carl")
    assert carl.mentions == 2
    assert carl.labelled_posts == 2
    assert carl.standing == "detractor"
    (bea,) = world.person("bea")
    assert bea.mentions == 1
    # Caught up: the next sync reads nothing again (no window of recent posts re-read).
    assert world.people.sync(world.ws).posts_read == 0


def test_a_rolled_back_batch_does_not_hold_people_back(world: World) -> None:
    t = datetime.now(UTC).replace(microsecond=0)
    lost = world.open_batch([_raw("a1", NEGATIVE[0], "carl", t - timedelta(hours=3))])
    try:
        world.ingest([_raw("b1", POSITIVE, "bea", t)])
        lost.rollback()
    finally:
        lost.close()
    world.settle()
    report = world.people.sync(world.ws)
    assert report.posts_read == 1
    assert world.person("carl") == []
    (bea,) = world.person("bea")
    assert bea.mentions == 1


def test_two_syncs_at_once_make_each_person_once(world: World) -> None:
    t = datetime.now(UTC).replace(microsecond=0)
    # Batches that run at once never share an author or an hour: the writer's rollup rows
    # would make the second wait for the first.
    held = world.open_batch(
        [_raw(f"a{n}", NEGATIVE[n % 2], f"u{n % 7}", t - timedelta(hours=n + 2)) for n in range(20)]
    )
    try:
        world.ingest(
            [
                _raw(f"b{n}", NEGATIVE[n % 2], f"v{n % 7}", t - timedelta(minutes=n))
                for n in range(20)
            ]
        )
        held.commit()
    finally:
        held.close()
    world.settle()
    all_at_once(lambda: world.people.sync(world.ws))
    with world.people.session() as s:
        count = select(func.count()).select_from(Person).where(Person.workspace_id == world.ws)
        assert s.scalar(count) == 14
        cases = dict(
            s.execute(
                select(DetractorCase.person_id, func.count())
                .where(DetractorCase.workspace_id == world.ws)
                .group_by(DetractorCase.person_id)
            ).all()
        )
    for n in range(7):
        for author in (f"u{n}", f"v{n}"):
            (person,) = world.person(author)
            assert person.mentions == sum(1 for k in range(20) if k % 7 == n)
            # A detractor's case is opened once, however many syncs recomputed them at once.
            assert cases.get(person.id, 0) == (1 if person.standing == "detractor" else 0)


def test_posts_stored_before_the_upgrade_are_still_absorbed(world: World) -> None:
    """Posts stored by an older version have no transaction id: a sync whose commit-order mark
    is still 0 (as migration 0016 leaves it) reads them by id first, from its id watermark."""
    t = datetime.now(UTC).replace(microsecond=0)
    world.ingest([_raw("p1", NEGATIVE[0], "carl", t)])
    world.settle()
    world.people.sync(world.ws)
    world.ingest([_raw("p2", NEGATIVE[1], "carl", t), _raw("p3", POSITIVE, "bea", t)])
    with world.repo.session() as s, s.begin():
        newest_seen = s.scalar(select(Post.id).where(Post.external_id == "p1"))
        s.execute(update(Post).values(stored_xact=None))
        s.execute(
            update(PeopleState)
            .where(PeopleState.workspace_id == world.ws)
            .values(last_post_id=newest_seen, last_xact=0)
        )
    world.ingest([_raw("p4", POSITIVE, "dora", t)])
    world.settle()
    first = world.people.sync(world.ws)
    assert first.posts_read == 3  # p2 and p3 by id, then p4 in commit order
    assert world.people.sync(world.ws).posts_read == 0
    (carl,) = world.person("carl")
    assert (carl.mentions, carl.standing) == (2, "detractor")
    assert [p.mentions for p in world.person("bea") + world.person("dora")] == [1, 1]


def test_a_sync_reads_each_post_once(any_world: World) -> None:
    """Both stores: a post is read by one sync and never again (no window of recent posts)."""
    world = any_world
    t = datetime.now(UTC).replace(microsecond=0)
    world.ingest([_raw("p1", NEGATIVE[0], "carl", t), _raw("p2", POSITIVE, "bea", t)])
    world.settle()
    assert world.people.sync(world.ws).posts_read == 2
    assert world.people.sync(world.ws).posts_read == 0
    world.ingest([_raw("p3", NEGATIVE[1], "carl", t)])
    world.settle()
    assert world.people.sync(world.ws).posts_read == 1
    (carl,) = world.person("carl")
    assert (carl.mentions, carl.standing) == (2, "detractor")


def _open_corrections(world: World, post_ids: list[int], label: str) -> Connection:
    """Correct posts' sentiment as ``Repository.correct_label`` does (label shown at once,
    rollups kept exact, a correction row), in a transaction left open (the caller commits)."""
    conn = writer(world.engine).connect()
    conn.begin()
    for pid in post_ids:
        analysis = conn.scalar(select(Post.analysis).where(Post.id == pid)) or {}
        with kept_exact(conn, world.ws, [pid]):
            conn.execute(
                update(Post)
                .where(Post.id == pid)
                .values(analysis=corrected(analysis, {"sentiment": label}))
            )
            conn.execute(
                insert(Correction).values(
                    workspace_id=world.ws,
                    post_id=pid,
                    field="sentiment",
                    old="negative",
                    new=label,
                    who="a teammate",
                )
            )
    return conn


def test_a_correction_committed_after_a_later_one_was_synced_is_not_skipped(
    world: World,
) -> None:
    """Corrections are read in commit order too: one whose transaction commits after a later
    correction was synced still recomputes its author's standing."""
    t = datetime.now(UTC).replace(microsecond=0)
    world.ingest(
        [
            _raw("a1", NEGATIVE[0], "carl", t - timedelta(hours=30)),
            _raw("a2", NEGATIVE[1], "carl", t - timedelta(hours=29)),
            _raw("b1", POSITIVE, "bea", t - timedelta(hours=2)),
        ]
    )
    world.settle()
    world.people.sync(world.ws)
    (carl,) = world.person("carl")
    assert carl.standing == "detractor"
    with world.people.session() as s:
        q = select(Post.external_id, Post.id).where(Post.workspace_id == world.ws)
        ids = {external: pid for external, pid in s.execute(q)}
    # A teammate's corrections of Carl's posts take the lower ids and commit late.
    late = _open_corrections(world, [ids["a1"], ids["a2"]], "positive")
    try:
        # Another teammate's correction of Bea's post takes a higher id, commits, is synced.
        world.repo.correct_label(world.ws, ids["b1"], "sentiment", "negative", who="other")
        world.people.sync(world.ws)
        late.commit()
    finally:
        late.close()
    world.settle()
    world.people.sync(world.ws)
    (carl,) = world.person("carl")
    assert carl.standing != "detractor"  # his corrected sentiment counts
    with world.people.session() as s:
        state = s.get(PeopleState, world.ws)
        assert state is not None and state.last_correction_xact > 0
    (bea,) = world.person("bea")
    assert bea.standing == "detractor" or bea.standing_score < 0
