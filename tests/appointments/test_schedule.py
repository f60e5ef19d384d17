"""Calendars as pure functions: opening hours, holidays, closures, notice, horizon, DST."""

from datetime import UTC, date, datetime, timedelta

import pytest

from appointments import schedule
from tests.appointments.conftest import at

SETTINGS = schedule.Settings(
    hours="mon-fri 08:00-12:00 13:30-17:00",
    slot_minutes=30,
    capacity=4,
    notice_hours=24,
    horizon_days=60,
)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("mon-fri 08:00-12:00 13:30-17:00", "mon-fri 08:00-12:00 13:30-17:00"),
        (
            "mon-fri 08:00-12:00 13:30-17:00; sat 08:00-12:00",
            "mon-fri 08:00-12:00 13:30-17:00; sat 08:00-12:00",
        ),
        ("MON 08:00-09:00; tue 08:00-09:00", "mon-tue 08:00-09:00"),
        ("sun 06:00-07:30", "sun 06:00-07:30"),
    ],
)
def test_hours_are_read_and_written_canonically(text, spec):
    assert schedule.hours_parse(text).spec() == spec


@pytest.mark.parametrize(
    "text",
    [
        "",
        "mon",
        "mon 8:00-12:00",
        "mon 12:00-08:00",
        "mon 08:00-12:00 11:00-13:00",
        "fri-mon 08:00-09:00",
        "mon 08:00-09:00; mon 10:00-11:00",
        "xyz 08:00-09:00",
        "mon 24:00-25:00",
    ],
)
def test_bad_hours_are_refused_with_a_reason(text):
    with pytest.raises(schedule.HoursError):
        schedule.hours_parse(text)


def test_a_day_has_fifteen_slots_of_thirty_minutes():
    slots = schedule.day_slots(SETTINGS, date(2026, 12, 3))
    assert len(slots) == 15
    assert slots[0].start == at(date(2026, 12, 3), 8)
    assert slots[7].start == at(date(2026, 12, 3), 11, 30)
    assert slots[8].start == at(date(2026, 12, 3), 13, 30)
    assert slots[-1].end == at(date(2026, 12, 3), 17)


def test_a_slot_that_would_overrun_its_interval_is_not_offered():
    settings = schedule.Settings("mon 08:00-09:40", 30, 1, 0, 60)
    starts = [s.start.strftime("%H:%M") for s in schedule.day_slots(settings, date(2026, 11, 30))]
    assert starts == ["08:00", "08:30", "09:00"]


def test_a_week_with_a_holiday_a_closure_the_notice_and_the_horizon():
    # Now: Monday 21 December 2026 10:00. Friday 25 is Christmas. A closure on Wednesday 23
    # afternoon. Notice 24 h: Monday's and Tuesday's slots before 10:00 are too late.
    now = at(date(2026, 12, 21), 10)
    closure = schedule.Period(at(date(2026, 12, 23), 13), at(date(2026, 12, 23), 18))
    settings = schedule.Settings(SETTINGS.hours, 30, 4, 24, 3)  # horizon: until Thursday 24
    slots = schedule.bookable_slots(
        settings, date(2026, 12, 21), date(2026, 12, 27), [closure], now
    )
    by_day: dict[date, int] = {}
    for slot in slots:
        by_day[slot.start.date()] = by_day.get(slot.start.date(), 0) + 1
    assert by_day == {
        date(2026, 12, 22): 11,  # 10:00 … 16:30: four morning slots before 10:00 too late
        date(2026, 12, 23): 8,  # the afternoon closed
        date(2026, 12, 24): 15,
    }  # 25: Christmas; 26–27 weekend and beyond the horizon
    assert slots[0].start == at(date(2026, 12, 22), 10)
    assert all(s.start < at(date(2026, 12, 25), 0) for s in slots)


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (at(date(2026, 12, 3), 8), ""),
        (at(date(2026, 12, 3), 8, 15), "not_a_slot"),
        (at(date(2026, 12, 3), 12), "not_a_slot"),
        (at(date(2026, 12, 5), 8), "not_a_slot"),  # Saturday
        (at(date(2026, 12, 25), 8), "not_a_slot"),  # Christmas
        (at(date(2026, 12, 1), 16), "too_late"),  # inside the 24 h notice
        (at(date(2026, 11, 30), 8), "too_late"),  # past
        (at(date(2027, 1, 30), 8), "not_a_slot"),  # a Saturday, however far
        (at(date(2027, 1, 27), 16, 30), ""),  # today + 58
        (at(date(2027, 1, 28), 8), ""),  # today + 59: the last day
        (at(date(2027, 1, 29), 8), "too_far"),
    ],
)
def test_slot_refusals(start, code):
    now = at(date(2026, 11, 30), 17)
    settings = schedule.Settings(SETTINGS.hours, 30, 4, 24, 59)
    assert schedule.slot_refusal(settings, start, [], now)[0] == code


def test_the_horizon_ends_at_midnight_after_today_plus_horizon_days():
    now = at(date(2026, 11, 30), 17)
    settings = schedule.Settings(SETTINGS.hours, 30, 4, 24, 3)
    assert schedule.slot_refusal(settings, at(date(2026, 12, 3), 16, 30), [], now)[0] == ""
    assert schedule.slot_refusal(settings, at(date(2026, 12, 4), 8), [], now)[0] == "too_far"


def test_a_saturday_interval_gives_saturday_slots():
    settings = schedule.Settings("mon-fri 08:00-12:00; sat 08:00-10:00", 30, 4, 0, 60)
    saturday = schedule.day_slots(settings, date(2026, 12, 5))
    assert [s.start for s in saturday] == [
        at(date(2026, 12, 5), h, m) for h, m in ((8, 0), (8, 30), (9, 0), (9, 30))
    ]
    assert schedule.day_slots(settings, date(2026, 12, 6)) == []


@pytest.mark.parametrize(
    ("saturday", "sunday", "offsets"),
    [
        (date(2026, 3, 28), date(2026, 3, 29), ("+01:00", "+02:00")),  # spring forward
        (date(2026, 10, 24), date(2026, 10, 25), ("+02:00", "+01:00")),  # fall back
    ],
)
def test_daylight_saving_weekends_keep_slots_at_local_time(saturday, sunday, offsets):
    settings = schedule.Settings("sat-sun 08:00-10:00", 30, 4, 0, 366)
    before = schedule.day_slots(settings, saturday)
    after = schedule.day_slots(settings, sunday)
    assert [s.start.strftime("%H:%M") for s in before] == ["08:00", "08:30", "09:00", "09:30"]
    assert [s.start.strftime("%H:%M") for s in after] == ["08:00", "08:30", "09:00", "09:30"]
    assert before[0].start.isoformat().endswith(offsets[0])
    assert after[0].start.isoformat().endswith(offsets[1])
    # 24 local hours apart, 23 or 25 real hours apart.
    real = after[0].start.astimezone(UTC) - before[0].start.astimezone(UTC)
    assert real == timedelta(hours=23 if offsets[0] == "+01:00" else 25)


def test_the_nonexistent_hour_starts_no_slot_and_the_repeated_hour_one():
    settings = schedule.Settings("sun 01:30-03:30", 30, 4, 0, 366)
    spring = [s.start.strftime("%H:%M") for s in schedule.day_slots(settings, date(2026, 3, 29))]
    assert spring == ["01:30", "03:00"]  # 02:00 and 02:30 do not exist that night
    autumn = schedule.day_slots(settings, date(2026, 10, 25))
    assert [s.start.strftime("%H:%M") for s in autumn] == ["01:30", "02:00", "02:30", "03:00"]


def test_first_open_slot_after_skips_a_weekend_and_a_holiday():
    # Thursday 24 December → Friday 25 Christmas, weekend → Monday 28 December 08:00.
    slot = schedule.first_open_slot_after(SETTINGS, date(2026, 12, 24), [])
    assert slot is not None and slot.start == at(date(2026, 12, 28), 8)
    # A closure on Monday morning: Monday 13:30.
    closure = schedule.Period(at(date(2026, 12, 28), 0), at(date(2026, 12, 28), 13))
    slot = schedule.first_open_slot_after(SETTINGS, date(2026, 12, 24), [closure])
    assert slot is not None and slot.start == at(date(2026, 12, 28), 13, 30)


def test_instants_of_any_offset_name_the_same_slot():
    now = at(date(2026, 11, 30), 17)
    utc = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    code, slot = schedule.slot_refusal(SETTINGS, utc, [], now)
    assert code == "" and slot is not None and slot.start == at(date(2026, 12, 3), 8)
