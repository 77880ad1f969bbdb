"""Users' label corrections laid over the models' analysis of a post.

The ``corrections`` table is the record of what users said; a post's ``analysis`` column shows
the model's labels with the latest correction of each field on top. Whenever the analysis is
written again (a source edited the post, ``goodwill reanalyze`` after a model upgrade), the
corrections are laid over the new labels here, so a user's word keeps winning; the model's own
label stays visible as ``model_label``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from goodwill.store.tables import Correction

__all__ = ["corrected", "latest_corrections"]


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
