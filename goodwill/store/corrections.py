"""Users' label corrections laid over the models' analysis of a post.

The ``corrections`` table is the record of what users said; a post's ``analysis`` column shows
the model's labels with the latest correction of each field on top. Whenever the analysis is
written again (a source edited the post, ``goodwill reanalyze`` after a model upgrade), the
corrections are laid over the new labels here, so a user's word keeps winning; the model's own
label stays visible as ``model_label``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from goodwill.domain import SENTIMENT_LABELS
from goodwill.store.tables import Correction, Post, User

__all__ = ["SENTIMENTS", "Corrections", "corrected", "latest_corrections"]

SENTIMENTS = tuple(SENTIMENT_LABELS)


def corrected(analysis: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """``analysis`` with each ``field → label`` of ``labels`` shown as a user's correction."""
    out = dict(analysis)
    for field, label in labels.items():
        before = out.get(field)
        model_label = (
            before.get("model_label", before.get("label")) if isinstance(before, dict) else None
        )
        out[field] = {
            "label": label,
            "confidence": 1.0,
            "corrected": True,
            "model_label": model_label,
        }
    return out


def latest_corrections(
    conn: Connection, workspace_id: int, post_ids: Sequence[int]
) -> dict[int, dict[str, str]]:
    """Post id → {field: the label of its latest correction}, for those posts that have any."""
    if not post_ids:
        return {}
    rows = conn.execute(
        select(Correction.post_id, Correction.field, Correction.new)
        .where(Correction.workspace_id == workspace_id, Correction.post_id.in_(post_ids))
        .order_by(Correction.created_at, Correction.id)
    )
    out: dict[int, dict[str, str]] = {}
    for post_id, field, new in rows:
        out.setdefault(post_id, {})[field] = new  # later rows overwrite earlier ones
    return out


class Corrections:
    """Sentiment corrections as the web app and the API see them: made by a logged-in user,
    read back per post, exported as labelled examples. The same ``corrections`` rows the CLI
    writes (``Repository.correct_label``), so every interface shares one record."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def correct(
        self, workspace_id: int, post_id: int, label: str, user_id: int | None
    ) -> Correction:
        from goodwill.store.repository import Repository  # the repository imports this module

        who = "web"
        if user_id is not None:
            with Session(self.engine) as s:
                email = s.scalar(select(User.email).where(User.id == user_id))
            who = email or f"user {user_id}"
        return Repository(self.engine).correct_label(
            workspace_id, post_id, "sentiment", label, who=who
        )

    def latest(self, workspace_id: int, post_ids: Iterable[int]) -> dict[int, str]:
        """Post id → its latest corrected sentiment, for the posts that have one."""
        ids = list(post_ids)
        with self.engine.connect() as conn:
            found = latest_corrections(conn, workspace_id, ids)
        return {pid: fields["sentiment"] for pid, fields in found.items() if "sentiment" in fields}

    def export(
        self, workspace_id: int, *, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Sentiment corrections with their post's text, oldest first, ``after_id`` for paging."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(Correction, Post.text, Post.lang, Post.source)
                .join(Post, Post.id == Correction.post_id)
                .where(
                    Correction.workspace_id == workspace_id,
                    Post.workspace_id == workspace_id,
                    Correction.field == "sentiment",
                    Correction.id > after_id,
                )
                .order_by(Correction.id)
                .limit(limit)
            ).all()
        return [
            {
                "id": c.id,
                "post_id": c.post_id,
                "label": c.new,
                "previous_label": c.old,
                "corrected_by": c.who,
                "corrected_at": c.created_at.isoformat(),
                "source": source,
                "lang": lang,
                "text": text,
            }
            for c, text, lang, source in rows
        ]
