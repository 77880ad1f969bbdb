"""The shipped sentiment model: loads offline, labels clear posts right, survives odd input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from goodwill.analysis.sentiment_model import MODEL_DIR, SentimentModel
from goodwill.analysis.types import Prediction

REPO = Path(__file__).resolve().parents[1]
VAL = REPO.parent / "shared" / "data" / "tweeteval" / "sentiment"

POSITIVE = [
    "I love this place, the staff were amazing and so kind! Best day ever :)",
    "Thank you @acme for the quick fix, you guys are awesome!",
    "So happy with my new phone, it's perfect",
]
NEGATIVE = [
    "Worst airline ever. Lost my bag, rude staff, and nobody answers the phone.",
    "I hate this app, it crashes every single time. Terrible.",
    "@acme my order is 3 weeks late and you still haven't refunded me. Disgusting service",
]
NEUTRAL = [
    "The store opens at 9am on Monday.",
    "Apple will announce its quarterly results on Thursday http://example.com/x",
]


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def test_load_is_cached(model: SentimentModel) -> None:
    assert SentimentModel.load() is model
    assert model.labels == ("negative", "neutral", "positive")


@pytest.mark.parametrize(
    ("texts", "label"), [(POSITIVE, "positive"), (NEGATIVE, "negative"), (NEUTRAL, "neutral")]
)
def test_clear_examples(model: SentimentModel, texts: list[str], label: str) -> None:
    predictions = model.predict(texts)
    assert [p.label for p in predictions] == [label] * len(texts), predictions
    assert all(isinstance(p, Prediction) and p.confidence > 0.4 for p in predictions)


def test_odd_inputs_in_one_batch_keep_their_order(model: SentimentModel) -> None:
    long_text = "the service was terrible and slow " * 400  # far past the 64-token window
    texts = ["", "😀😍🎉", long_text, NEGATIVE[0], "ok", POSITIVE[0], " \n\t ", "ça marche bien"]
    predictions = model.predict(texts)
    assert len(predictions) == len(texts)
    for p in predictions:
        assert p.label in model.labels
        assert 1 / 3 <= p.confidence <= 1.0
    assert predictions[3].label == "negative"
    assert predictions[5].label == "positive"
    assert predictions[2].label == "negative"
    # Same answer alone as in a batch of mixed lengths (int8 activations are scaled per batch,
    # so confidences may move a little, labels of clear posts must not).
    for text, in_batch in zip(texts, predictions, strict=True):
        (alone,) = model.predict([text])
        assert abs(alone.confidence - in_batch.confidence) < 0.1
        if text in (NEGATIVE[0], POSITIVE[0], long_text):
            assert alone.label == in_batch.label


def test_empty_batch_and_single_string(model: SentimentModel) -> None:
    assert model.predict([]) == []
    with pytest.raises(TypeError, match="sequence of texts"):
        model.predict("a single string")  # type: ignore[arg-type]


def test_small_batches_give_the_same_labels(model: SentimentModel) -> None:
    texts = POSITIVE + NEGATIVE + NEUTRAL
    assert [p.label for p in model.predict(texts, batch_size=2)] == [
        p.label for p in model.predict(texts)
    ]


def test_missing_model_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text(json.dumps({"labels": [], "max_length": 8}))
    with pytest.raises(FileNotFoundError, match=r"lacks model\.onnx, tokenizer\.json"):
        SentimentModel.from_dir(tmp_path)


def test_shipped_files_are_small_and_described() -> None:
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    assert meta["labels"] == ["negative", "neutral", "positive"]
    total = sum(f.stat().st_size for f in MODEL_DIR.iterdir())
    assert total < 40 * 1024 * 1024


def test_runs_without_torch_or_transformers() -> None:
    code = (
        "import sys\n"
        "from goodwill.analysis.sentiment_model import SentimentModel\n"
        "print(SentimentModel.load().predict(['great stuff'])[0].label)\n"
        "bad = [m for m in ('torch', 'transformers', 'huggingface_hub') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "positive"


@pytest.mark.skipif(not (VAL / "val_text.txt").is_file(), reason="shared TweetEval data absent")
def test_real_tweets_sanity(model: SentimentModel) -> None:
    """Not the target (benchmarks/bench_sentiment.py measures that): far above chance."""
    texts = (VAL / "val_text.txt").read_text(encoding="utf-8").splitlines()[:300]
    gold = [int(x) for x in (VAL / "val_labels.txt").read_text().split()[:300]]
    pred = [model.labels.index(p.label) for p in model.predict(texts)]
    recalls = [
        sum(p == c for g, p in zip(gold, pred, strict=True) if g == c) / gold.count(c)
        for c in range(3)
    ]
    assert min(recalls) > 0.45, recalls
    assert sum(recalls) / 3 > 0.6, recalls
