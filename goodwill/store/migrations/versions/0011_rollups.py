"""dashboard rollups: counts per UTC hour

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-22

The dashboard's counts per topic, sentiment and author, per UTC hour, kept by the writer in the
same transaction as the posts (``goodwill.store.rollups``). Existing posts are counted here once;
``goodwill rollups rebuild`` does the same at any later time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "rollup_topic_hours",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("topic_id", BigId, nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        _fk("rollup_topic_hours", "topic_id", "topics"),
        _fk("rollup_topic_hours", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "topic_id", "hour", name=op.f("pk_rollup_topic_hours")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_post_hours",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("sentiment", sa.String(length=32), nullable=False),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        _fk("rollup_post_hours", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "hour", "sentiment", "duplicate", name=op.f("pk_rollup_post_hours")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_people_hours",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=512), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        _fk("rollup_people_hours", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "source", "handle", "hour", name=op.f("pk_rollup_people_hours")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_people_totals",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=512), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        _fk("rollup_people_totals", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "source", "handle", name=op.f("pk_rollup_people_totals")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_rollup_people_totals_workspace_n",
        "rollup_people_totals",
        ["workspace_id", "n", "source", "handle"],
    )
    # Count the posts already stored. Imported here, not at the top: only this step needs it.
    from goodwill.store.rollups import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_rollup_people_totals_workspace_n", table_name="rollup_people_totals")
    op.drop_table("rollup_people_totals")
    op.drop_table("rollup_people_hours")
    op.drop_table("rollup_post_hours")
    op.drop_table("rollup_topic_hours")
