"""Long-running commands: the listener, the web server and the demo."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from goodwill.cli._context import App, JsonOpt, console, esc, fail, print_json
from goodwill.listen import Listener, PollOutcome
from goodwill.net import make_client

__all__ = ["demo", "listen", "serve"]


def _outcome_row(o: PollOutcome) -> list[str]:
    w = o.report.written
    if not o.ok:
        state = f"[red]error[/]: {esc(o.error)}"
    elif o.not_modified:
        state = "[dim]not modified[/]"
    else:
        state = "[green]ok[/]"
    return [
        esc(o.source),
        state,
        str(w.inserted),
        str(w.updated),
        str(w.duplicates),
        str(o.report.problem_count),
        o.next_poll_at.strftime("%H:%M:%S") if o.next_poll_at else "",
    ]


def listen(
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, then exit.")
    ] = False,
    dispatch: Annotated[
        bool,
        typer.Option(
            "--dispatch",
            help="Queue due sources for `goodwill worker` processes instead of polling here "
            "(the default when GOODWILL_BROKER_URL is set).",
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Listen to every enabled source of every workspace. Ctrl-C stops cleanly; the next run
    resumes where this one stopped."""
    app = App.open()
    if not app.repo.sources(None):
        fail("no source to listen to: add one with `goodwill sources add rss URL`")
    if not once and (dispatch or app.settings.broker_url):
        from goodwill.cli.workers import dispatch_loop

        dispatch_loop(app)
        return
    ingestor = app.ingestor()
    latest: dict[str, PollOutcome] = {}

    def render() -> Table:
        t = Table(title="Listening (Ctrl-C to stop)", header_style="bold")
        for col in ("source", "state", "new", "updated", "repeats", "skipped", "next poll"):
            t.add_column(col)
        for o in latest.values():
            t.add_row(*_outcome_row(o))
        return t

    async def main() -> list[PollOutcome]:
        async with make_client(app.settings) as http:
            live: Live | None = None

            def seen(o: PollOutcome) -> None:
                latest[f"{o.workspace_id}/{o.source}"] = o
                if live is not None:
                    live.update(render())

            listener = Listener(
                app.repo, ingestor, app.settings, http, on_outcome=seen, alerts=app.alerts
            )
            if once:
                return await listener.run_once()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            with Live(render(), console=console, refresh_per_second=2) as live_display:
                live = live_display
                await listener.run(stop)
            return list(latest.values())

    outcomes = asyncio.run(main())
    if once:
        if json:
            print_json(
                [
                    {"source": o.source, "ok": o.ok, "error": o.error, **o.report.as_dict()}
                    for o in outcomes
                ]
            )
        else:
            t = Table(header_style="bold")
            for col in ("source", "state", "new", "updated", "repeats", "skipped", "next poll"):
                t.add_column(col)
            for o in outcomes:
                t.add_row(*_outcome_row(o))
            console.print(t)
        if outcomes and not any(o.ok for o in outcomes):
            raise typer.Exit(1)
    else:
        console.print("Stopped. Cursors are saved: `goodwill listen` resumes from here.")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Start the web interface."""
    import uvicorn

    from goodwill.web.app import create_app

    app = App.open()
    if app.accounts.user_count() == 0:
        console.print(
            "No account yet: the first visit creates the owner account "
            "(or run `goodwill users add EMAIL --owner`)."
        )
    console.print(f"Goodwill is at [bold]{esc(f'http://{host}:{port}/')}[/]  (Ctrl-C to stop)")
    uvicorn.run(
        create_app(app.repo, app.settings),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips=app.settings.forwarded_allow_ips,
    )


DEMO_EMAIL = "demo@goodwill.example"


def _demo_login(app: App) -> None:
    """The demo's owner account: created on first run, its password renewed on every run (it
    is only ever printed here), so `./go demo` always says how to log in."""
    import secrets

    accounts = app.accounts
    user = accounts.user_by_email(DEMO_EMAIL)
    if user is None and accounts.user_count() > 0:
        console.print("Log in with your own account (the owner sees every workspace).")
        return
    password = secrets.token_urlsafe(12)
    if user is None:
        accounts.create_user(DEMO_EMAIL, password, name="Demo owner", is_owner=True)
    else:
        accounts.set_password(user.id, password)
    console.print(
        f"Log in as [bold]{DEMO_EMAIL}[/] with password [bold]{password}[/] "
        "(new at every `goodwill demo`)."
    )


def _print_analysis_summary(app: App, workspace_id: int) -> None:
    """How the demo mentions split by sentiment and intent (the demo is small: one page)."""
    from collections import Counter

    from goodwill.store.repository import MentionFilter

    posts = app.repo.mentions(workspace_id, MentionFilter(), limit=10_000).posts
    for field in ("sentiment", "intent"):
        labels = Counter(
            str(p.analysis[field]["label"])
            for p in posts
            if isinstance((p.analysis or {}).get(field), dict)
        )
        if labels:
            shown = ", ".join(f"{n} {label}" for label, n in labels.most_common())
            console.print(f"  {field}: {esc(shown)}")


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only load the demo data.")] = False,
    host: Annotated[str, typer.Option(help="Address for the web interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the web interface.")] = 8000,
) -> None:
    """Create the demo workspace (a fictional bakery brand), load its posts, open the web UI."""
    from goodwill.demo import BRAND, TOPICS, demo_posts
    from goodwill.domain import TopicKind
    from goodwill.store.repository import MentionFilter, NotFound

    app = App.open()
    name = BRAND["workspace"]
    try:
        ws = app.repo.workspace(name)
    except NotFound:
        ws = app.repo.add_workspace(name, default=True)
    existing = {t.name for t in app.repo.topics(ws.id)}
    for t in TOPICS:
        if t["name"] not in existing:
            app.repo.add_topic(ws.id, t["name"], TopicKind(t["kind"]), t["query"])
    posts = demo_posts()
    report = app.ingestor().ingest(ws.id, [(f"demo post {i}", p) for i, p in enumerate(posts, 1)])
    counts = app.repo.count_mentions(ws.id, MentionFilter())
    console.print(
        f"Demo workspace [bold]{esc(name)}[/] in {esc(app.settings.resolved_database_url())}"
    )
    console.print(
        f"  {len(posts)} demo posts: {report.written.inserted} new, "
        f"{report.written.unchanged + report.written.updated} already there, "
        f"{report.written.duplicates} repeats collapsed"
    )
    for topic, n in counts["topics"].items():
        console.print(f"  topic [bold]{esc(topic)}[/]: {n} mentions")
    _print_analysis_summary(app, ws.id)
    _demo_login(app)
    console.print(
        "Try: [bold]goodwill mentions list --topic Brightloaf[/]   "
        "[bold]goodwill mentions count[/]   [bold]goodwill query check '...'[/]"
    )
    if no_serve:
        return
    serve(host=host, port=port)
