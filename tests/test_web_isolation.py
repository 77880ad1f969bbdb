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

from goodwill.alerts import AlertService
from goodwill.domain import TopicKind
from goodwill.inbox import Inbox
from goodwill.inbox.reply_templates import ReplyTemplates
from goodwill.ingest import Ingestor
from goodwill.people import People
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.alerts import AlertStore
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
    "status": "done",  # "resolved" for people's cases: see the walk
    "text": "x",
    "action": "thanked",
    "other_id": "1",
    "confirm": f"Beta {SECRET}",  # the name that would confirm deleting B
}
JSON = {
    "label": "negative",
    "name": "x",
    "kind": "brand",
    "query": "x",
    "config": {},
    "text": "x",
    "status": "done",
    "assignee": None,
    "action": "thanked",
    "other_id": 1,
}


def _seed(repo: Repository, settings: Settings) -> dict[str, int]:
    a = repo.add_workspace("Alpha")
    b = repo.add_workspace(f"Beta {SECRET}")
    repo.add_topic(a.id, "alpha", TopicKind.BRAND, "alpha")
    tb = repo.add_topic(b.id, f"topic {SECRET}", TopicKind.BRAND, SECRET)
    sb = repo.add_source(b.id, "rss", f"feed {SECRET}", {"url": "https://b.example/f"}, 900)
    now = datetime.now(UTC).isoformat()
    Ingestor(repo, settings).ingest(
        b.id,
        [
            (
                "0",
                {
                    "id": "1",
                    "source": "x",
                    "text": f"{SECRET} plans",
                    "created_at": now,
                    "author": {"id": "b1", "handle": f"@{SECRET}", "name": f"{SECRET} fan"},
                },
            )
        ],
    )
    post = repo.mentions(b.id, MentionFilter()).posts[0]
    Ingestor(repo, settings).ingest(
        b.id,
        [("1", {"id": "2", "source": "x", "text": f"is {SECRET} open?", "created_at": now})],
    )
    inbox = Inbox(repo)
    inbox.refresh(b.id)
    [conversation] = inbox.conversations(b.id)
    template = ReplyTemplates(inbox).add(b.id, f"template {SECRET}", f"{SECRET} reply")
    people = People(repo, settings)
    (person,), _ = people.list_people(b.id)
    case_id = people.open_case(b.id, person.id, "b", note=SECRET)
    people.add_note(b.id, person.id, "b", SECRET)
    # A's user has the highest role in A: any refusal below comes from isolation, not rank.
    make_user(repo, "a@example.com", workspace_id=a.id, role=Role.OWNER)
    ub = make_user(repo, f"{SECRET}@example.com", workspace_id=b.id, role=Role.OWNER)
    token, _ = Accounts(repo.engine).create_token(ub.id, f"token {SECRET}")
    rule = AlertService(AlertStore(repo.engine), settings).add_rule(
        b.id, f"rule {SECRET}", "mention", topic=tb.name, emails=[f"{SECRET}@b.example"]
    )
    AlertStore(repo.engine).feed_token(b.id)
    return {
        "a": a.id,
        "workspace_id": b.id,
        "topic_id": tb.id,
        "source_id": sb.id,
        "post_id": post.id,
        "token_id": token.id,
        "user_id": ub.id,
        "conversation_id": conversation.id,
        "template_id": template.id,
        "rule_id": rule.rule.id,
        "endpoint_id": rule.endpoints[0].id,
        "token": 0,  # the feed's secret is the only key: a wrong one answers 404
        "person_id": person.id,
        "case_id": case_id,
        "identity_id": person.identities[0]["id"],
    }


def _b_state(repo: Repository, ids: dict[str, int]) -> tuple[object, ...]:
    with Session(repo.engine) as s:
        corrections = s.scalar(select(func.count()).select_from(Correction))
        tokens = s.scalar(select(func.count()).select_from(ApiToken))
    b = ids["workspace_id"]
    members = [(u.email, r) for u, r in Accounts(repo.engine).members(b)]
    topics = [(t.name, t.query, t.enabled) for t in repo.topics(b)]
    sources = [(s.name, s.config, s.enabled) for s in repo.sources(b)]
    inbox = Inbox(repo)
    conversations = [(v.status, v.assignee) for v in inbox.conversations(b)]
    notes = [n.text for v in inbox.conversations(b) for n in inbox.notes(b, v.id)]
    templates = [t.name for t in ReplyTemplates(inbox).list(b)]
    inbox_state = (conversations, notes, templates)
    store = AlertStore(repo.engine)
    alerts = [(r.name, r.enabled, r.filters, r.frequency) for r in store.rules(b)]
    endpoints = [(e.target, e.enabled) for e in store.workspace_endpoints(b)]
    feed = (store.existing_feed_token(b), store.workspace_timezone(b))
    people = People(repo, Settings())
    (person,), _ = people.list_people(b)
    cases = [(c.status, c.note) for c in people.cases(b, person.id)]
    person_notes = [n.text for n in people.notes(b, person.id)]
    story = (person.roles, person.tags, person.identities, cases, person_notes)
    state = (topics, sources, members, corrections, tokens, repo.post_count(b), inbox_state)
    names = [w.name for w in repo.workspaces()]
    return (names, *state, alerts, endpoints, feed, len(store.delivery_log(b)), story)


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
                # A valid status for each kind of object, so refusals come from isolation.
                status = "resolved" if "/people/" in route.path else "done"
                if method in ("POST", "PUT", "PATCH"):
                    if path.startswith("/api"):
                        kwargs["json"] = {**JSON, "status": status}
                    else:
                        kwargs["data"] = {**FORM, "status": status, "csrf_token": token}
                if method == "DELETE":
                    kwargs["params"] = {"confirm": f"Beta {SECRET}"}
                answer = client.request(method, path, follow_redirects=False, **kwargs)
                assert answer.status_code in (403, 404), (method, path, answer.status_code)
                assert SECRET not in answer.text, (method, path)
                walked += 1
    assert walked > 40
    assert _b_state(repo, ids) == before
