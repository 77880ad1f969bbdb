"""Count a batch's in-vocabulary word unigrams and bigrams with numpy.

Every word of the vocabulary's n-grams gets a number (0: a word in none of them, so in no
n-gram); the batch's words become one array of numbers, unigrams are a table look-up and
bigrams (two numbers in one integer) a binary search, for the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["WordGramIndex"]

_BASE = 1 << 32
"""A bigram's key: first word's number × _BASE + second's (numbers stay far below 2**31)."""


class WordGramIndex:
    """Vocabulary of words and pairs of words ("a b") → column, counted in batches."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.size = len(vocabulary)
        self._ids: dict[str, int] = {}
        unigrams: list[tuple[int, int]] = []
        bigrams: list[tuple[int, int]] = []
        for column, gram in enumerate(vocabulary):
            parts = [self._ids.setdefault(w, len(self._ids) + 1) for w in gram.split(" ")]
            if len(parts) == 1:
                unigrams.append((parts[0], column))
            elif len(parts) == 2:
                bigrams.append((parts[0] * _BASE + parts[1], column))
            else:
                raise ValueError(f"word n-gram {gram!r}: only unigrams and bigrams")
        self._unigram = np.full(len(self._ids) + 1, -1, dtype=np.int64)
        for word, column in unigrams:
            self._unigram[word] = column
        pairs = np.array(sorted(bigrams), dtype=np.int64).reshape(-1, 2)
        self._pair_keys, self._pair_cols = pairs[:, 0].copy(), pairs[:, 1].copy()

    def counts(self, word_lists: Sequence[Sequence[str]]) -> Any:
        """A ``scipy.sparse`` CSR matrix (rows × vocabulary): each row's n-gram counts."""
        n = len(word_lists)
        flat = chain.from_iterable(word_lists)
        ids = np.array(list(map(self._ids.get, flat, repeat(0))), dtype=np.int64)
        rows = np.repeat(np.arange(n), list(map(len, word_lists)))
        unigram = self._unigram[ids]
        known = unigram >= 0
        pair = (rows[1:] == rows[:-1]) & (ids[:-1] > 0) & (ids[1:] > 0)
        at = np.flatnonzero(pair) if len(self._pair_keys) else np.zeros(0, dtype=np.intp)
        keys = ids[at] * _BASE + ids[at + 1]
        found = np.searchsorted(self._pair_keys, keys)
        found[found == len(self._pair_keys)] = 0
        hit = self._pair_keys[found] == keys
        matrix = sparse.csr_matrix(
            (
                np.ones(int(known.sum()) + int(hit.sum())),
                (
                    np.concatenate([rows[known], rows[at[hit]]]),
                    np.concatenate([unigram[known], self._pair_cols[found[hit]]]),
                ),
            ),
            shape=(n, self.size),
        )
        matrix.sum_duplicates()
        return matrix
