"""The pipeline's analysis step: fills ``ProcessedPost.analysis`` for a batch.

Built from the settings (``GOODWILL_ANALYSIS``, ``GOODWILL_SENTIMENT``); the models load on the
first batch, once per process. Language identification is a separate pipeline step
(``language``) and stays in ``Post.lang``.
"""

from __future__ import annotations

from collections.abc import Sequence

from goodwill.analysis.engine import TextAnalyzer
from goodwill.pipeline.batch import Analyzer, ProcessedPost
from goodwill.settings import Settings

__all__ = ["default_analyzers", "post_analyzer"]


def post_analyzer(analyzer: TextAnalyzer) -> Analyzer:
    """An ``Analyzer`` hook that adds sentiment, intent and risk to each post of a batch."""

    def analyse(batch: Sequence[ProcessedPost]) -> None:
        results = analyzer.analyse([item.post.text for item in batch])
        for item, result in zip(batch, results, strict=True):
            item.analysis.update(result)

    return analyse


def default_analyzers(settings: Settings) -> list[Analyzer]:
    """The analysis hooks the settings ask for (none when analysis is switched off).

    Raises ``AnalysisUnavailable`` when the configured sentiment model is not installed.
    """
    if not settings.analysis:
        return []
    return [post_analyzer(TextAnalyzer(settings.sentiment))]
