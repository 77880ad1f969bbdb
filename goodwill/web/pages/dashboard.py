"""The dashboard of a workspace over a period: volume, sentiment, share of voice, people."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from goodwill.web.deps import Access, ctx, page_access, render

__all__ = ["PERIODS", "router"]

router = APIRouter(include_in_schema=False)

PERIODS = {7: "7 days", 30: "30 days", 90: "90 days"}


@router.get("/w/{workspace_id}/dashboard")
def dashboard_page(
    request: Request,
    access: Annotated[Access, Depends(page_access())],
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Response:
    cached = ctx(request).dashboard(access.workspace.id, days)
    data = cached.value
    charts = data.as_dict()
    charts["mentions_url"] = f"/w/{access.workspace.id}/mentions"
    context = {
        "d": data,
        "days": days,
        "periods": PERIODS,
        # Handed to the chart script as a data attribute: autoescaped, never inline script.
        "chart_json": json.dumps(charts),
        "total": sum(sum(v.values()) for v in data.volume.values()),
        "age": cached.age,
    }
    return render(request, "dashboard.html", context, access=access)
