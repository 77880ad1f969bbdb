"""The inbox on real ingested posts, on SQLite and PostgreSQL: threads, status, metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.domain import TopicKind
from goodwill.inbox import Inbox, InboxError
from goodwill.ingest import Ingestor
from goodwill.settings import Settings, get_settings
from goodwill.store.repository import NotFound, Repository

OWN = {"id": "900", "handle": "@brightloaf@mastodon.example", "name": "Brightloaf"}
NOW = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


def post(pid: str, at: str, text: str, **kw: Any) -> dict[str, Any]:
    author = (
        OWN if kw.pop("own", False) else kw.pop("author", {"id": f"u{pid}", "handle": f"u{pid}"})
    )
    row = {
        "id": pid,
        "source": "mastodon",
        "text": text,
        "created_at": f"2026-11-20T{at}:00Z",
        "author": author,
        "is_own": author is OWN,
    }
    return row | kw


BASE = [
    # A question mentioning the brand, answered by the brand's account 90 minutes later.
    post(
        "1",
        "09:00",
        "@brightloaf is the shop open on Sundays?",
        author={"id": "a", "handle": "ana", "followers": 12000},
    ),
    post("2", "10:30", "@ana Yes, from 8 to 14!", own=True, in_reply_to="1"),
    # A complaint that never tagged the brand: nobody answered.
    post("3", "08:00", "My order never arrived and nobody answers. Terrible service."),
    # A thread held together by the network's conversation id, answered after two hours.
    post("10", "07:00", "Does Brightloaf ship to Porto?", conversation_id="c1"),
    post("11", "07:30", "I think they do", conversation_id="c1", in_reply_to="10"),
    post("12", "09:00", "@u10 We do, three days by post.", own=True, conversation_id="c1"),
    # Praise on its own: nothing to answer, not in the inbox.
    post("20", "06:00", "Brightloaf croissants are the best, thank you!"),
]


def ingest(repo: Repository, settings: Settings, ws_id: int, rows: list[dict[str, Any]]) -> None:
    report = Ingestor(repo, settings).ingest(ws_id, [(f"row {i}", r) for i, r in enumerate(rows)])
    assert report.problem_count == 0, report.problems


@pytest.fixture
def brand(repo: Repository, settings: Settings) -> tuple[Inbox, int]:
    ws = repo.add_workspace("Brightloaf")
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, "brightloaf")
    ingest(repo, settings, ws.id, BASE)
    inbox = Inbox(repo)
    inbox.refresh(ws.id)
    return inbox, ws.id


def by_preview(inbox: Inbox, ws_id: int) -> dict[str, Any]:
    return {v.preview: v for v in inbox.conversations(ws_id, now=NOW)}


def test_threads_need_answers_and_brand_replies_close_them(brand: tuple[Inbox, int]) -> None:
    inbox, ws = brand
    views = inbox.conversations(ws, now=NOW)
    assert len(views) == 3  # the praise is not in the inbox
    complaint, question, porto = (
        views[0],
        *sorted(views[1:], key=lambda v: v.opened_at, reverse=True),
    )
    assert complaint.preview.startswith("My order never arrived")
    assert complaint.status == "open" and complaint.needs_answer
    assert complaint.sla_breached  # five hours unanswered, SLA four
    assert "complaint (+30)" in complaint.priority.reasons
    assert "first-answer SLA breached (+20)" in complaint.priority.reasons
    assert "waiting 5.0 h (+10)" in complaint.priority.reasons
    assert question.status == "done" and not question.needs_answer
    assert question.first_response_at == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    assert "mentions the brand's account (+10)" in question.priority.reasons
    assert "author has 12,000 followers (+20)" in question.priority.reasons
    assert porto.post_count == 3 and porto.status == "done"
    assert [p.external_id for p in inbox.posts(ws, porto.id)] == ["10", "11", "12"]
    assert [p.external_id for p in inbox.posts(ws, question.id)] == ["1", "2"]
    assert [v.id for v in inbox.conversations(ws, status="open", now=NOW)] == [complaint.id]


def test_metrics_from_the_threads(brand: tuple[Inbox, int]) -> None:
    inbox, ws = brand
    m = inbox.metrics(ws, now=NOW)
    assert m.conversations == 3
    assert m.first_response.count == 2  # the complaint has no answer yet
    assert m.first_response.median_s == (5400 + 7200) / 2
    assert m.first_response.p90_s == pytest.approx(5400 + 0.9 * 1800)
    assert m.response_rate == pytest.approx(2 / 3)
    assert m.questions_and_complaints == 3
    assert m.coverage == pytest.approx(2 / 3)  # the untagged complaint is counted and missed
    assert m.sla_breaches == 1
    assert m.by_status == {"open": 1, "waiting": 0, "done": 2}
    assert m.resolution.count == 2


def test_status_assignee_notes_and_reopening(
    brand: tuple[Inbox, int], repo: Repository, settings: Settings
) -> None:
    inbox, ws = brand
    complaint = inbox.conversations(ws, status="open", now=NOW)[0]
    inbox.assign(ws, complaint.id, "maria")
    inbox.add_note(ws, complaint.id, "maria", "Order 4411, courier lost it")
    inbox.set_status(ws, complaint.id, "done", at=NOW)  # answered by e-mail
    inbox.refresh(ws)
    view = inbox.conversation(ws, complaint.id, now=NOW)
    assert (view.status, view.assignee, view.needs_answer) == ("done", "maria", False)
    assert inbox.metrics(ws, now=NOW).response_rate == 1.0

    # The customer writes again afterwards: the conversation opens again, state kept.
    ingest(
        repo,
        settings,
        ws,
        [post("4", "14:00", "Still no refund, the worst bakery ever", in_reply_to="3")],
    )
    inbox.refresh(ws)
    view = inbox.conversation(ws, complaint.id, now=NOW)
    assert (view.status, view.assignee, view.post_count) == ("open", "maria", 2)
    assert [n.text for n in inbox.notes(ws, complaint.id)] == ["Order 4411, courier lost it"]

    # The brand's reply, found by listening, closes it by itself.
    ingest(
        repo,
        settings,
        ws,
        [post("5", "14:20", "@u3 So sorry, refund sent today.", own=True, in_reply_to="4")],
    )
    inbox.refresh(ws)
    view = inbox.conversation(ws, complaint.id, now=NOW)
    assert view.status == "done" and view.first_response_at == datetime(
        2026, 11, 20, 14, 20, tzinfo=UTC
    )

    with pytest.raises(InboxError, match="unknown status"):
        inbox.set_status(ws, complaint.id, "closed")
    with pytest.raises(NotFound):
        inbox.assign(ws, 10_000, "maria")


def test_a_missing_parent_arriving_later_keeps_the_conversation(
    repo: Repository, settings: Settings
) -> None:
    ws = repo.add_workspace("Brightloaf").id
    inbox = Inbox(repo)
    ingest(
        repo,
        settings,
        ws,
        [post("31", "09:00", "@brightloaf why is my order late?", in_reply_to="30")],
    )
    inbox.refresh(ws)
    [before] = inbox.conversations(ws, now=NOW)
    inbox.assign(ws, before.id, "joao")
    ingest(repo, settings, ws, [post("30", "08:00", "Ordered bread from Brightloaf today")])
    report = inbox.refresh(ws)
    assert (report.inserted, report.removed) == (0, 0)
    [after] = inbox.conversations(ws, now=NOW)
    assert (after.id, after.thread_key, after.post_count, after.assignee) == (
        before.id,
        "mastodon:30",
        2,
        "joao",
    )


def test_workspaces_do_not_see_each_other(brand: tuple[Inbox, int], repo: Repository) -> None:
    inbox, ws = brand
    other = repo.add_workspace("Other").id
    inbox.refresh(other)
    assert inbox.conversations(other, now=NOW) == []
    some = inbox.conversations(ws, now=NOW)[0]
    with pytest.raises(NotFound):
        inbox.set_status(other, some.id, "done")


def test_templates_sent_unchanged_are_flagged(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("Brightloaf").id
    rows = []
    for i in range(6):
        rows.append(post(f"q{i}", f"0{i}:00", "@brightloaf where is my order?"))
        text = "Please DM us your order number  https://x.example/dm" if i < 5 else "On its way!"
        rows.append(post(f"r{i}", f"0{i}:30", f"@u{i} {text}", own=True, in_reply_to=f"q{i}"))
    ingest(repo, settings, ws, rows)
    inbox = Inbox(repo)
    inbox.refresh(ws)
    assert inbox.metrics(ws, now=NOW).templates == [
        {"text": "please dm us your order number", "count": 5}
    ]
    inbox.set_rules(ws, template_threshold=6)
    assert inbox.metrics(ws, now=NOW).templates == []


def test_cli_list_metrics_assign_status_note(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    run("workspaces", "add", "Brightloaf")
    f = tmp_path / "posts.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in BASE))
    run("import", str(f))
    listed = json.loads(run("inbox", "list", "--json"))
    assert len(listed) == 3 and listed[0]["priority"]["score"] >= listed[1]["priority"]["score"]
    complaint = next(c for c in listed if c["status"] == "open")
    run("inbox", "assign", str(complaint["id"]), "maria")
    run("inbox", "note", str(complaint["id"]), "called them", "--by", "maria")
    run("inbox", "status", str(complaint["id"]), "waiting")
    waiting = json.loads(run("inbox", "list", "--status", "waiting", "--json"))
    assert [(c["id"], c["assignee"]) for c in waiting] == [(complaint["id"], "maria")]
    shown = json.loads(run("inbox", "show", str(complaint["id"]), "--json", "--as", "maria"))
    assert shown["notes"][0]["text"] == "called them" and shown["also_opened_by"] is None
    assert "maria opened this 0 min ago" in run(
        "inbox", "show", str(complaint["id"]), "--as", "joao"
    )
    assert "open / waiting / done" in run("inbox", "metrics")
    m = json.loads(run("inbox", "metrics", "--json"))
    assert m["first_response"]["median_s"] == 6300.0 and m["coverage"] == pytest.approx(2 / 3)
    assert (
        json.loads(run("inbox", "rules", "--sla", "30m", "--json"))["first_response_sla_s"] == 1800
    )
    assert "not a duration" in run("inbox", "rules", "--sla", "soon", code=1)
    assert "unknown status" in run("inbox", "status", str(complaint["id"]), "closed", code=1)
    assert "no conversation 999" in run("inbox", "assign", "999", "x", code=1)
    assert "was imported, not listened to" in run(
        "inbox", "reply", str(complaint["id"]), "Sorry!", code=1
    )
    get_settings.cache_clear()


def test_joined_threads_keep_the_teams_work(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("Brightloaf").id
    inbox = Inbox(repo)
    ingest(
        repo,
        settings,
        ws,
        [
            post("40", "08:00", "@brightloaf is the shop open today?", conversation_id="k"),
            post("41", "09:00", "@brightloaf my order is late, why?", in_reply_to="39"),
        ],
    )
    inbox.refresh(ws)
    first = next(v for v in inbox.conversations(ws, now=NOW) if v.thread_key == "mastodon:40")
    inbox.assign(ws, first.id, "ana")
    inbox.add_note(ws, first.id, "ana", "regular customer")
    # The post both threads hang from arrives: they become one conversation.
    ingest(repo, settings, ws, [post("39", "07:00", "Brightloaf news", conversation_id="k")])
    report = inbox.refresh(ws)
    assert report.removed == 1
    [joined] = inbox.conversations(ws, now=NOW)
    assert (joined.thread_key, joined.post_count, joined.assignee) == ("mastodon:39", 3, "ana")
    assert [n.text for n in inbox.notes(ws, joined.id)] == ["regular customer"]


def test_guard_when_two_teammates_open_the_same_conversation(brand: tuple[Inbox, int]) -> None:
    inbox, ws = brand
    conv = inbox.conversations(ws, now=NOW)[0].id
    assert inbox.open_as(ws, conv, "maria", now=NOW) is None
    assert inbox.open_as(ws, conv, "maria", now=NOW + timedelta(minutes=1)) is None
    assert inbox.open_as(ws, conv, "joao", now=NOW + timedelta(minutes=3)) == (
        "maria",
        NOW + timedelta(minutes=1),
    )
    # Ten minutes later nobody is taken to be on it any more.
    assert inbox.open_as(ws, conv, "maria", now=NOW + timedelta(minutes=14)) is None


def test_refreshing_again_writes_nothing_and_corrections_count(
    brand: tuple[Inbox, int], repo: Repository
) -> None:
    inbox, ws = brand
    assert inbox.refresh(ws).skipped  # no post changed since
    report = inbox.refresh(ws, force=True)
    assert (report.threads, report.inserted, report.updated, report.removed) == (3, 0, 0, 0)
    # A user says the "complaint" was not one: it leaves the inbox at the next refresh.
    complaint = inbox.conversations(ws, status="open", now=NOW)[0]
    repo.correct_label(ws, complaint.root_post_id, "intent", "other", who="maria")
    report = inbox.refresh(ws)
    assert not report.skipped and report.removed == 1
    assert [v.status for v in inbox.conversations(ws, now=NOW)] == ["done", "done"]
    # Changing the rules recomputes too.
    inbox.set_rules(ws, own_handles=["@brightloaf"])
    assert not inbox.refresh(ws).skipped
