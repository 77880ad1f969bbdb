"""How fast does a post get matched against every topic? (``goodwill.query.TopicIndex``)

    python benchmarks/bench_matcher.py           # 100,000 posts; 100, 1,000 and 10,000 topics
    python benchmarks/bench_matcher.py --quick   # smoke test, well under 30 s
    python benchmarks/bench_matcher.py --posts 50000 --topics 100,1000

The figure that counts is posts/s *including* ``Document.build`` (tokenising), on one core
(the process pins itself to the idlest CPU, or ``--cpu N``, unless ``--no-pin``), best of
``--repeat`` passes (other work on the machine only ever makes a pass slower). The naive loop
(every query evaluated on every post, same compiled queries, same documents) is timed on a
subset of the posts in the same run; its results are also compared with the index's, so the
benchmark doubles as a check.

Data (``_corpus.py``, shared with the other benchmarks): real public tweets when they are
present (TweetEval sentiment texts and the TWCS customer-support subsets under
``../shared/data`` or ``$GOODWILL_SHARED_DATA``, read in place), otherwise synthetic text.
Posts repeat the corpus up to ``--posts``. Topics are generated, seeded, the way people
write them: most follow a brand (invented names, which ``--brand-rate`` of the posts mention,
as posts collected for listening do), with OR groups, phrases, exclusions, NEAR, wildcards,
hashtags, mentions and a few field filters; about one in ten is an industry topic built from
the corpus's mid-frequency words and real bigrams.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Hashable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _corpus import (  # the benchmarks' shared data: real tweets when present, seeded topics
    RawPost,
    brand_pool,
    load_corpus,
    make_posts,
    make_topics,
    vocabulary,
)

from goodwill.query import Document, Query, TopicIndex, parse


def idlest_cpu(allowed: set[int]) -> int:
    """The CPU that was idle the most over a short look at /proc/stat (first one if unknown)."""

    def idle() -> dict[int, int]:
        out = {}
        for line in Path("/proc/stat").read_text().splitlines():
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                out[int(name[3:])] = int(fields[3]) + int(fields[4])  # idle + iowait
        return out

    try:
        before = idle()
        time.sleep(0.5)
        after = idle()
    except (OSError, ValueError, IndexError):
        return min(allowed)
    return max(sorted(allowed), key=lambda cpu: after.get(cpu, 0) - before.get(cpu, 0))


def build(post: RawPost) -> Document:
    return Document.build(
        post.text, author_handle=post.author, url=post.url, lang=post.lang, source=post.source
    )


def run(
    posts: Sequence[RawPost], queries: list[Query], naive_n: int, repeat: int
) -> dict[str, float]:
    index = TopicIndex()
    started = time.perf_counter()
    for i, query in enumerate(queries):
        index.add(("ws", i), query)
    index.match(build(posts[0]))  # builds the automaton
    build_s = time.perf_counter() - started

    best = float("inf")
    matches = 0
    for _ in range(repeat):
        started = time.perf_counter()
        matches = 0
        for post in posts:
            matches += len(index.match(build(post)))
        best = min(best, time.perf_counter() - started)

    subset = posts[:naive_n]
    keyed: list[tuple[Hashable, Query]] = [(("ws", i), q) for i, q in enumerate(queries)]
    started = time.perf_counter()
    naive_results = []
    for post in subset:
        doc = build(post)
        naive_results.append([k for k, q in keyed if q.matches(doc)])
    naive_elapsed = time.perf_counter() - started
    wrong = sum(index.match(build(p)) != r for p, r in zip(subset, naive_results, strict=True))
    if wrong:
        raise SystemExit(f"index and naive loop disagree on {wrong} of {len(subset)} posts")

    sample = posts[: min(len(posts), 5000)]
    candidates = sum(len(index.candidates(build(post))) for post in sample)
    return {
        "build_ms": build_s * 1000,
        "posts_s": len(posts) / best,
        "naive_posts_s": len(subset) / naive_elapsed,
        "naive_n": len(subset),
        "matches": matches / len(posts),
        "candidates": candidates / len(sample),
        "always": len(index._always),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--topics", default="100,1000,10000")
    parser.add_argument("--quick", action="store_true", help="smoke test: 20,000 posts, 1 pass")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; the best counts")
    parser.add_argument("--naive", type=int, default=0, help="posts for the naive loop (auto)")
    parser.add_argument("--brand-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: idlest)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args(argv)
    if args.quick:
        args.posts = min(args.posts, 20_000)
        args.repeat = 1
    counts = [int(c) for c in args.topics.split(",")]

    pinned = "not pinned"
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else idlest_cpu(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        pinned = f"pinned to CPU {cpu}"

    texts, authors, described = load_corpus()
    brands = brand_pool(max(counts) // 3 + 10, args.seed)
    mid, pairs = vocabulary(texts)
    posts = make_posts(texts, authors, args.posts, brands, args.brand_rate, args.seed)
    print(f"corpus: {described}; {len(mid):,} mid-frequency words, {len(pairs):,} bigrams")
    print(
        f"posts: {len(posts):,} ({args.brand_rate:.0%} mention a brand); one process, {pinned}; "
        f"best of {args.repeat} pass{'es' if args.repeat > 1 else ''}"
    )

    started = time.perf_counter()
    for post in posts:
        build(post)
    build_only = len(posts) / (time.perf_counter() - started)
    print(f"Document.build alone: {build_only:,.0f} posts/s\n")

    header = (
        f"{'topics':>7} {'parse':>7} {'index':>7} {'posts/s':>9} {'naive posts/s':>14} "
        f"{'speed-up':>9} {'candidates':>11} {'matches':>8} {'unanchored':>11}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for count in counts:
        sources = make_topics(count, brands, mid, pairs, args.seed + count)
        started = time.perf_counter()
        queries = [parse(q) for q in sources]
        parse_ms = (time.perf_counter() - started) * 1000
        naive_n = args.naive or max(50, min(2000, 4_000_000 // (count * (4 if args.quick else 1))))
        r = results[count] = run(posts, queries, min(naive_n, len(posts)), args.repeat)
        print(
            f"{count:>7,} {parse_ms:>5,.0f}ms {r['build_ms']:>5,.0f}ms {r['posts_s']:>9,.0f} "
            f"{r['naive_posts_s']:>14,.0f} {r['posts_s'] / r['naive_posts_s']:>8,.0f}x "
            f"{r['candidates']:>11.2f} {r['matches']:>8.2f} {r['always']:>11}"
        )
    print(
        "\nposts/s: Document.build + TopicIndex.match per post; naive: Document.build + every "
        "query's\nmatches(), on the first posts (the index gave the same answers on them); "
        "candidates:\nqueries evaluated per post after the prefilter; matches: topics per post; "
        "parse, index:\ntime to parse the topics and to build the index."
    )
    if 10_000 in results:
        r = results[10_000]
        ok = r["posts_s"] >= 50_000 and r["posts_s"] / r["naive_posts_s"] >= 50
        print(
            f"\ntarget (10,000 topics: >= 50,000 posts/s and >= 50x naive): "
            f"{'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
