"""How long does the inbox take to catch up with a workspace's posts?

Stores N posts (default 100,000: threads of one to six posts, customers asking and the brand
answering some of them; texts from the real corpus when present), then times, on SQLite and
PostgreSQL: the first ``Inbox.refresh`` (every conversation inserted), a second one with nothing
new (skipped), one after 1% new posts (incremental: only the threads they touch are read),
``metrics`` and ``list``; then p50 and p95 over repeated runs of what a teammate waits for: the
inbox's first page (refresh check with people, first 50 by priority, count, metrics), metrics,
one conversation opened, and the ``goodwill inbox metrics --json`` command as a whole.

    python benchmarks/bench_inbox.py                 # 100,000 posts, both stores
    python benchmarks/bench_inbox.py --quick         # 10,000 posts
    python benchmarks/bench_inbox.py --stores sqlite --posts 50000
    python benchmarks/bench_inbox.py --no-analysis   # store without analysis: quicker setup
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _corpus import load_corpus  # noqa: E402
from bench_ingest import postgres_url  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from goodwill.inbox import Inbox  # noqa: E402
from goodwill.ingest import Ingestor  # noqa: E402
from goodwill.settings import Settings  # noqa: E402
from goodwill.store.db import create_store_engine  # noqa: E402
from goodwill.store.migrate import upgrade  # noqa: E402
from goodwill.store.repository import Repository  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
REPEATS = 21
CLI_REPEATS = 7


def make_threads(n: int, texts: list[str], seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    posts: list[dict[str, Any]] = []
    t = 0
    while len(posts) < n:
        size = rnd.choice((1, 1, 1, 2, 2, 3, 4, 6))
        root = f"p{len(posts)}"
        at = START + timedelta(seconds=t)
        t += 30
        parent = None
        for i in range(size):
            own = i % 2 == 1
            pid = root if i == 0 else f"{root}-{i}"
            text = "@brightloaf " + rnd.choice(texts) if not own else "Thanks, we are on it!"
            row: dict[str, Any] = {
                "id": pid,
                "source": "x",
                "text": text,
                "created_at": (at + timedelta(minutes=37 * i)).isoformat(),
                "author": {"id": "brand" if own else f"u{len(posts) % 5000}", "followers": 100},
                "is_own": own,
            }
            if own:
                row["author"]["handle"] = "brightloaf"
            if parent is not None:
                row["in_reply_to"] = parent
            parent = pid
            posts.append(row)
    return posts[:n]


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(
    url: str, posts: list[dict[str, Any]], data_dir: Path, analysis: bool = True
) -> dict[str, float]:
    engine = create_store_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    ws = repo.add_workspace("Brightloaf").id
    settings = Settings(data_dir=data_dir, analysis=analysis)
    ingestor = Ingestor(repo, settings)
    extra = len(posts) // 100
    ingestor.ingest(ws, [(str(i), p) for i, p in enumerate(posts[:-extra])])
    inbox = Inbox(repo)
    figures: dict[str, float] = {}
    figures["first refresh"], report = timed(lambda: inbox.refresh(ws))
    figures["refresh, nothing new"], _ = timed(lambda: inbox.refresh(ws))
    ingestor.ingest(ws, [(str(i), p) for i, p in enumerate(posts[-extra:])])
    figures["refresh after 1% new"], later = timed(lambda: inbox.refresh(ws))
    how = "incremental" if getattr(later, "incremental", False) else "full"
    print(f"  after {extra:,} new posts: {how}, {getattr(later, 'posts_read', '?')} posts read")
    figures["metrics"], m = timed(lambda: inbox.metrics(ws))
    figures["list (all, by priority)"], views = timed(lambda: inbox.conversations(ws))
    print(
        f"  {report.threads:,} conversations; first response median {m.first_response.median_s}"
        f" s over {m.first_response.count:,}; coverage {m.coverage}; {len(views):,} listed"
    )
    # What a teammate waits for every morning, repeated: p50 and p95 of each.
    first = views[0].id

    def first_page() -> None:  # as the web inbox builds its first page
        people_inbox.refresh(ws)
        inbox.conversations(ws, status="open", limit=50)
        inbox.count_conversations(ws, status="open")
        inbox.metrics(ws)

    def open_one() -> None:  # as the conversation page reads it
        inbox.open_as(ws, first, "bench")
        inbox.conversation(ws, first)
        inbox.posts(ws, first)
        inbox.notes(ws, first)

    people_inbox = Inbox(repo, settings)
    for name, fn in (
        ("inbox first page", first_page),
        ("metrics", lambda: inbox.metrics(ws)),
        ("one conversation open", open_one),
    ):
        runs = sorted(timed(fn)[0] for _ in range(REPEATS))
        figures[f"{name} p50"] = runs[len(runs) // 2]
        figures[f"{name} p95"] = runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]
    runs = sorted(cli_metrics(url, data_dir) for _ in range(CLI_REPEATS))
    figures["`goodwill inbox metrics --json` p50"] = runs[len(runs) // 2]
    figures["`goodwill inbox metrics --json` p95"] = runs[-1]
    engine.dispose()
    return figures


def cli_metrics(url: str, data_dir: Path) -> float:
    """The whole command, as a person runs it: start, refresh, metrics, JSON out."""
    env = os.environ | {"GOODWILL_DATABASE_URL": url, "GOODWILL_DATA_DIR": str(data_dir)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "goodwill", "inbox", "metrics", "--json"],
        env=env,
        capture_output=True,
        check=False,
    )
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"goodwill inbox metrics failed: {done.stderr.decode()[-2000:]}")
    return took


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--no-analysis",
        action="store_true",
        help="Store the posts without analysis (a much faster setup; every customer post "
        "mentions the brand, so the threads are the same, without question/complaint counts).",
    )
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else args.posts
    texts, _, described = load_corpus()
    posts = make_threads(n, texts)
    print(f"{n:,} posts, texts from {described}")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores = args.stores.split(",")
        if "sqlite" in stores:
            results["SQLite"] = run(
                f"sqlite:///{tmp}/bench.db", posts, Path(tmp), not args.no_analysis
            )
        if "postgres" in stores:
            url, server = postgres_url()
            if url is None:
                print("PostgreSQL: skipped (no GOODWILL_BENCH_POSTGRES_URL, no binaries)")
            else:
                try:
                    results["PostgreSQL"] = run(url, posts, Path(tmp), not args.no_analysis)
                finally:
                    if server is not None:
                        server.stop()
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    table = Table(title=f"Inbox over {n:,} posts (seconds)")
    table.add_column("step")
    for store in results:
        table.add_column(store, justify="right")
    for step in next(iter(results.values()), {}):
        table.add_row(step, *(f"{results[s][step]:.2f}" for s in results))
    Console().print(table)


if __name__ == "__main__":
    main()
