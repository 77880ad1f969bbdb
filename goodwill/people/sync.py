"""Building people from stored posts, incrementally, and recomputing what is derived.

A person appears the first time one of their posts mentions the workspace's topics. ``sync``
reads only what is new since its last run: posts above the workspace's post watermark and
corrections above its correction watermark (``people_state``), a page at a time, so a million
stored posts are read once, not on every call. Only the people those rows touch are recomputed,
from their own posts (found through the ``ix_posts_workspace_author`` index).

Which posts are "new" (``goodwill.store.commit_order``, shared with alert rules). SQLite has
one writer at a time, so ids become visible in order and the watermark is a post id: every id up
to the newest one in the workspace has committed when the sync looks, so nothing needs to be
read twice. On PostgreSQL ids come from a sequence but transactions commit in any order, so the
watermark is in commit order (``people_state.last_xact``): a sync reads only posts stored by
transactions older than the oldest one still running, which can never change again. A batch
whose transaction stays open is absorbed when it commits, however long that takes, and a sync
never reads the same post twice. (Before, the id watermark only moved past posts stored 30 s
ago: every sync read the last 30 s of posts again, and a batch open longer than that while later
ids were read was never absorbed.) The price: a long write transaction anywhere on the server
delays people, and the alert rules on advocates and detractors, until it ends; never drops.

Two syncs at once (workers, the listener and ``goodwill people sync``) may read the same posts:
absorbing is idempotent (identities are unique per author; a second creation fails and the page
is absorbed again), counts and standing are recomputed from the person's stored posts rather than
incremented, ``recompute`` locks the people it rewrites so a detractor case is opened once, and
the watermark only moves forward.

People whose posts were deleted at their source are queued by the writer (``people_stale``)
and recomputed here too.

Limits, on purpose: a post edited in place keeps its id and is not read again until another
post or a correction touches its author; ``recompute`` does it on demand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from goodwill.people.advocacy import AdvocateFacts, advocate_score
from goodwill.people.profiles import name_key, profile_of
from goodwill.people.standing import StandingRule, standing_of
from goodwill.store.commit_order import Watermark, horizon, next_page, read_frontier
from goodwill.store.db import writer
from goodwill.store.deletion_tables import StalePerson
from goodwill.store.inbox_tables import Conversation
from goodwill.store.people_tables import (
    DetractorCase,
    NurtureEntry,
    PeopleState,
    Person,
    PersonIdentity,
)
from goodwill.store.tables import Correction, Mention, Post, utcnow

__all__ = ["PAGE", "PersonPost", "SyncReport", "person_posts", "recompute", "sync_people"]

PAGE = 5000
_CHUNK = 500
FACTS_KEPT = 200
"""Event times kept per kind in ``advocate_breakdown`` (enough for the capped parts)."""
AUTO = "goodwill (standing)"


@dataclass(slots=True)
class SyncReport:
    posts_read: int = 0
    people_created: int = 0
    people_recomputed: int = 0
    cases_opened: int = 0


@dataclass(slots=True)
class PersonPost:
    id: int
    external_id: str
    source: str
    author_id: str
    created_at: datetime
    sentiment: str | None
    in_reply_to: str | None
    conversation_id: str | None
    duplicate_of: int | None
    shares: int | None
    mentioned: bool


def _sentiment(analysis: Any) -> str | None:
    value = (analysis or {}).get("sentiment")
    if isinstance(value, dict):
        label = value.get("label")
        return label if isinstance(label, str) else None
    return value if isinstance(value, str) else None


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _state(conn: Connection, workspace_id: int) -> tuple[Watermark, Watermark]:
    """The workspace's post watermark and correction watermark (created at 0 the first time).
    Both are ``commit_order`` watermarks: ids on SQLite, transactions on PostgreSQL."""
    row = conn.execute(
        select(
            PeopleState.last_post_id,
            PeopleState.last_xact,
            PeopleState.last_correction_id,
            PeopleState.last_correction_xact,
        ).where(PeopleState.workspace_id == workspace_id)
    ).first()
    if row is None:
        conn.execute(insert(PeopleState).values(workspace_id=workspace_id))
        return Watermark(0, 0), Watermark(0, 0)
    return Watermark(int(row[0]), int(row[1])), Watermark(int(row[2]), int(row[3]))


def _new_corrections(
    conn: Connection, workspace_id: int, fix: Watermark
) -> tuple[list[Any], Watermark]:
    """Corrections past ``fix`` with their post's author, and the watermark once read.

    SQLite: by id (one writer at a time). PostgreSQL: in commit order, like posts
    (``goodwill.store.commit_order``): those of transactions below the oldest one still running,
    so a correction whose transaction commits after a later one was read is still found; those
    stored before migration 0019 (no transaction id) by id. Corrections are few: no paging."""
    q = (
        select(Correction.id, Correction.stored_xact, Post.source, Post.author_id)
        .join(Post, Post.id == Correction.post_id)
        .where(Correction.workspace_id == workspace_id)
        .order_by(Correction.id)
    )
    if conn.dialect.name != "postgresql":
        rows = list(conn.execute(q.where(Correction.id > fix.post_id)))
        return rows, Watermark(rows[-1].id if rows else fix.post_id, 0)
    below = horizon(conn)
    rows = list(
        conn.execute(
            q.where(
                or_(
                    and_(Correction.stored_xact.is_(None), Correction.id > fix.post_id),
                    and_(Correction.stored_xact >= fix.xact, Correction.stored_xact < below),
                )
            )
        )
    )
    by_id = [r.id for r in rows if r.stored_xact is None]
    return rows, Watermark(max([fix.post_id, *by_id]), max(fix.xact, below))


def _advance_corrections(conn: Connection, workspace_id: int, fix: Watermark) -> None:
    """Move the correction watermark to ``fix``, only forward (as ``_advance``)."""
    conn.execute(
        update(PeopleState)
        .where(
            PeopleState.workspace_id == workspace_id,
            or_(
                PeopleState.last_correction_xact < fix.xact,
                and_(
                    PeopleState.last_correction_xact == fix.xact,
                    PeopleState.last_correction_id < fix.post_id,
                ),
            ),
        )
        .values(last_correction_id=fix.post_id, last_correction_xact=fix.xact)
    )


def _advance(conn: Connection, workspace_id: int, mark: Watermark) -> None:
    """Move the post watermark to ``mark``, only forward: a sync that overlapped and finished
    first keeps its progress. Marks grow as ``(xact, post_id)`` (by id while ``xact`` is 0)."""
    conn.execute(
        update(PeopleState)
        .where(
            PeopleState.workspace_id == workspace_id,
            or_(
                PeopleState.last_xact < mark.xact,
                and_(PeopleState.last_xact == mark.xact, PeopleState.last_post_id < mark.post_id),
            ),
        )
        .values(last_post_id=mark.post_id, last_xact=mark.xact, updated_at=utcnow())
    )


def _rows(conn: Connection) -> Any:
    def run(q: Any) -> Sequence[Row[Any]]:
        return conn.execute(q).all()

    return run


def _mentioned() -> Any:
    return exists(select(Mention.post_id).where(Mention.post_id == Post.id))


def _absorb_page(
    conn: Connection, workspace_id: int, rows: Sequence[Any], report: SyncReport
) -> set[int]:
    """Create or refresh the identities of a page of posts; the ids of the people touched."""
    latest: dict[tuple[str, str], Any] = {}
    mentioned: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.source, row.author_id)
        if key not in latest or row.created_at >= latest[key].created_at:
            latest[key] = row
        if row.mentioned:
            mentioned.add(key)
    known: dict[tuple[str, str], tuple[int, int]] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, author_id in latest:
        by_source[source].append(author_id)
    for source, ids in by_source.items():
        for chunk in _chunks(ids):
            for ident in conn.execute(
                select(PersonIdentity.id, PersonIdentity.author_id, PersonIdentity.person_id).where(
                    PersonIdentity.workspace_id == workspace_id,
                    PersonIdentity.source == source,
                    PersonIdentity.author_id.in_(list(chunk)),
                )
            ):
                known[(source, ident.author_id)] = (ident.id, ident.person_id)
    touched: set[int] = set()
    now = utcnow()
    # Statements in bulk (one executemany each), never one per author.
    updates: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    new_people: list[dict[str, Any]] = []
    new_identities: list[dict[str, Any]] = []
    for key, row in latest.items():
        profile = profile_of(row.source, row.author_handle, row.extra or {})
        values: dict[str, Any] = {
            "handle": row.author_handle,
            "name": row.author_name,
            "name_key": name_key(row.author_name),
            "followers": row.author_followers,
            "last_seen_at": row.created_at,
            "profile_url": profile.url,
            "links": profile.links,
        }
        found = known.get(key)
        if found is not None:
            updates[bool(profile.links)].append({"_id": found[0], "_at": row.created_at, **values})
            touched.add(found[1])
        elif key in mentioned:
            name = row.author_name or row.author_handle or row.author_id
            new_people.append({"workspace_id": workspace_id, "name": name[:512], "created_at": now})
            new_identities.append(
                {
                    "workspace_id": workspace_id,
                    "source": key[0],
                    "author_id": key[1],
                    "first_seen_at": row.created_at,
                    **values,
                }
            )
    ident_table = cast(Table, PersonIdentity.__table__)
    c = ident_table.c
    for with_links, params in updates.items():
        if not params:
            continue
        changes: dict[str, Any] = {
            name: bindparam(name) for name in ("handle", "name", "name_key", "followers")
        }
        changes["last_seen_at"] = bindparam("last_seen_at")
        changes["profile_url"] = func.coalesce(bindparam("profile_url"), c.profile_url)
        if with_links:
            changes["links"] = bindparam("links", type_=c.links.type)
        else:
            for p in params:
                del p["links"]
        conn.execute(
            update(ident_table)
            .where(c.id == bindparam("_id"), c.last_seen_at <= bindparam("_at"))
            .values(changes),
            params,
        )
    if new_people:
        people_table = cast(Table, Person.__table__)
        created = list(
            conn.execute(
                insert(people_table).returning(people_table.c.id, sort_by_parameter_order=True),
                new_people,
            ).scalars()
        )
        for person_id, identity in zip(created, new_identities, strict=True):
            identity["person_id"] = person_id
        conn.execute(insert(ident_table), new_identities)
        report.people_created += len(created)
        touched.update(created)
    return touched


def sync_people(
    engine: Engine,
    workspace_id: int,
    rule: StandingRule,
    *,
    now: datetime | None = None,
    rising_days: float = 30.0,
    advocate_min: float = 40.0,
) -> SyncReport:
    """Bring a workspace's people up to date with its stored posts and corrections."""
    now = now or utcnow()
    report = SyncReport()
    touched: set[int] = set()
    with engine.connect() as conn:
        try:
            mark, after_correction = _state(conn, workspace_id)
            conn.commit()
        except IntegrityError:  # a sync that started at the same time created the row
            conn.rollback()
            mark, after_correction = _state(conn, workspace_id)
        frontier = read_frontier(conn, workspace_id)
        conn.rollback()
    new_posts = select(
        Post.id,
        Post.stored_xact,
        Post.source,
        Post.author_id,
        Post.author_handle,
        Post.author_name,
        Post.author_followers,
        Post.extra,
        Post.created_at,
        _mentioned().label("mentioned"),
    ).where(
        Post.workspace_id == workspace_id,
        Post.author_id.is_not(None),
        Post.is_own.is_(False),
    )
    # Nothing new (the frontier's aggregates say so): no rows read, nothing written.
    while frontier.behind(mark) and not frontier.reached(mark):
        with engine.connect() as conn:
            rows, upto = next_page(_rows(conn), new_posts, mark, frontier, PAGE)
        for attempt in range(3):
            try:
                with writer(engine).begin() as conn:
                    if rows:
                        touched |= _absorb_page(conn, workspace_id, rows, report)
                    _advance(conn, workspace_id, upto)
                break
            except IntegrityError:  # another sync created the same identity first
                if attempt == 2:
                    raise
        report.posts_read += len(rows)
        mark = upto
    with engine.connect() as conn:
        corrections, fixed_upto = _new_corrections(conn, workspace_id, after_correction)
        if corrections:
            pairs = sorted({(r.source, r.author_id) for r in corrections if r.author_id})
            for chunk in _chunks(pairs):
                touched.update(
                    conn.execute(
                        select(PersonIdentity.person_id).where(
                            PersonIdentity.workspace_id == workspace_id,
                            tuple_(PersonIdentity.source, PersonIdentity.author_id).in_(
                                list(chunk)
                            ),
                        )
                    ).scalars()
                )
    if corrections:
        with writer(engine).begin() as conn:
            _advance_corrections(conn, workspace_id, fixed_upto)
    with engine.connect() as conn:
        # People who lost posts to deletions at the source (``store.removal``).
        stale = list(
            conn.execute(
                select(StalePerson.person_id).where(StalePerson.workspace_id == workspace_id)
            ).scalars()
        )
    touched.update(stale)
    result = recompute(
        engine,
        workspace_id,
        sorted(touched),
        rule,
        now=now,
        rising_days=rising_days,
        advocate_min=advocate_min,
    )
    if stale:
        with writer(engine).begin() as conn:
            for chunk in _chunks(stale):
                conn.execute(
                    delete(StalePerson).where(
                        StalePerson.workspace_id == workspace_id,
                        StalePerson.person_id.in_(list(chunk)),
                    )
                )
    report.people_recomputed = result.people_recomputed
    report.cases_opened = result.cases_opened
    return report


def person_posts(
    conn: Connection, workspace_id: int, identities: Sequence[tuple[int, str, str]]
) -> dict[int, list[PersonPost]]:
    """Person id → their stored posts (oldest first), from ``(person, source, author id)``."""
    owner: dict[tuple[str, str], int] = {(s, a): p for p, s, a in identities}
    by_source: dict[str, list[str]] = defaultdict(list)
    for _, source, author_id in identities:
        by_source[source].append(author_id)
    out: dict[int, list[PersonPost]] = defaultdict(list)
    for source, ids in by_source.items():
        for chunk in _chunks(ids):
            for r in conn.execute(
                select(
                    Post.id,
                    Post.external_id,
                    Post.source,
                    Post.author_id,
                    Post.created_at,
                    Post.analysis,
                    Post.in_reply_to,
                    Post.conversation_id,
                    Post.duplicate_of,
                    Post.shares,
                    _mentioned().label("mentioned"),
                ).where(
                    Post.workspace_id == workspace_id,
                    Post.source == source,
                    Post.author_id.in_(list(chunk)),
                    Post.is_own.is_(False),
                )
            ):
                out[owner[(r.source, r.author_id)]].append(
                    PersonPost(
                        r.id,
                        r.external_id,
                        r.source,
                        r.author_id,
                        r.created_at,
                        _sentiment(r.analysis),
                        r.in_reply_to,
                        r.conversation_id,
                        r.duplicate_of,
                        r.shares,
                        bool(r.mentioned),
                    )
                )
    for posts in out.values():
        posts.sort(key=lambda p: (p.created_at, p.id))
    return out


def _defended(
    conn: Connection, workspace_id: int, posts: dict[int, list[PersonPost]]
) -> dict[int, list[datetime]]:
    """Person id → times of their positive replies in threads where someone else was negative
    before: the parent post, or an earlier post of the same conversation."""
    replies = [
        (pid, p)
        for pid, ps in posts.items()
        for p in ps
        if p.sentiment == "positive"
        and p.duplicate_of is None
        and (p.in_reply_to or p.conversation_id)
    ]
    if not replies:
        return {}
    negative_by_ref: dict[tuple[str, str], list[tuple[datetime, str | None]]] = defaultdict(list)
    negative_by_conv: dict[tuple[str, str], list[tuple[datetime, str | None]]] = defaultdict(list)
    parents = sorted({(p.source, p.in_reply_to) for _, p in replies if p.in_reply_to})
    convs = sorted({(p.source, p.conversation_id) for _, p in replies if p.conversation_id})
    sentiment = Post.analysis[("sentiment", "label")].as_string()
    for chunk in _chunks(parents):
        for r in conn.execute(
            select(Post.source, Post.external_id, Post.created_at, Post.author_id).where(
                Post.workspace_id == workspace_id,
                tuple_(Post.source, Post.external_id).in_(list(chunk)),
                Post.is_own.is_(False),
                sentiment == "negative",
            )
        ):
            negative_by_ref[(r.source, r.external_id)].append((r.created_at, r.author_id))
    for chunk in _chunks(convs):
        for c in conn.execute(
            select(Post.source, Post.conversation_id, Post.created_at, Post.author_id).where(
                Post.workspace_id == workspace_id,
                tuple_(Post.source, Post.conversation_id).in_(list(chunk)),
                Post.is_own.is_(False),
                sentiment == "negative",
            )
        ):
            negative_by_conv[(c.source, c.conversation_id or "")].append(
                (c.created_at, c.author_id)
            )
    out: dict[int, list[datetime]] = defaultdict(list)
    for pid, p in replies:
        own = {q.author_id for q in posts[pid]}
        found = negative_by_ref.get((p.source, p.in_reply_to or ""), []) + negative_by_conv.get(
            (p.source, p.conversation_id or ""), []
        )
        if any(at <= p.created_at and author not in own for at, author in found):
            out[pid].append(p.created_at)
    return out


@dataclass(slots=True)
class _Recomputed:
    people_recomputed: int = 0
    cases_opened: int = 0


def recompute(
    engine: Engine,
    workspace_id: int,
    person_ids: Sequence[int],
    rule: StandingRule,
    *,
    now: datetime | None = None,
    rising_days: float = 30.0,
    advocate_min: float = 40.0,
) -> _Recomputed:
    """Recompute standing, advocate score, counts and last contact of these people."""
    now = now or utcnow()
    out = _Recomputed()
    table = cast(Table, Person.__table__)
    for chunk in _chunks(list(person_ids), 200):
        with writer(engine).begin() as conn:
            # Lock these people first (in id order: no deadlock between two syncs), so an
            # overlapping recompute reads the cases this one opens (PostgreSQL; SQLite's write
            # transactions are serialised already).
            conn.execute(
                select(table.c.id)
                .where(table.c.workspace_id == workspace_id, table.c.id.in_(list(chunk)))
                .order_by(table.c.id)
                .with_for_update()
            ).all()
            idents = conn.execute(
                select(
                    PersonIdentity.person_id,
                    PersonIdentity.source,
                    PersonIdentity.author_id,
                    PersonIdentity.followers,
                ).where(
                    PersonIdentity.workspace_id == workspace_id,
                    PersonIdentity.person_id.in_(list(chunk)),
                )
            ).all()
            posts = person_posts(conn, workspace_id, [(i[0], i[1], i[2]) for i in idents])
            followers: dict[int, int] = {}
            for i in idents:
                if i.followers is not None:
                    followers[i.person_id] = max(followers.get(i.person_id, 0), i.followers)
            defended = _defended(conn, workspace_id, posts)
            contacts = _last_contacts(conn, workspace_id, list(chunk), posts)
            cases = _latest_cases(conn, workspace_id, list(chunk))
            changes: list[dict[str, Any]] = []
            new_cases: list[dict[str, Any]] = []
            for person_id in chunk:
                ps = posts.get(person_id, [])
                originals = [p for p in ps if p.duplicate_of is None]
                verdict = standing_of(((p.created_at, p.sentiment) for p in originals), now, rule)
                facts = AdvocateFacts(
                    positive_at=[p.created_at for p in originals if p.sentiment == "positive"],
                    defended_at=defended.get(person_id, []),
                    reposted_at=[p.created_at for p in ps if p.duplicate_of is not None],
                    shares_received=[
                        (p.created_at, p.shares)
                        for p in originals
                        if p.sentiment == "positive" and p.shares
                    ],
                    followers=followers.get(person_id),
                )
                score = advocate_score(facts)
                before = advocate_score(facts, until=now - timedelta(days=rising_days))
                score["facts"] = _facts_json(facts)
                score["standing"] = {
                    "score": verdict.score,
                    "labelled": verdict.labelled,
                    "positive": verdict.positive,
                    "negative": verdict.negative,
                    "why": verdict.explain(rule),
                }
                changes.append(
                    {
                        "_id": person_id,
                        "standing": verdict.standing,
                        "standing_score": verdict.score,
                        "labelled_posts": verdict.labelled,
                        "mentions": sum(1 for p in ps if p.mentioned),
                        "followers": followers.get(person_id),
                        "advocate_score": score["score"],
                        "is_advocate": score["score"] >= advocate_min
                        and verdict.standing != "detractor",
                        "advocate_score_before": before["score"],
                        "advocate_breakdown": score,
                        "first_post_at": ps[0].created_at if ps else None,
                        "last_post_at": ps[-1].created_at if ps else None,
                        "last_contact_at": contacts.get(person_id),
                        "recomputed_at": now,
                    }
                )
                if verdict.standing == "detractor" and _needs_case(cases.get(person_id), originals):
                    new_cases.append(
                        {
                            "workspace_id": workspace_id,
                            "person_id": person_id,
                            "status": "open",
                            "opened_at": now,
                            "opened_by": AUTO,
                            "note": verdict.explain(rule),
                        }
                    )
            if changes:
                conn.execute(
                    update(table)
                    .where(table.c.id == bindparam("_id"), table.c.workspace_id == workspace_id)
                    .values({name: bindparam(name) for name in changes[0] if name != "_id"}),
                    changes,
                )
            if new_cases:
                conn.execute(insert(cast(Table, DetractorCase.__table__)), new_cases)
            out.people_recomputed += len(changes)
            out.cases_opened += len(new_cases)
    return out


def _needs_case(latest: Any, originals: Sequence[PersonPost]) -> bool:
    """A detractor gets a case unless one is under way; after a resolved case, only when
    they were negative again since."""
    if latest is None:
        return True
    if latest.status != "resolved" or latest.resolved_at is None:
        return False
    return any(p.sentiment == "negative" and p.created_at > latest.resolved_at for p in originals)


def _latest_cases(conn: Connection, workspace_id: int, person_ids: list[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for case in conn.execute(
        select(DetractorCase.person_id, DetractorCase.status, DetractorCase.resolved_at)
        .where(DetractorCase.workspace_id == workspace_id, DetractorCase.person_id.in_(person_ids))
        .order_by(DetractorCase.id)
    ):
        out[case.person_id] = case
    return out


def _last_contacts(
    conn: Connection,
    workspace_id: int,
    person_ids: list[int],
    posts: dict[int, list[PersonPost]],
) -> dict[int, datetime]:
    """Person id → when the brand last reached them: a nurture entry, a detractor case marked
    contacted, or the brand's answer in a conversation they started."""
    out: dict[int, datetime] = {}

    def seen(person_id: int, at: datetime | None) -> None:
        if at is not None and (person_id not in out or at > out[person_id]):
            out[person_id] = at

    for pid, nurtured in conn.execute(
        select(NurtureEntry.person_id, func.max(NurtureEntry.at))
        .where(NurtureEntry.workspace_id == workspace_id, NurtureEntry.person_id.in_(person_ids))
        .group_by(NurtureEntry.person_id)
    ):
        seen(pid, nurtured)
    for pid, contacted in conn.execute(
        select(DetractorCase.person_id, func.max(DetractorCase.contacted_at))
        .where(DetractorCase.workspace_id == workspace_id, DetractorCase.person_id.in_(person_ids))
        .group_by(DetractorCase.person_id)
    ):
        seen(pid, contacted)
    owner = {p.id: pid for pid, ps in posts.items() for p in ps}
    for chunk in _chunks(sorted(owner)):
        for root, answered in conn.execute(
            select(Conversation.root_post_id, Conversation.last_own_at).where(
                Conversation.workspace_id == workspace_id,
                Conversation.root_post_id.in_(list(chunk)),
                Conversation.last_own_at.is_not(None),
            )
        ):
            seen(owner[root], answered)
    return out


def _facts_json(facts: AdvocateFacts) -> dict[str, Any]:
    def times(values: list[datetime]) -> list[str]:
        return [t.isoformat() for t in sorted(values)[-FACTS_KEPT:]]

    return {
        "positive_at": times(facts.positive_at),
        "defended_at": times(facts.defended_at),
        "reposted_at": times(facts.reposted_at),
        "shares_received": [
            [t.isoformat(), n] for t, n in sorted(facts.shares_received)[-FACTS_KEPT:]
        ],
        "followers": facts.followers,
    }


def facts_from_json(data: dict[str, Any]) -> AdvocateFacts:
    return AdvocateFacts(
        positive_at=[datetime.fromisoformat(t) for t in data.get("positive_at", [])],
        defended_at=[datetime.fromisoformat(t) for t in data.get("defended_at", [])],
        reposted_at=[datetime.fromisoformat(t) for t in data.get("reposted_at", [])],
        shares_received=[
            (datetime.fromisoformat(t), int(n)) for t, n in data.get("shares_received", [])
        ],
        followers=data.get("followers"),
    )
