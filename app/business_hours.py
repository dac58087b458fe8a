"""Business time: the desk's opening hours in its time zone, and the arithmetic of response
targets over them (a target of "4 h" counts only the hours the desk is open).

Pure: standard library only, no Flask, no database. Instants are naive UTC, the form every
column stores. Opening hours are wall-clock times in the zone, one span per weekday
(Monday first) or none for a closed day; a span may end at 24:00. Business time is real
elapsed time inside those spans, so a day on which the clocks go forward inside the
opening hours is an hour shorter, and one on which they go back an hour longer.

Durations are parsed from and written as people type them ("4 h", "1 day 2 h", "90 min");
a business day counts ``DAY_MINUTES`` of business time, whatever the opening hours.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_MINUTES = 8 * 60  # "1 day" of a target: a working day of business time
END_OF_DAY = 24 * 60
# Two weeks without one open minute mean opening hours that never open; the walk stops there.
EMPTY_DAYS = 14
_UNIT_MINUTES = {"d": DAY_MINUTES, "day": DAY_MINUTES, "days": DAY_MINUTES,
                 "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
                 "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1}
_PART = re.compile(r"(\d+)\s*([a-z]+)")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


class BusinessTimeError(ValueError):
    """A duration, a time of day, opening hours or a time zone that cannot be used; says why."""


def check_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone of that name, or raise ``BusinessTimeError``."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise BusinessTimeError(f"there is no time zone named {name!r}; give an IANA name such as "
                                "Europe/Berlin") from None


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    if not name or name != name.strip():
        raise ValueError(name)
    return ZoneInfo(name)


Span = tuple[int, int]  # opening and closing minute of the day, 0 <= open < close <= 24:00


@dataclass(frozen=True)
class BusinessHours:
    """When the desk is open: a time zone and one span (or None, closed) per weekday."""

    zone: str
    week: tuple[Span | None, ...]

    def __post_init__(self) -> None:
        check_zone(self.zone)
        if len(self.week) != 7:
            raise BusinessTimeError("opening hours need one entry per day of the week")
        for name, span in zip(WEEKDAYS, self.week, strict=True):
            if span is not None and not 0 <= span[0] < span[1] <= END_OF_DAY:
                raise BusinessTimeError(f"on {name} the desk must open before it closes")
        if all(span is None for span in self.week):
            raise BusinessTimeError("the desk must be open on at least one day of the week")


STANDARD_WEEK = (*[(9 * 60, 17 * 60)] * 5, None, None)
DEFAULT_HOURS = BusinessHours("UTC", STANDARD_WEEK)


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive UTC instant of a wall-clock time (the earlier one when it happens twice)."""
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _local_day(instant: datetime, zone: ZoneInfo) -> date:
    return instant.replace(tzinfo=UTC).astimezone(zone).date()


def open_spans(hours: BusinessHours, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Yield the desk's open spans in UTC, in order, from the one ``since`` falls in or the next.

    Spans never overlap: around a change of the clocks a wall-clock span can map onto
    instants another span holds already, and each span starts where the last one ended.
    """
    zone = check_zone(hours.zone)
    day = _local_day(since, zone) - timedelta(days=1)
    last_end, empty = since, 0
    while empty < EMPTY_DAYS:
        span = hours.week[day.weekday()]
        empty += 1
        if span is not None:
            midnight = datetime.combine(day, time.min)
            start = max(_utc(midnight + timedelta(minutes=span[0]), zone), last_end)
            end = _utc(midnight + timedelta(minutes=span[1]), zone)
            if end > start:
                yield start, end
                last_end, empty = end, 0
        day += timedelta(days=1)


def add_business_time(hours: BusinessHours, start: datetime, amount: timedelta) -> datetime:
    """Return the instant ``amount`` of business time after ``start``."""
    left = amount
    for span_start, span_end in open_spans(hours, start):
        if left <= span_end - span_start:
            return span_start + left
        left -= span_end - span_start
    raise BusinessTimeError("the opening hours leave no time to count in")


def business_time_between(hours: BusinessHours, start: datetime, end: datetime) -> timedelta:
    """Return how much business time passes from ``start`` to ``end`` (nothing if end is earlier)."""
    total = timedelta(0)
    if end <= start:
        return total
    for span_start, span_end in open_spans(hours, start):
        if span_start >= end:
            break
        total += min(span_end, end) - span_start
    return total


def is_open(hours: BusinessHours, instant: datetime) -> bool:
    """Whether the desk is open at ``instant`` (a span's closing instant counts as open)."""
    for span_start, span_end in open_spans(hours, instant - timedelta(days=2)):
        if span_start > instant:
            return False
        if instant <= span_end:
            return True
    return False


def parse_duration(text: str) -> int:
    """Return the minutes of a duration such as "4 h", "1 day", "2h30m" or "90 min"."""
    cleaned = text.strip().lower().replace(",", " ")
    if not cleaned:
        raise BusinessTimeError("give a duration such as 4 h, 1 day or 90 min")
    parts = _PART.findall(cleaned)
    if not parts or _PART.sub("", cleaned).strip():
        raise BusinessTimeError(f"the duration {text.strip()!r} cannot be read; "
                                "write it as 4 h, 1 day or 90 min")
    minutes = 0
    for number, unit in parts:
        if unit not in _UNIT_MINUTES:
            raise BusinessTimeError(f"the unit {unit!r} is not known; use days, h or min")
        minutes += int(number) * _UNIT_MINUTES[unit]
    if not 0 < minutes <= 365 * DAY_MINUTES:
        raise BusinessTimeError("a target must be longer than nothing and at most 365 days")
    return minutes


def format_duration(minutes: int) -> str:
    """Return minutes of business time as the settings page writes them: "1 day 2 h", "45 min"."""
    days, rest = divmod(minutes, DAY_MINUTES)
    hours, mins = divmod(rest, 60)
    words = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else "",
             f"{mins} min" if mins else ""]
    return " ".join(w for w in words if w) or "0 min"


def parse_clock(text: str, *, closing: bool = False) -> int:
    """Return the minute of the day of "09:00"; "24:00" is accepted as a closing time."""
    found = _CLOCK.match(text.strip())
    if not found:
        raise BusinessTimeError(f"the time {text.strip()!r} cannot be read; write it as 09:00")
    hour, minute = int(found.group(1)), int(found.group(2))
    value = hour * 60 + minute
    if minute > 59 or value > END_OF_DAY or (value == END_OF_DAY and not closing):
        raise BusinessTimeError(f"the time {text.strip()!r} cannot be read; write it as 09:00")
    return value


def format_clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def week_text(week: tuple[Span | None, ...]) -> str:
    """Return opening hours as stored: "09:00-17:00" or "closed" per weekday, Monday first."""
    return ",".join("closed" if s is None else f"{format_clock(s[0])}-{format_clock(s[1])}" for s in week)


def parse_week(text: str) -> tuple[Span | None, ...]:
    """Return the opening hours that ``week_text`` wrote."""
    week = []
    for part in text.split(","):
        if part.strip() == "closed":
            week.append(None)
        else:
            opens, closes = part.split("-")
            week.append((parse_clock(opens), parse_clock(closes, closing=True)))
    return tuple(week)
