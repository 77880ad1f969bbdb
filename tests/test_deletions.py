"""Deletions at the source, through the real writer, on SQLite and PostgreSQL: a deleted post
leaves the mentions, search, rollups, inbox and people; its repeats stay, the earliest
promoted to original; a deletion of a post never stored changes nothing; a deletion that comes
before its post keeps the post out; only the workspace whose source reported the deletion
loses the post (a source's URL is its workspace admins' to set)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from goodwill.domain import Deletion, TopicKind
from goodwill.inbox import Inbox
from goodwill.ingest import Ingestor
from goodwill.people import People
from goodwill.settings import Settings
from goodwill.store.deletion_tables import DeletedPost, StalePerson
from goodwill.store.inbox_tables import Conversation
from goodwill.store.removal import DELETED_PREVIEW
from goodwill.store.repository import MentionFilter, Repository
from goodwill.store.rollups import rebuild
from goodwill.store.tables import Mention, Post, PostBand

ROLLUPS = ("rollup_topic_hours", "rollup_post_hours", "rollup_people_hours", "rollup_people_totals")
NOW = datetime.now(UTC).replace(microsecond=0)
WORDS = "Brightloaf sourdough arrived stale and the crust was burnt again this week"


def post(pid: str, body: str, minutes: int, author: str, **extra: Any) -> tuple[str, Any]:
    return (
        pid,
        {
            "id": pid,
            "source": "mastodon",
            "text": body,
            "created_at": (NOW - timedelta(minutes=minutes)).isoformat(),
            "author": {"id": f"a-{author}", "handle": f"@{author}", "name": author.title()},
            **extra,
        },
    )


def snapshot(repo: Repository) -> dict[str, list[Any]]:
    with repo.engine.connect() as conn:
        return {
            t: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))) for t in ROLLUPS
        }


def assert_rollups_exact(repo: Repository) -> None:
    before = snapshot(repo)
    with repo.engine.begin() as conn:
        rebuild(conn)
    assert snapshot(repo) == before


def workspace(repo: Repository, name: str) -> int:
    ws = repo.add_workspace(name).id
    repo.add_topic(ws, "Brightloaf", TopicKind.BRAND, "brightloaf")
    return ws


def ids_of(repo: Repository, ws: int) -> dict[str, Post]:
    with repo.session() as s:
        return {p.external_id: p for p in s.scalars(select(Post).where(Post.workspace_id == ws))}


def test_a_deleted_post_leaves_everything_and_its_repeats_stay(
    repo: Repository, settings: Settings
) -> None:
    ws = workspace(repo, "Brightloaf")
    other = workspace(repo, "Agency client")
    ingest = Ingestor(repo, settings)
    thread = [
        post("h/1", WORDS, 60, "ana"),
        post("h/2", WORDS, 50, "ben"),  # repeats of 1, the earliest promoted
        post("h/3", WORDS + "!", 40, "cy"),
        post("h/4", WORDS, 30, "dee"),
        post("h/5", "Brightloaf support, why is my order late? nobody answers", 20, "ana"),
    ]
    ingest.ingest(ws, thread)
    ingest.ingest(other, thread[:1])
    Inbox(repo, settings).refresh(ws)
    People(repo, settings).sync(ws)
    stored = ids_of(repo, ws)
    original = stored["h/1"]
    assert {stored[k].duplicate_of for k in ("h/2", "h/3", "h/4")} == {original.id}
    question = stored["h/5"].id
    assert repo.mentions(ws, MentionFilter(search="nobody answers")).posts

    report = ingest.ingest(
        ws,
        [],
        deletions=[Deletion("mastodon", "h/1"), Deletion("mastodon", "h/5")],
    )
    assert report.written.deleted == 2
    assert report.as_dict()["deleted"] == 2

    after = ids_of(repo, ws)
    assert set(after) == {"h/2", "h/3", "h/4"}
    promoted = after["h/2"]
    assert promoted.duplicate_of is None
    assert after["h/3"].duplicate_of == after["h/4"].duplicate_of == promoted.id
    assert set(ids_of(repo, other)) == {"h/1"}  # another workspace's data: untouched
    with repo.engine.connect() as conn:
        assert (
            conn.scalar(select(func.count()).where(Mention.post_id.in_([original.id, question])))
            == 0
        )
        bands = set(conn.scalars(select(PostBand.post_id).where(PostBand.workspace_id == ws)))
        # the promoted repeat is found by near-duplicate search now; the deleted one is not
        assert promoted.id in bands and original.id not in bands
        assert conn.scalar(select(func.count()).select_from(DeletedPost)) == 2
        previews = list(conn.scalars(select(Conversation.preview)))
        stale = list(conn.scalars(select(StalePerson.person_id)))
    assert repo.mentions(ws, MentionFilter(search="nobody answers")).posts == []
    # The stream shows the promoted post as the original, with its two repeats.
    shown = repo.mentions(ws, MentionFilter(search="crust burnt"))
    assert [p.id for p in shown.posts] == [promoted.id] and shown.repeats == {promoted.id: 2}
    assert all("nobody answers" not in p for p in previews)
    assert DELETED_PREVIEW in previews  # until the inbox's next refresh
    assert stale  # ana's standing and counts are recomputed by the next sync
    assert_rollups_exact(repo)

    # The next refresh recomputes the threads in full: the question's conversation is gone.
    Inbox(repo, settings).refresh(ws)
    with repo.engine.connect() as conn:
        assert DELETED_PREVIEW not in list(conn.scalars(select(Conversation.preview)))
    People(repo, settings).sync(ws)
    with repo.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(StalePerson)) == 0

    # The next copy of those words is still a repeat, of the promoted post.
    ingest.ingest(ws, [post("h/6", WORDS, 5, "eve")])
    assert ids_of(repo, ws)["h/6"].duplicate_of == promoted.id
    assert_rollups_exact(repo)
    # The other workspace's own source reporting the deletion removes it there.
    assert ingest.ingest(other, [], deletions=[Deletion("mastodon", "h/1")]).written.deleted == 1
    assert ids_of(repo, other) == {}
    assert_rollups_exact(repo)


def test_deleting_what_was_never_stored_changes_nothing(
    repo: Repository, settings: Settings
) -> None:
    ws = workspace(repo, "Brightloaf")
    ingest = Ingestor(repo, settings)
    ingest.ingest(ws, [post("h/1", "brightloaf is lovely", 10, "ana")])
    before = snapshot(repo)
    report = ingest.ingest(ws, [], deletions=[Deletion("mastodon", "h/404")])
    assert report.written.deleted == 0 and report.problem_count == 0
    assert set(ids_of(repo, ws)) == {"h/1"}
    assert snapshot(repo) == before
    # Twice is the same as once (a page delivered again).
    ingest.ingest(ws, [], deletions=[Deletion("mastodon", "h/404")] * 2)
    ingest.ingest(ws, [], deletions=[Deletion("mastodon", "h/1")])
    with repo.session() as s:
        kept = {t.external_id: t.kept_until - t.deleted_at for t in s.scalars(select(DeletedPost))}
    # A post never stored is kept out for an hour (pages stored out of order), a stored one for
    # 30 days (a backfill or an old export bringing it again): the firehose's deletions of
    # posts no topic matched do not pile up.
    assert kept == {"h/404": timedelta(hours=1), "h/1": timedelta(days=30)}


def test_a_deletion_before_its_post_keeps_the_post_out(
    repo: Repository, settings: Settings
) -> None:
    ws = workspace(repo, "Brightloaf")
    ingest = Ingestor(repo, settings)
    ingest.ingest(ws, [], deletions=[Deletion("mastodon", "h/7")])
    report = ingest.ingest(
        ws,
        [post("h/7", "brightloaf, deleted already", 3, "ana"), post("h/8", "brightloaf", 2, "bo")],
    )
    assert report.written.already_deleted == 1 and report.written.inserted == 1
    assert set(ids_of(repo, ws)) == {"h/8"}
    # Another workspace never heard of that deletion: it stores the post.
    other = workspace(repo, "Agency client")
    assert ingest.ingest(other, [post("h/7", "brightloaf", 3, "ana")]).written.inserted == 1
    # Another source's post with the same id is another post.
    ingest.ingest(ws, [("x", {**post("h/7", "brightloaf on x", 1, "cy")[1], "source": "x"})])
    assert len(repo.mentions(ws, MentionFilter(search="brightloaf")).posts) == 2
    # Created and deleted within one page: stored, then removed, in one transaction.
    report = ingest.ingest(
        ws,
        [post("h/9", "brightloaf briefly", 1, "dee")],
        deletions=[Deletion("mastodon", "h/9")],
    )
    assert report.written.inserted == 1 and report.written.deleted == 1
    assert "h/9" not in ids_of(repo, ws)
    assert_rollups_exact(repo)
