"""Topics, and checking a query (errors with their column, a preview on recent posts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from goodwill.domain import TopicKind
from goodwill.query import QuerySyntaxError, parse
from goodwill.store.accounts import Role
from goodwill.store.repository import StoreError
from goodwill.web.api.models import QueryCheckIn, TopicIn, TopicOut
from goodwill.web.deps import Access, api_access, ctx
from goodwill.web.pages.topics import find_topic, preview_query

__all__ = ["router"]

router = APIRouter(tags=["topics"])


def _checked(body: TopicIn) -> TopicKind:
    try:
        kind = TopicKind(body.kind)
    except ValueError:
        raise HTTPException(422, f"unknown topic kind {body.kind!r}") from None
    try:
        parse(body.query)
    except QuerySyntaxError as exc:
        raise HTTPException(
            422, {"message": exc.message, "column": exc.column, "query": body.query}
        ) from None
    return kind


@router.get("/workspaces/{workspace_id}/topics", response_model=list[TopicOut])
def list_topics(
    request: Request, access: Annotated[Access, Depends(api_access())]
) -> list[TopicOut]:
    return [TopicOut.of(t) for t in ctx(request).repo.topics(access.workspace.id)]


@router.post("/workspaces/{workspace_id}/topics", response_model=TopicOut, status_code=201)
def create_topic(
    request: Request, body: TopicIn, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> TopicOut:
    kind = _checked(body)
    try:
        topic = ctx(request).repo.add_topic(access.workspace.id, body.name, kind, body.query)
    except StoreError as exc:
        raise HTTPException(409, str(exc)) from None
    return TopicOut.of(topic)


@router.get("/workspaces/{workspace_id}/topics/{topic_id}", response_model=TopicOut)
def get_topic(
    request: Request, topic_id: int, access: Annotated[Access, Depends(api_access())]
) -> TopicOut:
    return TopicOut.of(find_topic(ctx(request).repo, access.workspace.id, topic_id))


@router.put("/workspaces/{workspace_id}/topics/{topic_id}", response_model=TopicOut)
def update_topic(
    request: Request,
    topic_id: int,
    body: TopicIn,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> TopicOut:
    repo = ctx(request).repo
    topic = find_topic(repo, access.workspace.id, topic_id)
    kind = _checked(body)
    try:
        updated = repo.update_topic(
            access.workspace.id,
            topic.name,
            name=body.name.strip() or None,
            kind=kind.value,
            query=body.query,
            enabled=body.enabled,
        )
    except StoreError as exc:
        raise HTTPException(409, str(exc)) from None
    return TopicOut.of(updated)


@router.delete("/workspaces/{workspace_id}/topics/{topic_id}", status_code=204)
def delete_topic(
    request: Request, topic_id: int, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> None:
    repo = ctx(request).repo
    topic = find_topic(repo, access.workspace.id, topic_id)
    repo.remove_topic(access.workspace.id, topic.name)


@router.post("/workspaces/{workspace_id}/query/check")
def check_query(
    request: Request, body: QueryCheckIn, access: Annotated[Access, Depends(api_access())]
) -> dict[str, Any]:
    """Lint a query and try it on the workspace's newest posts (the topic editor's preview)."""
    return preview_query(ctx(request).repo, access.workspace.id, body.query).as_dict()
