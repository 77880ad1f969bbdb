"""Logging in and out, and creating the owner account on an install's first visit."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.store.accounts import LoginRefused, Throttle
from goodwill.store.repository import StoreError
from goodwill.store.tables import User
from goodwill.web.deps import ctx, page_user, render
from goodwill.web.security import SESSION_COOKIE, cookie_flags

__all__ = ["router", "safe_next", "start_session"]

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or ``https://…`` would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def start_session(request: Request, user: User, target: str) -> Response:
    c = ctx(request)
    lifetime = timedelta(days=c.settings.session_days)
    raw = c.accounts.create_session(user.id, lifetime)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(lifetime.total_seconds()),
        **cookie_flags(request, c.settings.cookie_secure),
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    if ctx(request).accounts.user_count() == 0:
        return RedirectResponse("/setup/owner", status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None, "email": ""})


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    code: Annotated[str, Form(max_length=20)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    c = ctx(request)
    throttle = Throttle(
        c.settings.login_max_failures, timedelta(minutes=c.settings.login_window_minutes)
    )
    address = request.client.host if request.client else "unknown"
    try:
        user = c.accounts.authenticate(email, password, code or None, address, throttle)
    except LoginRefused as exc:
        context = {"next": safe_next(next), "error": str(exc), "email": email}
        return render(request, "login.html", context, status_code=401)
    return start_session(request, user, safe_next(next))


@router.post("/logout")
def logout(request: Request) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        ctx(request).accounts.end_session(raw)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/setup/owner")
def owner_form(request: Request) -> Response:
    if ctx(request).accounts.user_count() > 0:
        return RedirectResponse("/login", status_code=303)
    return render(request, "setup_owner.html", {"error": None, "email": "", "name": ""})


@router.post("/setup/owner")
def create_owner(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    c = ctx(request)
    # Only while there is no account at all: afterwards this page does nothing.
    if c.accounts.user_count() > 0:
        return RedirectResponse("/login", status_code=303)
    try:
        user = c.accounts.create_user(email, password, name=name, is_owner=True)
    except StoreError as exc:
        context = {"error": str(exc), "email": email, "name": name}
        return render(request, "setup_owner.html", context, status_code=400)
    return start_session(request, user, "/setup")


@router.get("/")
def home(request: Request) -> Response:
    c = ctx(request)
    if c.accounts.user_count() == 0:
        return RedirectResponse("/setup/owner", status_code=303)
    user = page_user(request)
    mine = c.accounts.workspaces_of(user)
    if not mine:
        return RedirectResponse("/setup" if user.is_owner else "/account", status_code=303)
    default = next((w for w, _ in mine if w.is_default), mine[0][0])
    return RedirectResponse(f"/w/{default.id}/dashboard", status_code=303)
