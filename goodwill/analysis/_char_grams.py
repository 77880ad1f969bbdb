"""Count a batch's in-vocabulary character n-grams (scikit-learn's ``char_wb``) with numpy.

``char_wb`` takes every window of 2 to 5 characters of each whitespace token padded with one
space on each side, so a post's n-grams are the sum of its tokens'. Here the batch's distinct
tokens, padded, become one string joined by NUL; every window of it without a NUL is looked up
at once (each window encoded as an integer, one byte per character of the vocabulary's own
alphabet: a character outside it is in no vocabulary n-gram; then a table look-up for two
characters, a binary search per length for more).
That gives a sparse (distinct token × n-gram) count matrix, and a sparse product with the
(post × token) counts gives each post's n-gram counts, duplicates summed, without sorting.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = ["CharGramIndex"]

_BITS = 8
_SEPARATOR = "\x00"


class CharGramIndex:
    """Vocabulary n-grams (2 to ``longest`` characters) → column, counted in batches."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        alphabet = sorted(set("".join(vocabulary)))
        if len(alphabet) >= 2**_BITS:
            raise ValueError(f"{len(alphabet)} characters in the vocabulary: at most 255")
        if any(_SEPARATOR in g or len(g) < 2 for g in vocabulary):
            raise ValueError("vocabulary n-grams must have 2+ characters and no NUL")
        self.size = len(vocabulary)
        self.longest = max(map(len, vocabulary))
        if self.longest * _BITS > 64:
            raise ValueError("vocabulary n-grams longer than 8 characters")
        self._code = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
        self._code[[ord(c) for c in alphabet]] = np.arange(1, len(alphabet) + 1)
        # per length: the n-grams' keys, sorted, and their columns
        self._keys: dict[int, npt.NDArray[np.uint64]] = {}
        self._cols: dict[int, npt.NDArray[np.int64]] = {}
        for n in range(2, self.longest + 1):
            cols = np.array([i for i, g in enumerate(vocabulary) if len(g) == n], dtype=np.int64)
            codes = self._codes("".join(vocabulary[i] for i in cols)).reshape(len(cols), n)
            keys = np.zeros(len(cols), dtype=np.uint64)
            for j in range(n):
                keys |= codes[:, j] << np.uint64(_BITS * j)
            order = np.argsort(keys)
            self._keys[n], self._cols[n] = keys[order], cols[order]
        # two-character n-grams, the most looked up, straight from a 64k table
        self._pairs = np.full(1 << (2 * _BITS), -1, dtype=np.int64)
        self._pairs[self._keys[2].astype(np.intp)] = self._cols[2]

    def _codes(self, text: str) -> npt.NDArray[np.uint64]:
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self._code[points].astype(np.uint64)

    def counts(self, token_lists: Sequence[Sequence[str]]) -> Any:
        """A ``scipy.sparse`` CSR matrix (rows × vocabulary): each row's n-gram counts."""
        ids: dict[str, int] = {}
        occurrences = [ids.setdefault(t, len(ids)) for tokens in token_lists for t in tokens]
        distinct = list(ids)
        codes = self._codes(_SEPARATOR.join(f" {t} " for t in distinct))
        token_of = np.repeat(np.arange(len(distinct)), [len(t) + 3 for t in distinct])
        keys = codes.copy()
        valid = codes > 0
        tokens: list[npt.NDArray[np.int64]] = []
        cols: list[npt.NDArray[np.int64]] = []
        for n in range(2, self.longest + 1):
            # windows of n characters starting at each position: extend those of n - 1
            last = codes[n - 1 :]
            keys = keys[:-1] | (last << np.uint64(_BITS * (n - 1)))
            valid = valid[:-1] & (last > 0)
            at = np.flatnonzero(valid)
            if n == 2:
                col = self._pairs[keys[at].astype(np.intp)]
                hit = col >= 0
                tokens.append(token_of[at[hit]])
                cols.append(col[hit])
                continue
            table = self._keys[n]
            found = np.searchsorted(table, keys[at])
            found[found == len(table)] = 0
            hit = table[found] == keys[at]
            tokens.append(token_of[at[hit]])
            cols.append(self._cols[n][found[hit]])
        token_cols = np.concatenate(cols)
        per_token = sparse.csr_matrix(
            (np.ones(len(token_cols)), (np.concatenate(tokens), token_cols)),
            shape=(len(distinct), self.size),
        )
        indptr = np.zeros(len(token_lists) + 1, dtype=np.int64)
        np.cumsum([len(tokens) for tokens in token_lists], out=indptr[1:])
        per_row = sparse.csr_matrix(
            (np.ones(len(occurrences)), np.array(occurrences, dtype=np.int64), indptr),
            shape=(len(token_lists), len(distinct)),
        )
        return per_row @ per_token
