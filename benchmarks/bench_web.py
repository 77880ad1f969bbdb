"""Web speed with 1,000,000 mentions in SQLite: p50 and p95 of the dashboard and the stream.

Seeds a workspace with four topics (brand, two competitors, industry) and N posts spread over
90 days in about the order they were posted (every post a mention of one or two topics, about
70 % with a sentiment label, as the analysis step would leave them), written straight into the
tables in large batches, since the ingest path has its own benchmark; then the dashboard's
rollups are rebuilt from them (timed). Authors are the corpus's own, as often as they post
there, each on one network. Then it asks the real
application (in-process, logged in, session checked on every request) for each page many times
and prints p50/p95 per page. The inbox and people are brought up to date before (timed): the
first build over 1,000,000 posts takes many minutes, once per database.

    python benchmarks/bench_web.py              # 1,000,000 posts (seeding takes minutes)
    python benchmarks/bench_web.py --quick      # 100,000 posts
    python benchmarks/bench_web.py --db PATH    # keep (or reuse) the seeded database
    python benchmarks/bench_web.py --cache 60   # with the figures cache (off by default)
    python benchmarks/bench_web.py --uniform-authors   # 50,000 equally active authors

Target (issue 4): each page at most 300 ms at the 95th percentile on the reference machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _corpus import load_corpus
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from goodwill.domain import TopicKind
from goodwill.inbox import Inbox
from goodwill.settings import Settings
from goodwill.store.accounts import Accounts
from goodwill.store.db import create_store_engine, writer
from goodwill.store.migrate import upgrade
from goodwill.store.repository import Repository
from goodwill.store.rollups import rebuild
from goodwill.store.search import index_new_posts
from goodwill.store.tables import Mention, Post
from goodwill.web.app import create_app

PASSWORD = "benchmark password"
SOURCES = ["x", "mastodon", "bluesky", "reddit", "rss", "youtube"]
LABELS = ["negative", "neutral", "positive"]


def seed(repo: Repository, n: int, *, uniform_authors: bool = False) -> int:
    rng = random.Random(4)
    texts, authors, description = load_corpus()
    print(f"corpus: {description}", flush=True)
    ws = repo.add_workspace("Bench", default=True)
    topics = [
        repo.add_topic(ws.id, "Acme", TopicKind.BRAND, "acme").id,
        repo.add_topic(ws.id, "Rival", TopicKind.COMPETITOR, "rival").id,
        repo.add_topic(ws.id, "Other", TopicKind.COMPETITOR, "other").id,
        repo.add_topic(ws.id, "Industry", TopicKind.INDUSTRY, "bread").id,
    ]
    weights = [0.6, 0.15, 0.1, 0.15]
    now = datetime.now(UTC)
    span = 90 * 86400
    handles = [f"person{i}" for i in range(50_000)]
    started = time.perf_counter()
    engine = writer(repo.engine)
    batch = 20_000
    for start in range(0, n, batch):
        posts, mentions = [], []
        for i in range(start, min(n, start + batch)):
            # Posts arrive about in time order, as the listener stores them (a few minutes of
            # jitter): rows of one period sit together on disk, as they would in production.
            created = now - timedelta(seconds=span * (1 - i / n) + rng.random() * 600)
            analysis = {}
            if rng.random() < 0.7:
                analysis = {"sentiment": {"label": rng.choice(LABELS), "confidence": rng.random()}}
            if uniform_authors:
                # The worst case for top people: everyone posts about as often, anywhere.
                handle = rng.choice(handles)
                source = rng.choice(SOURCES)
            else:
                # The corpus's own authors, as often as they post there (a few agents answer
                # thousands of times, most people once), each on one network.
                handle = authors[i % len(authors)]
                source = SOURCES[zlib.crc32(handle.encode()) % len(SOURCES)]
            posts.append(
                {
                    "id": i + 1,
                    "workspace_id": ws.id,
                    "source": source,
                    "external_id": str(i),
                    "url": f"https://social.example/{i}",
                    "text": texts[i % len(texts)],
                    "created_at": created,
                    "lang": "en",
                    "author_id": handle,
                    "author_handle": handle,
                    "author_name": authors[i % len(authors)],
                    "is_own": rng.random() < 0.02,
                    "extra": {},
                    "analysis": analysis,
                    "content_hash": f"{i:032x}",
                }
            )
            first = rng.choices(topics, weights)[0]
            mentions.append(
                {"post_id": i + 1, "topic_id": first, "workspace_id": ws.id, "created_at": created}
            )
            if rng.random() < 0.1:
                other = rng.choice([t for t in topics if t != first])
                mentions.append(
                    {
                        "post_id": i + 1,
                        "topic_id": other,
                        "workspace_id": ws.id,
                        "created_at": created,
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(Post), posts)
            index_new_posts(conn, [p["id"] for p in posts])  # as the writer does
            conn.execute(insert(Mention), mentions)
        done = min(n, start + batch)
        if done % 100_000 == 0 or done == n:
            rate = done / (time.perf_counter() - started)
            print(f"  seeded {done:,} posts ({rate:,.0f}/s)", flush=True)
    # Seeding wrote the tables directly; the writer would have kept the rollups as it went.
    started = time.perf_counter()
    with engine.begin() as conn:
        rebuild(conn, ws.id)
    print(f"  rollups rebuilt in {time.perf_counter() - started:.1f} s", flush=True)
    with repo.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return ws.id


def measure(client: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    for _ in range(2):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert answer.status_code == 200
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, len(answer.content)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--posts", type=int, default=None)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--cache",
        type=float,
        default=0.0,
        help="GOODWILL_FIGURES_CACHE_SECONDS (default 0, the product's: read afresh every time)",
    )
    parser.add_argument(
        "--uniform-authors",
        action="store_true",
        help="50,000 authors posting equally often on every network (top people's worst case)",
    )
    args = parser.parse_args()
    n = args.posts or (100_000 if args.quick else 1_000_000)
    folder = Path(tempfile.mkdtemp(prefix="gw-bench-web-"))
    db = args.db or folder / "goodwill.db"
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{db}",
        figures_cache_seconds=args.cache,
    )
    engine = create_store_engine(settings.resolved_database_url())
    upgrade(engine)
    repo = Repository(engine)
    accounts = Accounts(engine)
    if repo.workspaces():
        ws = repo.workspace("Bench").id
        print(f"reusing {db} ({repo.post_count(ws):,} posts)")
    else:
        ws = seed(repo, n, uniform_authors=args.uniform_authors)
    if accounts.user_by_email("bench@example.com") is None:
        accounts.create_user("bench@example.com", PASSWORD, is_owner=True)
    # A running install keeps the inbox and people current as posts arrive (listener or
    # workers); bring them up to date first so the pages are timed in that steady state, not
    # racing the first build that the navigation's inbox count would start in the background.
    t = time.perf_counter()
    Inbox(repo, settings).refresh(ws)
    print(f"inbox and people brought up to date in {time.perf_counter() - t:.1f} s", flush=True)
    client = TestClient(create_app(repo, settings))
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token},
    )
    mentions = repo.post_count(ws)
    first = client.get(f"/api/workspaces/{ws}/mentions?limit=50").json()
    cursor = first["next_cursor"]
    pages = {
        "dashboard (30 days)": f"/w/{ws}/dashboard",
        "dashboard (7 days)": f"/w/{ws}/dashboard?days=7",
        "dashboard (90 days)": f"/w/{ws}/dashboard?days=90",
        "stream: first page": f"/w/{ws}/mentions",
        "stream: filtered (topic+source+sentiment)": (
            f"/w/{ws}/mentions?topic=2&source=x&sentiment=negative"
        ),
        "stream: search": f"/w/{ws}/mentions?q=delayed",
        "stream: second page (cursor)": f"/w/{ws}/mentions?cursor={quote(cursor)}",
        "API: mentions first page": f"/api/workspaces/{ws}/mentions",
        "API: dashboard (30 days)": f"/api/workspaces/{ws}/dashboard",
    }
    cache = f"figures cache {args.cache:g} s" if args.cache else "no figures cache"
    print(
        f"\n{mentions:,} posts in SQLite, {cache}; {args.runs} requests per page after 2 warm-ups\n"
    )
    print(f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>9}")
    worst = 0.0
    for name, path in pages.items():
        p50, p95, size = measure(client, path, args.runs)
        worst = max(worst, p95)
        print(f"{name:<44} {p50:>8.1f} {p95:>8.1f} {size:>9,}", flush=True)
    print(f"\nworst p95: {worst:.0f} ms (target: 300 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
