"""The web stream: renders mentions, keeps hostile text inert, keeps workspaces apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.accounts import Role
from goodwill.store.repository import Repository
from tests.webclient import logged_in, make_user

HOSTILE = [
    "<script>alert('x')</script> Brightloaf",
    '<img src=x onerror="alert(1)"> Brightloaf',
    "Brightloaf <svg onload=alert(1)>",
    '"><iframe src=javascript:alert(1)> Brightloaf',
]


def seed(repo: Repository, settings: Settings) -> tuple[int, int]:
    a = repo.add_workspace("Brightloaf")
    b = repo.add_workspace("Other brand")
    repo.add_topic(a.id, "brand", TopicKind.BRAND, "brightloaf")
    repo.add_topic(b.id, "secret", TopicKind.BRAND, "classified")
    now = datetime.now(UTC)
    posts = [
        {
            "id": str(i),
            "source": "x",
            "text": text,
            "created_at": (now - timedelta(minutes=i)).isoformat(),
            "url": f"https://x.example/status/{i}",
            "author": {"id": "u", "handle": "<b>@evil</b>", "name": "<script>n</script>"},
        }
        for i, text in enumerate(HOSTILE)
    ]
    ing = Ingestor(repo, settings)
    ing.ingest(a.id, [(str(i), p) for i, p in enumerate(posts)])
    secret = {"id": "s", "source": "x", "text": "classified plans", "created_at": now.isoformat()}
    ing.ingest(b.id, [("0", secret)])
    make_user(repo, "a@example.com", workspace_id=a.id, role=Role.RESPONDER)
    return a.id, b.id


def test_stream_renders_escaped_with_csp(repo: Repository, settings: Settings) -> None:
    a, _ = seed(repo, settings)
    client = logged_in(repo, settings, "a@example.com")
    page = client.get(f"/w/{a}/mentions")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    for raw in ("<script>alert", "<img src=x", "<svg onload", "<iframe", "<b>@evil"):
        assert raw not in html
    assert html.count('<li class="mention') == 4


def test_search_and_filters(repo: Repository, settings: Settings) -> None:
    a, _ = seed(repo, settings)
    client = logged_in(repo, settings, "a@example.com")
    html = client.get(f"/w/{a}/mentions", params={"q": "svg"}).text
    assert html.count('<li class="mention') == 1
    assert "No mentions match" in client.get(f"/w/{a}/mentions", params={"q": "zzz"}).text


def test_other_workspace_topics_are_not_reachable(repo: Repository, settings: Settings) -> None:
    a, b = seed(repo, settings)
    client = logged_in(repo, settings, "a@example.com")
    secret = repo.topic(b, "secret").id
    assert client.get(f"/w/{a}/mentions", params={"topic": secret}).status_code == 404
    assert "classified" not in client.get(f"/w/{a}/mentions").text
    assert client.get("/w/999/mentions").status_code == 404
    # B exists, but A's user is no member: it answers as if B did not exist.
    assert client.get(f"/w/{b}/mentions").status_code == 404
