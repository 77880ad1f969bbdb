"""The web application: pages and the REST API, served offline.

This module only assembles: security middleware, the routers of each area (``auth``,
``pages/*``, ``api/*``) and error pages. Third-party text (posts, author names, URLs) is only
ever rendered through Jinja's autoescaping, under a Content-Security-Policy without inline
script, so a hostile post stays inert text in the reader's browser.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from goodwill import __version__
from goodwill.settings import Settings, get_settings
from goodwill.store.accounts import Accounts
from goodwill.store.alerts import AlertStore
from goodwill.store.corrections import Corrections
from goodwill.store.repository import Repository
from goodwill.web import auth
from goodwill.web.alerts_feed import alerts_feed_router
from goodwill.web.api import router as api_router
from goodwill.web.cache import StaleCache
from goodwill.web.deps import LoginRequired, WebContext, ctx, make_templates, render
from goodwill.web.pages import router as pages_router
from goodwill.web.security import CsrfMiddleware, SecurityHeaders

__all__ = ["FreshCountsAfterChanges", "create_app"]

_WORKSPACE_PATH = re.compile(r"^/(?:w|api/workspaces)/(\d+)(?:/|$)")


class FreshCountsAfterChanges:
    """Drops a workspace's cached figures and navigation counts when a request changes
    something in it (answering, triaging, correcting, editing a topic, forgetting a person...),
    just before its response starts: the handler has committed, and the user's next page counts
    afresh instead of showing a figure from before their own action. One rule here rather than
    a call in every handler that changes something."""

    def __init__(self, app: ASGIApp, caches: tuple[StaleCache, ...]) -> None:
        self.app = app
        self.caches = caches

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            _WORKSPACE_PATH.match(scope["path"])
            if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        workspace_id = int(match.group(1))

        async def send_after_forgetting(message: Message) -> None:
            if message["type"] == "http.response.start":
                for cache in self.caches:
                    cache.forget(workspace_id)
            await send(message)

        await self.app(scope, receive, send_after_forgetting)


_HERE = Path(__file__).parent


def create_app(repo: Repository, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    figures = StaleCache(settings.figures_cache_seconds)
    inbox_refreshes = StaleCache(settings.live_poll_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # Background refreshes must not outlive the app: they would query a store being closed.
        for cache in (figures, inbox_refreshes):
            await asyncio.to_thread(cache.drain)

    app = FastAPI(
        lifespan=lifespan,
        title="Goodwill",
        version=__version__,
        description="Goodwill's REST API. Authenticate with `Authorization: Bearer TOKEN` "
        "(create tokens on the Settings page). See docs/api.md.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.ctx = WebContext(
        repo=repo,
        accounts=Accounts(repo.engine),
        corrections=Corrections(repo.engine),
        settings=settings,
        templates=make_templates(),
        figures=figures,
        inbox_refreshes=inbox_refreshes,
    )
    # Order: the last added runs first; headers wrap everything, CSRF runs before the routes.
    app.add_middleware(
        CsrfMiddleware, secret=settings.resolved_web_secret(), secure=settings.cookie_secure
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(FreshCountsAfterChanges, caches=(figures, inbox_refreshes))
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(auth.router)
    app.include_router(pages_router)
    app.include_router(api_router)
    app.include_router(alerts_feed_router(AlertStore(repo.engine)), include_in_schema=False)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = "/setup/owner" if ctx(request).accounts.user_count() == 0 else "/login"
        if target == "/login" and request.method == "GET":
            target += "?next=" + request.url.path
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api") or request.headers.get("hx-request"):
            return await http_exception_handler(request, exc)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
