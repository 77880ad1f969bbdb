"""`goodwill analyze`: label posts read from a file or stdin, one JSON line out per post in.

Posts are read as JSON lines (the post format, or bare ``{"id", "text"}``), analysed in
batches of ``BATCH`` (the models are much faster on a batch than post by post) and written in
the order read. A bad line is reported on stderr with its number and skipped; the rest go on,
and the exit code says that something was skipped.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from goodwill.analysis.engine import AnalysisUnavailable, TextAnalyzer
from goodwill.cli._context import err_console, fail
from goodwill.pipeline.language import detect_languages
from goodwill.pipeline.normalise import PostError, parse_text_item
from goodwill.settings import get_settings
from goodwill.sources.files import MAX_LINE_BYTES

__all__ = ["BATCH", "analyse_lines", "analyze"]

BATCH = 256


def analyse_lines(
    lines: Iterable[bytes],
    analyzer: TextAnalyzer,
    *,
    on_problem: Callable[[int, str], None],
    batch_size: int = BATCH,
) -> Iterator[dict[str, Any]]:
    """One output object per good line, in order; ``on_problem(line number, message)`` for
    each bad one. Blank lines are skipped silently."""
    pending: list[tuple[str, str, str | None]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            on_problem(number, f"is {len(raw):,} bytes long; at most {MAX_LINE_BYTES:,}")
            continue
        try:
            pending.append(parse_text_item(orjson.loads(raw)))
        except orjson.JSONDecodeError as exc:
            on_problem(number, f"is not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except PostError as exc:
            on_problem(number, str(exc))
            continue
        if len(pending) >= batch_size:
            yield from _analyse_batch(pending, analyzer)
            pending = []
    if pending:
        yield from _analyse_batch(pending, analyzer)


def _analyse_batch(
    items: Sequence[tuple[str, str, str | None]], analyzer: TextAnalyzer
) -> Iterator[dict[str, Any]]:
    texts = [text for _, text, _ in items]
    results = analyzer.analyse(texts)
    langs = [lang for _, _, lang in items]
    unknown = [i for i, lang in enumerate(langs) if lang is None]
    for i, lang in zip(unknown, detect_languages([texts[i] for i in unknown]), strict=True):
        langs[i] = lang
    for (post_id, _, _), result, lang in zip(items, results, langs, strict=True):
        sentiment, intent = result["sentiment"], result["intent"]
        yield {
            "id": post_id,
            "sentiment": {"label": sentiment["label"], "score": sentiment["confidence"]},
            "intent": {"label": intent["label"], "score": intent["confidence"]},
            "risk": result["risk"],
            "lang": lang,
        }


def _progress_wanted() -> bool:
    """A bar on stderr when it is a terminal and the output goes to a file: not when the
    output is piped to another program, nor when it scrolls on the terminal itself."""
    if not err_console.is_terminal:
        return False
    try:
        fd = sys.stdout.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return not (os.isatty(fd) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode))


def _counted(stream: BinaryIO, advance: Callable[[int], None]) -> Iterator[bytes]:
    for line in stream:
        advance(len(line))
        yield line


def analyze(
    file: Annotated[
        Path | None,
        typer.Argument(
            help='JSON lines: the post format, or {"id", "text"} (optionally "lang"). '
            "Default, or -: stdin.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Label posts: one JSON line per post on stdout with id, sentiment, intent, risk and
    language. Bad lines are named on stderr and skipped; the exit code is then 1."""
    try:
        analyzer = TextAnalyzer(get_settings().sentiment)
    except AnalysisUnavailable as exc:
        fail(str(exc))
    if file is None or str(file) == "-":
        stream: BinaryIO = sys.stdin.buffer
        total: int | None = None
    elif not file.is_file():
        fail(f"no such file: {file}")
    else:
        stream = file.open("rb")
        total = file.stat().st_size
    problems = 0
    written = 0

    def problem(number: int, message: str) -> None:
        nonlocal problems
        problems += 1
        err_console.print(
            f"line {number}: {message}", markup=False, highlight=False, soft_wrap=True
        )

    out = sys.stdout.buffer
    try:
        with stream:
            if not _progress_wanted():
                for record in analyse_lines(stream, analyzer, on_problem=problem):
                    out.write(orjson.dumps(record) + b"\n")
                    written += 1
            else:
                columns = (
                    (DownloadColumn(), TimeRemainingColumn())
                    if total is not None
                    else (MofNCompleteColumn(), TextColumn("bytes"))
                )
                with Progress(
                    TextColumn("[bold]analysing"),
                    BarColumn(),
                    *columns,
                    TimeElapsedColumn(),
                    console=err_console,
                    transient=True,
                ) as progress:
                    task = progress.add_task("analyse", total=total)
                    lines = _counted(stream, lambda n: progress.advance(task, n))
                    for record in analyse_lines(lines, analyzer, on_problem=problem):
                        out.write(orjson.dumps(record) + b"\n")
                        written += 1
        out.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    if problems:
        err_console.print(
            f"{problems:,} bad line{'s' if problems != 1 else ''} skipped; "
            f"{written:,} post{'s' if written != 1 else ''} analysed",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)
