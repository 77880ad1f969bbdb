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
from itertools import chain
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
        # per length, the n-grams' keys, sorted, and their columns; two-character n-grams
        # (the most looked up) straight from a 64k table
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
        self._pairs = np.full(1 << (2 * _BITS), -1, dtype=np.int64)
        self._pairs[self._keys[2].astype(np.intp)] = self._cols[2]

    def _codes(self, text: str) -> npt.NDArray[np.uint64]:
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self._code[points].astype(np.uint64)

    def counts(self, token_lists: Sequence[Sequence[str]]) -> Any:
        """A ``scipy.sparse`` CSR matrix (rows × vocabulary): each row's n-gram counts."""
        flat = list(chain.from_iterable(token_lists))
        distinct = list(dict.fromkeys(flat))
        number = dict(zip(distinct, range(len(distinct)), strict=True))
        per_row = sparse.csr_matrix(
            (
                np.ones(len(flat)),
                np.fromiter(map(number.__getitem__, flat), np.int64, len(flat)),
                np.concatenate([[0], np.cumsum(list(map(len, token_lists)), dtype=np.int64)]),
            ),
            shape=(len(token_lists), len(distinct)),
        )
        # " tok1 \0 tok2 \0 tok3 ": the padded tokens, NUL between them
        codes = self._codes(f" {f' {_SEPARATOR} '.join(distinct)} " if distinct else "")
        size = len(codes)
        lengths = np.fromiter(map(len, distinct), np.int64, len(distinct)) + 3
        token_of = np.repeat(np.arange(len(distinct)), lengths)[:size]
        # (position, length - 2) → the window's column or -1: read position-major, the hits
        # come token by token, ready for a CSR matrix without sorting
        widths = self.longest - 1
        found = np.full((size, widths), -1, dtype=np.int64)
        keys, ok = codes.copy(), codes > 0
        for n in range(2, self.longest + 1):
            last = codes[n - 1 :]
            keys = keys[:-1] | (last << np.uint64(_BITS * (n - 1)))
            ok = ok[:-1] & (last > 0)
            at = np.flatnonzero(ok)
            if n == 2:
                found[at, 0] = self._pairs[keys[at].astype(np.intp)]
                continue
            table = self._keys[n]
            where = np.searchsorted(table, keys[at])
            where[where == len(table)] = 0
            hit = table[where] == keys[at]
            found[at[hit], n - 2] = self._cols[n][where[hit]]
        flat_found = found.ravel()
        hits = np.flatnonzero(flat_found >= 0)
        hit_tokens = token_of[hits // widths]
        indptr = np.zeros(len(distinct) + 1, dtype=np.int64)
        np.cumsum(np.bincount(hit_tokens, minlength=len(distinct)), out=indptr[1:])
        per_token = sparse.csr_matrix(
            (np.ones(len(hits)), flat_found[hits], indptr),
            shape=(len(distinct), self.size),
        )
        return per_row @ per_token
