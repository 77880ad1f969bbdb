"""Ingest on SQLite and PostgreSQL: idempotent, edits update, repeats collapse, no loss on crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

import goodwill.store.writer as writer_module
from goodwill.domain import TopicKind
from goodwill.ingest import Ingestor
from goodwill.settings import Settings
from goodwill.store.repository import MentionFilter, Repository
from goodwill.store.search import index_new_posts
from goodwill.store.tables import Post, Source

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def post(i: int | str, text: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(i),
        "source": "x",
        "text": text,
        "created_at": (T0 + timedelta(minutes=int(str(i).strip("abc") or 0))).isoformat(),
        "author": {"id": f"u{i}", "handle": f"@user{i}"},
    }
    base.update(over)
    return base


def items(posts: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(f"line {n}", p) for n, p in enumerate(posts, 1)]


@pytest.fixture
def world(repo: Repository, settings: Settings) -> tuple[Repository, Ingestor, int]:
    ws = repo.add_workspace("Brightloaf")
    repo.add_topic(ws.id, "brand", TopicKind.BRAND, 'brightloaf OR "bright loaf" OR @brightloaf')
    repo.add_topic(ws.id, "delivery", TopicKind.INDUSTRY, "deliver* NEAR/3 late")
    return repo, Ingestor(repo, settings), ws.id


def count(repo: Repository, ws_id: int) -> int:
    with repo.session() as s:
        return int(
            s.scalar(select(func.count()).select_from(Post).where(Post.workspace_id == ws_id)) or 0
        )


def test_ingest_matches_topics_and_is_idempotent(world: tuple[Repository, Ingestor, int]) -> None:
    repo, ing, ws = world
    batch = [
        post(1, "Loving my Brightloaf sourdough today"),
        post(2, "the delivery was late again"),
        post(3, "nothing to see here, just weather"),
        post(4, "@brightloaf your delivery was late, two hours"),
    ]
    first = ing.ingest(ws, items(batch))
    assert (first.written.inserted, first.written.unchanged) == (4, 0)
    second = ing.ingest(ws, items(batch))
    assert (second.written.inserted, second.written.unchanged) == (0, 4)
    assert count(repo, ws) == 4
    counts = repo.count_mentions(ws, MentionFilter())
    assert counts["topics"] == {"brand": 2, "delivery": 2}
    assert counts["mentions"] == 3  # post 3 matches nothing, 4 matches both


def test_edited_post_updates_text_and_mentions(world: tuple[Repository, Ingestor, int]) -> None:
    repo, ing, ws = world
    ing.ingest(ws, items([post(1, "a plain post about bread")]))
    report = ing.ingest(ws, items([post(1, "edited: now it says Brightloaf")]))
    assert report.written.updated == 1
    page = repo.mentions(ws, MentionFilter())
    assert [p.text for p in page.posts] == ["edited: now it says Brightloaf"]
    assert count(repo, ws) == 1


def test_bad_rows_are_reported_and_good_rows_land(world: tuple[Repository, Ingestor, int]) -> None:
    _repo, ing, ws = world
    batch = [
        post(1, "Brightloaf one"),
        {"id": "2", "source": "x", "text": 5},
        post(3, "Brightloaf", created_at="nope"),
        "not an object",
        post(4, "Brightloaf four"),
    ]
    report = ing.ingest(ws, items(batch))
    assert report.written.inserted == 2
    problems = [str(p) for p in report.problems]
    assert problems[0].startswith("line 2 (id '2'): text: expected a string")
    assert problems[1].startswith("line 3 (id '3'): created_at:")
    assert problems[2] == "line 4: post: expected a JSON object, got str"


def test_reposts_and_near_duplicates_collapse_onto_the_original(
    world: tuple[Repository, Ingestor, int],
) -> None:
    repo, ing, ws = world
    original = (
        "Brightloaf just opened a new bakery on Main Street and the croissants are incredible"
    )
    batch = [
        post(1, original),
        post(2, "RT @user1: " + original),
        post(3, original.replace("incredible", "amazing") + " 🥐"),
        post(4, "Brightloaf opened somewhere, no idea what they sell"),
    ]
    report = ing.ingest(ws, items(batch))
    assert report.written.duplicates == 2
    shown = repo.mentions(ws, MentionFilter())
    assert sorted(p.external_id for p in shown.posts) == ["1", "4"]
    first = next(p for p in shown.posts if p.external_id == "1")
    assert shown.repeats == {first.id: 2}
    # A later batch repeating the same text links to the stored original.
    ing.ingest(ws, items([post(5, original + " https://t.example/abc")]))
    shown = repo.mentions(ws, MentionFilter())
    assert shown.repeats == {first.id: 3}
    assert repo.count_mentions(ws, MentionFilter())["mentions"] == 5


def test_short_common_replies_are_not_duplicates(world: tuple[Repository, Ingestor, int]) -> None:
    _repo, ing, ws = world
    report = ing.ingest(ws, items([post(1, "thanks Brightloaf!"), post(2, "thanks Brightloaf!")]))
    assert report.written.duplicates == 0


def test_workspaces_are_isolated(repo: Repository, settings: Settings) -> None:
    a = repo.add_workspace("A")
    b = repo.add_workspace("B")
    repo.add_topic(a.id, "t", TopicKind.BRAND, "bread")
    repo.add_topic(b.id, "t", TopicKind.BRAND, "cake")
    ing = Ingestor(repo, settings)
    ing.ingest(a.id, items([post(1, "bread and cake")]))
    ing.ingest(b.id, items([post(1, "bread and cake")]))  # same id, other workspace: allowed
    [pa] = repo.mentions(a.id, MentionFilter()).posts
    [pb] = repo.mentions(b.id, MentionFilter()).posts
    assert pa.id != pb.id
    assert repo.mentions(a.id, MentionFilter()).topics[pa.id] == [repo.topic(a.id, "t").id]
    assert repo.mentions(b.id, MentionFilter(topic_ids=[repo.topic(a.id, "t").id])).posts == []


def test_cursor_is_written_with_the_batch(world: tuple[Repository, Ingestor, int]) -> None:
    repo, ing, ws = world
    src = repo.add_source(ws, "rss", "feed", {"url": "https://example.com/feed"}, 900)
    ing.ingest(ws, items([post(1, "Brightloaf")]), source_id=src.id, cursor={"etag": "v1"})
    stored = repo.source(ws, "feed")
    assert stored.cursor == {"etag": "v1"} and stored.posts_total == 1
    ing.ingest(ws, [], source_id=src.id, cursor={"etag": "v2"})
    assert repo.source(ws, "feed").cursor == {"etag": "v2"}


def test_crash_mid_batch_loses_and_duplicates_nothing(
    world: tuple[Repository, Ingestor, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, ing, ws = world
    src = repo.add_source(ws, "rss", "feed", {"url": "https://example.com/feed"}, 900)
    original = "Brightloaf sourdough is the best thing that happened to this town in years"
    batch = [
        post(i, f"Brightloaf post number {i} with enough words to stand alone") for i in range(1, 6)
    ]
    batch.append(post(9, original))
    batch.append(post(10, "RT @user9: " + original))
    real_insert = writer_module._insert_posts
    calls = {"n": 0}

    def crashing_insert(conn: Any, workspace_id: int, rows: Any) -> Any:
        calls["n"] += 1
        ids = real_insert(conn, workspace_id, rows)
        if calls["n"] == 2:  # originals are in, the repeats go in now: crash here
            raise RuntimeError("power cut")
        return ids

    monkeypatch.setattr(writer_module, "_insert_posts", crashing_insert)
    with pytest.raises(RuntimeError, match="power cut"):
        ing.ingest(ws, items(batch), source_id=src.id, cursor={"page": 2})
    assert count(repo, ws) == 0
    assert repo.source(ws, "feed").cursor == {}
    monkeypatch.setattr(writer_module, "_insert_posts", real_insert)
    report = ing.ingest(ws, items(batch), source_id=src.id, cursor={"page": 2})
    assert report.written.inserted == 7 and report.written.duplicates == 1
    assert count(repo, ws) == 7
    assert repo.source(ws, "feed").cursor == {"page": 2}
    with repo.session() as s:
        assert s.scalar(select(Source.posts_total).where(Source.id == src.id)) == 7


def test_search_words_phrases_prefixes_and_cjk(world: tuple[Repository, Ingestor, int]) -> None:
    repo, ing, ws = world
    ing.ingest(
        ws,
        items(
            [
                post(1, "Brightloaf delivery was late, cold croissants"),
                post(2, "Brightloaf: the café crème was lovely"),
                post(3, "ブライトローフ Brightloaf のクロワッサン最高"),
                post(4, "Brightloaf delivered early, hot croissants"),
            ]
        ),
    )

    def ids(q: str) -> list[str]:
        return sorted(p.external_id for p in repo.mentions(ws, MentionFilter(search=q)).posts)

    assert ids("croissants") == ["1", "4"]
    assert ids('"cold croissants"') == ["1"]
    assert ids("deliver*") == ["1", "4"]
    assert ids("クロワッサン") == ["3"]
    assert ids('"unbalanced') == []
    assert ids("AND OR NOT ( ) * :") == []  # operators of the engines are just words here
    assert ids("@user2") == ["2"]  # author handles are searchable


def test_search_index_follows_new_repeated_and_edited_posts(
    world: tuple[Repository, Ingestor, int],
) -> None:
    """The writer indexes each batch's new posts itself (no insert trigger, migration 0012):
    originals, repeats and edits are all found, and SQLite's index agrees with the posts."""
    repo, ing, ws = world
    ing.settings.ingest_batch_size = 3  # several batches, repeats in a later one
    text = "Brightloaf rye loaf came out perfectly crusty this morning at the market stall"
    ing.ingest(
        ws,
        items(
            [post(i, f"Brightloaf batch post {i} about seeded baguettes") for i in range(1, 6)]
            + [post(6, text), post(7, "RT @user6: " + text)]
        ),
    )

    def ids(q: str) -> list[str]:
        found = repo.mentions(ws, MentionFilter(search=q, include_duplicates=True)).posts
        return sorted(p.external_id for p in found)

    assert ids("baguettes") == ["1", "2", "3", "4", "5"]
    assert ids("crusty") == ["6", "7"]
    ing.ingest(ws, items([post(3, "Brightloaf batch post 3 now about pretzels")]))
    assert ids("pretzels") == ["3"]
    assert ids("baguettes") == ["1", "2", "4", "5"]
    if repo.engine.dialect.name == "sqlite":
        with repo.engine.begin() as conn:
            # Raises "database disk image is malformed" if the index and the posts disagree.
            conn.exec_driver_sql(
                "INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)"
            )


def test_index_new_posts_takes_ranges_and_scattered_ids(
    world: tuple[Repository, Ingestor, int],
) -> None:
    repo, ing, ws = world
    if repo.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL indexes a generated column by itself")
    ing.ingest(ws, items([post(i, f"Brightloaf note {i} about rye") for i in range(1, 7)]))
    ids = sorted(p.id for p in repo.mentions(ws, MentionFilter(search="rye")).posts)
    assert len(ids) == 6
    with repo.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO posts_fts(posts_fts) VALUES ('delete-all')")
        index_new_posts(conn, ids[0::2])  # scattered ids
        index_new_posts(conn, ids[1:2])  # a range of one
    assert len(repo.mentions(ws, MentionFilter(search="rye")).posts) == 4
    with repo.engine.begin() as conn:
        index_new_posts(conn, ids[3:6:2])
        conn.exec_driver_sql("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)")
    assert sorted(p.id for p in repo.mentions(ws, MentionFilter(search="rye")).posts) == ids


def test_keyset_pagination_walks_everything_once(world: tuple[Repository, Ingestor, int]) -> None:
    repo, ing, ws = world
    ing.ingest(ws, items([post(i, f"Brightloaf number {i}") for i in range(1, 24)]))
    seen: list[str] = []
    before = None
    while True:
        page = repo.mentions(ws, MentionFilter(), limit=5, before=before)
        seen += [p.external_id for p in page.posts]
        if page.next_before is None:
            break
        before = page.next_before
    assert sorted(seen, key=int) == [str(i) for i in range(1, 24)]
    assert len(seen) == len(set(seen))


def test_language_is_detected_when_missing(world: tuple[Repository, Ingestor, int]) -> None:
    repo, ing, ws = world
    ing.ingest(
        ws,
        items(
            [
                post(1, "¿A qué hora abre la panadería de Brightloaf en Madrid mañana?"),
                post(2, "Brightloaf", lang="pt"),
                post(3, "Brightloaf 🥐"),
            ]
        ),
    )
    langs = {p.external_id: p.lang for p in repo.mentions(ws, MentionFilter()).posts}
    assert langs == {"1": "es", "2": "pt", "3": None}


def test_own_posts_are_never_hidden_as_repeats(world: tuple[Repository, Ingestor, int]) -> None:
    repo, ing, ws = world
    reply = "Sorry about that! Please DM us your order number and Brightloaf will sort it out today"
    batch = [post(i, reply, is_own=True, in_reply_to=str(100 + i)) for i in range(1, 4)]
    batch.append(post(7, "RT @brightloaf: " + reply))
    report = ing.ingest(ws, items(batch))
    assert report.written.duplicates == 1
    shown = repo.mentions(ws, MentionFilter())
    assert sorted(p.external_id for p in shown.posts) == ["1", "2", "3"]


def test_comparable_words_ignore_repost_marks_sigils_emoji_and_links() -> None:
    from goodwill.pipeline.dedupe import comparable_words
    from goodwill.text import tokens

    assert comparable_words(tokens("RT @bob: Brightloaf is great #bread 🔥 https://t.co/x")) == [
        "brightloaf",
        "is",
        "great",
        "bread",
    ]
    assert comparable_words(tokens("rt is a word here")) == ["rt", "is", "a", "word", "here"]
    assert comparable_words(tokens("🥐🥐 1️⃣")) == []
