"""The Alerts pages on the real app and store: a form per rule kind, the list, the enabled
toggle, editing, deleting, roles, the address guard on webhook URLs, "send a test alert"
through a real local receiver, the delivery log with filters and pages, endpoint re-enabling,
and the secret Atom feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from goodwill.alerts import AlertService
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.accounts import Role
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository
from tests.alertsinks import WebhookReceiver
from tests.webclient import csrf, logged_in, make_user

_n = iter(range(1, 1_000_000))


def post(text: str, **over: Any) -> dict[str, Any]:
    n = next(_n)
    return {
        "id": str(n),
        "source": "mastodon",
        "url": f"https://mastodon.example/@u{n}/{n}",
        "text": text,
        "created_at": datetime.now(UTC).isoformat(),
        "author": {"id": f"u{n}", "handle": f"@user{n}", "followers": 10},
        **over,
    }


class Site:
    def __init__(self, repo: Repository, settings: Settings, role: Role = Role.OWNER) -> None:
        self.repo = repo
        self.settings = settings
        self.ws = repo.add_workspace("Brightloaf").id
        repo.add_topic(self.ws, "brand", TopicKind.BRAND, "brightloaf")
        make_user(repo, "ana@example.com", workspace_id=self.ws, role=role)
        self.client = logged_in(repo, settings, "ana@example.com")
        self.token = csrf(self.client)
        self.store = AlertStore(repo.engine)

    def post(self, path: str, **data: Any) -> Any:
        return self.client.post(
            f"/w/{self.ws}{path}", data={**data, "csrf_token": self.token}, follow_redirects=False
        )

    def get(self, path: str) -> Any:
        return self.client.get(f"/w/{self.ws}{path}")

    def create(self, **fields: Any) -> Any:
        base = {"kind": "mention", "name": "angry", "topic": "brand", "frequency": "now"}
        return self.post("/alerts", **{**base, **fields})

    def ingest(self, *posts: dict[str, Any]) -> None:
        alerts = AlertService(self.store, self.settings)
        Ingestor(self.repo, self.settings, after_batch=[alerts.after_batch]).ingest(
            self.ws, [(str(i), p) for i, p in enumerate(posts)]
        )


@pytest.fixture
def site(repo: Repository, settings: Settings) -> Site:
    return Site(repo, settings)


@pytest.fixture
def open_site(repo: Repository, tmp_path: Any) -> Site:
    """Private addresses allowed, as an install on an intranet: the receiver is on 127.0.0.1."""
    settings = Settings(data_dir=tmp_path, http_allow_private=True, alerts_retry_scale=0.0001)
    return Site(repo, settings)


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_each_kind_has_its_form(site: Site) -> None:
    fields = {
        "mention": {"sentiment", "intent", "source", "min_followers"},
        "author": {"signal", "min_followers", "sentiment"},
        "volume_spike": {"k", "window_hours", "bucket_minutes", "min_volume", "cooldown_hours"},
        "negative_spike": {"k", "window_hours", "min_volume", "cooldown_hours"},
        "unanswered": {"sla_hours"},
    }
    for kind, wanted in fields.items():
        html = site.get(f"/alerts/new?kind={kind}").text
        names = set(re.findall(r'name="(\w+)"', html))
        assert wanted <= names, kind
        for channel in ("emails", "webhooks", "chat_webhooks", "frequency", "max_per_hour"):
            assert channel in names
    # A spike form has no sentiment filter and a mention form no k.
    assert 'name="sentiment"' not in site.get("/alerts/new?kind=volume_spike").text
    assert 'name="k"' not in site.get("/alerts/new?kind=mention").text
    assert site.get("/alerts/new?kind=nonsense").status_code == 404


def test_create_list_edit_toggle_delete_a_mention_rule(site: Site) -> None:
    answer = site.create(
        sentiment=["negative", "neutral"],
        intent="complaint",
        source="mastodon, rss",
        min_followers="1000",
        emails="care@brightloaf.example",
        max_per_hour="5",
    )
    assert answer.status_code == 303, answer.text
    [view] = AlertService(site.store, site.settings).rules(site.ws)
    assert view.rule.filters == {
        "sentiment": ["negative", "neutral"],
        "intent": ["complaint"],
        "source": ["mastodon", "rss"],
        "min_followers": 1000,
    }
    assert view.rule.max_per_hour == 5 and view.rule.enabled
    listed = _text(site.get("/alerts").text)
    for bit in (
        "angry",
        "New mentions",
        "sentiment: negative, neutral",
        "intent: complaint",
        "≥ 1,000 followers",
        "care@brightloaf.example",
        "never",
    ):
        assert bit in listed, bit

    # The edit form shows the rule as saved; a change keeps the rest.
    page = site.get(f"/alerts/{view.rule.id}").text
    assert 'value="negative" checked' in page and 'value="1000"' in page
    answer = site.post(
        f"/alerts/{view.rule.id}",
        kind="mention",
        name="angry",
        topic="brand",
        sentiment="negative",
        frequency="daily",
        emails="care@brightloaf.example\nboss@brightloaf.example",
    )
    assert answer.status_code == 303
    view = AlertService(site.store, site.settings).rule_by_id(site.ws, view.rule.id)
    assert view.rule.filters == {"sentiment": ["negative"]}
    assert view.rule.frequency == "daily"
    assert sorted(e.target for e in view.endpoints) == [
        "boss@brightloaf.example",
        "care@brightloaf.example",
    ]

    # Last fired shows when the rule found something.
    site.create(name="everything", emails="care@brightloaf.example")
    site.ingest(post("brightloaf, anything at all"))
    row = re.search(r'<tr[^>]*data-rule="everything".*?</tr>', site.get("/alerts").text, re.S)
    assert row is not None and "just now" in row.group(0)

    # Toggle off and on again.
    assert site.post(f"/alerts/{view.rule.id}/enabled", enabled="false").status_code == 303
    assert not site.store.rule_by_id(site.ws, view.rule.id).enabled
    assert 'title="Switch on"' in site.get("/alerts").text
    site.post(f"/alerts/{view.rule.id}/enabled", enabled="true")
    assert site.store.rule_by_id(site.ws, view.rule.id).enabled

    assert site.post(f"/alerts/{view.rule.id}/delete").status_code == 303
    assert [r.name for r in site.store.rules(site.ws)] == ["everything"]
    assert site.get(f"/alerts/{view.rule.id}").status_code == 404


def test_scheduled_and_author_kinds_save_their_parameters(site: Site) -> None:
    answer = site.create(
        kind="volume_spike",
        name="spike",
        k="2.5",
        window_hours="48",
        bucket_minutes="30",
        min_volume="4",
        cooldown_hours="3",
        emails="a@b.example",
    )
    assert answer.status_code == 303, answer.text
    site.create(kind="unanswered", name="sla", topic="", sla_hours="2", emails="a@b.example")
    site.create(kind="author", name="vip", topic="", min_followers="50000", emails="a@b.example")
    rules = {r.name: r for r in site.store.rules(site.ws)}
    assert rules["spike"].params == {
        "k": 2.5,
        "window_hours": 48,
        "bucket_minutes": 30,
        "min_volume": 4,
        "cooldown_hours": 3,
    }
    assert rules["sla"].params == {"sla_hours": 2} and rules["sla"].topic_id is None
    assert rules["vip"].filters == {"min_followers": 50000}
    # The author form offers the people signals; one saves without a follower minimum.
    form = site.get("/alerts/new?kind=author").text
    for signal in ("influential", "advocate", "detractor", "promoter"):
        assert f'<option value="{signal}"' in form, signal
    answer = site.create(
        kind="author", name="foes", topic="", signal="detractor", emails="a@b.example"
    )
    assert answer.status_code == 303, answer.text
    foes = site.store.rule(site.ws, "foes")
    assert foes.filters == {"signal": "detractor"}
    assert "signal: detractor" in _text(site.get("/alerts").text)
    assert '<option value="detractor" selected' in site.get(f"/alerts/{foes.id}").text
    assert "Volume spike" in site.get("/alerts").text
    assert "k: 2.5" in _text(site.get("/alerts").text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"k": "lots"}, "k (standard deviations): 'lots' is not a number"),
        ({"min_volume": "2.5"}, "minimum volume: '2.5' is not a whole number"),
        ({"k": "-1"}, "k: Input should be greater than 0"),
        ({"window_hours": "1", "bucket_minutes": "60"}, "window_hours must hold at least two"),
        ({"emails": ""}, "a rule needs at least one channel"),
        ({"emails": "not-an-address"}, "'not-an-address' is not an email address"),
        ({"topic": ""}, "a volume_spike rule needs a topic"),
    ],
)
def test_bad_input_is_refused_precisely_and_kept(
    site: Site, fields: dict[str, str], message: str
) -> None:
    form = {"kind": "volume_spike", "name": "spike", "emails": "a@b.example", **fields}
    answer = site.create(**form)
    assert answer.status_code == 422
    assert message in answer.text.replace("&#39;", "'")
    assert 'value="spike"' in answer.text  # what was typed is still there
    assert site.store.rules(site.ws) == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata"),
        ("http://localhost/hook", "localhost is a loopback address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("http://10.0.0.7/hook", "10.0.0.7 is a private address"),
        ("ftp://files.example/x", "unsupported scheme 'ftp'"),
    ],
)
def test_webhooks_to_internal_addresses_are_refused(site: Site, url: str, reason: str) -> None:
    answer = site.create(webhooks=url)
    assert answer.status_code == 422
    assert reason in answer.text.replace("&#39;", "'")
    assert "Goodwill does not send to internal addresses" in answer.text or "ftp" in url
    assert site.store.rules(site.ws) == []
    # The chat form of the field goes through the same guard.
    assert site.create(chat_webhooks=url).status_code == 422


def test_metadata_stays_refused_when_private_networks_are_allowed(open_site: Site) -> None:
    answer = open_site.create(webhooks="http://169.254.169.254/")
    assert answer.status_code == 422 and "cloud metadata address" in answer.text
    assert open_site.create(webhooks="http://127.0.0.1:9/hook").status_code in (200, 303)


def test_viewer_reads_but_cannot_change(repo: Repository, settings: Settings) -> None:
    owner = Site(repo, settings)
    owner.create(emails="care@brightloaf.example")
    rule_id = owner.store.rules(owner.ws)[0].id
    make_user(repo, "vic@example.com", workspace_id=owner.ws, role=Role.VIEWER)
    viewer = logged_in(repo, settings, "vic@example.com")
    token = csrf(viewer)
    page = viewer.get(f"/w/{owner.ws}/alerts").text
    assert "angry" in page and "New rule" not in page and "Switch off" not in page
    page = viewer.get(f"/w/{owner.ws}/alerts/{rule_id}").text
    assert "Send a test alert" not in page and "<fieldset disabled" in page
    assert viewer.get(f"/w/{owner.ws}/alerts/log").status_code == 200
    assert viewer.get(f"/w/{owner.ws}/alerts/new").status_code == 403
    for path, data in [
        ("/alerts", {"kind": "mention", "name": "x", "topic": "brand", "emails": "a@b.example"}),
        (f"/alerts/{rule_id}", {"name": "x", "emails": "a@b.example"}),
        (f"/alerts/{rule_id}/enabled", {"enabled": "false"}),
        (f"/alerts/{rule_id}/test", {}),
        (f"/alerts/{rule_id}/delete", {}),
        ("/alerts/feed", {}),
    ]:
        answer = viewer.post(
            f"/w/{owner.ws}{path}", data={**data, "csrf_token": token}, follow_redirects=False
        )
        assert answer.status_code == 403, path
    [rule] = owner.store.rules(owner.ws)
    assert rule.name == "angry" and rule.enabled


def test_send_a_test_alert_reports_delivery_and_errors(
    open_site: Site, hook: WebhookReceiver
) -> None:
    site = open_site
    answer = site.create(webhooks=hook.url)
    # The new webhook's signing secret is shown on this page, once.
    assert answer.status_code == 200
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", answer.text)
    assert secret is not None
    rule_id = site.store.rules(site.ws)[0].id
    assert secret.group(0) not in site.get(f"/alerts/{rule_id}").text

    answer = site.post(f"/alerts/{rule_id}/test")
    assert answer.status_code == 200
    result = _text(answer.text)
    assert "delivered (HTTP 204)" in result
    [req] = hook.requests
    body = orjson.loads(req.body)
    assert body["type"] == "alert.test"
    assert body["data"]["title"] == "Test alert for rule angry"

    hook.answer = lambda n, r: 500
    result = _text(site.post(f"/alerts/{rule_id}/test").text)
    assert "error : HTTP 500: ok" in result or "error: HTTP 500: ok" in result
    assert "it will be retried" in result

    # 410 disables the endpoint; the log shows it with a button to re-enable it.
    hook.answer = lambda n, r: 410
    result = _text(site.post(f"/alerts/{rule_id}/test").text)
    assert "HTTP 410" in result
    log = site.get("/alerts/log").text
    assert "disabled" in log and "Re-enable" in log
    endpoint = site.store.workspace_endpoints(site.ws)[0]
    assert not endpoint.enabled
    assert 'name="retry_failed_days"' in log
    answer = site.post(f"/alerts/endpoints/{endpoint.id}/enable", retry_failed_days="7")
    assert answer.status_code == 303
    assert site.store.workspace_endpoints(site.ws)[0].enabled
    # The test alerts given up by the 410 (the 410 itself, the 500 waiting for its retry) are
    # queued again.
    assert "Test alert for rule angry" not in site.get("/alerts/log?status=failed").text
    waiting = site.get("/alerts/log?status=pending").text
    assert waiting.count("Test alert for rule angry") == 2
    hook.answer = lambda n, r: 204
    assert "delivered (HTTP 204)" in _text(site.post(f"/alerts/{rule_id}/test").text)


def test_a_refused_address_is_the_test_result(site: Site) -> None:
    """A host name that resolves to nothing reachable: the test says why, precisely."""
    site.create(webhooks="http://receiver.invalid/hook")
    rule_id = site.store.rules(site.ws)[0].id
    result = _text(site.post(f"/alerts/{rule_id}/test").text)
    assert "error" in result and "receiver.invalid" in result


def test_delivery_log_filters_and_pages(open_site: Site, hook: WebhookReceiver) -> None:
    site = open_site
    site.create(webhooks=hook.url, max_per_hour="100")
    site.ingest(*(post(f"brightloaf number {i}") for i in range(55)))
    first = site.get("/alerts/log").text
    assert first.count('data-status="pending"') == 50
    older = re.search(r'href="(/w/\d+/alerts/log\?[^"]+)"', first)
    assert older is not None
    second = site.client.get(older.group(1).replace("&amp;", "&")).text
    assert second.count('data-status="pending"') == 5
    assert "Older deliveries" not in second
    assert "No delivery matches these filters" in site.get("/alerts/log?status=sent").text
    assert site.get("/alerts/log?status=bogus").status_code == 422
    assert site.get("/alerts/log?rule=angry").text.count('data-status="pending"') == 50
    assert "No delivery" in site.get("/alerts/log?rule=other").text


def test_feed_url_is_shown_regenerated_and_served(site: Site) -> None:
    page = site.get("/alerts").text
    assert "Create the feed URL" in page and "/alerts/feed/" not in page
    site.post("/alerts/feed")
    url = re.search(r"http://testserver(/alerts/feed/[\w-]+\.atom)", site.get("/alerts").text)
    assert url is not None
    site.create(emails="care@brightloaf.example")
    site.ingest(post("brightloaf <script>alert(1)</script>"))
    answer = site.client.get(url.group(1))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    entries = ET.fromstring(answer.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1
    site.post("/alerts/feed")  # regenerate: the old URL stops working
    assert site.client.get(url.group(1)).status_code == 404
    assert site.client.get("/alerts/feed/not-a-token.atom").status_code == 404


def test_digest_time_weekday_and_time_zones(site: Site) -> None:
    answer = site.create(
        name="weekly",
        frequency="weekly",
        digest_at="08:30",
        digest_weekday="monday",
        timezone="America/New_York",
        emails="a@b.example",
    )
    assert answer.status_code == 303, answer.text
    [rule] = site.store.rules(site.ws)
    assert rule.params == {
        "digest_at": "08:30",
        "digest_weekday": 0,
        "timezone": "America/New_York",
    }
    assert "weekly digest at 08:30 on Monday America/New_York" in _text(site.get("/alerts").text)
    page = site.get(f"/alerts/{rule.id}").text
    assert 'value="monday" selected' in page and 'value="08:30"' in page
    bad = site.create(name="x", frequency="daily", digest_at="8h", emails="a@b.example")
    assert bad.status_code == 422 and "write it as HH:MM" in bad.text

    assert 'value="UTC"' in site.get("/alerts").text
    assert site.post("/alerts/timezone", timezone="Europe/Paris").status_code == 303
    assert site.store.workspace_timezone(site.ws) == "Europe/Paris"
    assert "the workspace's (Europe/Paris)" in site.get("/alerts/new").text
    refused = site.post("/alerts/timezone", timezone="Paris")
    assert refused.status_code == 422 and "unknown time zone" in refused.text
    assert site.store.workspace_timezone(site.ws) == "Europe/Paris"
