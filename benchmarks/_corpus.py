"""Benchmark data shared by the benchmarks: real public posts when present, generated topics.

Texts come from ../shared/data (TweetEval sentiment texts and TWCS customer-support tweets) when
it is there, else from a seeded synthetic vocabulary. Topics are generated the way people write
them (brands with OR groups, phrases, exclusions, NEAR, wildcards, hashtags, a few fields).
"""

from __future__ import annotations

import csv
import itertools
import os
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from goodwill.text import tokens

__all__ = ["RawPost", "brand_pool", "load_corpus", "make_posts", "make_topics", "vocabulary"]

# ../shared/data beside the checkout (as in CI), or GOODWILL_SHARED_DATA; read in place.
DATA = Path(
    os.environ.get("GOODWILL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
TWEETEVAL = DATA / "tweeteval" / "sentiment"
TWCS = DATA / "twcs"
TWACS = DATA / "twacs_airlines" / "airlines_raw_unlabeled.csv"
_TURN = re.compile(r"<(cust|rep)__(.*?)__(?:cust|rep)>", re.S)


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
    if TWACS.is_file():
        found = _twacs_turns(TWACS)
        texts += [t for t, _ in found]
        authors += [a for _, a in found]
        used.append(f"twacs_airlines ({len(found):,} turns)")
    if texts:
        return texts, authors, f"{len(texts):,} real tweets ({', '.join(used)})"
    rng = random.Random(7)
    vocab = [_brand_name(rng).lower() for _ in range(3000)] + [
        "the",
        "a",
        "to",
        "and",
        "of",
        "is",
        "in",
        "it",
    ]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(6, 25))) for _ in range(5000)]
    return texts, [f"user{i}" for i in range(5000)], "5,000 synthetic texts (no data found)"


def _twacs_turns(path: Path) -> list[tuple[str, str]]:
    """Each customer and agent turn of the airline conversations, as one tweet: real text, and
    mostly distinct, so the benchmarks do not cycle a few thousand tweets. Placeholders become
    handles."""
    out = []
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for n, row in enumerate(csv.DictReader(f)):
            dialogue = f"{row.get('first_utterance') or ''} {row.get('context') or ''}"
            for k, (who, said) in enumerate(_TURN.findall(dialogue)):
                said = " ".join(
                    said.replace("__company__", "@airline")
                    .replace("__cust__", "@customer")
                    .replace("__initials__", "")
                    .split()
                )
                if said:
                    out.append((said, f"agent{n % 50}" if who == "rep" else f"cust{n}_{k % 2}"))
    return out


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
