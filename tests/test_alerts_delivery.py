"""Alert channels against real local receivers: signed webhooks (checked with the
``standardwebhooks`` library), chat payloads, email through an aiosmtpd SMTP server, the Atom
feed; retries with a stable id, HTTP 410, the address guard, and the embedded mode's loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import orjson
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from standardwebhooks.webhooks import Webhook

from goodwill.alerts import AlertService
from goodwill.alerts.deliver import RETRY_SCHEDULE, retry_delay
from goodwill.alerts.feed import atom_feed
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository, StoreError
from goodwill.store.tables import AlertDelivery, AlertEndpoint, AlertRule
from goodwill.web.alerts_feed import alerts_feed_router
from tests.alertsinks import SmtpReceiver, WebhookReceiver

_n = iter(range(1, 1_000_000))


def post(text: str, **over: Any) -> dict[str, Any]:
    n = next(_n)
    base: dict[str, Any] = {
        "id": str(n),
        "source": "mastodon",
        "url": f"https://mastodon.example/@u{n}/{n}",
        "text": text,
        "created_at": datetime.now(UTC).isoformat(),
        "author": {"id": f"u{n}", "handle": f"@user{n}", "followers": 10},
    }
    base.update(over)
    return base


class World:
    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.ws = repo.add_workspace("Brightloaf").id
        repo.add_topic(self.ws, "brand", TopicKind.BRAND, "brightloaf")
        self.alerts = AlertService(AlertStore(repo.engine), settings, allow_loopback=True)
        self.ingestor = Ingestor(repo, settings, after_batch=[self.alerts.after_batch])

    def ingest(self, *posts: dict[str, Any]) -> None:
        self.ingestor.ingest(self.ws, [(f"item {i}", p) for i, p in enumerate(posts)])

    def deliver(self, *, loopback: bool = True, only: list[int] | None = None) -> list[Any]:
        async def go() -> list[Any]:
            async with make_client(self.settings, allow_loopback=loopback) as http:
                return await self.alerts.worker(http).deliver_due(only=only)

        return asyncio.run(go())

    def deliveries(self) -> list[AlertDelivery]:
        with self.repo.session() as s:
            return list(s.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


@pytest.fixture
def world(repo: Repository, tmp_path: Any) -> World:
    # Retries come after milliseconds instead of minutes; everything else as in production.
    settings = Settings(data_dir=tmp_path, alerts_retry_scale=0.0001, smtp_starttls=False)
    return World(repo, settings)


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


def test_standard_webhook_is_signed_and_verifiable(world: World, hook: WebhookReceiver) -> None:
    view = world.alerts.add_rule(
        world.ws, "all", "mention", topic="brand", webhooks=[(hook.url, "standard")]
    )
    secret = view.endpoints[0].secret
    assert secret is not None and secret.startswith("whsec_")
    world.ingest(post("Brightloaf sourdough is <b>great</b>"))
    sent = world.deliver()
    assert [s.ok for s in sent] == [True]
    [req] = hook.requests
    # The reference implementation of the spec accepts our signature ...
    payload = Webhook(secret).verify(req.body, req.headers)
    assert payload["type"] == "alert.mention"
    assert payload["data"]["post"]["text"] == "Brightloaf sourdough is <b>great</b>"
    assert req.headers["webhook-id"] == world.deliveries()[0].message_id
    assert req.headers["webhook-signature"].startswith("v1,")
    # ... and refuses it for a tampered body or another secret.
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(req.body.replace(b"great", b"awful"), req.headers)
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook("whsec_" + "A" * 32).verify(req.body, req.headers)
    [row] = world.alerts.log(world.ws)
    assert (row.delivery.status, row.delivery.attempts, row.delivery.last_status) == (
        "sent",
        1,
        204,
    )
    assert world.deliver() == []  # acknowledged: never sent again


def test_retries_keep_the_same_webhook_id(world: World, hook: WebhookReceiver) -> None:
    hook.answer = lambda n, r: 503 if n <= 2 else 200
    world.alerts.add_rule(
        world.ws, "all", "mention", topic="brand", webhooks=[(hook.url, "standard")]
    )
    world.ingest(post("Brightloaf again"))
    first = world.deliver()
    assert [s.ok for s in first] == [False]
    assert "HTTP 503" in (first[0].error or "")
    [d] = world.deliveries()
    assert d.status == "pending" and d.attempts == 1 and d.next_attempt_at > d.created_at
    for _ in range(50):
        if world.deliveries()[0].status == "sent":
            break
        time.sleep(0.05)
        world.deliver()
    [d] = world.deliveries()
    assert (d.status, d.attempts) == ("sent", 3)
    ids = hook.ids()
    assert len(ids) == 3 and len(set(ids)) == 1  # one message, three tries, one id
    timestamps = [int(r.headers["webhook-timestamp"]) for r in hook.requests]
    assert abs(timestamps[-1] - time.time()) < 60


def test_gone_endpoint_is_disabled(world: World, hook: WebhookReceiver) -> None:
    hook.answer = lambda n, r: 410
    world.alerts.add_rule(
        world.ws, "all", "mention", topic="brand", webhooks=[(hook.url, "standard")]
    )
    world.ingest(post("Brightloaf one"), post("Brightloaf two"))
    world.deliver()
    with world.repo.session() as s:
        endpoint = s.scalars(select(AlertEndpoint)).one()
    assert endpoint.enabled is False
    assert "410" in (endpoint.disabled_reason or "")
    assert {d.status for d in world.deliveries()} == {"failed"}
    world.ingest(post("Brightloaf three"))
    assert len(world.deliveries()) == 2  # no new deliveries to a disabled endpoint
    assert world.deliver() == []
    view = world.alerts.rule(world.ws, "all")
    assert view.as_dict()["endpoints"][0]["enabled"] is False


def test_re_enabling_after_410_can_send_again_what_failed(
    world: World, hook: WebhookReceiver
) -> None:
    hook.answer = lambda n, r: 410
    world.alerts.add_rule(
        world.ws, "all", "mention", topic="brand", webhooks=[(hook.url, "standard")]
    )
    world.ingest(post("Brightloaf one"), post("Brightloaf two"), post("Brightloaf old"))
    world.deliver()
    assert {d.status for d in world.deliveries()} == {"failed"}
    first_ids = {d.id: d.message_id for d in world.deliveries()}
    old = world.deliveries()[-1]
    with world.repo.session() as s, s.begin():  # one of them failed long ago
        row = s.get_one(AlertDelivery, old.id)
        row.created_at = row.created_at - timedelta(days=10)
    world.ingest(post("Brightloaf while it was off"))  # never queued for a disabled endpoint
    store = world.alerts.store
    endpoint_id = world.deliveries()[0].endpoint_id

    # Re-enabled without asking: what failed stays failed, new alerts go.
    hook.answer = lambda n, r: 204
    endpoint, retried = store.set_endpoint_enabled(world.ws, endpoint_id, True)
    assert endpoint.enabled and endpoint.disabled_reason is None and retried == 0
    assert world.deliver() == []
    # Asking for the last 7 days queues the two recent failures again, not the old one.
    _endpoint, retried = store.set_endpoint_enabled(
        world.ws, endpoint_id, True, retry_failed_days=7
    )
    assert retried == 2
    sent = world.deliver()
    assert [s.ok for s in sent] == [True, True]
    rows = {d.id: d for d in world.deliveries()}
    assert rows[old.id].status == "failed"
    assert sorted(d.status for d in rows.values()) == ["failed", "sent", "sent"]
    # The same webhook-ids as the first tries: a receiver that saw one drops it.
    assert {r.headers["webhook-id"] for r in hook.requests[-2:]} == {
        first_ids[i] for i in rows if i != old.id
    }
    assert all(rows[i].attempts == 1 for i in rows if i != old.id)
    with pytest.raises(StoreError, match="retry_failed_days must be 0 to 30"):
        store.set_endpoint_enabled(world.ws, endpoint_id, True, retry_failed_days=31)


def test_a_paused_endpoints_deliveries_wait_for_it(world: World, hook: WebhookReceiver) -> None:
    world.alerts.add_rule(
        world.ws, "all", "mention", topic="brand", webhooks=[(hook.url, "standard")]
    )
    endpoint_id = world.alerts.rule(world.ws, "all").endpoints[0].id
    world.ingest(post("Brightloaf before the pause"))
    world.alerts.store.set_endpoint_enabled(world.ws, endpoint_id, False)
    assert world.deliver() == []
    assert world.alerts.store.next_due() is None  # the worker does not spin on them
    assert [d.status for d in world.deliveries()] == ["pending"]
    world.alerts.store.set_endpoint_enabled(world.ws, endpoint_id, True)
    assert [s.ok for s in world.deliver()] == [True]
    assert len(hook.requests) == 1


def test_guard_refuses_internal_webhook_addresses(world: World, hook: WebhookReceiver) -> None:
    world.alerts.add_rule(
        world.ws, "all", "mention", topic="brand", webhooks=[(hook.url, "standard")]
    )
    world.ingest(post("Brightloaf"))
    [sent] = world.deliver(loopback=False)
    assert not sent.ok
    assert "refusing to connect to 127.0.0.1 (loopback address)" in (sent.error or "")
    assert hook.requests == []
    assert world.deliveries()[0].status == "pending"  # kept, retried later


def test_chat_payload_escapes_third_party_text(world: World, hook: WebhookReceiver) -> None:
    world.alerts.add_rule(
        world.ws, "chat", "mention", topic="brand", webhooks=[(hook.url, "slack")]
    )
    world.ingest(post("Brightloaf <!channel> @here & <https://evil.example|click>"))
    assert [s.ok for s in world.deliver()] == [True]
    body = orjson.loads(hook.requests[0].body)
    assert "<!channel>" not in body["text"] and "&lt;!channel&gt;" in body["text"]
    assert "@here" not in body["text"] and "@\u200bhere" in body["text"]
    assert "&amp;" in body["text"]
    assert body["content"].startswith("**")  # Discord's bold
    assert body["allowed_mentions"] == {"parse": []}


def test_email_through_a_real_smtp_server(world: World, smtp: SmtpReceiver) -> None:
    world.settings.smtp_host = "127.0.0.1"
    world.settings.smtp_port = smtp.port
    world.alerts.add_rule(
        world.ws, "mail", "mention", topic="brand", emails=["care@brightloaf.example"]
    )
    world.ingest(post("Brightloaf <script>alert(1)</script> is late", author={"name": "Eve <e>"}))
    assert [s.ok for s in world.deliver()] == [True]
    [(sender, rcpts, msg)] = smtp.messages
    assert sender == "goodwill@localhost"
    assert rcpts == ["care@brightloaf.example"]
    assert msg["Subject"].startswith("[Goodwill] New mention about brand")
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "<script>alert(1)</script>" in text.get_content()
    assert "<script>" not in html.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.get_content()
    assert world.deliveries()[0].status == "sent"


def test_smtp_login_and_the_password_never_shows(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password in (b"s3cret-pw", "s3cret-pw")
        return AuthResult(success=ok, handled=False)

    # PLAIN only: smtplib and aiosmtpd disagree on LOGIN with an initial response.
    smtp = SmtpReceiver(
        authenticator=check, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]
    ).start()
    try:
        world.settings.smtp_host = "127.0.0.1"
        world.settings.smtp_port = smtp.port
        world.settings.smtp_user = "goodwill"
        world.settings.smtp_password = SecretStr("wrong-pw-123")
        world.alerts.add_rule(world.ws, "mail", "mention", topic="brand", emails=["a@b.example"])
        world.ingest(post("Brightloaf"))
        with caplog.at_level(logging.DEBUG):
            [sent] = world.deliver()
        assert not sent.ok and "SMTP login refused (535)" in (sent.error or "")
        assert "wrong-pw-123" not in caplog.text
        assert "wrong-pw-123" not in (world.deliveries()[0].last_error or "")
        assert smtp.messages == []
        world.settings.smtp_password = SecretStr("s3cret-pw")
        for _ in range(50):
            world.deliver()
            if smtp.messages:
                break
            time.sleep(0.05)
        assert len(smtp.messages) == 1
        assert "s3cret-pw" not in caplog.text
        assert "s3cret-pw" not in repr(world.settings)
    finally:
        smtp.stop()


def test_send_test_goes_through_every_channel(
    world: World, hook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    world.settings.smtp_host = "127.0.0.1"
    world.settings.smtp_port = smtp.port
    world.alerts.add_rule(
        world.ws,
        "both",
        "mention",
        topic="brand",
        emails=["a@b.example"],
        webhooks=[(hook.url, "standard")],
    )

    async def go() -> list[Any]:
        async with make_client(world.settings, allow_loopback=True) as http:
            return await world.alerts.send_test(world.ws, "both", http)

    results = asyncio.run(go())
    assert sorted(r.ok for r in results) == [True, True]
    assert orjson.loads(hook.requests[0].body)["type"] == "alert.test"
    assert "Test alert for rule both" in smtp.messages[0][2]["Subject"]
    assert [r.title for r in world.alerts.log(world.ws)] == ["Test alert for rule both"] * 2


def test_atom_feed_behind_a_secret_url(world: World) -> None:
    world.alerts.add_rule(world.ws, "all", "mention", topic="brand", emails=["a@b.example"])
    world.ingest(post("Brightloaf <img src=x onerror=alert(1)> & more", url="https://m.example/1"))
    store = world.alerts.store
    token = store.feed_token(world.ws)
    xml = atom_feed(store, world.ws, f"/alerts/feed/{token}.atom", title="Brightloaf")
    root = ET.fromstring(xml)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    content = entries[0].find("a:content", ns)
    assert content is not None and "<img src=x onerror=alert(1)>" in (content.text or "")
    assert b"<img" not in xml  # escaped in the XML itself
    # An independent feed reader sees a well-formed Atom 1.0 feed with the same entry.
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Goodwill alerts: Brightloaf"
    [entry] = parsed.entries
    assert entry.link == "https://m.example/1"
    assert entry.title.startswith("New mention about brand")
    assert entry.id and entry.updated_parsed is not None
    assert "onerror=alert(1)" in entry.content[0].value  # text, for the reader to escape
    link = entries[0].find("a:link", ns)
    assert link is not None and link.get("href") == "https://m.example/1"
    app = FastAPI()
    app.include_router(alerts_feed_router(store))
    client = TestClient(app)
    ok = client.get(f"/alerts/feed/{token}.atom")
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/atom+xml")
    assert client.get("/alerts/feed/not-the-token.atom").status_code == 404
    rotated = store.feed_token(world.ws, rotate=True)
    assert client.get(f"/alerts/feed/{token}.atom").status_code == 404
    assert client.get(f"/alerts/feed/{rotated}.atom").status_code == 200


def test_embedded_mode_delivers_as_posts_arrive(world: World, hook: WebhookReceiver) -> None:
    world.alerts.add_rule(
        world.ws, "now", "mention", topic="brand", webhooks=[(hook.url, "standard")]
    )
    arrived = threading.Event()
    hook.on_request = lambda r: arrived.set()

    async def go() -> None:
        stop = asyncio.Event()
        async with make_client(world.settings, allow_loopback=True) as http:
            # The idle poll is 10 minutes: only the batch's wake-up can deliver in time.
            task = asyncio.create_task(world.alerts.run(stop, http, idle=600))
            await asyncio.sleep(0.2)
            await asyncio.to_thread(world.ingest, post("Brightloaf live"))
            await asyncio.to_thread(arrived.wait, 30)
            stop.set()
            await task

    asyncio.run(go())
    assert arrived.is_set()
    assert [d.status for d in world.deliveries()] == ["sent"]


def test_secrets_stay_out_of_logs_and_errors(
    world: World, hook: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    url = hook.url.replace("/hook", "/services/T1/B2/sekrit-path")
    view = world.alerts.add_rule(
        world.ws, "chat", "mention", topic="brand", webhooks=[(url, "slack")]
    )
    secret = view.endpoints[0].secret or ""
    world.ingest(post("Brightloaf"))
    with caplog.at_level(logging.DEBUG):
        [sent] = world.deliver(loopback=False)  # refused by the guard: an error to report
    assert not sent.ok and "refusing to connect" in (sent.error or "")
    row = world.deliveries()[0]
    for text in (caplog.text, row.last_error or "", sent.error or "", sent.endpoint):
        assert "sekrit-path" not in text
        assert secret not in text
    listed = world.alerts.rules(world.ws)[0].as_dict()
    assert "sekrit-path" not in str(listed)
    assert listed["endpoints"][0]["target"].startswith("http://127.0.0.1:")
    assert "sekrit-path" in str(world.alerts.rules(world.ws)[0].as_dict(secrets=True))


def test_chat_payload_has_each_providers_documented_shape(
    world: World, hook: WebhookReceiver
) -> None:
    """Slack (api.slack.com/messaging/webhooks): ``text`` in mrkdwn with ``&<>`` escaped.
    Mattermost (developers.mattermost.com/integrate/webhooks/incoming): the same ``text``,
    at most 16,383 characters, Slack's ``<!channel>`` expanded, so it must never pass through.
    Discord (discord.com/developers/docs/resources/webhook#execute-webhook): ``content`` of at
    most 2,000 characters, plain Markdown (entities would show literally), and
    ``allowed_mentions: {"parse": []}`` so that nobody is pinged. An hourly digest of long posts
    is the biggest message a rule sends."""
    world.alerts.add_rule(
        world.ws,
        "chat",
        "mention",
        topic="brand",
        frequency="hourly",
        webhooks=[(hook.url, "slack")],
    )
    words = ["crust", "crumb", "loaf", "rye", "oven", "flour", "yeast", "salt"]
    world.ingest(
        *(
            post(
                f"Brightloaf & <!here> @everyone [Support](https://evil.example) {w} "
                + " ".join(words[i:] * 40)
            )
            for i, w in enumerate(words)
        )
    )
    assert world.deliver() == []  # hourly: nothing until the digest
    # An hour passes (the rule's digest period started an hour ago), and the tick sends it.
    with world.repo.session() as s, s.begin():
        rule = s.scalars(select(AlertRule)).one()
        rule.last_digest_at = rule.last_digest_at - timedelta(hours=1, minutes=1)
    assert world.alerts.tick().events == 1
    assert [s.ok for s in world.deliver()] == [True]
    [req] = hook.requests
    assert req.headers["content-type"] == "application/json"
    body = orjson.loads(req.body)
    assert set(body) == {"text", "content", "allowed_mentions"}
    text, content = body["text"], body["content"]
    # Slack and Mattermost
    assert isinstance(text, str) and 0 < len(text) <= 16_383
    assert text.startswith("*chat: 8 alerts (hourly digest)*")  # bold in Slack's mrkdwn
    assert "<" not in text and ">" not in text and "<!here>" not in text
    assert "&lt;!here&gt;" in text and "&amp;" in text
    assert "@everyone" not in text
    # Discord
    assert isinstance(content, str) and 0 < len(content) <= 2000
    assert content.startswith("**chat: 8 alerts (hourly digest)**")
    assert "&amp;" not in content and "&lt;" not in content
    assert "Brightloaf & <!here>" in content
    assert "@everyone" not in content and "@\u200beveryone" in content
    assert body["allowed_mentions"] == {"parse": []}
    # No disguised Markdown link (Mattermost and Discord render them); the URL stays readable.
    for shown in (text, content):
        assert "](" not in shown and "[Support]\u200b(https://evil.example)" in shown
    # Links stay whole (Mastodon's have an @ in their path).
    assert "https://mastodon.example/@u" in text and "https://mastodon.example/@u" in content


def test_retry_delays_spread_over_hours_with_jitter() -> None:
    """The back-off grows from seconds to hours, about 28 hours in all (Standard Webhooks'
    schedule), every wait jittered so that deliveries failing together come back apart."""
    assert list(RETRY_SCHEDULE) == sorted(RETRY_SCHEDULE)
    assert RETRY_SCHEDULE[0] <= 10 and RETRY_SCHEDULE[-1] >= 10 * 3600
    assert 24 * 3600 <= sum(RETRY_SCHEDULE) <= 36 * 3600
    for attempt, base in enumerate(RETRY_SCHEDULE, start=1):
        waits = {retry_delay(attempt) for _ in range(50)}
        assert all(w is not None and 0.75 * base <= w <= 1.25 * base for w in waits)
        assert len(waits) > 40  # jitter: not the same wait for everyone
    assert retry_delay(len(RETRY_SCHEDULE) + 1) is None  # then it gives up: failed
    assert retry_delay(3, scale=0.001) == pytest.approx(RETRY_SCHEDULE[2] * 0.001, rel=0.26)


def test_the_same_event_reaches_an_endpoint_once(world: World, hook: WebhookReceiver) -> None:
    """A webhook named twice in a rule is one endpoint, and evaluating, ticking and delivering
    again after a receiver's acknowledgement sends nothing more."""
    world.alerts.add_rule(
        world.ws,
        "twice",
        "mention",
        topic="brand",
        webhooks=[(hook.url, "standard"), (hook.url, "standard")],
    )
    world.ingest(post("Brightloaf once"))
    world.alerts.evaluate(world.ws)
    world.alerts.tick()
    assert len(world.deliveries()) == 1
    assert [s.ok for s in world.deliver()] == [True]
    world.alerts.tick()
    assert world.deliver() == []
    assert len(hook.requests) == 1
    # The outbox refuses a second row for the same event and endpoint at the database level.
    d = world.deliveries()[0]
    with pytest.raises(IntegrityError), world.repo.session() as s, s.begin():
        s.add(
            AlertDelivery(
                workspace_id=d.workspace_id,
                event_id=d.event_id,
                endpoint_id=d.endpoint_id,
                message_id="msg_other",
                status="pending",
                next_attempt_at=d.created_at,
                created_at=d.created_at,
            )
        )
