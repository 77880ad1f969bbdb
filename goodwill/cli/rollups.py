"""`goodwill rollups rebuild`: count the dashboard's rollups again from the stored posts."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from goodwill.cli._context import App, JsonOpt, console, print_json
from goodwill.store.db import writer
from goodwill.store.rollups import rebuild

__all__ = ["rollups_app"]

rollups_app = typer.Typer(help="The dashboard's pre-counted figures.", no_args_is_help=True)


@rollups_app.command("rebuild")
def rollups_rebuild(
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="Only this workspace (default: every one)."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Recount the rollups from the posts, in one transaction (the dashboard keeps showing the
    old figures until it commits). The writer keeps them exact; this is for a restored backup,
    or a database whose posts were changed by hand."""
    app = App.open()
    ws_id = app.workspace(workspace).id if workspace else None
    started = time.perf_counter()
    with writer(app.repo.engine).begin() as conn:
        done = rebuild(conn, ws_id)
    seconds = round(time.perf_counter() - started, 2)
    if json:
        print_json({"workspaces": done, "seconds": seconds})
    else:
        console.print(f"rebuilt the rollups of {done} workspaces in {seconds} s")
