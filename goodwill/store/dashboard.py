"""The dashboard's figures for one workspace and period, read from the rollups.

Why rollups: a month of a busy brand is hundreds of thousands of mentions, seconds to group in
SQLite; the rollups (``store.rollup_tables``, kept exact by ``store.rollups``) hold them already
counted per UTC hour, a few thousand rows a month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from goodwill.store.rollup_tables import (
    RollupPeopleHour,
    RollupPeopleTotal,
    RollupPeopleWindow,
    RollupPostHour,
    RollupTopicHour,
)
from goodwill.store.rollup_windows import window_for
from goodwill.store.rollups import hour_of
from goodwill.store.tables import Source, Topic, utcnow

__all__ = ["Dashboard", "dashboard", "mention_counts", "top_people"]

TH, PH, PPH, PPT = RollupTopicHour, RollupPostHour, RollupPeopleHour, RollupPeopleTotal
PPW = RollupPeopleWindow


def mention_counts(engine: Engine, workspace_id: int) -> dict[str, Any]:
    """Posts in any topic, and mentions per topic name (reposts included, as volume): the same
    figures as ``Repository.count_mentions`` without filters, from the rollups."""
    with Session(engine) as s:
        names = dict(
            s.execute(select(Topic.id, Topic.name).where(Topic.workspace_id == workspace_id)).all()
        )
        per_topic = {
            names[tid]: int(n)
            for tid, n in s.execute(
                select(TH.topic_id, func.sum(TH.n))
                .where(TH.workspace_id == workspace_id)
                .group_by(TH.topic_id)
            )
            if tid in names and n
        }
        total = s.scalar(select(func.sum(PH.n)).where(PH.workspace_id == workspace_id))
    return {"mentions": int(total or 0), "topics": per_topic}


@dataclass(slots=True)
class Dashboard:
    since: datetime
    days: list[str]
    volume: dict[int, dict[str, int]]
    """Topic id → day → mentions."""
    sentiment: dict[str, dict[str, int]]
    """Label (negative, neutral, positive, unknown) → day → posts."""
    share_of_voice: list[dict[str, Any]]
    top_people: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    topics: dict[int, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "days": self.days,
            "volume": [
                {"topic_id": tid, "topic": self.topics[tid]["name"], "by_day": by_day}
                for tid, by_day in self.volume.items()
            ],
            "sentiment": [
                {"label": label, "by_day": by_day} for label, by_day in self.sentiment.items()
            ],
            "share_of_voice": self.share_of_voice,
            "top_people": self.top_people,
            "sources": self.sources,
        }


EPOCH = date(1970, 1, 1)


def _day(day_number: int) -> str:
    return (EPOCH + timedelta(days=int(day_number))).isoformat()


def top_people(
    s: Session, workspace_id: int, since_hour: int, limit: int = 10
) -> list[dict[str, Any]]:
    """The authors with most posts in topics since ``since_hour``, exactly, without reading
    every author of the period; ties go to the smaller (source, handle).

    Nobody posts more in a period than over a wider span ending at the same time (the period
    runs on into the future, and so do the spans). So: count the period of the authors with
    most posts in the tightest such span kept (a window of ``store.rollup_windows`` that starts
    a day or two before the period, else all time), take the ``limit``-th best period count as
    a threshold, then count the period of every author whose span count reaches it (only they
    can be in the top) and rank those. How many that reads depends on how much wider the span
    is and how concentrated the voices are: a few hundred even when everyone posts alike.
    """
    days = window_for(s.connection(), workspace_id, since_hour)
    if days is None:
        span: Any = PPT
        in_span = [PPT.workspace_id == workspace_id]
    else:
        span = PPW
        in_span = [PPW.workspace_id == workspace_id, PPW.days == days]
    period = func.sum(PPH.n).label("posts")
    # One backward walk of the (workspace, [days,] n, source, handle) index, ties broken by key.
    by_span = (span.n.desc(), span.source.desc(), span.handle.desc())
    seeds = s.execute(
        select(span.source, span.handle, span.n).where(*in_span).order_by(*by_span).limit(limit * 5)
    ).all()
    seen = {(r.source, r.handle) for r in seeds}
    ranked = select(span.source, span.handle).where(*in_span).order_by(*by_span)
    ranked_seeds = ranked.limit(limit * 5).subquery()
    # The same authors as ``seeds``, counted over the period.
    counted = s.execute(
        select(PPH.source, PPH.handle, period)
        .join(
            ranked_seeds,
            (ranked_seeds.c.source == PPH.source) & (ranked_seeds.c.handle == PPH.handle),
        )
        .where(PPH.workspace_id == workspace_id, PPH.hour >= since_hour)
        .group_by(PPH.source, PPH.handle)
    ).all()
    best = sorted(((-int(c), src, h) for src, h, c in counted if c))
    threshold = -best[limit - 1][0] if len(best) >= limit else 1
    # Every author whose span count reaches the threshold is among the seeds when the seeds
    # are everyone, or the last seed's count is below it: their counts are the answer.
    covered = len(seeds) < limit * 5 or int(seeds[-1].n) < threshold
    if not covered:
        # The others who could still win: span counts between the threshold and the last
        # seed's (authors above it are seeds, counted already; ties are skipped here).
        for src, h, c in s.execute(
            select(PPH.source, PPH.handle, period)
            .join(span, (span.source == PPH.source) & (span.handle == PPH.handle))
            .where(*in_span, span.n >= threshold, span.n <= int(seeds[-1].n))
            .where(PPH.workspace_id == workspace_id, PPH.hour >= since_hour)
            .group_by(PPH.source, PPH.handle)
            .order_by(period.desc(), PPH.source, PPH.handle)
            .limit(limit + len(seeds))
        ):
            if (src, h) not in seen:
                best.append((-int(c), src, h))
        best.sort()
    top = best[:limit]
    names: dict[tuple[str, str], tuple[str | None, int | None]] = {}
    if top:
        for src, h, name, followers in s.execute(
            select(PPT.source, PPT.handle, PPT.name, PPT.followers).where(
                PPT.workspace_id == workspace_id,
                or_(*(and_(PPT.source == src, PPT.handle == h) for _, src, h in top)),
            )
        ):
            names[(src, h)] = (name, followers)
    return [
        {
            "source": src,
            "handle": h,
            "name": names.get((src, h), (None, None))[0],
            "posts": -c,
            "followers": names.get((src, h), (None, None))[1],
        }
        for c, src, h in top
    ]


def dashboard(engine: Engine, workspace_id: int, days: int, *, offset_hours: int = 0) -> Dashboard:
    """The figures of the last ``days`` days (today included), from the rollups.

    Days are UTC days, or those of a time zone ``offset_hours`` whole hours from UTC: the
    rollups count per UTC hour, so any whole-hour offset gives exact days.
    """
    if not -14 <= offset_hours <= 14:
        raise ValueError(f"offset_hours must be between -14 and 14, not {offset_hours}")
    shift = timedelta(hours=offset_hours)
    local_now = utcnow() + shift
    local_since = (local_now - timedelta(days=days - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    since = local_since - shift
    since_hour = hour_of(since)
    day_list = [(local_since + timedelta(days=i)).date().isoformat() for i in range(days)]
    with Session(engine) as s:
        topics = {
            t.id: {"id": t.id, "name": t.name, "kind": t.kind}
            for t in s.scalars(
                select(Topic).where(Topic.workspace_id == workspace_id).order_by(Topic.id)
            )
        }
        volume: dict[int, dict[str, int]] = {tid: {} for tid in topics}
        t_day = (TH.hour + offset_hours) // 24
        for tid, day, n in s.execute(
            select(TH.topic_id, t_day, func.sum(TH.n))
            .where(TH.workspace_id == workspace_id, TH.hour >= since_hour)
            .group_by(TH.topic_id, t_day)
        ):
            if tid in volume and n:
                volume[tid][_day(day)] = int(n)

        sentiment: dict[str, dict[str, int]] = {
            k: {} for k in ("negative", "neutral", "positive", "unknown")
        }
        p_day = (PH.hour + offset_hours) // 24
        for lab, day, n in s.execute(
            select(PH.sentiment, p_day, func.sum(PH.n))
            .where(PH.workspace_id == workspace_id, PH.hour >= since_hour)
            .where(PH.duplicate.is_(False))
            .group_by(PH.sentiment, p_day)
        ):
            if n:
                sentiment.setdefault(str(lab), {})[_day(day)] = int(n)

        voice = {
            tid: sum(volume[tid].values())
            for tid, t in topics.items()
            if t["kind"] in ("brand", "competitor")
        }
        total = sum(voice.values()) or 1
        share = [
            {**topics[tid], "mentions": n, "share": round(n / total, 4)} for tid, n in voice.items()
        ]
        people = top_people(s, workspace_id, since_hour)
        sources = [
            {
                "id": src.id,
                "name": src.name,
                "kind": src.kind,
                "enabled": src.enabled,
                "last_success_at": src.last_success_at.isoformat() if src.last_success_at else None,
                "last_error": src.last_error,
                "consecutive_failures": src.consecutive_failures,
                "posts_total": src.posts_total,
            }
            for src in s.scalars(
                select(Source).where(Source.workspace_id == workspace_id).order_by(Source.id)
            )
        ]
    return Dashboard(since, day_list, volume, sentiment, share, people, sources, topics)
