"""Checks shared by connectors' ``validate_config``: each error names the setting and the fix."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from goodwill.net import check_url
from goodwill.sources.base import ConfigError

__all__ = [
    "backfill_since",
    "boolean",
    "choice",
    "number",
    "optional_number",
    "optional_text",
    "reject_unknown",
    "required_text",
    "url",
]


def reject_unknown(config: Mapping[str, Any], kind: str, known: Collection[str]) -> None:
    if not isinstance(config, Mapping):
        raise ConfigError(f"expected settings as an object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(map(repr, unknown))}: a {kind} source takes "
            + ", ".join(repr(k) for k in sorted(known))
        )


def optional_text(config: Mapping[str, Any], key: str, max_len: int = 500) -> str | None:
    value = config.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected text, got {type(value).__name__}")
    value = value.strip()
    if len(value) > max_len or any(ord(c) < 0x20 for c in value):
        raise ConfigError(f"{key}: at most {max_len} characters, without control characters")
    return value


def required_text(config: Mapping[str, Any], key: str, what: str, max_len: int = 500) -> str:
    value = optional_text(config, key, max_len)
    if value is None:
        raise ConfigError(f"{key}: required, {what}")
    return value


def choice(config: Mapping[str, Any], key: str, options: Collection[str], default: str) -> str:
    value = config.get(key)
    if value is None or value == "":
        return default
    if value not in options:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(sorted(options))}")
    return str(value)


def optional_number(
    config: Mapping[str, Any], key: str, *, minimum: float = 0, maximum: float = math.inf
) -> float | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if not minimum <= value <= maximum:
        bound = f"between {minimum:g} and {maximum:g}" if maximum < math.inf else f">= {minimum:g}"
        raise ConfigError(f"{key}: must be {bound}, got {value:g}")
    return float(value)


def number(
    config: Mapping[str, Any],
    key: str,
    default: float,
    *,
    minimum: float = 0,
    maximum: float = math.inf,
) -> float:
    value = optional_number(config, key, minimum=minimum, maximum=maximum)
    return default if value is None else value


def boolean(config: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = config.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1", "false", "no", "0"}:
        return value.strip().lower() in {"true", "yes", "1"}
    raise ConfigError(f"{key}: expected true or false, got {value!r}")


def url(config: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = config.get(key) or default
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: required, an https:// address")
    try:
        return check_url(value).rstrip("/")
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def backfill_since(config: Mapping[str, Any], default: timedelta) -> datetime:
    """Where a first poll starts: ``backfill_hours`` of the source, else the install's."""
    hours = config.get("backfill_hours")
    window = timedelta(hours=hours) if isinstance(hours, int | float) else default
    return datetime.now(UTC) - window
