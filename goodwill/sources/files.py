"""Reading posts from JSONL and CSV files, line by line, naming every bad line.

A reader yields ``(where, object)`` pairs; ``where`` ("line 12") is how the pipeline names an
item it refuses. A line that is not even JSON is reported here and the reading goes on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import orjson

__all__ = [
    "FileFormatError",
    "ReadProblem",
    "parse_mapping",
    "read_csv",
    "read_jsonl",
    "read_posts",
]

MAX_LINE_BYTES = 5_000_000


class FileFormatError(ValueError):
    """The file as a whole cannot be read (unknown format, no header, bad mapping)."""


class ReadProblem:
    """A line that could not be parsed at all; yielded in place of its object."""

    def __init__(self, message: str) -> None:
        self.message = message


def read_jsonl(stream: TextIO) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        if len(line) > MAX_LINE_BYTES:
            yield (
                where,
                ReadProblem(f"is {len(line):,} characters long; at most {MAX_LINE_BYTES:,}"),
            )
            continue
        try:
            yield where, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield where, ReadProblem(f"is not valid JSON ({exc.msg} at column {exc.colno})")


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["text=body", "author.handle=user"]`` → {post field: CSV column}."""
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise FileFormatError(f"mapping {pair!r} should look like FIELD=COLUMN, e.g. text=body")
        mapping[field.strip()] = column.strip()
    return mapping


def _set(obj: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def read_csv(stream: TextIO, mapping: Mapping[str, str] | None = None) -> Iterator[tuple[str, Any]]:
    """Rows become post-format objects. Without a mapping, columns named like the post format
    (``id``, ``text``, ``author.handle``, ``metrics.likes``…) are taken as they are; other
    columns are kept as unknown fields."""
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.DictReader(stream)
    if reader.fieldnames is None:
        raise FileFormatError("the CSV file is empty: it needs a header row")
    columns = set(reader.fieldnames)
    mapping = dict(mapping or {})
    missing = sorted(c for c in mapping.values() if c not in columns)
    if missing:
        raise FileFormatError(
            f"the mapping names columns not in the header: {', '.join(missing)} "
            f"(header: {', '.join(reader.fieldnames)})"
        )
    mapped_columns = set(mapping.values())
    for col in reader.fieldnames:
        if col not in mapped_columns and col not in mapping:
            mapping[col] = col
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            if None in row:
                width = len(reader.fieldnames)
                found = width + len(row[None])
                yield where, ReadProblem(f"has {found} fields; the header has {width}")
                continue
            obj: dict[str, Any] = {}
            for field, column in mapping.items():
                value = row.get(column)
                if value is not None and value != "":
                    _set(obj, field, value)
            yield where, obj
    except csv.Error as exc:
        yield (
            f"line {reader.line_num}",
            ReadProblem(f"cannot be read as CSV ({exc}); reading stopped here"),
        )


def read_posts(
    path: Path, *, fmt: str | None = None, mapping: Mapping[str, str] | None = None
) -> Iterator[tuple[str, Any]]:
    """Read ``path`` (``-`` for stdin is handled by the caller) by format or extension."""
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt in {"jsonl", "ndjson", "json"}:
        reader = read_jsonl
    elif fmt == "csv":

        def reader(stream: TextIO) -> Iterator[tuple[str, Any]]:
            return read_csv(stream, mapping)
    else:
        raise FileFormatError(
            f"cannot tell the format of {path.name!r}: use .jsonl or .csv, or --format"
        )
    # errors="replace": a file with broken UTF-8 still imports; the bad bytes become U+FFFD.
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as stream:
        yield from reader(stream)
