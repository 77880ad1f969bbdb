"""Commands that move and read posts: import, export, mentions, and the query tools."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from goodwill.cli._context import (
    App,
    JsonOpt,
    WorkspaceOpt,
    console,
    esc,
    fail,
    point_at,
    print_json,
    table,
)
from goodwill.ingest import IngestReport
from goodwill.pipeline.language import detect_languages
from goodwill.pipeline.normalise import PostError, parse_datetime, parse_post
from goodwill.query import Document, QuerySyntaxError, parse
from goodwill.sources.files import FileFormatError, parse_mapping, read_jsonl, read_posts
from goodwill.store.repository import MentionFilter, StoreError
from goodwill.store.tables import Post

__all__ = ["import_posts", "mentions_app", "query_app"]

mentions_app = typer.Typer(help="Posts that matched a topic.", no_args_is_help=True)
query_app = typer.Typer(help="Check and try Boolean queries.", no_args_is_help=True)


def _tz(name: str | None) -> Any:
    if name is None:
        return None
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {name!r} (use a name like UTC or Europe/Lisbon)")


def import_posts(
    file: Annotated[Path, typer.Argument(help="A .jsonl or .csv file in the post format.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the extension).")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="CSV only: FIELD=COLUMN, e.g. --map text=body --map author.handle=user."
        ),
    ] = None,
    source: Annotated[
        str, typer.Option("--source", help="Source name for rows that have none.")
    ] = "import",
    assume_tz: Annotated[
        str | None,
        typer.Option("--assume-tz", help="Time zone for dates that have none (e.g. UTC)."),
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Import posts. Idempotent: the same file twice adds nothing; edited posts are updated."""
    if not file.is_file():
        fail(f"no such file: {file}")
    app = App.open()
    ws = app.workspace(workspace)
    try:
        items = read_posts(file, fmt=fmt, mapping=parse_mapping(mapping or []))
        ingestor = app.ingestor()
        report = _with_progress(
            lambda cb: ingestor.ingest(
                ws.id, items, default_source=source, assume_tz=_tz(assume_tz), on_batch=cb
            ),
            quiet=json,
        )
    except FileFormatError as exc:
        fail(str(exc))
    if report.written.inserted:
        app.deliver_alerts()
    _print_report(report, json)
    if report.problem_count and report.read == report.problem_count:
        raise typer.Exit(1)


def _with_progress(run: Any, *, quiet: bool) -> IngestReport:
    """Run an import with a live count on a terminal (never when piped or with --json)."""
    if quiet or not console.is_terminal:
        return run(None)  # type: ignore[no-any-return]
    with Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("posts"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("import", total=None)
        return run(lambda r: progress.update(task, completed=r.read))  # type: ignore[no-any-return]


def _print_report(report: IngestReport, json: bool) -> None:
    data = report.as_dict()
    if json:
        print_json(data)
        return
    console.print(
        f"read {data['read']}: [green]{data['inserted']} new[/], {data['updated']} updated, "
        f"{data['unchanged']} unchanged, {data['duplicates']} repeats linked to their original, "
        f"{data['mentions']} topic matches, [red]{data['rejected']} rejected[/]"
    )
    if data["forgotten"]:
        console.print(f"{data['forgotten']} posts by forgotten people were dropped")
    for problem in data["problems"][:50]:
        console.print(f"  [red]✗[/] {esc(problem)}", highlight=False)
    if data["rejected"] > 50:
        console.print(f"  … and {data['rejected'] - 50} more (use --json for all)")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    v = value.strip().lower()
    units = {"h": 3600, "d": 86400, "w": 604800, "m": 60}
    if v[:-1].isdigit() and v[-1] in units:
        return datetime.now(UTC) - timedelta(seconds=int(v[:-1]) * units[v[-1]])
    try:
        return parse_datetime(value, "date", assume_tz=UTC)
    except PostError as exc:
        fail(f"{exc.problem}; or use a period like 24h, 7d")


def _filter(app: App, ws_id: int, topic: list[str] | None, **kw: Any) -> MentionFilter:
    ids = []
    for name in topic or []:
        try:
            ids.append(app.repo.topic(ws_id, name).id)
        except StoreError as exc:
            fail(str(exc))
    return MentionFilter(topic_ids=ids, **kw)


TopicOpt = Annotated[
    list[str] | None, typer.Option("--topic", "-t", help="Only this topic (repeatable).")
]


def _post_json(post: Post, topics: list[str], repeats: int = 0) -> dict[str, Any]:
    return {
        "post_id": post.id,
        "id": post.external_id,
        "source": post.source,
        "url": post.url,
        "text": post.text,
        "created_at": post.created_at.isoformat(),
        "lang": post.lang,
        "author": {
            "id": post.author_id,
            "handle": post.author_handle,
            "name": post.author_name,
            "followers": post.author_followers,
        },
        "in_reply_to": post.in_reply_to,
        "conversation_id": post.conversation_id,
        "metrics": {"likes": post.likes, "shares": post.shares, "replies": post.replies},
        "is_own": post.is_own,
        "topics": topics,
        "repeats": repeats,
        "duplicate_of": post.duplicate_of,
        "analysis": post.analysis or {},
    }


def _labels(analysis: dict[str, Any]) -> str:
    """``negative · complaint · offensive`` for the text listing."""
    parts = []
    for field in ("sentiment", "intent"):
        value = analysis.get(field)
        if isinstance(value, dict) and value.get("label"):
            parts.append(str(value["label"]) + ("✎" if value.get("corrected") else ""))
    risk = analysis.get("risk")
    if isinstance(risk, dict):
        parts += [str(flag) for flag in risk.get("flags", [])]
    return " · ".join(parts)


@mentions_app.command("list")
def mentions_list(
    topic: TopicOpt = None,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help='Words, "phrases", prefix*.')
    ] = None,
    source: Annotated[str | None, typer.Option("--source")] = None,
    lang: Annotated[str | None, typer.Option("--lang")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Date or period: 24h, 7d, 2026-11-01.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 20,
    duplicates: Annotated[
        bool, typer.Option("--duplicates", help="Also list reposts and copies.")
    ] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Newest mentions first; reposts are counted on their original, not listed again."""
    app = App.open()
    ws = app.workspace(workspace)
    f = _filter(
        app,
        ws.id,
        topic,
        search=search,
        source=source,
        lang=lang,
        since=_since(since),
        until=_since(until),
        include_duplicates=duplicates,
    )
    page = app.repo.mentions(ws.id, f, limit=limit)
    names = app.repo.topic_names(ws.id)
    rows = [
        _post_json(p, [names[t] for t in page.topics[p.id]], page.repeats.get(p.id, 0))
        for p in page.posts
    ]
    if json:
        print_json(rows)
        return
    if not rows:
        console.print("No mentions match.")
    for r in rows:
        who = r["author"]["handle"] or r["author"]["name"] or "?"
        extra = f"  ×{r['repeats'] + 1}" if r["repeats"] else ""
        labels = _labels(r["analysis"])
        console.print(
            f"[dim]#{r['post_id']} {r['created_at'][:16]}[/] [cyan]{esc(r['source'])}[/]"
            f" [bold]{esc(who)}[/] [magenta]{esc(', '.join(r['topics']))}[/]{extra}"
            + (f"  [yellow]{esc(labels)}[/]" if labels else ""),
            highlight=False,
        )
        console.print("  " + r["text"].replace("\n", " ")[:280], markup=False, highlight=False)
        if r["url"]:
            console.print(f"  [dim]{esc(r['url'])}[/]", highlight=False)


@mentions_app.command("correct")
def mentions_correct(
    post_id: Annotated[int, typer.Argument(help="The post's number (#N in `mentions list`).")],
    sentiment: Annotated[
        str | None, typer.Option("--sentiment", help="negative, neutral or positive.")
    ] = None,
    intent: Annotated[
        str | None,
        typer.Option(
            "--intent", help="question, complaint, praise, suggestion, purchase or other."
        ),
    ] = None,
    who: Annotated[
        str | None, typer.Option("--who", help="Who corrects (default: your login name).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Correct a post's sentiment or intent; corrections are kept for retraining."""
    changes = {k: v for k, v in (("sentiment", sentiment), ("intent", intent)) if v is not None}
    if not changes:
        fail("nothing to correct: pass --sentiment and/or --intent")
    app = App.open()
    ws = app.workspace(workspace)
    author = who or getpass.getuser()
    done = []
    for field, value in changes.items():
        try:
            c = app.repo.correct_label(ws.id, post_id, field, value.strip().lower(), who=author)
        except StoreError as exc:
            fail(str(exc))
        done.append({"post_id": post_id, "field": field, "old": c.old, "new": c.new})
    if json:
        print_json(done)
        return
    for d in done:
        console.print(
            f"post #{post_id}: {d['field']} {esc(d['old'] or '(none)')} → [bold]{esc(d['new'])}[/]"
        )


@mentions_app.command("count")
def mentions_count(
    topic: TopicOpt = None,
    search: Annotated[str | None, typer.Option("--search", "-s")] = None,
    since: Annotated[str | None, typer.Option("--since")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """How many mentions, in all and per topic (reposts count as volume)."""
    app = App.open()
    ws = app.workspace(workspace)
    counts = app.repo.count_mentions(
        ws.id, _filter(app, ws.id, topic, search=search, since=_since(since))
    )
    if json:
        print_json(counts)
        return
    table(
        f"Mentions in {ws.name}",
        ["topic", "mentions"],
        [
            *[[k, v] for k, v in counts["topics"].items()],
            ["all topics", counts["mentions"]],
            ["  without repeats", counts["unique"]],
        ],
    )


def export_posts(
    topic: TopicOpt = None,
    since: Annotated[str | None, typer.Option("--since")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write mentions to stdout in the post format (JSONL), repeats included, oldest last."""
    app = App.open()
    ws = app.workspace(workspace)
    f = _filter(app, ws.id, topic, since=_since(since), include_duplicates=True)
    before = None
    out = sys.stdout
    while True:
        page = app.repo.mentions(ws.id, f, limit=1000, before=before)
        for p in page.posts:
            row = _post_json(p, [])
            for key in ("topics", "repeats", "duplicate_of"):
                row.pop(key)
            row.update({k: v for k, v in p.extra.items() if k not in row})
            out.write(orjson.dumps(row).decode() + "\n")
        if page.next_before is None:
            break
        before = page.next_before


@query_app.command("check")
def query_check(query: str, json: JsonOpt = False) -> None:
    """Lint a query and show how it was understood."""
    try:
        q = parse(query)
    except QuerySyntaxError as exc:
        if json:
            print_json({"ok": False, "error": exc.message, "column": exc.column})
            raise typer.Exit(1) from None
        fail(f"{exc}\n{point_at(query, exc.column)}")
    if json:
        print_json({"ok": True, "explain": q.explain()})
    else:
        console.print("[green]OK[/] — understood as:")
        console.print(q.explain(), markup=False, highlight=False)


@query_app.command("match")
def query_match(query: str) -> None:
    """Read posts (post format, one JSON per line) on stdin; print the ids that match."""
    try:
        q = parse(query)
    except QuerySyntaxError as exc:
        fail(f"{exc}\n{point_at(query, exc.column)}")
    bad = 0
    for where, obj in read_jsonl(sys.stdin):
        try:
            post = (
                parse_post(obj, default_source="import", assume_tz=UTC)
                if isinstance(obj, dict)
                else None
            )
            if post is None:
                raise PostError("post", getattr(obj, "message", "expected a JSON object"))
        except PostError as exc:
            bad += 1
            print(f"{where}: {exc}", file=sys.stderr)
            continue
        if post.lang is None:  # as the pipeline does, so `lang:` means the same here
            post.lang = detect_languages([post.text])[0]
        author = post.author
        doc = Document.build(
            post.text,
            author_handle=author.handle if author else None,
            author_name=author.name if author else None,
            url=post.url,
            lang=post.lang,
            source=post.source,
        )
        if q.matches(doc):
            sys.stdout.write(post.id + "\n")
    if bad:
        raise typer.Exit(2)
