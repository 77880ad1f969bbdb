"""The inbox service: refresh conversations from the stored posts, triage them, measure.

Every method takes the workspace it acts for and filters on it, as ``Repository`` does. The CLI
and the web application call this; it never imports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goodwill.inbox import sql_rules
from goodwill.inbox.incremental import (
    Mark,
    only_new_posts,
    post_rows,
    posts_of_people_recomputed,
    read_mark,
    thread_closure,
)
from goodwill.inbox.metrics import InboxMetrics, spread
from goodwill.inbox.priority import Priority, priority_of
from goodwill.inbox.sent_texts import add_sent, recount_sent, sent_at_least
from goodwill.inbox.threads import ThreadFacts, build_threads, mention_pattern, normalise_handle
from goodwill.people import People
from goodwill.settings import Settings
from goodwill.store.db import writer
from goodwill.store.inbox_tables import Conversation, ConversationNote, InboxRules
from goodwill.store.repository import NotFound, Repository, StoreError
from goodwill.store.tables import Post, Workspace, utcnow

__all__ = ["STATUSES", "ConversationView", "Inbox", "InboxError", "RefreshReport"]

STATUSES = ("open", "waiting", "done")
GUARD_S = 600
"""How long a teammate who opened a conversation is taken to be still working on it."""
_CHUNK = 500
_DERIVED = (
    "source",
    "root_post_id",
    "post_count",
    "opened_at",
    "opened_by_customer",
    "last_post_at",
    "first_ask_at",
    "last_ask_at",
    "first_response_at",
    "answered_at",
    "last_own_at",
    "needs_answer",
    "asks",
    "asks_answered",
    "questions",
    "complaints",
    "direct_mentions",
    "negative",
    "max_followers",
    "advocates",
    "detractors",
    "author_handle",
    "preview",
    "first_response_us",
    "answer_wait_us",
    "own_after_ask_us",
)


class _Raced(Exception):
    """Another refresh of the workspace moved the mark first: run again."""


class InboxError(StoreError):
    """A request the inbox refuses, with a message fit for the user."""


@dataclass(slots=True)
class RefreshReport:
    threads: int
    inserted: int
    updated: int
    removed: int
    skipped: bool = False
    """Nothing changed in the posts (or the rules) since the last refresh: nothing was read."""
    posts_read: int = 0
    incremental: bool = False
    """Only the threads that new posts touched were read (``threads`` counts those)."""


@dataclass(slots=True)
class ConversationView:
    """A conversation as a teammate sees it: facts, state, priority with its reasons."""

    id: int
    thread_key: str
    source: str
    status: str
    assignee: str | None
    needs_answer: bool
    opened_at: datetime
    last_post_at: datetime
    first_ask_at: datetime | None
    answered_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    author_handle: str | None
    preview: str
    post_count: int
    root_post_id: int
    sla_breached: bool
    sla_due_at: datetime | None
    """When the first answer is due, while nobody has answered yet (None once answered)."""
    questions: int
    complaints: int
    direct_mentions: int
    negative: int
    priority: Priority

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Priority):
                value = {"score": value.score, "reasons": list(value.reasons)}
            out[name] = value
        return out


def _effective_status(c: Conversation) -> str:
    """A new ask after a teammate's status reopens the conversation; otherwise their word
    stands; otherwise a brand reply after the last ask has closed it by itself."""
    if c.needs_answer and (
        c.status is None
        or c.status_at is None
        or (c.last_ask_at is not None and c.status_at < c.last_ask_at)
    ):
        return "open"
    if c.status:
        return c.status
    return "open" if c.needs_answer else "done"


def _resolved_at(c: Conversation, status: str) -> datetime | None:
    if status != "done":
        return None
    if c.status == "done" and c.status_at is not None:
        return c.status_at
    return c.last_own_at


def _answered_at(c: Conversation, status: str) -> datetime | None:
    """The brand's first answer after the first ask, or a teammate's "answered elsewhere"."""
    if c.answered_at is not None:
        return c.answered_at
    return c.status_at if status == "done" and c.status == "done" else None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


class Inbox:
    """Conversations of each workspace, kept in step with its posts by ``refresh``."""

    def __init__(self, repo: Repository, settings: Settings | None = None) -> None:
        """With ``settings``, each refresh first brings the workspace's people up to date, so
        their standing (advocate, detractor) is current; without, the last one known is used."""
        self.repo = repo
        self.engine = repo.engine
        self.people = People(repo, settings) if settings is not None else None

    # -- rules --------------------------------------------------------------------------------
    def rules(self, workspace_id: int) -> InboxRules:
        with Session(self.engine, expire_on_commit=False) as s:
            rules = s.get(InboxRules, workspace_id)
        if rules is None:
            rules = InboxRules(
                workspace_id=workspace_id,
                first_response_sla_s=4 * 3600,
                own_handles=[],
                template_threshold=5,
            )
        return rules

    def set_rules(
        self,
        workspace_id: int,
        *,
        sla_s: int | None = None,
        own_handles: Sequence[str] | None = None,
        template_threshold: int | None = None,
    ) -> InboxRules:
        if sla_s is not None and sla_s <= 0:
            raise InboxError("the SLA must be a positive duration")
        if template_threshold is not None and template_threshold < 2:
            raise InboxError("a template is flagged from 2 identical replies up")
        current = self.rules(workspace_id)
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            rules = s.get(InboxRules, workspace_id)
            if rules is None:
                rules = current
                s.add(rules)
            if sla_s is not None:
                rules.first_response_sla_s = sla_s
            if own_handles is not None:
                rules.own_handles = sorted({h.strip() for h in own_handles if h.strip()})
            if template_threshold is not None:
                rules.template_threshold = template_threshold
            rules.refresh_mark = None  # own handles decide what a mention is: recompute
            rules.updated_at = utcnow()
        return rules

    # -- refresh ------------------------------------------------------------------------------
    def _own_authors(self, conn: Connection, workspace_id: int) -> list[tuple[str, int]]:
        """The brand's handles (and author ids), each with the first own post that used it,
        plus those in the rules (as if used from the start): one query."""
        q = (
            select(Post.author_handle, Post.author_id, func.min(Post.id))
            .where(Post.workspace_id == workspace_id, Post.is_own.is_(True))
            .group_by(Post.author_handle, Post.author_id)
        )
        found = [(h, first) for *names, first in conn.execute(q) for h in names if h]
        return found + [(h, 0) for h in self.rules(workspace_id).own_handles]

    def refresh(self, workspace_id: int, *, force: bool = False) -> RefreshReport:
        """Bring the workspace's conversations up to date with its posts (see ``_refresh``).

        Two refreshes at once (the CLI and the web app): each claims the stored mark before
        writing (``_claim``), and the one that finds it moved, or whose new thread the unique
        key refuses, runs again (and then usually finds nothing left to do). ``force``
        recomputes even when the posts did not change since the last refresh.
        """
        if self.people is not None:
            self.people.sync(workspace_id)
        try:
            return self._refresh(workspace_id, force)
        except (IntegrityError, _Raced):
            try:
                return self._refresh(workspace_id, force)
            except _Raced:  # yet another refresh moved the mark: it has done this work
                return RefreshReport(0, 0, 0, 0, skipped=True)

    def _claim(self, conn: Connection, workspace_id: int, last: str | None, mark: str) -> None:
        """Move the stored mark from ``last`` to ``mark`` before writing anything, so that of
        two refreshes that read the same ``last`` only one goes on (the other raises
        ``_Raced`` and runs again): the sent-text counts never take the same posts twice."""
        rules = cast(Table, InboxRules.__table__)
        same = rules.c.refresh_mark.is_(None) if last is None else rules.c.refresh_mark == last
        done = conn.execute(
            update(rules)
            .where(rules.c.workspace_id == workspace_id, same)
            .values(refresh_mark=mark)
        )
        if done.rowcount:
            return
        if conn.scalar(select(rules.c.workspace_id).where(rules.c.workspace_id == workspace_id)):
            raise _Raced
        defaults = self.rules(workspace_id)
        conn.execute(  # two first refreshes at once: the second gets an IntegrityError
            rules.insert().values(
                workspace_id=workspace_id,
                first_response_sla_s=defaults.first_response_sla_s,
                own_handles=defaults.own_handles,
                template_threshold=defaults.template_threshold,
                refresh_mark=mark,
                updated_at=utcnow(),
            )
        )

    def _since(
        self,
        conn: Connection,
        workspace_id: int,
        last: str | None,
        mark: Mark,
        own: list[tuple[str, int]],
    ) -> int | None:
        """The highest post id of the last refresh when only new posts arrived since, none of
        them by a new brand account (its handle would change what counts as a mention in older
        posts); None when everything must be recomputed."""
        before = Mark.parse(last)
        if before is None or not only_new_posts(conn, workspace_id, before, mark):
            return None
        names = {normalise_handle(h) for h, _ in own}
        old = {normalise_handle(h) for h, first in own if first <= (before.last_id or 0)}
        return before.last_id if names == old else None

    def _last_mark(self, conn: Connection, workspace_id: int) -> str | None:
        return conn.scalar(
            select(InboxRules.refresh_mark).where(InboxRules.workspace_id == workspace_id)
        )

    def _unchanged(self, workspace_id: int) -> bool:
        """Nothing to do since the last refresh: checked without SQLite's write lock, so that
        opening the inbox never waits behind an import."""
        with self.engine.connect() as conn:
            return self._last_mark(conn, workspace_id) == str(read_mark(conn, workspace_id))

    def _refresh(self, workspace_id: int, force: bool) -> RefreshReport:
        """Recompute the workspace's conversations from its posts, then insert and update in
        bulk (only rows whose facts changed). When only new posts arrived since the last
        refresh, only the threads they touch are read and recomputed (``incremental``); else
        every post is read once. Teammates' status, assignee and notes stay; when a thread's
        key changes (two threads joined), they move to the thread that now holds its first
        post."""
        table = cast(Table, Conversation.__table__)
        if not force and self._unchanged(workspace_id):
            return RefreshReport(0, 0, 0, 0, skipped=True)
        with writer(self.engine).begin() as conn:
            mark = read_mark(conn, workspace_id)
            last = self._last_mark(conn, workspace_id)
            if last == str(mark) and not force:
                return RefreshReport(0, 0, 0, 0, skipped=True)
            self._claim(conn, workspace_id, last, str(mark))
            own = self._own_authors(conn, workspace_id)
            pattern: re.Pattern[str] | None = mention_pattern(h for h, _ in own)
            cols = [getattr(Conversation, c) for c in _DERIVED]
            current = select(
                Conversation.id,
                Conversation.thread_key,
                Conversation.status,
                Conversation.status_at,
                Conversation.assignee,
                *cols,
            ).where(Conversation.workspace_id == workspace_id)
            since = None if force else self._since(conn, workspace_id, last, mark, own)
            incremental = since is not None
            if since is not None:
                fresh = post_rows(
                    conn, workspace_id, Post.id > since, Post.id <= (mark.last_id or since)
                )
                add_sent(conn, workspace_id, fresh)
                before = Mark.parse(last)
                assert before is not None  # ``_since`` read it
                fresh += posts_of_people_recomputed(conn, workspace_id, before, mark.last_id)
                rows = thread_closure(conn, workspace_id, fresh)
                facts = build_threads(rows, pattern)
                existing = {}
                for ids in _chunks(sorted(r.id for r in rows)):
                    for row in conn.execute(current.where(Conversation.root_post_id.in_(ids))):
                        existing[row.thread_key] = row
                for keys in _chunks(sorted({f.thread_key for f in facts} - set(existing))):
                    for row in conn.execute(current.where(Conversation.thread_key.in_(keys))):
                        existing[row.thread_key] = row
            else:
                rows = post_rows(conn, workspace_id)
                # Posts above the mark are counted by the next refresh, as new ones.
                recount_sent(conn, workspace_id, (r for r in rows if r.id <= (mark.last_id or 0)))
                facts = build_threads(rows, pattern)
                existing = {row.thread_key: row for row in conn.execute(current)}
            now = utcnow()
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for f in facts:
                values = {c: getattr(f, c) for c in _DERIVED}
                old = existing.pop(f.thread_key, None)
                if old is None:
                    inserts.append(
                        {"workspace_id": workspace_id, "thread_key": f.thread_key}
                        | values
                        | {"updated_at": now, "status": None, "status_at": None}
                        | {"assignee": None, "viewer": None, "viewer_at": None}
                    )
                elif any(getattr(old, c) != v for c, v in values.items()):
                    updates.append({"b_id": old.id, "updated_at": now} | values)
            if inserts:
                conn.execute(table.insert(), inserts)
            if updates:
                stmt = (
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values({c: bindparam(c) for c in (*_DERIVED, "updated_at")})
                )
                conn.execute(stmt, updates)
            removed = list(existing.values())
            if removed:
                self._carry_over(conn, workspace_id, removed, facts)
                for ids in _chunks([r.id for r in removed]):
                    conn.execute(delete(table).where(table.c.id.in_(ids)))
        return RefreshReport(
            len(facts),
            len(inserts),
            len(updates),
            len(removed),
            posts_read=len(rows),
            incremental=incremental,
        )

    def _carry_over(
        self, conn: Connection, workspace_id: int, removed: Sequence[Any], facts: list[ThreadFacts]
    ) -> None:
        """Move a vanished thread's status, assignee and notes to the thread that holds its
        first post now, unless that one has its own already."""
        kept = [r for r in removed if r.status or r.assignee]
        noted = {
            cid
            for ids in _chunks([r.id for r in removed])
            for cid in conn.scalars(
                select(ConversationNote.conversation_id)
                .where(ConversationNote.conversation_id.in_(ids))
                .distinct()
            )
        }
        kept += [r for r in removed if r.id in noted and r not in kept]
        if not kept:
            return
        key_of_post = {pid: f.thread_key for f in facts for pid in f.post_ids}
        for r in kept:
            key = key_of_post.get(r.root_post_id)
            if key is None:
                continue
            target = conn.execute(
                select(Conversation.id, Conversation.status, Conversation.assignee).where(
                    Conversation.workspace_id == workspace_id, Conversation.thread_key == key
                )
            ).one()
            if target.status is None and target.assignee is None:
                conn.execute(
                    update(Conversation)
                    .where(Conversation.id == target.id)
                    .values(status=r.status, status_at=r.status_at, assignee=r.assignee)
                )
            conn.execute(
                update(ConversationNote)
                .where(ConversationNote.conversation_id == r.id)
                .values(conversation_id=target.id)
            )

    # -- reading ------------------------------------------------------------------------------
    def _view(self, c: Conversation, sla_s: int, now: datetime) -> ConversationView:
        status = _effective_status(c)
        answered = _answered_at(c, status)
        breached = c.first_ask_at is not None and (
            (answered or now) - c.first_ask_at > timedelta(seconds=sla_s)
        )
        waiting_since = c.last_ask_at if status == "open" and c.needs_answer else None
        return ConversationView(
            id=c.id,
            thread_key=c.thread_key,
            source=c.source,
            status=status,
            assignee=c.assignee,
            needs_answer=c.needs_answer and status == "open",
            opened_at=c.opened_at,
            last_post_at=c.last_post_at,
            first_ask_at=c.first_ask_at,
            answered_at=answered,
            first_response_at=c.first_response_at,
            resolved_at=_resolved_at(c, status),
            author_handle=c.author_handle,
            preview=c.preview,
            post_count=c.post_count,
            root_post_id=c.root_post_id,
            sla_breached=breached,
            sla_due_at=(
                c.first_ask_at + timedelta(seconds=sla_s)
                if c.first_ask_at is not None and answered is None
                else None
            ),
            questions=c.questions,
            complaints=c.complaints,
            direct_mentions=c.direct_mentions,
            negative=c.negative,
            priority=priority_of(
                complaints=c.complaints,
                questions=c.questions,
                direct_mentions=c.direct_mentions,
                negative=c.negative,
                max_followers=c.max_followers,
                waiting_since=waiting_since,
                sla_breached=breached and answered is None,
                now=now,
                detractors=c.detractors,
                advocates=c.advocates,
            ),
        )

    def _all(self, workspace_id: int) -> list[Conversation]:
        with Session(self.engine, expire_on_commit=False) as s:
            return list(
                s.scalars(select(Conversation).where(Conversation.workspace_id == workspace_id))
            )

    def conversations(
        self,
        workspace_id: int,
        *,
        status: str | None = None,
        include_answered: bool = False,
        now: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        assignee: str | None = None,
        needs_answer: bool | None = None,
        sla_breached: bool | None = None,
        source: str | None = None,
    ) -> list[ConversationView]:
        """Conversations, most urgent first (then the longest quiet, then the oldest row).
        Without ``include_answered``, only those that hold a question, complaint or mention
        of the brand (threads the brand simply took part in are left to the metrics).
        ``assignee`` "-" means nobody; ``sla_breached`` counts only breaches still unanswered.

        The database filters, ranks and pages (``goodwill.inbox.sql_rules``); only the page's
        rows are read, so the first page costs the same at 100 or 100,000 conversations."""
        now = now or datetime.now(UTC)
        sla = self.rules(workspace_id).first_response_sla_s
        c = Conversation
        with Session(self.engine, expire_on_commit=False) as s:
            conds = self._where(
                s,
                workspace_id,
                now,
                sla,
                status,
                include_answered,
                assignee,
                needs_answer,
                sla_breached,
                source,
            )
            score = sql_rules.priority_score(now, sla)
            q = (
                select(c.id)
                .where(*conds)
                .order_by(score.desc(), c.last_post_at, c.id)
                .offset(offset)
            )
            if limit is not None:
                q = q.limit(limit)
            ids = list(s.scalars(q))
            rows: dict[int, Conversation] = {}
            for chunk in _chunks(ids):
                rows.update((r.id, r) for r in s.scalars(select(c).where(c.id.in_(chunk))))
        return [self._view(rows[i], sla, now) for i in ids]

    def count_conversations(
        self,
        workspace_id: int,
        *,
        status: str | None = None,
        include_answered: bool = False,
        now: datetime | None = None,
        assignee: str | None = None,
        needs_answer: bool | None = None,
        sla_breached: bool | None = None,
        source: str | None = None,
    ) -> int:
        """How many ``conversations`` would list with the same filters (for paging)."""
        now = now or datetime.now(UTC)
        sla = self.rules(workspace_id).first_response_sla_s
        with Session(self.engine) as s:
            conds = self._where(
                s,
                workspace_id,
                now,
                sla,
                status,
                include_answered,
                assignee,
                needs_answer,
                sla_breached,
                source,
            )
            return s.scalar(select(func.count()).select_from(Conversation).where(*conds)) or 0

    def _where(
        self,
        s: Session,
        workspace_id: int,
        now: datetime,
        sla: int,
        status: str | None,
        include_answered: bool,
        assignee: str | None,
        needs_answer: bool | None,
        sla_breached: bool | None,
        source: str | None,
    ) -> list[ColumnElement[bool]]:
        if status is not None and status not in STATUSES:
            raise InboxError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        c = Conversation
        conds: list[ColumnElement[bool]] = [c.workspace_id == workspace_id]
        if not include_answered:
            conds.append(or_(c.asks > 0, c.status.is_not(None)))
        if source is not None:
            conds.append(c.source == source)
        if status is not None:
            conds.append(sql_rules.effective_status() == status)
        if needs_answer is not None:
            wanted = sql_rules.needs_answer_now()
            conds.append(wanted if needs_answer else not_(wanted))
        if sla_breached is not None:
            breach = sql_rules.unanswered_breach(now, sla)
            conds.append(breach if sla_breached else not_(breach))
        if assignee is not None:
            conds.append(self._assignee_is(s, workspace_id, assignee))
        return conds

    def _assignee_is(self, s: Session, workspace_id: int, assignee: str) -> ColumnElement[bool]:
        """Assigned to ``assignee`` by name, case-folded as people type it ("-": nobody); the
        few distinct names are matched here, so non-ASCII names fold as Python folds them."""
        c = Conversation
        if assignee == "-" or not assignee.strip():
            return or_(c.assignee.is_(None), c.assignee == "")
        wanted = assignee.strip().casefold()
        names = s.scalars(
            select(c.assignee)
            .where(c.workspace_id == workspace_id, c.assignee.is_not(None))
            .distinct()
        )
        return c.assignee.in_([n for n in names if n is not None and n.casefold() == wanted])

    def _get(self, s: Session, workspace_id: int, conversation_id: int) -> Conversation:
        c = s.scalar(
            select(Conversation).where(
                Conversation.workspace_id == workspace_id, Conversation.id == conversation_id
            )
        )
        if c is None:
            raise NotFound(f"no conversation {conversation_id} in this workspace")
        return c

    def conversation(
        self, workspace_id: int, conversation_id: int, *, now: datetime | None = None
    ) -> ConversationView:
        with Session(self.engine, expire_on_commit=False) as s:
            c = self._get(s, workspace_id, conversation_id)
        return self._view(c, self.rules(workspace_id).first_response_sla_s, now or utcnow())

    def posts(self, workspace_id: int, conversation_id: int) -> list[Post]:
        """The thread's posts, oldest first: followed from its first post along replies and
        conversation ids, one query per level of the thread (never one per post)."""
        with Session(self.engine, expire_on_commit=False) as s:
            c = self._get(s, workspace_id, conversation_id)
            root = s.get(Post, c.root_post_id)
            if root is None or root.workspace_id != workspace_id:
                return []
            found: dict[int, Post] = {root.id: root}
            frontier = [root]
            while frontier:
                ids = sorted(
                    {p.external_id for p in frontier} | {p.in_reply_to or "" for p in frontier}
                )
                convs = sorted({p.conversation_id for p in frontier if p.conversation_id})
                conds = [Post.in_reply_to.in_(ids), Post.external_id.in_(ids)]
                if convs:
                    conds.append(Post.conversation_id.in_(convs))
                rows = s.scalars(
                    select(Post).where(
                        Post.workspace_id == workspace_id,
                        Post.source == c.source,
                        or_(*conds),
                    )
                )
                frontier = [p for p in rows if p.id not in found]
                found.update((p.id, p) for p in frontier)
        return sorted(found.values(), key=lambda p: (p.created_at, p.id))

    # -- teamwork -----------------------------------------------------------------------------
    def open_as(
        self, workspace_id: int, conversation_id: int, who: str, *, now: datetime | None = None
    ) -> tuple[str, datetime] | None:
        """Record that ``who`` is working on the conversation now. Returns the other teammate
        who opened it within ``GUARD_S`` seconds, and when, so that two people do not answer
        the same person at once; None when nobody else is on it."""
        now = now or utcnow()
        with Session(self.engine) as s, s.begin():
            c = s.scalar(
                select(Conversation)
                .where(
                    Conversation.workspace_id == workspace_id,
                    Conversation.id == conversation_id,
                )
                .with_for_update()
            )
            if c is None:
                raise NotFound(f"no conversation {conversation_id} in this workspace")
            other = None
            if (
                c.viewer is not None
                and c.viewer != who
                and c.viewer_at is not None
                and now - c.viewer_at < timedelta(seconds=GUARD_S)
            ):
                other = (c.viewer, c.viewer_at)
            c.viewer, c.viewer_at = who, now
        return other

    def assign(self, workspace_id: int, conversation_id: int, assignee: str | None) -> None:
        assignee = assignee.strip() if assignee else None
        with Session(self.engine) as s, s.begin():
            c = self._get(s, workspace_id, conversation_id)
            c.assignee = assignee or None
            c.updated_at = utcnow()

    def set_status(
        self, workspace_id: int, conversation_id: int, status: str, *, at: datetime | None = None
    ) -> None:
        """``done`` on an unanswered conversation means "answered elsewhere"."""
        if status not in STATUSES:
            raise InboxError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        with Session(self.engine) as s, s.begin():
            c = self._get(s, workspace_id, conversation_id)
            c.status = status
            c.status_at = at or utcnow()
            c.updated_at = utcnow()

    def add_note(self, workspace_id: int, conversation_id: int, author: str, text: str) -> None:
        text = text.strip()
        if not text:
            raise InboxError("a note needs some text")
        with Session(self.engine) as s, s.begin():
            self._get(s, workspace_id, conversation_id)
            s.add(
                ConversationNote(
                    workspace_id=workspace_id,
                    conversation_id=conversation_id,
                    author=author,
                    text=text,
                )
            )

    def notes(self, workspace_id: int, conversation_id: int) -> list[ConversationNote]:
        with Session(self.engine, expire_on_commit=False) as s:
            self._get(s, workspace_id, conversation_id)
            return list(
                s.scalars(
                    select(ConversationNote)
                    .where(
                        ConversationNote.workspace_id == workspace_id,
                        ConversationNote.conversation_id == conversation_id,
                    )
                    .order_by(ConversationNote.created_at, ConversationNote.id)
                )
            )

    # -- metrics ------------------------------------------------------------------------------
    def metrics(self, workspace_id: int, *, now: datetime | None = None) -> InboxMetrics:
        """The workspace's answer figures, aggregated by the database: a few queries over the
        conversation rows (``goodwill.inbox.sql_rules`` holds the rules), then the durations
        (whole microseconds, one integer a conversation) for the median and p90."""
        now = now or datetime.now(UTC)
        rules = self.rules(workspace_id)
        sla = rules.first_response_sla_s
        c = Conversation
        mine = c.workspace_id == workspace_id
        dialect = self.engine.dialect.name
        status = sql_rules.effective_status()
        answered = sql_rules.answered_at()
        resolved = sql_rules.resolved_at()
        asked = c.asks > 0

        def count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
            return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

        def us(later: Any, earlier: Any) -> ColumnElement[int]:
            return sql_rules.microseconds_between(dialect, later, earlier)

        human_done = and_(status == "done", c.status == "done", c.status_at.is_not(None))
        # Only rows a teammate closed need a subtraction here; the others carry their durations.
        answer_wait = case(
            (c.answered_at.is_not(None), c.answer_wait_us),
            (human_done, us(c.status_at, c.first_ask_at)),
            else_=None,
        )
        resolution_us = case(
            (human_done, us(c.status_at, c.first_ask_at)),
            else_=c.own_after_ask_us,
        )
        breached = and_(
            asked,
            c.first_ask_at.is_not(None),
            or_(
                and_(answered.is_(None), c.first_ask_at < now - timedelta(seconds=sla)),
                answer_wait > sla * 1_000_000,
            ),
        )
        with Session(self.engine) as s:
            name = s.scalar(select(Workspace.name).where(Workspace.id == workspace_id)) or ""
            totals = s.execute(
                select(
                    func.count(),
                    count_if(sql_rules.needs_answer_now()),
                    count_if(asked),
                    count_if(and_(asked, answered.is_not(None))),
                    count_if(breached),
                    func.coalesce(func.sum(c.questions + c.complaints), 0),
                    func.coalesce(func.sum(c.asks_answered), 0),
                ).where(mine)
            ).one()
            by_status = dict.fromkeys(STATUSES, 0)
            for st, n in s.execute(
                select(status, func.count()).where(mine, asked).group_by(status)
            ):
                by_status[st] += n
            first_response = [
                d / 1_000_000
                for d in s.scalars(
                    select(c.first_response_us).where(mine, c.first_response_us.is_not(None))
                )
                if d is not None
            ]
            resolution = [
                max(0.0, d / 1_000_000)
                for d in s.scalars(
                    select(resolution_us).where(
                        mine, asked, c.first_ask_at.is_not(None), resolved.is_not(None)
                    )
                )
            ]
            flagged = sent_at_least(s.connection(), workspace_id, rules.template_threshold)
        conversations, needing, n_asked, n_answered, breaches, qc, covered = totals
        return InboxMetrics(
            workspace=name,
            conversations=conversations,
            needing_answer=needing,
            by_status=by_status,
            first_response=spread(first_response),
            resolution=spread(resolution),
            response_rate=n_answered / n_asked if n_asked else None,
            coverage=covered / qc if qc else None,
            questions_and_complaints=qc,
            sla_s=sla,
            sla_breaches=breaches,
            templates=[
                {"text": text, "count": n}
                for text, n in sorted(flagged, key=lambda kv: (-kv[1], kv[0]))
            ],
        )

    def needing_answer_count(self, workspace_id: int) -> int:
        """How many conversations wait for the brand, as the stored rows say (no refresh): the
        same rule as ``_effective_status``, in one aggregate query for the navigation bar."""
        c = Conversation
        with Session(self.engine) as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(c)
                    .where(
                        c.workspace_id == workspace_id,
                        c.needs_answer.is_(True),
                        or_(
                            c.status.is_(None),
                            c.status == "open",
                            c.status_at.is_(None),
                            c.status_at < c.last_ask_at,
                        ),
                    )
                )
                or 0
            )

    def count(self, workspace_id: int) -> int:
        with Session(self.engine) as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(Conversation)
                    .where(Conversation.workspace_id == workspace_id)
                )
                or 0
            )
