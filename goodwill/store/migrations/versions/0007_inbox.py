"""inbox: conversations, notes, rules

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-22

Conversations derived from the stored posts (with the teammates' status and assignee), internal
notes, and each workspace's inbox rules (SLA, own handles, template threshold).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox_conversations",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("thread_key", sa.String(length=600), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("root_post_id", sa.BigInteger(), nullable=False),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", When, nullable=False),
        sa.Column("opened_by_customer", sa.Boolean(), nullable=False),
        sa.Column("last_post_at", When, nullable=False),
        sa.Column("first_ask_at", When, nullable=True),
        sa.Column("last_ask_at", When, nullable=True),
        sa.Column("first_response_at", When, nullable=True),
        sa.Column("answered_at", When, nullable=True),
        sa.Column("last_own_at", When, nullable=True),
        sa.Column("needs_answer", sa.Boolean(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("asks_answered", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("direct_mentions", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("max_followers", sa.BigInteger(), nullable=True),
        sa.Column("author_handle", sa.String(length=512), nullable=True),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("status_at", When, nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("viewer", sa.String(length=200), nullable=True),
        sa.Column("viewer_at", When, nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbox_conversations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_conversations")),
        sa.UniqueConstraint(
            "workspace_id", "thread_key", name=op.f("uq_inbox_conversations_workspace_id")
        ),
    )
    op.create_index(
        "ix_inbox_conversations_workspace_last",
        "inbox_conversations",
        ["workspace_id", "last_post_at"],
    )
    op.create_table(
        "inbox_notes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["inbox_conversations.id"],
            name=op.f("fk_inbox_notes_conversation_id_inbox_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbox_notes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_notes")),
    )
    op.create_index(op.f("ix_inbox_notes_conversation_id"), "inbox_notes", ["conversation_id"])
    op.create_table(
        "inbox_rules",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("first_response_sla_s", sa.Integer(), nullable=False),
        sa.Column("own_handles", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("template_threshold", sa.Integer(), nullable=False),
        sa.Column("refresh_mark", sa.String(length=200), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbox_rules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_inbox_rules")),
    )


def downgrade() -> None:
    op.drop_table("inbox_rules")
    op.drop_index(op.f("ix_inbox_notes_conversation_id"), table_name="inbox_notes")
    op.drop_table("inbox_notes")
    op.drop_index("ix_inbox_conversations_workspace_last", table_name="inbox_conversations")
    op.drop_table("inbox_conversations")
