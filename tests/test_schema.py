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


def test_new_indexes_get_statistics_where_the_planner_has_them(tmp_path: Any) -> None:
    """A SQLite store with ANALYZE statistics must not lose its mention stream's plan to an
    index added later without them (0019's posts index did: 3 s a page at 1M posts)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from goodwill.ingest import Ingestor
    from goodwill.settings import Settings
    from goodwill.store.db import create_store_engine
    from goodwill.store.repository import Repository

    url = f"sqlite:///{tmp_path / 'stats.db'}"
    engine = create_store_engine(url)
    upgrade(engine, "0018")
    repo = Repository(engine)
    ws = repo.add_workspace("Stats").id
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    posts = [
        {
            "id": str(i),
            "source": "x",
            "text": f"post number {i} about bread",
            "created_at": (t0 + timedelta(minutes=i)).isoformat(),
            "author": {"id": f"u{i}", "handle": f"@user{i}"},
        }
        for i in range(200)
    ]
    settings = Settings(data_dir=tmp_path, database_url=url, sentiment="vader")
    Ingestor(repo, settings).ingest(ws, [(str(i), p) for i, p in enumerate(posts)])
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    upgrade(engine)
    engine.dispose()  # the planner reads the statistics when a connection opens
    with engine.connect() as conn:
        analysed = set(conn.execute(text("SELECT idx FROM sqlite_stat1")).scalars())
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id FROM posts WHERE workspace_id = :ws"
                    " AND duplicate_of IS NULL ORDER BY created_at DESC, id DESC LIMIT 50"
                ),
                {"ws": ws},
            )
        )
    assert "ix_posts_workspace_created" in plan, plan
    assert "ix_posts_workspace_updated" in analysed
    engine.dispose()
