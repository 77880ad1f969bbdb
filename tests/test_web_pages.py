"""Every page renders on the demo world, and what users do on them works end to end."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from goodwill.demo import BRAND, TOPICS, demo_posts
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.repository import Repository
from tests.webclient import csrf, logged_in, make_user


@pytest.fixture
def demo(repo: Repository, settings: Settings) -> tuple[TestClient, int]:
    ws = repo.add_workspace(BRAND["workspace"], default=True)
    for t in TOPICS:
        repo.add_topic(ws.id, t["name"], TopicKind(t["kind"]), t["query"])
    Ingestor(repo, settings).ingest(ws.id, [(str(i), p) for i, p in enumerate(demo_posts())])
    make_user(repo, "owner@example.com", owner=True)
    return logged_in(repo, settings, "owner@example.com"), ws.id


def test_every_page_renders(demo: tuple[TestClient, int]) -> None:
    client, ws = demo
    topic = client.get(f"/api/workspaces/{ws}/topics").json()[0]["id"]
    for path in (
        "/",
        f"/w/{ws}/dashboard",
        f"/w/{ws}/dashboard?days=7",
        f"/w/{ws}/mentions",
        f"/w/{ws}/mentions?sentiment=negative&own=exclude&since=2020-01-01",
        f"/w/{ws}/topics",
        f"/w/{ws}/topics/new",
        f"/w/{ws}/topics/{topic}",
        f"/w/{ws}/sources",
        f"/w/{ws}/settings",
        "/account",
        "/setup",
        f"/w/{ws}/setup/competitors",
        f"/w/{ws}/setup/industry",
        f"/w/{ws}/setup/sources",
    ):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert "<html" in page.text
    dash = client.get(f"/w/{ws}/dashboard").text
    assert "Share of voice" in dash and "Crumbly &amp; Co" in dash


def test_one_mention_has_the_same_topics_and_repeats_as_the_stream(
    demo: tuple[TestClient, int],
) -> None:
    client, ws = demo
    items = client.get(f"/api/workspaces/{ws}/mentions?limit=200").json()["items"]
    repeated = [m for m in items if m["repeats"]]
    assert repeated  # the demo has reposts and copies
    for m in repeated[:3] + items[:3]:
        one = client.get(f"/api/workspaces/{ws}/mentions/{m['id']}").json()
        assert (one["topic_ids"], one["repeats"]) == (m["topic_ids"], m["repeats"])


def test_stream_pages_with_a_keyset_cursor(demo: tuple[TestClient, int]) -> None:
    client, ws = demo
    first = client.get(f"/w/{ws}/mentions").text
    ids = re.findall(r'id="m-(\d+)"', first)
    assert len(ids) == 50
    more = re.search(r'class="more" href="\?([^"]+)"', first)
    assert more
    second = client.get(f"/w/{ws}/mentions?" + more.group(1).replace("&amp;", "&")).text
    ids2 = re.findall(r'id="m-(\d+)"', second)
    assert ids2 and not set(ids) & set(ids2)


def test_correct_a_sentiment_and_export_it(demo: tuple[TestClient, int]) -> None:
    client, ws = demo
    api = client.get(f"/api/workspaces/{ws}/mentions?limit=1").json()["items"][0]
    token = csrf(client)
    answer = client.post(
        f"/w/{ws}/mentions/{api['id']}/sentiment",
        data={"label": "negative"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert "negative ✓" in answer.text
    again = client.get(f"/api/workspaces/{ws}/mentions/{api['id']}").json()
    before = api["sentiment"] or {}
    assert again["sentiment"]["label"] == "negative"
    assert again["sentiment"]["corrected"] is True
    assert again["sentiment"]["model_label"] == before.get("model_label", before.get("label"))
    filtered = client.get(f"/api/workspaces/{ws}/mentions", params={"sentiment": "negative"})
    negative = [m["id"] for m in filtered.json()["items"]]
    assert negative[0] == api["id"]  # the newest mention, now negative by a person's word
    positive = client.get(f"/api/workspaces/{ws}/mentions", params={"sentiment": "positive"})
    assert api["id"] not in [m["id"] for m in positive.json()["items"]]
    exported = client.get(f"/w/{ws}/corrections.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"{api['id']},negative" in exported.text
    assert client.get(f"/api/workspaces/{ws}/corrections").json()["items"][0]["label"] == "negative"
    bad = client.post(
        f"/w/{ws}/mentions/{api['id']}/sentiment",
        data={"label": "furious"},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 422


def test_topic_editor_marks_errors_and_previews(demo: tuple[TestClient, int]) -> None:
    client, ws = demo
    token = csrf(client)
    bad = client.post(
        f"/w/{ws}/preview", data={"query": "sourdough AND (late"}, headers={"X-CSRF-Token": token}
    )
    assert 'class="at"' in bad.text and "Column" in bad.text
    good = client.post(
        f"/w/{ws}/preview", data={"query": "sourdough"}, headers={"X-CSRF-Token": token}
    )
    matched = int(re.search(r'class="matched">(\d+)<', good.text).group(1))
    assert matched > 0 and good.text.count('<li class="mention">') == min(matched, 20)
    created = client.post(
        f"/w/{ws}/topics/new",
        data={"name": "Rye", "kind": "campaign", "query": "rye", "csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code == 303
    assert "Rye" in client.get(f"/w/{ws}/topics").text
    refused = client.post(
        f"/w/{ws}/topics/new",
        data={"name": "Broken", "kind": "brand", "query": "a NEAR/ b", "csrf_token": token},
    )
    assert refused.status_code == 422 and "Column" in refused.text
    check = client.post(
        f"/api/workspaces/{ws}/query/check",
        json={"query": '"open'},
        headers={"X-CSRF-Token": token},
    )
    assert check.json()["valid"] is False and check.json()["column"] >= 1


def test_dashboard_api_counts_what_the_stream_shows(demo: tuple[TestClient, int]) -> None:
    client, ws = demo
    data = client.get(f"/api/workspaces/{ws}/dashboard", params={"days": 90}).json()
    per_topic = {v["topic"]: sum(v["by_day"].values()) for v in data["volume"]}
    counts = client.get(f"/w/{ws}/topics").text
    for name, n in per_topic.items():
        assert n > 0
        assert f"{n} mentions" in counts, name
    assert abs(sum(t["share"] for t in data["share_of_voice"]) - 1) < 0.01
    assert data["top_people"] and data["top_people"][0]["posts"] >= data["top_people"][-1]["posts"]


def test_analysis_is_shown_when_present_and_absent_is_fine(
    demo: tuple[TestClient, int], repo: Repository
) -> None:
    """``posts.analysis`` is filled by the analysis step: show it when there, degrade when not."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from goodwill.store.tables import Post

    client, ws = demo
    items = client.get(f"/api/workspaces/{ws}/mentions?limit=2").json()["items"]
    analysed, bare = items[0]["id"], items[1]["id"]
    analysis = {"sentiment": {"label": "positive", "confidence": 0.87}, "intent": "praise"}
    with Session(repo.engine) as s, s.begin():
        s.execute(update(Post).where(Post.id == analysed).values(analysis=analysis))
        s.execute(update(Post).where(Post.id == bare).values(analysis={}))
    html = client.get(f"/w/{ws}/mentions").text
    block = html.split(f'id="sent-{analysed}"')[1].split("</div>")[0]
    assert "positive · 87%" in block and '<span class="intent">praise</span>' in block
    assert "no sentiment" in html.split(f'id="sent-{bare}"')[1].split("</div>")[0]
    only = client.get(f"/api/workspaces/{ws}/mentions", params={"intent": "praise"}).json()
    praised = [m["id"] for m in only["items"]]
    assert analysed in praised and bare not in praised
    assert only["items"][0]["sentiment"]["confidence"] == 0.87
    dash = client.get(f"/api/workspaces/{ws}/dashboard").json()
    positive = next(s for s in dash["sentiment"] if s["label"] == "positive")
    assert sum(positive["by_day"].values()) >= 1  # the demo's own labels are counted too
