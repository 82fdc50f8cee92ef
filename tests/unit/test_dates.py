"""The one bounded parser for dates read from input (labnet/dates.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from labnet.dates import (
    RANGE_MESSAGE,
    DateOutOfRange,
    check_day,
    parse_day,
    parse_local_datetime,
)

FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"])
def test_parse_day_outside_the_years_raises_the_range_message(text):
    with pytest.raises(DateOutOfRange) as refused:
        parse_day(text)
    assert str(refused.value) == RANGE_MESSAGE
    assert refused.value.day == date.fromisoformat(text)


@pytest.mark.parametrize("text", ["2000-01-01", " 2026-03-02 ", "2100-12-31"])
def test_parse_day_inside_the_years_is_the_day(text):
    assert parse_day(text) == date.fromisoformat(text.strip())


@pytest.mark.parametrize("text", ["", None, "soon", "2026-02-30", "2026-03-02xyz", "１２"])
def test_parse_day_bad_text_is_a_value_error_with_the_callers_message(text):
    with pytest.raises(ValueError, match="like 2026-03-02") as refused:
        parse_day(text, message="Give it like 2026-03-02.")
    assert not isinstance(refused.value, DateOutOfRange)


def test_check_day_accepts_datetimes_too():
    assert check_day(datetime(2026, 3, 2, 9)) == datetime(2026, 3, 2, 9)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-04T09:00", datetime(2026, 3, 4, 9)),
    ("2026-03-04 09:00", datetime(2026, 3, 4, 9)),
    ("9999-12-31T09:00", None),
    ("0001-01-01T00:00", None),
    ("tomorrow", None),
    (None, None),
])
def test_parse_local_datetime_for_prefills(text, expected):
    assert parse_local_datetime(text, FORMATS) == expected
