"""URL converters registered app-wide.

The default ``int`` converter accepts any number of digits; an id of 2**63 or more cannot
be bound by the database drivers (SQLite and PostgreSQL integers are signed 64-bit), and
the lookup failed with a 500 instead of a 404. Ids are positive, so the bounded converter
matches 1..2**63-1 only; anything else does not match the rule and is a 404.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**63 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` limited to 1..2**63-1; a rule's own bounds are kept inside that range."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        lower = 1 if min is None else min
        upper = MAX_ID if max is None or max > MAX_ID else max
        super().__init__(map, fixed_digits=fixed_digits, min=lower, max=upper, signed=signed)


def parse_id(value: str | None) -> int | None:
    """An id posted in a form or query string, or None when it is not one the database
    could hold (the same 1..2**63-1 as the path converter; the caller answers 404)."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
