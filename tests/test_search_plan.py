"""Full-text search pages are the same whichever way SQLite is told to find them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store import repository
from goodwill.store.repository import MentionFilter, Repository


def test_many_hits_and_few_hits_give_the_same_pages(
    repo: Repository, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = repo.add_workspace("A").id
    repo.add_topic(ws, "all", TopicKind.BRAND, "bread")
    now = datetime.now(UTC)
    posts = [
        (
            str(i),
            {
                "id": str(i),
                "source": "x",
                "text": f"bread {'late delivery' if i % 3 else 'fine'} number {i}",
                # times out of id order, and some equal, to exercise the keyset
                "created_at": (now - timedelta(minutes=(i * 7919) % 500)).isoformat(),
            },
        )
        for i in range(300)
    ]
    Ingestor(repo, settings).ingest(ws, posts)

    def pages(query: str) -> list[list[int]]:
        out, before = [], None
        while True:
            page = repo.mentions(ws, MentionFilter(search=query), limit=40, before=before)
            out.append([p.id for p in page.posts])
            before = page.next_before
            if before is None:
                return out

    expected = {"late": 200, '"late delivery"': 200, "numb*": 300, "fine": 100}
    for query, count in expected.items():
        monkeypatch.setattr(repository, "MANY_HITS", 10**9)
        by_hits = pages(query)
        monkeypatch.setattr(repository, "MANY_HITS", 0)
        by_time = pages(query)
        assert by_hits == by_time
        assert sum(map(len, by_time)) == count
