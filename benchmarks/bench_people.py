"""How long do people take to catch up with a workspace's posts, and what does forgetting cost?

Stores N posts (default 100,000) by N/10 authors, all matching the brand's topic (texts from the
real corpus when present; analysis off, so this times the people code, not the models), then
times on SQLite and PostgreSQL: the first ``People.sync`` (every person built), a sync with
nothing new, one after 1% new posts, a page of the list, the advocates list, one profile with its
timeline, forgetting one person, and importing 10% of the posts again with and without 100
tombstones (the writer's per-batch check).

    python benchmarks/bench_people.py                 # 100,000 posts, both stores
    python benchmarks/bench_people.py --quick         # 10,000 posts
    python benchmarks/bench_people.py --stores sqlite --posts 50000
"""

from __future__ import annotations

import argparse
import random
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

from goodwill.domain import TopicKind  # noqa: E402
from goodwill.ingest import Ingestor  # noqa: E402
from goodwill.people import People  # noqa: E402
from goodwill.people.privacy import forget_person  # noqa: E402
from goodwill.settings import Settings  # noqa: E402
from goodwill.store.db import create_store_engine  # noqa: E402
from goodwill.store.migrate import upgrade  # noqa: E402
from goodwill.store.people_tables import ForgottenIdentity, identity_hashes  # noqa: E402
from goodwill.store.repository import Repository  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)


def make_posts(n: int, texts: list[str], seed: int = 11) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    authors = max(n // 10, 1)
    return [
        {
            "id": f"p{i}",
            "source": rnd.choice(("x", "mastodon", "bluesky")),
            "text": f"brightloaf {rnd.choice(texts)} #{i}",
            "created_at": (START + timedelta(seconds=30 * i)).isoformat(),
            "author": {
                "id": f"u{(a := rnd.randrange(authors))}",
                "handle": f"@user{a}",
                "name": f"User {a}",
                "followers": rnd.randrange(0, 100_000),
            },
        }
        for i in range(n)
    ]


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(url: str, posts: list[dict[str, Any]], data_dir: Path) -> dict[str, float]:
    engine = create_store_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    ws = repo.add_workspace("Brightloaf").id
    repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
    settings = Settings(data_dir=data_dir, analysis=False)
    ingestor = Ingestor(repo, settings)
    extra = len(posts) // 100
    ingestor.ingest(ws, [(str(i), p) for i, p in enumerate(posts[:-extra])])
    people = People(repo, settings)
    figures: dict[str, float] = {}
    figures["first sync (build everyone)"], report = timed(lambda: people.sync(ws))
    figures["sync, nothing new"], _ = timed(lambda: people.sync(ws))
    ingestor.ingest(ws, [(str(i), p) for i, p in enumerate(posts[-extra:])])
    figures["sync after 1% new posts"], again = timed(lambda: people.sync(ws))
    figures["list, first page of 50"], (views, total) = timed(lambda: people.list_people(ws))
    figures["advocates list"], _ = timed(lambda: people.list_people(ws, standing="advocate"))
    pid = views[0].id
    figures["profile + timeline"], _ = timed(
        lambda: (people.view(ws, pid), people.timeline(ws, pid), people.suggestions(ws, pid))
    )
    figures["forget one person"], forgot = timed(lambda: forget_person(people, ws, pid))
    sample = posts[: len(posts) // 10]
    for i, p in enumerate(sample):
        p["id"] = f"again{i}"
    figures["import 10% anew, no tombstones"], _ = timed(
        lambda: ingestor.ingest(ws, [(str(i), p) for i, p in enumerate(sample)])
    )
    from sqlalchemy.orm import Session

    with Session(engine) as s, s.begin():
        for a in range(100):
            for h in identity_hashes("x", f"u{a + 5}", f"@user{a + 5}"):
                s.add(ForgottenIdentity(workspace_id=ws, identity_hash=h))
    for i, p in enumerate(sample):
        p["id"] = f"third{i}"
    figures["import 10% anew, 100 tombstones"], dropped = timed(
        lambda: ingestor.ingest(ws, [(str(i), p) for i, p in enumerate(sample)])
    )
    print(
        f"  {report.people_created:,} people from {report.posts_read:,} posts; 1% new: "
        f"{again.posts_read:,} read, {again.people_recomputed:,} recomputed; {total:,} listed; "
        f"forget deleted {forgot.posts_deleted} posts; "
        f"{dropped.written.forgotten} posts dropped by tombstones"
    )
    engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else args.posts
    texts, _, described = load_corpus()
    posts = make_posts(n, texts)
    print(f"{n:,} posts by {max(n // 10, 1):,} authors, texts from {described}")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores = args.stores.split(",")
        if "sqlite" in stores:
            results["SQLite"] = run(
                f"sqlite:///{tmp}/bench.db", [dict(p) for p in posts], Path(tmp)
            )
        if "postgres" in stores:
            url, server = postgres_url()
            if url is None:
                print("PostgreSQL: skipped (no GOODWILL_BENCH_POSTGRES_URL, no binaries)")
            else:
                try:
                    results["PostgreSQL"] = run(url, [dict(p) for p in posts], Path(tmp))
                finally:
                    if server is not None:
                        server.stop()
    table = Table(title=f"People over {n:,} posts (seconds)")
    table.add_column("step")
    for store in results:
        table.add_column(store, justify="right")
    for step in next(iter(results.values()), {}):
        table.add_row(step, *(f"{results[s][step]:.3f}" for s in results))
    Console().print(table)


if __name__ == "__main__":
    main()
