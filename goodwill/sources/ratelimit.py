"""How long a provider asks us to wait, read from its own headers, and how long we wait anyway.

Every network says "come back later" differently. Mastodon sends the reset time as ISO 8601,
Reddit the seconds remaining, Bluesky and X the reset as Unix epoch seconds; everyone may also
send ``Retry-After``. ``wait_seconds`` turns any of them into seconds from now, so connectors can
raise ``RateLimited`` with one number and the listener can honour it.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["ResetStyle", "backoff_seconds", "rate_limit_state", "retry_after", "wait_seconds"]

# A provider's clock may disagree with ours; a reset further away than this is not believed.
MAX_BELIEVED_WAIT = 24 * 3600.0


class ResetStyle(enum.Enum):
    """Which header says when the limit resets, and in which form."""

    MASTODON = ("x-ratelimit-reset", "x-ratelimit-remaining", "x-ratelimit-limit", "iso8601")
    REDDIT = ("x-ratelimit-reset", "x-ratelimit-remaining", "x-ratelimit-used", "seconds")
    BLUESKY = ("ratelimit-reset", "ratelimit-remaining", "ratelimit-limit", "epoch")
    X = ("x-rate-limit-reset", "x-rate-limit-remaining", "x-rate-limit-limit", "epoch")
    GENERIC = ("retry-after", "", "", "retry-after")

    def __init__(self, reset: str, remaining: str, limit: str, form: str) -> None:
        self.reset_header = reset
        self.remaining_header = remaining
        self.limit_header = limit
        self.form = form


def backoff_seconds(interval: float, failures: int, maximum: float) -> float:
    """Interval doubled per consecutive failure, capped, with ±20 % jitter so that many
    failing sources do not retry in lock-step."""
    base = min(interval * (2 ** max(failures - 1, 0)), maximum)
    return float(base * random.uniform(0.8, 1.2))


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), or ``None``."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds <= MAX_BELIEVED_WAIT else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _until(when, now)


def _until(when: datetime, now: datetime | None) -> float | None:
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds > MAX_BELIEVED_WAIT:
        return None
    return max(0.0, seconds)


def _reset(style: ResetStyle, value: str, now: datetime | None) -> float | None:
    value = value.strip()
    if style.form == "retry-after":
        return retry_after(value, now)
    if style.form == "iso8601":
        try:
            when = datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return _until(when, now)
    try:
        number = float(value)
    except ValueError:
        return None
    if style.form == "seconds":
        return number if 0 <= number <= MAX_BELIEVED_WAIT else None
    # Epoch seconds.
    try:
        when = datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return _until(when, now)


def wait_seconds(
    headers: Mapping[str, str], style: ResetStyle, now: datetime | None = None
) -> float | None:
    """How long the provider asks us to wait, from ``Retry-After`` or its own reset header.

    ``None`` when neither header is there or readable; the caller then uses its own back-off.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    explicit = retry_after(lowered.get("retry-after"), now)
    if explicit is not None:
        return explicit
    raw = lowered.get(style.reset_header)
    return None if raw is None else _reset(style, raw, now)


def rate_limit_state(
    headers: Mapping[str, str], style: ResetStyle, now: datetime | None = None
) -> dict[str, Any] | None:
    """The provider's view of our budget (limit, remaining, reset), for `sources status`."""
    if style is ResetStyle.GENERIC:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    remaining = _number(lowered.get(style.remaining_header))
    if remaining is None:
        return None
    state: dict[str, Any] = {"remaining": remaining}
    limit = _number(lowered.get(style.limit_header))
    if limit is not None:
        # Reddit sends "used" rather than "limit": the budget is used + remaining.
        state["limit"] = limit + remaining if style is ResetStyle.REDDIT else limit
    raw = lowered.get(style.reset_header)
    reset_in = _reset(style, raw, now) if raw else None
    if reset_in is not None:
        state["reset_in_s"] = round(reset_in, 1)
    return state


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None
