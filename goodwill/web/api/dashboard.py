"""The dashboard's figures for a period."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from goodwill.web.deps import Access, api_access, ctx

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])


@router.get("/workspaces/{workspace_id}/dashboard")
def get_dashboard(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Mentions per day per topic, sentiment per day, share of voice, top people, sources."""
    cached = ctx(request).dashboard(access.workspace.id, days)
    return {**cached.value.as_dict(), "age_seconds": round(cached.age, 1)}
