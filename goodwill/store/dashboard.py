"""The dashboard's figures for one workspace and period, each in one grouped query.

Why grouped in the database: a month of a busy brand is hundreds of thousands of mentions; only
the per-day counts (a few hundred rows) leave the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, exists, func, select
from sqlalchemy.orm import Session

from goodwill.store.repository import effective_sentiment
from goodwill.store.tables import Mention, Post, Source, Topic, utcnow

__all__ = ["Dashboard", "dashboard", "mention_counts"]


def mention_counts(engine: Engine, workspace_id: int) -> dict[str, Any]:
    """Posts in any topic, and mentions per topic name (reposts included, as volume): the same
    figures as ``Repository.count_mentions`` without filters, from the mentions index alone."""
    with Session(engine) as s:
        names = dict(
            s.execute(select(Topic.id, Topic.name).where(Topic.workspace_id == workspace_id)).all()
        )
        per_topic = {
            names[tid]: int(n)
            for tid, n in s.execute(
                select(Mention.topic_id, func.count())
                .where(Mention.workspace_id == workspace_id)
                .group_by(Mention.topic_id)
            )
            if tid in names
        }
        total = s.scalar(
            select(func.count(func.distinct(Mention.post_id))).where(
                Mention.workspace_id == workspace_id
            )
        )
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


def _day(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)[:10]


def dashboard(engine: Engine, workspace_id: int, days: int) -> Dashboard:
    now = utcnow()
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_list = [(since + timedelta(days=i)).date().isoformat() for i in range(days)]
    with Session(engine) as s:
        topics = {
            t.id: {"id": t.id, "name": t.name, "kind": t.kind}
            for t in s.scalars(
                select(Topic).where(Topic.workspace_id == workspace_id).order_by(Topic.id)
            )
        }
        mention_day = func.date(Mention.created_at)
        volume: dict[int, dict[str, int]] = {tid: {} for tid in topics}
        for tid, day, n in s.execute(
            select(Mention.topic_id, mention_day, func.count())
            # Naming the topics lets the (workspace, topic, time) index seek each topic's period
            # instead of reading every mention of the workspace.
            .where(Mention.workspace_id == workspace_id, Mention.topic_id.in_(list(topics)))
            .where(Mention.created_at >= since)
            .group_by(Mention.topic_id, mention_day)
        ):
            if tid in volume:
                volume[tid][_day(day)] = int(n)

        in_topics = exists(
            select(Mention.post_id).where(
                Mention.post_id == Post.id, Mention.workspace_id == workspace_id
            )
        )
        post_day = func.date(Post.created_at)
        label = func.coalesce(effective_sentiment(), "unknown")
        sentiment: dict[str, dict[str, int]] = {
            k: {} for k in ("negative", "neutral", "positive", "unknown")
        }
        for lab, day, n in s.execute(
            select(label, post_day, func.count())
            .where(Post.workspace_id == workspace_id, Post.created_at >= since, in_topics)
            .where(Post.duplicate_of.is_(None))
            .group_by(label, post_day)
        ):
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

        people = s.execute(
            select(
                Post.source,
                Post.author_handle,
                func.max(Post.author_name),
                func.count(),
                func.max(Post.author_followers),
            )
            .where(Post.workspace_id == workspace_id, Post.created_at >= since, in_topics)
            .where(Post.is_own.is_(False), Post.author_handle.is_not(None))
            .group_by(Post.source, Post.author_handle)
            .order_by(func.count().desc())
            .limit(10)
        ).all()
        top_people = [
            {"source": src, "handle": h, "name": n, "posts": int(c), "followers": f}
            for src, h, n, c, f in people
        ]
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
    return Dashboard(since, day_list, volume, sentiment, share, top_people, sources, topics)
