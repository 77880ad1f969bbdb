"""Turning untrusted post-format objects into ``Post`` values, or a precise reason why not.

Every source and every import goes through ``parse_post``: it is where broken Unicode, NUL
bytes, huge texts, invalid dates, wrong types and hostile URLs are caught, so the rest of the
pipeline can trust its input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

from goodwill.domain import Author, Metrics, Post

__all__ = [
    "KNOWN_FIELDS",
    "PostError",
    "clean_text",
    "parse_datetime",
    "parse_post",
    "parse_text_item",
]

KNOWN_FIELDS = frozenset(
    {
        "id",
        "source",
        "url",
        "text",
        "created_at",
        "lang",
        "author",
        "in_reply_to",
        "conversation_id",
        "metrics",
        "is_own",
    }
)
_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
# C0 and C1 controls except tab, newline and carriage return; they have no place in a post and
# some (NUL) break PostgreSQL outright.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAX_ID = 512
_TWITTER_DATE = "%a %b %d %H:%M:%S %z %Y"


class PostError(ValueError):
    """Why one item was refused; ``str()`` names the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def clean_text(value: str, max_chars: int | None = None) -> tuple[str, int | None]:
    """Safe, comparable text: valid Unicode (NFC), no control characters, at most ``max_chars``.

    Returns the text and, when it was cut, its original length.
    """
    if value.isascii():
        # The common case: nothing to repair or normalise, only controls to drop.
        value = (_CONTROL_RE.sub("", value) if _CONTROL_RE.search(value) else value).strip()
    else:
        # Lone surrogates (broken UTF-16 from some APIs) cannot be stored: replace them.
        value = value.encode("utf-8", "replace").decode("utf-8")
        value = _CONTROL_RE.sub("", value)
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        value = value.strip()
    if max_chars is not None and len(value) > max_chars:
        return value[:max_chars].rstrip() + " …", len(value)
    return value, None


def parse_datetime(
    value: Any, field: str = "created_at", assume_tz: tzinfo | None = None
) -> datetime:
    """ISO 8601 with a zone (also RFC 2822 and Twitter's format); always returns aware UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        parsed_or_none: datetime | None = None
        try:
            parsed_or_none = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            for attempt in (_twitter_date, parsedate_to_datetime):
                try:
                    parsed_or_none = attempt(text)
                    break
                except (TypeError, ValueError, IndexError):
                    continue
        if parsed_or_none is None:
            raise PostError(field, f"{value!r} is not a date in ISO 8601 (2024-05-01T12:00:00Z)")
        parsed = parsed_or_none
    else:
        raise PostError(field, f"expected an ISO 8601 date string, got {_kind(value)}")
    if parsed.tzinfo is None:
        if assume_tz is None:
            raise PostError(field, f"{value!r} has no time zone; add Z or an offset like +02:00")
        parsed = parsed.replace(tzinfo=assume_tz)
    if not 1990 <= parsed.year <= 2200:
        raise PostError(field, f"{value!r} is outside the years 1990 to 2200")
    return parsed.astimezone(UTC)


def _twitter_date(text: str) -> datetime:
    return datetime.strptime(text, _TWITTER_DATE)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _ident(obj: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise PostError(key, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PostError(key, f"expected a string, got {_kind(value)}")
    text, _ = clean_text(str(value))
    if not text:
        if required:
            raise PostError(key, "is empty")
        return None
    if len(text) > _MAX_ID:
        raise PostError(key, f"is {len(text)} characters long; at most {_MAX_ID} allowed")
    return text


def _count(obj: Mapping[str, Any], key: str, field: str) -> int | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PostError(field, f"expected a whole number of at least 0, got {value!r}")
    return value


def _flag(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "false", "0", "no"}:
        return value.strip().lower() in {"true", "1", "yes"}
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise PostError("is_own", f"expected true or false, got {value!r}")


def _url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PostError("url", f"expected a string, got {_kind(value)}")
    url, _ = clean_text(value)
    if not re.match(r"^https?://[^\s/?#]+", url, re.IGNORECASE):
        # javascript:, data: and friends must never become a link in someone's browser.
        raise PostError("url", f"{url[:60]!r} is not an http(s) address")
    if len(url) > 4096:
        raise PostError("url", "is longer than 4096 characters")
    return url


def _author(value: Any) -> Author | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"handle": value}
    if not isinstance(value, Mapping):
        raise PostError("author", f"expected an object with id, handle, name; got {_kind(value)}")
    handle = _ident(value, "handle")
    name = _ident(value, "name")
    author_id = _ident(value, "id") or handle or name
    if author_id is None:
        raise PostError("author", "needs at least one of id, handle or name")
    followers = _count(value, "followers", "author.followers")
    return Author(id=author_id, handle=handle, name=name, followers=followers)


def _lang(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _LANG_RE.match(value.strip().lower()):
        raise PostError("lang", f"expected a language code like 'en' or 'pt-br', got {value!r}")
    return value.strip().lower()


def parse_text_item(obj: Any, *, max_chars: int = 20_000) -> tuple[str, str, str | None]:
    """``(id, text, lang)`` of a post-format object or a bare ``{"id", "text"}``: what analysis
    needs, checked and cleaned as ``parse_post`` does (other fields are not looked at)."""
    if not isinstance(obj, Mapping):
        raise PostError("post", f"expected a JSON object, got {_kind(obj)}")
    post_id = _ident(obj, "id", required=True)
    raw_text = obj.get("text")
    if not isinstance(raw_text, str):
        raise PostError("text", f"expected a string, got {_kind(raw_text)}")
    text, _ = clean_text(raw_text, max_chars)
    if not text:
        raise PostError("text", "is empty")
    assert post_id is not None
    return post_id, text, _lang(obj.get("lang"))


def parse_post(
    obj: Any,
    *,
    default_source: str | None = None,
    max_chars: int = 20_000,
    assume_tz: tzinfo | None = None,
) -> Post:
    """Validate one post-format object; raise ``PostError`` naming the first problem."""
    if not isinstance(obj, Mapping):
        raise PostError("post", f"expected a JSON object, got {_kind(obj)}")
    post_id = _ident(obj, "id", required=True)
    source = obj.get("source") or default_source
    if not isinstance(source, str) or not _SOURCE_RE.match(source):
        raise PostError("source", f"expected a short lowercase name like 'rss', got {source!r}")
    raw_text = obj.get("text")
    if not isinstance(raw_text, str):
        raise PostError("text", f"expected a string, got {_kind(raw_text)}")
    text, cut_from = clean_text(raw_text, max_chars)
    if not text:
        raise PostError("text", "is empty")
    created_at = parse_datetime(obj.get("created_at"), assume_tz=assume_tz)
    lang = _lang(obj.get("lang"))
    metrics_obj = obj.get("metrics") or {}
    if not isinstance(metrics_obj, Mapping):
        raise PostError("metrics", f"expected an object, got {_kind(metrics_obj)}")
    metrics = Metrics(
        likes=_count(metrics_obj, "likes", "metrics.likes"),
        shares=_count(metrics_obj, "shares", "metrics.shares"),
        replies=_count(metrics_obj, "replies", "metrics.replies"),
    )
    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    if cut_from is not None:
        extra["truncated_from_chars"] = cut_from
    assert post_id is not None
    return Post(
        id=post_id,
        source=source,
        text=text,
        created_at=created_at,
        url=_url(obj.get("url")),
        lang=lang,
        author=_author(obj.get("author")),
        in_reply_to=_ident(obj, "in_reply_to"),
        conversation_id=_ident(obj, "conversation_id"),
        metrics=metrics,
        is_own=_flag(obj.get("is_own")),
        extra=extra,
    )
