"""Author rules on remembered people (advocate, detractor, promoter), on posts ingested through
the real pipeline, SQLite and PostgreSQL: the author's standing is brought up to date before the
posts are judged, a detractor's alert reaches a real local webhook receiver once, and neutral
authors stay quiet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from goodwill.alerts import AlertService, RuleError
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.net import make_client
from goodwill.people import People
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore
from goodwill.store.people_tables import Person
from goodwill.store.repository import Repository
from goodwill.store.tables import AlertDelivery, AlertEvent
from tests.alertsinks import WebhookReceiver

NEGATIVE = [
    "Brightloaf ruined my order again, the bread was stale and moldy. Awful, never again.",
    "Still furious at Brightloaf: rude staff, terrible service, a total waste of money.",
    "Brightloaf is the worst bakery, terrible bread and awful rude staff. Never again.",
]
POSITIVE = [
    "Brightloaf sorted it all out, thank you so much, wonderful people and lovely bread!",
    "I love Brightloaf, the best sourdough in town, wonderful and friendly staff!",
    "Brightloaf croissants are great, a lovely treat every Sunday morning.",
]
DAN = {"id": "d1", "handle": "@dan@mastodon.example", "name": "Dan"}
NED = {"id": "n1", "handle": "@ned@mastodon.example", "name": "Ned"}
ANA = {"id": "a1", "handle": "@ana@mastodon.example", "name": "Ana", "followers": 1000}
BOB = {"id": "b1", "handle": "@bob@mastodon.example", "name": "Bob", "followers": 5}
_ids = iter(range(1, 1_000_000))


def post(text: str, author: dict[str, Any], **over: Any) -> dict[str, Any]:
    n = next(_ids)
    return {
        "id": f"p{n}",
        "source": "mastodon",
        "text": text,
        "created_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "author": author,
        **over,
    }


class World:
    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.ws = repo.add_workspace("Brightloaf").id
        repo.add_topic(self.ws, "brand", TopicKind.BRAND, "brightloaf")
        self.alerts = AlertService(AlertStore(repo.engine), settings, allow_loopback=True)
        self.ingestor = Ingestor(repo, settings, after_batch=[self.alerts.after_batch])
        self.people = People(repo, settings)

    def ingest(self, *posts: dict[str, Any]) -> None:
        report = self.ingestor.ingest(self.ws, [(f"item {i}", p) for i, p in enumerate(posts)])
        assert report.problem_count == 0, report.problems

    def events(self, rule: str) -> list[AlertEvent]:
        rule_id = self.alerts.store.rule(self.ws, rule).id
        with self.repo.session() as s:
            q = select(AlertEvent).where(AlertEvent.rule_id == rule_id).order_by(AlertEvent.id)
            return list(s.scalars(q))

    def handles(self, rule: str) -> list[str]:
        return [e.payload["post"]["author"]["handle"] for e in self.events(rule)]

    def deliveries(self) -> int:
        with self.repo.session() as s:
            return int(s.scalar(select(func.count()).select_from(AlertDelivery)) or 0)

    def deliver(self) -> list[Any]:
        async def go() -> list[Any]:
            async with make_client(self.settings, allow_loopback=True) as http:
                return await self.alerts.worker(http).deliver_due()

        return asyncio.run(go())

    def standing(self, author_id: str) -> tuple[str, bool]:
        people, _ = self.people.list_people(self.ws)
        for p in people:
            if any(i["author_id"] == author_id for i in p.identities):
                return p.standing, p.advocate
        raise AssertionError(f"no person for {author_id}")


@pytest.fixture
def world(repo: Repository, tmp_path: Any) -> World:
    settings = Settings(data_dir=tmp_path, alerts_retry_scale=0.0001, smtp_starttls=False)
    return World(repo, settings)


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def test_a_new_detractor_fires_once_to_a_real_receiver(world: World, hook: WebhookReceiver) -> None:
    world.alerts.add_rule(
        world.ws,
        "detractors",
        "author",
        filters={"signal": "detractor"},
        webhooks=[(hook.url, "standard")],
    )
    # Dan's first negative post: one labelled post is too little to judge, he is neutral.
    world.ingest(post(NEGATIVE[0], DAN))
    assert world.standing("d1") == ("neutral", False)
    assert world.events("detractors") == []
    # His second negative post, in the next batch, makes him a detractor: this post fires.
    # Ned's single negative post in the same batch does not (neutral, too little to judge).
    world.ingest(post(NEGATIVE[1], DAN), post(NEGATIVE[2], NED))
    assert world.standing("d1") == ("detractor", False)
    assert world.standing("n1") == ("neutral", False)
    [event] = world.events("detractors")
    assert event.payload["post"]["author"]["handle"] == DAN["handle"]
    assert event.payload["post"]["text"] == NEGATIVE[1]
    assert event.payload["person"]["standing"] == "detractor"
    assert event.title.startswith("Detractor @dan@mastodon.example spoke")
    sent = world.deliver()
    assert [s.ok for s in sent] == [True]
    [request] = hook.requests
    body = orjson.loads(request.body)
    assert body["type"] == "alert.author"
    assert body["data"]["post"]["text"] == NEGATIVE[1]
    assert body["data"]["person"]["name"] == "Dan"
    # Evaluating again, a tick, a delivery round: nothing repeats, and with no new post the
    # people are not even brought up to date.
    syncs = []
    real_sync = world.alerts.people.sync
    world.alerts.people.sync = lambda ws, **kw: syncs.append(ws) or real_sync(ws, **kw)  # type: ignore[method-assign]
    world.alerts.evaluate(world.ws)
    world.alerts.tick()
    assert syncs == []
    world.ingest(post("Nothing about bakeries at all, just a walk.", {"id": "w1"}))
    assert syncs == [world.ws]
    assert world.deliver() == []
    assert len(world.events("detractors")) == 1
    assert world.deliveries() == 1
    assert len(hook.requests) == 1


def test_detractor_rule_respects_the_other_filters(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "detractor questions",
        "author",
        filters={"signal": "detractor", "source": ["bluesky"]},
        emails=["care@brightloaf.example"],
    )
    world.ingest(post(NEGATIVE[0], DAN))
    world.ingest(post(NEGATIVE[1], DAN))
    assert world.standing("d1") == ("detractor", False)
    # A detractor, but on mastodon: the source filter keeps the rule quiet.
    assert world.events("detractor questions") == []


def test_advocate_rule_fires_for_an_advocate_and_not_a_neutral_author(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "advocates",
        "author",
        topic="brand",
        filters={"signal": "advocate"},
        emails=["team@brightloaf.example"],
    )
    world.alerts.add_rule(
        world.ws,
        "promoters",
        "author",
        filters={"signal": "promoter"},
        emails=["team@brightloaf.example"],
    )
    # Ana's first positive post: 10 points for the praise and 30 for reach (1,000 followers)
    # make her an advocate at once; her standing needs two labelled posts to be promoter.
    world.ingest(post(POSITIVE[0], ANA))
    assert world.standing("a1") == ("neutral", True)
    assert world.handles("advocates") == [ANA["handle"]]
    assert world.handles("promoters") == []
    # Bob (5 followers, one positive post) is neutral and no advocate; Ana speaks again.
    world.ingest(post(POSITIVE[2], BOB), post(POSITIVE[1], ANA))
    assert world.standing("b1") == ("neutral", False)
    assert world.standing("a1") == ("promoter", True)
    assert world.handles("advocates") == [ANA["handle"], ANA["handle"]]
    assert world.handles("promoters") == [ANA["handle"]]
    event = world.events("advocates")[-1]
    assert event.payload["person"] == {
        "id": event.payload["person"]["id"],
        "name": "Ana",
        "standing": "promoter",
        "advocate": True,
    }
    assert event.title == f"Advocate {ANA['handle']} spoke about brand"
    # A post of hers outside the topic: the advocate rule is about the brand, so it stays quiet.
    world.ingest(post("Lovely weather for a walk today!", ANA))
    assert world.handles("advocates") == [ANA["handle"], ANA["handle"]]
    assert len(world.handles("promoters")) == 2  # the promoter rule has no topic


def test_people_rules_are_validated(world: World) -> None:
    with pytest.raises(RuleError, match=r"unknown author signal 'fan'.*advocate, detractor"):
        world.alerts.add_rule(
            world.ws, "r", "author", filters={"signal": "fan"}, emails=["a@b.example"]
        )
    with pytest.raises(RuleError, match=r"signal .* is for author rules"):
        world.alerts.add_rule(
            world.ws,
            "r",
            "mention",
            topic="brand",
            filters={"signal": "detractor"},
            emails=["a@b.example"],
        )
    # No --min-followers needed for a people signal.
    view = world.alerts.add_rule(
        world.ws, "r", "author", filters={"signal": "advocate"}, emails=["a@b.example"]
    )
    assert view.rule.filters == {"signal": "advocate"}


def test_influential_rules_do_not_build_people(world: World) -> None:
    """Only rules that judge a person pay for the people update."""
    world.alerts.add_rule(
        world.ws,
        "stars",
        "author",
        filters={"min_followers": 500},
        emails=["a@b.example"],
    )
    world.ingest(post(POSITIVE[0], ANA))
    assert world.handles("stars") == [ANA["handle"]]
    assert "person" not in world.events("stars")[0].payload
    with world.repo.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 0
