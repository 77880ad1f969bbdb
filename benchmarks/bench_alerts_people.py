"""What do advocate and detractor alert rules add to each batch? Before judging a batch's posts,
such a rule brings the workspace's people up to date (``People.sync``). This measures:

* ``People.sync`` with no new posts (what each batch pays at the least);
* the alert evaluation of a batch of new posts after ``after_batch``: with only an
  influential-author rule (no people update) and with a detractor rule as well.

    python benchmarks/bench_alerts_people.py                  # SQLite, 20,000 posts
    python benchmarks/bench_alerts_people.py --quick          # 2,000 posts
    python benchmarks/bench_alerts_people.py --postgres       # a throwaway PostgreSQL server
    python benchmarks/bench_alerts_people.py --database-url postgresql+psycopg://…

Posts are synthetic (a few hundred authors, positive and negative texts) and analysed with the
fast ``vader`` sentiment, so the figures are the people update and the rule evaluation, not the
model. People sync reads new posts in commit order on PostgreSQL (``goodwill.store
.commit_order``): nothing is read twice, so a sync right after a large import costs no more than
one later (before, posts stored in the last 30 s were read again by every sync).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from goodwill.alerts import AlertService  # noqa: E402
from goodwill.domain import TopicKind  # noqa: E402
from goodwill.ingest import Ingestor  # noqa: E402
from goodwill.people import People  # noqa: E402
from goodwill.settings import Settings  # noqa: E402
from goodwill.store.alerts import AlertStore  # noqa: E402
from goodwill.store.db import create_store_engine  # noqa: E402
from goodwill.store.migrate import upgrade  # noqa: E402
from goodwill.store.repository import Repository  # noqa: E402

TEXTS = [
    "Brightloaf sourdough is wonderful, thank you for the lovely bread!",
    "Brightloaf ruined my order, stale bread and rude staff. Awful.",
    "Picked up a loaf at Brightloaf on the way home.",
    "Brightloaf croissants are great, the best in town!",
    "Terrible service at Brightloaf today, a total waste of money.",
]


def posts(start: int, count: int, authors: int, now: datetime) -> list[tuple[str, Any]]:
    out = []
    for i in range(start, start + count):
        out.append(
            (
                f"row {i}",
                {
                    "id": f"p{i}",
                    "source": "mastodon",
                    "text": f"{TEXTS[i % len(TEXTS)]} #{i}",
                    "created_at": (now - timedelta(minutes=(start + count - i))).isoformat(),
                    "author": {"id": f"a{i % authors}", "handle": f"@a{i % authors}"},
                },
            )
        )
    return out


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preload", type=int, default=20_000, help="posts stored beforehand")
    parser.add_argument("--authors", type=int, default=500, help="distinct authors")
    parser.add_argument("--batches", type=int, default=10, help="measured batches per case")
    parser.add_argument("--batch", type=int, default=20, help="posts per measured batch")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--quick", action="store_true", help="2,000 posts preloaded")
    parser.add_argument(
        "--postgres", action="store_true", help="start a PostgreSQL server (tests/pgserver.py)"
    )
    parser.add_argument("--pg-port", type=int, default=54417, help="its port")
    args = parser.parse_args(argv)
    if args.postgres:
        from tests.pgserver import PostgresServer, find_pg_bin

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("no PostgreSQL binaries found")
            return 1
        server = PostgresServer(bin_dir)
        server.port = args.pg_port
        args.database_url = server.start()
        try:
            return measure(args)
        finally:
            server.stop()
    return measure(args)


def measure(args: argparse.Namespace) -> int:
    preload = 2_000 if args.quick else args.preload
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        settings = Settings(data_dir=Path(tmp), database_url=url, sentiment="vader")
        engine = create_store_engine(url)
        upgrade(engine)
        repo = Repository(engine)
        ws = repo.add_workspace(f"bench {time.time_ns()}").id
        repo.add_topic(ws, "brand", TopicKind.BRAND, "brightloaf")
        alerts = AlertService(AlertStore(engine), settings)
        now = datetime.now(UTC)
        Ingestor(repo, settings).ingest(ws, posts(0, preload, args.authors, now))
        people = People(repo, settings)
        t = time.perf_counter()
        first = people.sync(ws)
        print(
            f"{engine.dialect.name}: {preload:,} posts, {first.people_created:,} people; "
            f"first sync {time.perf_counter() - t:.2f} s"
        )

        def idle() -> list[float]:
            times = []
            for _ in range(args.batches):
                t = time.perf_counter()
                people.sync(ws)
                times.append(time.perf_counter() - t)
            return times

        print(f"People.sync with no new posts, right after storing {preload:,}: {ms(idle())}")

        ingestor = Ingestor(repo, settings)
        next_id = preload
        for case, rules in (
            ("influential rule only", [("stars", {"min_followers": 0})]),
            ("with a detractor rule", [("detractors", {"signal": "detractor"})]),
        ):
            for name, filters in rules:
                alerts.add_rule(ws, name, "author", filters=filters, emails=["a@b.example"])
            times = []
            for _ in range(args.batches):
                ingestor.ingest(ws, posts(next_id, args.batch, args.authors, datetime.now(UTC)))
                next_id += args.batch
                t = time.perf_counter()
                alerts.evaluate(ws)
                times.append(time.perf_counter() - t)
            print(f"evaluation of a batch of {args.batch}, {case}: {ms(times)}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
