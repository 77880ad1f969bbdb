"""The inbox's ranking and metrics computed by the database equal a direct recomputation.

``Inbox.conversations`` ranks and pages in SQL and ``Inbox.metrics`` aggregates in SQL
(``goodwill.inbox.sql_rules``). Here a varied workspace (random threads, intents, followers on
the reach thresholds, waits on the exact half-hour boundaries where Python rounds to even,
teammates' statuses before and after new asks, assignees with non-ASCII names, repeated brand
replies) is checked against the Python rules applied row by row, as the inbox computed them
before, on SQLite and PostgreSQL, after a full and after an incremental refresh.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from goodwill.inbox import STATUSES, ConversationView, Inbox
from goodwill.inbox.metrics import InboxMetrics, spread
from goodwill.inbox.sql_rules import _reach_thresholds
from goodwill.inbox.templates import normalise_reply
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.inbox_tables import Conversation
from goodwill.store.repository import Repository
from goodwill.store.tables import Post

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SLA_S = 3 * 3600
OWN = {"id": "brand", "handle": "brightloaf"}
REPLIES = ["Thanks, we are on it!", "Sorry about that, DM us.", "@x Thanks, we are on it! "]


def _threads(rnd: random.Random, n: int, prefix: str) -> list[dict[str, Any]]:
    reach = [t + d for t in _reach_thresholds() for d in (-1, 0)] + [0, 5, 10**7]
    rows: list[dict[str, Any]] = []
    for t in range(n):
        root = f"{prefix}{t}"
        if rnd.random() < 0.3:  # the last ask exactly on a half-hour step (rounds to even)
            start = NOW - timedelta(seconds=900 * rnd.randrange(1, 64))
        else:
            start = NOW - timedelta(seconds=rnd.randrange(0, 40 * 3600), microseconds=rnd.random())
        parent = None
        for i in range(rnd.choice((1, 1, 2, 3, 4, 5))):
            own = (i > 0 and rnd.random() < 0.45) or (i == 0 and rnd.random() < 0.1)
            pid = f"{root}-{i}"
            at = start + timedelta(
                minutes=rnd.randrange(0, 300) * i, microseconds=rnd.randrange(10**6) * (i > 0)
            )
            row: dict[str, Any] = {
                "id": pid,
                "source": "x",
                "created_at": at.isoformat(),
                "is_own": own,
            }
            if own:
                row["author"] = OWN
                row["text"] = rnd.choice(REPLIES)
            else:
                user = rnd.randrange(40)
                row["author"] = {
                    "id": f"u{user}",
                    "handle": f"user{user}",
                    "followers": rnd.choice(reach),
                }
                row["text"] = rnd.choice(
                    ("@brightloaf hello?", "nice bread", "where is my order", "@BrightLoaf hi")
                )
            if parent is not None:
                row["in_reply_to"] = parent
            parent = pid
            rows.append(row)
    return rows


def _label(repo: Repository, ws: int, rnd: random.Random) -> None:
    """Intents and sentiments as the analysis would store them."""
    with Session(repo.engine) as s, s.begin():
        for p in s.scalars(select(Post).where(Post.workspace_id == ws, Post.is_own.is_(False))):
            intent = rnd.choice(("question", "complaint", "praise", None, None))
            sentiment = rnd.choice(("negative", "positive", "neutral"))
            analysis = dict(p.analysis or {})
            if intent:
                analysis["intent"] = {"label": intent, "score": 0.9}
            analysis["sentiment"] = {"label": sentiment, "score": 0.8}
            p.analysis = analysis


def _teamwork(inbox: Inbox, ws: int, rnd: random.Random) -> None:
    names = ["Zoë", "ZOË", "bob", "Bob ", ""]
    with Session(inbox.engine) as s:
        rows = list(s.scalars(select(Conversation).where(Conversation.workspace_id == ws)))
    for c in rows:
        if rnd.random() < 0.4:
            ask = c.last_ask_at or c.last_post_at
            at = ask + timedelta(minutes=rnd.choice((-30, 0, 45, 200, 600)))
            inbox.set_status(ws, c.id, rnd.choice(STATUSES), at=at)
        if rnd.random() < 0.3:
            inbox.assign(ws, c.id, rnd.choice(names))
    with Session(inbox.engine) as s, s.begin():  # a status without a time (older rows)
        s.execute(
            update(Conversation)
            .where(Conversation.id == rows[0].id)
            .values(status="done", status_at=None)
        )


def _reference_views(inbox: Inbox, ws: int) -> list[ConversationView]:
    """Every conversation through the Python rules (``Inbox._view``), the old way."""
    with Session(inbox.engine) as s:
        rows = list(s.scalars(select(Conversation).where(Conversation.workspace_id == ws)))
    return [inbox._view(c, SLA_S, NOW) for c in rows]


def _reference_metrics(inbox: Inbox, ws: int) -> InboxMetrics:
    """The metrics computed row by row in Python, as the inbox did before they moved to SQL."""
    with Session(inbox.engine) as s:
        rows = list(s.scalars(select(Conversation).where(Conversation.workspace_id == ws)))
        own_texts = list(
            s.scalars(select(Post.text).where(Post.workspace_id == ws, Post.is_own.is_(True)))
        )
    views = []
    by_status = dict.fromkeys(STATUSES, 0)
    first_response: list[float] = []
    resolution: list[float] = []
    asked = answered = breaches = 0
    for c in rows:
        v = inbox._view(c, SLA_S, NOW)
        views.append(v)
        if c.opened_by_customer and c.first_response_at is not None:
            first_response.append((c.first_response_at - c.opened_at).total_seconds())
        if c.asks == 0:
            continue
        by_status[v.status] += 1
        asked += 1
        answered += v.answered_at is not None
        breaches += v.sla_breached
        if v.resolved_at is not None and c.first_ask_at is not None:
            resolution.append(max(0.0, (v.resolved_at - c.first_ask_at).total_seconds()))
    qc = sum(c.questions + c.complaints for c in rows)
    covered = sum(c.asks_answered for c in rows)
    counts = Counter(n for t in own_texts if (n := normalise_reply(t)))
    threshold = inbox.rules(ws).template_threshold
    return InboxMetrics(
        workspace="Brightloaf",
        conversations=len(rows),
        needing_answer=sum(v.needs_answer for v in views),
        by_status=by_status,
        first_response=spread(first_response),
        resolution=spread(resolution),
        response_rate=answered / asked if asked else None,
        coverage=covered / qc if qc else None,
        questions_and_complaints=qc,
        sla_s=SLA_S,
        sla_breaches=breaches,
        templates=[
            {"text": t, "count": n}
            for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= threshold
        ],
    )


def _check(inbox: Inbox, ws: int) -> None:
    views = _reference_views(inbox, ws)
    by_id = {v.id: v for v in views}

    def ranked(keep: Any) -> list[int]:
        chosen = [v for v in views if keep(v)]
        return [
            v.id for v in sorted(chosen, key=lambda v: (-v.priority.score, v.last_post_at, v.id))
        ]

    with Session(inbox.engine) as s:
        asks = {
            c.id: (c.asks > 0 or c.status is not None)
            for c in s.scalars(select(Conversation).where(Conversation.workspace_id == ws))
        }
    everything = inbox.conversations(ws, now=NOW, include_answered=True)
    assert [v.id for v in everything] == ranked(lambda v: True)
    # The page's own view agrees with the score the database ranked by.
    assert all(v.priority == by_id[v.id].priority for v in everything)
    assert [v.id for v in inbox.conversations(ws, now=NOW)] == ranked(lambda v: asks[v.id])
    for status in STATUSES:
        got = inbox.conversations(ws, now=NOW, status=status)
        assert [v.id for v in got] == ranked(lambda v, st=status: asks[v.id] and v.status == st)
    for flag in (True, False):
        got = inbox.conversations(ws, now=NOW, needs_answer=flag)
        assert [v.id for v in got] == ranked(lambda v, f=flag: asks[v.id] and v.needs_answer == f)
        got = inbox.conversations(ws, now=NOW, sla_breached=flag)
        want = ranked(
            lambda v, f=flag: asks[v.id] and (v.sla_breached and v.answered_at is None) == f
        )
        assert [v.id for v in got] == want
    for name in ("zoë", "BOB", "-", "nobody"):
        wanted = "" if name == "-" else name.casefold()
        got = inbox.conversations(ws, now=NOW, assignee=name)
        assert [v.id for v in got] == ranked(
            lambda v, w=wanted: asks[v.id] and (v.assignee or "").casefold() == w
        )
    first = inbox.conversations(ws, now=NOW, limit=7)
    second = inbox.conversations(ws, now=NOW, limit=7, offset=7)
    assert [v.id for v in first + second] == ranked(lambda v: asks[v.id])[:14]

    got = inbox.metrics(ws, now=NOW)
    want = _reference_metrics(inbox, ws)
    assert got == want
    # Not trivially equal: the dataset exercises every part.
    assert want.sla_breaches > 0 and want.templates and want.resolution.count > 10
    assert all(want.by_status[s] > 0 for s in STATUSES)


def test_sql_ranking_and_metrics_equal_the_python_rules(
    repo: Repository, settings: Settings
) -> None:
    rnd = random.Random(5)
    ws = repo.add_workspace("Brightloaf").id
    ingestor = Ingestor(repo, settings, analyzers=[])
    rows = _threads(rnd, 160, "t")
    ingestor.ingest(ws, [(str(i), r) for i, r in enumerate(rows)])
    _label(repo, ws, rnd)
    inbox = Inbox(repo)
    inbox.set_rules(ws, sla_s=SLA_S, template_threshold=3)
    assert not inbox.refresh(ws).incremental
    _teamwork(inbox, ws, rnd)
    _check(inbox, ws)

    # New posts: an incremental refresh adds them (and their sent texts) exactly once.
    more = _threads(rnd, 40, "n")
    ingestor.ingest(ws, [(str(i), r) for i, r in enumerate(more)])
    report = inbox.refresh(ws)
    assert report.incremental
    assert inbox.refresh(ws).skipped
    _check(inbox, ws)
    assert inbox.refresh(ws, force=True).threads > 0  # a full recount gives the same
    _check(inbox, ws)


def test_refreshes_at_once_count_each_sent_text_once(repo: Repository, settings: Settings) -> None:
    """Four refreshes of one workspace at once, after new posts: the sent-text counts (which
    refreshes add to) and every figure stay those of a direct recomputation."""
    rnd = random.Random(9)
    ws = repo.add_workspace("Brightloaf").id
    ingestor = Ingestor(repo, settings, analyzers=[])
    inbox = Inbox(repo)
    inbox.set_rules(ws, sla_s=SLA_S, template_threshold=2)
    ingestor.ingest(ws, [(str(i), r) for i, r in enumerate(_threads(rnd, 60, "t"))])
    inbox.refresh(ws)
    ingestor.ingest(ws, [(str(i), r) for i, r in enumerate(_threads(rnd, 30, "n"))])
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            Inbox(repo).refresh(ws)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert inbox.refresh(ws).skipped
    got, want = inbox.metrics(ws, now=NOW), _reference_metrics(inbox, ws)
    assert got.templates == want.templates and want.templates
    assert got == want
