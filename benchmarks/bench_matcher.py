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

Data: real public tweets when they are present (TweetEval sentiment validation texts and the
TWCS customer-support subsets under ``/work/shared/data``, read in place), otherwise synthetic
text. Posts repeat the corpus up to ``--posts``. Topics are generated, seeded, the way people
write them: most follow a brand (invented names, which ``--brand-rate`` of the posts mention,
as posts collected for listening do), with OR groups, phrases, exclusions, NEAR, wildcards,
hashtags, mentions and a few field filters; about one in ten is an industry topic built from
the corpus's mid-frequency words and real bigrams.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from goodwill.query import Document, Query, TopicIndex, parse
from goodwill.text import tokens

DATA = Path("/work/shared/data")
TWEETEVAL = DATA / "tweeteval" / "sentiment"
TWCS = DATA / "twcs"


@dataclass(frozen=True, slots=True)
class RawPost:
    text: str
    author: str
    url: str
    lang: str
    source: str


def load_corpus() -> tuple[list[str], list[str], str]:
    """(texts, authors, description) from the real data sets when present, else synthetic."""
    texts: list[str] = []
    authors: list[str] = []
    used = []
    for path in sorted(TWEETEVAL.glob("*_text.txt")) if TWEETEVAL.is_dir() else []:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        texts += [line for line in lines if line]
        authors += [f"user{i}" for i in range(len(lines))]
        used.append(f"tweeteval/{path.name}")
    for path in sorted(TWCS.glob("*.csv")) if TWCS.is_dir() else []:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("text"):
                    texts.append(row["text"])
                    authors.append(row.get("author_id") or "someone")
        used.append(f"twcs/{path.name}")
    if texts:
        return texts, authors, f"{len(texts):,} real tweets ({', '.join(used)})"
    rng = random.Random(7)
    vocab = [_brand_name(rng).lower() for _ in range(3000)] + "the a to and of is in it".split()
    texts = [" ".join(rng.choices(vocab, k=rng.randint(6, 25))) for _ in range(5000)]
    return texts, [f"user{i}" for i in range(5000)], "5,000 synthetic texts (no data found)"


_SYLLABLES = (
    "ka lo mi ne ru sa ti vo ze bra cle dro fen gri hal jun kor lum mar nix ploo qua rix sto tal "
    "ver wyn zor"
).split()


def _brand_name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def brand_pool(size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    pool = []
    while len(pool) < size:
        name = _brand_name(rng)
        if name.lower() not in seen and len(name) >= 5:
            seen.add(name.lower())
            pool.append(name)
    return pool


def make_posts(
    texts: Sequence[str],
    authors: Sequence[str],
    n: int,
    brands: Sequence[str],
    rate: float,
    seed: int,
) -> list[RawPost]:
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        j = i % len(texts)
        text = texts[j]
        if rng.random() < rate:
            brand = rng.choice(brands)
            form = rng.choice([brand, brand, brand.lower(), f"#{brand}", f"@{brand}", f"{brand}'s"])
            words = text.split()
            words.insert(rng.randint(0, len(words)), form)
            text = " ".join(words)
        author = authors[j]
        source = "x" if i % 10 else rng.choice(["mastodon", "bluesky", "reddit", "rss"])
        url = (
            f"https://x.com/{author}/status/{i}"
            if source == "x"
            else f"https://{source}.example/{i}"
        )
        lang = "en" if i % 20 else rng.choice(["es", "pt", "fr", "de"])
        posts.append(RawPost(text, author, url, lang, source))
    return posts


def vocabulary(texts: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Mid-frequency words (in 0.1%–1% of texts) and real bigrams made of such words."""
    df: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for text in texts:
        found = [t for t in tokens(text) if re.fullmatch(r"[a-z]+", t)]
        df.update(set(found))
        bigrams.update(set(itertools.pairwise(found)))
    low, high = max(3, len(texts) // 1000), max(6, len(texts) // 100)
    mid = sorted(w for w, c in df.items() if low <= c <= high and len(w) >= 4)
    mid_set = set(mid)
    pairs = sorted(
        (a, b) for (a, b), c in bigrams.items() if c >= 3 and (a in mid_set or b in mid_set)
    )
    return mid, pairs


def make_topics(
    count: int,
    brands: Sequence[str],
    mid: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    seed: int,
) -> list[str]:
    rng = random.Random(seed)
    topics = []
    for i in range(count):
        b = brands[i // 3 % len(brands)]
        low = b.lower()
        w = rng.sample(mid, 6)
        a1, a2 = rng.choice(pairs)
        if rng.random() < 0.1:  # industry topic, no brand
            topics.append(
                rng.choice(
                    [
                        f"({w[0]} OR {w[1]}) NEAR/4 ({w[2]} OR {w[3]})",
                        f'"{a1} {a2}" AND NOT ({w[4]} OR {w[5]})',
                        f"{w[0][:5]}* AND {w[1]} AND source:x",
                        f'({w[0]} OR "{a1} {a2}") AND ({w[2]} OR {w[3]}) NOT lang:de',
                    ]
                )
            )
            continue
        topics.append(
            rng.choice(
                [
                    f"{b} OR #{low} OR @{low}",
                    f'({b} OR "{b} app") AND NOT (job* OR hiring OR "{a1} {a2}")',
                    f"{b} AND ({w[0]} OR {w[1]} OR {w[2]})",
                    f"{b} NEAR/5 ({w[0]} OR {w[1]})",
                    f"(#{low} OR @{low}) AND (lang:en OR lang:es)",
                    f"{low}* AND NOT {w[3]}",
                    f'"{a1} {a2}" AND {b}',
                    f"author:{low} OR @{low}",
                    f"(site:{low}.com OR {b}) NOT ({w[4]} OR {w[5]})",
                    f"{b} NEAR/3f (support OR help*) AND NOT @{low}",
                ]
            )
        )
    return topics


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
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best counts")
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
