"""When a daily or weekly digest is due: at a fixed local time, in a time zone (zoneinfo).

Pure functions of ``now`` so that tests drive them with any clock. "Daily at 09:00" means the
wall clock in the zone, whatever its offset that day: across a change to summer time the
digest still goes at 09:00 local, one hour earlier in UTC. A time the clocks skip (02:30 on the
night they spring forward) is taken as the same time on the earlier offset, that is 03:30
local; a time that happens twice (the night they fall back) counts once, at its first passing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = ["WEEKDAYS", "check_timezone", "latest_slot", "parse_clock"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str) -> time:
    """``"HH:MM"`` (24-hour clock) as a time, or ``ValueError`` saying what is expected."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: write it as HH:MM, e.g. 09:00 or 17:30")
    return time(int(match.group(1)), int(match.group(2)))


def check_timezone(name: str) -> str:
    """An IANA time zone name (``Europe/Paris``), or ``ValueError`` naming the mistake."""
    name = name.strip()
    if name in ("UTC", "utc"):
        return "UTC"
    if name not in available_timezones():
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris or America/New_York"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # the name exists but cannot load
        raise ValueError(f"time zone {name!r} cannot be loaded: {exc}") from None
    return name


def latest_slot(now: datetime, at: time, zone: str, weekday: int | None = None) -> datetime:
    """The latest scheduled moment at or before ``now`` (UTC): ``at`` local time in ``zone``,
    every day, or only on ``weekday`` (0 is Monday)."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if weekday is not None and day.weekday() != weekday:
            continue
        slot = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if slot <= now:
            return slot
    raise AssertionError("a slot exists in every 8 days")  # pragma: no cover
