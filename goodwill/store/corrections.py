"""Sentiment corrections: what people said a post's sentiment really is.

Kept apart from ``posts.analysis`` (which the model owns and may rewrite) so that a correction is
never lost to a re-analysis, and so the corrections can be exported as labelled examples to
measure the model and improve it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from goodwill.store.repository import NotFound, StoreError
from goodwill.store.tables import Post, SentimentCorrection, User

__all__ = ["SENTIMENTS", "Corrections"]

SENTIMENTS = ("negative", "neutral", "positive")


class Corrections:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def correct(
        self, workspace_id: int, post_id: int, label: str, user_id: int | None
    ) -> SentimentCorrection:
        if label not in SENTIMENTS:
            raise StoreError(f"sentiment must be one of {', '.join(SENTIMENTS)}, not {label!r}")
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            post = s.scalar(
                select(Post).where(Post.id == post_id, Post.workspace_id == workspace_id)
            )
            if post is None:
                raise NotFound(f"no post {post_id} in this workspace")
            previous = self.latest(workspace_id, [post_id]).get(post_id)
            if previous is None:
                model = (post.analysis or {}).get("sentiment")
                previous = model.get("label") if isinstance(model, dict) else None
            row = SentimentCorrection(
                workspace_id=workspace_id,
                post_id=post_id,
                user_id=user_id,
                label=label,
                previous_label=previous,
            )
            s.add(row)
        return row

    def latest(self, workspace_id: int, post_ids: Iterable[int]) -> dict[int, str]:
        """Post id → its latest corrected label, for the posts that have one."""
        ids = list(post_ids)
        if not ids:
            return {}
        with Session(self.engine) as s:
            rows = s.execute(
                select(SentimentCorrection.post_id, SentimentCorrection.label)
                .where(
                    SentimentCorrection.workspace_id == workspace_id,
                    SentimentCorrection.post_id.in_(ids),
                )
                .order_by(SentimentCorrection.id)
            )
            return {post_id: label for post_id, label in rows}

    def export(
        self, workspace_id: int, *, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Corrections with their post's text, oldest first, ``after_id`` for paging."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(SentimentCorrection, Post.text, Post.lang, Post.source, User.email)
                .join(Post, Post.id == SentimentCorrection.post_id)
                .outerjoin(User, User.id == SentimentCorrection.user_id)
                .where(SentimentCorrection.workspace_id == workspace_id)
                .where(SentimentCorrection.id > after_id)
                .order_by(SentimentCorrection.id)
                .limit(limit)
            ).all()
        return [
            {
                "id": c.id,
                "post_id": c.post_id,
                "label": c.label,
                "previous_label": c.previous_label,
                "corrected_by": email,
                "corrected_at": c.created_at.isoformat(),
                "source": source,
                "lang": lang,
                "text": text,
            }
            for c, text, lang, source, email in rows
        ]
