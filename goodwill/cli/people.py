"""`goodwill people`: the persons behind the posts, their standing, and what the team does."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import orjson
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
from goodwill.people import LIST_FILTERS, NURTURE_ACTIONS, People, PersonView
from goodwill.people.privacy import export_person, forget_person
from goodwill.store.repository import StoreError
from goodwill.store.tables import Workspace

__all__ = ["people_app"]

people_app = typer.Typer(
    help="People: who spoke about you across networks, their standing, and your care for them.",
    no_args_is_help=True,
)
ByOpt = Annotated[str | None, typer.Option("--by", help="Who did it (default: your user).")]


def _open(workspace: str | None) -> tuple[People, Workspace]:
    app = App.open()
    ws = app.workspace(workspace)
    return People(app.repo, app.settings), ws


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "–"


def _row(v: PersonView) -> tuple[Any, ...]:
    handles = ", ".join(f"{i['source']}:{i['handle'] or i['author_id']}" for i in v.identities)
    return (
        v.id,
        v.name,
        v.standing + (" ★" if v.advocate else ""),
        f"{v.advocate_score:g}",
        v.mentions,
        handles[:60],
        ", ".join(v.roles + v.tags)[:40],
        _when(v.last_post_at),
    )


@people_app.command("list")
def list_people(
    standing: Annotated[
        str | None,
        typer.Option("--standing", help=f"Only these: {', '.join(LIST_FILTERS)}."),
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help="Only people with this role.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only people with this tag.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Name or handle contains.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """People who mentioned your topics (brought up to date from the stored posts first)."""
    people, ws = _open(workspace)
    try:
        views, total = people.list_people(
            ws.id, standing=standing, role=role, tag=tag, search=search, limit=limit, offset=offset
        )
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json({"total": total, "people": [v.as_dict() for v in views]})
        return
    table(
        f"{total} people" + (f" ({standing})" if standing else ""),
        ["id", "name", "standing", "advocate", "mentions", "identities", "labels", "last post"],
        [_row(v) for v in views],
    )


def _show_data(people: People, ws_id: int, person_id: int) -> dict[str, Any]:
    view = people.view(ws_id, person_id)
    return {
        "person": view.as_dict(),
        "cases": [c.as_dict() for c in people.cases(ws_id, person_id)],
        "suggestions": [s.as_dict() for s in people.suggestions(ws_id, person_id)],
        "timeline": [i.as_dict() for i in people.timeline(ws_id, person_id, limit=200)],
    }


@people_app.command("show")
def show(
    person_id: Annotated[int, typer.Argument(help="The person's id (see people list).")],
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """A person's profile: identities, standing and why, advocate score, cases, timeline."""
    people, ws = _open(workspace)
    try:
        data = _show_data(people, ws.id, person_id)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(data)
        return
    p = data["person"]
    out = console.print
    out(f"[bold]{esc(p['name'])}[/] (person {p['id']}): {p['standing']}", highlight=False)
    out(f"  standing: {p['standing_why']}", highlight=False, markup=False)
    parts = ", ".join(f"{k} {v['points']:g}" for k, v in p["advocate_parts"].items())
    advocate = " (advocate)" if p["advocate"] else ""
    out(
        f"  advocate score {p['advocate_score']:g}{advocate}: {parts}",
        highlight=False,
        markup=False,
    )
    for i in p["identities"]:
        out(
            f"  identity {i['id']}: {i['source']} {i['handle'] or i['author_id']}"
            f" {i['profile_url'] or ''}",
            highlight=False,
            markup=False,
        )
    if p["roles"] or p["tags"]:
        out(
            f"  roles: {', '.join(p['roles']) or '–'}; tags: {', '.join(p['tags']) or '–'}",
            markup=False,
        )
    for c in data["cases"]:
        out(
            f"  detractor case {c['id']}: {c['status']}"
            + (f", recovered: {c['recovered']}" if c["resolved_at"] else ""),
            highlight=False,
            markup=False,
        )
    for s in data["suggestions"]:
        out(
            f"  maybe the same as person {s['person_id']} ({'; '.join(s['reasons'])})",
            highlight=False,
            markup=False,
        )
    for item in data["timeline"][:50]:
        out(
            f"  {item['at'][:16]} {item['kind']:<12} {item['text'][:100]}",
            highlight=False,
            markup=False,
        )


@people_app.command("merge")
def merge(
    into: Annotated[int, typer.Argument(help="The person to keep.")],
    other: Annotated[int, typer.Argument(help="The person merged into it (then gone).")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Link another person's identities to this one (they are the same human)."""
    people, ws = _open(workspace)
    try:
        people.merge(ws.id, into, other)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"merged person {other} into {into}")


@people_app.command("unmerge")
def unmerge(
    identity: Annotated[int, typer.Argument(help="The identity id to split off (see show).")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Split one identity off into a person of its own."""
    people, ws = _open(workspace)
    try:
        new_id = people.unmerge(ws.id, identity)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"identity {identity} is now person {new_id}")


@people_app.command("tag")
def tag(
    person_id: Annotated[int, typer.Argument(help="The person's id.")],
    label: Annotated[str, typer.Argument(help="A role (customer, prospect, …) or any tag.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove it instead.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Give a person a role (customer, prospect, employee, partner, stakeholder, potential
    talent, referral source, friend) or a free tag."""
    people, ws = _open(workspace)
    try:
        kind = people.label(ws.id, person_id, label, remove=remove)
    except StoreError as exc:
        fail(str(exc))
    console.print(
        f"{'removed' if remove else 'added'} {kind} {label.strip().lower()!r}", markup=False
    )


@people_app.command("note")
def note(
    person_id: Annotated[int, typer.Argument(help="The person's id.")],
    text: Annotated[str, typer.Argument(help="The note (internal, never sent).")],
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add an internal note to a person."""
    people, ws = _open(workspace)
    try:
        people.add_note(ws.id, person_id, by or getpass.getuser(), text)
    except StoreError as exc:
        fail(str(exc))
    console.print("note added")


@people_app.command("nurture")
def nurture(
    person_id: Annotated[int, typer.Argument(help="The person's id.")],
    action: Annotated[str, typer.Argument(help=f"One of: {', '.join(NURTURE_ACTIONS)}.")],
    note_text: Annotated[str, typer.Option("--note", help="What happened.")] = "",
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Log something done for a person (it counts as contact for the reminders)."""
    people, ws = _open(workspace)
    try:
        people.log_nurture(ws.id, person_id, action, by or getpass.getuser(), note_text)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"logged {action!r}", markup=False)


@people_app.command("case")
def case(
    person_id: Annotated[int, typer.Argument(help="The person's id.")],
    step: Annotated[str, typer.Argument(help="open, contacted or resolved.")],
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Move the person's detractor case: open one, mark it contacted, or resolved."""
    people, ws = _open(workspace)
    who = by or getpass.getuser()
    try:
        if step == "open":
            case_id = people.open_case(ws.id, person_id, who)
        else:
            under_way = [c for c in people.cases(ws.id, person_id) if c.status != "resolved"]
            if not under_way:
                fail(f"person {person_id} has no detractor case under way (open one first)")
            case_id = under_way[-1].id
            people.advance_case(ws.id, case_id, step, who)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"detractor case {case_id}: {step}", markup=False)


@people_app.command("remind")
def remind(json_out: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """ "Really connect": advocates and key contacts nobody reached for a while."""
    people, ws = _open(workspace)
    due = people.reminders(ws.id)
    if json_out:
        print_json([{**v.as_dict(), "days_since_contact": d} for v, d in due])
        return
    table(
        f"{len(due)} people to reach out to",
        ["id", "name", "standing", "roles", "last contact"],
        [
            (
                v.id,
                v.name,
                v.standing,
                ", ".join(v.roles),
                "never" if d is None else f"{d} days",
            )
            for v, d in due
        ],
    )


@people_app.command("export")
def export(
    person_id: Annotated[int, typer.Argument(help="The person's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of printing.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Everything stored about a person, as JSON (for a data subject's access request)."""
    people, ws = _open(workspace)
    try:
        data = export_person(people, ws.id, person_id)
    except StoreError as exc:
        fail(str(exc))
    if output is None:
        print_json(data)
        return
    output.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    console.print(f"wrote {output}", markup=False)


@people_app.command("forget")
def forget(
    person_id: Annotated[int, typer.Argument(help="The person's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Delete a person and their posts everywhere, and keep them from being imported again."""
    people, ws = _open(workspace)
    try:
        view = people.view(ws.id, person_id)
    except StoreError as exc:
        fail(str(exc))
    if not yes:
        typer.confirm(
            f"Forget {view.name!r} (person {person_id}): delete their posts, profile, notes and "
            "cases for good?",
            abort=True,
        )
    report = forget_person(people, ws.id, person_id)
    r = report.as_dict()
    console.print(
        f"forgotten: {r['posts_deleted']} posts deleted, {r['posts_scrubbed']} other posts "
        f"no longer name them, {r['conversations_deleted']} conversations deleted, "
        f"{r['alert_events_scrubbed']} alert events scrubbed"
    )
