"""Commands about the analysis models: export users' corrections for a retrain."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from goodwill.cli._context import App, WorkspaceOpt
from goodwill.cli.data import _since

__all__ = ["analysis_app"]

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
