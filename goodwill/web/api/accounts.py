"""The caller, their workspaces, the members of one, and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from goodwill.store.accounts import Role
from goodwill.store.repository import StoreError
from goodwill.store.tables import User
from goodwill.web.api.models import (
    MemberOut,
    MeOut,
    NewTokenOut,
    TokenIn,
    TokenOut,
    WorkspaceIn,
    WorkspaceOut,
)
from goodwill.web.deps import Access, api_access, api_user, ctx

__all__ = ["router"]

router = APIRouter(tags=["accounts"])


@router.get("/me", response_model=MeOut)
def me(request: Request, user: Annotated[User, Depends(api_user)]) -> MeOut:
    mine = ctx(request).accounts.workspaces_of(user)
    return MeOut(
        id=user.id,
        email=user.email,
        name=user.name,
        is_owner=user.is_owner,
        workspaces=[WorkspaceOut(id=w.id, name=w.name, role=r.value) for w, r in mine],
    )


@router.get("/workspaces", response_model=list[WorkspaceOut])
def workspaces(request: Request, user: Annotated[User, Depends(api_user)]) -> list[WorkspaceOut]:
    mine = ctx(request).accounts.workspaces_of(user)
    return [WorkspaceOut(id=w.id, name=w.name, role=r.value) for w, r in mine]


@router.patch("/workspaces/{workspace_id}", response_model=WorkspaceOut)
def rename_workspace(
    request: Request,
    body: WorkspaceIn,
    access: Annotated[Access, Depends(api_access(Role.OWNER))],
) -> WorkspaceOut:
    """Rename the workspace (owners)."""
    try:
        ws = ctx(request).repo.rename_workspace(access.workspace.id, body.name)
    except StoreError as exc:
        raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from None
    return WorkspaceOut(id=ws.id, name=ws.name, role=access.role.value)


@router.delete("/workspaces/{workspace_id}", status_code=204)
def delete_workspace(
    request: Request,
    access: Annotated[Access, Depends(api_access(Role.OWNER))],
    confirm: Annotated[str, Query(description="The workspace's exact name, as a safeguard.")],
) -> None:
    """Delete the workspace and everything in it (owners); ``confirm`` must be its name."""
    if confirm != access.workspace.name:
        raise HTTPException(422, "confirm must be the workspace's exact name")
    ctx(request).repo.delete_workspace(access.workspace.id)


@router.get("/workspaces/{workspace_id}/members", response_model=list[MemberOut])
def members(
    request: Request, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> list[MemberOut]:
    return [
        MemberOut(user_id=u.id, email=u.email, name=u.name, role=r.value)
        for u, r in ctx(request).accounts.members(access.workspace.id)
    ]


def _token_out(t: object) -> TokenOut:
    return TokenOut.model_validate(t, from_attributes=True)


@router.get("/tokens", response_model=list[TokenOut])
def tokens(request: Request, user: Annotated[User, Depends(api_user)]) -> list[TokenOut]:
    return [_token_out(t) for t in ctx(request).accounts.tokens(user.id)]


@router.post("/tokens", response_model=NewTokenOut, status_code=201)
def create_token(
    request: Request, body: TokenIn, user: Annotated[User, Depends(api_user)]
) -> NewTokenOut:
    token, raw = ctx(request).accounts.create_token(user.id, body.name)
    return NewTokenOut(**_token_out(token).model_dump(), token=raw)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(request: Request, token_id: int, user: Annotated[User, Depends(api_user)]) -> None:
    try:
        ctx(request).accounts.revoke_token(user.id, token_id)
    except StoreError:
        raise HTTPException(404, "no such token") from None
