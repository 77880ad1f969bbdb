"""How often the brand sent each text, kept up to date by the inbox refresh.

Flagging templates ("be authentic") used to group every own post of the workspace by its text
on each metrics call, inbox page and reply: half a second at 40,000 own posts. The refresh
already reads the new posts, so it adds the own ones to ``inbox_sent_texts`` (one row per
normalised text) and a full refresh counts them again from scratch. Refreshes of one workspace
never add the same posts twice: each claims the refresh mark before it writes
(``Inbox._claim``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Connection, Table, bindparam, delete, select, update

from goodwill.inbox.templates import normalise_reply
from goodwill.inbox.threads import PostRow
from goodwill.store.inbox_tables import SentText

__all__ = ["add_sent", "recount_sent", "sent_at_least", "times_sent"]

_CHUNK = 500


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _count(rows: Iterable[PostRow]) -> Counter[str]:
    return Counter(n for r in rows if r.is_own and (n := normalise_reply(r.text)))


def recount_sent(conn: Connection, workspace_id: int, rows: Iterable[PostRow]) -> None:
    """Count again from every post of the workspace (``rows``: all of them)."""
    table = cast(Table, SentText.__table__)
    conn.execute(delete(table).where(table.c.workspace_id == workspace_id))
    values = [
        {"workspace_id": workspace_id, "text_hash": _hash(t), "text": t, "sent": n}
        for t, n in _count(rows).items()
    ]
    if values:
        conn.execute(table.insert(), values)


def add_sent(conn: Connection, workspace_id: int, new_rows: Iterable[PostRow]) -> None:
    """Add posts stored since the last refresh (each counted once: only new posts here)."""
    table = cast(Table, SentText.__table__)
    counts = {_hash(t): (t, n) for t, n in _count(new_rows).items()}
    keys = sorted(counts)
    known: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        known.update(
            conn.scalars(
                select(table.c.text_hash).where(
                    table.c.workspace_id == workspace_id,
                    table.c.text_hash.in_(keys[i : i + _CHUNK]),
                )
            )
        )
    more = [{"b_hash": k, "b_n": counts[k][1]} for k in keys if k in known]
    if more:
        conn.execute(
            update(table)
            .where(table.c.workspace_id == workspace_id, table.c.text_hash == bindparam("b_hash"))
            .values(sent=table.c.sent + bindparam("b_n")),
            more,
        )
    fresh = [
        {"workspace_id": workspace_id, "text_hash": k, "text": counts[k][0], "sent": counts[k][1]}
        for k in keys
        if k not in known
    ]
    if fresh:
        conn.execute(table.insert(), fresh)


def sent_at_least(conn: Connection, workspace_id: int, threshold: int) -> list[tuple[str, int]]:
    """Normalised texts sent ``threshold`` times or more, with their count."""
    q = select(SentText.text, SentText.sent).where(
        SentText.workspace_id == workspace_id, SentText.sent >= threshold
    )
    return [(t, n) for t, n in conn.execute(q)]


def times_sent(conn: Connection, workspace_id: int, texts: Iterable[str]) -> dict[str, int]:
    """How many times each normalised text was sent (absent: never)."""
    by_hash = {_hash(t): t for t in texts}
    keys = sorted(by_hash)
    out: dict[str, int] = {}
    for i in range(0, len(keys), _CHUNK):
        q = select(SentText.text_hash, SentText.sent).where(
            SentText.workspace_id == workspace_id, SentText.text_hash.in_(keys[i : i + _CHUNK])
        )
        out.update((by_hash[h], n) for h, n in conn.execute(q))
    return out
