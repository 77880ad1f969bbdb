"""sources: rate-limit state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The provider's latest word on a source's request budget (limit, remaining, seconds to reset),
shown by `goodwill sources status`. Nullable: sources that never saw one have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(
            sa.Column(
                "rate_limit",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("rate_limit")
