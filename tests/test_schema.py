"""The migrations build exactly the schema the tables declare, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from goodwill.store.migrate import current_revision, head_revision, upgrade
from goodwill.store.tables import Base


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # Full-text search objects are created by the migration in each engine's own way.
    if type_ == "table" and name and name.startswith("posts_fts"):
        return False
    return not (type_ == "column" and name == "search_vector") and not (
        type_ == "index" and name == "ix_posts_search"
    )


def test_migrations_match_the_tables(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()
