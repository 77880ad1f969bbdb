"""The mention stream, one mention, sentiment corrections and their export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from goodwill.store.accounts import Role
from goodwill.store.repository import StoreError
from goodwill.web.api.models import CorrectionIn, MentionOut, MentionPageOut
from goodwill.web.deps import Access, api_access, ctx
from goodwill.web.filters import StreamParams, decode_cursor, encode_cursor
from goodwill.web.pages.mentions import label_of
from goodwill.web.pages.topics import find_topic

__all__ = ["router"]

router = APIRouter(tags=["mentions"])


@router.get("/workspaces/{workspace_id}/mentions", response_model=MentionPageOut)
def list_mentions(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    params: Annotated[StreamParams, Depends()],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MentionPageOut:
    """Newest first. Follow ``next_cursor`` for older pages; the filters stay the same."""
    c = ctx(request)
    ws = access.workspace.id
    if params.topic is not None:
        find_topic(c.repo, ws, params.topic)
    page = c.repo.mentions(ws, params.to_filter(), limit=limit, before=decode_cursor(params.cursor))
    corrected = c.corrections.latest(ws, [p.id for p in page.posts])
    return MentionPageOut(
        items=[
            MentionOut.of(p, page.topics[p.id], page.repeats.get(p.id, 0), label_of(p, corrected))
            for p in page.posts
        ],
        next_cursor=encode_cursor(page.next_before),
    )


@router.get("/workspaces/{workspace_id}/mentions/{post_id}", response_model=MentionOut)
def get_mention(
    request: Request, post_id: int, access: Annotated[Access, Depends(api_access())]
) -> MentionOut:
    c = ctx(request)
    try:
        post = c.repo.post(access.workspace.id, post_id)
    except StoreError:
        raise HTTPException(404, "no such post in this workspace") from None
    corrected = c.corrections.latest(access.workspace.id, [post_id])
    topics = c.repo.post_topics(access.workspace.id, [post_id]).get(post_id, [])
    repeats = c.repo.repeat_counts(access.workspace.id, [post_id]).get(post_id, 0)
    return MentionOut.of(post, topics, repeats, label_of(post, corrected))


@router.post("/workspaces/{workspace_id}/mentions/{post_id}/sentiment", status_code=201)
def correct(
    request: Request,
    post_id: int,
    body: CorrectionIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> dict[str, Any]:
    try:
        row = ctx(request).corrections.correct(
            access.workspace.id, post_id, body.label, access.user.id
        )
    except StoreError as exc:
        raise HTTPException(404 if "no post" in str(exc) else 422, str(exc)) from None
    return {
        "id": row.id,
        "post_id": post_id,
        "label": row.new,
        "previous_label": row.old,
    }


@router.get("/workspaces/{workspace_id}/corrections")
def corrections(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    after: Annotated[int, Query(ge=0, description="Last id of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    """Sentiment corrections with their post's text, oldest first: labelled examples."""
    items = ctx(request).corrections.export(access.workspace.id, after_id=after, limit=limit)
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}
