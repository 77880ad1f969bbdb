"""The REST API with a token: paging, sources (tested over real HTTP), topics, live events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.repository import Repository
from goodwill.web.app import create_app
from tests.feedserver import FeedServer, Reply, loopback_only, running_server
from tests.test_listen import feed
from tests.webclient import logged_in, make_user


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    loopback_only(monkeypatch)
    with running_server() as srv:
        yield srv


def _api(repo: Repository, settings: Settings, role: Role = Role.ADMIN) -> tuple[TestClient, int]:
    ws = repo.add_workspace("A")
    user = make_user(repo, "a@example.com", workspace_id=ws.id, role=role)
    _, raw = Accounts(repo.engine).create_token(user.id, "test")
    client = TestClient(create_app(repo, settings), headers={"Authorization": f"Bearer {raw}"})
    return client, ws.id


def _posts(n: int, start: int = 0) -> list[tuple[str, dict[str, object]]]:
    now = datetime.now(UTC)
    return [
        (
            str(i),
            {
                "id": str(i),
                "source": "x",
                "text": f"acme post number {i}",
                "created_at": (now - timedelta(minutes=i)).isoformat(),
            },
        )
        for i in range(start, start + n)
    ]


def test_mentions_are_paged_with_cursors(repo: Repository, settings: Settings) -> None:
    client, ws = _api(repo, settings)
    repo.add_topic(ws, "acme", TopicKind.BRAND, "acme")
    Ingestor(repo, settings).ingest(ws, _posts(125))
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"/api/workspaces/{ws}/mentions", params=params).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 125
    times = [m["created_at"] for m in client.get(f"/api/workspaces/{ws}/mentions").json()["items"]]
    assert times == sorted(times, reverse=True)
    assert client.get(f"/api/workspaces/{ws}/mentions?cursor=garbage").status_code == 400
    assert client.get(f"/api/workspaces/{ws}/mentions?since=yesterday").status_code == 422
    found = client.get(f"/api/workspaces/{ws}/mentions", params={"q": '"number 7"'}).json()
    assert [m["text"] for m in found["items"]] == ["acme post number 7"]


def test_sources_add_test_patch_delete(
    repo: Repository, settings: Settings, server: FeedServer
) -> None:
    settings = settings.model_copy(update={"http_allow_private": True})
    client, ws = _api(repo, settings)
    url = server.serve("/feed.xml", Reply(feed("Fresh rye today", "Oven news")))
    bad = client.post(f"/api/workspaces/{ws}/sources", json={"kind": "nope", "url": url})
    assert bad.status_code == 422 and "unknown source kind" in bad.json()["detail"]
    made = client.post(
        f"/api/workspaces/{ws}/sources", json={"kind": "rss", "name": "blog", "url": url}
    )
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    tested = client.post(f"/api/workspaces/{ws}/sources/{sid}/test").json()
    assert tested["ok"] and tested["posts"] == 2 and "Fresh rye today" in tested["sample"][0]
    assert repo.post_count(ws) == 0  # a test stores nothing
    missing = server.url("/gone.xml")
    client.patch(f"/api/workspaces/{ws}/sources/{sid}", json={"config": {"url": missing}})
    failing = client.post(f"/api/workspaces/{ws}/sources/{sid}/test").json()
    assert not failing["ok"] and "404" in failing["message"]
    off = client.patch(f"/api/workspaces/{ws}/sources/{sid}", json={"enabled": False}).json()
    assert off["enabled"] is False and off["config"]["url"] == missing
    assert client.delete(f"/api/workspaces/{ws}/sources/{sid}").status_code == 204
    assert client.get(f"/api/workspaces/{ws}/sources").json() == []


def test_topics_crud_and_query_errors(repo: Repository, settings: Settings) -> None:
    client, ws = _api(repo, settings)
    base = f"/api/workspaces/{ws}/topics"
    bad = client.post(base, json={"name": "t", "kind": "brand", "query": "a AND (b"})
    assert bad.status_code == 422 and bad.json()["detail"]["column"] >= 1
    made = client.post(base, json={"name": "t", "kind": "brand", "query": "acme"}).json()
    again = client.post(base, json={"name": "t", "kind": "brand", "query": "acme"})
    assert again.status_code == 409
    changed = client.put(
        f"{base}/{made['id']}",
        json={"name": "renamed", "kind": "campaign", "query": "acme OR ac*", "enabled": False},
    ).json()
    assert changed == {
        "id": made["id"],
        "name": "renamed",
        "kind": "campaign",
        "query": "acme OR ac*",
        "enabled": False,
    }
    assert client.delete(f"{base}/{made['id']}").status_code == 204
    assert client.get(f"{base}/{made['id']}").status_code == 404


def test_viewer_token_reads_but_cannot_change(repo: Repository, settings: Settings) -> None:
    client, ws = _api(repo, settings, Role.VIEWER)
    assert client.get(f"/api/workspaces/{ws}/topics").status_code == 200
    made = client.post(
        f"/api/workspaces/{ws}/topics", json={"name": "t", "kind": "brand", "query": "x"}
    )
    assert made.status_code == 403


def test_live_events_announce_new_mentions(repo: Repository, settings: Settings) -> None:
    client, ws = _api(repo, settings)
    repo.add_topic(ws, "acme", TopicKind.BRAND, "acme")
    Ingestor(repo, settings).ingest(ws, _posts(3))
    newest = max(m["id"] for m in client.get(f"/api/workspaces/{ws}/mentions").json()["items"])
    quiet = client.get(f"/api/workspaces/{ws}/live", params={"after": newest, "once": True})
    assert quiet.headers["content-type"].startswith("text/event-stream")
    assert "event: mention" not in quiet.text
    Ingestor(repo, settings).ingest(ws, _posts(2, start=100))
    fresh = client.get(f"/api/workspaces/{ws}/live", params={"after": newest, "once": True})
    assert fresh.text.count("event: mention") == 2
    assert f"id: {newest + 1}" in fresh.text
    # A reconnecting browser sends Last-Event-ID and misses nothing, repeats nothing.
    resumed = client.get(
        f"/api/workspaces/{ws}/live",
        params={"once": True},
        headers={"Last-Event-ID": str(newest + 1)},
    )
    assert resumed.text.count("event: mention") == 1


def test_viewers_see_source_credentials_masked(repo: Repository, settings: Settings) -> None:
    client, ws = _api(repo, settings, Role.VIEWER)
    config = {"url": "https://feed.example/x", "api_token": "s3cret", "password": ""}
    src = repo.add_source(ws, "rss", "private feed", config, 900)
    shown = client.get(f"/api/workspaces/{ws}/sources").json()[0]["config"]
    assert shown == {"url": "https://feed.example/x", "api_token": "•••", "password": ""}
    page = logged_in(repo, settings, "a@example.com").get(f"/w/{ws}/sources/{src.id}")
    assert page.status_code == 200 and "private feed" in page.text and "s3cret" not in page.text


def test_a_change_through_the_api_is_seen_at_once_with_the_figures_cache_on(
    repo: Repository, settings: Settings
) -> None:
    cached = settings.model_copy(update={"figures_cache_seconds": 600.0})
    client, ws = _api(repo, cached)
    repo.add_topic(ws, "acme", TopicKind.BRAND, "acme")
    Ingestor(repo, cached).ingest(ws, _posts(5))
    url = f"/api/workspaces/{ws}/dashboard?days=7"

    def negatives() -> int:
        series = client.get(url).json()["sentiment"]
        return sum(sum(s["by_day"].values()) for s in series if s["label"] == "negative")

    before = negatives()
    assert negatives() == before  # served from the cache
    post = client.get(f"/api/workspaces/{ws}/mentions").json()["items"][0]
    fixed = client.post(
        f"/api/workspaces/{ws}/mentions/{post['id']}/sentiment", json={"label": "negative"}
    )
    assert fixed.status_code == 201
    assert post["sentiment"]["label"] != "negative"
    assert negatives() == before + 1
