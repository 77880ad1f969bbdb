"""Exporting and forgetting a person, on SQLite and PostgreSQL, through the real import path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from goodwill.alerts.service import AlertService
from goodwill.cli import app
from goodwill.domain import TopicKind
from goodwill.inbox import Inbox
from goodwill.ingest import Ingestor
from goodwill.people import People
from goodwill.people.privacy import FORGOTTEN, export_person, forget_person
from goodwill.settings import Settings, get_settings
from goodwill.sources.files import read_jsonl
from goodwill.store.alerts import AlertStore
from goodwill.store.inbox_tables import Conversation, SentText
from goodwill.store.people_tables import ForgottenIdentity
from goodwill.store.repository import MentionFilter, Repository
from goodwill.store.rollup_windows import STARTS, WINDOWS
from goodwill.store.rollups import PEOPLE_HOURS, PEOPLE_TOTALS, POST_HOURS, TOPIC_HOURS, rebuild
from goodwill.store.tables import AlertEvent, Correction, Post

T0 = datetime.now(UTC) - timedelta(hours=2)
ANA = {"id": "109", "handle": "@ana@mastodon.example", "name": "Ana Lima", "followers": 210}
BEA = {"id": "110", "handle": "@bea@mastodon.example", "name": "Bea"}
OWN = {"id": "900", "handle": "@brightloaf@mastodon.example", "name": "Brightloaf"}
SECRET = "Brightloaf lost my wedding cake order and nobody cares, awful"


def rows() -> list[dict[str, Any]]:
    def at(minutes: int) -> str:
        return (T0 + timedelta(minutes=minutes)).isoformat()

    return [
        {"id": "1", "source": "mastodon", "text": SECRET, "created_at": at(0), "author": ANA},
        {
            "id": "2",
            "source": "mastodon",
            "text": "Is Brightloaf open on Sunday? My sister wants rye",
            "created_at": at(5),
            "author": ANA,
        },
        {
            "id": "3",
            "source": "mastodon",
            "text": "@ana@mastodon.example we are so sorry, please write to us",
            "created_at": at(10),
            "author": OWN,
            "is_own": True,
            "in_reply_to": "1",
        },
        {
            "id": "4",
            "source": "mastodon",
            "text": "Same as @ana here, Brightloaf is slow with cake orders",
            "created_at": at(20),
            "author": BEA,
        },
        {  # a copy of Ana's words by someone else
            "id": "5",
            "source": "mastodon",
            "text": SECRET,
            "created_at": at(30),
            "author": {"id": "111", "handle": "@cy@mastodon.example"},
        },
    ]


def _rollup_rows(conn: Connection, ws: int) -> list[list[tuple[Any, ...]]]:
    return [
        sorted(tuple(r) for r in conn.execute(select(t).where(t.c.workspace_id == ws)))
        for t in (TOPIC_HOURS, POST_HOURS, PEOPLE_HOURS, PEOPLE_TOTALS, WINDOWS, STARTS)
    ]


def test_export_then_forget_and_reimport_brings_nothing_back(
    repo: Repository, settings: Settings, tmp_path: Path
) -> None:
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    alerts = AlertService(AlertStore(repo.engine), settings)
    alerts.add_rule(
        ws, "all", "mention", topic="brand", webhooks=[("https://hooks.example/x", "standard")]
    )
    ingestor = Ingestor(repo, settings, after_batch=[alerts.after_batch])
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows()))

    def import_file() -> dict[str, Any]:
        with path.open() as stream:
            return ingestor.ingest(ws, read_jsonl(stream)).as_dict()

    assert import_file()["inserted"] == 5
    inbox = Inbox(repo)
    inbox.refresh(ws)
    people = People(repo, settings)
    (ana,), _ = people.list_people(ws, search="ana lima")
    people.add_note(ws, ana.id, "sam", "Called her about the cake")
    first_post = next(p for p in repo.mentions(ws, MentionFilter()).posts if p.external_id == "1")
    repo.correct_label(ws, first_post.id, "sentiment", "negative", who="sam")
    conversation = next(
        c for c in inbox.conversations(ws) if c.preview.startswith("Brightloaf lost")
    )
    inbox.add_note(ws, conversation.id, "sam", "Ana @ana@mastodon.example wants a refund")

    exported = export_person(people, ws, ana.id)
    assert exported["format"] == "goodwill-person-1"
    assert [p["external_id"] for p in exported["posts"]] == ["1", "2"]
    assert exported["posts"][0]["text"] == SECRET
    assert exported["notes"][0]["text"] == "Called her about the cake"
    assert any(c["preview"].startswith("Brightloaf lost") for c in exported["conversations"])
    json.dumps(exported)  # plain JSON all the way down

    report = forget_person(people, ws, ana.id)
    assert report.posts_deleted == 3  # her two posts and Cy's copy of her words
    assert report.conversations_deleted >= 1
    assert report.alert_events_scrubbed >= 1
    assert report.tombstones == 4  # her id and handle, and the repeat keys of her two texts

    def leftovers() -> list[str]:
        found = []
        with Session(repo.engine) as s:
            for (t,) in s.execute(select(Post.text).where(Post.workspace_id == ws)):
                found.append(t)
            for c in s.scalars(select(Conversation).where(Conversation.workspace_id == ws)):
                found += [c.preview, c.author_handle or ""]
            for e in s.scalars(select(AlertEvent).where(AlertEvent.workspace_id == ws)):
                found.append(e.title + json.dumps(e.payload))
            for (t,) in s.execute(select(SentText.text).where(SentText.workspace_id == ws)):
                found.append(t)
            assert s.scalar(select(func.count()).select_from(Correction)) == 0
            for table in (PEOPLE_HOURS, PEOPLE_TOTALS, WINDOWS):
                for row in s.execute(select(table).where(table.c.workspace_id == ws)):
                    found += [str(v) for v in row]
        for c in inbox.conversations(ws):
            found += [n.text for n in inbox.notes(ws, c.id)]
        return found

    def assert_gone() -> None:
        everything = "\n".join(leftovers())
        for word in (SECRET, "wedding cake", "@ana", "My sister wants rye"):
            assert word not in everything, word
        assert repo.mentions(ws, MentionFilter(search="wedding")).posts == []
        assert repo.mentions(ws, MentionFilter(search="sister")).posts == []
        names = [v.name for v in people.list_people(ws)[0]]
        assert "Ana Lima" not in names
        # The dashboard's rollups are what a recount from the remaining posts gives.
        with repo.engine.begin() as conn:
            kept = _rollup_rows(conn, ws)
            rebuild(conn, ws)
            assert _rollup_rows(conn, ws) == kept

    assert_gone()
    # Bea's words stay, without Ana's handle; the brand's reply stays, without it too.
    texts = [p.text for p in repo.mentions(ws, MentionFilter(include_duplicates=True)).posts]
    assert f"Same as {FORGOTTEN} here, Brightloaf is slow with cake orders" in texts

    # The same file again (a re-import, or a source fetching the same posts): nothing returns.
    again = import_file()
    assert again["forgotten"] == 3 and again["inserted"] == 0
    inbox.refresh(ws)
    people.sync(ws)
    assert_gone()
    with Session(repo.engine) as s:
        hashes = list(s.scalars(select(ForgottenIdentity.identity_hash)))
        assert len(hashes) == 4 and all(len(h) == 64 for h in hashes)
        if repo.engine.dialect.name == "sqlite":
            hits = s.execute(
                text("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'wedding'")
            ).scalar()
            assert hits == 0


def test_cli_people_export_and_forget(
    repo: Repository, settings: Settings, tmp_path: Path, monkeypatch: Any
) -> None:
    db = repo.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("GOODWILL_DATABASE_URL", db)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOODWILL_WORKSPACE", raising=False)
    get_settings.cache_clear()
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows()))
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["people", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    ana = next(p for p in listed["people"] if p["name"] == "Ana Lima")
    result = runner.invoke(app, ["people", "show", str(ana["id"]), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["person"]["name"] == "Ana Lima" and shown["timeline"]
    out = tmp_path / "ana.json"
    result = runner.invoke(app, ["people", "export", str(ana["id"]), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["posts"][0]["text"] == SECRET
    result = runner.invoke(app, ["people", "forget", str(ana["id"])], input="n\n")
    assert result.exit_code != 0 and "Forget" in result.output
    assert people_count(repo, ws) == 3
    result = runner.invoke(app, ["people", "forget", str(ana["id"]), "--yes"])
    assert result.exit_code == 0, result.output
    assert "3 posts deleted" in result.output
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0 and "3 posts by forgotten people were dropped" in result.output
    result = runner.invoke(app, ["people", "show", str(ana["id"])])
    assert result.exit_code != 0 and "no person" in result.output
    get_settings.cache_clear()


def people_count(repo: Repository, ws: int) -> int:
    return len(People(repo, Settings()).list_people(ws)[0])
