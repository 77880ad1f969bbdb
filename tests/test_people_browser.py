"""In a real browser (Debian's Chromium through Playwright): a responder opens a detractor's
profile, logs a nurture action and walks the detractor case to resolved."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.people import People
from goodwill.store.accounts import Role
from tests.browser import browser_page, live_server, shot
from tests.test_browser import _login
from tests.webclient import make_user

pytestmark = pytest.mark.slow

NEGATIVE = [
    "Brightloaf ruined my order again, the bread was stale and moldy. Awful, never again.",
    "Still furious at Brightloaf: rude staff, terrible service, a total waste of money.",
]


def test_open_a_person_log_nurture_and_resolve_a_detractor(tmp_path: Path) -> None:
    with live_server(tmp_path) as (base, repo, settings), browser_page() as page:
        ws = repo.add_workspace("Brightloaf", default=True).id
        repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
        now = datetime.now(UTC)
        dan: dict[str, Any] = {"id": "d1", "handle": "@dan@mastodon.example", "name": "Dan"}
        rows = [
            (
                str(i),
                {
                    "id": f"n{i}",
                    "source": "mastodon",
                    "text": text,
                    "created_at": (now - timedelta(days=2 - i)).isoformat(),
                    "author": dan,
                },
            )
            for i, text in enumerate(NEGATIVE)
        ]
        assert Ingestor(repo, settings).ingest(ws, rows).problem_count == 0
        make_user(repo, "sam@example.com", workspace_id=ws, role=Role.RESPONDER)
        _login(page, base, "sam@example.com")
        page.goto(f"{base}/w/{ws}/dashboard")
        page.click("nav.main >> text=People")
        page.wait_for_url(re.compile(r"/people$"))
        page.select_option("select[name=standing]", "detractor")
        page.click("form.filters button.primary")
        page.wait_for_url(re.compile(r"standing=detractor"))
        page.click("table.people >> text=Dan")
        page.wait_for_url(re.compile(r"/people/\d+$"))
        assert page.inner_text("#standing") == "detractor"
        assert "2 negative of 2 labelled posts" in page.inner_text("#standing-why")
        shot(page, "person-detractor")
        # Log a nurture action.
        page.select_option("#nurture select[name=action]", "gift sent")
        page.fill("#nurture input[name=note]", "A fresh loaf and an apology")
        page.click("#nurture button.primary")
        page.wait_for_load_state()
        assert "A fresh loaf and an apology" in page.inner_text("#timeline")
        assert "never" not in page.inner_text("#nurture")
        # The case the standing opened: contacted, then resolved.
        assert page.inner_text("#cases .case-status") == "open"
        page.click("#cases >> text=Mark contacted")
        page.wait_for_load_state()
        assert page.inner_text("#cases .case-status") == "contacted"
        page.click("#cases >> text=Mark resolved")
        page.wait_for_load_state()
        assert page.inner_text("#cases .case-status") == "resolved"
        assert "resolved" in page.inner_text("#cases") and "sam@example.com" in page.inner_text(
            "#cases"
        )
        assert page.dialogs == []
        people = People(repo, settings)
        (view,), _ = people.list_people(ws, standing="detractor")
        (case,) = people.cases(ws, view.id)
        assert (case.status, case.contacted_by, case.resolved_by) == (
            "resolved",
            "sam@example.com",
            "sam@example.com",
        )
        assert [e.action for e in people.nurture_log(ws, view.id)] == ["gift sent"]
