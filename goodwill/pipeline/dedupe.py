"""Keys that recognise reposts and copy-paste near-duplicates, computed without the database.

Two mechanisms, both cheap per post:
- an exact key over the folded words (RT prefix, links and punctuation ignored), which catches
  retweets and spam repeated by bots;
- a MinHash signature over word 3-shingles with LSH bands, which catches "same text, one word
  changed or an emoji added". The store looks the bands up to find candidates; the signatures
  confirm them (estimated Jaccard similarity at least ``NEAR_DUPLICATE_SIMILARITY``).

The MinHash is datasketch's scheme (universal hashing modulo the Mersenne prime 2^61 - 1, 32-bit
values), computed for a whole batch at once with numpy: datasketch builds one object per post,
and that overhead alone cost more than the rest of the pipeline (benchmarks/bench_ingest.py).
Signatures and band hashes are stable across processes and versions of Python: they are stored.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from goodwill.text import is_emoji

__all__ = [
    "BANDS",
    "NEAR_DUPLICATE_SIMILARITY",
    "NUM_PERM",
    "DedupeKeys",
    "bands_of",
    "comparable_words",
    "dedupe_keys",
    "similarity",
]

NUM_PERM = 48
BANDS = 8
ROWS = NUM_PERM // BANDS
NEAR_DUPLICATE_SIMILARITY = 0.7
MIN_WORDS_EXACT = 4  # "ok", "thanks!" and "🥐🥐🥐" are common replies, not reposts
MIN_WORDS_NEAR = 8  # below this, a one-word change is a different message

_MERSENNE = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)
_rng = np.random.RandomState(7)
# The permutations: fixed forever (changing them would orphan every stored signature).
_A = _rng.randint(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_B = _rng.randint(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
# Band salts and the multiplier that folds a band's ROWS values into one 64-bit number.
_BAND_SALT = np.array(
    [
        int.from_bytes(hashlib.blake2b(b"band%d" % i, digest_size=8).digest(), "big")
        for i in range(BANDS)
    ],
    dtype=np.uint64,
)
_FOLD = np.uint64(0x9E3779B97F4A7C15)
_MIX_A = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX_B = np.uint64(0x165667B19E3779F9)

_REPOST_MARKS = frozenset({"rt", "mt"})


@dataclass(slots=True)
class DedupeKeys:
    exact: int | None  # signed 64-bit, as stored
    signature: bytes | None
    bands: list[int]  # distinct and ascending: the store's rows for this post, in key order


def comparable_words(tokens: Sequence[str]) -> list[str]:
    """Words that decide whether two posts say the same thing, from ``goodwill.text.tokens``.

    Sigils go (``#Tag`` and ``tag`` are the same word), emoji go (adding 🔥 makes no new post),
    and a leading ``RT @someone`` goes. Links are already absent from the tokens.
    """
    if len(tokens) >= 2 and tokens[0] in _REPOST_MARKS and tokens[1][0] == "@":
        tokens = tokens[2:]
    return [t[1:] if t[0] in "#@" else t for t in tokens if t.isascii() or not is_emoji(t)]


def _shingle_hashes(words: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every word 3-shingle of every post, flat, and the count per post.

    Each word is hashed once (crc32); a shingle's hash mixes its three words' hashes with
    numpy, so no 3-word string is ever built.
    """
    flat = np.fromiter(
        (zlib.crc32(w.encode()) for ws in words for w in ws),
        dtype=np.uint64,
        count=sum(len(ws) for ws in words),
    )
    owner = np.repeat(np.arange(len(words)), [len(ws) for ws in words])
    with np.errstate(over="ignore"):
        mixed = flat[:-2] * _MIX_A + flat[1:-1] * _MIX_B + flat[2:]
        mixed ^= mixed >> np.uint64(31)
    valid = owner[:-2] == owner[2:]  # all three words from the same post
    counts = np.array([len(ws) - 2 for ws in words])
    return (mixed[valid] & _MAX_HASH), counts


def _signatures(shingles: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """MinHash signatures (posts × NUM_PERM, uint32) from flat shingle hashes."""
    with np.errstate(over="ignore"):
        permuted = shingles[:, None] * _A[None, :]
        permuted += _B[None, :]
        # ``% _MERSENNE`` without a division: x mod (2**61 - 1) folds the high bits onto the low
        # ones. Same values as before, bit for bit (stored signatures stay comparable).
        high = permuted >> np.uint64(61)
        permuted &= _MERSENNE
        permuted += high
        np.subtract(permuted, _MERSENNE, out=permuted, where=permuted >= _MERSENNE)
        permuted &= _MAX_HASH
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return np.minimum.reduceat(permuted, starts, axis=0).astype(np.uint32)


def _band_hashes(signatures: np.ndarray) -> np.ndarray:
    """One signed 64-bit hash per band (posts × BANDS), for the store's index."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    with np.errstate(over="ignore"):
        acc = np.broadcast_to(_BAND_SALT, (len(signatures), BANDS)).copy()
        for r in range(ROWS):
            acc = (acc ^ rows[:, :, r]) * _FOLD
            acc ^= acc >> np.uint64(29)
    return acc.view(np.int64)


def dedupe_keys(token_lists: Sequence[Sequence[str]]) -> list[DedupeKeys]:
    """Keys for a batch of posts, given each post's tokens (``goodwill.text.tokens``)."""
    words = [comparable_words(t) for t in token_lists]
    near = [i for i, w in enumerate(words) if len(w) >= MIN_WORDS_NEAR]
    signatures: dict[int, tuple[bytes, list[int]]] = {}
    if near:
        sigs = _signatures(*_shingle_hashes([words[i] for i in near]))
        bands = _band_hashes(sigs)
        for row, i in enumerate(near):
            signatures[i] = (sigs[row].tobytes(), sorted(set(bands[row].tolist())))
    out = []
    for i, w in enumerate(words):
        exact = None
        if len(w) >= MIN_WORDS_EXACT:
            digest = hashlib.blake2b(" ".join(w).encode(), digest_size=8).digest()
            exact = int.from_bytes(digest, "big", signed=True)
        signature, band_list = signatures.get(i, (None, []))
        out.append(DedupeKeys(exact, signature, band_list))
    return out


def bands_of(signature: bytes) -> list[int]:
    """The bands of a stored signature, as ``dedupe_keys`` gave them (distinct, ascending):
    for a repeat promoted to original when its original is deleted (``store.removal``)."""
    sigs = np.frombuffer(signature, dtype=np.uint32).reshape(1, -1)
    return sorted(set(_band_hashes(sigs)[0].tolist()))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures made by ``dedupe_keys``."""
    va = np.frombuffer(a, dtype=np.uint32)
    vb = np.frombuffer(b, dtype=np.uint32)
    if va.shape != vb.shape:
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)
