"""People on real ingested posts, on SQLite and PostgreSQL: identities, merging, labels, notes,
timeline, standing, the detractor workflow and advocates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goodwill.domain import TopicKind
from goodwill.inbox import Inbox
from goodwill.ingest import Ingestor
from goodwill.people import People, PeopleError
from goodwill.people.advocacy import AdvocateFacts, advocate_score
from goodwill.people.profiles import name_key, profile_of
from goodwill.people.standing import StandingRule, recovered, standing_of
from goodwill.settings import Settings
from goodwill.store.repository import MentionFilter, NotFound, Repository

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NEGATIVE = [
    "Brightloaf ruined my order again, the bread was stale and moldy. Awful, never again.",
    "Still furious at Brightloaf: rude staff, terrible service, a total waste of money.",
]
POSITIVE = "Brightloaf sorted it all out, thank you so much, wonderful people and lovely bread!"


def post(pid: str, text: str, author: dict[str, Any], at: datetime, **kw: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "source": kw.pop("source", "mastodon"),
        "text": text,
        "created_at": at.isoformat(),
        "author": author,
        **kw,
    }


def ingest(repo: Repository, settings: Settings, ws_id: int, rows: list[dict[str, Any]]) -> None:
    report = Ingestor(repo, settings).ingest(ws_id, [(f"row {i}", r) for i, r in enumerate(rows)])
    assert report.problem_count == 0, report.problems


@pytest.fixture
def ws(repo: Repository) -> int:
    workspace = repo.add_workspace("Brightloaf")
    repo.add_topic(workspace.id, "brand", TopicKind.BRAND, "brightloaf")
    return workspace.id


ANA = {"id": "109", "handle": "@ana@mastodon.example", "name": "Ana Lima", "followers": 210}


def test_people_appear_for_authors_who_mention_the_topics_incrementally(
    repo: Repository, settings: Settings, ws: int
) -> None:
    day = NOW - timedelta(days=3)
    ingest(
        repo,
        settings,
        ws,
        [
            post("1", "Brightloaf croissants are great", ANA, day),
            post("2", "Nothing about bakeries here", {"id": "7", "handle": "bob"}, day),
        ],
    )
    people = People(repo, settings)
    first = people.sync(ws, now=NOW)
    assert (first.posts_read, first.people_created) == (2, 1)
    again = people.sync(ws, now=NOW)
    assert again.people_created == 0
    # Nothing new: nothing read (tests/test_people_commit_order.py: in commit order on
    # PostgreSQL, so a batch committed late is read once, too).
    assert again.posts_read == 0
    # Bob mentions the brand later: only the new post is read, and Bob appears.
    ingest(
        repo, settings, ws, [post("3", "Is Brightloaf open?", {"id": "7", "handle": "bob"}, NOW)]
    )
    later = people.sync(ws, now=NOW)
    assert (later.posts_read, later.people_created) == (1, 1)
    views, total = people.list_people(ws, now=NOW)
    assert total == 2
    bob = next(v for v in views if v.name == "bob")
    assert bob.mentions == 1  # his unrelated post is his, but not a mention
    assert [i["author_id"] for i in bob.identities] == ["7"]
    ana = next(v for v in views if v.name == "Ana Lima")
    assert ana.identities[0]["handle"] == "@ana@mastodon.example"
    assert ana.followers == 210


def test_merge_suggestions_merge_and_unmerge(repo: Repository, settings: Settings, ws: int) -> None:
    at = NOW - timedelta(days=1)
    ingest(
        repo,
        settings,
        ws,
        [
            post(
                "1",
                "Brightloaf makes my mornings",
                ANA,
                at,
                mastodon={
                    "account": {
                        "url": "https://mastodon.example/@ana",
                        "note": "<p>Baker. https://analima.example/</p>",
                    }
                },
            ),
            post(
                "x1",
                "Brightloaf again today",
                {"id": "55", "handle": "@ana_l", "name": "ana lima 🍞"},
                at,
                source="x",
                author_bio="Also at https://mastodon.example/@ana and https://www.analima.example/",
            ),
            post(
                "r1",
                "brightloaf is fine",
                {"id": "r9", "handle": "crumbs", "name": "Crumbs"},
                at,
                source="reddit",
                author_url="https://www.analima.example",
            ),
        ],
    )
    people = People(repo, settings)
    views, _ = people.list_people(ws, now=NOW)
    by_name = {v.name: v.id for v in views}
    ana, ana_x, crumbs = by_name["Ana Lima"], by_name["ana lima 🍞"], by_name["Crumbs"]
    found = {s.person_id: s.reasons for s in people.suggestions(ws, ana)}
    assert set(found) == {ana_x, crumbs}
    assert "same name: ana lima 🍞" in found[ana_x]
    assert "their bio links to this person's profile: mastodon.example/@ana" in found[ana_x]
    assert "both bios link to analima.example" in found[ana_x]
    assert found[crumbs] == ["their profile is linked from this person's bio: analima.example"]
    with pytest.raises(PeopleError):
        people.merge(ws, ana, ana)
    people.label(ws, ana_x, "customer")
    people.add_note(ws, ana_x, "sam", "Met at the market")
    people.merge(ws, ana, ana_x)
    merged = people.view(ws, ana, now=NOW)
    assert sorted(i["source"] for i in merged.identities) == ["mastodon", "x"]
    assert merged.roles == ["customer"] and merged.mentions == 2
    assert [n.text for n in people.notes(ws, ana)] == ["Met at the market"]
    with pytest.raises(NotFound):
        people.view(ws, ana_x)
    x_identity = next(i["id"] for i in merged.identities if i["source"] == "x")
    split = people.unmerge(ws, x_identity)
    assert [i["source"] for i in people.view(ws, split).identities] == ["x"]
    assert people.view(ws, ana).mentions == 1
    only = people.view(ws, split).identities[0]["id"]
    with pytest.raises(PeopleError, match="only identity"):
        people.unmerge(ws, only)
    # Another workspace sees none of it.
    other = repo.add_workspace("Other").id
    with pytest.raises(NotFound):
        people.view(other, ana)
    with pytest.raises(NotFound):
        people.merge(other, ana, split)


def test_labels_notes_nurture_and_timeline(repo: Repository, settings: Settings, ws: int) -> None:
    ingest(
        repo,
        settings,
        ws,
        [
            post("1", "Does Brightloaf deliver?", ANA, NOW - timedelta(hours=5)),
            post(
                "2",
                "@ana yes we do",
                {"id": "900", "handle": "brightloaf"},
                NOW,
                is_own=True,
                in_reply_to="1",
            ),
        ],
    )
    people = People(repo, settings)
    (ana,), _ = people.list_people(ws, now=NOW)
    assert people.label(ws, ana.id, "Potential Talent") == "role"
    assert people.label(ws, ana.id, "sourdough fan") == "tag"
    with pytest.raises(PeopleError):
        people.label(ws, ana.id, "  ")
    people.add_note(ws, ana.id, "sam", "Prefers rye")
    people.log_nurture(ws, ana.id, "thanked", "sam", "Thanked for the feedback", at=NOW)
    with pytest.raises(PeopleError, match="unknown action"):
        people.log_nurture(ws, ana.id, "bribed", "sam")
    view = people.view(ws, ana.id, now=NOW)
    assert view.roles == ["potential talent"] and view.tags == ["sourdough fan"]
    assert view.last_contact_at == NOW
    (only,), _ = people.list_people(ws, role="potential talent", now=NOW)
    assert only.id == ana.id
    assert people.list_people(ws, tag="nope", now=NOW)[1] == 0
    assert people.list_people(ws, search="ANA@", now=NOW)[1] == 1
    people.label(ws, ana.id, "sourdough fan", remove=True)
    assert people.view(ws, ana.id).tags == []
    kinds = [item.kind for item in people.timeline(ws, ana.id)]
    assert kinds[0] in ("note", "nurture") and "mention" in kinds and "note" in kinds
    assert "nurture" in kinds
    Inbox(repo).refresh(ws)
    timeline = people.timeline(ws, ana.id)
    conversation = next(i for i in timeline if i.kind == "conversation")
    assert conversation.text == "Does Brightloaf deliver?"
    assert [i.at for i in timeline] == sorted((i.at for i in timeline), reverse=True)


def test_standing_rule() -> None:
    rule = StandingRule(half_life_days=90, min_posts=2, threshold=0.3)
    assert standing_of([(NOW, "negative")], NOW, rule).standing == "neutral"  # too few
    two_bad = [(NOW - timedelta(days=1), "negative"), (NOW, "negative")]
    assert standing_of(two_bad, NOW, rule).standing == "detractor"
    old_bad_new_good = [
        (NOW - timedelta(days=360), "negative"),
        (NOW - timedelta(days=350), "negative"),
        (NOW, "positive"),
    ]
    verdict = standing_of(old_bad_new_good, NOW, rule)
    assert verdict.standing == "promoter"  # recent weighs 16 times more than a year ago
    assert (verdict.positive, verdict.negative) == (1, 2)
    assert "recent-weighted score" in verdict.explain(rule)
    assert standing_of([(NOW, "positive"), (NOW, "negative")], NOW, rule).standing == "neutral"
    resolved = NOW - timedelta(days=2)
    assert recovered(two_bad, resolved) is False
    assert recovered([*two_bad, (NOW, "positive")], resolved) is False  # 2 negative, 1 positive
    assert recovered([*two_bad, (NOW, "positive"), (NOW, "positive")], resolved) is True
    assert recovered([(NOW - timedelta(days=5), "negative")], resolved) is None
    assert recovered([(NOW, "neutral")], resolved) is True


def test_advocate_score_parts() -> None:
    facts = AdvocateFacts(
        positive_at=[NOW - timedelta(days=d) for d in (1, 2, 40)],
        defended_at=[NOW - timedelta(days=1)],
        reposted_at=[NOW - timedelta(days=50)],
        shares_received=[(NOW - timedelta(days=1), 3)],
        followers=999,
    )
    score = advocate_score(facts)
    parts = score["parts"]
    assert parts["positive_mentions"] == {"count": 3, "points": 30.0}
    assert parts["defending"] == {"count": 1, "points": 20.0}
    assert parts["sharing"]["points"] == 5.0 + 10.0  # one repost, log2(1 + 3) = 2
    assert parts["reach"]["points"] == 30.0
    assert score["score"] == 95.0
    before = advocate_score(facts, until=NOW - timedelta(days=30))
    assert before["parts"]["positive_mentions"]["count"] == 1
    assert advocate_score(AdvocateFacts(followers=10**6))["score"] == 0.0  # reach needs praise


def test_profiles_and_names() -> None:
    assert name_key("  Ana   LIMA!! 🍞 ") == "ana lima"
    assert name_key("Al") is None
    p = profile_of("x", "@ana", {"x_author": {"username": "ana", "description": "see ana.example"}})
    assert p.url == "x.com/ana"
    assert profile_of("import", None, {"author_bio": "https://a.example/x/)."}).links == [
        "a.example/x"
    ]


def test_detractor_to_resolved_and_recovered(repo: Repository, settings: Settings, ws: int) -> None:
    """The whole path on ingested posts: negative posts make a detractor, whose case is opened
    by itself, contacted, resolved; a later positive post shows the sentiment recovered."""
    people = People(repo, settings)
    dan = {"id": "d1", "handle": "@dan@mastodon.example", "name": "Dan"}
    ingest(
        repo,
        settings,
        ws,
        [
            post("n1", NEGATIVE[0], dan, NOW - timedelta(days=3)),
            post("n2", NEGATIVE[1], dan, NOW - timedelta(days=2)),
        ],
    )
    report = people.sync(ws, now=NOW)
    assert report.cases_opened == 1
    (detractor,), _ = people.list_people(ws, standing="detractor", now=NOW)
    assert detractor.name == "Dan" and detractor.standing_score == -1.0
    assert "2 negative of 2 labelled posts" in detractor.as_dict()["standing_why"]
    (case,) = people.cases(ws, detractor.id)
    assert case.status == "open" and case.opened_by == "goodwill (standing)"
    with pytest.raises(PeopleError, match="under way"):
        people.open_case(ws, detractor.id, "sam")
    contacted = NOW + timedelta(hours=1)
    people.advance_case(ws, case.id, "contacted", "sam@brightloaf.example", at=contacted)
    with pytest.raises(PeopleError, match="contacted already"):
        people.advance_case(ws, case.id, "contacted", "sam")
    resolved = NOW + timedelta(hours=2)
    people.advance_case(ws, case.id, "resolved", "sam@brightloaf.example", at=resolved)
    (case,) = people.cases(ws, detractor.id)
    assert (case.status, case.contacted_by, case.resolved_at) == (
        "resolved",
        "sam@brightloaf.example",
        resolved,
    )
    assert case.recovered is None  # nothing said since
    assert people.view(ws, detractor.id, now=NOW).last_contact_at == contacted
    # A later positive post: recovered, and no new case (the standing alone is not news).
    later = NOW + timedelta(days=1)
    ingest(repo, settings, ws, [post("p1", POSITIVE, dan, later)])
    assert people.sync(ws, now=later).cases_opened == 0
    (case,) = people.cases(ws, detractor.id)
    assert case.recovered is True
    steps = [i.detail.get("step") for i in people.timeline(ws, detractor.id) if i.kind == "case"]
    assert steps == ["resolved", "contacted", "opened"]
    # Negative again after the resolution: a new case opens.
    ingest(
        repo,
        settings,
        ws,
        [
            post(
                "n3",
                "Brightloaf charged me twice and hung up on me. Disgusting.",
                dan,
                later + timedelta(hours=1),
            ),
            post(
                "n4",
                "Brightloaf cake made my kid sick. Horrible, I'm so angry.",
                dan,
                later + timedelta(hours=2),
            ),
        ],
    )
    assert people.sync(ws, now=later + timedelta(hours=3)).cases_opened == 1
    assert [c.status for c in people.cases(ws, detractor.id)] == ["resolved", "open"]


def test_corrected_labels_win_over_the_model(repo: Repository, settings: Settings, ws: int) -> None:
    dan = {"id": "d1", "handle": "dan", "name": "Dan"}
    ingest(
        repo,
        settings,
        ws,
        [
            post("n1", NEGATIVE[0], dan, NOW - timedelta(days=3)),
            post("n2", NEGATIVE[1], dan, NOW - timedelta(days=2)),
        ],
    )
    people = People(repo, settings)
    (view,), _ = people.list_people(ws, now=NOW)
    assert view.standing == "detractor"
    for p in repo.mentions(ws, MentionFilter()).posts:
        repo.correct_label(ws, p.id, "sentiment", "positive", who="sam")
    # The corrections are picked up by the next sync: only Dan is recomputed.
    report = people.sync(ws, now=NOW)
    assert report.people_recomputed == 1
    if repo.engine.dialect.name == "sqlite":
        assert report.posts_read == 0  # the correction alone brought Dan back
    assert people.view(ws, view.id, now=NOW).standing == "promoter"


def test_advocates_rising_and_reminders(repo: Repository, settings: Settings, ws: int) -> None:
    eve = {"id": "e1", "handle": "eve", "name": "Eve", "followers": 9999}
    grumpy = {"id": "g1", "handle": "grumpy", "name": "Grumpy"}
    old = NOW - timedelta(days=60)
    rows = [
        post("g", NEGATIVE[0], grumpy, NOW - timedelta(days=2), conversation_id="t1"),
        post(
            "e0",
            "Brightloaf is wonderful, I love their bread, best bakery in town!",
            eve,
            old,
            metrics={"likes": 1, "shares": 3, "replies": 0},
        ),
        post(
            "e1",
            "@grumpy I disagree, Brightloaf has always been wonderful and kind to me, love them!",
            eve,
            NOW - timedelta(days=1),
            conversation_id="t1",
            in_reply_to="g",
        ),
        post("e2", "Brightloaf's new rye is fantastic, thank you, I love it!", eve, NOW),
    ]
    ingest(repo, settings, ws, rows)
    people = People(repo, settings)
    (advocate,), total = people.list_people(ws, standing="advocate", now=NOW)
    assert total == 1 and advocate.name == "Eve" and advocate.advocate
    parts = advocate.as_dict()["advocate_parts"]
    assert parts["positive_mentions"]["count"] == 3
    assert parts["defending"]["count"] == 1  # her reply to Grumpy's complaint
    assert parts["sharing"]["shares_received"] == 3
    assert parts["reach"]["points"] == 40.0
    (rising,), _ = people.list_people(ws, standing="rising", now=NOW)
    assert rising.id == advocate.id and rising.rising_gain > 0
    # Much later, with nothing new, she is no longer rising.
    assert people.list_people(ws, standing="rising", now=NOW + timedelta(days=90))[1] == 0
    # Reminders: the advocate and a tagged key contact, until someone reaches out.
    (grumpy_view,), _ = people.list_people(ws, search="grumpy", now=NOW)
    people.label(ws, grumpy_view.id, "customer")
    due = {v.name: days for v, days in people.reminders(ws, now=NOW)}
    assert due == {"Eve": None, "Grumpy": None}
    people.log_nurture(ws, advocate.id, "gift sent", "sam", "A loaf", at=NOW - timedelta(days=40))
    due = {v.name: days for v, days in people.reminders(ws, now=NOW)}
    assert due == {"Eve": 40, "Grumpy": None}
    people.log_nurture(ws, advocate.id, "met", "sam", at=NOW - timedelta(days=3))
    assert [v.name for v, _ in people.reminders(ws, now=NOW)] == ["Grumpy"]
    with pytest.raises(PeopleError, match="unknown standing"):
        people.list_people(ws, standing="famous")
