"""The `goodwill sources add` examples in docs/sources/ work, as written, through the CLI.

Each page's shell examples are parsed and run against a fresh SQLite workspace, answering the
prompt of every ``--secret KEY`` as a user would: so a documented option the CLI does not take,
a setting the connector refuses, or a credential it does not know fails here, and the docs
cannot drift from the code. Every registered kind must have a page with at least one example.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.settings import get_settings
from goodwill.sources import available_sources

DOCS = Path(__file__).resolve().parent.parent / "docs" / "sources"
PAGES = sorted(p for p in DOCS.glob("*.md") if p.name != "README.md")
runner = CliRunner()


def add_examples(page: Path) -> list[str]:
    """Every `goodwill sources add` command in the page's ``sh`` blocks, continuations joined."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", page.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("goodwill sources add "):
                commands.append(line.strip())
    return commands


def arguments(command: str) -> list[str]:
    """The command's arguments after `goodwill`, optional parts (``[--secret KEY]``) included."""
    words = shlex.split(command, comments=True)[1:]
    return [w.removeprefix("[").removesuffix("]") for w in words]


def page_of(kind: str) -> Path:
    return DOCS / f"{kind.split('-')[0]}.md"


EXAMPLES = [
    pytest.param(page.name, command, id=f"{page.stem}-{n}")
    for page in PAGES
    for n, command in enumerate(add_examples(page), start=1)
]


@pytest.fixture
def cli(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    db = tmp_path / "goodwill.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.setenv("GOODWILL_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()

    def run(*args: str, input: str | None = None) -> Any:
        result = runner.invoke(app, list(args), input=input)
        assert result.exit_code == 0, f"goodwill {shlex.join(args)}\n{result.output}"
        return result

    yield run
    get_settings.cache_clear()


def test_every_kind_has_a_page_with_an_add_example() -> None:
    documented = {arguments(c)[2] for page in PAGES for c in add_examples(page)}
    for kind in available_sources():
        assert page_of(kind).exists(), f"{kind}: no page {page_of(kind).name} in docs/sources/"
        assert kind in documented, f"{kind}: no `goodwill sources add {kind}` example"
    for page in PAGES:
        assert add_examples(page), f"{page.name} shows no `goodwill sources add` example"


@pytest.mark.parametrize(("page", "command"), EXAMPLES)
def test_the_documented_add_command_works(cli: Any, page: str, command: str) -> None:
    args = arguments(command)
    kind = args[2]
    assert page_of(kind).name == page, f"{page} documents another network's kind {kind!r}"
    secrets = [args[i + 1] for i, word in enumerate(args) if word == "--secret"]
    typed = {key: f"{key}-typed-at-the-prompt-0123456789" for key in secrets if "=" not in key}
    settings = dict(
        args[i + 1].split("=", 1) for i, word in enumerate(args) if word in ("--set", "-s")
    )
    cli("workspaces", "add", "W")
    # One answer per prompt, in the order of the options, as a user types them.
    answers = "".join(f"{typed[k]}\n" for k in secrets if k in typed)
    cli(*args, "--workspace", "W", input=answers)

    [row] = json.loads(cli("sources", "list", "--workspace", "W", "--json").stdout)
    assert row["kind"] == kind
    for key in settings:
        assert key in row["config"], f"--set {key} was not kept"
    for key, value in typed.items():
        assert row["config"][key].startswith("••••"), f"{key} is shown back"
        assert value not in json.dumps(row)
