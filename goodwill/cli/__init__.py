"""The `goodwill` command: everything scriptable, with --json for scripts."""

from __future__ import annotations

import typer

from goodwill import __version__
from goodwill.cli.alerts import alerts_app
from goodwill.cli.analysis import analysis_app, reanalyze
from goodwill.cli.analyze_posts import analyze
from goodwill.cli.data import export_posts, import_posts, mentions_app, query_app
from goodwill.cli.inbox import inbox_app
from goodwill.cli.manage import sources_app, topics_app, workspaces_app
from goodwill.cli.people import people_app
from goodwill.cli.rollups import rollups_app
from goodwill.cli.run import demo, listen, serve
from goodwill.cli.users import users_app
from goodwill.cli.workers import worker, workers_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="goodwill",
    help="Goodwill: listen to what people say about your business, and answer them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(topics_app, name="topics")
app.add_typer(sources_app, name="sources")
app.add_typer(mentions_app, name="mentions")
app.add_typer(query_app, name="query")
app.add_typer(analysis_app, name="analysis")
app.add_typer(alerts_app, name="alerts")
app.command()(analyze)
app.command()(reanalyze)
app.add_typer(users_app, name="users")
app.add_typer(inbox_app, name="inbox")
app.add_typer(people_app, name="people")
app.add_typer(rollups_app, name="rollups")
app.command("import")(import_posts)
app.command("export")(export_posts)
app.command()(listen)
app.command()(serve)
app.command()(demo)
app.command()(worker)
app.add_typer(workers_app, name="workers")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
