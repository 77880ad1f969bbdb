"""The mention stream: filters, search, keyset pages, and correcting a post's sentiment."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.store.accounts import Role
from goodwill.store.corrections import SENTIMENTS
from goodwill.store.repository import StoreError
from goodwill.store.tables import Post
from goodwill.web.deps import Access, ctx, page_access, render
from goodwill.web.filters import StreamParams, decode_cursor, encode_cursor

__all__ = ["label_of", "router"]

router = APIRouter(include_in_schema=False)


def label_of(post: Post, corrected: dict[int, str]) -> dict[str, Any]:
    """What to show of a post's analysis: sentiment (a correction wins) and intent, if any."""
    analysis = post.analysis or {}
    model = analysis.get("sentiment")
    shown = model.get("label") if isinstance(model, dict) else None
    # A correction is laid over the analysis when it is made (``store.corrections``), keeping
    # the model's own label beside it.
    was_corrected = isinstance(model, dict) and bool(model.get("corrected"))
    model_label = model.get("model_label", shown) if isinstance(model, dict) else None
    confidence = model.get("confidence") if isinstance(model, dict) else None
    intent = analysis.get("intent")
    if isinstance(intent, dict):
        intent = intent.get("label")
    label = corrected.get(post.id, shown)
    return {
        "label": label if label in SENTIMENTS else None,
        "corrected": was_corrected or post.id in corrected,
        "model_label": model_label,
        "confidence": confidence if isinstance(confidence, int | float) else None,
        "intent": intent if isinstance(intent, str) else None,
    }


@router.get("/w/{workspace_id}/mentions")
def mentions(
    request: Request,
    access: Annotated[Access, Depends(page_access())],
    params: Annotated[StreamParams, Depends()],
) -> Response:
    c = ctx(request)
    ws = access.workspace
    topics = c.repo.topics(ws.id)
    if params.topic is not None and params.topic not in {t.id for t in topics}:
        raise HTTPException(404, "no such topic in this workspace")
    page = c.repo.mentions(ws.id, params.to_filter(), limit=50, before=decode_cursor(params.cursor))
    corrected = c.corrections.latest(ws.id, [p.id for p in page.posts])
    context: dict[str, Any] = {
        "topics": topics,
        "counts": c.counts(ws.id),
        "page": page,
        "labels": {p.id: label_of(p, corrected) for p in page.posts},
        "names": {t.id: t for t in topics},
        "f": params,
        "next_url": "?" + params.query_string(cursor=encode_cursor(page.next_before))
        if page.next_before
        else None,
        "sources": sorted({s.kind for s in c.repo.sources(ws.id)} | {p.source for p in page.posts}),
        "sentiments": SENTIMENTS,
        "newest_id": max((p.id for p in page.posts), default=0),
    }
    return render(request, "mentions.html", context, access=access)


@router.post("/w/{workspace_id}/mentions/{post_id}/sentiment")
def correct_sentiment(
    request: Request,
    post_id: int,
    label: Annotated[str, Form(max_length=16)],
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
) -> Response:
    c = ctx(request)
    try:
        c.corrections.correct(access.workspace.id, post_id, label, access.user.id)
    except StoreError as exc:
        status = 404 if "no post" in str(exc) else 422
        raise HTTPException(status, str(exc)) from None
    if not request.headers.get("hx-request"):
        target = f"/w/{access.workspace.id}/mentions#m-{post_id}"
        return RedirectResponse(target, status_code=303)
    post = c.repo.post(access.workspace.id, post_id)
    corrected = c.corrections.latest(access.workspace.id, [post_id])
    context = {"p": post, "lab": label_of(post, corrected), "sentiments": SENTIMENTS}
    return render(request, "_sentiment.html", context, access=access)


@router.get("/w/{workspace_id}/corrections.csv")
def corrections_csv(
    request: Request, access: Annotated[Access, Depends(page_access())]
) -> Response:
    """Every sentiment correction of the workspace, with the post's text: labelled data."""
    rows = ctx(request).corrections.export(access.workspace.id, limit=1_000_000)
    out = io.StringIO()
    fields = ["id", "post_id", "label", "previous_label", "corrected_by", "corrected_at"]
    fields += ["source", "lang", "text"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        # A leading = + - @ makes spreadsheets run the cell as a formula: neutralise it.
        text = str(row["text"])
        row["text"] = "'" + text if text[:1] in ("=", "+", "-", "@") else text
        writer.writerow(row)
    name = f"goodwill-corrections-{access.workspace.id}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
