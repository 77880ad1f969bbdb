"""A post deleted at its source leaves the alerts too, on SQLite and PostgreSQL: its own alert
event, a digest that quoted it, deliveries still waiting in the outbox (they render from the
events when sent) and the Atom feed; the other posts' alerts and the digest's counts stay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from goodwill.alerts import AlertService
from goodwill.alerts.feed import atom_feed
from goodwill.domain import Deletion, TopicKind
from goodwill.ingest import Ingestor
from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore
from goodwill.store.removal import DELETED_TITLE
from goodwill.store.repository import Repository
from goodwill.store.tables import AlertDelivery, AlertEvent, AlertRule
from tests.alertsinks import WebhookReceiver

SECRET_WORDS = "Brightloaf sold me a mouldy loaf, says Wilhelmina Quorrington"
NOW = datetime.now(UTC).replace(microsecond=0)


def item(pid: str, text: str, handle: str, followers: int) -> tuple[str, Any]:
    return (
        pid,
        {
            "id": pid,
            "source": "mastodon",
            "text": text,
            "created_at": (NOW - timedelta(minutes=5)).isoformat(),
            "author": {"id": f"a-{handle}", "handle": f"@{handle}", "followers": followers},
        },
    )


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def test_a_deleted_post_leaves_alerts_digests_and_the_outbox(
    repo: Repository, tmp_path: Any, hook: WebhookReceiver
) -> None:
    settings = Settings(data_dir=tmp_path, alerts_retry_scale=0.0001)
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    alerts = AlertService(AlertStore(repo.engine), settings, allow_loopback=True)
    ingest = Ingestor(repo, settings, after_batch=[alerts.after_batch])
    alerts.add_rule(ws, "now", "mention", topic="brand", webhooks=[(hook.url, "standard")])
    alerts.add_rule(
        ws, "hourly", "mention", topic="brand", frequency="hourly", emails=["a@b.example"]
    )
    ingest.ingest(
        ws,
        [
            item("m/1", SECRET_WORDS, "wilhelmina", 90_000),  # the most followed: top mention
            item("m/2", "Brightloaf rye is lovely", "ben", 10),
            item("m/3", "Brightloaf opens at eight", "cy", 5),
        ],
    )
    # The hour passes: the hourly rule's digest is made, its email waits in the outbox (no
    # SMTP server is configured, so it stays pending), as do the three webhook deliveries.
    with repo.session() as s, s.begin():
        rule = s.scalars(select(AlertRule).where(AlertRule.name == "hourly")).one()
        rule.last_digest_at = rule.last_digest_at - timedelta(hours=1, minutes=1)
    assert alerts.tick().events == 1
    with repo.session() as s:
        digest = s.scalars(select(AlertEvent).where(AlertEvent.kind == "digest")).one()
        assert SECRET_WORDS in orjson.dumps(digest.payload).decode()
        assert set(s.scalars(select(AlertDelivery.status))) == {"pending"}
    store = alerts.store
    assert b"Quorrington" in atom_feed(store, ws, "/feed.atom", title="Brightloaf")

    report = ingest.ingest(ws, [], deletions=[Deletion("mastodon", "m/1")])
    assert report.written.deleted == 1

    with repo.session() as s:
        events = list(s.scalars(select(AlertEvent).order_by(AlertEvent.id)))
    for e in events:
        dumped = orjson.dumps(e.payload).decode() + e.title
        assert "Quorrington" not in dumped and "mouldy" not in dumped and "wilhelmina" not in dumped
    gone = [e for e in events if (e.payload or {}).get("deleted_at_source")]
    assert [e.title for e in gone] == [DELETED_TITLE, DELETED_TITLE]  # one per rule
    [digest] = [e for e in events if e.kind == "digest"]
    p = digest.payload
    assert p["count"] == 3  # the counts stay: the post was seen then
    assert p["top"][0] == {
        "title": DELETED_TITLE,
        "rule": "hourly",
        "rule_kind": "mention",
        "deleted_at_source": True,
    }
    assert [t["post"]["text"] for t in p["top"][1:]] == [
        "Brightloaf rye is lovely",
        "Brightloaf opens at eight",
    ]
    assert p["titles"][0] == DELETED_TITLE
    assert p["titles"][1:] == ["New mention about brand by @ben", "New mention about brand by @cy"]
    assert b"Quorrington" not in atom_feed(store, ws, "/feed.atom", title="Brightloaf")

    # The webhook deliveries still waiting send the scrubbed event, with the others intact.
    async def deliver() -> list[Any]:
        async with make_client(settings, allow_loopback=True) as http:
            return await alerts.worker(http).deliver_due()

    sent = asyncio.run(deliver())
    assert sum(1 for x in sent if x.ok) == 3  # the email fails: no SMTP server configured
    bodies = [orjson.loads(r.body) for r in hook.requests]
    assert all(b"Quorrington" not in r.body and b"mouldy" not in r.body for r in hook.requests)
    assert sorted(b["data"]["title"] for b in bodies) == [
        DELETED_TITLE,
        "New mention about brand by @ben",
        "New mention about brand by @cy",
    ]
