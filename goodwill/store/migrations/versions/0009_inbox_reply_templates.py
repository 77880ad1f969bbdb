"""inbox: saved reply templates, replies indexed by the post they answer

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-22

Replies the team starts from in the inbox's reply box (one sent unchanged many times is
flagged), and indexes for the inbox's incremental refresh: posts by ``in_reply_to`` (to find a
new post's thread without reading the workspace) and conversations by their first post.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox_reply_templates",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbox_reply_templates_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_reply_templates")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_inbox_reply_templates_workspace_id")
        ),
    )

    op.create_index(
        "ix_inbox_conversations_workspace_root",
        "inbox_conversations",
        ["workspace_id", "root_post_id"],
    )
    op.create_index(
        "ix_posts_workspace_reply",
        "posts",
        ["workspace_id", "source", "in_reply_to"],
        sqlite_where=sa.text("in_reply_to IS NOT NULL"),
        postgresql_where=sa.text("in_reply_to IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_posts_workspace_reply", table_name="posts")
    op.drop_index("ix_inbox_conversations_workspace_root", table_name="inbox_conversations")
    op.drop_table("inbox_reply_templates")
