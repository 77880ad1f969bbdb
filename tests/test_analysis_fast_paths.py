"""The fast intent and risk paths give exactly what the plain definitions give.

Intent rules run as grouped (trie-shaped), case-sensitive patterns over case-folded text; the
risk model counts a whole batch's n-grams at once with numpy and scipy.sparse. Both
are checked here against the straightforward versions on tricky texts, and on real posts from
../shared/data when it is present.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from goodwill.analysis import _linear_text, intent
from goodwill.analysis.risk import HEADS, RiskModel, RiskScores, _model

DATA = Path(
    os.environ.get("GOODWILL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

SAMPLES = [
    "@Delta How early can I check in my bags for a 4:35pm flight from FLL?",
    "@AmazonHelp my package NEVER arrived and nobody answers. Ridiculous.",
    "WHY IS MY FLIGHT DELAYED AGAIN?!?! 😡😡",
    "Thank You So Much for the help today, you rock 👏",
    "@Spotify It Would Be Great If I could add songs to several playlists at once",
    "How do I upgrade to Plus for my team? https://t.co/abc #help",
    "İSTANBUL flight ıs delayed, ſtuck at the gate, \u212aLM please help",
    "DON'T you dare cancel my order. Not happy. Can't log in for 3 days",
    "Link in bio! __url__ LINK here, relink, blink",
    "a+ service, A+ staff, love it ❤️ #LoveThisPlace",
    "  \u2003 why\x1c is \t the app   down\n\nagain ",
    "I'd love to see dark mode. Any plans to add it? Would be nice if you did",
    "is it still available? how much for two? where can I buy one",
    "not great, not good, never amazing. worst ever",
    "日本語のツイート テスト",
    "",
    "@user",
    "ok",
    "you are a fucking idiot, shut up",
    "send them back, they are invading us #buildthewall",
    "Ｆｕｌｌｗｉｄｔｈ ＨＥＬＰ and ǅemal Ǆ",
]


def _real_posts(limit: int) -> list[str]:
    texts: list[str] = []
    twcs = DATA / "twcs" / "twcs_head5000_part_A.csv"
    if twcs.is_file():
        csv.field_size_limit(sys.maxsize)
        with twcs.open(encoding="utf-8", newline="") as f:
            texts += [r["text"] for r in csv.DictReader(f) if r["inbound"] == "True"][:limit]
    val = DATA / "tweeteval" / "offensive" / "val_text.txt"
    if val.is_file():
        texts += val.read_text(encoding="utf-8").splitlines()[:limit]
    return texts


def test_fast_intent_rules_agree_with_the_plain_rules() -> None:
    reference = intent.reference_rules()
    texts = SAMPLES + _real_posts(1000)
    for text in texts:
        assert intent.classify_intent(text) == intent.classify_intent(text, reference), text


def test_real_posts_are_compared_when_present() -> None:
    if not _real_posts(1):
        pytest.skip("../shared/data is absent: only the built-in samples were compared")
    assert len(_real_posts(1000)) > 900


def test_case_folding_matches_ignorecase_for_every_character() -> None:
    """Every character folds to one character; an ASCII letter matches it case-insensitively
    exactly when it folds to that letter; folding keeps what ``\\w``, ``\\d``, ``\\s`` see."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    classes = [re.compile(p) for p in (r"\w", r"\d", r"\s", r"[^\W\d_]")]
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        folded = intent.fold_case(char)
        assert len(folded) == 1, hex(code)
        is_letter = letter.fullmatch(char) is not None
        assert is_letter == ("a" <= folded <= "z"), hex(code)
        if folded != char:
            for cls in classes:
                assert (cls.match(char) is None) == (cls.match(folded) is None), hex(code)


@pytest.mark.parametrize(
    ("alternatives", "texts"),
    [
        (["ab", "a", "abc"], ["abc", "a ab abc", "xaby"]),
        ([r"\bno\b", r"\bnot\b", r"\bnothing works\b"], ["not now", "nothing works", "no"]),
        ([r"\?", r"\bhow (?:do|can) i\b", r"\bhow come\b"], ["how come? how do i", "??"]),
        ([r"\bs?top\b", r"\bstop\b"], ["stop top"]),
    ],
)
def test_grouped_alternation_finds_the_same_matches(
    alternatives: list[str], texts: list[str]
) -> None:
    plain = re.compile("|".join(f"(?:{a})" for a in alternatives))
    grouped = re.compile(intent._trie(alternatives))
    for text in texts:
        assert grouped.findall(text) == plain.findall(text), (grouped.pattern, text)


def test_every_rule_is_written_so_that_it_can_be_grouped() -> None:
    """An alternative that does not start with a plain character (``\\b(?:a|b) c``) makes its
    whole rule fall back to a slow flat alternation: write one alternative per head."""
    for alternatives, _ in intent._RULES:
        if len(alternatives) > 1:
            for alt in alternatives:
                assert intent._HEAD.match(alt), alt


def test_rules_must_be_written_lowercase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intent, "_RULES", ((["\\bWhy\\b"], None),))
    with pytest.raises(ValueError, match="lowercase"):
        intent._compile()


def test_character_ngrams_are_counted_as_char_wb_counts_them() -> None:
    model = _model()
    index = model._char_grams
    vocabulary = sorted(model._char.index, key=model._char.index.__getitem__)
    rows = [
        ["a", "ab", "abc", "hello", "hello"],
        [],
        ["日本語テキスト", "x" * 30, "\ud800x", "a\x00b"],
        ["th", "the", "then", "the"],
    ]
    counts = index.counts(rows).toarray()
    for row, tokens in zip(counts, rows, strict=True):
        expected = np.zeros(len(vocabulary))
        for gram in _linear_text.char_wb_ngrams(" ".join(tokens)):
            if (i := model._char.index.get(gram)) is not None:
                expected[i] += 1
        np.testing.assert_array_equal(row, expected)


def test_batch_risk_scores_equal_the_one_by_one_definition() -> None:
    model = _model()
    texts = SAMPLES + _real_posts(600)
    expected = model.probabilities_one_by_one(texts)
    np.testing.assert_allclose(model.probabilities(texts), expected, rtol=0, atol=1e-12)
    # in uneven batches, one text at a time
    got = np.concatenate([model.probabilities(texts[i : i + 7]) for i in range(0, len(texts), 7)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.probabilities(texts[:1]), expected[:1], rtol=0, atol=1e-12)
    assert model.probabilities([]).shape == (0, 2)


def test_risk_predictions_round_and_flag_as_the_definition_does() -> None:
    texts = SAMPLES + _real_posts(300)
    linear = _model()
    expected = [
        RiskScores(
            round(float(row[0]), 3),
            round(float(row[1]), 3),
            tuple(h for h, p, t in zip(HEADS, row, linear.thresholds, strict=True) if p >= t),
        )
        for row in linear.probabilities_one_by_one(texts)
    ]
    assert RiskModel.load().predict(texts) == expected
    assert any(s.flags for s in expected)
