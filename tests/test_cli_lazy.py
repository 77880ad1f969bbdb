"""The `goodwill` command imports only the module of the command it runs: checked in a real
process, since what matters is what a user's shell waits for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from goodwill.cli import COMMANDS, app, build_app

PROBE = """
import json, sys
sys.argv = ["goodwill", *{argv!r}]
from goodwill.cli import main
try:
    main()
except SystemExit:
    pass
heavy = ["goodwill.alerts", "goodwill.ingest", "goodwill.pipeline", "numpy", "goodwill.analysis",
         "goodwill.cli.alerts", "goodwill.cli.people", "goodwill.web", "httpx"]
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def _loaded(argv: list[str], tmp_path: Path) -> tuple[list[str], str]:
    env = {**os.environ, "GOODWILL_DATA_DIR": str(tmp_path), "GOODWILL_DATABASE_URL": ""}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    *printed, modules = out.rstrip("\n").split("\n")
    return json.loads(modules), "\n".join(printed)


def test_inbox_commands_do_not_import_the_pipeline_or_alerts(tmp_path: Path) -> None:
    _loaded(["workspaces", "add", "Acme"], tmp_path)
    loaded, printed = _loaded(["inbox", "metrics", "--json"], tmp_path)
    assert json.loads(printed)["workspace"]  # it really ran, on a fresh store
    assert loaded == [], loaded


def test_help_of_one_group_loads_only_that_group(tmp_path: Path) -> None:
    loaded, printed = _loaded(["people", "--help"], tmp_path)
    assert "forget" in printed
    assert "goodwill.cli.people" in loaded and "goodwill.cli.alerts" not in loaded


@pytest.mark.parametrize("name", [*COMMANDS, "version"])
def test_each_command_alone_is_the_same_command(name: str) -> None:
    import typer.main

    whole = typer.main.get_command(app)
    alone = typer.main.get_command(build_app(name))
    assert list(alone.commands) == [name]  # type: ignore[attr-defined]
    a = whole.commands[name]  # type: ignore[attr-defined]
    b = alone.commands[name]  # type: ignore[attr-defined]
    assert a.help == b.help
    assert [p.name for p in a.params] == [p.name for p in b.params]
    assert sorted(getattr(a, "commands", {})) == sorted(getattr(b, "commands", {}))
