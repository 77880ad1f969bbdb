"""inbox: counts of sent texts, posts by latest update; corrections in commit order

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-22

``inbox_sent_texts`` keeps how many times the brand sent each (normalised) text, so flagging
templates no longer groups every own post on each metrics call; the inbox's next refresh fills
it (the refresh mark's version changed, so it recounts). ``ix_posts_workspace_updated`` answers
the refresh's "latest update" from the index instead of a scan of the workspace's posts. Three
durations on each conversation (microseconds, from its posts) let the metrics aggregate without
subtracting timestamps row by row.

People sync read new sentiment corrections by id (``people_state.last_correction_id``), which on
PostgreSQL skips a correction whose transaction commits after a later one was read. Corrections
now record their transaction (``corrections.stored_xact``, default ``pg_current_xact_id()``, as
``posts.stored_xact`` in 0015) and ``people_state.last_correction_xact`` says up to which
transaction sync has looked; 0 means "read those stored before this migration by id first".
SQLite keeps ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
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
    # Corrections in commit order, as posts in 0015: no default in the ADD COLUMN (no rewrite).
    op.add_column("corrections", sa.Column("stored_xact", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE corrections ALTER COLUMN stored_xact "
            "SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )
    op.create_index(
        "ix_corrections_workspace_xact",
        "corrections",
        ["workspace_id", "stored_xact"],
        sqlite_where=sa.text("stored_xact IS NOT NULL"),
        postgresql_where=sa.text("stored_xact IS NOT NULL"),
    )
    op.add_column(
        "people_state",
        sa.Column("last_correction_xact", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # On a SQLite store that has planner statistics (someone ran ANALYZE), an index without
    # them is taken for a very selective one: the mention stream then read every post of the
    # workspace through ix_posts_workspace_updated and sorted them (3 s a page at 1,000,000
    # posts, against 0.1 s). Give the new indexes their statistics too.
    bind = op.get_bind()
    if (
        bind.dialect.name == "sqlite"
        and bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
        ).first()
    ):
        op.execute("ANALYZE ix_posts_workspace_updated")
        op.execute("ANALYZE ix_corrections_workspace_xact")


def downgrade() -> None:
    with op.batch_alter_table("people_state") as batch:
        batch.drop_column("last_correction_xact")
    op.drop_index("ix_corrections_workspace_xact", table_name="corrections")
    with op.batch_alter_table("corrections") as batch:
        batch.drop_column("stored_xact")
    op.drop_index("ix_posts_workspace_updated", table_name="posts")
    with op.batch_alter_table("inbox_conversations") as batch:
        for name in ("first_response_us", "answer_wait_us", "own_after_ask_us"):
            batch.drop_column(name)
    op.drop_table("inbox_sent_texts")
