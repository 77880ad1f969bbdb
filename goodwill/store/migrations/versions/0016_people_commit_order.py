"""people_state: a watermark in commit order

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22

People sync read new posts by id and let its watermark pass only posts stored 30 s ago, so on
PostgreSQL a batch whose transaction stayed open longer while later ids were read was never
absorbed into people. It now reads in commit order like alert rules (``goodwill.store
.commit_order``): ``people_state.last_xact`` says up to which transaction it has looked. It
starts at 0, which means "read the posts without a transaction id (stored before 0015) by
``last_post_id`` first". SQLite keeps using ``last_post_id``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "people_state",
        sa.Column("last_xact", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("people_state") as batch:
        batch.drop_column("last_xact")
