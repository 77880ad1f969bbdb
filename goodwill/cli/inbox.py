"""`goodwill inbox`: conversations that need an answer, their status, and the answer metrics."""

from __future__ import annotations

import asyncio
import getpass
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from goodwill.cli._context import (
    App,
    JsonOpt,
    WorkspaceOpt,
    console,
    esc,
    fail,
    print_json,
    table,
)
from goodwill.inbox import STATUSES, Inbox, InboxMetrics
from goodwill.store.repository import StoreError
from goodwill.store.tables import Workspace

__all__ = ["inbox_app"]

inbox_app = typer.Typer(
    help="Conversations that need a human answer: triage, assign, measure.", no_args_is_help=True
)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: str) -> int:
    m = _DURATION.match(value)
    if m is None or int(m.group(1)) == 0:
        fail(f"{value!r} is not a duration: use seconds or a number with s, m, h or d (4h)")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _open(workspace: str | None) -> tuple[App, Inbox, Workspace]:
    app = App.open()
    ws = app.workspace(workspace)
    return app, Inbox(app.repo, app.settings), ws


@inbox_app.command("list")
def list_conversations(
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only this status: {', '.join(STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Conversations with a question, a complaint or a mention of the brand, most urgent
    first (refreshed from the stored posts first)."""
    _, inbox, ws = _open(workspace)
    inbox.refresh(ws.id)
    try:
        views = inbox.conversations(ws.id, status=status, limit=limit)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json([v.as_dict() for v in views])
        return
    now = datetime.now(UTC)
    rows = [
        (
            v.id,
            v.status + (" ⚠ SLA" if v.sla_breached and v.answered_at is None else ""),
            v.priority.score,
            v.assignee or "",
            v.author_handle or "",
            _human((now - v.last_post_at).total_seconds()),
            v.preview[:80],
        )
        for v in views
    ]
    table(
        f"Inbox · {ws.name}",
        ["id", "status", "priority", "assignee", "from", "last post", "text"],
        rows,
    )


@inbox_app.command("show")
def show(
    conversation: Annotated[int, typer.Argument(help="Conversation id (from `inbox list`).")],
    who: Annotated[
        str | None, typer.Option("--as", help="Who is opening it (default: your user).")
    ] = None,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """One conversation: its posts, priority with reasons, and notes. Warns when a teammate
    opened it in the last ten minutes."""
    _, inbox, ws = _open(workspace)
    try:
        other = inbox.open_as(ws.id, conversation, who or getpass.getuser())
        view = inbox.conversation(ws.id, conversation)
        posts = inbox.posts(ws.id, conversation)
        notes = inbox.notes(ws.id, conversation)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(
            view.as_dict()
            | {
                "also_opened_by": (
                    {"who": other[0], "at": other[1].isoformat()} if other else None
                ),
                "posts": [
                    {
                        "id": p.external_id,
                        "author": p.author_handle,
                        "is_own": p.is_own,
                        "created_at": p.created_at.isoformat(),
                        "text": p.text,
                    }
                    for p in posts
                ],
                "notes": [
                    {"author": n.author, "text": n.text, "at": n.created_at.isoformat()}
                    for n in notes
                ],
            }
        )
        return
    if other is not None:
        mins = (datetime.now(UTC) - other[1]).total_seconds() / 60
        console.print(
            f"[bold yellow]{esc(other[0])} opened this {mins:.0f} min ago:[/] "
            "check before answering.",
            highlight=False,
        )
    console.print(
        f"[bold]#{view.id}[/] {view.status} · priority {view.priority.score}: "
        + esc("; ".join(view.priority.reasons)),
        highlight=False,
    )
    for p in posts:
        who = f"{p.author_handle or '?'}{' (us)' if p.is_own else ''}"
        console.print(
            f"  {p.created_at:%Y-%m-%d %H:%M} {who}: {p.text}", highlight=False, markup=False
        )
    for n in notes:
        console.print(f"  [dim]note by {esc(n.author)}:[/] {esc(n.text)}", highlight=False)


@inbox_app.command("reply")
def reply(
    conversation: Annotated[int, typer.Argument(help="Conversation id.")],
    text: Annotated[str, typer.Argument(help="The reply, sent as the brand account.")],
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Answer the conversation's latest question or complaint through its source, as the
    brand; the reply is stored and closes the conversation."""
    from goodwill.inbox.reply import send_reply
    from goodwill.net import make_client
    from goodwill.sources.base import SourceError

    app, inbox, ws = _open(workspace)
    ingestor = app.ingestor()

    async def send() -> Any:
        async with make_client(app.settings) as http:
            return await send_reply(inbox, ingestor, app.settings, http, ws.id, conversation, text)

    try:
        done = asyncio.run(send())
    except StoreError as exc:
        fail(str(exc))
    except SourceError as exc:
        fail(f"the reply was not posted: {exc}")
    if json_out:
        print_json({"posted": done.posted, "to": done.to, "stored": done.stored})
        return
    console.print(
        f"Replied to {done.to}: {done.posted.get('url') or done.posted['id']}", markup=False
    )


@inbox_app.command("assign")
def assign(
    conversation: Annotated[int, typer.Argument(help="Conversation id.")],
    assignee: Annotated[str, typer.Argument(help="Teammate's name; '-' to unassign.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Give a conversation to a teammate."""
    _, inbox, ws = _open(workspace)
    try:
        inbox.assign(ws.id, conversation, None if assignee == "-" else assignee)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"conversation {conversation}: assigned to {assignee}", markup=False)


@inbox_app.command("status")
def set_status(
    conversation: Annotated[int, typer.Argument(help="Conversation id.")],
    status: Annotated[str, typer.Argument(help=f"One of {', '.join(STATUSES)}.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Set a conversation's status; `done` on an unanswered one means answered elsewhere."""
    _, inbox, ws = _open(workspace)
    try:
        inbox.set_status(ws.id, conversation, status.strip().lower())
    except StoreError as exc:
        fail(str(exc))
    console.print(f"conversation {conversation}: {status}", markup=False)


@inbox_app.command("note")
def note(
    conversation: Annotated[int, typer.Argument(help="Conversation id.")],
    text: Annotated[str, typer.Argument(help="The note (internal, never sent).")],
    who: Annotated[str | None, typer.Option("--by", help="Author (default: your user).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add an internal note to a conversation."""
    _, inbox, ws = _open(workspace)
    try:
        inbox.add_note(ws.id, conversation, who or getpass.getuser(), text)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"conversation {conversation}: note added")


@inbox_app.command("rules")
def rules(
    sla: Annotated[
        str | None, typer.Option("--sla", help="First answer within this long: 4h, 30m, 1d.")
    ] = None,
    own: Annotated[
        list[str] | None,
        typer.Option("--own", help="A handle of the brand (repeat); replaces the list."),
    ] = None,
    template_threshold: Annotated[
        int | None,
        typer.Option("--template-threshold", help="Flag a reply text sent this many times."),
    ] = None,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show or change the workspace's inbox rules."""
    _, inbox, ws = _open(workspace)
    try:
        r = inbox.set_rules(
            ws.id,
            sla_s=_duration(sla) if sla is not None else None,
            own_handles=own,
            template_threshold=template_threshold,
        )
    except StoreError as exc:
        fail(str(exc))
    data = {
        "workspace": ws.name,
        "first_response_sla_s": r.first_response_sla_s,
        "own_handles": r.own_handles,
        "template_threshold": r.template_threshold,
    }
    if json_out:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"{key}: {value}", highlight=False, markup=False)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _print_metrics(m: InboxMetrics) -> None:
    table(
        f"Inbox metrics · {m.workspace}",
        ["measure", "value"],
        [
            ("conversations", m.conversations),
            ("needing an answer now", m.needing_answer),
            ("open / waiting / done", " / ".join(str(m.by_status[s]) for s in STATUSES)),
            (
                "first response (median, p90)",
                f"{_human(m.first_response.median_s)}, {_human(m.first_response.p90_s)}"
                f" over {m.first_response.count}",
            ),
            (
                "resolution (median, p90)",
                f"{_human(m.resolution.median_s)}, {_human(m.resolution.p90_s)}"
                f" over {m.resolution.count}",
            ),
            ("response rate", _pct(m.response_rate)),
            ("coverage", f"{_pct(m.coverage)} of {m.questions_and_complaints}"),
            ("SLA breaches", f"{m.sla_breaches} (first answer within {_human(m.sla_s)})"),
        ],
    )
    for t in m.templates:
        console.print(
            f"[yellow]template sent {t['count']}×:[/] {esc(t['text'][:100])}", highlight=False
        )


@inbox_app.command("metrics")
def metrics(
    all_workspaces: Annotated[
        bool, typer.Option("--all", help="Every workspace, one after the other.")
    ] = False,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """First response and resolution times (median, p90, seconds in --json), response rate,
    coverage, SLA breaches and flagged templates, per workspace."""
    app = App.open()
    inbox = Inbox(app.repo, app.settings)
    spaces = app.repo.workspaces() if all_workspaces else [app.workspace(workspace)]
    results = []
    for ws in spaces:
        inbox.refresh(ws.id)
        results.append(inbox.metrics(ws.id))
    if json_out:
        data = [m.as_dict() for m in results]
        print_json(data if all_workspaces else data[0])
        return
    for m in results:
        _print_metrics(m)
