"""Grouped upserts shared by the dashboard's rollups (``store.rollups``, ``store.rollup_windows``).

Counts are added, never set, so every change that moves a count can be applied as a difference
in the caller's transaction; rows whose count falls to zero go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Integer, Table, exists, func, select
from sqlalchemy import cast as sql_cast

from goodwill.store.tables import Mention, Post

__all__ = ["drop_zeros", "hour_of", "hour_sql", "in_topics", "upsert_adding"]


def hour_of(when: datetime) -> int:
    """The bucket of an aware datetime: whole hours since 1970-01-01 UTC."""
    return int(when.timestamp() // 3600)


def hour_sql(dialect: str, column: Any) -> ColumnElement[int]:
    """``hour_of`` in SQL. SQLite keeps naive UTC text; its ``strftime`` rounds fractions of a
    second to milliseconds (10:59:59.9999 would become 11:00), so the fraction is cut first."""
    if dialect == "sqlite":
        seconds = sql_cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
        return seconds // 3600
    return sql_cast(func.floor(func.extract("epoch", column) / 3600), BigInteger)


def in_topics() -> ColumnElement[bool]:
    """The post is in at least one topic (only such posts count anywhere on the dashboard)."""
    return exists(select(Mention.post_id).where(Mention.post_id == Post.id))


def upsert_adding(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    extra: Sequence[str] = (),
) -> None:
    """One grouped ``INSERT … ON CONFLICT DO UPDATE`` adding ``n`` (SQLite and PostgreSQL both
    speak it); plain driver values, as on the writer's hot path."""
    if not rows:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    columns = [*keys, "n", *extra]
    # In key order: two PostgreSQL writers touching the same buckets then lock them in the same
    # order and wait for each other instead of deadlocking.
    rows = sorted(rows, key=lambda row: row[: len(keys)])
    t = table.name
    sets = [f"n = {t}.n + excluded.n"] + [
        # The larger of the stored and the new value, NULL losing (portable GREATEST).
        f"{c} = CASE WHEN excluded.{c} IS NOT NULL AND ({t}.{c} IS NULL OR excluded.{c} > {t}.{c})"
        f" THEN excluded.{c} ELSE {t}.{c} END"
        for c in extra
    ]
    conn.exec_driver_sql(
        # Table and column names are our own constants, never input.
        f"INSERT INTO {t} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}",
        list(rows),
    )


def drop_zeros(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Rows whose count fell to zero go, so a rollup holds exactly the non-empty groups."""
    if not rows:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    where = " AND ".join(f"{k} = {mark}" for k in keys)
    conn.exec_driver_sql(
        f"DELETE FROM {table.name} WHERE {where} AND n <= 0",  # noqa: S608
        list(rows),
    )
