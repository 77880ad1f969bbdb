"""Analysis quality and speed: `python benchmarks/bench_analysis.py [--quick]`.

- Sentiment: macro-averaged recall on TweetEval sentiment val (2,000 tweets) and posts/s on one
  core, for VADER and, once it is installed, the trained model
  (``goodwill.analysis.sentiment_model``) side by side in the same run.
- Intent: precision and recall per class on our hand-labelled development set
  (data/intent_dev_labels.csv), for the ``test`` half (never used to write the rules) and the
  ``tune`` half (used; shown for comparison only).
- Risk: F1 of the flag on TweetEval offensive and hate val splits.
- Language: no labelled language set is available in ../shared/data; nothing is measured.

Each part is skipped, with a note, when its data is absent. ``--quick`` uses 300 posts for speed.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _corpus import DATA  # noqa: E402
from _customer_care import load_messages  # noqa: E402

from goodwill.analysis.intent import INTENTS, classify_intents  # noqa: E402
from goodwill.analysis.risk import RiskModel  # noqa: E402
from goodwill.analysis.types import Prediction  # noqa: E402
from goodwill.analysis.vader import VaderSentiment  # noqa: E402

TWEETEVAL = DATA / "tweeteval"
SENTIMENT_NAMES = ("negative", "neutral", "positive")


def _read_split(task: str, split: str) -> tuple[list[str], list[int]] | None:
    folder = TWEETEVAL / task
    text, labels = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    if not (text.is_file() and labels.is_file()):
        return None
    return (
        text.read_text(encoding="utf-8").splitlines(),
        [int(x) for x in labels.read_text().split()],
    )


def per_class(
    gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]
) -> dict[str, tuple[float, float, int]]:
    """class → (precision, recall, support)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    out = {}
    for c in classes:
        precision = tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 0.0
        recall = tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 0.0
        out[c] = (precision, recall, tp[c] + fn[c])
    return out


def f1(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def posts_per_second(
    predict: Callable[[Sequence[str]], object],
    texts: Sequence[str],
    *,
    before_each: Callable[[], None] | None = None,
    batch: int = 256,
) -> float:
    """Posts per second of CPU time (``time.process_time``: one process, and not charged for
    other programs on a shared machine), in batches as the pipeline sends them; best of 3."""
    predict(texts[:50])  # warm up (loads, caches)
    best = float("inf")
    for _ in range(3):
        if before_each is not None:
            before_each()
        start = time.process_time()
        for i in range(0, len(texts), batch):
            predict(texts[i : i + batch])
        best = min(best, time.process_time() - start)
    return len(texts) / best


def sentiment_models() -> list[tuple[str, Callable[[Sequence[str]], list[Prediction]]]]:
    models: list[tuple[str, Callable[[Sequence[str]], list[Prediction]]]] = []
    if importlib.util.find_spec("goodwill.analysis.sentiment_model") is not None:
        module = importlib.import_module("goodwill.analysis.sentiment_model")
        models.append(("model", module.SentimentModel.load().predict))
    else:
        print("  (trained model not installed: goodwill.analysis.sentiment_model is absent)")
    models.append(("vader", VaderSentiment.load().predict))
    return models


def bench_sentiment(quick: bool) -> None:
    print("\n## Sentiment: TweetEval sentiment val")
    data = _read_split("sentiment", "val")
    if data is None:
        print("  skipped: no tweeteval/sentiment/val data")
        return
    texts, labels = data
    gold = [SENTIMENT_NAMES[i] for i in labels]
    speed_texts = texts[:300] if quick else texts
    print(f"  {len(texts)} tweets; speed over {len(speed_texts)} tweets, one process, one core")
    head = f"{'macro recall':>12s} {'neg R':>6s} {'neu R':>6s} {'pos R':>6s} {'posts/s':>9s}"
    print(f"  {'model':8s} {head}")
    for name, predict in sentiment_models():
        pred = [p.label for p in predict(texts)]
        scores = per_class(gold, pred, SENTIMENT_NAMES)
        macro = sum(r for _, r, _ in scores.values()) / len(scores)
        speed = posts_per_second(predict, speed_texts)
        recalls = " ".join(f"{scores[c][1]:6.3f}" for c in SENTIMENT_NAMES)
        print(f"  {name:8s} {macro:12.3f} {recalls} {speed:9,.0f}")


def bench_intent(quick: bool) -> None:
    print("\n## Intent: hand-labelled customer messages (data/intent_dev_labels.csv)")
    messages = load_messages()
    with (HERE / "data" / "intent_dev_labels.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["id"] in messages[r["dataset"]]]
    if not rows:
        print("  skipped: the customer-care data sets are absent")
        return
    for split in ("test", "tune"):
        part = [r for r in rows if r["split"] == split]
        texts = [messages[r["dataset"]][r["id"]] for r in part]
        pred = [p.label for p in classify_intents(texts)]
        gold = [r["intent"] for r in part]
        accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(part)
        note = "held out: the figures to quote" if split == "test" else "used to write the rules"
        print(f"  {split} split, {len(part)} posts ({note}); accuracy {accuracy:.3f}")
        print(f"    {'intent':11s} {'precision':>9s} {'recall':>7s} {'n':>4s}")
        for c, (p, r, n) in per_class(gold, pred, INTENTS).items():
            print(f"    {c:11s} {p:9.3f} {r:7.3f} {n:4d}")
    all_texts = [messages[r["dataset"]][r["id"]] for r in rows]
    print(f"  speed: {posts_per_second(classify_intents, all_texts):,.0f} posts/s")


def bench_risk(quick: bool) -> None:
    print("\n## Risk: TweetEval offensive and hate val (F1 of the flag)")
    model = RiskModel.load()
    for task in ("offensive", "hate"):
        data = _read_split(task, "val")
        if data is None:
            print(f"  {task}: skipped, no tweeteval/{task}/val data")
            continue
        texts, labels = data
        scores = model.predict(texts)
        flagged = [task in s.flags for s in scores]
        gold = [bool(x) for x in labels]
        pos = f1(gold, flagged)
        neg = f1([not g for g in gold], [not p for p in flagged])
        print(
            f"  {task:9s} {len(texts)} tweets: F1 (flagged class) {pos:.3f}, "
            f"macro F1 {(pos + neg) / 2:.3f}"
        )
    data = _read_split("offensive", "val")
    if data is not None:
        texts = data[0][:300] if quick else data[0]
        print(f"  speed: {posts_per_second(model.predict, texts):,.0f} posts/s")


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"# Analysis benchmark (data: {DATA})")
    bench_sentiment(quick)
    bench_intent(quick)
    bench_risk(quick)
    print("\n## Language: fastText lid.176 (unchanged); no labelled language set is available")
    return 0


if __name__ == "__main__":
    sys.exit(main())
