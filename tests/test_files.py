"""Reading JSONL and CSV: bad lines are named, good ones go on."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from goodwill.sources.files import (
    FileFormatError,
    ReadProblem,
    parse_mapping,
    read_csv,
    read_jsonl,
    read_posts,
)


def test_jsonl_reports_broken_lines_with_numbers() -> None:
    stream = io.StringIO('{"id": "1"}\n\n{broken\n[1]\n')
    items = list(read_jsonl(stream))
    assert [w for w, _ in items] == ["line 1", "line 3", "line 4"]
    assert isinstance(items[1][1], ReadProblem) and "not valid JSON" in items[1][1].message
    assert items[2][1] == [1]


def test_csv_with_mapping_builds_nested_fields() -> None:
    stream = io.StringIO("tweet_id,body,user,when,likes\n7,hello,@bo,2026-01-01T00:00:00Z,3\n")
    mapping = parse_mapping(
        ["id=tweet_id", "text=body", "author.handle=user", "created_at=when", "metrics.likes=likes"]
    )
    [(where, obj)] = list(read_csv(stream, mapping))
    assert where == "line 2"
    assert obj == {
        "id": "7",
        "text": "hello",
        "author": {"handle": "@bo"},
        "created_at": "2026-01-01T00:00:00Z",
        "metrics": {"likes": "3"},
    }


def test_csv_unmapped_columns_are_kept_and_ragged_rows_reported() -> None:
    stream = io.StringIO(
        'id,text,created_at,mood\n1,"multi\nline",2026-01-01T00:00:00Z,happy\n2,x,y,z,extra\n'
    )
    items = list(read_csv(stream))
    assert items[0][1]["mood"] == "happy" and items[0][1]["text"] == "multi\nline"
    assert (
        isinstance(items[1][1], ReadProblem) and "5 fields; the header has 4" in items[1][1].message
    )
    assert items[1][0] == "line 4"


def test_csv_mapping_to_missing_column_is_a_clear_error() -> None:
    with pytest.raises(FileFormatError, match="not in the header: nope"):
        list(read_csv(io.StringIO("a,b\n1,2\n"), {"text": "nope"}))


@pytest.mark.parametrize("pair", ["text", "=body", "text="])
def test_bad_mapping(pair: str) -> None:
    with pytest.raises(FileFormatError, match="FIELD=COLUMN"):
        parse_mapping([pair])


def test_unknown_extension(tmp_path: Path) -> None:
    f = tmp_path / "posts.xml"
    f.write_text("<x/>")
    with pytest.raises(FileFormatError, match="cannot tell the format"):
        list(read_posts(f))


def test_broken_utf8_still_reads(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_bytes(b'{"id": "1", "text": "bad \xff byte"}\n')
    [(_, obj)] = list(read_posts(f))
    assert obj["text"] == "bad \ufffd byte"
