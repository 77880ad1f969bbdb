"""Re-scoring stored posts with the current models, after a model upgrade (`goodwill reanalyze`).

Posts are walked in id order, a page at a time; each page's new analysis is written in its own
transaction, with users' corrections laid on top again (``store.corrections``). By default only
stale posts are re-scored: those whose stored ``models`` versions differ from the current
ones. So an interrupted run resumes by running it again; with ``everything`` (re-score all),
``after_id`` starts after the last post done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from goodwill.analysis.engine import TextAnalyzer
from goodwill.store.repository import Repository

__all__ = ["ReanalysisReport", "is_stale", "reanalyse"]

BATCH = 256


@dataclass(slots=True)
class ReanalysisReport:
    scanned: int = 0
    rescored: int = 0
    last_id: int = 0
    """The last post id walked: ``after_id`` for a run that continues this one."""

    def as_dict(self) -> dict[str, int]:
        return {"scanned": self.scanned, "rescored": self.rescored, "last_id": self.last_id}


def is_stale(analysis: Mapping[str, Any], versions: Mapping[str, str]) -> bool:
    """Whether a stored analysis was made by other models than ``versions`` (or by none)."""
    return analysis.get("models") != dict(versions)


def reanalyse(
    repo: Repository,
    workspace_id: int,
    analyzer: TextAnalyzer,
    *,
    everything: bool = False,
    after_id: int = 0,
    until_id: int | None = None,
    batch_size: int = BATCH,
    on_batch: Callable[[ReanalysisReport], None] | None = None,
) -> ReanalysisReport:
    """Re-score the workspace's stale posts (all with ``everything``) after ``after_id``, up to
    and including ``until_id`` when given (a range: one Celery task's share of a workspace)."""
    report = ReanalysisReport(last_id=after_id)
    while page := repo.analysis_page(workspace_id, after_id=report.last_id, limit=batch_size):
        if until_id is not None:
            page = [row for row in page if row[0] <= until_id]
            if not page:
                break
        todo = [
            (post_id, text, analysis)
            for post_id, text, analysis in page
            if everything or is_stale(analysis, analyzer.versions)
        ]
        if todo:
            results = analyzer.analyse([text for _, text, _ in todo])
            repo.write_analysis(
                workspace_id,
                # other keys a later analysis hook may have added are kept
                {
                    post_id: {**old, **new}
                    for (post_id, _, old), new in zip(todo, results, strict=True)
                },
            )
        report.scanned += len(page)
        report.rescored += len(todo)
        report.last_id = page[-1][0]
        if on_batch is not None:
            on_batch(report)
    return report
