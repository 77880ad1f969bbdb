"""A TF-IDF + linear model over word and character n-grams, scored without scikit-learn.

The training script (``training/train_risk.py``) fits scikit-learn's ``TfidfVectorizer`` (words
1-2, ``char_wb`` 2-5) and ``LogisticRegression`` heads, then saves only plain arrays: the
vocabulary, the idf weights and each head's coefficients. This module rebuilds the same
features (the n-gram rules are copied from scikit-learn, and a test checks the two agree), so
loading runs no pickle and needs no scikit-learn at run time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["LinearTextModel", "normalise_tweet"]

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"(?u)\b\w\w+\b")
_SPACES = re.compile(r"\s\s+")

WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)


def normalise_tweet(text: str) -> str:
    """Write handles and links as TweetEval does (``@user``, ``http``), so that our posts look
    like the training data."""
    return _URL.sub("http", _MENTION.sub("@user", text))


def word_ngrams(text: str) -> list[str]:
    """scikit-learn's ``analyzer="word"`` with ``ngram_range=WORD_NGRAMS`` on lowercased text."""
    tokens = _WORD.findall(text)
    grams = list(tokens)
    for n in range(2, min(WORD_NGRAMS[1], len(tokens)) + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_wb_ngrams(text: str) -> list[str]:
    """scikit-learn's ``analyzer="char_wb"`` with ``ngram_range=CHAR_NGRAMS``."""
    grams: list[str] = []
    append = grams.append
    lo, hi = CHAR_NGRAMS
    for w in _SPACES.sub(" ", text).split():
        w = f" {w} "
        size = len(w)
        for n in range(lo, hi + 1):
            offset = 0
            append(w[:n])
            while offset + n < size:
                offset += 1
                append(w[offset : offset + n])
            if offset == 0:
                break
    return grams


@dataclass(frozen=True, slots=True)
class _Block:
    """One vectorizer's share: n-gram → column, the idf, and idf × each head's coefficients."""

    index: dict[str, int]
    idf: npt.NDArray[np.float64]
    weighted: npt.NDArray[np.float64]  # (vocabulary, heads)

    def score(self, grams: list[str]) -> npt.NDArray[np.float64]:
        """Each head's dot product with this block's l2-normalised tf-idf vector."""
        counts = Counter(i for g in grams if (i := self.index.get(g)) is not None)
        if not counts:
            return np.zeros(self.weighted.shape[1])
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        norm = math.sqrt(float(np.dot(tf * self.idf[cols], tf * self.idf[cols])))
        return np.asarray((tf @ self.weighted[cols]) / norm, dtype=np.float64)


class LinearTextModel:
    """Logistic-regression heads (one probability each) over shared word and char n-grams."""

    def __init__(
        self,
        heads: Sequence[str],
        blocks: Sequence[_Block],
        intercepts: Sequence[float],
        thresholds: Sequence[float],
    ) -> None:
        self.heads = tuple(heads)
        self.thresholds = tuple(thresholds)
        """Per head, the probability from which to flag (chosen by the training script)."""
        self._word, self._char = blocks
        self._intercepts = np.asarray(intercepts, dtype=np.float64)

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        """Read the ``.npz`` written by the training script (plain arrays, no pickle)."""
        with np.load(path, allow_pickle=False) as data:
            heads = bytes(data["heads"]).decode().split("\n")
            blocks = []
            for name in ("word", "char"):
                vocab = bytes(data[f"{name}_vocab"]).decode().split("\n")
                idf = data[f"{name}_idf"].astype(np.float64)
                coef = data[f"{name}_coef"].astype(np.float64)  # (heads, vocabulary)
                blocks.append(
                    _Block({g: i for i, g in enumerate(vocab)}, idf, (coef * idf).T.copy())
                )
            intercepts = data["intercepts"].astype(np.float64)
            thresholds = data["thresholds"].astype(np.float64)
        return cls(heads, blocks, intercepts.tolist(), thresholds.tolist())

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """(texts, heads) probabilities of the positive class of each head."""
        out = np.empty((len(texts), len(self.heads)))
        for row, text in enumerate(texts):
            clean = normalise_tweet(text).lower()
            logits = (
                self._intercepts
                + self._word.score(word_ngrams(clean))
                + self._char.score(char_wb_ngrams(clean))
            )
            out[row] = 1.0 / (1.0 + np.exp(-logits))
        return out
