"""top people windows: authors' posts since the start of the last 7, 30 and 90 days

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-22

With many equally active authors, the all-time totals (0011) bound a week's count so loosely
that top people read a hundred thousand authors. These windows (``goodwill.store
.rollup_windows``), kept by the writer like the other rollups, bound it within a day or two.
They are counted here once from the hourly rollups.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "rollup_people_window_starts",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("start_hour", sa.BigInteger(), nullable=False),
        _fk("rollup_people_window_starts"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "days", name=op.f("pk_rollup_people_window_starts")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_people_windows",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=512), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        _fk("rollup_people_windows"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "days", "source", "handle", name=op.f("pk_rollup_people_windows")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_rollup_people_windows_workspace_days_n",
        "rollup_people_windows",
        ["workspace_id", "days", "n", "source", "handle"],
    )
    # Imported here, not at the top: only this step needs it.
    from goodwill.store.rollup_windows import rebuild_windows

    bind = op.get_bind()
    for (ws,) in bind.execute(sa.text("SELECT id FROM workspaces ORDER BY id")):
        rebuild_windows(bind, ws)


def downgrade() -> None:
    op.drop_index("ix_rollup_people_windows_workspace_days_n", table_name="rollup_people_windows")
    op.drop_table("rollup_people_windows")
    op.drop_table("rollup_people_window_starts")
