"""New mentions, live, as server-sent events.

Why polling the store and not a message bus: the listener may run in another process (or on
Celery workers); the database is what they all share. One indexed query every few seconds per
open stream is cheap, and ``Last-Event-ID`` lets a reconnecting browser miss nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from goodwill.store.repository import MentionFilter
from goodwill.web.deps import Access, api_access, ctx

__all__ = ["router"]

router = APIRouter(tags=["mentions"])


@router.get(
    "/workspaces/{workspace_id}/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    after: Annotated[int, Query(ge=0, description="Only mentions with a larger post id.")] = 0,
    once: Annotated[bool, Query(description="Send what is new now, then close.")] = False,
) -> StreamingResponse:
    """``event: mention`` with the post's id, time, source, author and text for each new
    mention. The stream stays open; it sends a comment every 15 s to keep proxies from closing
    it."""
    c = ctx(request)
    workspace_id = access.workspace.id
    last = request.headers.get("last-event-id")
    cursor = int(last) if last and last.isdigit() else after
    interval = c.settings.live_poll_seconds

    async def events() -> AsyncIterator[str]:
        nonlocal cursor
        quiet = 0.0
        while True:
            page = await asyncio.to_thread(
                c.repo.mentions, workspace_id, MentionFilter(), limit=100
            )
            fresh = sorted((p for p in page.posts if p.id > cursor), key=lambda p: p.id)
            for p in fresh:
                data = {
                    "id": p.id,
                    "created_at": p.created_at.isoformat(),
                    "source": p.source,
                    "author": p.author_name or p.author_handle,
                    "text": p.text[:500],
                    "topic_ids": page.topics.get(p.id, []),
                }
                yield f"id: {p.id}\nevent: mention\ndata: {json.dumps(data)}\n\n"
                cursor = p.id
            if once:
                return
            if quiet >= 15:
                yield ": keep-alive\n\n"
                quiet = 0.0
            if await request.is_disconnected():
                return
            await asyncio.sleep(interval)
            quiet += interval

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
