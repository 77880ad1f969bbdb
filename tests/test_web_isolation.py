"""Workspace isolation: every route, walked as a member of workspace A against workspace B.

Routes are enumerated from the application (``iter_route_contexts``), so a route added later
is covered without anyone editing this test; a route with a path parameter this test does not
know fails it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.repository import MentionFilter, Repository
from goodwill.store.tables import ApiToken, Correction
from goodwill.web.app import create_app
from tests.webclient import csrf, logged_in, make_user

SECRET = "zebracorn"  # appears only in workspace B's data
FORM = {
    "label": "negative",
    "name": "x",
    "kind": "brand",
    "query": "x",
    "config": "{}",
    "email": "a@example.com",
    "role": "viewer",
    "enabled": "true",
    "names": "x",
    "confirm": f"Beta {SECRET}",  # the name that would confirm deleting B
}
JSON = {"label": "negative", "name": "x", "kind": "brand", "query": "x", "config": {}}


def _seed(repo: Repository, settings: Settings) -> dict[str, int]:
    a = repo.add_workspace("Alpha")
    b = repo.add_workspace(f"Beta {SECRET}")
    repo.add_topic(a.id, "alpha", TopicKind.BRAND, "alpha")
    tb = repo.add_topic(b.id, f"topic {SECRET}", TopicKind.BRAND, SECRET)
    sb = repo.add_source(b.id, "rss", f"feed {SECRET}", {"url": "https://b.example/f"}, 900)
    now = datetime.now(UTC).isoformat()
    Ingestor(repo, settings).ingest(
        b.id, [("0", {"id": "1", "source": "x", "text": f"{SECRET} plans", "created_at": now})]
    )
    post = repo.mentions(b.id, MentionFilter()).posts[0]
    # A's user has the highest role in A: any refusal below comes from isolation, not rank.
    make_user(repo, "a@example.com", workspace_id=a.id, role=Role.OWNER)
    ub = make_user(repo, f"{SECRET}@example.com", workspace_id=b.id, role=Role.OWNER)
    token, _ = Accounts(repo.engine).create_token(ub.id, f"token {SECRET}")
    return {
        "a": a.id,
        "workspace_id": b.id,
        "topic_id": tb.id,
        "source_id": sb.id,
        "post_id": post.id,
        "token_id": token.id,
        "user_id": ub.id,
    }


def _b_state(repo: Repository, ids: dict[str, int]) -> tuple[object, ...]:
    with Session(repo.engine) as s:
        corrections = s.scalar(select(func.count()).select_from(Correction))
        tokens = s.scalar(select(func.count()).select_from(ApiToken))
    b = ids["workspace_id"]
    members = [(u.email, r) for u, r in Accounts(repo.engine).members(b)]
    topics = [(t.name, t.query, t.enabled) for t in repo.topics(b)]
    sources = [(s.name, s.config, s.enabled) for s in repo.sources(b)]
    names = [w.name for w in repo.workspaces()]
    return names, topics, sources, members, corrections, tokens, repo.post_count(b)


def test_no_route_reaches_another_workspace(repo: Repository, settings: Settings) -> None:
    ids = _seed(repo, settings)
    before = _b_state(repo, ids)
    client = logged_in(repo, settings, "a@example.com")
    token = csrf(client)
    app = create_app(repo, settings)
    walked = 0
    # Flattened: included routers (pages, API) yield each of their routes with its full path.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.route, APIRoute) or not route.methods:
            continue
        params = re.findall(r"{(\w+)}", route.path)
        unknown = set(params) - set(ids)
        assert not unknown, f"{route.path}: teach this test about {unknown}"
        if not params:
            if "GET" in route.methods and route.path != "/api/workspaces/{workspace_id}/live":
                body = client.get(route.path).text
                assert SECRET not in body, route.path
            continue
        variants = [dict(ids)]
        if set(params) - {"workspace_id"}:
            variants.append({**ids, "workspace_id": ids["a"]})  # A's workspace, B's objects
        for values in variants:
            path = route.path.format(**{p: values[p] for p in params})
            for method in sorted(route.methods):
                kwargs: dict[str, object] = {"headers": {"X-CSRF-Token": token}}
                if method in ("POST", "PUT", "PATCH"):
                    if path.startswith("/api"):
                        kwargs["json"] = JSON
                    else:
                        kwargs["data"] = {**FORM, "csrf_token": token}
                if method == "DELETE":
                    kwargs["params"] = {"confirm": f"Beta {SECRET}"}
                answer = client.request(method, path, follow_redirects=False, **kwargs)
                assert answer.status_code in (403, 404), (method, path, answer.status_code)
                assert SECRET not in answer.text, (method, path)
                walked += 1
    assert walked > 40
    assert _b_state(repo, ids) == before
