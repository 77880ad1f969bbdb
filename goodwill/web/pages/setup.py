"""The guided first run: the brand, its competitors, the industry, then sources.

The owner account (step 1) is created in ``web.auth``; this walks a new workspace through the
rest. Each step can be skipped and done later from the Topics and Sources pages.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.domain import TopicKind
from goodwill.query import QuerySyntaxError, parse
from goodwill.sources import available_sources
from goodwill.store.accounts import Role
from goodwill.store.repository import StoreError
from goodwill.web.deps import Access, ctx, page_access, page_user, render
from goodwill.web.pages.topics import preview_query

__all__ = ["default_query", "router"]

router = APIRouter(include_in_schema=False)


def default_query(name: str) -> str:
    """A first query for a brand name: the name as a phrase, its hashtag and handle forms."""
    name = " ".join(name.split())
    joined = re.sub(r"\W+", "", name)
    parts = [f'"{name}"' if " " in name else name]
    if joined and re.fullmatch(r"\w+", joined):
        parts += [f"#{joined}", f"@{joined}"]
        if " " in name:
            parts.append(joined)
    query = " OR ".join(dict.fromkeys(parts))
    try:
        parse(query)
    except QuerySyntaxError:
        return '"' + name.replace('"', "") + '"'
    return query


@router.get("/setup")
def brand_form(request: Request) -> Response:
    user = page_user(request)
    if not user.is_owner:
        raise HTTPException(403, "only the install's owner creates workspaces")
    return render(request, "setup_brand.html", {"error": None, "name": "", "query": ""}, user=user)


@router.post("/setup")
def create_brand(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    user = page_user(request)
    if not user.is_owner:
        raise HTTPException(403, "only the install's owner creates workspaces")
    c = ctx(request)
    query = query.strip() or default_query(name)
    try:
        parse(query)
        ws = c.repo.add_workspace(name)
        c.repo.add_topic(ws.id, name.strip(), TopicKind.BRAND, query)
    except QuerySyntaxError as exc:
        context = {"error": f"Column {exc.column}: {exc.message}", "name": name, "query": query}
        return render(request, "setup_brand.html", context, user=user, status_code=422)
    except StoreError as exc:
        context = {"error": str(exc), "name": name, "query": query}
        return render(request, "setup_brand.html", context, user=user, status_code=422)
    return RedirectResponse(f"/w/{ws.id}/setup/competitors", status_code=303)


@router.get("/w/{workspace_id}/setup/competitors")
def competitors_form(
    request: Request, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    return render(request, "setup_competitors.html", {"error": None, "names": ""}, access=access)


@router.post("/w/{workspace_id}/setup/competitors")
def add_competitors(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    names: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    repo = ctx(request).repo
    existing = {t.name for t in repo.topics(access.workspace.id)}
    for name in [n.strip() for n in names.splitlines() if n.strip()][:20]:
        if name not in existing:
            try:
                repo.add_topic(access.workspace.id, name, TopicKind.COMPETITOR, default_query(name))
            except StoreError as exc:
                context = {"error": str(exc), "names": names}
                return render(
                    request, "setup_competitors.html", context, access=access, status_code=422
                )
    return RedirectResponse(f"/w/{access.workspace.id}/setup/industry", status_code=303)


@router.get("/w/{workspace_id}/setup/industry")
def industry_form(
    request: Request, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    values = {"name": "Industry", "kind": "industry", "query": ""}
    return _industry(request, access, values, None)


def _industry(
    request: Request, access: Access, values: dict[str, str], error: str | None, status: int = 200
) -> Response:
    context = {
        "v": values,
        "error": error,
        "topic": None,
        "kinds": [k.value for k in TopicKind],
        "preview": preview_query(ctx(request).repo, access.workspace.id, values["query"]),
        "action": f"/w/{access.workspace.id}/setup/industry",
        "submit_label": "Add this topic and continue",
        "skip_url": f"/w/{access.workspace.id}/setup/sources",
    }
    return render(request, "setup_industry.html", context, access=access, status_code=status)


@router.post("/w/{workspace_id}/setup/industry")
def add_industry(
    request: Request,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=20)],
    query: Annotated[str, Form(max_length=10_000)],
) -> Response:
    values = {"name": name, "kind": kind, "query": query}
    try:
        parse(query)
        ctx(request).repo.add_topic(access.workspace.id, name, TopicKind(kind), query)
    except QuerySyntaxError as exc:
        return _industry(request, access, values, f"Column {exc.column}: {exc.message}", 422)
    except (StoreError, ValueError) as exc:
        return _industry(request, access, values, str(exc), 422)
    return RedirectResponse(f"/w/{access.workspace.id}/setup/sources", status_code=303)


@router.get("/w/{workspace_id}/setup/sources")
def sources_step(
    request: Request, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    c = ctx(request)
    context = {
        "sources": c.repo.sources(access.workspace.id),
        "topics": c.repo.topics(access.workspace.id),
        "kinds": sorted(available_sources()),
        "v": {"kind": "rss", "name": "", "url": "", "config": "", "interval": ""},
        "error": None,
        "back": "setup",
    }
    return render(request, "setup_sources.html", context, access=access)
