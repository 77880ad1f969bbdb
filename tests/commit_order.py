"""Waiting for PostgreSQL's commit order to catch up, for the tests of readers that follow it
(alerts and people sync, ``goodwill.store.commit_order``)."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

__all__ = ["settle"]


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
