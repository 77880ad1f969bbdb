"""inbox: counts of sent texts, posts by latest update, durations on conversations

Revision ID: 0019
Revises: 0016
Create Date: 2026-11-22

``inbox_sent_texts`` keeps how many times the brand sent each (normalised) text, so flagging
templates no longer groups every own post on each metrics call; the inbox's next refresh fills
it (the refresh mark's version changed, so it recounts). ``ix_posts_workspace_updated`` answers
the refresh's "latest update" from the index instead of a scan of the workspace's posts. Three
durations on each conversation (microseconds, from its posts) let the metrics aggregate without
subtracting timestamps row by row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbox_sent_texts",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbox_sent_texts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "text_hash", name=op.f("pk_inbox_sent_texts")),
    )
    for name in ("first_response_us", "answer_wait_us", "own_after_ask_us"):
        op.add_column("inbox_conversations", sa.Column(name, sa.BigInteger(), nullable=True))
    op.create_index("ix_posts_workspace_updated", "posts", ["workspace_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_workspace_updated", table_name="posts")
    with op.batch_alter_table("inbox_conversations") as batch:
        for name in ("first_response_us", "answer_wait_us", "own_after_ask_us"):
            batch.drop_column(name)
    op.drop_table("inbox_sent_texts")
