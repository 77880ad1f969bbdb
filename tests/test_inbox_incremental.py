"""Incremental refresh, on SQLite and PostgreSQL: after new posts, only the threads they touch
are read, and the conversations come out exactly as a full recomputation makes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from goodwill.inbox import Inbox
from goodwill.inbox.service import _DERIVED
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.corrections import Corrections
from goodwill.store.inbox_tables import Conversation
from goodwill.store.repository import Repository
from goodwill.store.tables import Post
from tests.test_inbox import post

FILLER = [post(f"f{i}", "05:00", f"lovely weather number {i}") for i in range(60)]
START = [
    post("1", "09:00", "@brightloaf is the shop open on Sundays?"),
    post("2", "10:30", "@u1 Yes, from 8 to 14!", own=True, in_reply_to="1"),
    post("3", "08:00", "My order never arrived. Terrible service, nobody answers."),
    # A reply to a post we never stored (its parent arrives later).
    post("21", "09:40", "Do you still sell rye bread?", in_reply_to="20"),
    # Two threads on one network conversation, not yet joined.
    post("30", "07:00", "Why was my card charged twice?", conversation_id="c9"),
    post("40", "07:10", "Where is my parcel?"),
]


def _snapshot(repo: Repository, ws: int) -> dict[str, tuple[Any, ...]]:
    cols = [getattr(Conversation, c) for c in (*_DERIVED, "status", "assignee")]
    with Session(repo.engine) as s:
        rows = s.execute(
            select(Conversation.thread_key, *cols).where(Conversation.workspace_id == ws)
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def _ingest(repo: Repository, settings: Settings, ws: int, rows: list[dict[str, Any]]) -> None:
    report = Ingestor(repo, settings).ingest(ws, [(r["id"], r) for r in rows])
    assert report.problem_count == 0, report.problems


def _same_as_full(inbox: Inbox, repo: Repository, ws: int) -> None:
    after = _snapshot(repo, ws)
    full = inbox.refresh(ws, force=True)
    assert not full.incremental
    assert full.updated == full.inserted == full.removed == 0, full  # nothing left to fix
    assert _snapshot(repo, ws) == after


def test_new_posts_refresh_only_their_threads(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("Brightloaf").id
    _ingest(repo, settings, ws, FILLER + START)
    inbox = Inbox(repo)
    first = inbox.refresh(ws)
    assert not first.incremental and first.posts_read == len(FILLER + START)
    inbox.set_status(ws, _key(inbox, ws, "Where is my parcel"), "waiting")
    inbox.add_note(ws, _key(inbox, ws, "Where is my parcel"), "ana", "asked the courier")
    inbox.refresh(ws)  # the rules' mark was kept: nothing to do
    assert inbox.refresh(ws).skipped

    steps: list[tuple[list[dict[str, Any]], int]] = [
        # A follow-up question in an answered thread: that thread (3 posts) only.
        ([post("4", "11:00", "@brightloaf and on holidays?", in_reply_to="2")], 3),
        # The missing parent arrives: the thread keeps its key and gains its first post.
        ([post("20", "09:30", "New rye bread in store today!", own=True)], 2),
        # One post joins the parcel thread to the card thread; a new, unrelated question.
        (
            [
                post("41", "07:20", "Same here, also charged twice", conversation_id="c9"),
                post(
                    "42",
                    "07:30",
                    "@u40 is it the same order?",
                    in_reply_to="40",
                    conversation_id="c9",
                ),
                post("50", "12:00", "Can I order a cake for Saturday?"),
            ],
            5,
        ),
    ]
    for rows, read in steps:
        _ingest(repo, settings, ws, rows)
        report = inbox.refresh(ws)
        assert report.incremental and report.posts_read == read, (rows[0]["id"], report)
        _same_as_full(inbox, repo, ws)

    # The parcel thread joined the card thread: its status and note moved with it.
    joined = next(v for v in inbox.conversations(ws) if v.thread_key == "mastodon:30")
    assert joined.post_count == 4 and joined.status == "waiting"
    assert [n.text for n in inbox.notes(ws, joined.id)] == ["asked the courier"]
    rye = next(
        v for v in inbox.conversations(ws, include_answered=True) if v.thread_key == "mastodon:20"
    )
    assert rye.post_count == 2 and rye.first_response_at is None  # the brand opened it


def _key(inbox: Inbox, ws: int, preview: str) -> int:
    return next(v.id for v in inbox.conversations(ws) if v.preview.startswith(preview))


def test_anything_but_new_posts_recomputes_everything(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("Brightloaf").id
    _ingest(repo, settings, ws, FILLER + START)
    inbox = Inbox(repo)
    inbox.refresh(ws)
    total = len(FILLER + START)

    # A post by a brand account never seen before: older posts may now mention the brand.
    _ingest(
        repo,
        settings,
        ws,
        [
            post(
                "60",
                "12:00",
                "Hello from our second account",
                own=True,
                author={"id": "901", "handle": "brightloaf_help"},
            )
        ],
    )
    report = inbox.refresh(ws)
    assert not report.incremental and report.posts_read == total + 1

    # A re-imported post whose text changed.
    _ingest(repo, settings, ws, [post("40", "07:10", "Where is my parcel? Ordered on Monday")])
    report = inbox.refresh(ws)
    assert not report.incremental and report.posts_read == total + 1

    # A sentiment corrected by a teammate.
    with Session(repo.engine) as s:
        post_id = s.scalar(select(Post.id).where(Post.workspace_id == ws, Post.external_id == "3"))
    Corrections(repo.engine).correct(ws, post_id, "neutral", None)
    report = inbox.refresh(ws)
    assert not report.incremental

    # New posts again: incremental, and the same as a full recomputation.
    _ingest(repo, settings, ws, [post("70", "13:00", "Is there parking nearby?")])
    report = inbox.refresh(ws)
    assert report.incremental and report.posts_read == 1
    _same_as_full(inbox, repo, ws)
