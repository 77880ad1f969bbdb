"""The Brightloaf demo data: its shape, its coherence, and the variety the demo relies on."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import pytest

from goodwill.demo import ANCHOR, BRAND, NEWEST_AGE, TOPICS, demo_posts
from goodwill.domain import TopicKind
from goodwill.pipeline.normalise import parse_post

SOURCES = {"mastodon", "bluesky", "reddit", "hn", "x", "rss", "youtube"}
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55]")


def _raw_lines() -> list[str]:
    text = resources.files("goodwill.demo").joinpath("posts.jsonl").read_text(encoding="utf-8")
    return text.splitlines()


@pytest.fixture(scope="module")
def posts() -> list[dict[str, Any]]:
    return [json.loads(line) for line in _raw_lines()]


@pytest.fixture(scope="module")
def by_key(posts: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["source"], p["id"]): p for p in posts}


def _at(post: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(post["created_at"])


def _is_own(post: dict[str, Any]) -> bool:
    return post.get("is_own") is True


# ------------------------------------------------------------------------------------ shape


def test_every_line_is_a_json_object_in_the_post_format() -> None:
    lines = _raw_lines()
    assert 300 <= len(lines) <= 400
    for number, line in enumerate(lines, 1):
        assert line.strip(), f"line {number} is blank"
        obj = json.loads(line)
        assert isinstance(obj, dict), number
        for key in ("id", "source", "url", "text", "created_at", "author"):
            assert key in obj, (number, key)
        assert isinstance(obj["id"], str), number
        assert obj["id"], number
        assert obj["source"] in SOURCES, number
        assert isinstance(obj["text"], str), number
        assert obj["text"].strip(), number
        assert set(obj["author"]) <= {"id", "handle", "name", "followers"}, number
        assert isinstance(obj["author"]["id"], str), number
        assert obj["author"]["id"], number
        if "metrics" in obj:
            assert set(obj["metrics"]) == {"likes", "shares", "replies"}, number
            for value in obj["metrics"].values():
                assert value is None or (isinstance(value, int) and value >= 0), number
        if "is_own" in obj:
            assert obj["is_own"] is True, number
        # the pipeline's own validator accepts it and keeps what it carries
        post = parse_post(obj)
        assert post.id == obj["id"]
        assert post.text == obj["text"], f"line {number}: text is not clean NFC"
        assert post.lang == obj.get("lang")


def test_ids_are_unique_within_their_source(posts: list[dict[str, Any]]) -> None:
    keys = Counter((p["source"], p["id"]) for p in posts)
    assert [k for k, n in keys.items() if n > 1] == []
    assert len({p["url"] for p in posts}) == len(posts)


def test_timestamps_have_a_zone_and_fill_the_month_before_the_anchor(
    posts: list[dict[str, Any]],
) -> None:
    days = set()
    for p in posts:
        at = _at(p)
        assert at.tzinfo is not None, p["created_at"]
        assert ANCHOR - timedelta(days=30) <= at <= ANCHOR, p["created_at"]
        days.add(at.astimezone(UTC).date())
    assert len(days) >= 29
    assert any(not p["created_at"].endswith("Z") for p in posts)  # local offsets too


def test_replies_point_to_an_earlier_post_in_the_same_source(
    posts: list[dict[str, Any]], by_key: dict[tuple[str, str], dict[str, Any]]
) -> None:
    for p in posts:
        parent_id = p.get("in_reply_to")
        if parent_id is None:
            continue
        parent = by_key.get((p["source"], parent_id))
        assert parent is not None, f"{p['source']} {p['id']} replies to a missing {parent_id}"
        gap = _at(p) - _at(parent)
        assert timedelta(0) < gap < timedelta(days=30), p["id"]
        # a conversation is named after its root, and the parent is in the same one
        assert p["conversation_id"] == parent["conversation_id"], p["id"]
        root = by_key[(p["source"], p["conversation_id"])]
        assert "in_reply_to" not in root


def test_reply_counts_are_at_least_the_replies_we_hold(
    posts: list[dict[str, Any]],
) -> None:
    children = Counter((p["source"], p["in_reply_to"]) for p in posts if "in_reply_to" in p)
    for p in posts:
        held = children[(p["source"], p["id"])]
        if held:
            assert p["metrics"]["replies"] >= held, p["id"]


def test_every_address_is_fictional(posts: list[dict[str, Any]]) -> None:
    for p in posts:
        host = urlsplit(p["url"]).hostname or ""
        assert p["url"].startswith("https://"), p["url"]
        assert host.endswith(".example"), p["url"]
        for link in re.findall(r"https?://([^/\s?#]+)", p["text"]):
            assert link.endswith(".example"), (p["id"], link)
        for site in re.findall(
            r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co))\b", p["text"]
        ):
            pytest.fail(f"{p['id']} names a real-looking host {site}")


def test_rss_items_have_a_title_and_reddit_posts_a_subreddit(posts: list[dict[str, Any]]) -> None:
    for p in posts:
        if p["source"] == "rss":
            assert p.get("title"), p["id"]
        if p["source"] == "reddit" and "in_reply_to" not in p:
            assert p.get("title"), p["id"]
            assert "/r/" in p["url"], p["id"]


# ------------------------------------------------------------------------------------ the brand


def test_brand_and_topics() -> None:
    assert BRAND["workspace"] == "Brightloaf (demo)"
    assert BRAND["site"] == "brightloaf.example"
    assert {a["handle"] for a in BRAND["accounts"]} == set(BRAND["handles"])
    kinds = Counter(t["kind"] for t in TOPICS)
    assert kinds == {"brand": 1, "competitor": 2, "industry": 1}
    for topic in TOPICS:
        TopicKind(topic["kind"])
        query = topic["query"]
        assert topic["name"]
        assert query
        assert query.count('"') % 2 == 0, topic["name"]
        depth = 0
        for char in query:
            depth += {"(": 1, ")": -1}.get(char, 0)
            assert depth >= 0, topic["name"]
        assert depth == 0, topic["name"]
    brand = next(t for t in TOPICS if t["kind"] == "brand")["query"]
    assert "@brightloaf" in brand
    assert "site:brightloaf.example" in brand
    assert "#brightloaf" in brand
    industry = next(t for t in TOPICS if t["kind"] == "industry")["query"]
    assert re.search(r"NEAR/\d+", industry)
    assert "*" in industry
    assert " NOT " in industry


def test_own_posts_come_from_the_brand_accounts_on_several_networks(
    posts: list[dict[str, Any]],
) -> None:
    own = [p for p in posts if _is_own(p)]
    accounts = {(a["source"], a["handle"]) for a in BRAND["accounts"]}
    assert all((p["source"], p["author"]["handle"]) in accounts for p in own)
    assert not any(
        (p["source"], p["author"]["handle"]) in accounts for p in posts if not _is_own(p)
    )
    assert len({p["source"] for p in own}) >= 5
    replies = [p for p in own if "in_reply_to" in p]
    broadcasts = [p for p in own if "in_reply_to" not in p]
    assert len(replies) >= 30
    assert len(broadcasts) >= 10


def test_brand_response_times_vary_and_some_questions_go_unanswered(
    posts: list[dict[str, Any]], by_key: dict[tuple[str, str], dict[str, Any]]
) -> None:
    gaps = [
        _at(p) - _at(by_key[(p["source"], p["in_reply_to"])])
        for p in posts
        if _is_own(p) and "in_reply_to" in p
    ]
    assert min(gaps) <= timedelta(minutes=15)
    assert max(gaps) >= timedelta(days=1)
    answered = {(p["source"], p["in_reply_to"]) for p in posts if _is_own(p) and "in_reply_to" in p}
    questions = [
        p
        for p in posts
        if "?" in p["text"] and "brightloaf" in p["text"].lower() and not _is_own(p)
    ]
    unanswered = [p for p in questions if (p["source"], p["id"]) not in answered]
    assert len(questions) >= 15
    assert len(unanswered) >= 5


def test_many_mentions_name_the_brand_without_tagging_it(posts: list[dict[str, Any]]) -> None:
    named = [
        p
        for p in posts
        if not _is_own(p)
        and "brightloaf" in p["text"].lower()
        and not re.search(r"@brightloaf\b", p["text"], re.IGNORECASE)
    ]
    questions = [p for p in named if "?" in p["text"]]
    assert len(named) >= 80
    assert len(questions) >= 10


# ------------------------------------------------------------------------------------ variety


def test_languages(posts: list[dict[str, Any]]) -> None:
    given = Counter(p["lang"] for p in posts if "lang" in p)
    assert len(given) >= 5
    assert 0.3 <= sum(given.values()) / len(posts) <= 0.7  # the rest is left to detection
    texts = [p["text"] for p in posts]
    assert any("ブライトローフ" in t for t in texts)  # katakana name
    assert any(re.search("[\u3040-\u30ff]", t) and "Brightloaf" in t for t in texts)
    assert any(re.search("[\u0600-\u06ff]", t) for t in texts)  # Arabic
    assert any(re.search("[\u0900-\u097f]", t) for t in texts)  # Devanagari
    assert any(w in t for t in texts for w in ("café", "crème", "größer"))


def test_emoji_hashtags_and_mentions(posts: list[dict[str, Any]]) -> None:
    texts = [p["text"] for p in posts]
    assert sum(bool(EMOJI.search(t)) for t in texts) >= len(texts) // 3
    assert sum("#" in t for t in texts) >= 30
    assert sum(bool(re.search(r"(^|\s)@\w", t)) for t in texts) >= 80
    assert any(t.strip() and all(EMOJI.match(c) for c in t.strip()) for t in texts)


def test_threads_across_networks(posts: list[dict[str, Any]]) -> None:
    sizes = Counter((p["source"], p["conversation_id"]) for p in posts if "conversation_id" in p)
    deep = [key for key, n in sizes.items() if n >= 3]
    assert len(deep) >= 15
    assert len({source for source, _ in deep}) >= 5
    assert any(n >= 6 for n in sizes.values())


def test_reposts_near_duplicates_and_spam(posts: list[dict[str, Any]]) -> None:
    texts = [p["text"] for p in posts]
    reposts = [t for t in texts if t.startswith("RT @")]
    assert len(reposts) >= 6
    # reposts quote a post we hold
    originals = {re.sub(r"\s+", " ", t) for t in texts if not t.startswith("RT @")}
    for rt in reposts:
        body = re.sub(r"\s+", " ", rt.split(": ", 1)[1])
        assert any(o.endswith(body) or body in o for o in originals), rt
    # copy-paste: same opening, different author
    openings: dict[str, set[str]] = defaultdict(set)
    for p in posts:
        if not p["text"].startswith("RT @"):
            opening = re.sub(r"\W+", " ", p["text"].lower())[:45]
            openings[opening].add(p["author"]["handle"])
    assert sum(len(h) >= 2 for h in openings.values()) >= 3
    spam = [t for t in texts if re.search(r"giveaway|follow for follow|HOT DEAL", t, re.I)]
    assert len(spam) >= 10
    assert any(len(h) >= 3 for h in openings.values())  # the same promo from several bots


def test_hostile_looking_text_is_kept_as_text(posts: list[dict[str, Any]]) -> None:
    texts = " ".join(p["text"] for p in posts)
    assert "<script>" in texts
    assert "<b>" in texts
    assert "onerror=" in texts


def test_lengths_and_metrics(posts: list[dict[str, Any]]) -> None:
    lengths = [len(p["text"]) for p in posts]
    assert max(lengths) >= 600
    assert min(lengths) <= 3
    with_metrics = [p for p in posts if "metrics" in p]
    assert len(with_metrics) >= len(posts) // 2
    likes = [p["metrics"]["likes"] for p in with_metrics if p["metrics"]["likes"] is not None]
    assert statistics.median(likes) <= 20
    assert sum(n >= 5000 for n in likes) >= 2  # a couple of viral posts


def test_people_recur(posts: list[dict[str, Any]]) -> None:
    per_author = Counter(p["author"]["handle"] for p in posts if not _is_own(p))
    assert sum(n >= 4 for n in per_author.values()) >= 8
    # one advocate on two networks with the same display name
    names = defaultdict(set)
    for p in posts:
        names[p["author"]["name"]].add(p["source"])
    assert any(len(s) >= 2 for name, s in names.items() if name != "Brightloaf")


def test_competitors_and_industry_are_talked_about(posts: list[dict[str, Any]]) -> None:
    texts = [p["text"].lower() for p in posts]
    assert sum("crumbly & co" in t or "crumbly and co" in t for t in texts) >= 15
    assert sum("oven republic" in t for t in texts) >= 15
    assert sum("sourdough" in t for t in texts) >= 15
    # things the industry topic must leave out with its NOT
    assert sum("recipe" in t for t in texts) >= 3
    assert sum("hiring" in t or "#jobs" in t for t in texts) >= 3


# ------------------------------------------------------------------------------------ loader


def test_demo_posts_moves_the_month_to_now(posts: list[dict[str, Any]]) -> None:
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    moved = demo_posts(now)
    assert len(moved) == len(posts)
    assert max(_at(p) for p in moved) == now - NEWEST_AGE
    shift = _at(moved[0]) - _at(posts[0])
    for before, after in zip(posts, moved, strict=True):
        assert after["id"] == before["id"]
        assert _at(after) - _at(before) == shift
        assert _at(after).utcoffset() == _at(before).utcoffset()  # local zones kept
        assert {k: v for k, v in after.items() if k != "created_at"} == {
            k: v for k, v in before.items() if k != "created_at"
        }
        parse_post(after)


def test_demo_posts_defaults_to_now_and_returns_fresh_copies() -> None:
    first = demo_posts()
    newest = max(_at(p) for p in first)
    assert abs(datetime.now(UTC) - NEWEST_AGE - newest) < timedelta(minutes=1)
    first[0]["text"] = "changed"
    first[0]["author"]["name"] = "changed"
    second = demo_posts()
    assert second[0]["text"] != "changed"
    assert second[0]["author"]["name"] != "changed"


def test_demo_posts_takes_a_naive_now_as_utc() -> None:
    aware = demo_posts(datetime(2027, 5, 1, 9, 0, tzinfo=UTC))
    naive = demo_posts(datetime(2027, 5, 1, 9, 0))
    assert [_at(p) for p in aware] == [_at(p) for p in naive]
