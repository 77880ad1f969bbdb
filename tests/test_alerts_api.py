"""The alerts REST API with a token: rules CRUD, a test through a real receiver, the delivery
log's pages and filters, endpoints, the feed URL, roles, and the OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from goodwill.alerts import AlertService
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository
from goodwill.web.app import create_app
from tests.alertsinks import WebhookReceiver
from tests.webclient import make_user


def _api(
    repo: Repository, settings: Settings, role: Role = Role.ADMIN, email: str = "a@example.com"
) -> tuple[TestClient, int]:
    ws = repo.workspace("A") if any(w.name == "A" for w in repo.workspaces()) else None
    if ws is None:
        ws = repo.add_workspace("A")
        repo.add_topic(ws.id, "brand", TopicKind.BRAND, "brightloaf")
    user = make_user(repo, email, workspace_id=ws.id, role=role)
    _, raw = Accounts(repo.engine).create_token(user.id, "test")
    client = TestClient(create_app(repo, settings), headers={"Authorization": f"Bearer {raw}"})
    return client, ws.id


@pytest.fixture
def open_settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, http_allow_private=True, alerts_retry_scale=0.0001)


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def _ingest(repo: Repository, settings: Settings, ws: int, n: int) -> None:
    alerts = AlertService(AlertStore(repo.engine), settings)
    now = datetime.now(UTC).isoformat()
    items = [
        (str(i), {"id": f"p{i}", "source": "x", "text": f"brightloaf {i}", "created_at": now})
        for i in range(n)
    ]
    Ingestor(repo, settings, after_batch=[alerts.after_batch]).ingest(ws, items)


def test_rules_crud(repo: Repository, open_settings: Settings, hook: WebhookReceiver) -> None:
    client, ws = _api(repo, open_settings)
    base = f"/api/workspaces/{ws}/alerts/rules"
    made = client.post(
        base,
        json={
            "name": "angry",
            "kind": "mention",
            "topic": "brand",
            "filters": {"sentiment": ["negative"], "min_followers": 100},
            "emails": ["care@brightloaf.example"],
            "webhooks": [{"url": hook.url}, {"url": hook.url + "/chat", "format": "slack"}],
        },
    )
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["filters"] == {"sentiment": ["negative"], "min_followers": 100}
    assert rule["params"] == {} and rule["enabled"] and rule["last_fired_at"] is None
    secrets = [e["secret"] for e in rule["endpoints"] if e["kind"] == "webhook"]
    assert len(secrets) == 2 and all(s.startswith("whsec_") for s in secrets)
    # The secret is in the answer that made the endpoint, and nowhere else.
    again = client.get(f"{base}/{rule['id']}").json()
    assert all(e["secret"] is None for e in again["endpoints"])
    dup = client.post(base, json={"name": "angry", "topic": "brand", "emails": ["a@b.example"]})
    assert dup.status_code == 409 and "already has an alert rule named 'angry'" in dup.text
    bad = client.post(
        base, json={"name": "s", "kind": "volume_spike", "topic": "brand", "params": {"k": 0}}
    )
    assert bad.status_code == 422
    bad = client.post(
        base,
        json={
            "name": "s",
            "kind": "volume_spike",
            "topic": "brand",
            "emails": ["a@b.example"],
            "params": {"window_hours": 1},
        },
    )
    assert bad.status_code == 422 and "window_hours must hold at least two buckets" in bad.text
    ssrf = client.post(
        base,
        json={"name": "s", "topic": "brand", "webhooks": [{"url": "http://169.254.169.254/"}]},
    )
    assert ssrf.status_code == 422 and "cloud metadata address" in ssrf.text

    changed = client.put(
        f"{base}/{rule['id']}",
        json={
            "name": "angry",
            "kind": "mention",
            "topic": "brand",
            "frequency": "daily",
            "emails": ["care@brightloaf.example"],
        },
    ).json()
    assert changed["frequency"] == "daily" and changed["filters"] == {}
    assert [e["kind"] for e in changed["endpoints"]] == ["email"]
    wrong = client.put(
        f"{base}/{rule['id']}",
        json={"name": "angry", "kind": "unanswered", "emails": ["care@brightloaf.example"]},
    )
    assert wrong.status_code == 422 and "cannot change" in wrong.text
    off = client.patch(f"{base}/{rule['id']}", json={"enabled": False}).json()
    assert off["enabled"] is False
    assert client.delete(f"{base}/{rule['id']}").status_code == 204
    assert client.get(f"{base}/{rule['id']}").status_code == 404
    assert client.get(base).json() == {"items": [], "next_after": None}


def test_rules_are_paged(repo: Repository, settings: Settings) -> None:
    client, ws = _api(repo, settings)
    base = f"/api/workspaces/{ws}/alerts/rules"
    for i in range(5):
        body = {"name": f"r{i}", "topic": "brand", "emails": ["a@b.example"]}
        assert client.post(base, json=body).status_code == 201
    names, after = [], 0
    while True:
        page = client.get(base, params={"after": after, "limit": 2}).json()
        names += [r["name"] for r in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert names == ["r0", "r1", "r2", "r3", "r4"]


def test_test_alert_and_delivery_log(
    repo: Repository, open_settings: Settings, hook: WebhookReceiver
) -> None:
    client, ws = _api(repo, open_settings)
    base = f"/api/workspaces/{ws}/alerts"
    rule = client.post(
        f"{base}/rules",
        json={"name": "all", "topic": "brand", "webhooks": [{"url": hook.url}], "max_per_hour": 99},
    ).json()
    secret = rule["endpoints"][0]["secret"]
    [result] = client.post(f"{base}/rules/{rule['id']}/test").json()
    assert result["ok"] and result["status"] == 204 and not result["will_retry"]
    [req] = hook.requests
    assert Webhook(secret).verify(req.body, req.headers)["type"] == "alert.test"

    hook.answer = lambda n, r: 503
    [result] = client.post(f"{base}/rules/{rule['id']}/test").json()
    assert not result["ok"] and result["error"].startswith("HTTP 503") and result["will_retry"]

    _ingest(repo, open_settings, ws, 7)
    seen, before = [], None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if before:
            params["before"] = before
        page = client.get(f"{base}/deliveries", params=params).json()
        seen += page["items"]
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == 9 and len({d["id"] for d in seen}) == 9
    assert [d["id"] for d in seen] == sorted((d["id"] for d in seen), reverse=True)
    sent = client.get(f"{base}/deliveries", params={"status": "sent"}).json()["items"]
    assert [d["title"] for d in sent] == ["Test alert for rule all"]
    assert sent[0]["sent_at"] and sent[0]["next_attempt_at"] is None
    pending = client.get(f"{base}/deliveries", params={"status": "pending"}).json()["items"]
    assert len(pending) == 8 and all(d["next_attempt_at"] for d in pending)
    assert any(d["last_error"] == "HTTP 503: ok" for d in pending)
    assert client.get(f"{base}/deliveries", params={"status": "lost"}).status_code == 422

    # 410 disables the endpoint; PATCH re-enables it.
    hook.answer = lambda n, r: 410
    client.post(f"{base}/rules/{rule['id']}/test")
    [endpoint] = client.get(f"{base}/endpoints").json()
    assert endpoint["enabled"] is False and "410" in endpoint["disabled_reason"]
    back = client.patch(f"{base}/endpoints/{endpoint['id']}", json={"enabled": True}).json()
    assert back["enabled"] is True and back["disabled_reason"] is None
    assert back["retried"] == 0
    failed = client.get(f"{base}/deliveries", params={"status": "failed"}).json()["items"]
    assert len(failed) == 9  # the 410 itself, and the 8 waiting deliveries it gave up
    # What failed in the last days can be queued again, once, explicitly.
    url = f"{base}/endpoints/{endpoint['id']}"
    assert client.patch(url, json={"enabled": True, "retry_failed_days": 31}).status_code == 422
    again = client.patch(url, json={"enabled": True, "retry_failed_days": 7}).json()
    assert again["retried"] == 9
    assert client.get(f"{base}/deliveries", params={"status": "failed"}).json()["items"] == []
    assert client.patch(url, json={"enabled": True, "retry_failed_days": 7}).json()["retried"] == 0


def test_feed_url_and_roles(repo: Repository, settings: Settings) -> None:
    admin, ws = _api(repo, settings)
    assert admin.get(f"/api/workspaces/{ws}/alerts/feed").json() == {"url": None}
    url = admin.post(f"/api/workspaces/{ws}/alerts/feed").json()["url"]
    assert url.startswith("http://testserver/alerts/feed/") and url.endswith(".atom")
    assert admin.get(url.removeprefix("http://testserver")).status_code == 200
    admin.post(
        f"/api/workspaces/{ws}/alerts/rules",
        json={"name": "r", "topic": "brand", "emails": ["a@b.example"]},
    )
    viewer, _ = _api(repo, settings, Role.VIEWER, "v@example.com")
    base = f"/api/workspaces/{ws}/alerts"
    [rule] = viewer.get(f"{base}/rules").json()["items"]
    assert viewer.get(f"{base}/deliveries").status_code == 200
    assert viewer.get(f"{base}/feed").json()["url"] == url
    refused = [
        viewer.post(f"{base}/rules", json={"name": "x", "topic": "brand", "emails": ["a@b.c"]}),
        viewer.put(f"{base}/rules/{rule['id']}", json={"name": "x", "emails": ["a@b.c"]}),
        viewer.patch(f"{base}/rules/{rule['id']}", json={"enabled": False}),
        viewer.delete(f"{base}/rules/{rule['id']}"),
        viewer.post(f"{base}/rules/{rule['id']}/test"),
        viewer.post(f"{base}/feed"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    anonymous = TestClient(create_app(repo, settings))
    assert anonymous.get(f"{base}/rules").status_code == 401


def test_openapi_describes_the_alerts_api(repo: Repository, settings: Settings) -> None:
    client, _ = _api(repo, settings)
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/workspaces/{workspace_id}/alerts/rules",
        "/api/workspaces/{workspace_id}/alerts/rules/{rule_id}",
        "/api/workspaces/{workspace_id}/alerts/rules/{rule_id}/test",
        "/api/workspaces/{workspace_id}/alerts/deliveries",
        "/api/workspaces/{workspace_id}/alerts/endpoints/{endpoint_id}",
        "/api/workspaces/{workspace_id}/alerts/feed",
    ):
        assert path in paths, path
    assert "RuleIn" in schema["components"]["schemas"]
    signal = schema["components"]["schemas"]["RuleFilters"]["properties"]["signal"]
    assert "influential, advocate, detractor, promoter" in signal["description"]
    assert not any(p.startswith("/alerts/feed") for p in paths)  # the secret URL is not listed


def test_digest_schedule_and_workspace_time_zone(repo: Repository, settings: Settings) -> None:
    client, ws = _api(repo, settings)
    base = f"/api/workspaces/{ws}/alerts"
    made = client.post(
        f"{base}/rules",
        json={
            "name": "daily",
            "topic": "brand",
            "frequency": "daily",
            "params": {"digest_at": "9:00"},
            "emails": ["a@b.example"],
        },
    )
    assert made.status_code == 422 and "write it as HH:MM" in made.text
    made = client.post(
        f"{base}/rules",
        json={
            "name": "daily",
            "topic": "brand",
            "frequency": "daily",
            "params": {"digest_at": "09:00"},
            "emails": ["a@b.example"],
        },
    )
    assert made.status_code == 201 and made.json()["params"] == {"digest_at": "09:00"}
    assert client.get(f"{base}/timezone").json() == {"timezone": "UTC"}
    assert client.put(f"{base}/timezone", json={"timezone": "Asia/Tokyo"}).status_code == 200
    assert client.get(f"{base}/timezone").json() == {"timezone": "Asia/Tokyo"}
    bad = client.put(f"{base}/timezone", json={"timezone": "Tokyo"})
    assert bad.status_code == 422 and "unknown time zone 'Tokyo'" in bad.text
