"""`goodwill alerts`: rules, a test through the real channel, the delivery log, cron and feed."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer

from goodwill.alerts import FREQUENCIES, KINDS, RuleError, RuleView
from goodwill.alerts.channels import endpoint_label, masked_secret
from goodwill.alerts.feed import atom_feed
from goodwill.alerts.rules import AUTHOR_SIGNALS
from goodwill.alerts.schedule import WEEKDAYS, check_timezone
from goodwill.cli._context import (
    App,
    JsonOpt,
    WorkspaceOpt,
    console,
    err_console,
    esc,
    fail,
    print_json,
    table,
)
from goodwill.net import make_client
from goodwill.store.alerts import RETRY_FAILED_MAX_DAYS
from goodwill.store.repository import StoreError

__all__ = ["alerts_app"]

alerts_app = typer.Typer(
    help="Alerts and digests: who hears what, when, and how.", no_args_is_help=True
)

Multi = list[str] | None


def _endpoint_text(view: RuleView) -> str:
    parts = []
    for e in view.endpoints:
        where = endpoint_label(e.kind, e.target)
        label = f"{e.kind}:{where}" + (f" ({e.format})" if e.kind == "webhook" else "")
        if not e.enabled:
            label += " [disabled]"
        parts.append(label)
    return ", ".join(parts)


@alerts_app.command("add")
def alerts_add(
    name: Annotated[str, typer.Argument(help="A name for the rule, unique in the workspace.")],
    kind: Annotated[
        str, typer.Option("--kind", help=f"What to watch: {', '.join(KINDS)}.")
    ] = "mention",
    topic: Annotated[str | None, typer.Option("--topic", help="Topic the rule watches.")] = None,
    sentiment: Annotated[
        Multi, typer.Option("--sentiment", help="Only posts with this sentiment (repeatable).")
    ] = None,
    intent: Annotated[
        Multi, typer.Option("--intent", help="Only posts with this intent (repeatable).")
    ] = None,
    source: Annotated[
        Multi, typer.Option("--source", help="Only posts from this source kind (repeatable).")
    ] = None,
    min_followers: Annotated[
        int | None, typer.Option("--min-followers", help="Only authors with this many followers.")
    ] = None,
    signal: Annotated[
        str | None,
        typer.Option(
            "--signal",
            help=f"Author rules: who counts ({', '.join(AUTHOR_SIGNALS)}; default influential).",
        ),
    ] = None,
    k: Annotated[
        float | None, typer.Option("--k", help="Spikes: standard deviations above the mean.")
    ] = None,
    window_hours: Annotated[
        float | None, typer.Option("--window-hours", help="Spikes: trailing baseline window.")
    ] = None,
    bucket_minutes: Annotated[
        float | None, typer.Option("--bucket-minutes", help="Spikes: width of one bucket.")
    ] = None,
    min_volume: Annotated[
        int | None, typer.Option("--min-volume", help="Spikes: mentions needed in the bucket.")
    ] = None,
    cooldown_hours: Annotated[
        float | None, typer.Option("--cooldown-hours", help="Spikes: quiet time after one.")
    ] = None,
    sla_hours: Annotated[
        float | None, typer.Option("--sla-hours", help="Unanswered: hours a question may wait.")
    ] = None,
    frequency: Annotated[
        str, typer.Option("--frequency", help=f"When to tell: {', '.join(FREQUENCIES)}.")
    ] = "now",
    digest_at: Annotated[
        str | None,
        typer.Option("--at", help="Daily/weekly digests: local time HH:MM (e.g. 09:00)."),
    ] = None,
    weekday: Annotated[
        str | None, typer.Option("--weekday", help="Weekly digests: monday … sunday.")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Time zone of --at (default: the workspace's)."),
    ] = None,
    max_per_hour: Annotated[
        int, typer.Option("--max-per-hour", help="Throttle: more go into an hourly digest.")
    ] = 20,
    email: Annotated[Multi, typer.Option("--email", help="Send to this address.")] = None,
    webhook: Annotated[Multi, typer.Option("--webhook", help="POST to this URL.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Webhook payload: standard or slack.")
    ] = "standard",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add an alert rule. New webhooks' signing secrets are printed in full once, here."""
    app = App.open()
    ws = app.workspace(workspace)
    filters: dict[str, Any] = {
        "sentiment": sentiment or [],
        "intent": intent or [],
        "source": source or [],
        "min_followers": min_followers,
        "signal": signal,
    }
    params = {
        key: value
        for key, value in {
            "k": k,
            "window_hours": window_hours,
            "bucket_minutes": bucket_minutes,
            "min_volume": min_volume,
            "cooldown_hours": cooldown_hours,
            "sla_hours": sla_hours,
            "digest_at": digest_at,
            "timezone": timezone,
        }.items()
        if value is not None
    }
    if weekday is not None:
        if weekday.lower() not in WEEKDAYS:
            fail(f"unknown weekday {weekday!r} (use {', '.join(WEEKDAYS)})")
        params["digest_weekday"] = WEEKDAYS.index(weekday.lower())
    try:
        view = app.alerts.add_rule(
            ws.id,
            name,
            kind,
            topic=topic,
            filters={k_: v for k_, v in filters.items() if v not in (None, [])},
            params=params,
            frequency=frequency,
            max_per_hour=max_per_hour,
            emails=email or [],
            webhooks=[(url, fmt) for url in webhook or []],
        )
    except (RuleError, StoreError) as exc:
        fail(str(exc))
    if json:
        print_json(view.as_dict(secrets=True))
        return
    console.print(
        f"Added alert rule [bold]{esc(view.rule.name)}[/] ({view.rule.kind}, {esc(frequency)})"
    )
    for e in view.endpoints:
        if e.secret:
            console.print(
                f"  {e.target}\n  signing secret: {e.secret}", highlight=False, markup=False
            )


@alerts_app.command("list")
def alerts_list(
    secrets: Annotated[
        bool,
        typer.Option(
            "--secrets", help="Show which signing secret each webhook has, masked (…last 4)."
        ),
    ] = False,
    reveal_secrets: Annotated[
        bool,
        typer.Option(
            "--reveal-secrets",
            help="Show webhook signing secrets and chat webhook URLs IN FULL (anyone who reads "
            "them can forge alerts or post to the channel).",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """List the workspace's alert rules."""
    app = App.open()
    ws = app.workspace(workspace)
    views = app.alerts.rules(ws.id)
    if reveal_secrets:
        err_console.print(
            "[bold yellow]warning:[/] printing webhook secrets in full; keep them out of "
            "shared terminals, logs and tickets.",
            highlight=False,
        )
    if json:
        print_json([v.as_dict(secrets=reveal_secrets, masked=secrets) for v in views])
        return
    table(
        "Alert rules",
        ["name", "kind", "topic", "frequency", "filters", "channels"],
        [
            [
                v.rule.name,
                v.rule.kind,
                v.topic or "",
                v.rule.frequency,
                ", ".join(f"{k}={val}" for k, val in {**v.rule.filters, **v.rule.params}.items()),
                _endpoint_text(v),
            ]
            for v in views
        ],
    )
    if secrets or reveal_secrets:
        for v in views:
            for e in v.endpoints:
                if e.secret:
                    target = e.target if reveal_secrets else endpoint_label(e.kind, e.target)
                    shown = e.secret if reveal_secrets else masked_secret(e.secret)
                    console.print(f"{v.rule.name}: {target} {shown}", highlight=False, markup=False)


@alerts_app.command("endpoints")
def alerts_endpoints(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """The workspace's alert endpoints: id, where, and whether enabled (HTTP 410 disables)."""
    app = App.open()
    ws = app.workspace(workspace)
    rows = [
        {
            "id": e.id,
            "kind": e.kind,
            "to": endpoint_label(e.kind, e.target),
            "format": e.format,
            "enabled": e.enabled,
            "disabled_reason": e.disabled_reason,
        }
        for e in app.alerts.store.workspace_endpoints(ws.id)
    ]
    if json:
        print_json(rows)
        return
    table(
        "Alert endpoints",
        ["id", "kind", "to", "state"],
        [
            [
                r["id"],
                r["kind"],
                r["to"],
                "enabled" if r["enabled"] else f"disabled ({r['disabled_reason'] or ''})",
            ]
            for r in rows
        ],
    )


@alerts_app.command("enable-endpoint")
def alerts_enable_endpoint(
    endpoint_id: Annotated[int, typer.Argument(help="The id `alerts endpoints` shows.")],
    retry_failed_days: Annotated[
        int,
        typer.Option(
            "--retry-failed-days",
            min=0,
            max=RETRY_FAILED_MAX_DAYS,
            help="Also send again its deliveries that failed in this many last days (0: none).",
        ),
    ] = 0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Switch an endpoint back on (after HTTP 410, once the receiver wants alerts again)."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        endpoint, retried = app.alerts.store.set_endpoint_enabled(
            ws.id, endpoint_id, True, retry_failed_days=retry_failed_days
        )
    except StoreError as exc:
        fail(str(exc))
    if json:
        print_json({"id": endpoint.id, "enabled": endpoint.enabled, "retried": retried})
        return
    console.print(
        f"Enabled {esc(endpoint_label(endpoint.kind, endpoint.target))}; "
        f"{retried} failed deliver{'y' if retried == 1 else 'ies'} queued again",
        highlight=False,
    )


@alerts_app.command("remove")
def alerts_remove(name: str, workspace: WorkspaceOpt = None) -> None:
    """Remove an alert rule (its events and delivery log go with it)."""
    app = App.open()
    ws = app.workspace(workspace)
    try:
        app.alerts.remove_rule(ws.id, name)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"Removed alert rule [bold]{esc(name)}[/]")


@alerts_app.command("test")
def alerts_test(name: str, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Send a test alert through the rule's real channels now, and say how each went."""
    app = App.open()
    ws = app.workspace(workspace)

    async def send() -> Any:
        async with make_client(app.settings) as http:
            return await app.alerts.send_test(ws.id, name, http)

    try:
        results = asyncio.run(send())
    except StoreError as exc:
        fail(str(exc))
    rows = [
        {"endpoint": r.endpoint, "ok": r.ok, "status": r.status, "error": r.error} for r in results
    ]
    if json:
        print_json(rows)
    else:
        for r in results:
            where = r.endpoint
            if r.ok:
                console.print(f"[green]sent[/] to {esc(where)}", highlight=False)
            else:
                retry = "" if r.final else " (will retry)"
                console.print(
                    f"[red]failed[/] {esc(where)}: {esc(r.error)}{retry}", highlight=False
                )
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@alerts_app.command("log")
def alerts_log(
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most recent deliveries shown.")] = 50,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """The delivery log: each alert to each channel, with status, attempts and last error."""
    app = App.open()
    ws = app.workspace(workspace)
    rows: list[dict[str, Any]] = [
        {
            "id": r.delivery.message_id,
            "rule": r.rule,
            "title": r.title,
            "channel": r.endpoint.kind,
            "to": endpoint_label(r.endpoint.kind, r.endpoint.target),
            "status": r.delivery.status,
            "attempts": r.delivery.attempts,
            "last_status": r.delivery.last_status,
            "last_error": r.delivery.last_error,
            "next_attempt_at": r.delivery.next_attempt_at
            if r.delivery.status == "pending"
            else None,
            "sent_at": r.delivery.sent_at,
            "created_at": r.delivery.created_at,
        }
        for r in app.alerts.log(ws.id, limit=limit, rule=rule)
    ]
    if json:
        print_json(rows)
        return
    table(
        "Alert deliveries",
        ["created", "rule", "alert", "to", "status", "attempts", "last error"],
        [
            [
                r["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
                r["rule"],
                r["title"],
                r["to"],
                r["status"],
                r["attempts"],
                r["last_error"] or "",
            ]
            for r in rows
        ],
    )


@alerts_app.command("run")
def alerts_run(json: JsonOpt = False) -> None:
    """Run the scheduled checks (digests, spikes, unanswered questions) and deliver what
    waits, then exit: for cron when `goodwill listen` is not running."""
    app = App.open()

    async def run() -> Any:
        result = await asyncio.to_thread(app.alerts.tick)
        async with make_client(app.settings) as http:
            return result, await app.alerts.worker(http).deliver_due()

    result, sent = asyncio.run(run())
    summary = {
        "events": result.events,
        "held_for_digest": result.held,
        "sent": sum(1 for s in sent if s.ok),
        "failed": sum(1 for s in sent if not s.ok),
    }
    if json:
        print_json(summary)
    else:
        console.print(
            f"{summary['events']} new alerts ({summary['held_for_digest']} held for digests); "
            f"{summary['sent']} deliveries sent, {summary['failed']} failed"
        )


@alerts_app.command("feed")
def alerts_feed(
    url: Annotated[
        bool, typer.Option("--url", help="Print the feed's secret path instead of the feed.")
    ] = False,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Make a new secret path (the old one stops working).")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print the workspace's Atom feed of alerts, or (--url) its secret path on the web app."""
    app = App.open()
    ws = app.workspace(workspace)
    token = app.alerts.store.feed_token(ws.id, rotate=rotate)
    path = f"/alerts/feed/{token}.atom"
    if url or rotate:
        typer.echo(path)
        return
    sys.stdout.buffer.write(atom_feed(app.alerts.store, ws.id, path, title=ws.name))


@alerts_app.command("timezone")
def alerts_timezone(
    zone: Annotated[
        str | None, typer.Argument(help="IANA name, e.g. Europe/Paris. Omitted: print it.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """The time zone in which the workspace's digests keep their time of day (--at)."""
    app = App.open()
    ws = app.workspace(workspace)
    if zone is None:
        typer.echo(app.alerts.store.workspace_timezone(ws.id))
        return
    try:
        clean = check_timezone(zone)
    except ValueError as exc:
        fail(str(exc))
    app.alerts.store.set_workspace_timezone(ws.id, clean)
    typer.echo(clean)
