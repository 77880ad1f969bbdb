"""Sources: list with health, add, change, test, remove."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from goodwill.sources import ConfigError
from goodwill.store.accounts import Role
from goodwill.store.repository import StoreError
from goodwill.web.api.models import SourceIn, SourceOut, SourcePatch
from goodwill.web.deps import Access, api_access, ctx
from goodwill.web.pages.sources import clean_source, find_source, test_source

__all__ = ["router"]

router = APIRouter(tags=["sources"])


@router.get("/workspaces/{workspace_id}/sources", response_model=list[SourceOut])
def list_sources(
    request: Request, access: Annotated[Access, Depends(api_access())]
) -> list[SourceOut]:
    admin = access.role.allows(Role.ADMIN)
    return [SourceOut.of(s, secrets=admin) for s in ctx(request).repo.sources(access.workspace.id)]


@router.post("/workspaces/{workspace_id}/sources", response_model=SourceOut, status_code=201)
def create_source(
    request: Request, body: SourceIn, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> SourceOut:
    c = ctx(request)
    import json

    try:
        clean, interval = clean_source(
            c.settings, body.kind, body.url, json.dumps(body.config), body.interval
        )
        name = (body.name.strip() or body.url.strip() or body.kind)[:200]
        src = c.repo.add_source(access.workspace.id, body.kind, name, clean, interval)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None
    except StoreError as exc:
        raise HTTPException(409, str(exc)) from None
    return SourceOut.of(src, secrets=True)


@router.get("/workspaces/{workspace_id}/sources/{source_id}", response_model=SourceOut)
def get_source(
    request: Request, source_id: int, access: Annotated[Access, Depends(api_access())]
) -> SourceOut:
    src = find_source(ctx(request).repo, access.workspace.id, source_id)
    return SourceOut.of(src, secrets=access.role.allows(Role.ADMIN))


@router.patch("/workspaces/{workspace_id}/sources/{source_id}", response_model=SourceOut)
def patch_source(
    request: Request,
    source_id: int,
    body: SourcePatch,
    access: Annotated[Access, Depends(api_access(Role.ADMIN))],
) -> SourceOut:
    import json

    c = ctx(request)
    src = find_source(c.repo, access.workspace.id, source_id)
    values: dict[str, Any] = {}
    if body.config is not None:
        try:
            values["config"], values["interval_s"] = clean_source(
                c.settings, src.kind, "", json.dumps(body.config), None
            )
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
    if body.enabled is not None:
        values["enabled"] = body.enabled
    if values:
        c.repo.update_source(access.workspace.id, src.id, **values)
    return SourceOut.of(find_source(c.repo, access.workspace.id, source_id), secrets=True)


@router.post("/workspaces/{workspace_id}/sources/{source_id}/test")
async def test(
    request: Request, source_id: int, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> dict[str, Any]:
    """Fetch once and store nothing: whether the source works and what it would bring."""
    c = ctx(request)
    src = find_source(c.repo, access.workspace.id, source_id)
    return dataclasses.asdict(await test_source(c.settings, src.kind, src.name, src.config))


@router.delete("/workspaces/{workspace_id}/sources/{source_id}", status_code=204)
def delete_source(
    request: Request, source_id: int, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> None:
    c = ctx(request)
    src = find_source(c.repo, access.workspace.id, source_id)
    c.repo.remove_source(access.workspace.id, src.id)
