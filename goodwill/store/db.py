"""Opening the store: one engine per URL, SQLite tuned for one writer and many readers.

SQLite runs in WAL mode so the web pages can read while the listener writes; foreign keys are
switched on (SQLite leaves them off by default) so deleting a workspace really deletes its data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["create_store_engine", "writer"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy manage transactions: pysqlite's own implicit BEGIN handling gets in the way.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: random-key indexes stay in memory
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two writers wait for each other instead of
    # failing half-way with "database is locked".
    write = conn.get_execution_options().get("goodwill_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_store_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; creates the folder of a SQLite file when needed."""
    parsed = make_url(url)
    json_options: dict[str, Any] = {"json_serializer": _json, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False}, **json_options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, **json_options)


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take SQLite's write lock when they begin."""
    return engine.execution_options(goodwill_write=True)
