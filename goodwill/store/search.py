"""Full-text search over stored posts: FTS5 on SQLite, tsvector on PostgreSQL.

Users type words, "quoted phrases" and ``prefix*``; every part must be present. The text is
parsed here into safe pieces and never handed to either engine's own query syntax, so no input
can raise a syntax error deep in the database.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import literal_column, select, text
from sqlalchemy.sql.elements import ColumnElement

from goodwill.store.tables import Post

__all__ = [
    "MANY_HITS",
    "SearchTerms",
    "index_new_posts",
    "parse_search",
    "search_condition",
    "sqlite_hit_count",
]

_PART = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


class SearchTerms:
    """Each part is a list of words that must follow each other; ``prefix`` marks ``word*``."""

    def __init__(self) -> None:
        self.parts: list[tuple[list[str], bool]] = []
        self.needs_substring: list[str] = []


def _is_unspaced_script(word: str) -> bool:
    # Chinese, Japanese and Thai are written without spaces; tokenizers see one long word, so
    # those parts are searched as substrings instead.
    return any(
        unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "THAI", "HANGUL"))
        for ch in word
    )


def parse_search(query: str) -> SearchTerms:
    terms = SearchTerms()
    for m in _PART.finditer(query):
        phrase, bare = m.group(1), m.group(2)
        raw = phrase if phrase is not None else bare
        words = _WORD.findall(raw)
        if not words:
            continue
        if any(_is_unspaced_script(w) for w in words):
            terms.needs_substring.append(raw.strip().strip("*"))
            continue
        prefix = bare is not None and bare.endswith("*")
        terms.parts.append((words, prefix))
    return terms


def _fts5_query(terms: SearchTerms) -> str:
    out = []
    for words, prefix in terms.parts:
        quoted = '"' + " ".join(w.replace('"', '""') for w in words) + '"'
        out.append(quoted + ("*" if prefix else ""))
    return " ".join(out)


def _tsquery(terms: SearchTerms) -> str:
    out = []
    for words, prefix in terms.parts:
        cleaned = [w.lower() for w in words]
        if prefix:
            cleaned[-1] += ":*"
        out.append("(" + " <-> ".join(cleaned) + ")")
    return " & ".join(out)


def index_new_posts(conn: Any, ids: Sequence[int]) -> None:
    """Add the newly inserted posts ``ids`` to SQLite's full-text index, in one statement.

    Whoever inserts posts calls this in the same transaction (the writer does; migration 0012
    says why there is no insert trigger). PostgreSQL indexes a generated column by itself.
    """
    if not ids or conn.dialect.name != "sqlite":
        return
    first, last = min(ids), max(ids)
    if last - first + 1 == len(ids):
        # The usual case: a batch's posts have consecutive ids, a range on the primary key.
        conn.exec_driver_sql(_INDEX_RANGE, (first, last))
    else:
        conn.exec_driver_sql(_INDEX_LISTED, (json.dumps(sorted(ids)),))


_INDEX_RANGE = (
    "INSERT INTO posts_fts(rowid, text, author_name, author_handle) "
    "SELECT id, text, author_name, author_handle FROM posts WHERE id BETWEEN ? AND ?"
)
_INDEX_LISTED = (
    "INSERT INTO posts_fts(rowid, text, author_name, author_handle) "
    "SELECT id, text, author_name, author_handle FROM posts "
    "WHERE id IN (SELECT value FROM json_each(?))"
)


#: Past this many full-text hits, a newest-first page is found faster by walking the posts in
#: time order and testing each against the hits than by fetching every hit and sorting them.
MANY_HITS = 2000


def sqlite_hit_count(conn: Any, query: str) -> int:
    """How many posts (of every workspace) the full-text index holds for ``query`` (SQLite)."""
    terms = parse_search(query)
    if not terms.parts:
        return 0
    return int(
        conn.execute(
            text("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH :q"),
            {"q": _fts5_query(terms)},
        ).scalar()
        or 0
    )


def search_condition(dialect: str, query: str, *, many_hits: bool = False) -> ColumnElement[bool]:
    """A WHERE condition on ``posts`` that keeps the posts matching ``query``.

    ``many_hits`` (SQLite): test each post against the hits instead of starting from them, so
    the planner walks the time index (``posts.id + 0`` keeps it from driving by the hits).
    """
    terms = parse_search(query)
    conds: list[Any] = []
    if terms.parts:
        if dialect == "sqlite":
            fts: Any = (
                select(literal_column("rowid"))
                .select_from(text("posts_fts"))
                .where(text("posts_fts MATCH :fts_q").bindparams(fts_q=_fts5_query(terms)))
            )
            conds.append((Post.id + 0).in_(fts) if many_hits else Post.id.in_(fts))
        else:
            conds.append(
                text("posts.search_vector @@ to_tsquery('simple', :ts_q)").bindparams(
                    ts_q=_tsquery(terms)
                )
            )
    for fragment in terms.needs_substring:
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(Post.text.like(f"%{escaped}%", escape="\\"))
    if not conds:
        # Nothing searchable (only punctuation): match nothing rather than everything.
        return Post.id.is_(None)
    result: ColumnElement[bool] = conds[0]
    for cond in conds[1:]:
        result = result & cond
    return result
