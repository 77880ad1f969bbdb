"""In a real browser: a question is answered end to end from the inbox.

A customer's question arrives through a Mastodon source whose API is a local fake on 127.0.0.1
(real HTTP, the providers' documented shapes); the teammate logs in, sees it waiting in the
inbox, opens it (another teammate's recent visit is shown), assigns it to themself, tries a
saved reply that was sent too often (the "be authentic" hint), writes their own, and sends. The
fake API must receive the reply to the right status, the conversation must show as answered,
and the metrics must count it.

Set GOODWILL_SCREENSHOTS=docs/screenshots to refresh docs/screenshots/inbox.png and
conversation.png.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from goodwill.inbox import Inbox
from goodwill.ingest import Ingestor
from goodwill.listen import Listener
from goodwill.net import make_client
from goodwill.sources import api as api_module
from goodwill.sources.credentials import seal
from goodwill.sources.mastodon import MastodonSource
from goodwill.store.repository import Repository
from tests.browser import browser_page, live_server, shot
from tests.fakes.mastodon import MastodonFake
from tests.feedserver import FeedServer, loopback_only, running_server
from tests.test_browser import _login
from tests.webclient import make_user

pytestmark = pytest.mark.slow

STOCK = "Thanks for reaching out, we are looking into it."


@pytest.fixture
def api_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setattr(api_module, "RETRY_BASE_S", 0.01)
    loopback_only(monkeypatch)
    with running_server() as srv:
        yield srv


def test_a_question_is_answered_from_the_inbox(tmp_path: Path, api_server: FeedServer) -> None:
    fake = MastodonFake(api_server, "mentions")
    [question] = fake.add(1, text="@brightloaf is the shop open on Sunday? Want to bring my kids")
    fake.add(1, text="@brightloaf my order never arrived and nobody answers, terrible")
    fake.add(1, text="@brightloaf do you ship croissants to Porto?")
    with live_server(tmp_path, http_allow_private=True) as (base, repo, settings):
        workspace = repo.add_workspace("Brightloaf", default=True)
        ws = workspace.id
        config = seal(fake.config(), MastodonSource.secret_fields, settings)
        repo.add_source(ws, "mastodon", "Brightloaf on Mastodon", config, 60)

        async def listen() -> None:
            async with make_client(settings) as http:
                [outcome] = await Listener(
                    repo, Ingestor(repo, settings), settings, http
                ).run_once()
                assert outcome.ok, outcome.error

        asyncio.run(listen())
        # The brand's stock answer, already sent unchanged twice (imported history).
        history = [
            {
                "id": f"old{i}",
                "source": "mastodon",
                "text": f"@someone{i} {STOCK}",
                "created_at": f"2026-10-0{i + 1}T10:00:00Z",
                "author": {"id": "brand", "handle": "brightloaf"},
                "is_own": True,
            }
            for i in range(2)
        ]
        Ingestor(repo, settings).ingest(ws, [(r["id"], r) for r in history])
        Inbox(repo).set_rules(ws, template_threshold=2)
        make_user(repo, "ana@example.com", owner=True)
        with browser_page() as page:
            _answer(page, base, repo, ws, fake, question)


def _answer(
    page: Any, base: str, repo: Repository, ws: int, fake: MastodonFake, question: str
) -> None:
    inbox = Inbox(repo)
    _login(page, base, "ana@example.com")

    # The inbox: three conversations wait; the navigation says so.
    page.click("#nav-inbox")
    page.wait_for_url(re.compile(r"/inbox$"))
    assert page.inner_text("#nav-inbox .count") == "3"
    page.wait_for_selector("#chart-inbox[data-ready='1']")
    rows = page.locator("li.conversation")
    assert rows.count() == 3
    assert "answer due in" in page.inner_text("li.conversation >> nth=0")
    shot(page, "inbox")

    # Admin saves the stock answer as a reply template.
    page.fill("#templates input[name=name]", "Looking into it")
    page.fill("#templates textarea[name=text]", STOCK)
    page.click("#templates button[type=submit]")
    page.wait_for_selector("#templates li strong")

    # Bo looked at the Sunday question two minutes ago: the page says so.
    target = next(v for v in inbox.conversations(ws) if "Sunday" in v.preview)
    inbox.open_as(ws, target.id, "Bo")
    page.click(f"#c-{target.id} a.preview")
    page.wait_for_url(re.compile(rf"/inbox/{target.id}$"))
    assert re.search(r"Bo is viewing/replying since \d\d:\d\d", page.inner_text("#guard"))

    # Assign it to oneself.
    page.select_option("#assignee", "ana@example.com")
    page.click("#triage button:has-text('Assign')")
    page.wait_for_load_state()
    assert page.eval_on_selector("#assignee", "e => e.value") == "ana@example.com"
    assert inbox.conversation(ws, target.id).assignee == "ana@example.com"

    # The saved reply was sent unchanged twice already: picking it warns; editing clears it.
    page.select_option("#template-picker", label="Looking into it (sent 2×)")
    assert page.input_value("#reply-form textarea") == STOCK
    assert page.is_visible("#template-warning")
    reply = "Yes! Sundays from 8 to 14, and the play corner is open too."
    page.fill("#reply-form textarea", reply)
    assert not page.is_visible("#template-warning")
    page.click("#send")
    page.wait_for_url(re.compile(r"#thread$"))

    # The fake Mastodon received the reply to the question's status, as the brand.
    [posted] = fake.posted
    assert posted["in_reply_to_id"] == question.rsplit("/", 1)[1]
    assert reply in posted["content"]
    own = page.locator("li.post.own")
    assert own.count() == 1 and reply in own.inner_text()
    assert page.inner_text("#status") == "done"
    assert page.is_visible("#answered")
    shot(page, "conversation")

    # The inbox counts it: two left, one answered, response rate one in three.
    page.click("text=← Inbox")
    page.wait_for_url(re.compile(r"/inbox$"))
    assert page.inner_text("#nav-inbox .count") == "2"
    assert page.inner_text("#answered-count") == "1"
    assert page.inner_text("#response-rate") == "33%"
    metrics = inbox.metrics(ws)
    assert metrics.first_response.count == 1 and metrics.by_status["done"] == 1
    assert page.dialogs == []  # type: ignore[attr-defined]
