"""Slot maths in a lab's zone: DST nights in Europe/Berlin, units, opening hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from labnet.errors import RuleViolation
from labnet.services.booking.availability import (
    AmbiguousTime,
    Interval,
    clock_change_note,
    count_units,
    describe_hours,
    fold_choices,
    local_to_utc,
    open_intervals,
    within_opening_hours,
)

BERLIN = "Europe/Berlin"
WEEKDAYS_8_TO_17 = [(d, time(8), time(12)) for d in range(5)] + [
    (d, time(13), time(17)) for d in range(5)
]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_spring_forward_time_does_not_exist_and_is_refused_on_its_field():
    with pytest.raises(RuleViolation) as exc:
        local_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN, field="start_at")
    assert exc.value.field == "start_at"
    assert "does not exist" in exc.value.message


def test_autumn_ambiguous_time_is_read_as_its_first_occurrence():
    # 02:30 happens twice on 2026-10-25 in Berlin: first at 00:30 UTC (CEST), then 01:30.
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)


def test_ordinary_local_times_convert_with_that_days_offset():
    assert local_to_utc(datetime(2026, 1, 15, 9, 0), BERLIN) == utc(2026, 1, 15, 8, 0)
    assert local_to_utc(datetime(2026, 7, 15, 9, 0), BERLIN) == utc(2026, 7, 15, 7, 0)


def test_open_intervals_follow_each_days_offset_across_the_spring_change():
    # Friday 27 March (CET, +1) and Monday 30 March (CEST, +2): 08:00 local both days.
    intervals = open_intervals(WEEKDAYS_8_TO_17, BERLIN, date(2026, 3, 27), date(2026, 3, 30))
    assert intervals[0] == Interval(utc(2026, 3, 27, 7), utc(2026, 3, 27, 11))
    assert intervals[2] == Interval(utc(2026, 3, 30, 6), utc(2026, 3, 30, 10))
    assert len(intervals) == 4  # weekend closed


def test_hourly_booking_must_lie_inside_one_open_interval():
    monday = (2026, 3, 2)  # CET: local = UTC + 1
    inside = (utc(*monday, 8), utc(*monday, 10))  # 09:00–11:00 local
    across_lunch = (utc(*monday, 10), utc(*monday, 13))  # 11:00–14:00 local
    before_opening = (utc(*monday, 6), utc(*monday, 8))  # 07:00–09:00 local
    assert within_opening_hours(*inside, "hour", WEEKDAYS_8_TO_17, BERLIN)
    assert not within_opening_hours(*across_lunch, "hour", WEEKDAYS_8_TO_17, BERLIN)
    assert not within_opening_hours(*before_opening, "hour", WEEKDAYS_8_TO_17, BERLIN)


def test_day_bookings_need_open_days_only():
    # Thu 00:00 → Sat 00:00 local covers Thu and Fri: open. Into Saturday: closed.
    thu = local_to_utc(datetime(2026, 3, 5), BERLIN)
    sat = local_to_utc(datetime(2026, 3, 7), BERLIN)
    sun = local_to_utc(datetime(2026, 3, 8), BERLIN)
    assert within_opening_hours(thu, sat, "day", WEEKDAYS_8_TO_17, BERLIN)
    assert not within_opening_hours(thu, sun, "day", WEEKDAYS_8_TO_17, BERLIN)


def test_units_are_counted_by_wall_clock_for_days_and_elapsed_for_hours():
    # The spring-forward Sunday is 23 hours long but still one day.
    start = local_to_utc(datetime(2026, 3, 29), BERLIN)
    end = local_to_utc(datetime(2026, 3, 30), BERLIN)
    assert (end - start).total_seconds() == 23 * 3600
    assert count_units(start, end, "day", BERLIN) == 1
    # 01:00–04:00 local on the autumn night lasts 4 real hours: 4 hourly units are billed.
    a = local_to_utc(datetime(2026, 10, 25, 1), BERLIN)
    b = local_to_utc(datetime(2026, 10, 25, 4), BERLIN)
    assert count_units(a, b, "hour", BERLIN) == 4


def test_half_day_units():
    start = local_to_utc(datetime(2026, 3, 2, 12), BERLIN)
    end = local_to_utc(datetime(2026, 3, 4, 0), BERLIN)
    assert count_units(start, end, "half_day", BERLIN) == 3


@pytest.mark.parametrize(
    ("unit", "start", "end", "field"),
    [
        ("hour", datetime(2026, 3, 2, 9, 30), datetime(2026, 3, 2, 11), "start_at"),
        ("hour", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10, 15), "end_at"),
        ("half_day", datetime(2026, 3, 2, 8), datetime(2026, 3, 2, 12), "start_at"),
        ("day", datetime(2026, 3, 2), datetime(2026, 3, 3, 12), "end_at"),
    ],
)
def test_unaligned_bookings_are_refused_on_the_right_field(unit, start, end, field):
    with pytest.raises(RuleViolation) as exc:
        count_units(local_to_utc(start, BERLIN), local_to_utc(end, BERLIN), unit, BERLIN)
    assert exc.value.field == field


def test_half_open_intervals_touching_do_not_overlap():
    a = Interval(utc(2026, 3, 2, 8), utc(2026, 3, 2, 9))
    b = Interval(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))
    assert not a.overlaps(b) and not b.overlaps(a)
    assert a.overlaps(Interval(utc(2026, 3, 2, 8, 59), utc(2026, 3, 2, 9, 30)))


def test_hours_are_described_in_words_for_refusals():
    assert describe_hours(WEEKDAYS_8_TO_17, BERLIN) == (
        "Mon–Fri 08:00–12:00, 13:00–17:00 (Europe/Berlin)"
    )
    assert describe_hours([], BERLIN) == "closed every day (Europe/Berlin)"


def test_autumn_ambiguous_time_can_be_refused_or_read_as_either_occurrence():
    local = datetime(2026, 10, 25, 2, 30)
    with pytest.raises(AmbiguousTime) as exc:
        local_to_utc(local, BERLIN, field="end_at", fold=None)
    assert exc.value.field == "end_at"
    assert exc.value.choices == [(0, "02:30 CEST = 00:30 UTC"), (1, "02:30 CET = 01:30 UTC")]
    assert local_to_utc(local, BERLIN, fold=1) == utc(2026, 10, 25, 1, 30)
    # An ordinary time needs no choice, whatever fold is asked for.
    assert local_to_utc(datetime(2026, 10, 25, 4), BERLIN, fold=None) == utc(2026, 10, 25, 3)
    assert fold_choices(datetime(2026, 10, 25, 3), BERLIN) is None


def test_a_clock_change_inside_a_booking_is_put_in_words():
    first_two = local_to_utc(datetime(2026, 10, 25, 2), BERLIN, fold=0)
    three = local_to_utc(datetime(2026, 10, 25, 3), BERLIN)
    assert clock_change_note(first_two, three, BERLIN) == (
        "The clocks go back during this booking: 02:00 CEST to 03:00 CET is 2 hours.")
    assert clock_change_note(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2), BERLIN) == (
        "The clocks go forward during this booking: 01:00 CET to 04:00 CEST is 2 hours.")
    assert clock_change_note(utc(2026, 3, 2, 8), utc(2026, 3, 2, 10), BERLIN) == ""
