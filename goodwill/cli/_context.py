"""What every command needs: settings, the migrated store, the workspace, and output helpers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import orjson
import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from goodwill.settings import Settings, get_settings
from goodwill.store.repository import Repository, StoreError

if TYPE_CHECKING:
    from goodwill.alerts import AlertService
    from goodwill.ingest import Ingestor
    from goodwill.store.accounts import Accounts
    from goodwill.store.tables import Workspace

# What only some commands need (the pipeline, alert channels, Alembic, the HTTP client) is
# imported where it is used, so every command starts without it.

__all__ = ["App", "JsonOpt", "WorkspaceOpt", "esc", "fail", "point_at", "print_json", "table"]

# Our own output uses rich markup for style; no emoji codes, so `:smile:` in a post stays as
# written (rich replaces emoji codes even in text printed with markup=False).
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="GOODWILL_WORKSPACE",
        help="Workspace name (default: the only or the default workspace).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def esc(value: object) -> str:
    """``value`` made safe to put inside one of our markup strings: posts, names, URLs, error
    texts and whatever users typed are shown as written, never read as rich markup (a ``[/]``
    in a post would crash the command, a ``[link=...]`` would plant a terminal hyperlink)."""
    return escape(str(value))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as an error and exit; messages often quote names or file content, so
    only our own prefix is styled."""
    err_console.print(f"[bold red]error:[/] {esc(message)}", highlight=False, markup=True)
    raise typer.Exit(code)


def point_at(text: str, column: int) -> str:
    """Two lines: ``text`` and a caret under its 1-based ``column``, counted in terminal cells
    so that emoji and CJK characters (two cells wide) do not shift it."""
    return f"  {text}\n  {' ' * cell_len(text[: column - 1])}^"


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table whose title and cells are plain text: they carry names and posts written by
    other people, so nothing in them is read as markup or highlighted."""
    t = Table(
        title=None if title is None else Text(title, style="table.title"),
        show_lines=False,
        header_style="bold",
    )
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*[Text("" if v is None else str(v)) for v in row])
    console.print(t)


@dataclass
class App:
    """The opened install: built lazily so `--help` never touches the database."""

    settings: Settings

    @classmethod
    def open(cls) -> App:
        return cls(get_settings())

    @cached_property
    def repo(self) -> Repository:
        from goodwill.store.db import create_store_engine
        from goodwill.store.migrate import current_revision, head_revision, upgrade

        engine = create_store_engine(self.settings.resolved_database_url())
        if current_revision(engine) != head_revision():
            upgrade(engine)
        return Repository(engine)

    @cached_property
    def alerts(self) -> AlertService:
        from goodwill.alerts import AlertService
        from goodwill.store.alerts import AlertStore

        return AlertService(AlertStore(self.repo.engine), self.settings)

    def ingestor(self) -> Ingestor:
        """The ingestor with the analysis the settings ask for (a clear error if unavailable),
        evaluating alert rules after each stored batch."""
        from goodwill.analysis.engine import AnalysisUnavailable
        from goodwill.ingest import Ingestor

        try:
            return Ingestor(
                self.repo, self.settings, after_batch=[self.alerts.after_batch], ahead=True
            )
        except AnalysisUnavailable as exc:
            fail(str(exc))

    def deliver_alerts(self) -> None:
        """Send the alerts waiting now (after an import: no need to wait for the listener)."""

        from goodwill.net import make_client

        async def deliver() -> None:
            async with make_client(self.settings) as http:
                await self.alerts.worker(http).deliver_due()

        asyncio.run(deliver())

    @cached_property
    def accounts(self) -> Accounts:
        from goodwill.store.accounts import Accounts

        return Accounts(self.repo.engine)

    def workspace(self, name: str | None) -> Workspace:
        try:
            return self.repo.workspace(name)
        except StoreError as exc:
            fail(str(exc))
