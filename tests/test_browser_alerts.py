"""In a real browser: create a new-mention rule with a webhook to a local receiver, send a test
alert and see it delivered, ingest a matching post, and find its delivery in the log.

Set GOODWILL_SCREENSHOTS=docs/screenshots to refresh docs/screenshots/alerts.png.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from goodwill.alerts import AlertService
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.net import make_client
from goodwill.store.alerts import AlertStore
from tests.alertsinks import WebhookReceiver
from tests.browser import browser_page, live_server, shot
from tests.test_browser import _login
from tests.webclient import make_user

pytestmark = pytest.mark.slow


def test_alert_rule_test_and_delivery_in_a_browser(tmp_path: Path) -> None:
    hook = WebhookReceiver().start()
    try:
        with (
            live_server(tmp_path, http_allow_private=True) as (base, repo, settings),
            browser_page() as page,
        ):
            ws = repo.add_workspace("Brightloaf", default=True)
            repo.add_topic(ws.id, "Brightloaf", TopicKind.BRAND, "brightloaf")
            repo.add_topic(ws.id, "Rival Rolls", TopicKind.COMPETITOR, '"rival rolls"')
            make_user(repo, "owner@example.com", owner=True)
            _login(page, base, "owner@example.com")

            page.click("nav.main >> text=Alerts")
            page.wait_for_url(re.compile(r"/alerts$"))
            page.click("text=New rule")
            page.wait_for_url(re.compile(r"/alerts/new$"))
            page.fill("input[name=name]", "Brand mentions to ops")
            page.select_option("select[name=topic]", "Brightloaf")
            page.fill("textarea[name=webhooks]", hook.url)
            page.click("form.rule-form button.primary")
            # The signing secret is shown once, on the page after saving.
            page.wait_for_selector("#secrets code.secret")
            secret = page.inner_text("#secrets code.secret")
            assert secret.startswith("whsec_")

            page.click("#send-test")
            page.wait_for_selector("#test-result")
            result = page.inner_text("#test-result")
            assert "delivered (HTTP 204)" in result, result
            shot(page, "alert-rule")
            [test] = hook.requests
            assert orjson.loads(test.body)["type"] == "alert.test"

            # A matching post arrives (the listener's hook evaluates, its worker delivers).
            alerts = AlertService(AlertStore(repo.engine), settings)
            now = datetime.now(UTC).isoformat()
            item = {
                "id": "42",
                "source": "mastodon",
                "url": "https://mastodon.example/@kim/42",
                "text": "Brightloaf's rye is back and it is wonderful",
                "created_at": now,
                "author": {"id": "kim", "handle": "@kim", "followers": 120},
            }
            Ingestor(repo, settings, after_batch=[alerts.after_batch]).ingest(ws.id, [("0", item)])

            async def deliver() -> list[object]:
                async with make_client(settings) as http:
                    return list(await alerts.worker(http).deliver_due())

            # Playwright's sync API runs an event loop in this thread: deliver from another.
            with ThreadPoolExecutor(1) as pool:
                assert len(pool.submit(asyncio.run, deliver()).result(30)) == 1
            assert len(hook.requests) == 2
            assert orjson.loads(hook.requests[1].body)["type"] == "alert.mention"

            page.click(".crumbs >> text=Alerts")
            page.click("text=Delivery log")
            page.wait_for_url(re.compile(r"/alerts/log$"))
            rows = page.locator("table.log tbody tr").all_inner_texts()
            assert len(rows) == 2
            assert "Brightloaf" in rows[0] and "sent" in rows[0]
            assert "Test alert for rule Brand mentions to ops" in rows[1]
            page.select_option("select[name=status]", "failed")
            page.click("#log-filters button")
            page.wait_for_url(re.compile(r"status=failed"))
            assert "No delivery matches these filters" in page.inner_text("main")

            # The list: kind, topic, channel, last fired; a second rule for the screenshot.
            alerts.add_rule(
                ws.id,
                "Negative spike",
                "negative_spike",
                topic="Brightloaf",
                params={"k": 2.5, "min_volume": 8},
                frequency="now",
                emails=["care@brightloaf.example"],
            )
            alerts.add_rule(
                ws.id,
                "Rival digest",
                "mention",
                topic="Rival Rolls",
                frequency="weekly",
                params={"digest_at": "09:00", "digest_weekday": 0},
                webhooks=[("https://hooks.slack.com/services/T0/B0/XXXX", "slack")],
            )
            page.goto(f"{base}/w/{ws.id}/alerts")
            page.click("#feed button")
            page.wait_for_selector("code.feed-url")
            row = page.locator("tr[data-rule='Brand mentions to ops']").inner_text()
            assert "New mentions" in row and "just now" in row and "127.0.0.1" in row
            row = page.locator("tr[data-rule='Rival digest']").inner_text()
            assert "weekly digest at 09:00 on Monday" in row
            shot(page, "alerts")
            assert page.dialogs == []  # type: ignore[attr-defined]
    finally:
        hook.stop()
