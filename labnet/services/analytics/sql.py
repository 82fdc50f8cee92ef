"""Dialect-neutral SQL for the dashboard and its summary: UTC days, hours between two
instants or two times of day, month and ISO-week starts, and ``unindexed`` (a column SQLite's
planner must not use an index for), each compiled for SQLite and PostgreSQL; plus the date
helpers the others share. UTC days are the summary's unit whatever the server's zone
(DESIGN rule 3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    and_,
    or_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class utc_day(FunctionElement):  # noqa: N801 - reads as SQL
    """The UTC calendar day of a UTC instant."""

    type = Date()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day)
def _utc_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_pg(element, compiler, **kw):
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


class hours_between(FunctionElement):  # noqa: N801
    """Hours from the first instant to the second (a float)."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_sqlite(element, compiler, **kw):
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({b}) - julianday({a})) * 24.0)"


@compiles(hours_between, "postgresql")
def _hours_pg(element, compiler, **kw):
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({b} - {a})) / 3600.0)"


class time_hours(FunctionElement):  # noqa: N801
    """Hours from one time of day to a later one."""

    type = Float()
    inherit_cache = True
    name = "time_hours"


@compiles(time_hours)
def _time_hours_sqlite(element, compiler, **kw):
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday('2000-01-01 ' || {b}) - julianday('2000-01-01 ' || {a})) * 24.0)"


@compiles(time_hours, "postgresql")
def _time_hours_pg(element, compiler, **kw):
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({b} - {a})) / 3600.0)"


class month_start(FunctionElement):  # noqa: N801
    """The first day of the day's month."""

    type = Date()
    inherit_cache = True
    name = "month_start"


@compiles(month_start)
def _month_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_pg(element, compiler, **kw):
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


class week_start(FunctionElement):  # noqa: N801
    """The Monday of the day's ISO week."""

    type = Date()
    inherit_cache = True
    name = "week_start"


@compiles(week_start)
def _week_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


@compiles(week_start, "postgresql")
def _week_pg(element, compiler, **kw):
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


class unindexed(FunctionElement):  # noqa: N801
    """The column, in a form SQLite's planner will not use an index for (``+col``): where
    a join must start from the other side (a few labs' request pairs, not a year of
    requests through a covering index). PostgreSQL gets the column as it is."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, *clauses: Any) -> None:
        super().__init__(*clauses)
        self.type = self.clauses.clauses[0].type  # the column's own type


@compiles(unindexed)
def _unindexed_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(unindexed, "postgresql")
def _unindexed_pg(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


def _bucket(day: Any, unit: str) -> ColumnElement[Any]:
    return month_start(day) if unit == "month" else week_start(day)


def _as_date(value: Any) -> date:
    # SQLite hands computed dates back as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _months_and_days(model: Any, start: date, first: date, after: date, stop: date) -> Any:
    """Summary rows of [start, stop): month rows for the whole months [first, after), day
    rows for the days before and after them."""
    return or_(
        and_(model.grain == "month", model.day >= first, model.day < after),
        and_(model.grain == "day", or_(and_(model.day >= start, model.day < first),
                                       and_(model.day >= after, model.day < stop))))
