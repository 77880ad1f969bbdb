"""The `goodwill` command: everything scriptable, with --json for scripts.

Command modules are imported only when their command runs: the alerts commands alone pull in
the alert channels and the pipeline, and a support team typing `goodwill inbox metrics` every
few minutes should not wait for code it does not use. `goodwill --help` (or an unknown name)
builds the whole command tree, so help and error messages list every command.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import typer

from goodwill import __version__

__all__ = ["COMMANDS", "app", "build_app", "main"]

# name -> (module, attribute, is a group of subcommands), in the order `--help` lists them.
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "workspaces": ("goodwill.cli.manage", "workspaces_app", True),
    "topics": ("goodwill.cli.manage", "topics_app", True),
    "sources": ("goodwill.cli.manage", "sources_app", True),
    "mentions": ("goodwill.cli.data", "mentions_app", True),
    "query": ("goodwill.cli.data", "query_app", True),
    "analysis": ("goodwill.cli.analysis", "analysis_app", True),
    "alerts": ("goodwill.cli.alerts", "alerts_app", True),
    "analyze": ("goodwill.cli.analyze_posts", "analyze", False),
    "reanalyze": ("goodwill.cli.analysis", "reanalyze", False),
    "users": ("goodwill.cli.users", "users_app", True),
    "inbox": ("goodwill.cli.inbox", "inbox_app", True),
    "people": ("goodwill.cli.people", "people_app", True),
    "rollups": ("goodwill.cli.rollups", "rollups_app", True),
    "import": ("goodwill.cli.data", "import_posts", False),
    "export": ("goodwill.cli.data", "export_posts", False),
    "listen": ("goodwill.cli.run", "listen", False),
    "serve": ("goodwill.cli.run", "serve", False),
    "demo": ("goodwill.cli.run", "demo", False),
    "worker": ("goodwill.cli.workers", "worker", False),
    "workers": ("goodwill.cli.workers", "workers_app", True),
}


def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def build_app(only: str | None = None) -> typer.Typer:
    """The command tree, or just the part that runs ``only`` (the same command, help and
    options: the rest is merely not imported)."""
    root = typer.Typer(
        name="goodwill",
        help="Goodwill: listen to what people say about your business, and answer them.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )
    # A callback keeps the root a group even when one command is registered: without it Typer
    # would run that command for `goodwill` itself and read its name as an extra argument.
    root.callback()(_root)
    for name, (module, attribute, group) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(import_module(module), attribute)
        if group:
            root.add_typer(target, name=name)
        else:
            root.command(name)(target)
    if only is None or only == "version":
        root.command()(version)
    return root


def _root() -> None:
    """Goodwill: listen to what people say about your business, and answer them."""


_full_app: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    # `from goodwill.cli import app` (tests, embedding) gets the whole tree, built once.
    global _full_app
    if name == "app":
        if _full_app is None:
            _full_app = build_app()
        return _full_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else None
    known = name in COMMANDS or name == "version"
    build_app(name if known else None)(prog_name="goodwill")
