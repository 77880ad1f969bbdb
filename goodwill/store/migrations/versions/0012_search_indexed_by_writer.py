"""search: new posts are indexed by the writer, one statement per batch (SQLite)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22

The AFTER INSERT trigger indexed each post in its own statement, and FTS5 writes its pending
terms to disk at every statement: one tiny index segment per post, then merges. Measured on
100,000 posts: 5.6 s through the trigger, 1.9 s with one INSERT … SELECT per batch of 1,000
(``goodwill.store.search.index_new_posts``, called by the writer). The delete and update
triggers stay: deletes and edits come one statement per batch already. PostgreSQL keeps its
generated tsvector column; nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS posts_fts_ai")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            """CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
                INSERT INTO posts_fts(rowid, text, author_name, author_handle)
                VALUES (new.id, new.text, new.author_name, new.author_handle);
            END"""
        )
