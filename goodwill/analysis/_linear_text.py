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
from typing import Any

import numpy as np
import numpy.typing as npt

from goodwill.analysis._char_grams import CharGramIndex
from goodwill.analysis._word_grams import WordGramIndex

__all__ = [
    "LinearTextModel",
    "char_wb_ngrams",
    "normalise_tweet",
    "word_ngrams",
]

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"(?u)\b\w\w+\b")
_SPACES = re.compile(r"\s\s+")

WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)


def normalise_tweet(text: str) -> str:
    """Write handles and links as TweetEval does (``@user``, ``http``), so that our posts look
    like the training data."""
    if "@" in text:
        text = _MENTION.sub("@user", text)
    if "http" in text or "www." in text:
        text = _URL.sub("http", text)
    return text


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
    weighted: npt.NDArray[np.float64]  # (heads, vocabulary): idf × coefficients

    def score(self, grams: list[str]) -> npt.NDArray[np.float64]:
        """Each head's dot product with this block's l2-normalised tf-idf vector (one text:
        the plain definition, which the batch path ``scores`` is tested against)."""
        counts = Counter(i for g in grams if (i := self.index.get(g)) is not None)
        if not counts:
            return np.zeros(self.weighted.shape[0])
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        norm = math.sqrt(float(np.dot(tf * self.idf[cols], tf * self.idf[cols])))
        return np.asarray((self.weighted[:, cols] @ tf) / norm, dtype=np.float64)

    def scores(self, counts: Any) -> npt.NDArray[np.float64]:
        """``score`` for many texts at once, from their n-gram counts (a ``scipy.sparse`` CSR
        matrix, texts × this block's vocabulary, duplicates summed): (texts, heads)."""
        n = counts.shape[0]
        rows = np.repeat(np.arange(n), np.diff(counts.indptr))
        tfidf = counts.data * np.take(self.idf, counts.indices)
        norms = np.sqrt(np.bincount(rows, tfidf * tfidf, minlength=n))
        out = np.asarray(counts @ self.weighted.T, dtype=np.float64)
        present = norms > 0
        out[present] /= norms[present, None]
        return out


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
        if CHAR_NGRAMS[0] != 2:
            raise ValueError("the batch path finds character n-grams of 2 characters and more")
        self._char_grams = CharGramIndex(sorted(self._char.index, key=self._char.index.__getitem__))
        self._word_grams = WordGramIndex(sorted(self._word.index, key=self._word.index.__getitem__))
        if WORD_NGRAMS != (1, 2):
            raise ValueError("the batch path looks up word unigrams and bigrams only")

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
                blocks.append(_Block({g: i for i, g in enumerate(vocab)}, idf, coef * idf))
            intercepts = data["intercepts"].astype(np.float64)
            thresholds = data["thresholds"].astype(np.float64)
        return cls(heads, blocks, intercepts.tolist(), thresholds.tolist())

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """(texts, heads) probabilities of the positive class of each head.

        The whole batch is scored with a few numpy and scipy.sparse operations: its word and
        character n-grams are counted all at once (``_word_grams``, ``_char_grams``).
        """
        word_lists: list[list[str]] = []
        token_lists: list[list[str]] = []
        for text in texts:
            clean = normalise_tweet(text).lower()
            word_lists.append(_WORD.findall(clean))
            token_lists.append(clean.split())
        word = self._word.scores(self._word_grams.counts(word_lists))
        char = self._char.scores(self._char_grams.counts(token_lists))
        logits = self._intercepts + word + char
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def probabilities_one_by_one(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """``probabilities`` computed text by text from the plain definitions (slow; the
        specification the batch path is tested against)."""
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
