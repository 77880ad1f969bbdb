"""Repeat keys are stored with every post: they must never change between versions, or new
posts would stop finding the originals stored before an upgrade."""

from __future__ import annotations

from goodwill.pipeline.dedupe import (
    MIN_WORDS_NEAR,
    NEAR_DUPLICATE_SIMILARITY,
    dedupe_keys,
    similarity,
)
from goodwill.text import tokens

TEXT = "Our new sourdough loaf is out today in every Brightloaf bakery, come and try it"


def test_keys_are_pinned_across_versions() -> None:
    keys = dedupe_keys([tokens(TEXT)])[0]
    assert keys.exact == -4722220934073689017
    assert keys.signature is not None
    assert keys.signature.hex().startswith("8faacc0628244b2acbedb80636df03038e2fd4078ddc2e24")
    # The values are pinned (they are stored); the list is kept distinct and ascending.
    assert {6688385769719650133, -6061734062525151444, 1848948312020913793} <= set(keys.bands)
    assert keys.bands == sorted(set(keys.bands)) and len(keys.bands) == 8


def test_an_edited_copy_is_similar_and_a_different_post_is_not() -> None:
    original, edited, other = dedupe_keys(
        [
            tokens(TEXT),
            tokens(TEXT + " 🥐 #sourdough"),
            tokens("The queue at the station branch was forty minutes long again this morning"),
        ]
    )
    assert original.signature and edited.signature and other.signature
    assert similarity(original.signature, edited.signature) >= NEAR_DUPLICATE_SIMILARITY
    assert similarity(original.signature, other.signature) < 0.2
    assert set(original.bands) & set(edited.bands)


def test_short_posts_get_no_near_duplicate_keys() -> None:
    short = dedupe_keys([tokens("thanks so much")])[0]
    assert len(tokens("thanks so much")) < MIN_WORDS_NEAR
    assert short.signature is None and short.bands == [] and short.exact is None
