"""URL converters registered app-wide.

The default ``int`` converter accepts any number of digits; an id of 2**63 or more cannot
be bound by SQLite's driver (signed 64-bit), and the lookup failed with a 500 instead of a
404. Every id column is an ``Integer``, which PostgreSQL stores in 32 bits ("integer out of
range" above 2**31-1), so no row can have a larger id on either database. Ids are positive:
the bounded converter matches 1..2**31-1 only; anything else does not match the rule and is
a 404 on both databases.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # the largest value of an Integer column on PostgreSQL


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` limited to 1..MAX_ID; a rule's own bounds are kept inside that range."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        lower = 1 if min is None else min
        upper = MAX_ID if max is None or max > MAX_ID else max
        super().__init__(map, fixed_digits=fixed_digits, min=lower, max=upper, signed=signed)


def parse_id(value: str | None) -> int | None:
    """An id posted in a form or query string, or None when it is not one the database
    could hold (the same 1..MAX_ID as the path converter; the caller answers 404)."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
