"""People pages: the list (by standing, role, tag, search) and a person's profile, with the
forms that record what the team did (nurture log, detractor case steps, labels, notes, merge)
and the privacy actions (export, forget after a confirmation page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from goodwill.people import LIST_FILTERS, NURTURE_ACTIONS, ROLES, People
from goodwill.people.privacy import export_person, forget_person
from goodwill.store.accounts import Role
from goodwill.store.repository import NotFound, StoreError
from goodwill.web.deps import Access, ctx, page_access, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PAGE = 50


def _people(request: Request) -> People:
    c = ctx(request)
    return People(c.repo, c.settings)


def _refused(exc: StoreError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, NotFound) else 422, str(exc))


def _back(access: Access, person_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/w/{access.workspace.id}/people/{person_id}{anchor}", status_code=303)


@router.get("/w/{workspace_id}/people")
def people_list(
    request: Request,
    access: Annotated[Access, Depends(page_access())],
    standing: str = "",
    role: str = "",
    tag: str = "",
    q: str = "",
    offset: int = 0,
    forgotten: str = "",
) -> Response:
    people = _people(request)
    ws = access.workspace.id
    try:
        views, total = people.list_people(
            ws,
            standing=standing or None,
            role=role or None,
            tag=tag or None,
            search=q[:200] or None,
            limit=PAGE,
            offset=max(offset, 0),
        )
    except StoreError as exc:
        raise _refused(exc) from None
    filters = {"standing": standing, "role": role, "tag": tag, "q": q}
    kept = {k: v for k, v in filters.items() if v}
    more = offset + len(views) < total
    context: dict[str, Any] = {
        "views": views,
        "total": total,
        "f": filters,
        "standings": LIST_FILTERS,
        "roles": ROLES,
        "next_url": "?" + urlencode({**kept, "offset": offset + len(views)}) if more else None,
        "reminders": people.reminders(ws, limit=10),
        "connect_days": ctx(request).settings.people_connect_days,
        "forgotten": bool(forgotten),
    }
    return render(request, "people.html", context, access=access)


@router.get("/w/{workspace_id}/people/{person_id}")
def person_page(
    request: Request, person_id: int, access: Annotated[Access, Depends(page_access())]
) -> Response:
    people = _people(request)
    ws = access.workspace.id
    try:
        view = people.view(ws, person_id)
        context: dict[str, Any] = {
            "p": view,
            "cases": people.cases(ws, person_id),
            "suggestions": people.suggestions(ws, person_id),
            "timeline": people.timeline(ws, person_id, limit=200),
            "actions": NURTURE_ACTIONS,
            "roles": ROLES,
            "can_edit": access.role.allows(Role.RESPONDER),
            "can_forget": access.role.allows(Role.ADMIN),
            "advocate_threshold": ctx(request).settings.people_advocate_score,
        }
    except StoreError as exc:
        raise _refused(exc) from None
    return render(request, "person.html", context, access=access)


@router.post("/w/{workspace_id}/people/{person_id}/nurture")
def nurture(
    request: Request,
    person_id: int,
    action: Annotated[str, Form(max_length=16)],
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        _people(request).log_nurture(
            access.workspace.id, person_id, action, access.user.email, note
        )
    except StoreError as exc:
        raise _refused(exc) from None
    return _back(access, person_id, "#nurture")


@router.post("/w/{workspace_id}/people/{person_id}/notes")
def note(
    request: Request,
    person_id: int,
    text: Annotated[str, Form(max_length=5000)],
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
) -> Response:
    try:
        _people(request).add_note(access.workspace.id, person_id, access.user.email, text)
    except StoreError as exc:
        raise _refused(exc) from None
    return _back(access, person_id, "#timeline")


@router.post("/w/{workspace_id}/people/{person_id}/labels")
def label(
    request: Request,
    person_id: int,
    label: Annotated[str, Form(max_length=100)],
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
    remove: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        _people(request).label(access.workspace.id, person_id, label, remove=bool(remove))
    except StoreError as exc:
        raise _refused(exc) from None
    return _back(access, person_id)


@router.post("/w/{workspace_id}/people/{person_id}/cases")
def open_case(
    request: Request,
    person_id: int,
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        _people(request).open_case(access.workspace.id, person_id, access.user.email, note)
    except StoreError as exc:
        raise _refused(exc) from None
    return _back(access, person_id, "#cases")


@router.post("/w/{workspace_id}/people/{person_id}/cases/{case_id}")
def advance_case(
    request: Request,
    person_id: int,
    case_id: int,
    status: Annotated[str, Form(max_length=16)],
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
) -> Response:
    people = _people(request)
    ws = access.workspace.id
    try:
        if case_id not in {c.id for c in people.cases(ws, person_id)}:
            raise NotFound(f"person {person_id} has no case {case_id}")
        people.advance_case(ws, case_id, status, access.user.email)
    except StoreError as exc:
        raise _refused(exc) from None
    return _back(access, person_id, "#cases")


@router.post("/w/{workspace_id}/people/{person_id}/merge")
def merge(
    request: Request,
    person_id: int,
    other_id: Annotated[int, Form()],
    access: Annotated[Access, Depends(page_access(Role.RESPONDER))],
) -> Response:
    try:
        _people(request).merge(access.workspace.id, person_id, other_id)
    except StoreError as exc:
        raise _refused(exc) from None
    return _back(access, person_id)


@router.get("/w/{workspace_id}/people/{person_id}/export.json")
def export(
    request: Request, person_id: int, access: Annotated[Access, Depends(page_access())]
) -> Response:
    try:
        data = export_person(_people(request), access.workspace.id, person_id)
    except StoreError as exc:
        raise _refused(exc) from None
    return Response(
        orjson.dumps(data, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="person-{person_id}.json"'},
    )


@router.get("/w/{workspace_id}/people/{person_id}/forget")
def forget_confirm(
    request: Request, person_id: int, access: Annotated[Access, Depends(page_access(Role.ADMIN))]
) -> Response:
    try:
        view = _people(request).view(access.workspace.id, person_id)
    except StoreError as exc:
        raise _refused(exc) from None
    return render(request, "person_forget.html", {"p": view}, access=access)


@router.post("/w/{workspace_id}/people/{person_id}/forget")
def forget(
    request: Request,
    person_id: int,
    access: Annotated[Access, Depends(page_access(Role.ADMIN))],
    confirm: Annotated[str, Form(max_length=600)] = "",
) -> Response:
    """Forget after the name was typed on the confirmation page (irreversible)."""
    people = _people(request)
    try:
        view = people.view(access.workspace.id, person_id)
        if confirm.strip() != view.name.strip():
            context = {"p": view, "error": "Type the person's name exactly to confirm."}
            return render(request, "person_forget.html", context, access=access, status_code=422)
        forget_person(people, access.workspace.id, person_id)
    except StoreError as exc:
        raise _refused(exc) from None
    return RedirectResponse(f"/w/{access.workspace.id}/people?forgotten=1", status_code=303)
