"""Workspace settings (members and roles) and each user's own account (password, two-factor,
API tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.store.accounts import Role
from goodwill.store.repository import StoreError
from goodwill.store.tables import User
from goodwill.web.deps import Access, ctx, page_access, page_user, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _settings(
    request: Request, access: Access, error: str | None = None, status: int = 200
) -> Response:
    c = ctx(request)
    context = {
        "members": c.accounts.members(access.workspace.id),
        "roles": [r.value for r in Role],
        "error": error,
    }
    return render(request, "settings.html", context, access=access, status_code=status)


@router.get("/w/{workspace_id}/settings")
def settings_page(request: Request, access: Annotated[Access, Depends(page_access())]) -> Response:
    return _settings(request, access)


def _grantable(access: Access, role: Role) -> None:
    # An admin manages viewers, responders and admins; only an owner makes owners.
    if not access.role.allows(role):
        raise HTTPException(403, f"only an owner can give the {role.value} role")


@router.post("/w/{workspace_id}/members")
def add_member(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[Role, Form()],
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Adds an existing user, or creates the account with the given first password."""
    _grantable(access, role)
    c = ctx(request)
    user = c.accounts.user_by_email(email)
    try:
        if user is None:
            if not password:
                raise StoreError(f"no account for {email} yet: give it a first password")
            user = c.accounts.create_user(email, password)
        c.accounts.set_member(access.workspace.id, user.id, role)
    except StoreError as exc:
        return _settings(request, access, str(exc), 422)
    return RedirectResponse(f"/w/{access.workspace.id}/settings", status_code=303)


@router.post("/w/{workspace_id}/members/{user_id}")
def change_member(
    request: Request,
    user_id: int,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    c = ctx(request)
    members = {u.id: r for u, r in c.accounts.members(access.workspace.id)}
    if user_id not in members:
        raise HTTPException(404, "no such member in this workspace")
    _grantable(access, members[user_id])
    if role == "remove":
        c.accounts.remove_member(access.workspace.id, user_id)
    else:
        try:
            new = Role(role)
        except ValueError:
            raise HTTPException(422, f"unknown role {role!r}") from None
        _grantable(access, new)
        c.accounts.set_member(access.workspace.id, user_id, new)
    return RedirectResponse(f"/w/{access.workspace.id}/settings", status_code=303)


# -- the workspace itself (owners) -----------------------------------------------------------


@router.post("/w/{workspace_id}/rename")
def rename_workspace(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.OWNER))],
    name: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        ctx(request).repo.rename_workspace(access.workspace.id, name)
    except StoreError as exc:
        return _settings(request, access, str(exc), 422)
    return RedirectResponse(f"/w/{access.workspace.id}/settings", status_code=303)


@router.post("/w/{workspace_id}/delete")
def delete_workspace(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.OWNER))],
    confirm: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Deletes the workspace with everything in it, once its name is typed exactly."""
    if confirm.strip() != access.workspace.name:
        message = f"type the workspace's name, {access.workspace.name}, to delete it"
        return _settings(request, access, message, 422)
    ctx(request).repo.delete_workspace(access.workspace.id)
    return RedirectResponse("/", status_code=303)


# -- the user's own account ----------------------------------------------------------------


def _account(
    request: Request,
    user: User,
    message: str | None = None,
    error: str | None = None,
    **extra: object,
) -> Response:
    c = ctx(request)
    context: dict[str, object] = {
        "tokens": c.accounts.tokens(user.id),
        "message": message,
        "error": error,
    }
    context.update(extra)
    return render(request, "account.html", context, user=user, status_code=422 if error else 200)


@router.get("/account")
def account(request: Request) -> Response:
    return _account(request, page_user(request))


@router.post("/account/password")
def change_password(
    request: Request,
    current: Annotated[str, Form(max_length=1000)],
    new: Annotated[str, Form(max_length=1000)],
) -> Response:
    user = page_user(request)
    c = ctx(request)
    from goodwill.store.accounts import _hasher  # the one argon2id hasher

    try:
        _hasher.verify(user.password_hash, current)
    except Exception:
        return _account(request, user, error="The current password is wrong.")
    try:
        c.accounts.set_password(user.id, new)
    except StoreError as exc:
        return _account(request, user, error=str(exc))
    # Every session ended with the change: log this browser in again.
    from goodwill.web.auth import start_session

    return start_session(request, user, "/account")


@router.post("/account/totp/start")
def totp_start(request: Request) -> Response:
    user = page_user(request)
    secret = ctx(request).accounts.new_totp_secret()
    uri = ctx(request).accounts.totp_uri(user, secret)
    return _account(request, user, totp_secret=secret, totp_uri=uri)


@router.post("/account/totp/enable")
def totp_enable(
    request: Request,
    secret: Annotated[str, Form(max_length=64)],
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    user = page_user(request)
    try:
        ctx(request).accounts.enable_totp(user, secret, code)
    except StoreError as exc:
        uri = ctx(request).accounts.totp_uri(user, secret)
        return _account(request, user, error=str(exc), totp_secret=secret, totp_uri=uri)
    return _account(request, ctx(request).accounts.user(user.id), "Two-factor login is on.")


@router.post("/account/totp/disable")
def totp_disable(request: Request) -> Response:
    user = page_user(request)
    ctx(request).accounts.disable_totp(user.id)
    return _account(request, ctx(request).accounts.user(user.id), "Two-factor login is off.")


@router.post("/account/tokens")
def create_token(request: Request, name: Annotated[str, Form(max_length=200)]) -> Response:
    user = page_user(request)
    _, raw = ctx(request).accounts.create_token(user.id, name)
    return _account(
        request, user, "Token created. Copy it now: it is not shown again.", new_token=raw
    )


@router.post("/account/tokens/{token_id}/delete")
def revoke_token(request: Request, token_id: int) -> Response:
    user = page_user(request)
    try:
        ctx(request).accounts.revoke_token(user.id, token_id)
    except StoreError:
        raise HTTPException(404, "no such token") from None
    return RedirectResponse("/account", status_code=303)
