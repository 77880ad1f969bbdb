"""The Atom feed of a workspace's alerts at a secret URL: a router the web app mounts.

``app.include_router(alerts_feed_router(store))``. The token in the path is the only key, so
it is long and random (``goodwill alerts feed --url`` shows it, ``--rotate`` replaces it), and
an unknown token answers 404 like any missing page.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from goodwill.alerts.feed import atom_feed
from goodwill.store.alerts import AlertStore

__all__ = ["alerts_feed_router"]


def alerts_feed_router(store: AlertStore) -> APIRouter:
    router = APIRouter()

    @router.get("/alerts/feed/{token}.atom")
    def feed(token: str, request: Request) -> Response:
        workspace_id = store.workspace_of_feed(token)
        if workspace_id is None:
            raise HTTPException(status_code=404)
        body = atom_feed(store, workspace_id, str(request.url), title=f"workspace {workspace_id}")
        return Response(
            body,
            media_type="application/atom+xml; charset=utf-8",
            headers={"Cache-Control": "private, max-age=60", "Referrer-Policy": "no-referrer"},
        )

    return router
