"""Crash and restart: a delivery worker process killed with SIGKILL mid-delivery, then started
again, re-sends nothing the receiver acknowledged and loses nothing it did not; and posts stored
by a process that died before evaluating its rules are evaluated by the next tick."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from goodwill.alerts import AlertService
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.alerts import AlertStore
from goodwill.store.repository import Repository
from goodwill.store.tables import AlertDelivery, AlertEvent
from tests.alertsinks import WebhookReceiver

ACKED_BEFORE_CRASH = 8
EVENTS = 20


def posts(n: int, prefix: str) -> list[tuple[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        (
            f"item {i}",
            {
                "id": f"{prefix}{i}",
                "source": "mastodon",
                "text": f"Brightloaf post {prefix}{i}",
                "created_at": now,
                "author": {"handle": f"@u{i}"},
            },
        )
        for i in range(n)
    ]


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def _worker(database_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GOODWILL_DATABASE_URL": database_url,
        "GOODWILL_DATA_DIR": str(tmp_path),
        "GOODWILL_HTTP_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
        "GOODWILL_ALERTS_CLAIM_SECONDS": "2",
        "GOODWILL_HTTP_TIMEOUT": "120",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "goodwill", "alerts", "run", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _statuses(repo: Repository) -> Counter[str]:
    with repo.session() as s:
        return Counter(s.scalars(select(AlertDelivery.status)))


def _wait(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_killed_worker_loses_and_repeats_nothing(
    repo: Repository, settings: Settings, hook: WebhookReceiver, database_url: str, tmp_path: Path
) -> None:
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    alerts = AlertService(AlertStore(repo.engine), settings, allow_loopback=True)
    alerts.add_rule(
        ws, "all", "mention", topic="brand", max_per_hour=1000, webhooks=[(hook.url, "standard")]
    )
    Ingestor(repo, settings, after_batch=[alerts.after_batch]).ingest(ws, posts(EVENTS, "p"))
    assert _statuses(repo) == {"pending": EVENTS}

    # The receiver acknowledges the first 8 requests and holds the others open: the worker is
    # killed while those 12 are on the wire.
    hook.answer = lambda n, r: 200 if n <= ACKED_BEFORE_CRASH else None
    first = _worker(database_url, tmp_path)
    try:
        _wait(lambda: len(hook.requests) == EVENTS)
        _wait(lambda: _statuses(repo)["sent"] == ACKED_BEFORE_CRASH)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL
    assert _statuses(repo) == {"sent": ACKED_BEFORE_CRASH, "sending": EVENTS - ACKED_BEFORE_CRASH}
    acked = {r.headers["webhook-id"] for r in hook.requests[:ACKED_BEFORE_CRASH]}

    # Restart after the dead worker's claims ran out (2 s): the receiver now answers at once.
    hook.answer = lambda n, r: 200
    hook.released.set()
    time.sleep(2.5)
    second = _worker(database_url, tmp_path)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err.decode()
    summary = orjson.loads(out)
    assert summary["sent"] == EVENTS - ACKED_BEFORE_CRASH and summary["failed"] == 0

    assert _statuses(repo) == {"sent": EVENTS}
    tries = Counter(hook.ids())
    # Acknowledged before the crash: sent once, never again.
    assert all(tries[i] == 1 for i in acked)
    # In flight at the crash: sent again after the restart, with the same webhook-id.
    assert sorted(c for i, c in tries.items() if i not in acked) == [2] * (
        EVENTS - ACKED_BEFORE_CRASH
    )
    # The receiver, counting each webhook-id once, has every event exactly once.
    first_seen = {}
    for r in hook.requests:
        first_seen.setdefault(r.headers["webhook-id"], orjson.loads(r.body)["data"]["event_id"])
    assert len(first_seen) == EVENTS
    with repo.session() as s:
        assert sorted(first_seen.values()) == sorted(s.scalars(select(AlertEvent.id)))


def test_posts_stored_without_evaluation_are_evaluated_by_the_next_tick(
    repo: Repository, settings: Settings
) -> None:
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    alerts = AlertService(AlertStore(repo.engine), settings, allow_loopback=True)
    alerts.add_rule(ws, "all", "mention", topic="brand", emails=["a@b.example"])
    # A process that stored its batch and died before its hook ran (here: no hook at all).
    Ingestor(repo, settings).ingest(ws, posts(3, "q"))
    with repo.session() as s:
        assert list(s.scalars(select(AlertEvent))) == []
    assert alerts.tick().events == 3
    assert alerts.tick().events == 0
