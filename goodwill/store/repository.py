"""Workspace-scoped reads and writes: the one gate every query about user data goes through.

Each function takes the workspace it acts for and filters on it; none accepts a bare id of a
topic, source or post without also checking that it belongs to that workspace. Callers never
write their own ``select`` against user tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goodwill.domain import INTENT_LABELS, SENTIMENT_LABELS, TopicKind
from goodwill.store.corrections import corrected, latest_corrections
from goodwill.store.db import writer
from goodwill.store.rollup_windows import rebuild_windows
from goodwill.store.rollups import effective_sentiment, kept_exact, rebuild
from goodwill.store.search import MANY_HITS, search_condition, sqlite_hit_count
from goodwill.store.tables import Correction, Mention, Post, Source, Topic, Workspace

__all__ = [
    "CORRECTABLE",
    "MentionFilter",
    "MentionPage",
    "NotFound",
    "Repository",
    "StoreError",
    "effective_sentiment",
]


CORRECTABLE: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENT_LABELS, "intent": INTENT_LABELS}
"""Analysis fields a user may correct, with the labels each accepts."""


class StoreError(ValueError):
    """A request the store refuses, with a message fit for the user."""


class NotFound(StoreError):
    pass


@dataclass(slots=True)
class MentionFilter:
    topic_ids: Sequence[int] = ()
    search: str | None = None
    source: str | None = None
    lang: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    own: bool | None = None
    include_duplicates: bool = False
    sentiment: str | None = None
    """negative, neutral or positive: a person's correction when there is one, else the model's."""
    intent: str | None = None


@dataclass(slots=True)
class MentionPage:
    posts: list[Post]
    topics: dict[int, list[int]]
    next_before: tuple[datetime, int] | None
    repeats: dict[int, int]
    """Post id → how many reposts and copies were collapsed into it (absent: none)."""


class Repository:
    """Data access for one install; every method names the workspace it acts for."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- workspaces ---------------------------------------------------------------------------
    def add_workspace(self, name: str, *, default: bool = False) -> Workspace:
        name = name.strip()
        if not name:
            raise StoreError("a workspace needs a name")
        with self.session() as s, s.begin():
            if s.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
                raise StoreError(f"a workspace named {name!r} exists already")
            first = s.scalar(select(func.count()).select_from(Workspace)) == 0
            if default:
                s.query(Workspace).update({Workspace.is_default: False})
            ws = Workspace(name=name, is_default=default or first)
            s.add(ws)
            s.flush()
            rebuild_windows(s.connection(), ws.id)  # top people's windows, empty: no posts yet
        return ws

    def workspaces(self) -> list[Workspace]:
        with self.session() as s:
            return list(s.scalars(select(Workspace).order_by(Workspace.id)))

    def workspace(self, name: str | None = None) -> Workspace:
        """The named workspace; without a name, the only or the default one."""
        with self.session() as s:
            if name is not None:
                ws = s.scalar(select(Workspace).where(Workspace.name == name))
                if ws is None:
                    known = ", ".join(w.name for w in s.scalars(select(Workspace))) or "none yet"
                    raise NotFound(f"no workspace named {name!r} (known: {known})")
                return ws
            all_ws = list(s.scalars(select(Workspace).order_by(Workspace.id)))
        if not all_ws:
            raise NotFound(
                "there is no workspace yet: create one with `goodwill workspaces add NAME`"
            )
        defaults = [w for w in all_ws if w.is_default]
        if len(all_ws) == 1 or defaults:
            return defaults[0] if defaults else all_ws[0]
        raise NotFound("several workspaces exist and none is the default: pass --workspace NAME")

    def rename_workspace(self, workspace_id: int, name: str) -> Workspace:
        name = name.strip()
        if not name:
            raise StoreError("a workspace needs a name")
        if len(name) > 200:
            raise StoreError("a workspace name has at most 200 characters")
        with self.session() as s, s.begin():
            ws = s.get(Workspace, workspace_id)
            if ws is None:
                raise NotFound(f"no workspace {workspace_id}")
            taken = s.scalar(
                select(Workspace.id).where(Workspace.name == name, Workspace.id != workspace_id)
            )
            if taken is not None:
                raise StoreError(f"a workspace named {name!r} exists already")
            ws.name = name
        return ws

    def delete_workspace(self, workspace_id: int) -> None:
        """Delete a workspace and everything in it, in one transaction: its topics, sources,
        posts (each workspace stores its own copy of a post it matched), mentions, corrections,
        conversations and notes, alert rules, endpoints and events, rollups and memberships,
        all by the foreign keys' ``ON DELETE CASCADE``. User accounts stay."""
        with writer(self.engine).begin() as conn:
            gone = conn.execute(delete(Workspace).where(Workspace.id == workspace_id))
            if not gone.rowcount:
                raise NotFound(f"no workspace {workspace_id}")

    def set_default_workspace(self, name: str) -> Workspace:
        ws = self.workspace(name)
        with self.session() as s, s.begin():
            s.query(Workspace).update({Workspace.is_default: Workspace.id == ws.id})
        ws.is_default = True
        return ws

    # -- topics -------------------------------------------------------------------------------
    def add_topic(self, workspace_id: int, name: str, kind: TopicKind, query: str) -> Topic:
        name = name.strip()
        if not name:
            raise StoreError("a topic needs a name")
        try:
            with self.session() as s, s.begin():
                topic = Topic(workspace_id=workspace_id, name=name, kind=kind.value, query=query)
                s.add(topic)
        except IntegrityError as exc:
            raise StoreError(f"this workspace already has a topic named {name!r}") from exc
        return topic

    def topics(self, workspace_id: int) -> list[Topic]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(Topic).where(Topic.workspace_id == workspace_id).order_by(Topic.id)
                )
            )

    def topic(self, workspace_id: int, name: str) -> Topic:
        with self.session() as s:
            topic = s.scalar(
                select(Topic).where(Topic.workspace_id == workspace_id, Topic.name == name)
            )
        if topic is None:
            raise NotFound(f"no topic named {name!r} in this workspace")
        return topic

    def update_topic(self, workspace_id: int, name: str, /, **changes: Any) -> Topic:
        topic = self.topic(workspace_id, name)
        with self.session() as s, s.begin():
            s.add(topic)
            for key, value in changes.items():
                if value is not None:
                    setattr(topic, key, value)
        return topic

    def remove_topic(self, workspace_id: int, name: str) -> None:
        topic = self.topic(workspace_id, name)
        with self.session() as s, s.begin():
            s.delete(s.get_one(Topic, topic.id))
            s.flush()
            # Its mentions went by cascade; which posts are still in some topic is easiest
            # (and, for a large topic, fastest) counted again from scratch.
            rebuild(s.connection(), workspace_id)

    def all_enabled_topics(self) -> list[Topic]:
        """Every workspace's topics, for the one matcher that serves them all (not user-facing)."""
        with self.session() as s:
            return list(s.scalars(select(Topic).where(Topic.enabled.is_(True)).order_by(Topic.id)))

    def topics_version(self) -> tuple[int, datetime | None]:
        """Changes whenever a topic is added, edited or removed: the matcher's cache key."""
        with self.session() as s:
            row = s.execute(select(func.count(Topic.id), func.max(Topic.updated_at))).one()
            return int(row[0]), row[1]

    # -- sources ------------------------------------------------------------------------------
    def add_source(
        self, workspace_id: int, kind: str, name: str, config: dict[str, Any], interval: float
    ) -> Source:
        try:
            with self.session() as s, s.begin():
                src = Source(
                    workspace_id=workspace_id,
                    kind=kind,
                    name=name,
                    config=config,
                    interval_s=interval,
                )
                s.add(src)
        except IntegrityError as exc:
            raise StoreError(f"this workspace already has a source named {name!r}") from exc
        return src

    def sources(self, workspace_id: int | None) -> list[Source]:
        """One workspace's sources; ``None`` means every workspace (for the listener only)."""
        with self.session() as s:
            q = select(Source).order_by(Source.id)
            if workspace_id is not None:
                q = q.where(Source.workspace_id == workspace_id)
            return list(s.scalars(q))

    def source(self, workspace_id: int, name: str) -> Source:
        with self.session() as s:
            src = s.scalar(
                select(Source).where(Source.workspace_id == workspace_id, Source.name == name)
            )
        if src is None:
            raise NotFound(f"no source named {name!r} in this workspace")
        return src

    def update_source(self, workspace_id: int, source_id: int, **values: Any) -> None:
        # A write transaction from the start (BEGIN IMMEDIATE on SQLite): read-then-write in a
        # deferred one fails with "database is locked" when the ingest thread commits between.
        with Session(writer(self.engine), expire_on_commit=False) as s, s.begin():
            src = s.scalar(
                select(Source).where(Source.id == source_id, Source.workspace_id == workspace_id)
            )
            if src is None:
                raise NotFound(f"no source {source_id} in this workspace")
            for key, value in values.items():
                setattr(src, key, value)

    def remove_source(self, workspace_id: int, source_id: int) -> None:
        with self.session() as s, s.begin():
            src = s.scalar(
                select(Source).where(Source.id == source_id, Source.workspace_id == workspace_id)
            )
            if src is None:
                raise NotFound(f"no source {source_id} in this workspace")
            s.delete(src)

    # -- mentions -----------------------------------------------------------------------------
    def _mention_conditions(
        self, workspace_id: int, f: MentionFilter, *, many_hits: bool = False
    ) -> list[Any]:
        conds: list[Any] = [Post.workspace_id == workspace_id]
        in_topic = select(Mention.post_id).where(
            Mention.post_id == Post.id, Mention.workspace_id == workspace_id
        )
        if f.topic_ids:
            in_topic = in_topic.where(Mention.topic_id.in_(list(f.topic_ids)))
        conds.append(exists(in_topic))
        if not f.include_duplicates:
            conds.append(Post.duplicate_of.is_(None))
        if f.search:
            conds.append(search_condition(self.engine.dialect.name, f.search, many_hits=many_hits))
        if f.source:
            conds.append(Post.source == f.source)
        if f.lang:
            conds.append(Post.lang == f.lang.lower())
        if f.since:
            conds.append(Post.created_at >= f.since)
        if f.until:
            conds.append(Post.created_at < f.until)
        if f.own is not None:
            conds.append(Post.is_own.is_(f.own))
        if f.sentiment:
            conds.append(effective_sentiment() == f.sentiment)
        if f.intent:
            # ``analysis.intent`` is a label, or {label, confidence} like sentiment.
            intent = func.coalesce(
                Post.analysis[("intent", "label")].as_string(),
                Post.analysis[("intent",)].as_string(),
            )
            conds.append(intent == f.intent)
        return conds

    def post(self, workspace_id: int, post_id: int) -> Post:
        with self.session() as s:
            post = s.scalar(
                select(Post).where(Post.id == post_id, Post.workspace_id == workspace_id)
            )
        if post is None:
            raise NotFound(f"no post {post_id} in this workspace")
        return post

    def mentions(
        self,
        workspace_id: int,
        f: MentionFilter,
        *,
        limit: int = 50,
        before: tuple[datetime, int] | None = None,
    ) -> MentionPage:
        """Newest first, with keyset pagination (``before`` is the last row's (time, id))."""
        many_hits = False
        if f.search and self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                many_hits = sqlite_hit_count(conn, f.search) > MANY_HITS
        conds = self._mention_conditions(workspace_id, f, many_hits=many_hits)
        if before is not None:
            conds.append(
                (Post.created_at < before[0])
                | ((Post.created_at == before[0]) & (Post.id < before[1]))
            )
        with self.session() as s:
            posts = list(
                s.scalars(
                    select(Post)
                    .where(*conds)
                    .order_by(Post.created_at.desc(), Post.id.desc())
                    .limit(limit + 1)
                )
            )
            more = len(posts) > limit
            posts = posts[:limit]
            topics: dict[int, list[int]] = {p.id: [] for p in posts}
            if posts:
                for post_id, topic_id in s.execute(
                    select(Mention.post_id, Mention.topic_id)
                    .where(Mention.workspace_id == workspace_id)
                    .where(Mention.post_id.in_(list(topics)))
                    .order_by(Mention.topic_id)
                ):
                    topics[post_id].append(topic_id)
                # Derived, not stored: counting through the partial index on duplicate_of is
                # cheap for one page, and no write ever has to update the original.
                repeats = {
                    original: int(n)
                    for original, n in s.execute(
                        select(Post.duplicate_of, func.count())
                        .where(Post.workspace_id == workspace_id)
                        .where(Post.duplicate_of.in_(list(topics)))
                        .group_by(Post.duplicate_of)
                    )
                    if original is not None
                }
            else:
                repeats = {}
        last = posts[-1] if posts else None
        return MentionPage(
            posts,
            topics,
            (last.created_at, last.id) if more and last is not None else None,
            repeats,
        )

    def count_mentions(self, workspace_id: int, f: MentionFilter) -> dict[str, Any]:
        """Total mentions (reposts included, as volume), distinct posts shown, and per topic."""
        with self.session() as s:
            shown = s.scalar(
                select(func.count())
                .select_from(Post)
                .where(*self._mention_conditions(workspace_id, f))
            )
            volume_filter = MentionFilter(**{**_asdict(f), "include_duplicates": True})
            volume = s.scalar(
                select(func.count())
                .select_from(Post)
                .where(*self._mention_conditions(workspace_id, volume_filter))
            )
            per_topic = {}
            for topic in self.topics(workspace_id):
                if f.topic_ids and topic.id not in f.topic_ids:
                    continue
                topic_filter = MentionFilter(**{**_asdict(volume_filter), "topic_ids": [topic.id]})
                per_topic[topic.name] = s.scalar(
                    select(func.count())
                    .select_from(Post)
                    .where(*self._mention_conditions(workspace_id, topic_filter))
                )
        return {"mentions": volume, "unique": shown, "topics": per_topic}

    def post_topics(self, workspace_id: int, post_ids: Sequence[int]) -> dict[int, list[int]]:
        """Post id → the ids of the topics it matched (posts of other workspaces: none)."""
        out: dict[int, list[int]] = {}
        with self.session() as s:
            for post_id, topic_id in s.execute(
                select(Mention.post_id, Mention.topic_id)
                .where(Mention.workspace_id == workspace_id, Mention.post_id.in_(list(post_ids)))
                .order_by(Mention.topic_id)
            ):
                out.setdefault(post_id, []).append(topic_id)
        return out

    def repeat_counts(self, workspace_id: int, post_ids: Sequence[int]) -> dict[int, int]:
        """Original post id → how many reposts and copies were folded into it (none: absent)."""
        with self.session() as s:
            return {
                original: int(n)
                for original, n in s.execute(
                    select(Post.duplicate_of, func.count())
                    .where(Post.workspace_id == workspace_id)
                    .where(Post.duplicate_of.in_(list(post_ids)))
                    .group_by(Post.duplicate_of)
                )
                if original is not None
            }

    def recent_posts(self, workspace_id: int, limit: int) -> list[Post]:
        """The newest originals, matched or not: what a topic being edited is previewed on."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Post)
                    .where(Post.workspace_id == workspace_id, Post.duplicate_of.is_(None))
                    .order_by(Post.created_at.desc(), Post.id.desc())
                    .limit(limit)
                )
            )

    def post_count(self, workspace_id: int) -> int:
        with self.session() as s:
            return int(
                s.scalar(
                    select(func.count()).select_from(Post).where(Post.workspace_id == workspace_id)
                )
                or 0
            )

    def topic_names(self, workspace_id: int) -> dict[int, str]:
        return {t.id: t.name for t in self.topics(workspace_id)}

    # -- re-analysis ---------------------------------------------------------------------------
    def analysis_page(
        self, workspace_id: int, *, after_id: int, limit: int
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """``(post id, text, analysis)`` of the workspace's posts with an id above
        ``after_id``, in id order: one page of a walk that can stop and resume anywhere."""
        with self.session() as s:
            rows = s.execute(
                select(Post.id, Post.text, Post.analysis)
                .where(Post.workspace_id == workspace_id, Post.id > after_id)
                .order_by(Post.id)
                .limit(limit)
            )
            return [(row.id, row.text, row.analysis or {}) for row in rows]

    def write_analysis(self, workspace_id: int, analyses: Mapping[int, dict[str, Any]]) -> None:
        """Store the models' new analysis of these posts, in one transaction, with users'
        corrections laid on top (``store.corrections``). Posts of other workspaces are left
        alone."""
        if not analyses:
            return
        posts = cast(Table, Post.__table__)
        with self.engine.begin() as conn, kept_exact(conn, workspace_id, list(analyses)):
            latest = latest_corrections(conn, workspace_id, list(analyses))
            conn.execute(
                update(posts)
                .where(posts.c.id == bindparam("_id"), posts.c.workspace_id == workspace_id)
                .values(analysis=bindparam("_analysis")),
                [
                    {"_id": post_id, "_analysis": corrected(analysis, latest.get(post_id, {}))}
                    for post_id, analysis in analyses.items()
                ],
            )

    # -- corrections --------------------------------------------------------------------------
    def correct_label(
        self, workspace_id: int, post_id: int, field: str, new: str, *, who: str
    ) -> Correction:
        """Record that a user set ``field`` (sentiment, intent) of a post to ``new``.

        The post's analysis shows the corrected label at once (confidence 1, ``corrected``);
        the correction row keeps what the model had said, for retraining.
        """
        labels = CORRECTABLE.get(field)
        if labels is None:
            raise StoreError(f"{field!r} cannot be corrected (use {', '.join(CORRECTABLE)})")
        if new not in labels:
            raise StoreError(f"{new!r} is not a {field} label (use {', '.join(labels)})")
        with self.session() as s, s.begin():
            post = s.scalar(
                select(Post).where(Post.id == post_id, Post.workspace_id == workspace_id)
            )
            if post is None:
                raise NotFound(f"no post {post_id} in this workspace")
            before = (post.analysis or {}).get(field)
            old = before.get("label") if isinstance(before, dict) else None
            with kept_exact(s.connection(), workspace_id, [post_id]):
                post.analysis = corrected(post.analysis or {}, {field: new})
                correction = Correction(
                    workspace_id=workspace_id,
                    post_id=post_id,
                    field=field,
                    old=old,
                    new=new,
                    who=who,
                )
                s.add(correction)
                s.flush()
        return correction

    def corrections(
        self, workspace_id: int, *, since: datetime | None = None
    ) -> list[tuple[Correction, Post]]:
        """A workspace's corrections, oldest first, each with its post."""
        q = (
            select(Correction, Post)
            .join(Post, Post.id == Correction.post_id)
            .where(Correction.workspace_id == workspace_id, Post.workspace_id == workspace_id)
            .order_by(Correction.created_at, Correction.id)
        )
        if since is not None:
            q = q.where(Correction.created_at >= since)
        with self.session() as s:
            return [(row[0], row[1]) for row in s.execute(q)]


def _asdict(f: MentionFilter) -> dict[str, Any]:
    return {name: getattr(f, name) for name in MentionFilter.__slots__}
