"""Who is asking, and may they: the dependencies every page and API route declares.

Access to a workspace is decided once, here: a route that takes ``workspace_id`` asks for
``Depends(page_access(Role.X))`` or ``Depends(api_access(Role.X))`` and gets the workspace only
when the user is a member with at least that role. A workspace the user is not a member of
answers 404, as if it did not exist; a role too low answers 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from goodwill.inbox import Inbox
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts, Role
from goodwill.store.corrections import Corrections
from goodwill.store.dashboard import dashboard, mention_counts
from goodwill.store.repository import Repository
from goodwill.store.tables import User, Workspace
from goodwill.web.cache import Cached, StaleCache
from goodwill.web.security import SESSION_COOKIE, csrf_token

__all__ = [
    "Access",
    "LoginRequired",
    "WebContext",
    "api_access",
    "api_user",
    "ctx",
    "page_access",
    "page_user",
    "render",
]

_HERE = Path(__file__).parent


@dataclass
class WebContext:
    """Everything the routes share, built once per application."""

    repo: Repository
    accounts: Accounts
    corrections: Corrections
    settings: Settings
    templates: Jinja2Templates
    figures: StaleCache
    # The nav's inbox count brings conversations up to date and counts those waiting at most
    # once per live poll period, in the background: with the figures cache off (the default) a
    # refresh, people sync included, would otherwise run on every page, and the count alone
    # reads every waiting conversation (250 ms with 700,000 of them). Any change a user makes
    # in a workspace drops its count (``FreshCountsAfterChanges``), so their next page is exact.
    inbox_refreshes: StaleCache

    def counts(self, workspace_id: int) -> dict[str, Any]:
        """Per-topic mention counts for the sidebar and the topics page (cached)."""
        return dict(
            self.figures.get(
                (workspace_id, "counts"), lambda: mention_counts(self.repo.engine, workspace_id)
            ).value
        )

    def inbox_count(self, workspace_id: int) -> int:
        """Conversations waiting for an answer, for the navigation (see ``inbox_refreshes``)."""
        inbox = Inbox(self.repo, self.settings)  # with people: standing is current

        def refresh_and_count() -> int:
            inbox.refresh(workspace_id)
            return inbox.needing_answer_count(workspace_id)

        return int(self.inbox_refreshes.get((workspace_id, "inbox"), refresh_and_count).value)

    def dashboard(self, workspace_id: int, days: int) -> Cached:
        return self.figures.get(
            (workspace_id, "dashboard", days),
            lambda: dashboard(self.repo.engine, workspace_id, days),
        )


@dataclass(frozen=True)
class Access:
    user: User
    workspace: Workspace
    role: Role


class LoginRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the login page."""


def _ago(when: datetime) -> str:
    seconds = (datetime.now(UTC) - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.filters["ago"] = _ago
    templates.env.globals["csrf_field"] = lambda request: Markup(
        '<input type="hidden" name="csrf_token" value="{}">'
    ).format(csrf_token(request))
    return templates


def ctx(request: Request) -> WebContext:
    context: WebContext = request.app.state.ctx
    return context


def _session_user(request: Request) -> User | None:
    if "user" in request.state._state:
        user: User | None = request.state.user
        return user
    raw = request.cookies.get(SESSION_COOKIE)
    user = ctx(request).accounts.session_user(raw) if raw else None
    request.state.user = user
    return user


def page_user(request: Request) -> User:
    user = _session_user(request)
    if user is None:
        raise LoginRequired()
    return user


def api_user(request: Request) -> User:
    """Bearer token when an Authorization header is given (cookies are then ignored), else the
    browser's session (the dashboard's charts and the live stream use it)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        user = ctx(request).accounts.token_user(raw.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise HTTPException(
                401, "invalid or revoked API token", headers={"WWW-Authenticate": "Bearer"}
            )
        return user
    user = _session_user(request)
    if user is None:
        raise HTTPException(
            401,
            "authentication required: Authorization: Bearer TOKEN",
            {"WWW-Authenticate": "Bearer"},
        )
    return user


def _access(request: Request, user: User, workspace_id: int, needed: Role) -> Access:
    c = ctx(request)
    role = c.accounts.role(user, workspace_id)
    if role is None:
        raise HTTPException(404, "no such workspace")
    if not role.allows(needed):
        raise HTTPException(403, f"this needs the {needed.value} role in this workspace")
    workspace = next(w for w in c.repo.workspaces() if w.id == workspace_id)
    return Access(user, workspace, role)


def page_access(needed: Role = Role.VIEWER) -> Any:
    def dependency(request: Request, workspace_id: int) -> Access:
        return _access(request, page_user(request), workspace_id, needed)

    return dependency


def api_access(needed: Role = Role.VIEWER) -> Any:
    def dependency(request: Request, workspace_id: int) -> Access:
        return _access(request, api_user(request), workspace_id, needed)

    return dependency


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    access: Access | None = None,
    user: User | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page with what the layout needs: the user, their workspaces, the current one."""
    c = ctx(request)
    user = access.user if access else user
    base: dict[str, Any] = {
        "user": user,
        "workspace": access.workspace if access else None,
        "role": access.role if access else None,
        "workspaces": c.accounts.workspaces_of(user) if user else [],
        "csrf": csrf_token(request),
        "Role": Role,
        "inbox_count": c.inbox_count(access.workspace.id) if access else None,
    }
    base.update(context)
    return c.templates.TemplateResponse(request, template, base, status_code=status_code)
