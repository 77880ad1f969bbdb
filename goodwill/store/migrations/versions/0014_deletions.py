"""deletions at the source: tombstones of deleted posts, people to recompute

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-23

Connectors report posts deleted on their networks; the writer removes them from the workspace
whose source reported them and records a tombstone (``deleted_posts``) so a post arriving after
its deletion is not stored; authors who lost posts wait in ``people_stale`` for
``people.sync`` to recompute them (``goodwill.store.deletion_tables``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deleted_posts",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=512), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kept_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_deleted_posts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "source", "external_id", name=op.f("pk_deleted_posts")
        ),
    )
    op.create_index("ix_deleted_posts_kept_until", "deleted_posts", ["kept_until"])
    op.create_table(
        "people_stale",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_people_stale_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_people_stale_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "person_id", name=op.f("pk_people_stale")),
    )


def downgrade() -> None:
    op.drop_table("people_stale")
    op.drop_index("ix_deleted_posts_kept_until", table_name="deleted_posts")
    op.drop_table("deleted_posts")
