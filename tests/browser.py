"""A live Goodwill server on 127.0.0.1 and Debian's Chromium driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium (``.ci/run`` installs it), with
a fresh profile and every background network feature off, so a test can only ever reach the app.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from goodwill.settings import Settings
from goodwill.store.db import create_store_engine
from goodwill.store.migrate import upgrade
from goodwill.store.repository import Repository
from goodwill.web.app import create_app

__all__ = ["CHROMIUM", "browser_page", "live_server", "shot"]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = os.environ.get("GOODWILL_SCREENSHOTS")  # a folder: save screenshots there


@contextmanager
def live_server(
    tmp_path: Path, database_url: str | None = None, **overrides: object
) -> Iterator[tuple[str, Repository, Settings]]:
    """The app on a free port, on ``database_url`` (a fresh SQLite file when None).

    ``overrides``: further settings (``http_allow_private=True`` for local receivers)."""
    base: dict[str, object] = {"ingest_batch_size": 200, "live_poll_seconds": 0.5}
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        **{**base, **overrides},  # type: ignore[arg-type]
    )
    engine = create_store_engine(settings.resolved_database_url())
    upgrade(engine)
    repo = Repository(engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(repo, settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{port}", repo, settings
    finally:
        server.should_exit = True
        thread.join(30)
        # A server still running would query a database the fixtures are about to drop.
        assert not thread.is_alive(), "the test server did not stop within 30 s"
        engine.dispose()


@contextmanager
def browser_page() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run should have installed chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 860},
        )
        try:
            page = context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.dialogs = dialogs  # type: ignore[attr-defined]
            yield page
        finally:
            context.close()


def shot(page: object, name: str) -> None:
    """Save a screenshot for the docs when GOODWILL_SCREENSHOTS names a folder."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]
