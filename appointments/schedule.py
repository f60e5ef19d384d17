"""Calendars as pure functions: opening hours, the slots of a day, what is closed and bookable.

No database here: the services and selectors load a calendar and its closures, then ask these
functions. Times are local (Europe/Paris): a slot at 08:00 stays at 08:00 across a
daylight-saving change, and its instant carries the offset of that day (APPOINTMENTS.md §1).

Choices where the rule book is silent:
- a local time that does not exist (the spring-forward hour) starts no slot; a local time that
  exists twice (the autumn fall-back hour) starts one slot, at its first occurrence;
- a slot is closed when any part of it overlaps a closure period (closures are half-open:
  [starts_at, ends_at));
- the horizon ends at midnight (local) after the day `today + horizon_days`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.utils.translation import gettext as _

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = "mon-fri 08:00-12:00 13:30-17:00"
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_INTERVAL = re.compile(r"^(\d\d:\d\d)-(\d\d:\d\d)$")


class HoursError(ValueError):
    """Opening hours that cannot be read; the message says where."""


@dataclass(frozen=True)
class Hours:
    """Opening intervals per weekday (0 = Monday), in minutes after local midnight."""

    days: tuple[tuple[tuple[int, int], ...], ...]

    def spec(self) -> str:
        """The canonical text: consecutive days with the same intervals grouped."""
        parts: list[str] = []
        day = 0
        while day < 7:
            intervals = self.days[day]
            last = day
            while last + 1 < 7 and self.days[last + 1] == intervals:
                last += 1
            if intervals:
                name = WEEKDAYS[day] if last == day else f"{WEEKDAYS[day]}-{WEEKDAYS[last]}"
                parts.append(f"{name} " + " ".join(f"{_hm(a)}-{_hm(b)}" for a, b in intervals))
            day = last + 1
        return "; ".join(parts)


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str) -> int:
    match = _TIME.match(text)
    if not match:
        raise HoursError(_("%(value)s is not a time (HH:MM).") % {"value": repr(text)})
    return int(match[1]) * 60 + int(match[2])


def _day_range(text: str) -> list[int]:
    first, dash, last = text.partition("-")
    if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
        raise HoursError(
            _("%(value)s is not a day or a range of days (mon … sun).") % {"value": repr(text)}
        )
    start = WEEKDAYS.index(first)
    end = WEEKDAYS.index(last) if dash else start
    if end < start:
        raise HoursError(
            _("%(value)s: a range of days goes from Monday towards Sunday.") % {"value": repr(text)}
        )
    return list(range(start, end + 1))


@cache
def hours_parse(text: str) -> Hours:
    """Read "mon-fri 08:00-12:00 13:30-17:00; sat 08:00-12:00" (days, then intervals; groups
    separated by ";"). Each day at most once; intervals in order, not overlapping, end after
    start. Raises HoursError."""
    days: list[tuple[tuple[int, int], ...] | None] = [None] * 7
    groups = [group.strip() for group in text.lower().split(";") if group.strip()]
    if not groups:
        raise HoursError(_("Give at least one day with its opening intervals."))
    for group in groups:
        words = group.split()
        if len(words) < 2:
            raise HoursError(
                _("%(value)s: give the days, then at least one interval.") % {"value": repr(group)}
            )
        intervals: list[tuple[int, int]] = []
        for word in words[1:]:
            match = _INTERVAL.match(word)
            if not match:
                raise HoursError(
                    _("%(value)s is not an interval (HH:MM-HH:MM).") % {"value": repr(word)}
                )
            start, end = _minutes(match[1]), _minutes(match[2])
            if end <= start:
                raise HoursError(
                    _("%(value)s: the interval ends before it starts.") % {"value": repr(word)}
                )
            if intervals and start < intervals[-1][1]:
                raise HoursError(
                    _("%(value)s: intervals must be in order and not overlap.")
                    % {"value": repr(word)}
                )
            intervals.append((start, end))
        for day in _day_range(words[0]):
            if days[day] is not None:
                raise HoursError(_("%(day)s is given twice.") % {"day": WEEKDAYS[day]})
            days[day] = tuple(intervals)
    return Hours(tuple(day or () for day in days))


@cache
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FR", years=year)  # metropolitan France


def is_holiday(day: date) -> bool:
    """A French public holiday (metropolitan France, the `holidays` package)."""
    return day in _holidays(day.year)


def holiday_name(day: date) -> str:
    return str(_holidays(day.year).get(day) or "")


@dataclass(frozen=True)
class Settings:
    """What slot generation reads of a calendar."""

    hours: str
    slot_minutes: int
    capacity: int
    notice_hours: int
    horizon_days: int


@dataclass(frozen=True)
class Period:
    """A closure: [starts_at, ends_at), aware datetimes."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class SlotTime:
    start: datetime  # aware, Europe/Paris
    end: datetime


def _local(day: date, minutes: int) -> datetime | None:
    """The instant of a local wall time, None when that wall time does not exist that day."""
    naive = datetime.combine(day, time(minutes // 60, minutes % 60))
    aware = naive.replace(tzinfo=PARIS)  # fold=0: the first of two, for an ambiguous time
    if aware.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != naive:
        return None  # the spring-forward gap
    return aware


def day_slots(settings: Settings, day: date) -> list[SlotTime]:
    """Every slot the opening hours give on `day` (holidays and closures not applied): each
    interval's start, every slot_minutes, while start + length <= interval end (local time)."""
    return list(_day_slots(settings.hours, settings.slot_minutes, day))


@lru_cache(maxsize=8192)
def _day_slots(hours_text: str, length: int, day: date) -> tuple[SlotTime, ...]:
    """day_slots, kept per process: a 31-day availability asks for the same days again."""
    hours = hours_parse(hours_text)
    slots = []
    for start, end in hours.days[day.weekday()]:
        minute = start
        while minute + length <= end:
            begin = _local(day, minute)
            finish = _local(day, minute + length) if minute + length < 24 * 60 else None
            if begin is not None:
                if finish is None:
                    finish = begin + timedelta(minutes=length)
                slots.append(SlotTime(begin, finish))
            minute += length
    return tuple(slots)


def is_closed(slot: SlotTime, closures: Iterable[Period]) -> bool:
    return any(c.starts_at < slot.end and slot.start < c.ends_at for c in closures)


def horizon_end(settings: Settings, now: datetime) -> datetime:
    """Slots starting at or after this instant are too far (midnight after today + horizon)."""
    today = now.astimezone(PARIS).date()
    last = today + timedelta(days=settings.horizon_days + 1)
    return datetime.combine(last, time(0), tzinfo=PARIS)


def earliest_start(settings: Settings, now: datetime) -> datetime:
    """Slots starting before this instant are too late (inside the notice, or past)."""
    return now + timedelta(hours=settings.notice_hours)


def open_slots(
    settings: Settings, first: date, last: date, closures: Iterable[Period]
) -> Iterator[SlotTime]:
    """The slots of the days first..last (inclusive) that are open: opening hours, not a
    public holiday, not inside a closure; in time order."""
    closures = list(closures)
    day = first
    while day <= last:
        if not is_holiday(day):
            for slot in day_slots(settings, day):
                if not is_closed(slot, closures):
                    yield slot
        day += timedelta(days=1)


def bookable_slots(
    settings: Settings, first: date, last: date, closures: Iterable[Period], now: datetime
) -> list[SlotTime]:
    """open_slots that also respect the notice and the horizon at `now`."""
    earliest = earliest_start(settings, now)
    latest = horizon_end(settings, now)
    return [
        slot
        for slot in open_slots(settings, first, last, closures)
        if earliest <= slot.start < latest
    ]


NOT_A_SLOT = "not_a_slot"
TOO_LATE = "too_late"
TOO_FAR = "too_far"


def slot_refusal(
    settings: Settings, start: datetime, closures: Iterable[Period], now: datetime
) -> tuple[str, SlotTime | None]:
    """Why `start` cannot be booked now ("" when it can), with the slot it names when it is one:
    not_a_slot (not a slot start of the opening hours, a holiday, closed), too_late (inside the
    notice or past), too_far (beyond the horizon)."""
    local = start.astimezone(PARIS)
    day = local.date()
    slot = next((s for s in day_slots(settings, day) if s.start == start), None)
    if slot is None or is_holiday(day) or is_closed(slot, closures):
        return NOT_A_SLOT, None
    if start < earliest_start(settings, now):
        return TOO_LATE, slot
    if start >= horizon_end(settings, now):
        return TOO_FAR, slot
    return "", slot


def first_open_slot_after(
    settings: Settings, day: date, closures: Iterable[Period], *, limit_days: int = 366
) -> SlotTime | None:
    """The first slot of the first open day after `day` (Marseille good practice: a missed
    slot is rebooked first thing on the next open day), notice and horizon ignored."""
    closures = list(closures)
    for offset in range(1, limit_days + 1):
        candidate = day + timedelta(days=offset)
        slots = list(open_slots(settings, candidate, candidate, closures))
        if slots:
            return slots[0]
    return None
