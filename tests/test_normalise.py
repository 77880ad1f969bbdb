"""The post format's validation: every bad value gets a message naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from goodwill.pipeline.normalise import PostError, clean_text, parse_datetime, parse_post


def good(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "1",
        "source": "mastodon",
        "url": "https://mastodon.example/@ana/1",
        "text": "Hello Brightloaf",
        "created_at": "2026-11-01T10:00:00+02:00",
        "author": {"id": "a1", "handle": "@ana", "name": "Ana", "followers": 12},
    }
    base.update(over)
    return base


def test_valid_post_round_trips_to_json() -> None:
    post = parse_post(good(metrics={"likes": 3}, is_own=True, custom={"x": 1}))
    assert post.created_at == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert post.author is not None and post.author.followers == 12
    assert post.metrics.likes == 3 and post.is_own
    assert post.extra == {"custom": {"x": 1}}
    again = parse_post(post.to_json())
    assert again == post


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"id": None}, "id", "required"),
        ({"id": ["x"]}, "id", "expected a string"),
        ({"text": 5}, "text", "expected a string"),
        ({"text": "  \x00 "}, "text", "empty"),
        ({"created_at": "yesterday"}, "created_at", "not a date"),
        ({"created_at": "2026-11-01T10:00:00"}, "created_at", "no time zone"),
        ({"created_at": "1900-01-01T00:00:00Z"}, "created_at", "outside"),
        ({"created_at": 12}, "created_at", "expected an ISO 8601"),
        ({"url": "javascript:alert(1)"}, "url", "not an http(s) address"),
        ({"lang": "english!"}, "lang", "language code"),
        ({"metrics": {"likes": -1}}, "metrics.likes", "at least 0"),
        ({"metrics": "lots"}, "metrics", "expected an object"),
        ({"author": 7}, "author", "expected an object"),
        ({"author": {"followers": 3}}, "author", "at least one of"),
        ({"is_own": "maybe"}, "is_own", "true or false"),
        ({"source": "Bad Source"}, "source", "lowercase"),
    ],
)
def test_bad_values_name_field_and_problem(
    change: dict[str, object], field: str, fragment: str
) -> None:
    with pytest.raises(PostError) as info:
        parse_post(good(**change))
    assert info.value.field == field
    assert fragment in info.value.problem


def test_not_an_object() -> None:
    with pytest.raises(PostError, match="expected a JSON object, got list"):
        parse_post([1, 2])


def test_nul_bytes_controls_and_lone_surrogates_are_cleaned() -> None:
    post = parse_post(good(text="caf\u00e9\x00 ok\x07 \ud800 done"))
    assert "\x00" not in post.text and "\x07" not in post.text
    post.text.encode("utf-8")  # would raise on a lone surrogate
    assert post.text.startswith("café")


def test_huge_post_is_cut_and_noted() -> None:
    post = parse_post(good(text="a" * 1_000_000), max_chars=20_000)
    assert len(post.text) <= 20_002
    assert post.extra["truncated_from_chars"] == 1_000_000


def test_dates_in_other_common_formats() -> None:
    assert parse_datetime("Tue Oct 31 22:10:47 +0000 2017").year == 2017
    assert parse_datetime("Wed, 02 Oct 2002 13:00:00 GMT").hour == 13
    assert parse_datetime("2026-11-01T10:00:00", assume_tz=UTC).tzinfo is UTC


def test_default_source_and_string_numbers_from_csv() -> None:
    post = parse_post(
        {
            "id": 5,
            "text": "hi there",
            "created_at": "2026-01-01T00:00:00Z",
            "is_own": "true",
            "metrics": {"likes": "4"},
        },
        default_source="import",
    )
    assert post.source == "import" and post.id == "5" and post.is_own and post.metrics.likes == 4


def test_clean_text_normalises_to_nfc() -> None:
    assert clean_text("cafe\u0301")[0] == "caf\u00e9"
