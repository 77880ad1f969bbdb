"""Keys that recognise reposts and copy-paste near-duplicates, computed without the database.

Two mechanisms, both cheap per post:
- an exact key over the folded words (RT prefix, links and punctuation ignored), which catches
  retweets and spam repeated by bots;
- a MinHash signature over word 3-shingles with LSH bands, which catches "same text, one word
  changed or an emoji added". The store looks the bands up to find candidates; the signatures
  confirm them (estimated Jaccard similarity at least ``NEAR_DUPLICATE_SIMILARITY``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from goodwill.text import words_for_shingles

__all__ = [
    "BANDS",
    "NEAR_DUPLICATE_SIMILARITY",
    "DedupeKeys",
    "dedupe_keys",
    "similarity",
]

NUM_PERM = 48
BANDS = 8
ROWS = NUM_PERM // BANDS
NEAR_DUPLICATE_SIMILARITY = 0.7
MIN_WORDS_EXACT = 4  # "ok", "thanks!" and "🥐🥐🥐" are common replies, not reposts
MIN_WORDS_NEAR = 8  # below this, a one-word change is a different message

_RT_PREFIX = re.compile(r"^\s*(?:RT|MT|rt)\s*:?\s*@[\w.\-]+:?\s*")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


@dataclass(slots=True)
class DedupeKeys:
    exact: str | None
    signature: bytes | None
    bands: list[int]


def _comparable_words(text: str) -> list[str]:
    return words_for_shingles(_URL.sub(" ", _RT_PREFIX.sub("", text)))


def _band_hashes(values: np.ndarray) -> list[int]:
    out = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=b"gw-band%d" % band).digest()
        out.append(int.from_bytes(digest, "big", signed=True))
    return out


def dedupe_keys(texts: Sequence[str]) -> list[DedupeKeys]:
    """Keys for a batch of texts (MinHash permutations are shared across the batch)."""
    words = [_comparable_words(t) for t in texts]
    out: list[DedupeKeys] = []
    shingled = [
        [" ".join(w[i : i + 3]).encode() for i in range(len(w) - 2)]
        for w in words
        if len(w) >= MIN_WORDS_NEAR
    ]
    hashes = iter(MinHash.bulk(shingled, num_perm=NUM_PERM, seed=7)) if shingled else iter(())
    for w in words:
        exact = None
        if len(w) >= MIN_WORDS_EXACT:
            exact = hashlib.blake2b(" ".join(w).encode(), digest_size=16).hexdigest()
        if len(w) >= MIN_WORDS_NEAR:
            values = next(hashes).hashvalues.astype(np.uint32)
            out.append(DedupeKeys(exact, values.tobytes(), _band_hashes(values)))
        else:
            out.append(DedupeKeys(exact, None, []))
    return out


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures made by ``dedupe_keys``."""
    va = np.frombuffer(a, dtype=np.uint32)
    vb = np.frombuffer(b, dtype=np.uint32)
    if va.shape != vb.shape:
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)
