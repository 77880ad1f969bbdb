"""The inbox ranks advocates and detractors higher, and what they say needs an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from goodwill.domain import TopicKind
from goodwill.inbox import Inbox
from goodwill.settings import Settings
from goodwill.store.repository import Repository
from tests.test_people import NEGATIVE, ingest, post

NOW = datetime.now(UTC)
EVE = {"id": "e1", "handle": "eve", "name": "Eve", "followers": 9999}
DAN = {"id": "d1", "handle": "dan", "name": "Dan"}
PRAISE = [
    "Brightloaf is wonderful, I love their bread, best bakery in town!",
    "Brightloaf's new rye is fantastic, thank you, I love it!",
    "Thank you Brightloaf for the birthday cake, it was perfect and everyone loved it!",
]


def test_standing_in_inbox_priority(repo: Repository, settings: Settings) -> None:
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    rows = [post(f"e{i}", t, EVE, NOW - timedelta(hours=5 - i)) for i, t in enumerate(PRAISE)]
    rows += [post(f"d{i}", t, DAN, NOW - timedelta(hours=3 - i)) for i, t in enumerate(NEGATIVE)]
    # The same kind of complaint by someone the workspace does not know yet.
    rows.append(post("x", NEGATIVE[0].replace("again", "today"), {"id": "z"}, NOW))
    ingest(repo, settings, ws, rows)

    # Without people built, praise asks for nothing: it is not in the inbox.
    plain = Inbox(repo)
    plain.refresh(ws)
    assert not any(v.preview in PRAISE for v in plain.conversations(ws))

    inbox = Inbox(repo, settings)  # brings people up to date before each refresh
    assert inbox.refresh(ws).skipped is False  # people changed: the inbox recomputes
    views = inbox.conversations(ws)
    eve = [v for v in views if v.preview in PRAISE]
    assert len(eve) == 3 and all(v.needs_answer for v in eve)
    assert all("an advocate wrote (+20)" in v.priority.reasons for v in eve)
    dan = [v for v in views if v.author_handle == "dan"]
    assert dan and all("a detractor wrote (+25)" in v.priority.reasons for v in dan)
    stranger = next(v for v in views if v.author_handle is None or v.author_handle == "z")
    assert not any("detractor" in r for r in stranger.priority.reasons)
    # Everything else equal (a fresh complaint), the detractor's ranks above the stranger's.
    latest_dan = max(dan, key=lambda v: v.opened_at)
    assert latest_dan.priority.score - stranger.priority.score >= 25 - 2 * 2
