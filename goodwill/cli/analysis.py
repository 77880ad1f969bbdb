"""Commands about the analysis models: re-score stored posts, export users' corrections."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from goodwill.analysis.engine import AnalysisUnavailable, TextAnalyzer
from goodwill.cli._context import App, JsonOpt, WorkspaceOpt, console, err_console, fail, print_json
from goodwill.cli.data import _since
from goodwill.reanalyse import ReanalysisReport, reanalyse

__all__ = ["analysis_app", "reanalyze"]

analysis_app = typer.Typer(help="Sentiment, intent and risk models.", no_args_is_help=True)


@analysis_app.command("export-corrections")
def export_corrections(
    since: Annotated[
        str | None, typer.Option("--since", help="Date or period: 24h, 7d, 2026-11-01.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write the workspace's label corrections to stdout as JSON lines (with the post's text),
    oldest first: the material for a later retrain."""
    app = App.open()
    ws = app.workspace(workspace)
    out = sys.stdout
    for c, post in app.repo.corrections(ws.id, since=_since(since)):
        row = {
            "workspace": ws.name,
            "post_id": post.id,
            "source": post.source,
            "id": post.external_id,
            "lang": post.lang,
            "text": post.text,
            "field": c.field,
            "old": c.old,
            "new": c.new,
            "who": c.who,
            "at": c.created_at.isoformat(),
        }
        out.write(orjson.dumps(row).decode() + "\n")


def reanalyze(
    everything: Annotated[
        bool,
        typer.Option(
            "--all/--stale",
            help="Re-score every post, or only those the current models did not score.",
        ),
    ] = False,
    after: Annotated[
        int, typer.Option("--after", help="Start after this post id (to resume an --all run).")
    ] = 0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Re-score stored posts with the current models (after an upgrade), keeping users'
    corrections on top. Resumable: run it again to continue."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        analyzer = TextAnalyzer(app.settings.sentiment)
    except AnalysisUnavailable as exc:
        fail(str(exc))
    latest = ReanalysisReport(last_id=after)

    def done(report: ReanalysisReport) -> None:
        latest.scanned, latest.rescored, latest.last_id = (
            report.scanned,
            report.rescored,
            report.last_id,
        )

    try:
        if json or not console.is_terminal:
            reanalyse(
                app.repo, ws.id, analyzer, everything=everything, after_id=after, on_batch=done
            )
        else:
            with Progress(
                TextColumn("[bold]re-scoring"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("posts"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("reanalyze", total=app.repo.post_count(ws.id))

                def step(report: ReanalysisReport) -> None:
                    done(report)
                    progress.update(task, completed=report.scanned)

                reanalyse(
                    app.repo, ws.id, analyzer, everything=everything, after_id=after, on_batch=step
                )
    except KeyboardInterrupt:
        resume = f"--all --after {latest.last_id}" if everything else "again"
        err_console.print(
            f"stopped after post {latest.last_id} ({latest.rescored:,} re-scored); "
            f"run `goodwill reanalyze {resume}` to continue",
            highlight=False,
        )
        raise typer.Exit(130) from None
    if json:
        print_json({**latest.as_dict(), "models": analyzer.versions})
        return
    console.print(
        f"{latest.rescored:,} of {latest.scanned:,} posts re-scored "
        f"(models: {', '.join(f'{k} {v}' for k, v in analyzer.versions.items())})",
        highlight=False,
    )
