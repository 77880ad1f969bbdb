"""A customer's "thanks @Brand" after the brand answered does not reopen the conversation; a
thanks that asks something more, or complains, does. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from goodwill.inbox import Inbox
from goodwill.inbox.acknowledgement import is_acknowledgement
from goodwill.settings import Settings
from goodwill.store.repository import Repository
from tests.test_inbox import NOW, ingest, post


@pytest.mark.parametrize(
    ("text", "sentiment", "expected"),
    [
        ("thanks @brightloaf!", "positive", True),
        ("@brightloaf Thank you so much, see you Sunday 😊", "positive", True),
        ("Perfect, cheers", None, True),
        ("ok got it https://brightloaf.example/hours", "neutral", True),
        ("@brightloaf 🙏🙏", None, True),
        ("thanks @brightloaf but it still hasn't arrived", "neutral", False),
        ("thanks! and do you open on holidays?", "positive", False),
        ("thanks for nothing @brightloaf", "negative", False),
        (
            "@brightloaf great news, I will tell all my friends about the new sourdough tonight",
            "positive",
            False,
        ),
        ("@brightloaf where is my refund", "neutral", False),
    ],
)
def test_what_counts_as_a_thanks(text: str, sentiment: str | None, expected: bool) -> None:
    assert is_acknowledgement(text, sentiment) is expected


def _thread(extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        post("1", "09:00", "@brightloaf is the shop open on Sundays?"),
        post("2", "10:30", "@u1 Yes, from 8 to 14!", own=True, in_reply_to="1"),
        *extra,
    ]


def _status(repo: Repository, settings: Settings, extra: list[dict[str, Any]]) -> Any:
    ws = repo.add_workspace("Brightloaf").id
    ingest(repo, settings, ws, _thread(extra))
    inbox = Inbox(repo)
    inbox.refresh(ws)
    [v] = inbox.conversations(ws, include_answered=True, now=NOW)
    return inbox, ws, v


def test_thanks_after_the_answer_keeps_it_done(repo: Repository, settings: Settings) -> None:
    inbox, ws, v = _status(
        repo, settings, [post("3", "10:40", "thanks @brightloaf!", in_reply_to="2")]
    )
    assert (v.status, v.needs_answer, v.post_count) == ("done", False, 3)
    # Marked done by a teammate, then thanked: still done.
    inbox.set_status(ws, v.id, "done")
    ingest(repo, settings, ws, [post("4", "10:50", "@brightloaf cheers 👍", in_reply_to="2")])
    inbox.refresh(ws)
    assert inbox.conversation(ws, v.id, now=NOW).status == "done"
    assert inbox.metrics(ws, now=NOW).needing_answer == 0


@pytest.mark.parametrize(
    "text",
    [
        "thanks @brightloaf, and on holidays?",
        "thanks @brightloaf but my order still has not arrived",
        "@brightloaf I went on Sunday and you were closed, terrible",
    ],
)
def test_a_thanks_with_more_reopens_it(repo: Repository, settings: Settings, text: str) -> None:
    _, _, v = _status(repo, settings, [post("3", "10:40", text, in_reply_to="2")])
    assert (v.status, v.needs_answer) == ("open", True)


def test_a_first_thanks_still_reaches_the_inbox(repo: Repository, settings: Settings) -> None:
    """Before the brand said anything, a mention is someone speaking to the brand."""
    ws = repo.add_workspace("Brightloaf").id
    ingest(repo, settings, ws, [post("1", "09:00", "thanks @brightloaf for the lovely bread!")])
    inbox = Inbox(repo)
    inbox.set_rules(ws, own_handles=["@brightloaf"])
    inbox.refresh(ws)
    [v] = inbox.conversations(ws, now=NOW)
    assert v.needs_answer and v.status == "open"
