"""Each rule kind fires on posts ingested through the real pipeline (analysis included), on
SQLite and PostgreSQL; evaluating again repeats nothing; digests bundle; throttling holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from goodwill.alerts import AlertService, RuleError
from goodwill.alerts.evaluate import spike
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository
from goodwill.store.tables import AlertDelivery, AlertEvent

HOOK = "https://hooks.example.com/goodwill"
_ids = iter(range(1, 1_000_000))


def post(text: str, at: datetime, **over: Any) -> dict[str, Any]:
    n = next(_ids)
    base: dict[str, Any] = {
        "id": over.pop("id", str(n)),
        "source": "mastodon",
        "text": text,
        "created_at": at.isoformat(),
        "author": {"id": f"u{n}", "handle": f"@user{n}", "followers": 10},
    }
    base.update(over)
    return base


class World:
    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.ws = repo.add_workspace("Brightloaf").id
        self.topic = repo.add_topic(self.ws, "brand", TopicKind.BRAND, "brightloaf").id
        self.alerts = AlertService(AlertStore(repo.engine), settings, allow_loopback=True)
        self.ingestor = Ingestor(repo, settings, after_batch=[self.alerts.after_batch])

    def ingest(self, posts: list[dict[str, Any]]) -> None:
        report = self.ingestor.ingest(self.ws, [(f"item {i}", p) for i, p in enumerate(posts)])
        assert report.problem_count == 0, report.problems

    def events(self, rule: str, *, held: bool | None = None) -> list[AlertEvent]:
        rule_id = self.alerts.store.rule(self.ws, rule).id
        with self.repo.session() as s:
            q = select(AlertEvent).where(AlertEvent.rule_id == rule_id).order_by(AlertEvent.id)
            if held is not None:
                q = q.where(AlertEvent.held.is_(held))
            return list(s.scalars(q))

    def deliveries(self) -> int:
        with self.repo.session() as s:
            return int(s.scalar(select(func.count()).select_from(AlertDelivery)) or 0)


@pytest.fixture
def world(repo: Repository, settings: Settings) -> World:
    return World(repo, settings)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_mention_rule_fires_for_new_matching_posts_only(world: World) -> None:
    t = now()
    world.ingest([post("Brightloaf bread is awful, I hate it", t - timedelta(minutes=30))])
    world.alerts.add_rule(
        world.ws,
        "angry",
        "mention",
        topic="brand",
        filters={"sentiment": ["negative"], "min_followers": 100},
        webhooks=[(HOOK, "standard")],
    )
    world.ingest(
        [
            post(
                "Brightloaf is terrible and the staff was rude",
                t,
                author={"handle": "@big", "followers": 5000},
            ),
            post(
                "Brightloaf is terrible, awful bread",
                t,
                author={"handle": "@small", "followers": 3},
            ),
            post(
                "I love Brightloaf, wonderful sourdough",
                t,
                author={"handle": "@fan", "followers": 9000},
            ),
            post("The weather is terrible today", t, author={"handle": "@w", "followers": 9000}),
        ]
    )
    events = world.events("angry")
    # Only the new negative post by a big enough author: not the one before the rule, not the
    # small author, not the positive post, not the post outside the topic.
    assert [e.payload["post"]["author"]["handle"] for e in events] == ["@big"]
    assert events[0].payload["post"]["sentiment"] == "negative"
    assert events[0].kind == "mention"
    assert world.deliveries() == 1
    # Evaluating again (a tick after a crash, say) finds nothing new and repeats nothing.
    world.alerts.tick()
    world.alerts.evaluate(world.ws)
    assert len(world.events("angry")) == 1
    assert world.deliveries() == 1


def test_intent_and_source_filters(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "questions",
        "mention",
        topic="brand",
        filters={"intent": ["question"], "source": ["bluesky"]},
        emails=["care@brightloaf.example"],
    )
    t = now()
    world.ingest(
        [
            post("Is Brightloaf open on Sundays?", t, source="bluesky"),
            post("Is Brightloaf open on Mondays?", t, source="mastodon"),
            post("Brightloaf sourdough is lovely", t, source="bluesky"),
        ]
    )
    events = world.events("questions")
    assert [e.payload["post"]["text"] for e in events] == ["Is Brightloaf open on Sundays?"]
    assert events[0].payload["post"]["intent"] == "question"


def test_influential_author_rule(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "vip",
        "author",
        filters={"min_followers": 10_000},
        webhooks=[(HOOK, "slack")],
    )
    t = now()
    world.ingest(
        [
            post("Trying Brightloaf today", t, author={"handle": "@star", "followers": 250_000}),
            post("Trying Brightloaf too", t, author={"handle": "@me", "followers": 12}),
        ]
    )
    events = world.events("vip")
    assert [e.payload["post"]["author"]["handle"] for e in events] == ["@star"]
    assert "250,000 followers" in events[0].title


def test_volume_spike_against_the_topics_own_baseline(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "spike",
        "volume_spike",
        topic="brand",
        params={"window_hours": 48, "k": 3, "min_volume": 10, "cooldown_hours": 6},
        webhooks=[(HOOK, "standard")],
    )
    t = now()
    baseline = [
        post(f"Brightloaf note {h}-{i}", t - timedelta(hours=h, minutes=10 + i))
        for h in range(1, 48)
        for i in range(1 + h % 3)  # 1 to 3 an hour
    ]
    world.ingest(baseline)
    assert world.alerts.tick(now=t).events == 0  # an ordinary hour: nothing
    world.ingest(
        [post(f"Brightloaf everywhere {i}", t - timedelta(minutes=i + 1)) for i in range(25)]
    )
    world.alerts.tick(now=t)
    events = world.events("spike")
    assert len(events) == 1
    p = events[0].payload
    assert p["count"] == 25
    assert 1.5 < p["baseline_mean"] < 2.5
    assert p["threshold"] < 25
    # Cool-down: the next tick, still inside the spike, stays quiet.
    world.alerts.tick(now=t + timedelta(minutes=5))
    assert len(world.events("spike")) == 1


def test_spike_cool_down_holds_then_lets_the_next_spike_through(world: World) -> None:
    """Three real bursts of mentions, 5 h then 3 h apart, with a 6 h cool-down: the first
    fires, the second (a spike by the numbers) is held back by the cool-down, the third fires."""
    world.alerts.add_rule(
        world.ws,
        "spike",
        "volume_spike",
        topic="brand",
        params={"window_hours": 48, "k": 3, "min_volume": 10, "cooldown_hours": 6},
        webhooks=[(HOOK, "standard")],
    )
    t = now()
    bursts = [t - timedelta(hours=8), t - timedelta(hours=3), t]
    posts = [
        post(f"Brightloaf note {h}-{i}", t - timedelta(hours=h, minutes=10 + i))
        for h in range(9, 60)
        for i in range(1 + h % 3)
    ]
    for b, at in enumerate(bursts):
        posts += [
            post(f"Brightloaf burst {b} {i}", at - timedelta(minutes=i + 1)) for i in range(25)
        ]
    world.ingest(posts)
    assert world.alerts.tick(now=bursts[0]).events == 1
    assert world.alerts.tick(now=bursts[1]).events == 0  # 5 h later: cooling down
    assert world.alerts.tick(now=bursts[2]).events == 1  # 8 h later: cooled down
    events = world.events("spike")
    assert [e.payload["count"] for e in events] == [25, 25]
    assert [e.created_at.replace(tzinfo=UTC) for e in events] == [bursts[0], bursts[2]]


def test_below_minimum_volume_no_spike(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "spike",
        "volume_spike",
        topic="brand",
        params={"window_hours": 24, "min_volume": 10},
        emails=["pr@brightloaf.example"],
    )
    t = now()
    # A topic that is usually silent: 5 mentions is "infinitely" above baseline, but few.
    world.ingest([post(f"Brightloaf {i}", t - timedelta(minutes=i + 1)) for i in range(5)])
    assert world.alerts.tick(now=t).events == 0


def test_negative_share_spike(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "sour",
        "negative_spike",
        topic="brand",
        params={"window_hours": 24, "k": 2, "min_volume": 8},
        webhooks=[(HOOK, "standard")],
    )
    t = now()
    happy = "I love Brightloaf, great bread and wonderful people"
    sad = "Brightloaf is terrible, awful, I hate this horrible bread"
    baseline = []
    for h in range(1, 24):
        at = t - timedelta(hours=h, minutes=5)
        baseline += [post(happy, at + timedelta(seconds=i)) for i in range(4)]
        if h % 4 == 0:
            baseline.append(post(sad, at))
    world.ingest(baseline)
    world.ingest(
        [post(sad, t - timedelta(minutes=i + 1)) for i in range(8)]
        + [post(happy, t - timedelta(minutes=20))]
    )
    world.alerts.tick(now=t)
    events = world.events("sour")
    assert len(events) == 1
    p = events[0].payload
    assert p["negative"] == 8
    assert p["value"] == pytest.approx(8 / 9)
    assert p["baseline_mean"] < 0.2


def test_unanswered_question_past_its_sla(world: World) -> None:
    world.alerts.add_rule(
        world.ws,
        "sla",
        "unanswered",
        topic="brand",
        params={"sla_hours": 4},
        emails=["care@brightloaf.example"],
    )
    t = now()
    asked = t - timedelta(hours=6)
    world.ingest(
        [
            post("Does Brightloaf deliver to Leith?", asked, id="q1"),
            post("Can Brightloaf make a gluten free loaf?", asked, id="q2", conversation_id="c2"),
            post("What time does Brightloaf open on Sunday?", asked, id="q3"),
            post("Is Brightloaf open late?", t - timedelta(hours=1), id="q4"),  # SLA not past
            post("Brightloaf bread is lovely", asked, id="s1"),  # not a question
            # Our answers: to q1 directly, to q2 later in its conversation.
            post("Yes we do!", asked + timedelta(hours=1), id="a1", in_reply_to="q1", is_own=True),
            post("We can", asked + timedelta(hours=8), id="a2", conversation_id="c2", is_own=True),
        ]
    )
    world.alerts.tick(now=t)
    events = world.events("sla")
    assert [e.payload["post"]["text"] for e in events] == [
        "What time does Brightloaf open on Sunday?"
    ]
    assert events[0].kind == "unanswered"
    assert events[0].payload["waiting_hours"] == pytest.approx(6, abs=0.1)
    world.alerts.tick(now=t + timedelta(minutes=1))
    assert len(world.events("sla")) == 1


def test_daily_digest_groups_with_counts_and_top_mentions(world: World) -> None:
    world.alerts.add_rule(
        world.ws, "daily", "mention", topic="brand", frequency="daily", emails=["a@b.example"]
    )
    t = now()
    world.ingest(
        [
            post("Brightloaf is great", t, author={"handle": "@a", "followers": 50}),
            post("Brightloaf is awful", t, author={"handle": "@b", "followers": 90_000}),
            post(
                "Brightloaf is open until 6 today",
                t,
                source="bluesky",
                author={"handle": "@c", "followers": 1},
            ),
        ]
    )
    assert len(world.events("daily", held=True)) == 3
    assert world.deliveries() == 0  # nothing sent until the digest
    assert world.alerts.tick(now=t + timedelta(hours=1)).events == 0  # not a day yet
    result = world.alerts.tick(now=t + timedelta(days=1, minutes=1))
    assert result.events == 1
    assert len(result.deliveries) == 1
    digest = next(e for e in world.events("daily") if e.kind == "digest")
    p = digest.payload
    assert p["count"] == 3
    assert p["period"] == "daily"
    assert p["by_source"] == {"mastodon": 2, "bluesky": 1}
    assert sum(p["by_sentiment"].values()) == 3
    assert p["by_sentiment"]["positive"] == 1
    assert p["top"][0]["post"]["author"]["handle"] == "@b"  # the most followed first
    assert world.events("daily", held=True) == []
    # Nothing new: the next day sends no empty digest.
    assert world.alerts.tick(now=t + timedelta(days=2, minutes=2)).events == 0


def test_weekly_digest_waits_the_week_and_counts_everything(world: World) -> None:
    world.alerts.add_rule(
        world.ws, "weekly", "mention", topic="brand", frequency="weekly", emails=["a@b.example"]
    )
    t = now()
    world.ingest([post(f"Brightloaf is great {i}", t) for i in range(3)])
    world.ingest([post("Brightloaf is awful", t, author={"handle": "@loud", "followers": 70_000})])
    assert len(world.events("weekly", held=True)) == 4
    assert world.alerts.tick(now=t + timedelta(days=1, minutes=1)).events == 0
    assert world.alerts.tick(now=t + timedelta(days=6, hours=23)).events == 0
    result = world.alerts.tick(now=t + timedelta(days=7, minutes=1))
    assert result.events == 1 and len(result.deliveries) == 1
    [digest] = [e for e in world.events("weekly") if e.kind == "digest"]
    p = digest.payload
    assert (p["period"], p["count"], p["by_kind"]) == ("weekly", 4, {"mention": 4})
    assert p["by_sentiment"]["positive"] == 3 and p["by_sentiment"]["negative"] == 1
    assert p["top"][0]["post"]["author"]["handle"] == "@loud"
    assert digest.title == "weekly: 4 alerts (weekly digest)"


def test_throttle_holds_the_excess_for_an_hourly_digest(world: World) -> None:
    world.alerts.add_rule(
        world.ws, "busy", "mention", topic="brand", max_per_hour=2, webhooks=[(HOOK, "standard")]
    )
    t = now()
    world.ingest([post(f"Brightloaf {i}", t) for i in range(5)])
    assert len(world.events("busy", held=False)) == 2
    assert len(world.events("busy", held=True)) == 3
    assert world.deliveries() == 2
    world.alerts.tick(now=t + timedelta(hours=1, minutes=1))
    digest = [e for e in world.events("busy") if e.kind == "digest"]
    assert len(digest) == 1
    assert digest[0].payload["count"] == 3
    assert world.deliveries() == 3


def test_rules_are_validated_with_precise_messages(world: World) -> None:
    def add(**kw: Any) -> None:
        base: dict[str, Any] = {"topic": "brand", "emails": ["a@b.example"]}
        base.update(kw)
        world.alerts.add_rule(world.ws, kw.pop("name", "r"), kw.pop("kind", "mention"), **base)

    with pytest.raises(RuleError, match="unknown rule kind 'spikes'"):
        world.alerts.add_rule(world.ws, "r", "spikes", topic="brand", emails=["a@b.example"])
    with pytest.raises(RuleError, match="no topic named 'nope'"):
        world.alerts.add_rule(world.ws, "r", "mention", topic="nope", emails=["a@b.example"])
    with pytest.raises(RuleError, match="sentiment"):
        world.alerts.add_rule(
            world.ws,
            "r",
            "mention",
            topic="brand",
            filters={"sentiment": ["angry"]},
            emails=["a@b.example"],
        )
    with pytest.raises(RuleError, match="needs at least one channel"):
        world.alerts.add_rule(world.ws, "r", "mention", topic="brand")
    with pytest.raises(RuleError, match="not an email address"):
        world.alerts.add_rule(world.ws, "r", "mention", topic="brand", emails=["a@b\r\nBcc: x@y.z"])
    with pytest.raises(RuleError, match="unsupported scheme 'file'"):
        world.alerts.add_rule(
            world.ws, "r", "mention", topic="brand", webhooks=[("file:///etc/passwd", "standard")]
        )
    with pytest.raises(RuleError, match="needs --min-followers"):
        world.alerts.add_rule(world.ws, "r", "author", emails=["a@b.example"])
    with pytest.raises(RuleError, match="a volume_spike rule needs a topic"):
        world.alerts.add_rule(world.ws, "r", "volume_spike", emails=["a@b.example"])
    with pytest.raises(RuleError, match="window_hours must hold"):
        world.alerts.add_rule(
            world.ws,
            "r",
            "volume_spike",
            topic="brand",
            params={"window_hours": 1},
            emails=["a@b.example"],
        )
    assert world.alerts.rules(world.ws) == []


def test_rules_are_workspace_scoped(world: World) -> None:
    other = world.repo.add_workspace("Other").id
    world.repo.add_topic(other, "brand", TopicKind.BRAND, "brightloaf")
    world.alerts.add_rule(world.ws, "mine", "mention", topic="brand", emails=["a@b.example"])
    assert world.alerts.rules(other) == []
    other_ingestor = world.ingestor
    other_ingestor.ingest(other, [("x", post("Brightloaf in another workspace", now()))])
    assert world.events("mine") == []


def test_spike_statistics() -> None:
    assert spike([2, 2, 2, 2], 3, k=3) is not None  # no variance: above the mean is a spike
    assert spike([1, 3, 1, 3], 4, k=3) is None  # mean 2, std 1: threshold 5
    found = spike([1, 3, 1, 3], 6, k=3)
    assert found is not None
    assert found.threshold == pytest.approx(5)
    assert spike([], 10, k=3) is None
