"""The inbox over the REST API, on SQLite and PostgreSQL: listing by priority with filters and
pages, a conversation with its thread and notes, triage, metrics, templates, and replies sent
through a Mastodon connector to a local fake of its API over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from goodwill.alerts import AlertService
from goodwill.alerts.evaluate import mark_of
from goodwill.domain import TopicKind
from goodwill.inbox import Inbox
from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.settings import Settings
from goodwill.sources import api as api_module
from goodwill.sources.credentials import seal
from goodwill.sources.mastodon import MastodonSource
from goodwill.store.accounts import Accounts, Role
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository
from goodwill.web.app import create_app
from tests.fakes.mastodon import MastodonFake
from tests.feedserver import FeedServer, loopback_only, running_server
from tests.webclient import make_user

OWN = {"id": "900", "handle": "brightloaf", "name": "Brightloaf"}


def _post(pid: str, minutes_ago: float, text: str, **kw: Any) -> dict[str, Any]:
    own = kw.pop("own", False)
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    row = {
        "id": pid,
        "source": kw.pop("source", "mastodon"),
        "text": text,
        "created_at": at.isoformat(),
        "author": OWN if own else kw.pop("author", {"id": f"u{pid}", "handle": f"u{pid}"}),
        "is_own": own,
    }
    return row | kw


ROWS = [
    # An old complaint, unanswered: past the 4-hour SLA, the most urgent.
    _post("1", 600, "My order never arrived and nobody answers. Terrible service."),
    # A fresh question, unanswered, still within the SLA.
    _post("2", 30, "@brightloaf is the shop open on Sundays?"),
    # A question the brand answered on the network.
    _post("3", 300, "Do you ship to Porto?"),
    _post("4", 280, "@u3 We do, three days by post.", own=True, in_reply_to="3"),
    # A question on another network.
    _post("5", 60, "Any vegan croissants?", source="bluesky"),
]


def _client(
    repo: Repository, settings: Settings, role: Role = Role.RESPONDER
) -> tuple[TestClient, int]:
    ws = repo.add_workspace("Brightloaf")
    user = make_user(repo, "ana@example.com", workspace_id=ws.id, role=role)
    _, raw = Accounts(repo.engine).create_token(user.id, "test")
    client = TestClient(create_app(repo, settings), headers={"Authorization": f"Bearer {raw}"})
    return client, ws.id


def _ingest(repo: Repository, settings: Settings, ws: int, rows: list[dict[str, Any]]) -> None:
    report = Ingestor(repo, settings).ingest(ws, [(r["id"], r) for r in rows])
    assert report.problem_count == 0, report.problems


def test_conversations_by_priority_with_filters_and_pages(
    repo: Repository, settings: Settings
) -> None:
    client, ws = _client(repo, settings)
    _ingest(repo, settings, ws, ROWS)
    url = f"/api/workspaces/{ws}/inbox/conversations"
    page = client.get(url).json()
    items = page["items"]
    assert page["total"] == 4 and page["next_offset"] is None
    scores = [c["priority"]["score"] for c in items]
    assert scores == sorted(scores, reverse=True)
    assert items[0]["preview"].startswith("My order never arrived")
    assert items[0]["sla_breached"] and items[0]["complaints"] == 1
    fresh = next(c for c in items if "Sundays" in c["preview"])
    assert not fresh["sla_breached"] and fresh["sla_due_at"] is not None
    assert fresh["direct_mentions"] == 1

    def previews(**params: Any) -> set[str]:
        return {c["preview"][:12] for c in client.get(url, params=params).json()["items"]}

    assert previews(status="done") == {"Do you ship "}
    assert previews(needs_answer=True) == {"My order nev", "@brightloaf ", "Any vegan cr"}
    assert previews(sla_breached=True) == {"My order nev"}
    assert previews(source="bluesky") == {"Any vegan cr"}
    assert previews(assignee="-") == previews()

    first = client.get(url, params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_offset"] == 3 and first["total"] == 4
    rest = client.get(url, params={"limit": 3, "offset": 3}).json()
    assert rest["next_offset"] is None
    ids = [c["id"] for c in first["items"] + rest["items"]]
    assert ids == [c["id"] for c in items]

    assert client.get(url, params={"status": "closed"}).status_code == 422
    assert client.get(url, params={"limit": 0}).status_code == 422
    schema = client.get("/api/openapi.json").json()["paths"]
    for path in ("conversations", "conversations/{conversation_id}/reply", "metrics", "templates"):
        assert f"/api/workspaces/{{workspace_id}}/inbox/{path}" in schema


def test_triage_notes_answered_elsewhere_and_metrics(repo: Repository, settings: Settings) -> None:
    client, ws = _client(repo, settings)
    make_user(repo, "bo@example.com", workspace_id=ws, role=Role.RESPONDER)
    make_user(repo, "vi@example.com", workspace_id=ws, role=Role.VIEWER)
    _ingest(repo, settings, ws, ROWS)
    base = f"/api/workspaces/{ws}/inbox"
    items = client.get(base + "/conversations").json()["items"]
    shipped = next(c for c in items if c["preview"].startswith("Do you ship"))
    detail = client.get(f"{base}/conversations/{shipped['id']}").json()
    assert [(p["external_id"], p["is_own"]) for p in detail["posts"]] == [("3", False), ("4", True)]
    assert detail["posts"][0]["intent"] == "question" and detail["notes"] == []

    cid = next(c["id"] for c in items if c["preview"].startswith("My order"))
    conv = f"{base}/conversations/{cid}"
    assigned = client.post(conv + "/assign", json={"assignee": "BO@example.com"})
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "bo@example.com"
    refused = client.post(conv + "/assign", json={"assignee": "vi@example.com"})
    assert refused.status_code == 422 and "not a teammate" in refused.json()["detail"]
    assert client.post(conv + "/assign", json={"assignee": "eve"}).status_code == 422
    listed = client.get(base + "/conversations", params={"assignee": "bo@example.com"}).json()
    assert [c["id"] for c in listed["items"]] == [cid]

    note = client.post(conv + "/notes", json={"text": "Called them, refund on its way"})
    assert note.status_code == 201 and note.json()["author"] == "ana@example.com"
    assert client.post(conv + "/notes", json={"text": "   "}).status_code == 422
    assert client.post(conv + "/status", json={"status": "later"}).status_code == 422
    waiting = client.post(conv + "/status", json={"status": "waiting"}).json()
    assert waiting["status"] == "waiting" and not waiting["needs_answer"]

    before = client.get(base + "/metrics").json()
    done = client.post(conv + "/answered-elsewhere").json()
    assert done["status"] == "done" and done["answered_at"] is not None
    after = client.get(base + "/metrics").json()
    assert after["by_status"]["done"] == before["by_status"]["done"] + 1
    assert after["response_rate"] > before["response_rate"]
    assert set(after) >= {"first_response", "resolution", "coverage", "sla_breaches"}
    assert after["first_response"]["median_s"] == pytest.approx(20 * 60, abs=5)

    shown = client.get(conv).json()
    assert [n["text"] for n in shown["notes"]] == ["Called them, refund on its way"]
    assert client.get(f"{base}/conversations/999999").status_code == 404


def test_two_teammates_guard_and_roles(repo: Repository, settings: Settings) -> None:
    client, ws = _client(repo, settings)
    _ingest(repo, settings, ws, ROWS)
    bo = make_user(repo, "bo@example.com", workspace_id=ws, role=Role.RESPONDER)
    _, raw = Accounts(repo.engine).create_token(bo.id, "bo")
    bo_client = TestClient(client.app, headers={"Authorization": f"Bearer {raw}"})
    cid = client.get(f"/api/workspaces/{ws}/inbox/conversations").json()["items"][0]["id"]
    opened = f"/api/workspaces/{ws}/inbox/conversations/{cid}/open"
    assert client.post(opened).json()["also_opened_by"] is None
    seen = bo_client.post(opened).json()
    assert seen["also_opened_by"] == "ana@example.com" and seen["since"]

    vi = make_user(repo, "vi@example.com", workspace_id=ws, role=Role.VIEWER)
    _, raw = Accounts(repo.engine).create_token(vi.id, "vi")
    viewer = TestClient(client.app, headers={"Authorization": f"Bearer {raw}"})
    assert viewer.get(f"/api/workspaces/{ws}/inbox/conversations").status_code == 200
    conv = f"/api/workspaces/{ws}/inbox/conversations/{cid}"
    assert viewer.post(conv + "/status", json={"status": "done"}).status_code == 403
    assert viewer.post(conv + "/reply", json={"text": "hi"}).status_code == 403
    assert TestClient(client.app).get(f"/api/workspaces/{ws}/inbox/metrics").status_code == 401


def test_reply_errors_are_precise(repo: Repository, settings: Settings) -> None:
    client, ws = _client(repo, settings)
    _ingest(repo, settings, ws, ROWS)
    cid = client.get(f"/api/workspaces/{ws}/inbox/conversations").json()["items"][0]["id"]
    url = f"/api/workspaces/{ws}/inbox/conversations/{cid}/reply"
    imported = client.post(url, json={"text": "Sorry! We are on it."})
    assert imported.status_code == 422 and "imported, not listened to" in imported.json()["detail"]
    assert client.post(url, json={"text": ""}).status_code == 422


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)
    with running_server() as srv:
        yield srv


def _listened(
    repo: Repository, settings: Settings, fake: MastodonFake, ws: int, *, token: bool = True
) -> None:
    config = fake.config()
    if not token:
        config["access_token"] = ""
    repo.add_source(ws, "mastodon", "m", seal(config, MastodonSource.secret_fields, settings), 60)

    async def go() -> None:
        async with make_client(settings) as http:
            [outcome] = await Listener(repo, Ingestor(repo, settings), settings, http).run_once()
            assert outcome.ok, outcome.error

    asyncio.run(go())


def test_reply_goes_through_the_connector_and_templates_ask_for_authenticity(
    repo: Repository, settings: Settings, server: FeedServer
) -> None:
    settings = settings.model_copy(update={"http_allow_private": True})
    client, ws = _client(repo, settings, Role.ADMIN)  # admins keep the templates
    fake = MastodonFake(server, "mentions")
    [first, second] = fake.add(2, text="@brightloaf is the shop open on Sunday?")
    _listened(repo, settings, fake, ws)
    Inbox(repo).set_rules(ws, template_threshold=2)
    base = f"/api/workspaces/{ws}/inbox"
    text = "Yes, from 8 to 14!"
    made = client.post(base + "/templates", json={"name": "Sunday hours", "text": text})
    assert made.status_code == 201 and made.json()["sent"] == 0
    assert (
        client.post(base + "/templates", json={"name": "Sunday hours", "text": "x"}).status_code
        == 409
    )

    items = client.get(base + "/conversations").json()["items"]
    by_post = {}
    for c in items:
        posts = client.get(f"{base}/conversations/{c['id']}").json()["posts"]
        by_post[posts[0]["external_id"]] = c["id"]
    answered = client.post(f"{base}/conversations/{by_post[first]}/reply", json={"text": text})
    assert answered.status_code == 201, answered.text
    out = answered.json()
    assert out["to"] == first and out["stored"] is True
    assert out["conversation"]["status"] == "done" and out["conversation"]["answered_at"]
    [sent] = fake.posted
    assert sent["in_reply_to_id"] == first.rsplit("/", 1)[1]

    # Once more with the same words reaches the threshold (2): the next one asks first.
    url = f"{base}/conversations/{by_post[second]}/reply"
    assert client.post(url, json={"text": f"@u1 {text}"}).status_code == 201
    [template] = client.get(base + "/templates").json()
    assert (template["sent"], template["flagged"]) == (2, True)
    client.post(f"{base}/conversations/{by_post[second]}/status", json={"status": "open"})
    warned = client.post(url, json={"text": text.upper()})
    assert warned.status_code == 409 and "be authentic" in warned.json()["detail"]
    assert len(fake.posted) == 2
    assert client.post(url, json={"text": text, "send_anyway": True}).status_code == 201
    assert len(fake.posted) == 3
    assert client.get(base + "/metrics").json()["response_rate"] == 1.0


def test_reply_without_credentials_says_so(
    repo: Repository, settings: Settings, server: FeedServer
) -> None:
    settings = settings.model_copy(update={"http_allow_private": True})
    client, ws = _client(repo, settings)
    fake = MastodonFake(server, "hashtag")
    fake.add(1, text="Is the shop open on Sunday?")
    _listened(repo, settings, fake, ws, token=False)
    [conv] = client.get(f"/api/workspaces/{ws}/inbox/conversations").json()["items"]
    answer = client.post(
        f"/api/workspaces/{ws}/inbox/conversations/{conv['id']}/reply", json={"text": "Yes!"}
    )
    assert answer.status_code == 422 and "no credentials (access_token)" in answer.json()["detail"]
    assert fake.posted == []


def test_a_reply_sent_from_the_web_goes_through_the_alerts_hook(
    repo: Repository, settings: Settings, server: FeedServer
) -> None:
    """A reply is stored like every listened post: the alerts hook runs after its batch, so
    post rules move past it at once (they ignore the brand's own posts, but must not find
    them "new" later). The watermark seen here is SQLite's id; on PostgreSQL rules read in
    commit order, which other transactions of the shared test server can hold back."""
    if repo.engine.dialect.name != "sqlite":
        pytest.skip("the commit-order watermark depends on the whole server's transactions")
    settings = settings.model_copy(update={"http_allow_private": True})
    client, ws = _client(repo, settings)
    fake = MastodonFake(server, "mentions")
    [asked] = fake.add(1, text="@brightloaf is the shop open on Sunday?")
    _listened(repo, settings, fake, ws)
    alerts = AlertService(AlertStore(repo.engine), settings)
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    rule = alerts.add_rule(ws, "brand", "mention", topic="brand", emails=["team@example.com"])
    alerts.evaluate(ws)  # the rule has seen the question
    store = AlertStore(repo.engine)
    assert not store.frontier(ws).behind(mark_of(store.rule(ws, rule.rule.name)))

    base = f"/api/workspaces/{ws}/inbox"
    [conv] = client.get(base + "/conversations").json()["items"]
    answered = client.post(f"{base}/conversations/{conv['id']}/reply", json={"text": "Yes!"})
    assert answered.status_code == 201, answered.text
    [reply] = [p for p in repo.recent_posts(ws, 10) if p.is_own]
    assert reply.is_own and reply.in_reply_to == asked
    # The hook evaluated the rule after the reply's batch: nothing is left for it to read.
    assert not store.frontier(ws).behind(mark_of(store.rule(ws, rule.rule.name)))
