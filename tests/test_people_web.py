"""People in the REST API (token, paging, roles, OpenAPI) and the pages (escaping, forms)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.repository import Repository
from goodwill.web.app import create_app
from tests.webclient import csrf, logged_in, make_user

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _seed(repo: Repository, settings: Settings, n: int = 3) -> int:
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    now = datetime.now(UTC)
    rows: list[tuple[str, Any]] = [
        (
            str(i),
            {
                "id": str(i),
                "source": "mastodon",
                "text": f"Brightloaf loaf number {i} {HOSTILE}",
                "created_at": (now - timedelta(minutes=i)).isoformat(),
                "author": {"id": f"a{i}", "handle": f"@u{i}", "name": f"{HOSTILE} {i}"},
            },
        )
        for i in range(n)
    ]
    report = Ingestor(repo, settings).ingest(ws, rows)
    assert report.problem_count == 0
    return ws


def _token_client(repo: Repository, settings: Settings, ws: int, role: Role) -> TestClient:
    user = make_user(repo, f"{role.value}@example.com", workspace_id=ws, role=role)
    _, raw = Accounts(repo.engine).create_token(user.id, "t")
    return TestClient(create_app(repo, settings), headers={"Authorization": f"Bearer {raw}"})


def test_api_lists_pages_and_records(repo: Repository, settings: Settings) -> None:
    ws = _seed(repo, settings, n=5)
    client = _token_client(repo, settings, ws, Role.RESPONDER)
    base = f"/api/workspaces/{ws}/people"
    first = client.get(base, params={"limit": 2}).json()
    assert first["total"] == 5 and len(first["items"]) == 2 and first["next_offset"] == 2
    seen = [p["id"] for p in first["items"]]
    offset = first["next_offset"]
    while offset is not None:
        page = client.get(base, params={"limit": 2, "offset": offset}).json()
        seen += [p["id"] for p in page["items"]]
        offset = page["next_offset"]
    assert len(set(seen)) == 5
    pid = seen[0]
    assert client.post(f"{base}/{pid}/labels", json={"label": "Customer"}).json() == {
        "kind": "role",
        "value": "customer",
    }
    assert client.post(f"{base}/{pid}/notes", json={"text": "likes rye"}).status_code == 201
    r = client.post(f"{base}/{pid}/nurture", json={"action": "thanked", "note": "DM"})
    assert r.status_code == 201 and r.json()["by"] == "responder@example.com"
    assert client.post(f"{base}/{pid}/nurture", json={"action": "bribe"}).status_code == 422
    case = client.post(f"{base}/{pid}/cases", json={}).json()["id"]
    step = client.post(f"{base}/{pid}/cases/{case}", json={"status": "resolved"}).json()
    assert step["status"] == "resolved" and step["resolved_by"] == "responder@example.com"
    again = client.post(f"{base}/{pid}/cases/{case}", json={"status": "resolved"})
    assert again.status_code == 422
    detail = client.get(f"{base}/{pid}").json()
    assert detail["person"]["roles"] == ["customer"]
    assert {i["kind"] for i in detail["timeline"]} >= {"mention", "note", "nurture", "case"}
    merged = client.post(f"{base}/{pid}/merge", json={"other_id": seen[1]}).json()
    assert len(merged["identities"]) == 2
    other_identity = merged["identities"][1]["id"]
    split = client.post(f"{base}/{pid}/identities/{other_identity}/unmerge").json()
    assert split["id"] != pid and len(split["identities"]) == 1
    assert client.get(f"{base}/{pid}/export").json()["person"]["id"] == pid
    # Forgetting needs an admin.
    assert client.delete(f"{base}/{pid}").status_code == 403
    admin = _token_client(repo, settings, ws, Role.ADMIN)
    assert admin.delete(f"{base}/{pid}").json()["posts_deleted"] == 1
    assert admin.get(f"{base}/{pid}").status_code == 404
    assert client.get(base, params={"standing": "famous"}).status_code == 422
    client.post(f"{base}/{seen[2]}/labels", json={"label": "partner"})
    (due,) = client.get(f"{base}/reminders").json()
    assert due["person"]["id"] == seen[2] and due["days_since_contact"] is None
    viewer = _token_client(repo, settings, ws, Role.VIEWER)
    assert viewer.post(f"{base}/{seen[2]}/notes", json={"text": "x"}).status_code == 403
    schema = client.get("/api/openapi.json").json()
    assert "/api/workspaces/{workspace_id}/people" in schema["paths"]
    assert "/api/workspaces/{workspace_id}/people/{person_id}/cases/{case_id}" in schema["paths"]


def test_pages_escape_third_party_text_and_forms_work(repo: Repository, settings: Settings) -> None:
    ws = _seed(repo, settings, n=2)
    make_user(repo, "admin@example.com", workspace_id=ws, role=Role.ADMIN)
    client = logged_in(repo, settings, "admin@example.com")
    page = client.get(f"/w/{ws}/people")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert f'href="/w/{ws}/people"' in page.text  # the nav link
    people = client.get(f"/api/workspaces/{ws}/people").json()["items"]
    pid = people[0]["id"]
    profile = client.get(f"/w/{ws}/people/{pid}")
    assert profile.status_code == 200 and "<img src=x" not in profile.text
    assert "Advocate score" in profile.text
    token = csrf(client, f"/w/{ws}/people/{pid}")
    r = client.post(
        f"/w/{ws}/people/{pid}/nurture",
        data={"action": "gift sent", "note": f"a loaf {HOSTILE}", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    profile = client.get(f"/w/{ws}/people/{pid}").text
    assert "gift sent" in profile and "&lt;script&gt;" in profile and "<script>alert" not in profile
    # Without the CSRF token, nothing is recorded.
    r = client.post(f"/w/{ws}/people/{pid}/notes", data={"text": "sneaky"})
    assert r.status_code == 403
    # Forget asks for the name first.
    assert "Type their name" in client.get(f"/w/{ws}/people/{pid}/forget").text
    wrong = client.post(
        f"/w/{ws}/people/{pid}/forget", data={"confirm": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 422
    name = people[0]["name"]
    done = client.post(
        f"/w/{ws}/people/{pid}/forget",
        data={"confirm": name, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get(f"/w/{ws}/people/{pid}").status_code == 404
    export = client.get(f"/w/{ws}/people/{people[1]['id']}/export.json")
    assert export.headers["content-type"] == "application/json"
    assert export.json()["person"]["id"] == people[1]["id"]
