"""`goodwill users`: accounts from the command line (the first owner, password resets)."""

from __future__ import annotations

import secrets
from typing import Annotated

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
from goodwill.store.accounts import Role
from goodwill.store.repository import StoreError

__all__ = ["users_app"]

GenerateOpt = Annotated[bool, typer.Option("--generate", help="Make up a password and print it.")]

users_app = typer.Typer(help="People who log in to the web interface, and their roles.")


def _password(generate: bool) -> str:
    if generate:
        return secrets.token_urlsafe(12)
    return str(
        typer.prompt("Password (10 characters or more)", hide_input=True, confirmation_prompt=True)
    )


@users_app.command("add")
def users_add(
    email: str,
    owner: Annotated[
        bool, typer.Option("--owner", help="The install's owner: every workspace.")
    ] = False,
    role: Annotated[
        Role | None, typer.Option("--role", help="Role in the workspace given with --workspace.")
    ] = None,
    generate: Annotated[
        bool, typer.Option("--generate", help="Make up a password and print it.")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an account (asks for its password, or makes one up with --generate)."""
    app = App.open()
    password = _password(generate)
    try:
        user = app.accounts.create_user(email, password, is_owner=owner)
    except StoreError as exc:
        fail(str(exc))
    if role is not None:
        app.accounts.set_member(app.workspace(workspace).id, user.id, role)
    console.print(f"Created [bold]{esc(user.email)}[/]" + (" (owner)" if owner else ""))
    if generate:
        console.print(f"Password: [bold]{esc(password)}[/]")


@users_app.command("password")
def users_password(
    email: str,
    generate: Annotated[
        bool, typer.Option("--generate", help="Make up a password and print it.")
    ] = False,
) -> None:
    """Set a new password (this also logs the user out everywhere)."""
    app = App.open()
    user = app.accounts.user_by_email(email)
    if user is None:
        fail(f"no account {email}")
    password = _password(generate)
    try:
        app.accounts.set_password(user.id, password)
    except StoreError as exc:
        fail(str(exc))
    console.print(f"New password set for [bold]{esc(user.email)}[/]")
    if generate:
        console.print(f"Password: [bold]{esc(password)}[/]")


@users_app.command("list")
def users_list(json: JsonOpt = False) -> None:
    """Every account, with its workspaces and roles."""
    app = App.open()
    rows = []
    for user in app.accounts.users():
        roles = ", ".join(f"{w.name}: {r.value}" for w, r in app.accounts.workspaces_of(user))
        rows.append(
            {
                "email": user.email,
                "owner": user.is_owner,
                "two_factor": bool(user.totp_secret),
                "roles": roles,
            }
        )
    if json:
        print_json(rows)
    else:
        table(None, ["email", "owner", "two-factor", "roles"], [list(r.values()) for r in rows])
