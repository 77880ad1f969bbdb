"""Writing a processed batch, its duplicates' links and its source cursor in ONE transaction.

This is the guarantee the listener and imports stand on: either the posts and the cursor that
follows them are both stored, or neither is. Uniqueness of (workspace, source, external id) is
the database's job; the few look-ups here are one query per batch, never one per post.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from goodwill.domain import Deletion
from goodwill.pipeline.batch import ProcessedPost
from goodwill.pipeline.dedupe import NEAR_DUPLICATE_SIMILARITY, similarity
from goodwill.store.corrections import corrected, latest_corrections
from goodwill.store.db import writer
from goodwill.store.deletion_tables import TOMBSTONE_DAYS, UNSTORED_TOMBSTONE, DeletedPost
from goodwill.store.people_tables import ForgottenIdentity, identity_hashes, text_hash
from goodwill.store.removal import clear_traces, remove_posts
from goodwill.store.rollups import Delta, apply, contributions
from goodwill.store.search import index_new_posts
from goodwill.store.tables import Mention, Post, PostBand, Source, utcnow

__all__ = ["WriteResult", "write_batch"]

# A band shared by very many posts says little (templated texts); the earliest few suffice.
MAX_CANDIDATES_PER_BAND = 20
POSTS = cast(Table, Post.__table__)
BANDS = cast(Table, PostBand.__table__)
MENTIONS = cast(Table, Mention.__table__)
P = POSTS.c


@dataclass(slots=True)
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    mentions: int = 0
    forgotten: int = 0
    """Posts by forgotten people (``people.privacy``), dropped before anything was stored."""
    deleted: int = 0
    """Stored posts removed because their network says they were deleted (all workspaces)."""
    already_deleted: int = 0
    """Posts of the batch dropped because a deletion of theirs came first (a tombstone)."""

    def add(self, other: WriteResult) -> None:
        self.forgotten += other.forgotten
        self.deleted += other.deleted
        self.already_deleted += other.already_deleted
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.duplicates += other.duplicates
        self.mentions += other.mentions


def _one_of(conn: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` as ONE bound parameter, however many values a batch brings.

    A plain ``IN (...)`` list needs chunking under the drivers' parameter limits and SQLAlchemy
    expands it anew for every statement (measured: a tenth of the ingest time). SQLite reads the
    list from a JSON array with ``json_each``; PostgreSQL takes an array with ``= ANY``.
    """
    if conn.dialect.name == "sqlite":
        listed = func.json_each(
            bindparam(None, _orjson_text(list(values)), type_=String)
        ).table_valued("value")
        return cast(ColumnElement[bool], column.in_(select(listed.c.value)))
    return cast(
        ColumnElement[bool],
        column == any_(bindparam(None, list(values), type_=ARRAY(column.type))),
    )


_UPDATED = [
    "url",
    "text",
    "created_at",
    "lang",
    "author_id",
    "author_handle",
    "author_name",
    "author_followers",
    "in_reply_to",
    "conversation_id",
    "likes",
    "shares",
    "replies",
    "is_own",
    "extra",
    "content_hash",
    "dedupe_key",
    "minhash",
    "updated_at",
]
"""What an edit of a stored post rewrites (and ``analysis`` when the post was analysed)."""
_NOT_UPDATED = frozenset(
    {
        "workspace_id",
        "source",
        "external_id",
        "source_id",
        "analysis",
        "duplicate_of",
        "ingested_at",
    }
)


def _row(
    item: ProcessedPost, workspace_id: int, source_id: int | None, now: datetime
) -> dict[str, Any]:
    post = item.post
    author = post.author
    extra = dict(post.extra)
    if item.detected_lang:
        extra["lang_detected"] = True
    return {
        "workspace_id": workspace_id,
        "source": post.source,
        "external_id": post.id,
        "source_id": source_id,
        "url": post.url,
        "text": post.text,
        "created_at": post.created_at,
        "lang": post.lang,
        "author_id": author.id if author else None,
        "author_handle": author.handle if author else None,
        "author_name": author.name if author else None,
        "author_followers": author.followers if author else None,
        "in_reply_to": post.in_reply_to,
        "conversation_id": post.conversation_id,
        "likes": post.metrics.likes,
        "shares": post.metrics.shares,
        "replies": post.metrics.replies,
        "is_own": post.is_own,
        "extra": extra,
        "analysis": item.analysis,
        "content_hash": item.content_hash,
        "dedupe_key": item.keys.exact,
        "minhash": item.keys.signature,
        "duplicate_of": None,
        "ingested_at": now,
        "updated_at": now,
    }


def _existing(
    conn: Connection, workspace_id: int, batch: Sequence[ProcessedPost]
) -> dict[tuple[str, str], tuple[int, str]]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for item in batch:
        by_source[item.post.source].append(item.post.id)
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for source, ids in by_source.items():
        rows = conn.execute(
            select(P.id, P.external_id, P.content_hash).where(
                P.workspace_id == workspace_id,
                P.source == source,
                _one_of(conn, P.external_id, ids),
            )
        )
        for row in rows:
            found[(source, row.external_id)] = (row.id, row.content_hash)
    return found


Ref = int | tuple[str, int]
"""An original: a stored post's id, or ("batch", i) for the i-th new post of this batch."""


class _Originals:
    """Finds, for each new post, the original it repeats: stored earlier or earlier in the batch."""

    def __init__(self, conn: Connection, workspace_id: int, new: Sequence[ProcessedPost]) -> None:
        self.by_key: dict[int, Ref] = {}
        self.by_band: dict[int, list[tuple[Ref, bytes]]] = defaultdict(list)
        keys = sorted({i.keys.exact for i in new if i.keys.exact is not None})
        rows = conn.execute(
            select(P.id, P.dedupe_key)
            .where(
                P.workspace_id == workspace_id,
                _one_of(conn, P.dedupe_key, keys),
                P.duplicate_of.is_(None),
            )
            .order_by(P.id)
        )
        for row in rows:
            self.by_key.setdefault(row.dedupe_key, row.id)
        # Near-duplicate candidates, only for posts that are not already exact repeats. Bands
        # are stored for originals only, so a candidate is always an original itself.
        bands = sorted(
            {
                band
                for i in new
                if not (i.keys.exact is not None and i.keys.exact in self.by_key)
                for band in i.keys.bands
            }
        )
        B = BANDS.c
        candidates: dict[int, list[int]] = defaultdict(list)
        # Sorted here rather than in SQL: the database only has to probe its index.
        hits = conn.execute(
            select(B.band, B.post_id).where(
                B.workspace_id == workspace_id, _one_of(conn, B.band, bands)
            )
        ).all()
        for band, post_id in sorted(hits):
            found = candidates[band]
            if len(found) < MAX_CANDIDATES_PER_BAND:
                found.append(post_id)
        signatures: dict[int, bytes] = {}
        wanted = sorted({post_id for found in candidates.values() for post_id in found})
        for row in conn.execute(select(P.id, P.minhash).where(_one_of(conn, P.id, wanted))):
            if row.minhash is not None:
                signatures[row.id] = row.minhash
        for band, found in candidates.items():
            self.by_band[band] = [(pid, signatures[pid]) for pid in found if pid in signatures]

    def find(self, item: ProcessedPost) -> Ref | None:
        keys = item.keys
        if keys.exact is not None and keys.exact in self.by_key:
            return self.by_key[keys.exact]
        if keys.signature is not None:
            by_band = self.by_band
            for band in keys.bands:
                for original, signature in by_band.get(band, ()):
                    if similarity(keys.signature, signature) >= NEAR_DUPLICATE_SIMILARITY:
                        return original
        return None

    def remember(self, item: ProcessedPost, ref: Ref) -> None:
        # Once per new original, eight bands each: the writer's busiest loop in Python.
        keys = item.keys
        if keys.exact is not None:
            self.by_key.setdefault(keys.exact, ref)
        if keys.signature is not None:
            entry = (ref, keys.signature)
            by_band = self.by_band
            for band in keys.bands:
                by_band[band].append(entry)


# ``stored_xact`` is left to the column's default: PostgreSQL fills in the storing transaction.
_POST_COLUMNS = [c.name for c in POSTS.columns if c.name not in {"id", "stored_xact"}]


def _orjson_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_DATETIME_AT = [
    i for i, c in enumerate(_POST_COLUMNS) if c in {"created_at", "ingested_at", "updated_at"}
]
_JSON_AT = [i for i, c in enumerate(_POST_COLUMNS) if c in {"extra", "analysis"}]


def _sqlite_time(value: datetime) -> str:
    """Naive UTC text, exactly as SQLAlchemy's DateTime stores it on SQLite (so it sorts)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class _SqliteTimes(dict[datetime, str]):
    """``_sqlite_time`` remembered for one batch: its rows share the batch's write time, and a
    post's time is written again with each of its mentions."""

    def __missing__(self, value: datetime) -> str:
        text = self[value] = _sqlite_time(value)
        return text


def _driver_rows(dialect: str, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """What SQLAlchemy's types would send, without their per-value overhead (the hot path):
    SQLite gets naive UTC text in exactly SQLAlchemy's format and JSON text; PostgreSQL gets
    aware datetimes and Jsonb."""
    out = []
    sqlite = dialect == "sqlite"
    times = _SqliteTimes()
    for row in rows:
        values = [row[c] for c in _POST_COLUMNS]
        for i in _DATETIME_AT:
            if sqlite:
                values[i] = times[values[i]]
        for i in _JSON_AT:
            values[i] = _orjson_text(values[i]) if sqlite else Jsonb(values[i], dumps=_orjson_text)
        out.append(values)
    return out


def _insert_plain(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """A multi-row insert of plain driver values, skipping SQLAlchemy's per-row processing
    (measured: a tenth of the ingest time went there for the band and mention rows)."""
    if not rows:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    conn.exec_driver_sql(
        # Table and column names come from our own definitions, never from input.
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join([mark] * len(columns))})",
        list(rows),
    )


def _execute_insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    dialect = conn.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    sql = (
        # Column names come from our own table definition, never from input.
        f"INSERT INTO posts ({', '.join(_POST_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join([mark] * len(_POST_COLUMNS))})"
    )
    conn.exec_driver_sql(sql, [tuple(values) for values in _driver_rows(dialect, rows)])


def _insert_posts(conn: Connection, workspace_id: int, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` and return their new ids, in order.

    A plain executemany and one keyed read-back per chunk: INSERT … RETURNING with ordered
    results makes SQLAlchemy send SQLite one statement per row, several times slower.
    """
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        # Within our write transaction (BEGIN IMMEDIATE) nobody else inserts, and SQLite gives
        # each new row max(rowid) + 1: the new ids are the next len(rows) integers. Checked,
        # with the keyed read-back below as the fallback should that ever not hold.
        before = conn.execute(select(func.coalesce(func.max(P.id), 0))).scalar_one()
        _execute_insert(conn, rows)
        after = conn.execute(select(func.max(P.id))).scalar_one()
        if after - before == len(rows):
            new_ids = list(range(before + 1, after + 1))
            index_new_posts(conn, new_ids)
            return new_ids
    else:
        _execute_insert(conn, rows)
    ids: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row["external_id"])
    for source, external_ids in by_source.items():
        for found in conn.execute(
            select(P.id, P.external_id).where(
                P.workspace_id == workspace_id,
                P.source == source,
                _one_of(conn, P.external_id, external_ids),
            )
        ):
            ids[(source, found.external_id)] = found.id
    new_ids = [ids[(row["source"], row["external_id"])] for row in rows]
    index_new_posts(conn, new_ids)
    return new_ids


def _without_forgotten(
    conn: Connection, workspace_id: int, batch: Sequence[ProcessedPost]
) -> list[ProcessedPost]:
    """``batch`` less the posts of forgotten people and copies of their words: one indexed
    query per batch, against the hashes of the batch's authors and texts
    (``forgotten_identities`` holds hashes only)."""
    F = ForgottenIdentity
    if (
        conn.execute(select(F.identity_hash).where(F.workspace_id == workspace_id).limit(1)).first()
        is None
    ):
        return list(batch)  # nobody forgotten here (the usual case): nothing to hash
    keys: dict[int, list[str]] = {}
    for i, item in enumerate(batch):
        author = item.post.author
        found = identity_hashes(item.post.source, author.id, author.handle) if author else []
        if item.keys.exact is not None:
            found.append(text_hash(item.keys.exact))
        keys[i] = found
    wanted = sorted({h for hs in keys.values() for h in hs})
    if not wanted:
        return list(batch)
    gone = set(
        conn.execute(
            select(F.identity_hash).where(
                F.workspace_id == workspace_id, _one_of(conn, F.identity_hash, wanted)
            )
        ).scalars()
    )
    if not gone:
        return list(batch)
    return [item for i, item in enumerate(batch) if not gone.intersection(keys.get(i, ()))]


def _without_deleted(
    conn: Connection, workspace_id: int, batch: Sequence[ProcessedPost]
) -> list[ProcessedPost]:
    """``batch`` less the posts whose deletion arrived before them (``deleted_posts``): one
    indexed probe per batch, and one query per source only when there are tombstones."""
    D = DeletedPost
    if (
        not batch
        or conn.execute(select(D.source).where(D.workspace_id == workspace_id).limit(1)).first()
        is None
    ):
        return list(batch)
    by_source: dict[str, list[str]] = defaultdict(list)
    for item in batch:
        by_source[item.post.source].append(item.post.id)
    gone: set[tuple[str, str]] = set()
    for source, ids in by_source.items():
        for external_id in conn.execute(
            select(D.external_id).where(
                D.workspace_id == workspace_id,
                D.source == source,
                _one_of(conn, D.external_id, ids),
            )
        ).scalars():
            gone.add((source, external_id))
    return [item for item in batch if (item.post.source, item.post.id) not in gone]


def _apply_deletions(conn: Connection, workspace_id: int, deletions: Sequence[Deletion]) -> int:
    """Remove the deleted posts from ``workspace_id`` (``store.removal``) and record their
    tombstones; how many stored posts went. Only the workspace whose source reported the
    deletion: a source's URL and credentials are its admins' to set (``deletion_tables``)."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for d in deletions:
        wanted[d.source].append(d.external_id)
    found: list[int] = []
    stored: set[tuple[str, str]] = set()
    for source, external_ids in wanted.items():
        for post_id, external_id in conn.execute(
            select(P.id, P.external_id).where(
                P.workspace_id == workspace_id,
                P.source == source,
                _one_of(conn, P.external_id, sorted(set(external_ids))),
            )
        ):
            found.append(post_id)
            stored.add((source, external_id))
    removed = 0
    if found:
        clear_traces(conn, workspace_id, found)
        removed = remove_posts(conn, workspace_id, found, promote_repeats=True)
    now = utcnow()
    long, short = now + timedelta(days=TOMBSTONE_DAYS), now + UNSTORED_TOMBSTONE
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    rows = [
        (workspace_id, s, e, now, long if (s, e) in stored else short)
        for s, e in sorted({(d.source, d.external_id) for d in deletions})
    ]
    conn.exec_driver_sql(
        # Table and column names are ours; the values are bound.
        f"INSERT INTO deleted_posts (workspace_id, source, external_id, deleted_at, kept_until) "  # noqa: S608
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) "
        "ON CONFLICT (workspace_id, source, external_id) DO NOTHING",
        [
            (w, s, e, _sqlite_time(at), _sqlite_time(until)) if sqlite else (w, s, e, at, until)
            for w, s, e, at, until in rows
        ],
    )
    conn.execute(delete(DeletedPost).where(DeletedPost.kept_until < now))
    return removed


def _write(
    conn: Connection,
    workspace_id: int,
    batch: Sequence[ProcessedPost],
    source_id: int | None,
    cursor: dict[str, Any] | None,
    deletions: Sequence[Deletion] = (),
) -> WriteResult:
    now = utcnow()
    result = WriteResult()
    kept = _without_forgotten(conn, workspace_id, batch)
    result.forgotten = len(batch) - len(kept)
    batch = _without_deleted(conn, workspace_id, kept)
    result.already_deleted = len(kept) - len(batch)
    existing = _existing(conn, workspace_id, batch)
    new: list[ProcessedPost] = []
    changed: list[tuple[int, ProcessedPost]] = []
    for item in batch:
        found = existing.get((item.post.source, item.post.id))
        if found is None:
            new.append(item)
        elif found[1] != item.content_hash:
            changed.append((found[0], item))
        else:
            result.unchanged += 1

    mention_rows: list[tuple[int, int, datetime]] = []

    def mentions_of(post_id: int, item: ProcessedPost) -> None:
        for topic_id in item.topic_ids:
            mention_rows.append((post_id, topic_id, item.post.created_at))

    # New posts: first decide which earlier post each one repeats (stored, or earlier in this
    # batch), then insert the originals, then the repeats linked to them: two statements.
    originals = _Originals(conn, workspace_id, new)
    refs: list[Ref | None] = []
    for i, item in enumerate(new):
        # The brand's own posts are never hidden as repeats: each reply we send answers someone
        # (sending the same template many times is flagged by the inbox, not collapsed here).
        ref = None if item.post.is_own else originals.find(item)
        refs.append(ref)
        if ref is None:
            originals.remember(item, ("batch", i))
    rows = [_row(item, workspace_id, source_id, now) for item in new]
    first = [i for i, ref in enumerate(refs) if ref is None]
    ids: dict[int, int] = dict(
        zip(first, _insert_posts(conn, workspace_id, [rows[i] for i in first]), strict=True)
    )
    later = []
    for i, ref in enumerate(refs):
        if ref is None:
            continue
        original = ids[ref[1]] if isinstance(ref, tuple) else ref
        rows[i]["duplicate_of"] = original
        later.append(i)
    ids.update(zip(later, _insert_posts(conn, workspace_id, [rows[i] for i in later]), strict=True))
    result.duplicates = len(later)
    band_rows = [(band, workspace_id, ids[i]) for i in first for band in new[i].keys.bands]
    # The rollups count new posts from the batch itself: one grouped upsert per rollup table.
    rollup = Delta()
    for i, item in enumerate(new):
        mentions_of(ids[i], item)
        author = item.post.author
        rollup.add_post(
            item.topic_ids,
            item.post.created_at,
            item.analysis,
            duplicate=refs[i] is not None,
            source=item.post.source,
            handle=author.handle if author else None,
            name=author.name if author else None,
            followers=author.followers if author else None,
            is_own=item.post.is_own,
        )
    result.inserted = len(new)

    changed_ids = [post_id for post_id, _ in changed]
    # Edited posts may change hour, mentions, label or author: what they counted for goes.
    before = contributions(conn, workspace_id, changed_ids) if changed else Delta()
    if changed:
        # An edited post is analysed again (its text changed); users' corrections are laid over
        # the new labels. Without analysis (switched off) the stored one is left as it was.
        latest = latest_corrections(
            conn, workspace_id, [post_id for post_id, item in changed if item.analysis]
        )
        for with_analysis in (True, False):
            params = [
                {
                    "_id": post_id,
                    **{
                        k: v
                        for k, v in _row(item, workspace_id, source_id, now).items()
                        if k not in _NOT_UPDATED
                    },
                    **(
                        {"analysis": corrected(item.analysis, latest.get(post_id, {}))}
                        if with_analysis
                        else {}
                    ),
                }
                for post_id, item in changed
                if bool(item.analysis) == with_analysis
            ]
            if not params:
                continue
            columns = [*_UPDATED, "analysis"] if with_analysis else _UPDATED
            conn.execute(
                update(Post)
                .where(P.id == bindparam("_id"))
                .values({name: bindparam(name) for name in columns}),
                params,
            )
        conn.execute(delete(Mention).where(_one_of(conn, Mention.post_id, changed_ids)))
        for post_id, item in changed:
            mentions_of(post_id, item)
        result.updated = len(changed)

    _insert_plain(conn, BANDS, ("band", "workspace_id", "post_id"), band_rows)
    times = _SqliteTimes()
    _insert_plain(
        conn,
        MENTIONS,
        ("post_id", "topic_id", "workspace_id", "created_at"),
        [
            (
                post_id,
                topic_id,
                workspace_id,
                times[created_at] if conn.dialect.name == "sqlite" else created_at,
            )
            for post_id, topic_id, created_at in mention_rows
        ],
    )
    result.mentions = len(mention_rows)
    if changed:
        rollup.plus(contributions(conn, workspace_id, changed_ids).minus(before))
    apply(conn, workspace_id, rollup)
    if deletions:
        # After the batch's own rows and counts: a post created and deleted within one page
        # is stored, then removed, in this one transaction.
        result.deleted = _apply_deletions(conn, workspace_id, deletions)
    if source_id is not None:
        values: dict[str, Any] = {
            "last_success_at": now,
            "posts_total": Source.posts_total + result.inserted,
        }
        if cursor is not None:
            values["cursor"] = cursor
        conn.execute(
            update(Source)
            .where(Source.id == source_id, Source.workspace_id == workspace_id)
            .values(values)
        )
    return result


def write_batch(
    engine: Engine,
    workspace_id: int,
    batch: Sequence[ProcessedPost],
    *,
    source_id: int | None = None,
    cursor: dict[str, Any] | None = None,
    deletions: Sequence[Deletion] = (),
) -> WriteResult:
    """Store ``batch`` and, with it, ``cursor`` as the source's new position, and apply
    ``deletions`` (posts deleted at their source, removed from this workspace).

    A concurrent writer that stored the same post first makes the transaction fail on the
    unique key; the batch is then simply written again, and now finds the post there.
    """
    for attempt in range(3):
        try:
            with writer(engine).begin() as conn:
                return _write(conn, workspace_id, batch, source_id, cursor, deletions)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
