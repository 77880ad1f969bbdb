"""People: list and profile, labels, notes, nurture log, detractor cases, merging, privacy.

Reading needs a viewer; recording what the team did needs a responder; forgetting a person
(irreversible) needs an admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from goodwill.people import LIST_FILTERS, NURTURE_ACTIONS, People, PersonView
from goodwill.people.privacy import export_person, forget_person
from goodwill.store.accounts import Role
from goodwill.store.repository import NotFound, StoreError
from goodwill.web.deps import Access, api_access, ctx

__all__ = ["people_of", "router", "who"]

router = APIRouter(tags=["people"])
BASE = "/workspaces/{workspace_id}/people"


def people_of(request: Request) -> People:
    c = ctx(request)
    return People(c.repo, c.settings)


def who(access: Access) -> str:
    return access.user.email


def _refused(exc: StoreError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, NotFound) else 422, str(exc))


class IdentityOut(BaseModel):
    id: int
    source: str
    author_id: str
    handle: str | None
    name: str | None
    profile_url: str | None
    links: list[str]
    followers: int | None


class PersonOut(BaseModel):
    id: int
    name: str
    standing: str = Field(description="promoter, neutral or detractor (docs/people.md)")
    standing_score: float
    standing_why: str | None
    advocate: bool
    advocate_score: float
    advocate_parts: dict[str, Any] = Field(description="Each part's count and points.")
    rising_gain: float
    mentions: int
    followers: int | None
    last_post_at: str | None
    last_contact_at: str | None
    identities: list[IdentityOut]
    roles: list[str]
    tags: list[str]

    @classmethod
    def of(cls, view: PersonView) -> PersonOut:
        return cls.model_validate(view.as_dict())


class PersonPageOut(BaseModel):
    total: int
    items: list[PersonOut]
    next_offset: int | None = Field(description="Pass as ?offset= for the next page.")


class CaseOut(BaseModel):
    id: int
    status: str = Field(description="open, contacted or resolved")
    opened_at: str
    opened_by: str
    contacted_at: str | None
    contacted_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    note: str
    recovered: bool | None = Field(
        description="After resolution: did their sentiment turn neutral or positive (null: "
        "nothing said since)."
    )


class PersonDetailOut(BaseModel):
    person: PersonOut
    cases: list[CaseOut]
    suggestions: list[dict[str, Any]]
    timeline: list[dict[str, Any]]


class ReminderOut(BaseModel):
    person: PersonOut
    days_since_contact: int | None


class LabelIn(BaseModel):
    label: str = Field(max_length=100, description="A role (customer, prospect, …) or a tag.")
    remove: bool = False


class TextIn(BaseModel):
    text: str = Field(max_length=5000)


class NurtureIn(BaseModel):
    action: str = Field(description=", ".join(NURTURE_ACTIONS))
    note: str = Field(default="", max_length=5000)


class CaseIn(BaseModel):
    note: str = Field(default="", max_length=5000)


class CaseStepIn(BaseModel):
    status: str = Field(description="contacted or resolved")


class MergeIn(BaseModel):
    other_id: int = Field(description="The person merged into this one (then gone).")


@router.get(BASE, response_model=PersonPageOut)
def list_people(
    request: Request,
    access: Annotated[Access, Depends(api_access())],
    standing: Annotated[str | None, Query(description=", ".join(LIST_FILTERS))] = None,
    role: str | None = None,
    tag: str | None = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PersonPageOut:
    try:
        views, total = people_of(request).list_people(
            access.workspace.id,
            standing=standing,
            role=role,
            tag=tag,
            search=search,
            limit=limit,
            offset=offset,
        )
    except StoreError as exc:
        raise _refused(exc) from None
    more = offset + len(views) < total
    return PersonPageOut(
        total=total,
        items=[PersonOut.of(v) for v in views],
        next_offset=offset + len(views) if more else None,
    )


@router.get(f"{BASE}/reminders", response_model=list[ReminderOut])
def reminders(
    request: Request, access: Annotated[Access, Depends(api_access())]
) -> list[ReminderOut]:
    """ "Really connect": advocates and people with a role nobody contacted for a while."""
    due = people_of(request).reminders(access.workspace.id)
    return [ReminderOut(person=PersonOut.of(v), days_since_contact=d) for v, d in due]


@router.get(BASE + "/{person_id}", response_model=PersonDetailOut)
def get_person(
    request: Request, person_id: int, access: Annotated[Access, Depends(api_access())]
) -> PersonDetailOut:
    people = people_of(request)
    ws = access.workspace.id
    try:
        return PersonDetailOut(
            person=PersonOut.of(people.view(ws, person_id)),
            cases=[CaseOut.model_validate(c.as_dict()) for c in people.cases(ws, person_id)],
            suggestions=[s.as_dict() for s in people.suggestions(ws, person_id)],
            timeline=[i.as_dict() for i in people.timeline(ws, person_id, limit=200)],
        )
    except StoreError as exc:
        raise _refused(exc) from None


@router.get(BASE + "/{person_id}/export")
def export(
    request: Request, person_id: int, access: Annotated[Access, Depends(api_access())]
) -> dict[str, Any]:
    """Everything stored about the person (a data subject's access request)."""
    try:
        return export_person(people_of(request), access.workspace.id, person_id)
    except StoreError as exc:
        raise _refused(exc) from None


@router.delete(BASE + "/{person_id}")
def forget(
    request: Request, person_id: int, access: Annotated[Access, Depends(api_access(Role.ADMIN))]
) -> dict[str, int]:
    """Forget the person: posts and profile deleted or anonymised, and kept from coming back."""
    try:
        report = forget_person(people_of(request), access.workspace.id, person_id)
    except StoreError as exc:
        raise _refused(exc) from None
    return report.as_dict()


@router.post(BASE + "/{person_id}/labels", status_code=201)
def label(
    request: Request,
    person_id: int,
    body: LabelIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> dict[str, str]:
    try:
        kind = people_of(request).label(
            access.workspace.id, person_id, body.label, remove=body.remove
        )
    except StoreError as exc:
        raise _refused(exc) from None
    return {"kind": kind, "value": body.label.strip().lower()}


@router.post(BASE + "/{person_id}/notes", status_code=201)
def note(
    request: Request,
    person_id: int,
    body: TextIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> dict[str, Any]:
    try:
        row = people_of(request).add_note(access.workspace.id, person_id, who(access), body.text)
    except StoreError as exc:
        raise _refused(exc) from None
    return {"id": row.id, "by": row.author, "at": row.created_at.isoformat()}


@router.post(BASE + "/{person_id}/nurture", status_code=201)
def nurture(
    request: Request,
    person_id: int,
    body: NurtureIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> dict[str, Any]:
    try:
        row = people_of(request).log_nurture(
            access.workspace.id, person_id, body.action, who(access), body.note
        )
    except StoreError as exc:
        raise _refused(exc) from None
    return {"id": row.id, "action": row.action, "by": row.who, "at": row.at.isoformat()}


@router.post(BASE + "/{person_id}/cases", status_code=201)
def open_case(
    request: Request,
    person_id: int,
    body: CaseIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> dict[str, int]:
    try:
        case_id = people_of(request).open_case(
            access.workspace.id, person_id, who(access), body.note
        )
    except StoreError as exc:
        raise _refused(exc) from None
    return {"id": case_id}


@router.post(BASE + "/{person_id}/cases/{case_id}")
def advance_case(
    request: Request,
    person_id: int,
    case_id: int,
    body: CaseStepIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> dict[str, Any]:
    """Move a detractor case to contacted or resolved."""
    people = people_of(request)
    ws = access.workspace.id
    try:
        if case_id not in {c.id for c in people.cases(ws, person_id)}:
            raise NotFound(f"person {person_id} has no case {case_id}")
        people.advance_case(ws, case_id, body.status, who(access))
        case = next(c for c in people.cases(ws, person_id) if c.id == case_id)
    except StoreError as exc:
        raise _refused(exc) from None
    return case.as_dict()


@router.post(BASE + "/{person_id}/merge")
def merge(
    request: Request,
    person_id: int,
    body: MergeIn,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> PersonOut:
    """Merge another person into this one: their identities, notes, log and cases move here."""
    people = people_of(request)
    try:
        people.merge(access.workspace.id, person_id, body.other_id)
        return PersonOut.of(people.view(access.workspace.id, person_id))
    except StoreError as exc:
        raise _refused(exc) from None


@router.post(BASE + "/{person_id}/identities/{identity_id}/unmerge")
def unmerge(
    request: Request,
    person_id: int,
    identity_id: int,
    access: Annotated[Access, Depends(api_access(Role.RESPONDER))],
) -> PersonOut:
    """Split one identity off into a person of its own; answers the new person."""
    people = people_of(request)
    ws = access.workspace.id
    try:
        if identity_id not in {i["id"] for i in people.view(ws, person_id).identities}:
            raise NotFound(f"person {person_id} has no identity {identity_id}")
        return PersonOut.of(people.view(ws, people.unmerge(ws, identity_id)))
    except StoreError as exc:
        raise _refused(exc) from None
