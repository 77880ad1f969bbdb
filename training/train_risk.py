"""Train the risk model (offensive, hateful) shipped in goodwill/analysis/models/risk.npz.

    pip install -e '.[train]' && python training/train_risk.py

Data: TweetEval ``offensive`` and ``hate`` train splits from ../shared/data (or
GOODWILL_SHARED_DATA); the val splits are left for the benchmark. One TF-IDF vocabulary (words
1-2, char_wb 2-5, fitted on both train sets) feeds two logistic-regression heads. Deterministic:
the solver is liblinear with a fixed random_state, so the same data gives the same file.
Saved as plain arrays (no pickle); ``goodwill.analysis._linear_text`` scores them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import cross_val_predict

from goodwill.analysis._linear_text import CHAR_NGRAMS, WORD_NGRAMS, normalise_tweet

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GOODWILL_SHARED_DATA", ROOT.parent / "shared" / "data")) / "tweeteval"
OUT = ROOT / "goodwill" / "analysis" / "models" / "risk.npz"
HEADS = ("offensive", "hate")
SEED = 20261122
MAX_WORDS = 30_000
MAX_CHARS = 60_000
C = {"offensive": 2.0, "hate": 2.0}


def split(task: str, name: str) -> tuple[list[str], np.ndarray]:
    folder = DATA / task
    texts = (folder / f"{name}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = np.array([int(x) for x in (folder / f"{name}_labels.txt").read_text().split()])
    assert len(texts) == len(labels), (task, name)
    return [normalise_tweet(t) for t in texts], labels


def pack(strings: list[str]) -> np.ndarray:
    joined = "\n".join(strings)
    assert joined.count("\n") == len(strings) - 1, "an n-gram holds a newline"
    return np.frombuffer(joined.encode(), dtype=np.uint8)


def main() -> int:
    if not DATA.is_dir():
        print(f"no TweetEval data at {DATA}", file=sys.stderr)
        return 1
    train = {task: split(task, "train") for task in HEADS}
    corpus = [t for task in HEADS for t in train[task][0]]
    word = TfidfVectorizer(
        ngram_range=WORD_NGRAMS, min_df=2, max_features=MAX_WORDS, sublinear_tf=False
    )
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=CHAR_NGRAMS, min_df=3, max_features=MAX_CHARS
    )
    word.fit(corpus)
    char.fit(corpus)
    coefs, intercepts, thresholds = [], [], []
    for task in HEADS:
        texts, y = train[task]
        x = hstack([word.transform(texts), char.transform(texts)]).tocsr()
        model = LogisticRegression(
            C=C[task], class_weight="balanced", solver="liblinear", random_state=SEED
        )
        # The flag threshold is the one that maximises F1 on out-of-fold train predictions,
        # never chosen on val.
        cv = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
        grid = np.round(np.arange(0.30, 0.81, 0.02), 2)
        scores = [f1_score(y, cv >= t) for t in grid]
        threshold = float(grid[int(np.argmax(scores))])
        thresholds.append(threshold)
        print(f"{task}: train 5-fold F1 {max(scores):.3f} at threshold {threshold}")
        model.fit(x, y)
        coefs.append(model.coef_[0])
        intercepts.append(float(model.intercept_[0]))
        for name in ("val",):
            vt, vy = split(task, name)
            vx = hstack([word.transform(vt), char.transform(vt)]).tocsr()
            pred = model.predict_proba(vx)[:, 1] >= threshold
            print(
                f"{task}: {name} F1 positive {f1_score(vy, pred):.3f}, "
                f"macro {f1_score(vy, pred, average='macro'):.3f}"
            )
    coef = np.vstack(coefs).astype(np.float32)
    n_word = len(word.vocabulary_)
    word_vocab = sorted(word.vocabulary_, key=word.vocabulary_.__getitem__)
    char_vocab = sorted(char.vocabulary_, key=char.vocabulary_.__getitem__)
    np.savez_compressed(
        OUT,
        heads=pack(list(HEADS)),
        word_vocab=pack(word_vocab),
        word_idf=word.idf_.astype(np.float32),
        word_coef=coef[:, :n_word],
        char_vocab=pack(char_vocab),
        char_idf=char.idf_.astype(np.float32),
        char_coef=coef[:, n_word:],
        intercepts=np.array(intercepts, dtype=np.float64),
        thresholds=np.array(thresholds, dtype=np.float64),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
