"""goodwill.text: folding and tokenising, the rules both queries and posts are cut by."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodwill import text
from goodwill.text import fold, is_emoji, tokens, tokens_of_folded


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Hello WORLD", "hello world"),
        ("Café CAFÉ naïve", "cafe cafe naive"),
        ("Straße", "strasse"),
        ("Łódź ØRESUND Æble", "lodz oresund aeble"),
        ("İstanbul", "istanbul"),
        ("ΆΘΉΝΑ", "αθηνα"),
        ("Ｆｕｌｌ ｗｉｄｔｈ ①", "full width 1"),
        ("ﬁne", "fine"),
        ("don’t", "don't"),
        ("мой ёж", "мой ёж"),  # й and ё are letters of their own
        ("👍🏽 ❤️", "👍 ❤"),  # skin tones and presentation selectors go
        ("Ünïcödé and ascii", "unicode and ascii"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_is_idempotent_on_examples() -> None:
    for sample in ["Café ☕ 東京タワー", "ΣΊΣΥΦΟΣ", "Ǆemal", "e\u0301t\u00e9"]:
        assert fold(fold(sample)) == fold(sample)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello, world!", ["hello", "world"]),
        ("e-mail wi-fi 3.5", ["e", "mail", "wi", "fi", "3", "5"]),
        ("snake_case stays", ["snake_case", "stays"]),
        ("don't can’t", ["don't", "can't"]),
        ("Apple's new phone", ["apple", "new", "phone"]),
        ("'quoted' words'", ["quoted", "words"]),
        ("#Sale and @AcmeSupport", ["#sale", "and", "@acmesupport"]),
        ("@bob's cat", ["@bob", "cat"]),
        ("mail bob@example.com now", ["mail", "bob", "example", "com", "now"]),
        ("c# ## # @", ["c"]),
        ("##double", ["#double"]),
        ("love 🍕🍕", ["love", "🍕", "🍕"]),
        ("family 👨‍👩‍👧 here", ["family", "👨\u200d👩\u200d👧", "here"]),
        ("👍🏽👍", ["👍", "👍"]),
        ("🇫🇷 win", ["🇫🇷", "win"]),
        ("1️⃣ first", ["1\u20e3", "first"]),
        ("東京タワーに行った", ["東", "京", "タ", "ワ", "ー", "に", "行", "っ", "た"]),
        ("서울에서", ["서", "울", "에", "서"]),
        ("#東京 tower", ["#東京", "tower"]),
        ("हिंदी भाषा", ["हिंदी", "भाषा"]),
        ("see https://t.co/AbC123 and www.acme.com/x ok", ["see", "and", "ok"]),
        ("(https://example.com/a?b=c)", []),
        ("", []),
        ("   \n\t", []),
    ],
)
def test_tokens(raw: str, expected: list[str]) -> None:
    assert tokens(raw) == expected


def test_is_emoji() -> None:
    assert [t for t in tokens("RT @Acme: #Sale today 🍕 only! 1️⃣ 🇵🇹") if is_emoji(t)] == [
        "🍕",
        "1⃣",
        "🇵🇹",
    ]
    assert not any(is_emoji(t) for t in tokens("東京 café #x @y 42"))


_PIECES = [
    *"aAbZ09_ '#@-.:/\n\t’",
    "é",
    "e\u0301",
    "İ",
    "ß",
    "K",
    "😀",
    "👍🏽",
    "\u200d",
    "❤\ufe0f",
    "🇫🇷",
    "1\u20e3",
    "*",
    "東",
    "タ",
    "й",
    "ी",
    "\u02bc",
    "https://t.co/x",
    "www.",
    "'s",
    "\x02",
    "ǅ",
    "ﬁ",
    "Ⅻ",
    "…",
    "“",
    "”",
    "–",
    "\xa0",
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_fast_paths_agree_with_the_regular_expression(sample: str) -> None:
    """The ASCII and mixed fast paths give what the one regular expression gives."""
    folded = fold(sample)
    canonical = tokens_of_folded(folded)
    assert tokens(sample) == canonical
    unlinked = text._LINK.sub(" ", folded)
    assert canonical == text._regex_tokens(unlinked)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_text_tokenises(sample: str) -> None:
    found = tokens(sample)
    assert all(t and not any(c.isspace() for c in t) and "\x01" not in t for t in found)
    assert all(fold(t) == t for t in found)
