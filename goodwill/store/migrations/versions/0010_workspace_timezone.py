"""workspaces: a time zone

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-22

The local time in which a workspace's digests go out ("daily at 09:00"); rules may name their
own. Existing workspaces get UTC, which is what their digests used until now.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("timezone")
