"""The dashboard's rollups against the posts themselves (SQLite and PostgreSQL).

After every kind of change (ingest with repeats and own posts, an edit that moves a post in
time and between topics, a correction, re-analysis, removing a topic) the dashboard read from
the rollups must equal the same figures counted directly from the posts and mentions tables,
and a rebuild from scratch must give exactly the rows the incremental upkeep left.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from goodwill.analysis.engine import TextAnalyzer
from goodwill.cli import app
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.reanalyse import reanalyse
from goodwill.settings import Settings, get_settings
from goodwill.store import rollup_windows
from goodwill.store.dashboard import dashboard, mention_counts, top_people
from goodwill.store.repository import Repository
from goodwill.store.rollup_windows import WINDOW_DAYS, start_for, window_for
from goodwill.store.rollups import hour_of, rebuild
from goodwill.store.tables import Mention, Post, Topic

ROLLUPS = (
    "rollup_topic_hours",
    "rollup_post_hours",
    "rollup_people_hours",
    "rollup_people_totals",
    "rollup_people_windows",
    "rollup_people_window_starts",
)
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _post(i: int, text: str, when: datetime, author: str, *, own: bool = False) -> Any:
    return (
        f"post {i}",
        {
            "id": str(i),
            "source": "x" if i % 3 else "mastodon",
            "text": text,
            "created_at": when.isoformat().replace("+00:00", "Z"),
            "author": {"handle": author, "name": author.title(), "followers": 10 * i},
            "is_own": own,
        },
    )


TEXTS = [
    "Brightloaf bread is wonderful, thank you!",
    "my brightloaf order never arrived, terrible",
    "Crumbco and brightloaf both sell sourdough",
    "crumbco delivery was late again",
    "I love sourdough on a Sunday",
    "nothing about anyone here",
    "Brightloaf bread is wonderful, thank you!",  # a repeat of the first
]


def _items(start: int, count: int, *, edit: bool = False) -> list[Any]:
    out = []
    for i in range(start, start + count):
        # spread over 40 days and around hour edges, some a few microseconds before the hour
        when = NOW - timedelta(days=i % 40, hours=(i * 7) % 24, microseconds=(i % 2) * 3)
        text = TEXTS[(i + (3 if edit else 0)) % len(TEXTS)]
        if edit:
            when -= timedelta(hours=30)
        author = f"person{i % 6}" if i % 5 else f"loud{i % 2}"
        out.append(_post(i, text, when, author, own=i % 11 == 0))
    return out


def _direct(engine: Engine, ws: int, days: int, offset: int = 0) -> dict[str, Any]:
    """The dashboard's figures counted from the raw rows in Python: the reference."""
    shift = timedelta(hours=offset)
    local_since = (datetime.now(UTC) + shift - timedelta(days=days - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    since = local_since - shift
    with engine.connect() as conn:
        topics = {
            tid: kind
            for tid, kind in conn.execute(
                select(Topic.id, Topic.kind).where(Topic.workspace_id == ws)
            )
        }
        mentions = conn.execute(
            select(Mention.post_id, Mention.topic_id, Mention.created_at).where(
                Mention.workspace_id == ws
            )
        ).all()
        posts = conn.execute(select(Post).where(Post.workspace_id == ws)).all()
    in_topics = {m.post_id for m in mentions}

    def day(when: datetime) -> str:
        return (when.astimezone(UTC) + shift).date().isoformat()

    volume: dict[int, Counter[str]] = defaultdict(Counter)
    for m in mentions:
        when = m.created_at.replace(tzinfo=UTC) if m.created_at.tzinfo is None else m.created_at
        if when >= since:
            volume[m.topic_id][day(when)] += 1
    sentiment: dict[str, Counter[str]] = defaultdict(Counter)
    people: Counter[tuple[str, str]] = Counter()
    all_posts = 0
    for p in posts:
        if p.id not in in_topics:
            continue
        all_posts += 1
        when = p.created_at.replace(tzinfo=UTC) if p.created_at.tzinfo is None else p.created_at
        if when < since:
            continue
        label = ((p.analysis or {}).get("sentiment") or {}).get("label") or "unknown"
        if p.duplicate_of is None:
            sentiment[label][day(when)] += 1
        if not p.is_own and p.author_handle is not None:
            people[(p.source, p.author_handle)] += 1
    top = sorted(people.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        "volume": {tid: dict(volume[tid]) for tid in topics},
        "sentiment": {k: dict(v) for k, v in sentiment.items() if v},
        "people": [(s, h, n) for (s, h), n in top],
        "per_topic": Counter(m.topic_id for m in mentions),
        "all_posts": all_posts,
    }


def _check(repo: Repository, ws: int) -> None:
    engine = repo.engine
    for days, offset in ((30, 0), (7, 0), (90, 5), (30, -3), (366, 14)):
        want = _direct(engine, ws, days, offset)
        got = dashboard(engine, ws, days, offset_hours=offset)
        assert got.volume == want["volume"], (days, offset)
        assert {k: v for k, v in got.sentiment.items() if v} == want["sentiment"], (days, offset)
        assert [(p["source"], p["handle"], p["posts"]) for p in got.top_people] == want["people"]
        assert set(got.days) >= {d for v in want["volume"].values() for d in v}
    counts = mention_counts(engine, ws)
    names = repo.topic_names(ws)
    assert counts["topics"] == {names[t]: n for t, n in want["per_topic"].items()}
    assert counts["mentions"] == want["all_posts"]
    # what the upkeep left is exactly what a rebuild from scratch gives
    before = _snapshot(engine)
    with engine.begin() as conn:
        rebuild(conn, ws)
    assert _snapshot(engine) == before


def _snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            t: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))) for t in ROLLUPS
        }


@pytest.fixture
def brand(repo: Repository, settings: Settings) -> int:
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "Brightloaf", TopicKind.BRAND, "brightloaf")
    repo.add_topic(ws, "Crumbco", TopicKind.COMPETITOR, "crumbco")
    repo.add_topic(ws, "Sourdough", TopicKind.INDUSTRY, "sourdough")
    # another workspace's posts must never count here
    other = repo.add_workspace("Other").id
    repo.add_topic(other, "Brightloaf", TopicKind.BRAND, "brightloaf")
    Ingestor(repo, settings).ingest(other, _items(1, 20))
    Ingestor(repo, settings).ingest(ws, _items(1, 120))
    return ws


def test_rollups_follow_ingest_edits_corrections_reanalysis_and_topic_removal(
    repo: Repository, settings: Settings, brand: int
) -> None:
    ws = brand
    _check(repo, ws)
    assert mention_counts(repo.engine, ws)["mentions"] > 80  # the data is not trivial

    # edits: the same ids come back with other texts, 30 hours earlier (other topics, labels)
    Ingestor(repo, settings).ingest(ws, _items(40, 50, edit=True))
    _check(repo, ws)

    # corrections, one of them corrected twice
    posts = repo.recent_posts(ws, 30)
    for p, label in zip(posts, ["negative", "positive", "neutral"] * 10, strict=False):
        repo.correct_label(ws, p.id, "sentiment", label, who="ana")
    repo.correct_label(ws, posts[0].id, "sentiment", "positive", who="ben")
    _check(repo, ws)

    # a model upgrade: stale labels written, then everything re-scored (corrections win)
    repo.write_analysis(ws, {p.id: {"sentiment": {"label": "neutral"}} for p in posts[:20]})
    _check(repo, ws)
    reanalyse(repo, ws, TextAnalyzer(settings.sentiment), everything=True, batch_size=16)
    _check(repo, ws)

    # removing a topic takes its mentions, and posts only it matched, out of every figure
    repo.remove_topic(ws, "Crumbco")
    _check(repo, ws)


def test_rebuild_command_restores_lost_rollups(
    repo: Repository,
    brand: int,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = _snapshot(repo.engine)
    with repo.engine.begin() as conn:
        for t in ROLLUPS:
            conn.execute(text(f"DELETE FROM {t}"))
    assert dashboard(repo.engine, brand, 30).top_people == []
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["rollups", "rebuild"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "2 workspaces" in result.output
    assert _snapshot(repo.engine) == good
    _check(repo, brand)


def test_day_of_an_offset_is_exact_and_offsets_are_checked(repo: Repository, brand: int) -> None:
    got = dashboard(repo.engine, brand, 2, offset_hours=-11)
    assert got.days[-1] == (datetime.now(UTC) - timedelta(hours=11)).date().isoformat()
    assert date.fromisoformat(got.days[0]) == date.fromisoformat(got.days[-1]) - timedelta(days=1)
    with pytest.raises(ValueError, match="between -14 and 14"):
        dashboard(repo.engine, brand, 7, offset_hours=15)


def test_top_people_when_the_loudest_of_all_time_are_quiet_now(
    repo: Repository, settings: Settings
) -> None:
    """More authors than the first look reads, the loudest of all time silent this week: the
    threshold pass must still find this week's top, exactly."""
    ws = repo.add_workspace("Loud").id
    repo.add_topic(ws, "Brightloaf", TopicKind.BRAND, "brightloaf")
    items = []
    for a in range(55):  # 55 authors, 4 posts each two months ago
        for k in range(4):
            when = NOW - timedelta(days=60, hours=k)
            items.append(_post(1000 + a * 10 + k, f"brightloaf {a} {k}", when, f"old{a}"))
    for a in range(12):  # 12 authors with 1..12 posts this week
        for k in range(a + 1):
            when = NOW - timedelta(days=k % 6, hours=a)
            items.append(_post(5000 + a * 100 + k, f"brightloaf new {a} {k}", when, f"new{a}"))
    Ingestor(repo, settings).ingest(ws, items)
    week = dashboard(repo.engine, ws, 7).top_people
    assert [p["handle"] for p in week][:3] == ["new11", "new10", "new9"]
    _check(repo, ws)


def _starts(engine: Engine, ws: int) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT days, start_hour FROM rollup_people_window_starts"
                    " WHERE workspace_id = :w"
                ),
                {"w": ws},
            ).all()
        )


def test_windows_move_with_the_day_and_stay_exact(
    repo: Repository, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows created days ago start too early; the first write of a later day moves each
    start and takes the hours it left behind away: the result is what a rebuild today counts,
    through new posts, edits that move posts across the old and new starts, and corrections."""
    then = datetime.now(UTC) - timedelta(days=3)
    monkeypatch.setattr(rollup_windows, "clock", lambda: then)
    ws = repo.add_workspace("Days").id
    repo.add_topic(ws, "Brightloaf", TopicKind.BRAND, "brightloaf")
    repo.add_topic(ws, "Crumbco", TopicKind.COMPETITOR, "crumbco")
    Ingestor(repo, settings).ingest(ws, _items(1, 120))
    assert _starts(repo.engine, ws) == {d: start_for(d, then) for d in WINDOW_DAYS}
    monkeypatch.undo()
    # a later day: edits move posts 30 hours back, across the windows' old and new starts
    Ingestor(repo, settings).ingest(ws, _items(40, 50, edit=True))
    assert _starts(repo.engine, ws) == {d: start_for(d, datetime.now(UTC)) for d in WINDOW_DAYS}
    _check(repo, ws)  # dashboard against direct counts, and the windows against a rebuild
    posts = repo.recent_posts(ws, 10)
    repo.remove_topic(ws, "Crumbco")
    repo.correct_label(ws, posts[0].id, "sentiment", "negative", who="ana")
    _check(repo, ws)


def test_top_people_of_many_equally_active_authors_uses_a_window(
    repo: Repository, settings: Settings
) -> None:
    """Everyone posts about as much: more authors could be in the top than the first look
    reads, and the window (not all-time totals) bounds them; the top must still be exact, ties
    broken by (source, handle)."""
    ws = repo.add_workspace("Flat").id
    repo.add_topic(ws, "Brightloaf", TopicKind.BRAND, "brightloaf")
    items = []
    i = 0
    for a in range(90):  # 90 authors: 2 or 3 posts over the last 20 days, 5 long ago
        recent = [NOW - timedelta(days=(a + k * 3) % 20, hours=k) for k in range(2 + a % 2)]
        old = [NOW - timedelta(days=200 + k) for k in range(5)]
        for when in recent + old:
            i += 1
            items.append(_post(i, f"brightloaf {a} {i}", when, f"flat{a:02d}"))
    Ingestor(repo, settings).ingest(ws, items)
    for days in (7, 30, 90):
        since = hour_of(dashboard(repo.engine, ws, days).since)
        with repo.engine.connect() as conn:
            assert window_for(conn, ws, since) is not None
    _check(repo, ws)


@pytest.mark.parametrize("offset", [-14, -11, 0, 5, 14])
def test_top_people_period_starts_at_local_midnight(
    repo: Repository, settings: Settings, offset: int
) -> None:
    """Days are UTC days, or those of a whole-hour offset: a post in the first hour of the
    period counts, one a moment before it does not, whichever window bounds the period."""
    ws = repo.add_workspace(f"Zone {offset}").id
    repo.add_topic(ws, "Brightloaf", TopicKind.BRAND, "brightloaf")
    since = dashboard(repo.engine, ws, 7, offset_hours=offset).since
    assert (since + timedelta(hours=offset)).time().isoformat() == "00:00:00"
    items = [
        _post(1, "brightloaf a", since, "inside"),
        _post(2, "brightloaf b", since + timedelta(minutes=59), "inside"),
    ] + [
        _post(i, f"brightloaf {i}", since - timedelta(microseconds=i), "outside")
        for i in (4, 5, 7)  # all on x
    ]
    Ingestor(repo, settings).ingest(ws, items)
    got = dashboard(repo.engine, ws, 7, offset_hours=offset)
    assert [(p["handle"], p["posts"]) for p in got.top_people] == [("inside", 2)]
    with repo.engine.connect() as conn:
        assert window_for(conn, ws, hour_of(since)) in WINDOW_DAYS
    # the day before is a period of 8 days: everyone counts
    with Session(repo.engine) as s:
        wider = top_people(s, ws, hour_of(since) - 1)
    assert [(p["handle"], p["posts"]) for p in wider] == [("outside", 3), ("inside", 2)]
