"""posts: the storing transaction's id; alert rules: a watermark in commit order

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22

On PostgreSQL, ids come from a sequence when a row is inserted but transactions commit in any
order, so a watermark on ``posts.id`` can pass over a batch that commits late and its alerts are
lost. ``posts.stored_xact`` records the id of the transaction that stored each post (a 64-bit
``pg_current_xact_id()``, which never wraps around, unlike the 32-bit ``xmin`` column), and
``alert_rules.last_xact`` says up to which transaction a rule has looked
(``goodwill.alerts.evaluate``). SQLite has one writer at a time and keeps using ids; its column
stays empty and its partial index with it.

The column is added without a default first, then given one: a volatile default given in the
ADD COLUMN would rewrite every stored post. Posts stored before the upgrade keep NULL; rules keep
``last_xact`` 0, which means "read the posts without a transaction id by ``last_post_id`` first".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("stored_xact", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE posts ALTER COLUMN stored_xact "
            "SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )
    op.create_index(
        "ix_posts_workspace_xact",
        "posts",
        ["workspace_id", "stored_xact"],
        sqlite_where=sa.text("stored_xact IS NOT NULL"),
        postgresql_where=sa.text("stored_xact IS NOT NULL"),
    )
    op.add_column(
        "alert_rules",
        sa.Column("last_xact", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("alert_rules") as batch:
        batch.drop_column("last_xact")
    op.drop_index("ix_posts_workspace_xact", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("stored_xact")
