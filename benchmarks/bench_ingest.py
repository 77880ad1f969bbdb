"""How fast do posts get into the store? The whole path: validate, clean, repeat keys, language,
match 1,000 topics, write (with dedupe look-ups and mentions), on SQLite and PostgreSQL.

    python benchmarks/bench_ingest.py                     # 100,000 posts, 1,000 topics, both stores
    python benchmarks/bench_ingest.py --quick             # 10,000 posts
    python benchmarks/bench_ingest.py --stores sqlite --posts 50000

PostgreSQL comes from GOODWILL_BENCH_POSTGRES_URL, or a throwaway server is started from the
machine's binaries (as the tests do); it is skipped, saying so, when neither is possible.
Figures are posts per second of wall time in one process, on whatever machine runs this.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _corpus import brand_pool, load_corpus, make_posts, make_topics, vocabulary  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from goodwill.domain import TopicKind  # noqa: E402
from goodwill.ingest import Ingestor  # noqa: E402
from goodwill.pipeline.batch import process_batch  # noqa: E402
from goodwill.settings import Settings  # noqa: E402
from goodwill.store.db import create_store_engine  # noqa: E402
from goodwill.store.migrate import upgrade  # noqa: E402
from goodwill.store.repository import Repository  # noqa: E402

console = Console()
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def post_dicts(n: int, topics_brands: list[str]) -> list[tuple[str, dict[str, Any]]]:
    texts, authors, described = load_corpus()
    console.print(f"corpus: {described}")
    raw = make_posts(texts, authors, n, topics_brands, rate=0.3, seed=11)
    out = []
    for i, p in enumerate(raw):
        obj: dict[str, Any] = {
            "id": str(i),
            "source": p.source,
            "url": p.url,
            "text": p.text,
            "created_at": (T0 + timedelta(seconds=i * 7)).isoformat(),
            "author": {"id": p.author, "handle": p.author},
            "metrics": {"likes": i % 13, "shares": i % 5, "replies": i % 3},
        }
        if i % 2:
            obj["lang"] = p.lang  # the other half exercises language detection
        out.append((f"post {i}", obj))
    return out


def postgres_url() -> tuple[str | None, Any]:
    url = os.environ.get("GOODWILL_BENCH_POSTGRES_URL")
    if url:
        return url, None
    from tests.pgserver import PostgresServer, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        return None, None
    server = PostgresServer(bin_dir)
    admin = server.start()
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE goodwill_bench"))
    engine.dispose()
    return str(make_url(admin).set(database="goodwill_bench")), server


def run_store(
    name: str,
    url: str,
    items: list[tuple[str, dict[str, Any]]],
    topics: list[str],
    *,
    analysis: bool = False,
) -> dict[str, float]:
    """Import ``items`` twice; ``analysis`` adds the settings' analysis step (first pass only)."""
    engine = create_store_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    ws = repo.add_workspace("bench")
    for i, q in enumerate(topics):
        repo.add_topic(ws.id, f"topic {i}", TopicKind.BRAND, q)
    settings = Settings(data_dir=Path(tempfile.gettempdir()))
    ingestor = Ingestor(repo, settings, analyzers=None if analysis else (), ahead=True)
    ingestor.index()  # compile once, outside the timing (the listener keeps it between batches)
    figures: dict[str, float] = {}
    for label in ("first import",) if analysis else ("first import", "same file again"):
        with Progress(
            f"[bold]{name}[/] {label}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(label, total=len(items))
            start = time.perf_counter()
            report = ingestor.ingest(
                ws.id, items, on_batch=lambda r, t=task: progress.update(t, completed=r.read)
            )
            elapsed = time.perf_counter() - start
        figures[label] = len(items) / elapsed
        w = report.written
        console.print(
            f"  {name} {label}: {len(items):,} posts in {elapsed:.1f} s → "
            f"[bold]{len(items) / elapsed:,.0f} posts/s[/] "
            f"({w.inserted:,} new, {w.unchanged:,} unchanged, {w.duplicates:,} repeats, "
            f"{w.mentions:,} mentions)"
        )
    engine.dispose()
    return figures


def pipeline_only(items: list[tuple[str, dict[str, Any]]], topics: list[str]) -> float:
    from goodwill.pipeline.batch import TopicSpec, build_topic_index

    index, _ = build_topic_index(TopicSpec(1, i, q) for i, q in enumerate(topics))
    start = time.perf_counter()
    size = Settings().ingest_batch_size
    for k in range(0, len(items), size):
        process_batch(items[k : k + size], workspace_id=1, index=index)
    return len(items) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=1_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--quick", action="store_true", help="10,000 posts")
    parser.add_argument(
        "--no-analysis",
        action="store_true",
        help="skip the extra SQLite run with sentiment, intent and risk analysis",
    )
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else args.posts

    texts, _, _ = load_corpus()
    brands = brand_pool(max(args.topics // 3, 1), seed=3)
    mid, pairs = vocabulary(texts)
    topics = make_topics(args.topics, brands, mid, pairs, seed=5)
    items = post_dicts(n, brands)
    console.print(f"{n:,} posts, {len(topics):,} topics, batches of {Settings().ingest_batch_size}")

    results: dict[str, dict[str, float]] = {}
    results["pipeline only (no store)"] = {"first import": pipeline_only(items, topics)}
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in stores:
            results["SQLite"] = run_store("SQLite", f"sqlite:///{tmp}/bench.db", items, topics)
            if not args.no_analysis:
                mode = Settings().sentiment
                results[f"SQLite + analysis ({mode})"] = run_store(
                    "SQLite + analysis",
                    f"sqlite:///{tmp}/bench-analysed.db",
                    items,
                    topics,
                    analysis=True,
                )
        if "postgres" in stores:
            url, server = postgres_url()
            if url is None:
                console.print("[yellow]PostgreSQL not available: skipped[/]")
            else:
                try:
                    results["PostgreSQL"] = run_store("PostgreSQL", url, items, topics)
                finally:
                    if server is not None:
                        server.stop()

    table = Table(
        title=f"Ingest: {n:,} posts, {len(topics):,} topics (posts/s)", header_style="bold"
    )
    table.add_column("store")
    table.add_column("first import", justify="right")
    table.add_column("same file again", justify="right")
    for store, figs in results.items():
        table.add_row(
            store,
            f"{figs['first import']:,.0f}",
            f"{figs['same file again']:,.0f}" if "same file again" in figs else "",
        )
    console.print(table)
    console.print(
        "Target: at least 5,000 posts/s into SQLite (the store path, issue 2). Analysis runs "
        "inline as posts are stored; its own speed per model: benchmarks/bench_analysis.py."
    )


if __name__ == "__main__":
    main()
