"""people: persons, identities, labels, notes, nurture log, detractor cases, tombstones

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

A person per workspace linking identities across networks, what teammates record about them,
the watermarks of the incremental build, the hashed identities of forgotten people, and an
index on posts by author for profiles.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "forgotten_identities",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_forgotten_identities_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "identity_hash", name=op.f("pk_forgotten_identities")
        ),
    )
    op.create_table(
        "people",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("standing", sa.String(length=16), nullable=False),
        sa.Column("standing_score", sa.Float(), nullable=False),
        sa.Column("labelled_posts", sa.Integer(), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("advocate_score", sa.Float(), nullable=False),
        sa.Column("is_advocate", sa.Boolean(), nullable=False),
        sa.Column("advocate_score_before", sa.Float(), nullable=False),
        sa.Column("advocate_breakdown", Json, nullable=False),
        sa.Column("first_post_at", When, nullable=True),
        sa.Column("last_post_at", When, nullable=True),
        sa.Column("last_contact_at", When, nullable=True),
        sa.Column("recomputed_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_people_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_index(
        "ix_people_workspace_advocate", "people", ["workspace_id", "advocate_score"], unique=False
    )
    op.create_index(
        "ix_people_workspace_standing", "people", ["workspace_id", "standing"], unique=False
    )
    op.create_table(
        "people_state",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("last_post_id", sa.BigInteger(), nullable=False),
        sa.Column("last_correction_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_people_state_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_people_state")),
    )
    op.create_table(
        "detractor_cases",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", When, nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("contacted_at", When, nullable=True),
        sa.Column("contacted_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", When, nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_detractor_cases_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_detractor_cases_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detractor_cases")),
    )
    op.create_index(
        op.f("ix_detractor_cases_person_id"), "detractor_cases", ["person_id"], unique=False
    )
    op.create_table(
        "person_identities",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=512), nullable=False),
        sa.Column("handle", sa.String(length=512), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("name_key", sa.String(length=512), nullable=True),
        sa.Column("profile_url", sa.String(length=2048), nullable=True),
        sa.Column("links", Json, nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", When, nullable=False),
        sa.Column("last_seen_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_person_identities_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_person_identities_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_identities")),
        sa.UniqueConstraint(
            "workspace_id", "source", "author_id", name=op.f("uq_person_identities_workspace_id")
        ),
    )
    op.create_index(
        "ix_person_identities_name", "person_identities", ["workspace_id", "name_key"], unique=False
    )
    op.create_index(
        op.f("ix_person_identities_person_id"), "person_identities", ["person_id"], unique=False
    )
    op.create_index(
        "ix_person_identities_profile",
        "person_identities",
        ["workspace_id", "profile_url"],
        unique=False,
    )
    op.create_table(
        "person_labels",
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_person_labels_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_person_labels_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "kind", "value", name=op.f("pk_person_labels")),
    )
    op.create_table(
        "person_notes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_person_notes_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_person_notes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_notes")),
    )
    op.create_index(op.f("ix_person_notes_person_id"), "person_notes", ["person_id"], unique=False)
    op.create_table(
        "person_nurture",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_person_nurture_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_person_nurture_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_nurture")),
    )
    op.create_index(
        op.f("ix_person_nurture_person_id"), "person_nurture", ["person_id"], unique=False
    )
    op.create_index(
        "ix_posts_workspace_author",
        "posts",
        ["workspace_id", "source", "author_id"],
        unique=False,
        sqlite_where=sa.text("author_id IS NOT NULL"),
        postgresql_where=sa.text("author_id IS NOT NULL"),
    )

    # The inbox ranks advocates' and detractors' conversations higher (goodwill.people).
    for column in ("advocates", "detractors"):
        op.add_column(
            "inbox_conversations",
            sa.Column(column, sa.Integer(), nullable=False, server_default=sa.text("0")),
        )


def downgrade() -> None:
    for column in ("advocates", "detractors"):
        op.drop_column("inbox_conversations", column)
    op.drop_index(
        "ix_posts_workspace_author",
        table_name="posts",
        sqlite_where=sa.text("author_id IS NOT NULL"),
        postgresql_where=sa.text("author_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_person_nurture_person_id"), table_name="person_nurture")
    op.drop_table("person_nurture")
    op.drop_index(op.f("ix_person_notes_person_id"), table_name="person_notes")
    op.drop_table("person_notes")
    op.drop_table("person_labels")
    op.drop_index("ix_person_identities_profile", table_name="person_identities")
    op.drop_index(op.f("ix_person_identities_person_id"), table_name="person_identities")
    op.drop_index("ix_person_identities_name", table_name="person_identities")
    op.drop_table("person_identities")
    op.drop_index(op.f("ix_detractor_cases_person_id"), table_name="detractor_cases")
    op.drop_table("detractor_cases")
    op.drop_table("people_state")
    op.drop_index("ix_people_workspace_standing", table_name="people")
    op.drop_index("ix_people_workspace_advocate", table_name="people")
    op.drop_table("people")
    op.drop_table("forgotten_identities")
