"""Waiting for PostgreSQL's commit order to catch up, for the tests of readers that follow it
(alerts and people sync, ``goodwill.store.commit_order``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

__all__ = ["all_at_once", "settle"]


def settle(engine: Engine, timeout: float = 30.0) -> None:
    """Wait until no transaction that began before now is still running anywhere in the
    cluster (other tests share the server), so commit order has caught up. SQLite: at once."""
    if engine.dialect.name == "sqlite":
        return
    with engine.connect() as conn:
        now = conn.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
        conn.rollback()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            horizon = conn.scalar(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            )
            conn.rollback()
            if horizon > now:
                return
            time.sleep(0.05)
    raise AssertionError(f"a transaction in the cluster stayed open for {timeout:.0f} s")


def all_at_once(work: Callable[[], object], threads: int = 4, times: int = 3) -> None:
    """Run ``work`` ``times`` times in each of ``threads`` threads released together, as
    concurrent workers would; re-raise the first error any of them met."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run() -> None:
        try:
            start.wait()
            for _ in range(times):
                work()
        except BaseException as exc:
            errors.append(exc)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for th in running:
        th.start()
    for th in running:
        th.join()
    if errors:
        raise errors[0]
