"""The web application: the mention stream of a workspace, served offline.

Third-party text (posts, author names, URLs) is only ever rendered through Jinja's autoescaping,
and a Content-Security-Policy without inline script is sent with every page, so a hostile post
stays inert text in the reader's browser.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from goodwill import __version__
from goodwill.store.repository import MentionFilter, NotFound, Repository

__all__ = ["create_app"]

_HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response


def _ago(when: datetime) -> str:
    seconds = (datetime.now(UTC) - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def create_app(repo: Repository) -> FastAPI:
    app = FastAPI(title="Goodwill", version=__version__, docs_url="/api/docs", redoc_url=None)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.filters["ago"] = _ago

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        try:
            ws = repo.workspace(None)
        except NotFound:
            ws = None
        return RedirectResponse(f"/w/{ws.id}/mentions" if ws else "/workspaces")

    @app.get("/workspaces", response_class=HTMLResponse, include_in_schema=False)
    def workspaces(request: Request) -> Response:
        return templates.TemplateResponse(
            request, "workspaces.html", {"workspaces": repo.workspaces(), "workspace": None}
        )

    @app.get("/w/{workspace_id}/mentions", response_class=HTMLResponse, include_in_schema=False)
    def mentions(
        request: Request,
        workspace_id: int,
        topic: int | None = None,
        q: str | None = Query(default=None, max_length=500),
        source: str | None = Query(default=None, max_length=32),
        lang: str | None = Query(default=None, max_length=16),
        before_t: str | None = None,
        before_id: int | None = None,
    ) -> Response:
        ws = next((w for w in repo.workspaces() if w.id == workspace_id), None)
        if ws is None:
            raise HTTPException(404, "no such workspace")
        topics = repo.topics(ws.id)
        if topic is not None and topic not in {t.id for t in topics}:
            raise HTTPException(404, "no such topic in this workspace")
        f = MentionFilter(
            topic_ids=[topic] if topic else [],
            search=q or None,
            source=source or None,
            lang=lang or None,
        )
        before = None
        if before_t and before_id:
            try:
                before = (datetime.fromisoformat(before_t), before_id)
            except ValueError:
                raise HTTPException(400, "bad page cursor") from None
        page = repo.mentions(ws.id, f, limit=50, before=before)
        counts = repo.count_mentions(ws.id, MentionFilter())
        names = {t.id: t for t in topics}
        context: dict[str, Any] = {
            "workspace": ws,
            "workspaces": repo.workspaces(),
            "topics": topics,
            "counts": counts,
            "page": page,
            "names": names,
            "filters": {"topic": topic, "q": q or "", "source": source or "", "lang": lang or ""},
        }
        return templates.TemplateResponse(request, "mentions.html", context)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
