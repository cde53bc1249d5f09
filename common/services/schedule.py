"""Quiet hours (issue 25, CONTRACT section 8): when a user may be mailed.

Pure logic, no database. A weekly schedule is `{"mon": [["08:00", "18:00"]], ...}`:
ranges [start, end) on :00 or :30 in the schedule's own zone, `24:00` allowed
as an end, none across midnight; a day absent has no opening; None = always.
An organisation's calendar has the same weekly shape (None = open all week),
closed dates and optionally a country's public holidays (the `holidays`
package, by country and subdivision code), in the plant's zone.

A user's effective window is the user's schedule intersected with the
organisation's calendar (unless the user opts out); when the two have no
common opening in the next 14 days the user's own schedule alone applies.

Local times become instants with zoneinfo: a time that does not exist (the
hour skipped when clocks go forward) moves to the next valid instant; a time
that exists twice (clocks go back) is its first occurrence.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holiday_data

from common.services.errors import Invalid

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON = timedelta(days=14)
MAX_CLOSED_DATES = 400
_TIME = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")

Weekly = dict[str, list[tuple[int, int]]]  # day -> [(start minute, end minute)], sorted
Interval = tuple[datetime, datetime]  # [start, end) in UTC


# ------------------------------------------------------------------ validation


def _minutes(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _TIME.match(value):
        raise Invalid(f"{where}: {value!r} is not a time HH:MM")
    hours, minutes = int(value[:2]), int(value[3:])
    if minutes not in (0, 30):
        raise Invalid(f"{where}: {value} is not on :00 or :30")
    total = hours * 60 + minutes
    if total > 24 * 60:
        raise Invalid(f"{where}: {value} is past 24:00")
    return total


def parse_weekly(value: Any, field_name: str) -> Weekly:
    """A weekly shape checked and in minutes; every fault is an Invalid (422) naming the field."""
    if not isinstance(value, Mapping):
        raise Invalid(f"{field_name} must be an object of weekdays ({', '.join(DAYS)}) or null")
    weekly: Weekly = {}
    for day, ranges in value.items():
        if day not in DAYS:
            raise Invalid(f"{field_name}: {day!r} is not a weekday; use {', '.join(DAYS)}")
        if not isinstance(ranges, list):
            raise Invalid(f"{field_name}.{day} must be a list of [start, end] ranges")
        parsed = []
        for i, pair in enumerate(ranges):
            where = f"{field_name}.{day}[{i}]"
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise Invalid(f"{where} must be a range [start, end]")
            start, end = _minutes(pair[0], where), _minutes(pair[1], where)
            if start >= 24 * 60:
                raise Invalid(f"{where}: a range cannot start at 24:00")
            if end <= start:
                raise Invalid(
                    f"{where}: the end {pair[1]} must be after {pair[0]} (no range crosses midnight)"
                )
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (start, _) in zip(parsed, parsed[1:], strict=False):
            if start < end:
                raise Invalid(f"{field_name}.{day}: ranges overlap")
        if parsed:
            weekly[day] = parsed
    if not weekly:
        raise Invalid(f"{field_name} has no opening at all; use null for always")
    return weekly


def weekly_json(weekly: Weekly | None) -> dict[str, list[list[str]]] | None:
    """The stored and answered shape, days in week order."""
    if weekly is None:
        return None
    return {day: [[_hhmm(start), _hhmm(end)] for start, end in weekly[day]] for day in DAYS if day in weekly}


def normalise_weekly(value: Any, field_name: str) -> dict[str, list[list[str]]] | None:
    """None stays None (always); anything else checked and returned sorted, empty days dropped."""
    return None if value is None else weekly_json(parse_weekly(value, field_name))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_zone(value: Any, field_name: str = "timezone") -> str:
    if not isinstance(value, str) or value not in _zones():
        raise Invalid(f"{field_name}: {value!r} is not an IANA time zone")
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str | None) -> ZoneInfo:
    """The zone of that name; UTC for none or an unknown one (a stored value is never a 500)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def check_holidays(value: Any) -> tuple[str, str | None] | None:
    """`{country, subdivision}` or null, the codes those of the `holidays` package."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"country", "subdivision"}:
        raise Invalid("holidays must be {country, subdivision} or null")
    country = value.get("country")
    subdivision = value.get("subdivision")
    supported = holiday_data.list_supported_countries()
    if not isinstance(country, str) or country not in supported:
        raise Invalid(f"holidays.country: {country!r} is not a supported country code (ISO 3166-1 alpha-2)")
    if subdivision is not None and (
        not isinstance(subdivision, str) or subdivision not in supported[country]
    ):
        raise Invalid(f"holidays.subdivision: {subdivision!r} is not a subdivision of {country}")
    return country, subdivision


def check_closed_dates(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise Invalid("closed_dates must be a list of dates YYYY-MM-DD")
    if len(value) > MAX_CLOSED_DATES:
        raise Invalid(f"closed_dates: at most {MAX_CLOSED_DATES} dates")
    days = set()
    for i, item in enumerate(value):
        try:
            if not isinstance(item, str) or len(item) != 10:
                raise ValueError
            days.add(date.fromisoformat(item))
        except ValueError:
            raise Invalid(f"closed_dates[{i}]: {item!r} is not a date YYYY-MM-DD") from None
    return [d.isoformat() for d in sorted(days)]


# ------------------------------------------------------------------ instants


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall time; a skipped wall time moves to the next valid instant."""
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=1), minute - 24 * 60
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first  # exists (the first occurrence when it exists twice)
    # In a gap: the earliest instant whose wall time is at or after `wall` is the transition.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return _merge((max(s, start), min(e, end)) for s, e in intervals)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The instants in both (each list sorted and merged)."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def openings(
    weekly: Weekly | None,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    closed: Any = None,
) -> list[Interval]:
    """The weekly shape's openings within [start, end) as UTC intervals; `closed(day)` days have none."""
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    intervals: list[Interval] = []
    day = first_day
    while day <= last_day:
        if closed is None or not closed(day):
            ranges = [(0, 24 * 60)] if weekly is None else weekly.get(DAYS[day.weekday()], [])
            intervals.extend((local_instant(day, s, tz), local_instant(day, e, tz)) for s, e in ranges)
        day += timedelta(days=1)
    return _clip(intervals, start, end)


@lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holiday_data.country_holidays(country, subdiv=subdivision, years=year).keys())


# ------------------------------------------------------------------ calendars and windows


@dataclass(frozen=True)
class Calendar:
    """An organisation's shift calendar, in the plant's zone."""

    timezone: str = "UTC"
    weekly: Weekly | None = None
    country: str | None = None
    subdivision: str | None = None
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def is_closed(self, day: date) -> bool:
        if day in self.closed_dates:
            return True
        return self.country is not None and day in _holiday_dates(self.country, self.subdivision, day.year)

    def openings(self, start: datetime, end: datetime) -> list[Interval]:
        return openings(self.weekly, zone(self.timezone), start, end, self.is_closed)

    @classmethod
    def from_stored(
        cls,
        timezone: str,
        weekly: Mapping[str, Any] | None,
        country: str | None,
        subdivision: str | None,
        closed_dates: Iterable[str] | None,
    ) -> "Calendar":
        return cls(
            timezone=timezone,
            weekly=None if weekly is None else parse_weekly(weekly, "weekly"),
            country=country,
            subdivision=subdivision,
            closed_dates=frozenset(date.fromisoformat(d) for d in closed_dates or ()),
        )


@dataclass(frozen=True)
class Window:
    """A user's effective e-mail window over [now, now + 14 days)."""

    now: datetime
    intervals: list[Interval] | None  # None: always open
    fallback: bool = False  # the organisation's calendar had no common opening; the user's own applies

    def is_open(self, moment: datetime) -> bool:
        if self.intervals is None:
            return True
        return any(start <= moment < end for start, end in self.intervals)

    def next_opening(self, moment: datetime | None = None) -> datetime | None:
        """`moment` (default now) when open, else the next opening's start; None: none in 14 days."""
        moment = moment or self.now
        if self.intervals is None:
            return moment
        for start, end in self.intervals:
            if moment < end:
                return max(start, moment)
        return None


def effective_window(
    now: datetime,
    user_schedule: Mapping[str, Any] | None,
    user_timezone: str | None,
    calendar: Calendar | None = None,
    follow_calendar: bool = True,
) -> Window:
    """The user's schedule ∩ the organisation's calendar; the user's own when they share no opening."""
    end = now + HORIZON
    tz = zone(user_timezone)
    own = (
        None
        if user_schedule is None
        else openings(parse_weekly(user_schedule, "email_schedule"), tz, now, end)
    )
    if calendar is None or not follow_calendar:
        return Window(now, own)
    plant = calendar.openings(now, end)
    both = plant if own is None else intersect(own, plant)
    if both:
        return Window(now, both)
    return Window(now, own, fallback=True)


def next_opening(
    now: datetime, user_schedule: Mapping[str, Any] | None, user_timezone: str | None
) -> datetime | None:
    """The next opening of a user's own schedule (now when open)."""
    return effective_window(now, user_schedule, user_timezone).next_opening()
