"""Dates and times read from input: one bounded parser for query strings, forms and services.

Python's dates reach from year 1 to 9999, but every step past them (a week's Monday, a
period's end, the conversion from lab time to UTC) overflows there and answered 500. LabNet
plans and reports within the years 2000..2100, so anything outside is refused on its field
before any arithmetic (DESIGN rule 5). Forms use the fields of
``labnet.blueprints.fields``; services check with :func:`in_range`, so the CLI and the API
are bound too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from labnet.i18n import _l

FIRST_YEAR, LAST_YEAR = 2000, 2100
RANGE_MESSAGE = _l("Enter a date between the years %(first)s and %(last)s.",
                   first=FIRST_YEAR, last=LAST_YEAR)
FORMAT_MESSAGE = _l("Give a date as YYYY-MM-DD.")


class DateOutOfRange(ValueError):
    """A well-formed date outside FIRST_YEAR..LAST_YEAR (``day``, for a caller whose own
    window is narrower and says so in its words)."""

    def __init__(self, day: date, message: Any = RANGE_MESSAGE):
        message = str(message)  # lazy texts are read now, in the reader's language
        super().__init__(message)
        self.day = day
        self.message = message


def in_range(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def check_day(day: date) -> date:
    """``day`` itself, or :class:`DateOutOfRange`."""
    if not in_range(day):
        raise DateOutOfRange(day)
    return day


def check_instant(at: datetime) -> datetime:
    """``at`` itself (aware or naive), or :class:`DateOutOfRange`."""
    check_day(at.date())
    return at


def parse_day(text: str | None, *, message: Any = FORMAT_MESSAGE) -> date:
    """A day typed as YYYY-MM-DD.

    :raises ValueError: ``message`` when it is not a date.
    :raises DateOutOfRange: when it is one outside the supported years.
    """
    raw = (text or "").strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(str(message)) from None
    return check_day(day)


def parse_local_datetime(text: str | None, formats: Iterable[str]) -> datetime | None:
    """A naive wall-clock time in one of ``formats``, or None when it is none of them or
    is outside the supported years (for prefilling a form from a link)."""
    raw = (text or "").strip()[:20]
    for fmt in formats:
        try:
            value = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        return value if in_range(value.date()) else None
    return None
