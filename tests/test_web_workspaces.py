"""Renaming and deleting a workspace: owners only, deleting asks for the name, and takes every
row of the workspace (and nothing of another) with it. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goodwill.domain import TopicKind
from goodwill.inbox.service import Inbox
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import MentionFilter, Repository
from goodwill.store.tables import Base, User
from goodwill.web.app import create_app
from tests.webclient import csrf, logged_in, make_user


def _fill(repo: Repository, settings: Settings, name: str) -> int:
    """A workspace with a row in as many tables as the product writes."""
    ws = repo.add_workspace(name).id
    topic = repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf OR @brightloaf")
    repo.add_source(ws, "rss", "feed", {"url": "https://feed.example/x"}, 900)
    now = datetime.now(UTC).isoformat()
    items = [
        (
            str(i),
            {
                "id": str(i),
                "source": "x",
                "text": f"@brightloaf where is my order {i}?",
                "created_at": now,
                "author": {"handle": f"p{i}"},
                "conversation_id": "c1",
            },
        )
        for i in range(5)
    ]
    Ingestor(repo, settings).ingest(ws, items)
    post = repo.mentions(ws, MentionFilter()).posts[0]
    repo.correct_label(ws, post.id, "sentiment", "negative", who="ana")
    AlertStore(repo.engine).add_rule(
        ws,
        name="every mention",
        kind="mention",
        topic_id=topic.id,
        filters={},
        params={},
        frequency="now",
        max_per_hour=20,
        endpoints=[],
    )
    Inbox(repo, settings).refresh(ws)  # people too: their rows must go with the workspace
    return ws


def _rows(repo: Repository, workspace_id: int) -> dict[str, int]:
    """Rows per table that carries ``workspace_id``, for this workspace."""
    out = {}
    with repo.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "workspace_id" in table.c:
                n = conn.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.workspace_id == workspace_id)
                )
                out[table.name] = int(n or 0)
    return out


def test_owner_renames_and_deletes_with_the_name_typed(
    repo: Repository, settings: Settings
) -> None:
    doomed = _fill(repo, settings, "Brightloaf")
    kept = _fill(repo, settings, "Crumbco")
    kept_before = _rows(repo, kept)
    filled = _rows(repo, doomed)
    for table in ("posts", "mentions", "topics", "sources", "corrections", "alert_rules"):
        assert filled[table] > 0, table
    assert filled["inbox_conversations"] > 0 and filled["rollup_post_hours"] > 0
    assert filled["people"] > 0 and filled["person_identities"] > 0
    make_user(repo, "owner@example.com", workspace_id=doomed, role=Role.OWNER)
    make_user(repo, "admin@example.com", workspace_id=doomed, role=Role.ADMIN)
    filled = _rows(repo, doomed)

    admin = logged_in(repo, settings, "admin@example.com")
    page = admin.get(f"/w/{doomed}/settings").text
    assert "Delete workspace" not in page and "/rename" not in page
    token = csrf(admin)
    for path, data in (("rename", {"name": "Mine"}), ("delete", {"confirm": "Brightloaf"})):
        answer = admin.post(f"/w/{doomed}/{path}", data={**data, "csrf_token": token})
        assert answer.status_code == 403, path
    assert repo.workspace("Brightloaf").id == doomed

    owner = logged_in(repo, settings, "owner@example.com")
    assert "Delete workspace" in owner.get(f"/w/{doomed}/settings").text
    token = csrf(owner)
    taken = owner.post(f"/w/{doomed}/rename", data={"name": "Crumbco", "csrf_token": token})
    assert taken.status_code == 422 and "exists already" in taken.text
    done = owner.post(
        f"/w/{doomed}/rename",
        data={"name": "  Brightloaf Bakery ", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert repo.workspace("Brightloaf Bakery").id == doomed

    wrong = owner.post(f"/w/{doomed}/delete", data={"confirm": "Brightloaf", "csrf_token": token})
    assert wrong.status_code == 422 and "type the workspace" in wrong.text
    assert _rows(repo, doomed) == filled
    gone = owner.post(
        f"/w/{doomed}/delete",
        data={"confirm": "Brightloaf Bakery", "csrf_token": token},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and gone.headers["location"] == "/"
    assert set(_rows(repo, doomed).values()) == {0}  # every table, posts included
    assert _rows(repo, kept) == kept_before
    assert [w.name for w in repo.workspaces()] == ["Crumbco"]
    assert Accounts(repo.engine).user_by_email("admin@example.com") is not None  # accounts stay
    assert owner.get(f"/w/{doomed}/dashboard").status_code == 404


def test_api_rename_and_delete(repo: Repository, settings: Settings) -> None:
    ws = _fill(repo, settings, "Brightloaf")
    other = _fill(repo, settings, "Crumbco")
    other_before = _rows(repo, other)
    accounts = Accounts(repo.engine)

    def client(user: User) -> TestClient:
        _, raw = accounts.create_token(user.id, "t")
        return TestClient(create_app(repo, settings), headers={"Authorization": f"Bearer {raw}"})

    admin = client(make_user(repo, "admin@example.com", workspace_id=ws, role=Role.ADMIN))
    owner = client(make_user(repo, "owner@example.com", workspace_id=ws, role=Role.OWNER))
    assert admin.patch(f"/api/workspaces/{ws}", json={"name": "X"}).status_code == 403
    assert admin.delete(f"/api/workspaces/{ws}?confirm=Brightloaf").status_code == 403
    assert owner.patch(f"/api/workspaces/{ws}", json={"name": "Crumbco"}).status_code == 409
    assert owner.patch(f"/api/workspaces/{ws}", json={"name": ""}).status_code == 422
    renamed = owner.patch(f"/api/workspaces/{ws}", json={"name": "Bakery"})
    assert renamed.status_code == 200
    assert renamed.json() == {"id": ws, "name": "Bakery", "role": "owner"}
    assert owner.delete(f"/api/workspaces/{ws}").status_code == 422  # no confirm
    assert owner.delete(f"/api/workspaces/{ws}?confirm=bakery").status_code == 422
    assert _rows(repo, ws)["posts"] == 5
    assert owner.delete(f"/api/workspaces/{ws}?confirm=Bakery").status_code == 204
    assert set(_rows(repo, ws).values()) == {0}
    assert _rows(repo, other) == other_before
    assert owner.get(f"/api/workspaces/{ws}/mentions").status_code == 404
    # the OpenAPI schema describes both
    paths = owner.get("/api/openapi.json").json()["paths"]
    assert {"patch", "delete"} <= set(paths["/api/workspaces/{workspace_id}"])
