"""How good and how fast is sentiment? The shipped model beside VADER, same split, same run.

    python benchmarks/bench_sentiment.py           # all 2,000 TweetEval sentiment val tweets
    python benchmarks/bench_sentiment.py --quick   # smoke test on 200 tweets, one pass

Quality: macro-averaged recall (the SemEval-2017 task 4A / TweetEval measure), per-class recall
and accuracy on ``tweeteval/sentiment/val`` under ``../shared/data`` (or
``$GOODWILL_SHARED_DATA``). The val split was removed from the model's training data and used
only to pick the best checkpoint; TweetEval's test split is not in the shared data, so there
is no held-out test figure here. VADER (``vaderSentiment``) labels a post positive when its
compound score is >= 0.05, negative when <= -0.05, neutral otherwise (its authors' thresholds).

Speed: posts/s over the whole split in one ``predict`` call (batched, as the pipeline calls it),
tokenising and normalising included, on one core: onnxruntime runs with one intra-op thread and
the process pins itself to the idlest CPU (``--cpu N`` to choose, ``--no-pin`` to not), best of
``--repeat`` passes. Skips cleanly (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _corpus import DATA
from bench_matcher import idlest_cpu

from goodwill.analysis.sentiment_model import SentimentModel

LABELS = ("negative", "neutral", "positive")
SPLIT = DATA / "tweeteval" / "sentiment"


def load_split(name: str) -> tuple[list[str], list[str]] | None:
    text_file, label_file = SPLIT / f"{name}_text.txt", SPLIT / f"{name}_labels.txt"
    if not (text_file.is_file() and label_file.is_file()):
        return None
    texts = text_file.read_text(encoding="utf-8").splitlines()
    labels = [LABELS[int(x)] for x in label_file.read_text(encoding="utf-8").split()]
    if len(texts) != len(labels):
        raise SystemExit(f"{text_file}: {len(texts)} texts but {len(labels)} labels")
    return texts, labels


def scores(gold: Sequence[str], pred: Sequence[str]) -> tuple[float, dict[str, float], float]:
    """(macro recall, recall per class, accuracy)."""
    per = {}
    for label in LABELS:
        hits = [p == label for g, p in zip(gold, pred, strict=True) if g == label]
        per[label] = sum(hits) / len(hits) if hits else 0.0
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    return sum(per.values()) / len(per), per, accuracy


def timed(
    label_all: Callable[[list[str]], list[str]], texts: list[str], repeat: int
) -> tuple[list[str], float]:
    """Labels and the best posts/s over ``repeat`` passes."""
    best = float("inf")
    labels: list[str] = []
    for _ in range(repeat):
        start = time.perf_counter()
        labels = label_all(texts)
        best = min(best, time.perf_counter() - start)
    return labels, len(texts) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 tweets, one pass")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()

    split = load_split("val")
    if split is None:
        print(f"skipped: {SPLIT} has no val_text.txt / val_labels.txt")
        return 0
    texts, gold = split
    repeat = args.repeat
    if args.quick:
        texts, gold, repeat = texts[:200], gold[:200], 1
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else idlest_cpu(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu}")

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    model = SentimentModel.load()
    model.predict(texts[:64])  # warm up the session
    vader = SentimentIntensityAnalyzer()

    def vader_labels(batch: list[str]) -> list[str]:
        out = []
        for text in batch:
            compound = vader.polarity_scores(text)["compound"]
            out.append(
                "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
            )
        return out

    def model_labels(batch: list[str]) -> list[str]:
        return [p.label for p in model.predict(batch)]

    print(f"TweetEval sentiment val: {len(texts)} tweets, best of {repeat} pass(es), one core\n")
    print(
        f"{'model':<22}{'macro recall':>13}{'neg':>7}{'neu':>7}{'pos':>7}"
        f"{'accuracy':>10}{'posts/s':>10}"
    )
    for name, fn in (("goodwill sentiment", model_labels), ("VADER", vader_labels)):
        pred, rate = timed(fn, texts, repeat)
        macro, per, acc = scores(gold, pred)
        print(
            f"{name:<22}{macro:>13.4f}{per['negative']:>7.3f}{per['neutral']:>7.3f}"
            f"{per['positive']:>7.3f}{acc:>10.4f}{rate:>10,.0f}"
        )
    print("\ntargets: goodwill sentiment macro recall >= 0.70 and >= 100 posts/s on one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
