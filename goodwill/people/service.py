"""The people service: who spoke, how they stand, what the team did with them.

Every method takes the workspace it acts for and filters on it, as ``Repository`` does; the CLI,
the web pages and the API call this and never write their own queries. Reads first bring the
workspace's people up to date (``sync``: only what is new since the last call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from goodwill.people.advocacy import advocate_score
from goodwill.people.standing import STANDINGS, StandingRule, recovered
from goodwill.people.sync import (
    SyncReport,
    facts_from_json,
    person_posts,
    recompute,
    sync_people,
)
from goodwill.settings import Settings
from goodwill.store.db import writer
from goodwill.store.inbox_tables import Conversation
from goodwill.store.people_tables import (
    DetractorCase,
    NurtureEntry,
    Person,
    PersonIdentity,
    PersonLabel,
    PersonNote,
)
from goodwill.store.repository import NotFound, Repository, StoreError
from goodwill.store.tables import Post, utcnow

__all__ = [
    "CASE_STEPS",
    "LIST_FILTERS",
    "NURTURE_ACTIONS",
    "ROLES",
    "CaseView",
    "People",
    "PeopleError",
    "PersonView",
    "Suggestion",
    "TimelineItem",
]

ROLES = (
    "customer",
    "prospect",
    "employee",
    "partner",
    "stakeholder",
    "potential talent",
    "referral source",
    "friend",
)
NURTURE_ACTIONS = ("thanked", "gift sent", "met", "other")
CASE_STEPS = ("open", "contacted", "resolved")
LIST_FILTERS = ("advocate", "rising", *STANDINGS)
MAX_TEXT = 5000


class PeopleError(StoreError):
    """A request the people service refuses, with a message fit for the user."""


@dataclass(slots=True)
class PersonView:
    id: int
    name: str
    standing: str
    standing_score: float
    advocate: bool
    advocate_score: float
    rising_gain: float
    mentions: int
    followers: int | None
    last_post_at: datetime | None
    last_contact_at: datetime | None
    identities: list[dict[str, Any]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    breakdown: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "standing": self.standing,
            "standing_score": self.standing_score,
            "advocate": self.advocate,
            "advocate_score": self.advocate_score,
            "rising_gain": self.rising_gain,
            "mentions": self.mentions,
            "followers": self.followers,
            "last_post_at": _iso(self.last_post_at),
            "last_contact_at": _iso(self.last_contact_at),
            "identities": self.identities,
            "roles": self.roles,
            "tags": self.tags,
            "standing_why": (self.breakdown.get("standing") or {}).get("why"),
            "advocate_parts": self.breakdown.get("parts", {}),
        }


@dataclass(slots=True)
class CaseView:
    id: int
    status: str
    opened_at: datetime
    opened_by: str
    contacted_at: datetime | None
    contacted_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str
    recovered: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "opened_at": _iso(self.opened_at),
            "opened_by": self.opened_by,
            "contacted_at": _iso(self.contacted_at),
            "contacted_by": self.contacted_by,
            "resolved_at": _iso(self.resolved_at),
            "resolved_by": self.resolved_by,
            "note": self.note,
            "recovered": self.recovered,
        }


@dataclass(slots=True)
class TimelineItem:
    at: datetime
    kind: str
    """mention, reply, post, repost, conversation, note, nurture, case."""
    text: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "kind": self.kind, "text": self.text, **self.detail}


@dataclass(slots=True)
class Suggestion:
    person_id: int
    name: str
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "name": self.name, "reasons": self.reasons}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _clean(text: str, what: str, limit: int = MAX_TEXT) -> str:
    text = text.strip()
    if not text:
        raise PeopleError(f"{what} is empty")
    if len(text) > limit:
        raise PeopleError(f"{what} is longer than {limit} characters")
    return text


class People:
    """People of one install; every method names the workspace it acts for."""

    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.engine = repo.engine
        self.settings = settings
        self.rule = StandingRule(
            half_life_days=settings.people_half_life_days,
            min_posts=settings.people_min_posts,
            threshold=settings.people_standing_threshold,
        )

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- building -------------------------------------------------------------------------------
    def sync(self, workspace_id: int, *, now: datetime | None = None) -> SyncReport:
        """Create people for new authors and recompute those whose posts or labels changed."""
        return sync_people(
            self.engine,
            workspace_id,
            self.rule,
            now=now,
            rising_days=self.settings.people_rising_days,
            advocate_min=self.settings.people_advocate_score,
        )

    def recompute(
        self, workspace_id: int, person_ids: Sequence[int], *, now: datetime | None = None
    ) -> None:
        recompute(
            self.engine,
            workspace_id,
            person_ids,
            self.rule,
            now=now,
            rising_days=self.settings.people_rising_days,
            advocate_min=self.settings.people_advocate_score,
        )

    # -- reading --------------------------------------------------------------------------------
    def _person(self, s: Session, workspace_id: int, person_id: int) -> Person:
        person = s.scalar(
            select(Person).where(Person.id == person_id, Person.workspace_id == workspace_id)
        )
        if person is None:
            raise NotFound(f"no person {person_id} in this workspace")
        return person

    def _gain(self, person: Person, now: datetime) -> float:
        facts = facts_from_json((person.advocate_breakdown or {}).get("facts") or {})
        days = timedelta(days=self.settings.people_rising_days)
        before = float(advocate_score(facts, until=now - days)["score"])
        return round(person.advocate_score - before, 2)

    def _views(
        self, s: Session, workspace_id: int, people: Sequence[Person], now: datetime
    ) -> list[PersonView]:
        ids = [p.id for p in people]
        idents: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        labels: dict[int, dict[str, list[str]]] = {i: {"role": [], "tag": []} for i in ids}
        if ids:
            for ident in s.scalars(
                select(PersonIdentity)
                .where(
                    PersonIdentity.workspace_id == workspace_id,
                    PersonIdentity.person_id.in_(ids),
                )
                .order_by(PersonIdentity.id)
            ):
                idents[ident.person_id].append(
                    {
                        "id": ident.id,
                        "source": ident.source,
                        "author_id": ident.author_id,
                        "handle": ident.handle,
                        "name": ident.name,
                        "profile_url": ident.profile_url,
                        "links": ident.links,
                        "followers": ident.followers,
                    }
                )
            for label in s.scalars(
                select(PersonLabel)
                .where(PersonLabel.workspace_id == workspace_id, PersonLabel.person_id.in_(ids))
                .order_by(PersonLabel.value)
            ):
                labels[label.person_id].setdefault(label.kind, []).append(label.value)
        return [
            PersonView(
                id=p.id,
                name=p.name,
                standing=p.standing,
                standing_score=p.standing_score,
                advocate=p.is_advocate,
                advocate_score=p.advocate_score,
                rising_gain=self._gain(p, now),
                mentions=p.mentions,
                followers=p.followers,
                last_post_at=p.last_post_at,
                last_contact_at=p.last_contact_at,
                identities=idents[p.id],
                roles=labels[p.id]["role"],
                tags=labels[p.id]["tag"],
                breakdown=p.advocate_breakdown or {},
            )
            for p in people
        ]

    def list_people(
        self,
        workspace_id: int,
        *,
        standing: str | None = None,
        role: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
        now: datetime | None = None,
    ) -> tuple[list[PersonView], int]:
        """A page of people and how many match. ``standing``: promoter, neutral, detractor,
        advocate (score at least the setting, not a detractor) or rising (score gained over
        the last ``people_rising_days``, biggest gain first)."""
        now = now or utcnow()
        if standing is not None and standing not in LIST_FILTERS:
            raise PeopleError(f"unknown standing {standing!r} (use {', '.join(LIST_FILTERS)})")
        self.sync(workspace_id, now=now)
        conds: list[Any] = [Person.workspace_id == workspace_id]
        if standing in STANDINGS:
            conds.append(Person.standing == standing)
        elif standing == "advocate":
            conds.append(Person.is_advocate.is_(True))
        elif standing == "rising":
            conds.append(Person.standing != "detractor")
            conds.append(Person.advocate_score > 0)
        for kind, value in (("role", role), ("tag", tag)):
            if value:
                conds.append(
                    Person.id.in_(
                        select(PersonLabel.person_id).where(
                            PersonLabel.workspace_id == workspace_id,
                            PersonLabel.kind == kind,
                            PersonLabel.value == value.strip().lower(),
                        )
                    )
                )
        if search and search.strip():
            like = f"%{search.strip().lower()}%"
            conds.append(
                or_(
                    func.lower(Person.name).like(like),
                    Person.id.in_(
                        select(PersonIdentity.person_id).where(
                            PersonIdentity.workspace_id == workspace_id,
                            func.lower(PersonIdentity.handle).like(like),
                        )
                    ),
                )
            )
        with self.session() as s:
            total = int(s.scalar(select(func.count()).select_from(Person).where(*conds)) or 0)
            if standing == "rising":
                # The gain depends on today's date, so it is computed here from the stored facts.
                candidates = list(s.scalars(select(Person).where(*conds)))
                gains = {p.id: self._gain(p, now) for p in candidates}
                rising = sorted(
                    (p for p in candidates if gains[p.id] > 0),
                    key=lambda p: (-gains[p.id], p.id),
                )
                return self._views(s, workspace_id, rising[offset : offset + limit], now), len(
                    rising
                )
            order = (
                [Person.advocate_score.desc(), Person.id]
                if standing == "advocate"
                else [Person.last_post_at.desc(), Person.id.desc()]
            )
            people = list(
                s.scalars(select(Person).where(*conds).order_by(*order).limit(limit).offset(offset))
            )
            return self._views(s, workspace_id, people, now), total

    def view(self, workspace_id: int, person_id: int, *, now: datetime | None = None) -> PersonView:
        now = now or utcnow()
        self.sync(workspace_id, now=now)
        with self.session() as s:
            return self._views(s, workspace_id, [self._person(s, workspace_id, person_id)], now)[0]

    def person_of(self, workspace_id: int, source: str, author_id: str) -> int | None:
        """The person an author is linked to, if any."""
        self.sync(workspace_id)
        with self.session() as s:
            return s.scalar(
                select(PersonIdentity.person_id).where(
                    PersonIdentity.workspace_id == workspace_id,
                    PersonIdentity.source == source,
                    PersonIdentity.author_id == author_id,
                )
            )

    # -- merging --------------------------------------------------------------------------------
    def merge(self, workspace_id: int, into_id: int, other_id: int) -> None:
        """Link every identity of ``other_id`` to ``into_id``; notes, labels, nurture log and
        cases move with them, and ``other_id`` is gone."""
        with Session(writer(self.engine)) as s, s.begin():
            self._person(s, workspace_id, into_id)
            self._person(s, workspace_id, other_id)
            if into_id == other_id:
                raise PeopleError("a person cannot be merged with themselves")
            for table in (PersonIdentity, PersonNote, NurtureEntry, DetractorCase):
                s.execute(
                    update(table)
                    .where(table.workspace_id == workspace_id, table.person_id == other_id)
                    .values(person_id=into_id)
                )
            have = {
                (lbl.kind, lbl.value)
                for lbl in s.scalars(select(PersonLabel).where(PersonLabel.person_id == into_id))
            }
            for label in s.scalars(select(PersonLabel).where(PersonLabel.person_id == other_id)):
                if (label.kind, label.value) not in have:
                    s.add(
                        PersonLabel(
                            person_id=into_id,
                            kind=label.kind,
                            value=label.value,
                            workspace_id=workspace_id,
                        )
                    )
            s.execute(delete(Person).where(Person.id == other_id))
        self.recompute(workspace_id, [into_id])

    def unmerge(self, workspace_id: int, identity_id: int) -> int:
        """Split one identity off into a person of its own; the new person's id."""
        with Session(writer(self.engine)) as s, s.begin():
            ident = s.scalar(
                select(PersonIdentity).where(
                    PersonIdentity.id == identity_id, PersonIdentity.workspace_id == workspace_id
                )
            )
            if ident is None:
                raise NotFound(f"no identity {identity_id} in this workspace")
            old = ident.person_id
            left = s.scalar(
                select(func.count()).where(
                    PersonIdentity.person_id == old, PersonIdentity.id != identity_id
                )
            )
            if not left:
                raise PeopleError("this is the person's only identity: nothing to split off")
            person = Person(
                workspace_id=workspace_id, name=ident.name or ident.handle or ident.author_id
            )
            s.add(person)
            s.flush()
            ident.person_id = person.id
            new_id = person.id
        self.recompute(workspace_id, [old, new_id])
        return new_id

    def suggestions(self, workspace_id: int, person_id: int) -> list[Suggestion]:
        """Other people who may be the same: same display name, same profile address, or a
        profile or site that one's bio links to and the other's also names."""
        with self.session() as s:
            self._person(s, workspace_id, person_id)
            mine = list(
                s.scalars(
                    select(PersonIdentity).where(
                        PersonIdentity.workspace_id == workspace_id,
                        PersonIdentity.person_id == person_id,
                    )
                )
            )
            names = {i.name_key for i in mine if i.name_key}
            urls = {i.profile_url for i in mine if i.profile_url}
            links = {link for i in mine for link in (i.links or [])}
            reasons: dict[int, list[str]] = {}

            def add(pid: int, reason: str) -> None:
                found = reasons.setdefault(pid, [])
                if reason not in found:
                    found.append(reason)

            others = PersonIdentity.person_id != person_id
            base = PersonIdentity.workspace_id == workspace_id
            if names:
                for other in s.scalars(
                    select(PersonIdentity).where(
                        base, others, PersonIdentity.name_key.in_(sorted(names))
                    )
                ):
                    add(other.person_id, f"same name: {other.name}")
            if urls | links:
                for other in s.scalars(
                    select(PersonIdentity).where(
                        base, others, PersonIdentity.profile_url.in_(sorted(urls | links))
                    )
                ):
                    why = (
                        "same profile address"
                        if other.profile_url in urls
                        else "their profile is linked from this person's bio"
                    )
                    add(other.person_id, f"{why}: {other.profile_url}")
            # Bio links are a JSON list: compared here, over the identities that have any.
            for other in s.scalars(
                select(PersonIdentity).where(base, others, PersonIdentity.profile_url.is_not(None))
                if not links and not urls
                else select(PersonIdentity).where(base, others)
            ):
                theirs = set(other.links or [])
                for url in sorted(urls & theirs):
                    add(other.person_id, f"their bio links to this person's profile: {url}")
                for link in sorted(links & theirs):
                    add(other.person_id, f"both bios link to {link}")
            if not reasons:
                return []
            people = {
                p.id: p.name
                for p in s.scalars(
                    select(Person).where(
                        Person.workspace_id == workspace_id, Person.id.in_(list(reasons))
                    )
                )
            }
        return [Suggestion(pid, people[pid], why) for pid, why in sorted(reasons.items())]

    # -- labels and notes -----------------------------------------------------------------------
    def label(self, workspace_id: int, person_id: int, value: str, *, remove: bool = False) -> str:
        """Add (or remove) a role, when ``value`` is one of ``ROLES``, else a free tag."""
        value = _clean(value, "a tag", 100).lower()
        kind = "role" if value in ROLES else "tag"
        with Session(writer(self.engine)) as s, s.begin():
            self._person(s, workspace_id, person_id)
            existing = s.get(PersonLabel, (person_id, kind, value))
            if remove:
                if existing is None:
                    raise NotFound(f"person {person_id} has no {kind} {value!r}")
                s.delete(existing)
            elif existing is None:
                s.add(
                    PersonLabel(
                        person_id=person_id, kind=kind, value=value, workspace_id=workspace_id
                    )
                )
        return kind

    def add_note(self, workspace_id: int, person_id: int, author: str, text: str) -> PersonNote:
        note = PersonNote(
            workspace_id=workspace_id,
            person_id=person_id,
            author=author,
            text=_clean(text, "the note"),
        )
        with Session(writer(self.engine), expire_on_commit=False) as s, s.begin():
            self._person(s, workspace_id, person_id)
            s.add(note)
        return note

    def notes(self, workspace_id: int, person_id: int) -> list[PersonNote]:
        with self.session() as s:
            self._person(s, workspace_id, person_id)
            return list(
                s.scalars(
                    select(PersonNote)
                    .where(
                        PersonNote.workspace_id == workspace_id, PersonNote.person_id == person_id
                    )
                    .order_by(PersonNote.created_at, PersonNote.id)
                )
            )

    # -- nurture --------------------------------------------------------------------------------
    def log_nurture(
        self,
        workspace_id: int,
        person_id: int,
        action: str,
        who: str,
        note: str = "",
        *,
        at: datetime | None = None,
    ) -> NurtureEntry:
        if action not in NURTURE_ACTIONS:
            raise PeopleError(f"unknown action {action!r} (use {', '.join(NURTURE_ACTIONS)})")
        if len(note) > MAX_TEXT:
            raise PeopleError(f"the note is longer than {MAX_TEXT} characters")
        at = at or utcnow()
        entry = NurtureEntry(
            workspace_id=workspace_id,
            person_id=person_id,
            action=action,
            note=note.strip(),
            who=who,
            at=at,
        )
        with Session(writer(self.engine), expire_on_commit=False) as s, s.begin():
            person = self._person(s, workspace_id, person_id)
            s.add(entry)
            if person.last_contact_at is None or person.last_contact_at < at:
                person.last_contact_at = at
        return entry

    def nurture_log(self, workspace_id: int, person_id: int) -> list[NurtureEntry]:
        with self.session() as s:
            self._person(s, workspace_id, person_id)
            return list(
                s.scalars(
                    select(NurtureEntry)
                    .where(
                        NurtureEntry.workspace_id == workspace_id,
                        NurtureEntry.person_id == person_id,
                    )
                    .order_by(NurtureEntry.at, NurtureEntry.id)
                )
            )

    def reminders(
        self, workspace_id: int, *, now: datetime | None = None, limit: int = 100
    ) -> list[tuple[PersonView, int | None]]:
        """ "Really connect": advocates and people with a role whom nobody contacted for
        ``people_connect_days`` (or ever), with the days since the last contact."""
        now = now or utcnow()
        self.sync(workspace_id, now=now)
        cutoff = now - timedelta(days=self.settings.people_connect_days)
        with self.session() as s:
            has_role = select(PersonLabel.person_id).where(
                PersonLabel.workspace_id == workspace_id, PersonLabel.kind == "role"
            )
            people = list(
                s.scalars(
                    select(Person)
                    .where(
                        Person.workspace_id == workspace_id,
                        or_(Person.is_advocate.is_(True), Person.id.in_(has_role)),
                        or_(Person.last_contact_at.is_(None), Person.last_contact_at < cutoff),
                    )
                    .order_by(
                        Person.last_contact_at.is_not(None), Person.last_contact_at, Person.id
                    )
                    .limit(limit)
                )
            )
            views = self._views(s, workspace_id, people, now)
        return [
            (v, None if v.last_contact_at is None else (now - v.last_contact_at).days)
            for v in views
        ]

    # -- detractor cases ------------------------------------------------------------------------
    def cases(self, workspace_id: int, person_id: int) -> list[CaseView]:
        with self.session() as s:
            self._person(s, workspace_id, person_id)
            rows = list(
                s.scalars(
                    select(DetractorCase)
                    .where(
                        DetractorCase.workspace_id == workspace_id,
                        DetractorCase.person_id == person_id,
                    )
                    .order_by(DetractorCase.id)
                )
            )
            labels: list[tuple[datetime, str | None]] = []
            if any(c.resolved_at for c in rows):
                idents = s.execute(
                    select(PersonIdentity.source, PersonIdentity.author_id).where(
                        PersonIdentity.workspace_id == workspace_id,
                        PersonIdentity.person_id == person_id,
                    )
                ).all()
                posts = person_posts(
                    s.connection(), workspace_id, [(person_id, a, b) for a, b in idents]
                )
                labels = [
                    (p.created_at, p.sentiment)
                    for p in posts.get(person_id, [])
                    if p.duplicate_of is None
                ]
        return [
            CaseView(
                c.id,
                c.status,
                c.opened_at,
                c.opened_by,
                c.contacted_at,
                c.contacted_by,
                c.resolved_at,
                c.resolved_by,
                c.note,
                recovered(labels, c.resolved_at) if c.resolved_at is not None else None,
            )
            for c in rows
        ]

    def open_case(self, workspace_id: int, person_id: int, who: str, note: str = "") -> int:
        with Session(writer(self.engine)) as s, s.begin():
            self._person(s, workspace_id, person_id)
            busy = s.scalar(
                select(DetractorCase.id).where(
                    DetractorCase.workspace_id == workspace_id,
                    DetractorCase.person_id == person_id,
                    DetractorCase.status != "resolved",
                )
            )
            if busy is not None:
                raise PeopleError(f"person {person_id} has case {busy} under way already")
            case = DetractorCase(
                workspace_id=workspace_id,
                person_id=person_id,
                status="open",
                opened_at=utcnow(),
                opened_by=who,
                note=note.strip()[:MAX_TEXT],
            )
            s.add(case)
            s.flush()
            return case.id

    def advance_case(
        self, workspace_id: int, case_id: int, status: str, who: str, *, at: datetime | None = None
    ) -> None:
        """Move a case forward: open → contacted → resolved (contacting may be skipped)."""
        if status not in ("contacted", "resolved"):
            raise PeopleError("a case moves to contacted or resolved")
        at = at or utcnow()
        with Session(writer(self.engine)) as s, s.begin():
            case = s.scalar(
                select(DetractorCase).where(
                    DetractorCase.id == case_id, DetractorCase.workspace_id == workspace_id
                )
            )
            if case is None:
                raise NotFound(f"no detractor case {case_id} in this workspace")
            if CASE_STEPS.index(status) <= CASE_STEPS.index(case.status):
                raise PeopleError(f"case {case_id} is {case.status} already")
            if status == "contacted":
                case.contacted_at, case.contacted_by = at, who
            else:
                case.resolved_at, case.resolved_by = at, who
            case.status = status
            person = s.get_one(Person, case.person_id)
            if status == "contacted" and (
                person.last_contact_at is None or person.last_contact_at < at
            ):
                person.last_contact_at = at

    # -- timeline -------------------------------------------------------------------------------
    def timeline(
        self, workspace_id: int, person_id: int, *, limit: int = 500
    ) -> list[TimelineItem]:
        """Everything about a person in time order, newest first: their posts (mentions,
        replies, reposts), the conversations they started, notes, nurture log, cases."""
        items: list[TimelineItem] = []
        with self.session() as s:
            self._person(s, workspace_id, person_id)
            idents = s.execute(
                select(PersonIdentity.source, PersonIdentity.author_id).where(
                    PersonIdentity.workspace_id == workspace_id,
                    PersonIdentity.person_id == person_id,
                )
            ).all()
            posts = person_posts(
                s.connection(), workspace_id, [(person_id, a, b) for a, b in idents]
            ).get(person_id, [])[-limit:]
            full = {
                p.id: p
                for p in s.scalars(
                    select(Post).where(
                        Post.workspace_id == workspace_id, Post.id.in_([p.id for p in posts])
                    )
                )
            }
            for p in posts:
                post = full[p.id]
                kind = (
                    "repost"
                    if p.duplicate_of is not None
                    else "reply"
                    if p.in_reply_to
                    else "mention"
                    if p.mentioned
                    else "post"
                )
                items.append(
                    TimelineItem(
                        p.created_at,
                        kind,
                        post.text,
                        {
                            "post_id": p.id,
                            "source": p.source,
                            "url": post.url,
                            "sentiment": p.sentiment,
                            "handle": post.author_handle,
                        },
                    )
                )
            if posts:
                for c in s.scalars(
                    select(Conversation).where(
                        Conversation.workspace_id == workspace_id,
                        Conversation.root_post_id.in_([p.id for p in posts]),
                    )
                ):
                    items.append(
                        TimelineItem(
                            c.opened_at,
                            "conversation",
                            c.preview,
                            {
                                "conversation_id": c.id,
                                "status": c.status or ("done" if not c.needs_answer else "open"),
                                "posts": c.post_count,
                                "first_response_at": _iso(c.first_response_at),
                            },
                        )
                    )
            for note in s.scalars(
                select(PersonNote).where(
                    PersonNote.workspace_id == workspace_id, PersonNote.person_id == person_id
                )
            ):
                items.append(TimelineItem(note.created_at, "note", note.text, {"by": note.author}))
            for entry in s.scalars(
                select(NurtureEntry).where(
                    NurtureEntry.workspace_id == workspace_id,
                    NurtureEntry.person_id == person_id,
                )
            ):
                items.append(
                    TimelineItem(
                        entry.at, "nurture", entry.note, {"action": entry.action, "by": entry.who}
                    )
                )
            for case in s.scalars(
                select(DetractorCase).where(
                    DetractorCase.workspace_id == workspace_id,
                    DetractorCase.person_id == person_id,
                )
            ):
                for at, step, by in (
                    (case.opened_at, "opened", case.opened_by),
                    (case.contacted_at, "contacted", case.contacted_by),
                    (case.resolved_at, "resolved", case.resolved_by),
                ):
                    if at is not None:
                        items.append(
                            TimelineItem(
                                at,
                                "case",
                                f"detractor case {step}",
                                {"case_id": case.id, "step": step, "by": by},
                            )
                        )
        items.sort(key=lambda i: i.at, reverse=True)
        return items
