"""Commands that manage the install: workspaces, topics and sources."""

from __future__ import annotations

import asyncio
import shlex
from typing import Annotated, Any

import typer

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
from goodwill.domain import TopicKind
from goodwill.query import QuerySyntaxError, parse
from goodwill.settings import Settings
from goodwill.sources import available_sources, get_source_class
from goodwill.sources.base import ConfigError, PollingSource, SourceError
from goodwill.sources.credentials import masked, scrub, seal, secrets_of
from goodwill.store.repository import StoreError
from goodwill.store.tables import Source

__all__ = ["sources_app", "topics_app", "workspaces_app"]

workspaces_app = typer.Typer(
    help="Brands in this install (an agency runs several).", no_args_is_help=True
)
topics_app = typer.Typer(help="What to listen for: named Boolean queries.", no_args_is_help=True)
sources_app = typer.Typer(help="Where posts come from.", no_args_is_help=True)


@workspaces_app.command("add")
def workspaces_add(
    name: str,
    default: Annotated[
        bool, typer.Option("--default", help="Make it the default workspace.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Create a workspace."""
    app = App.open()
    try:
        ws = app.repo.add_workspace(name, default=default)
    except StoreError as exc:
        fail(str(exc))
    if json:
        print_json({"id": ws.id, "name": ws.name, "default": ws.is_default})
    else:
        console.print(
            f"Created workspace [bold]{esc(ws.name)}[/]" + (" (default)" if ws.is_default else "")
        )


@workspaces_app.command("list")
def workspaces_list(json: JsonOpt = False) -> None:
    """List workspaces."""
    app = App.open()
    rows = [
        {"id": w.id, "name": w.name, "default": w.is_default, "posts": app.repo.post_count(w.id)}
        for w in app.repo.workspaces()
    ]
    if json:
        print_json(rows)
    else:
        table("Workspaces", ["id", "name", "default", "posts"], [list(r.values()) for r in rows])


@workspaces_app.command("default")
def workspaces_default(name: str) -> None:
    """Make NAME the workspace used when --workspace is not given."""
    app = App.open()
    try:
        app.repo.set_default_workspace(name)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"[bold]{esc(name)}[/] is now the default workspace")


def _checked_query(query: str) -> str:
    try:
        parse(query)
    except QuerySyntaxError as exc:
        fail(f"the query has a problem: {exc}\n{point_at(query, exc.column)}")
    return query


@topics_app.command("add")
def topics_add(
    name: str,
    kind: Annotated[TopicKind, typer.Option("--kind", "-k", help="Why you listen to it.")],
    query: Annotated[
        str, typer.Option("--query", "-q", help="Boolean query (docs/query-language.md).")
    ],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a topic. Posts stored from now on are matched against it."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        topic = app.repo.add_topic(ws.id, name, kind, _checked_query(query))
    except StoreError as exc:
        fail(str(exc))
    if json:
        print_json({"id": topic.id, "name": topic.name, "kind": topic.kind, "query": topic.query})
    else:
        console.print(f"Added {topic.kind} topic [bold]{esc(topic.name)}[/] to {esc(ws.name)}")


@topics_app.command("list")
def topics_list(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List the topics of a workspace."""
    app = App.open()
    ws = app.workspace(workspace)
    rows = [
        {"id": t.id, "name": t.name, "kind": t.kind, "query": t.query, "enabled": t.enabled}
        for t in app.repo.topics(ws.id)
    ]
    if json:
        print_json(rows)
    else:
        table(
            f"Topics of {ws.name}",
            ["id", "name", "kind", "query", "enabled"],
            [list(r.values()) for r in rows],
        )


@topics_app.command("edit")
def topics_edit(
    name: str,
    query: Annotated[str | None, typer.Option("--query", "-q")] = None,
    kind: Annotated[TopicKind | None, typer.Option("--kind", "-k")] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Change a topic's query, kind or whether it is listened to."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        app.repo.update_topic(
            ws.id,
            name,
            query=_checked_query(query) if query is not None else None,
            kind=kind.value if kind else None,
            enabled=enabled,
        )
    except StoreError as exc:
        fail(str(exc))
    console.print(f"Updated topic [bold]{esc(name)}[/]")


@topics_app.command("remove")
def topics_remove(name: str, workspace: WorkspaceOpt = None) -> None:
    """Remove a topic and its mentions (the posts stay)."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        app.repo.remove_topic(ws.id, name)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"Removed topic [bold]{esc(name)}[/]")


def _health(src: Source, settings: Settings) -> str:
    if not src.enabled:
        return "disabled"
    if src.last_poll_at is None:
        return "not polled yet"
    if src.consecutive_failures >= settings.source_unhealthy_after:
        return f"unhealthy ({src.consecutive_failures} failures in a row)"
    if src.consecutive_failures:
        return f"failing ({src.consecutive_failures}x)"
    return "ok"


def _secret_fields(kind: str) -> frozenset[str]:
    try:
        return get_source_class(kind).secret_fields
    except ConfigError:  # a plugin that is no longer installed: hide every sealed value
        return frozenset()


def _target(kind: str, config: dict[str, Any]) -> str:
    try:
        key = get_source_class(kind).target_key
    except ConfigError:
        key = "url"
    return _shown(config.get(key))


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _source_row(src: Source, settings: Settings) -> dict[str, Any]:
    shown = masked(src.config, _secret_fields(src.kind))
    return {
        "name": src.name,
        "kind": src.kind,
        "target": _target(src.kind, shown),
        "config": shown,
        "interval_s": src.interval_s,
        "enabled": src.enabled,
        "health": _health(src, settings),
        "last_success_at": src.last_success_at,
        "last_error_at": src.last_error_at,
        "last_error": src.last_error,
        "next_poll_at": src.next_poll_at,
        "posts_total": src.posts_total,
        "last_problems": src.last_problems.get("items", []) if src.last_problems else [],
        "rate_limit": src.rate_limit,
    }


def _settings_from(pairs: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"{option} takes KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


@sources_app.command("add")
def sources_add(
    kind: Annotated[str, typer.Argument(help="Source kind (see `goodwill sources kinds`).")],
    target: Annotated[
        str | None,
        typer.Argument(
            help="What to listen to: the feed URL (rss), the search words (hn), the instance "
            "(mastodon) ... see docs/sources/KIND.md."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="A name (default: from the target).")
    ] = None,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between polls.")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="A setting of the source, KEY=VALUE (repeatable)."),
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="A credential: KEY asks for it without echoing it; KEY=VALUE takes it as "
            "given. Stored encrypted, never shown back in full.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a source to listen to."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        cls = get_source_class(kind)
    except (KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    config: dict[str, Any] = _settings_from(setting or [], "--set")
    if target is not None:
        config[cls.target_key] = target
    for item in secret or []:
        key, sep, value = item.partition("=")
        if not sep:
            value = typer.prompt(f"{key}", hide_input=True)
        if key not in cls.secret_fields:
            known = ", ".join(sorted(cls.secret_fields)) or "none"
            fail(f"{key!r} is not a credential of a {kind} source (credentials: {known})")
        config[key] = value
    if interval is not None:
        config["interval"] = interval
    try:
        clean = cls.validate_config(config)
    except ConfigError as exc:
        fail(f"cannot add this {kind} source: {exc}")
    chosen = float(clean.get("interval", cls.default_interval))
    if chosen < app.settings.listen_min_interval:
        fail(
            f"--interval must be at least {app.settings.listen_min_interval:g} seconds (politeness)"
        )
    label = name or _default_name(cls, clean)
    try:
        stored = seal(clean, cls.secret_fields, app.settings)
        src = app.repo.add_source(ws.id, kind, label, stored, chosen)
    except (StoreError, ConfigError) as exc:
        fail(str(exc))
    if json:
        print_json(_source_row(src, app.settings))
    else:
        console.print(
            f"Added {esc(kind)} source [bold]{esc(src.name)}[/], polled every {chosen:g} s. "
            f"Try it with `goodwill sources test {esc(shlex.quote(src.name))}`, then run "
            "`goodwill listen`."
        )


def _default_name(cls: type[PollingSource], config: dict[str, Any]) -> str:
    value = _shown(config.get(cls.target_key)) or cls.kind
    if cls.target_key == "url":
        return _name_from_url(value)
    return f"{cls.kind}: {value}"[:200]


def _name_from_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.netloc + parts.path).rstrip("/")[:200] or url[:200]


@sources_app.command("list")
def sources_list(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List sources with their health."""
    app = App.open()
    ws = app.workspace(workspace)
    rows = [_source_row(s, app.settings) for s in app.repo.sources(ws.id)]
    if json:
        print_json(rows)
        return
    table(
        f"Sources of {ws.name}",
        ["name", "kind", "every", "health", "last success", "last error", "posts"],
        [
            [
                r["name"],
                r["kind"],
                f"{r['interval_s']:g}s",
                r["health"],
                r["last_success_at"],
                r["last_error"],
                r["posts_total"],
            ]
            for r in rows
        ],
    )


@sources_app.command("status")
def sources_status(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Health of each source: last success, last error, what it could not read."""
    app = App.open()
    ws = app.workspace(workspace)
    rows = [_source_row(s, app.settings) for s in app.repo.sources(ws.id)]
    if json:
        print_json(rows)
        return
    for r in rows:
        console.print(f"[bold]{esc(r['name'])}[/] ({esc(r['kind'])}) {esc(r['target'])}")
        console.print(f"  health: {r['health']}   posts stored: {r['posts_total']}", markup=False)
        console.print(
            f"  last success: {r['last_success_at'] or 'never'}   "
            f"next poll: {r['next_poll_at'] or 'now'}",
            markup=False,
        )
        if r["last_error"]:
            console.print(f"  last error ({r['last_error_at']}): {r['last_error']}", markup=False)
        if r["rate_limit"]:
            rl = r["rate_limit"]
            console.print(
                f"  rate limit: {rl.get('remaining', '?')} of {rl.get('limit', '?')} left, "
                f"resets {rl.get('reset_in_s', '?')} s after {rl.get('at', '?')}",
                markup=False,
            )
        for problem in r["last_problems"][:10]:
            console.print(f"  skipped: {problem}", markup=False)


@sources_app.command("test")
def sources_test(
    name: str,
    limit: Annotated[int, typer.Option("--limit", help="Posts to show.")] = 10,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Poll NAME once and show what it would bring in. Nothing is stored, the cursor stays."""
    from goodwill.listen import connector_for, hand_topics
    from goodwill.net import make_client
    from goodwill.pipeline.normalise import PostError, parse_post

    app = App.open()
    ws = app.workspace(workspace)
    try:
        src = app.repo.source(ws.id, name)
    except StoreError as exc:
        fail(str(exc))

    async def once() -> Any:
        async with make_client(app.settings) as http:
            connector = connector_for(src, http, app.settings)
            hand_topics(app.repo, src, connector)
            return await connector.poll(dict(src.cursor or {}))

    secrets = secrets_of(src.config or {}, _secret_fields(src.kind), app.settings)
    try:
        page = asyncio.run(once())
    except (SourceError, ConfigError) as exc:
        fail(scrub(f"{name}: {exc}", secrets))
    problems = [scrub(p, secrets) for p in page.problems]
    good = []
    for number, obj in enumerate(page.posts, start=1):
        try:
            good.append(parse_post(obj, max_chars=app.settings.max_post_chars))
        except PostError as exc:
            problems.append(f"item {number}: {exc}")
    if json:
        print_json(
            {
                "source": name,
                "posts": [p.to_json() for p in good[:limit]],
                "count": len(good),
                "more_waiting": page.has_more,
                "problems": problems,
            }
        )
        return
    more = " (more waiting)" if page.has_more else ""
    console.print(
        f"[bold]{esc(name)}[/] would bring in {len(good)} posts{more}; nothing was stored."
    )
    for post in good[:limit]:
        who = post.author.handle or post.author.name or post.author.id if post.author else "?"
        text = post.text if len(post.text) <= 100 else post.text[:99] + "…"
        console.print(f"  {post.created_at:%Y-%m-%d %H:%M} {who}: {text}", markup=False)
    for problem in problems[:20]:
        console.print(f"  skipped: {problem}", markup=False)


@sources_app.command("reply")
def sources_reply(
    name: Annotated[str, typer.Argument(help="The source the post came from.")],
    post_id: Annotated[str, typer.Argument(help="The post's id, as stored.")],
    text: Annotated[str, typer.Argument(help="The reply.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Reply to a post as the brand account, through the source that stored it; the reply is
    stored too (as your own post)."""
    from goodwill.ingest import Ingestor
    from goodwill.listen import connector_for
    from goodwill.net import make_client
    from goodwill.sources.base import CanReply
    from goodwill.sources.credentials import store_rotated

    app = App.open()
    ws = app.workspace(workspace)
    try:
        src = app.repo.source(ws.id, name)
    except StoreError as exc:
        fail(str(exc))

    async def send() -> dict[str, Any]:
        async with make_client(app.settings) as http:
            connector = connector_for(src, http, app.settings)
            if not isinstance(connector, CanReply):
                raise SourceError(f"{src.kind} sources cannot reply (see docs/sources/)")
            try:
                return await connector.reply(post_id, text)
            finally:
                store_rotated(app.repo, src, connector, app.settings)

    try:
        posted = asyncio.run(send())
    except (SourceError, ConfigError) as exc:
        secrets = secrets_of(src.config or {}, _secret_fields(src.kind), app.settings)
        fail(scrub(f"the reply was not posted: {exc}", secrets))
    report = Ingestor(app.repo, app.settings).ingest(
        ws.id, [("the reply", posted)], source_id=src.id
    )
    if json:
        print_json({"posted": posted, "stored": report.written.inserted == 1})
    else:
        console.print(f"Replied: {posted.get('url') or posted['id']}", markup=False)


@sources_app.command("kinds")
def sources_kinds() -> None:
    """List the kinds of source this install knows."""
    for kind, cls in sorted(available_sources().items()):
        doc = ((cls.__doc__ or "").strip().splitlines() or [""])[0]
        console.print(f"[bold]{esc(kind)}[/]  {esc(doc)}")


@sources_app.command("remove")
def sources_remove(name: str, workspace: WorkspaceOpt = None) -> None:
    """Stop listening to a source (its posts stay)."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        src = app.repo.source(ws.id, name)
        app.repo.remove_source(ws.id, src.id)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"Removed source [bold]{esc(name)}[/]")
