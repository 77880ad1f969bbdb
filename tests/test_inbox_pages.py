"""The inbox pages on the real app (TestClient, logged in through the login form): the list by
priority with SLA badges and tabs, the navigation's count, a conversation with its thread,
guard, triage, notes, saved replies and the "be authentic" confirmation, roles, escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goodwill.inbox import Inbox
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.sources.credentials import seal
from goodwill.sources.mastodon import MastodonSource
from goodwill.store.accounts import Role
from goodwill.store.repository import Repository
from goodwill.web.pages import inbox as inbox_pages
from tests.webclient import csrf, logged_in, make_user

OWN = {"id": "900", "handle": "brightloaf", "name": "Brightloaf"}
HOSTILE = "<script>alert('inbox')</script>"


def _post(pid: str, minutes_ago: float, text: str, **kw: Any) -> dict[str, Any]:
    own = kw.pop("own", False)
    return {
        "id": pid,
        "source": "mastodon",
        "text": text,
        "created_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
        "author": OWN if own else {"id": f"u{pid}", "handle": f"u{pid}"},
        "is_own": own,
    } | kw


ROWS = [
    _post("1", 600, f"My order never arrived, terrible service {HOSTILE}"),
    _post("2", 30, "@brightloaf is the shop open on Sundays?"),
    _post("3", 300, "Do you ship to Porto?"),
    _post("4", 280, "@u3 We do, three days by post.", own=True, in_reply_to="3"),
    # The brand's stock answer, already sent unchanged twice elsewhere.
    _post("5", 900, "@x Thanks for reaching out, we are looking into it.", own=True),
    _post("6", 890, "@y thanks for reaching out, we are looking into it.", own=True),
]


def _setup(
    repo: Repository, settings: Settings, role: Role = Role.ADMIN, *, listened: bool = False
) -> tuple[Any, int]:
    """``listened``: the posts came from a Mastodon source with a token (never reached here),
    rather than from a file import."""
    ws = repo.add_workspace("Brightloaf")
    source_id = None
    if listened:
        config = {"instance": "https://social.example", "timeline": "mentions"}
        config["access_token"] = "a-token"
        sealed = seal(config, MastodonSource.secret_fields, settings)
        source_id = repo.add_source(ws.id, "mastodon", "m", sealed, 60).id
    rows = [(r["id"], r) for r in ROWS]
    report = Ingestor(repo, settings).ingest(ws.id, rows, source_id=source_id)
    assert report.problem_count == 0
    make_user(repo, "ana@example.com", workspace_id=ws.id, role=role)
    make_user(repo, "bo@example.com", workspace_id=ws.id, role=Role.RESPONDER)
    return logged_in(repo, settings, "ana@example.com"), ws.id


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="c-(\d+)"', html)]


def test_inbox_lists_by_priority_with_badges_tabs_and_count(
    repo: Repository, settings: Settings
) -> None:
    client, ws = _setup(repo, settings)
    page = client.get(f"/w/{ws}/inbox")
    assert page.status_code == 200
    html = page.text
    assert HOSTILE not in html and "&lt;script&gt;alert(" in html
    views = Inbox(repo).conversations(ws, status="open")
    assert _ids(html) == [v.id for v in views] and len(views) == 2
    assert "SLA breached" in html and "answer due in" in html
    assert 'class="chip complaint"' in html and 'class="chip mention"' in html
    # The navigation counts what waits for an answer, on every page of the workspace.
    nav = re.search(r'id="nav-inbox">Inbox <span class="count"[^>]*>(\d+)<', html)
    assert nav and nav.group(1) == "2"
    other = client.get(f"/w/{ws}/mentions").text
    assert re.search(r'id="nav-inbox">Inbox <span class="count"[^>]*>2<', other)

    done = client.get(f"/w/{ws}/inbox", params={"status": "done"}).text
    assert "Do you ship to Porto?" in done and "Sundays" not in done
    assert len(_ids(client.get(f"/w/{ws}/inbox", params={"status": "all"}).text)) == 3
    assert client.get(f"/w/{ws}/inbox", params={"status": "nope"}).status_code == 404
    assert 'id="chart-inbox"' in html and "data-chart=" in html
    assert "<script>" not in html.split("<main>")[1]  # no inline script in the page


def test_conversation_thread_guard_triage_and_notes(repo: Repository, settings: Settings) -> None:
    client, ws = _setup(repo, settings)
    inbox = Inbox(repo)
    client.get(f"/w/{ws}/inbox")
    shipped = next(
        v for v in inbox.conversations(ws, include_answered=True) if "Porto" in v.preview
    )
    html = client.get(f"/w/{ws}/inbox/{shipped.id}").text
    thread = html.split('id="thread"')[1].split("</ol>")[0]
    assert thread.index("Do you ship to Porto?") < thread.index("three days by post")
    assert thread.count('class="post own') == 1 and "brand</span>" in thread
    assert 'id="guard"' not in html

    # Bo opens it next: he is told Ana is on it.
    bo = logged_in(repo, settings, "bo@example.com")
    seen = bo.get(f"/w/{ws}/inbox/{shipped.id}").text
    assert re.search(r"<strong>ana@example.com</strong> is viewing/replying since \d\d:\d\d", seen)

    [urgent, _] = inbox.conversations(ws, status="open")
    url = f"/w/{ws}/inbox/{urgent.id}"
    token = csrf(client, url)
    moved = client.post(
        url + "/assign",
        data={"assignee": "bo@example.com", "csrf_token": token},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert inbox.conversation(ws, urgent.id).assignee == "bo@example.com"
    bad = client.post(url + "/assign", data={"assignee": "mallory", "csrf_token": token})
    assert bad.status_code == 422
    client.post(url + "/status", data={"status": "waiting", "csrf_token": token})
    assert inbox.conversation(ws, urgent.id).status == "waiting"
    client.post(url + "/notes", data={"text": f"called them {HOSTILE}", "csrf_token": token})
    html = client.get(url).text
    assert "called them &lt;script&gt;" in html and HOSTILE not in html
    assert '<option value="bo@example.com" selected>' in html
    # Imported posts cannot be answered from here: the reply box says why before anyone writes.
    assert "imported, not listened to" in html
    refused = client.post(url + "/reply", data={"text": "On it!", "csrf_token": token})
    assert refused.status_code == 422 and "imported, not listened to" in refused.text

    client.post(url + "/answered-elsewhere", data={"csrf_token": token})
    after = inbox.conversation(ws, urgent.id)
    assert after.status == "done" and after.answered_at is not None
    assert client.get(f"/w/{ws}/inbox/999999").status_code == 404


def test_saved_replies_and_the_be_authentic_confirmation(
    repo: Repository, settings: Settings
) -> None:
    client, ws = _setup(repo, settings, listened=True)
    inbox = Inbox(repo)
    inbox.set_rules(ws, template_threshold=2)
    token = csrf(client, f"/w/{ws}/inbox")
    stock = "Thanks for reaching out, we are looking into it."
    made = client.post(
        f"/w/{ws}/inbox-templates",
        data={"name": "Ack", "text": stock, "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    [urgent, _] = inbox.conversations(ws, status="open")
    url = f"/w/{ws}/inbox/{urgent.id}"
    listed = client.get(f"/w/{ws}/inbox").text.split('id="templates"')[1]
    assert "<strong>Ack</strong>" in listed and "sent 2×" in listed and "be authentic" in listed
    html = client.get(url).text
    assert 'id="reply-problem"' not in html
    assert 'id="template-picker"' in html and 'data-flagged="1"' in html
    warned = client.post(url + "/reply", data={"text": stock, "csrf_token": token})
    assert warned.status_code == 409
    assert "be authentic" in warned.text and "Send anyway" in warned.text
    assert stock in warned.text  # the draft is kept
    [t] = client.get(f"/api/workspaces/{ws}/inbox/templates").json()
    client.post(f"/w/{ws}/inbox-templates/{t['id']}/delete", data={"csrf_token": token})
    assert client.get(f"/api/workspaces/{ws}/inbox/templates").json() == []


def test_viewers_read_but_do_not_act(repo: Repository, settings: Settings) -> None:
    client, ws = _setup(repo, settings, Role.VIEWER)
    client.get(f"/w/{ws}/inbox")
    [urgent, _] = Inbox(repo).conversations(ws, status="open")
    url = f"/w/{ws}/inbox/{urgent.id}"
    html = client.get(url).text
    assert 'id="reply-form"' not in html and 'id="assignee"' not in html
    token = csrf(client)
    assert (
        client.post(url + "/status", data={"status": "done", "csrf_token": token}).status_code
        == 403
    )
    assert Inbox(repo).conversation(ws, urgent.id).status == "open"


def test_inbox_pages_by_urgency(
    repo: Repository, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list comes a page at a time (the database ranks and pages): together the pages are
    the whole list in order, each linking to the next."""
    monkeypatch.setattr(inbox_pages, "PAGE_SIZE", 2)
    client, ws = _setup(repo, settings)
    first = client.get(f"/w/{ws}/inbox", params={"status": "all"}).text
    second = client.get(f"/w/{ws}/inbox", params={"status": "all", "page": 2}).text
    views = Inbox(repo).conversations(ws)
    assert len(views) == 3
    assert _ids(first) + _ids(second) == [v.id for v in views]
    assert "page 1 of 2" in first and "page=2" in first and 'rel="prev"' not in first
    assert "page 2 of 2" in second and 'rel="next"' not in second
    assert client.get(f"/w/{ws}/inbox", params={"page": 0}).status_code == 422
