"""Real conversations: TWCS brand support threads, imported through the post format.

For each brand, the median first response time that `goodwill inbox metrics` reports must equal
a direct computation over the CSV files (csv module, no database), to the minute. The data is
not committed: the test reads ../shared/data/twcs (or GOODWILL_SHARED_DATA) and skips without it.

One workspace per brand. It holds the threads the brand took part in or was mentioned in: the
customers' tweets (inbound) and the brand's own (``is_own``); other brands' tweets stay out, as
they would for a brand listening to its own conversations. The definition of a first response
(docs/inbox.md): in a thread opened by a customer, the time from the opening tweet to the
brand's first tweet in that thread. A thread is every tweet linked by replies, and tweets that
reply to the same missing tweet belong to one thread.
"""

from __future__ import annotations

import csv
import json
import os
import re
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from goodwill.cli import app
from goodwill.ingest import Ingestor
from goodwill.settings import Settings, get_settings
from goodwill.store.repository import Repository

DATA = Path(
    os.environ.get("GOODWILL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
TWCS = DATA / "twcs"
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"

Tweet = dict[str, str]


def _read() -> list[Tweet]:
    files = sorted(TWCS.glob("*.csv")) if TWCS.is_dir() else []
    if not files:
        pytest.skip(f"TWCS data not found under {TWCS}")
    seen: dict[str, Tweet] = {}
    for path in files:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                seen.setdefault(row["tweet_id"], row)
    return list(seen.values())


def _is_brand(t: Tweet) -> bool:
    return t["inbound"] == "False"


def _parent(t: Tweet) -> str | None:
    return t["in_response_to_tweet_id"] or None


class _Groups:
    """Union-find over tweet ids and the ids they reply to (present or not)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        while (p := self.parent.setdefault(x, x)) != x:
            self.parent[x] = self.parent.setdefault(p, p)
            x = p
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _threads(tweets: list[Tweet]) -> list[list[Tweet]]:
    g = _Groups()
    for t in tweets:
        g.find(t["tweet_id"])
        if (p := _parent(t)) is not None:
            g.union(t["tweet_id"], p)
    out: dict[str, list[Tweet]] = defaultdict(list)
    for t in tweets:
        out[g.find(t["tweet_id"])].append(t)
    return list(out.values())


def brand_workspaces(tweets: list[Tweet]) -> dict[str, list[Tweet]]:
    """Each brand's tweets and the customers' tweets of its threads, in file order."""
    order = {t["tweet_id"]: i for i, t in enumerate(tweets)}
    spaces: dict[str, list[Tweet]] = defaultdict(list)
    for thread in _threads(tweets):
        brands = {t["author_id"] for t in thread if _is_brand(t)}
        for t in thread:
            if not brands and not _is_brand(t):
                brands |= {m for m in re.findall(r"@(\w+)", t["text"]) if not m.isdigit()}
        for brand in brands:
            spaces[brand] += [t for t in thread if not _is_brand(t) or t["author_id"] == brand]
    return {b: sorted(ts, key=lambda t: order[t["tweet_id"]]) for b, ts in spaces.items()}


def expected_first_responses(brand: str, tweets: list[Tweet]) -> list[float]:
    """Seconds from a customer's opening tweet to the brand's first tweet in that thread."""
    out = []
    for thread in _threads(tweets):
        timed = sorted(
            enumerate(thread),
            key=lambda it: (datetime.strptime(it[1]["created_at"], TWITTER_TIME), it[0]),
        )
        opening = timed[0][1]
        if _is_brand(opening):
            continue
        start = datetime.strptime(opening["created_at"], TWITTER_TIME)
        for _, t in timed[1:]:
            if t["author_id"] == brand:
                out.append(
                    (datetime.strptime(t["created_at"], TWITTER_TIME) - start).total_seconds()
                )
                break
    return out


def as_post(t: Tweet, brand: str) -> dict[str, Any]:
    """A TWCS row in the post format (docs/post-format.md)."""
    row: dict[str, Any] = {
        "id": t["tweet_id"],
        "source": "x",
        "text": t["text"],
        "created_at": t["created_at"],
        "author": {"id": t["author_id"], "handle": t["author_id"]},
        "is_own": t["author_id"] == brand,
    }
    if (p := _parent(t)) is not None:
        row["in_reply_to"] = p
    return row


def test_median_first_response_per_brand_matches_the_csv(
    repo: Repository,
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    spaces = brand_workspaces(_read())
    ingestor = Ingestor(repo, settings)
    for brand, tweets in spaces.items():
        ws = repo.add_workspace(brand)
        report = ingestor.ingest(ws.id, [(t["tweet_id"], as_post(t, brand)) for t in tweets])
        assert report.problem_count == 0, report.problems[:5]

    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    monkeypatch.setenv("GOODWILL_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["inbox", "metrics", "--all", "--json"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    reported = {m["workspace"]: m for m in json.loads(result.stdout)}

    assert set(reported) == set(spaces)
    compared = 0
    for brand, tweets in spaces.items():
        expected = expected_first_responses(brand, tweets)
        got = reported[brand]["first_response"]
        assert got["count"] == len(expected), brand
        if not expected:
            assert got["median_s"] is None
            continue
        assert got["median_s"] == pytest.approx(statistics.median(expected), abs=60), brand
        compared += 1
    # The data holds dozens of brands with answered threads: the check is not vacuous.
    assert compared >= 10
