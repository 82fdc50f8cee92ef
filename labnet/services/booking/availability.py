"""Time in a lab's zone: opening hours as UTC intervals, booking units, free/busy.

Rules owned here (DESIGN rules 2 and 3): opening hours, the booking unit and daylight
saving are evaluated in the lab's IANA zone, day by day; instants are UTC. A local time
that does not exist (the spring-forward hour) is refused; an ambiguous one (the autumn
hour that happens twice) is refused on the booking form with both instants named until
the person chooses one (``local_to_utc(..., fold=None)``; other callers read the first,
``fold=0``), and a booking across a clock change is priced by its real length and says so
(``clock_change_note``). Units are counted
in wall-clock terms, so a day booking on a 23-hour DST day is still one day.

The functions at the top are pure (no database); ``week_view`` (the booking calendar)
read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_skeleton, format_time, get_day_names

from labnet.clock import zone_info
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _, current_language, locale_object, ngettext, number
from labnet.models import (
    ACTIVE_STATUSES,
    Blackout,
    Booking,
    Equipment,
    EquipmentMode,
    EquipmentStatus,
    Lab,
    OpeningHours,
)

UNIT_HOURS = {"hour": 1, "half_day": 4, "day": 24}
# Half days start at these local hours.
HALF_DAY_STARTS = (time(0), time(12))


@dataclass(frozen=True)
class Interval:
    """A half-open span of time [start, end)."""

    start: datetime  # UTC, aware
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        """Whether the two share an instant; touching ends do not overlap."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        """Whether ``other`` lies wholly inside this interval."""
        return self.start <= other.start and other.end <= self.end


class AmbiguousTime(RuleViolation):
    """A wall-clock time that happens twice (the autumn hour): the person must choose.

    ``choices`` are ``(fold, label)`` for the first and the second occurrence, each label
    naming the instant ("02:00 CEST = 00:00 UTC")."""

    def __init__(self, field: str, local: datetime, zone: str):
        self.choices = fold_choices(local, zone) or []
        first, second = (label for _fold, label in self.choices)
        super().__init__(field, _(
            "%(time)s happens twice in %(zone)s: the clocks go back that night. Choose the "
            "first (%(first)s) or the second (%(second)s).", time=_wall(local), zone=zone,
            first=first, second=second))


def fold_choices(local: datetime, zone: str) -> list[tuple[int, str]] | None:
    """``[(0, label), (1, label)]`` when the naive lab-local ``local`` happens twice in
    ``zone`` (the autumn change), each label naming its offset and UTC instant; else None."""
    tz = zone_info(zone)
    first = local.replace(tzinfo=tz, fold=0)
    second = local.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    return [(fold, f"{at:%H:%M} {at.tzname()} = {at.astimezone(UTC):%H:%M} UTC")
            for fold, at in ((0, first), (1, second))]


def local_to_utc(local: datetime, zone: str, *, field: str = "start_at",
                 fold: int | None = 0) -> datetime:
    """A naive lab-local wall-clock time as a UTC instant.

    An ambiguous time (the autumn hour that happens twice) is read as occurrence ``fold``
    (0 the first, 1 the second); with ``fold=None`` it is refused with both instants named
    (:class:`AmbiguousTime`), so a person is never booked into an hour they did not choose.

    :raises RuleViolation: when the time does not exist in ``zone`` (skipped by a
        daylight-saving change), or is ambiguous and ``fold`` is None.
    """
    tz = zone_info(zone)
    aware = local.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != local.replace(tzinfo=None, fold=0):
        raise RuleViolation(field, _(
            "%(time)s does not exist in %(zone)s: the clocks jump forward that night. Choose "
            "another time.", time=_wall(local), zone=zone))
    if fold is None:
        if fold_choices(local, zone):
            raise AmbiguousTime(field, local, zone)
        fold = 0
    return local.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def fold_at(at: datetime, local: datetime, zone: str) -> int | None:
    """Which occurrence (0 or 1) the instant ``at`` is of the naive wall-clock ``local``
    when that time happens twice in ``zone``; None when it happens once."""
    return utc_to_local(at, zone).fold if fold_choices(local, zone) else None


def clock_change_note(start: datetime, end: datetime, zone: str) -> str:
    """Words for a booking [start, end) during which the lab's clocks change ("" when they
    do not): its real length differs from what the wall clock suggests."""
    ls, le = utc_to_local(start, zone), utc_to_local(end, zone)
    if ls.utcoffset() == le.utcoffset():
        return ""
    hours = (end - start).total_seconds() / 3600
    values = {"start": f"{ls:%H:%M} {ls.tzname()}", "end": f"{le:%H:%M} {le.tzname()}",
              "hours": number(hours)}
    if (le.utcoffset() or timedelta()) < (ls.utcoffset() or timedelta()):
        return _("The clocks go back during this booking: %(start)s to %(end)s is %(hours)s "
                 "hours.", **values)
    return _("The clocks go forward during this booking: %(start)s to %(end)s is %(hours)s "
             "hours.", **values)


def utc_to_local(at: datetime, zone: str) -> datetime:
    """The instant ``at`` as an aware wall-clock time in ``zone``."""
    return at.astimezone(zone_info(zone))


def open_intervals(
    hours: Iterable[tuple[int, time, time]], zone: str, first: date, last: date
) -> list[Interval]:
    """Opening hours ``(weekday, opens, closes)`` as UTC intervals for each local day from
    ``first`` to ``last`` inclusive, merged where they touch.

    Each day is converted on its own date, so the offset is that day's offset (the bug of
    computing the offset for *now* is RELIABILITY §1.3's cal.com PR #28519).
    """
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in hours:
        by_day.setdefault(weekday, []).append((opens, closes))
    tz = zone_info(zone)
    out: list[Interval] = []
    day = first
    while day <= last:
        for opens, closes in sorted(by_day.get(day.weekday(), [])):
            start = datetime.combine(day, opens, tzinfo=tz).astimezone(UTC)
            end = datetime.combine(day, closes, tzinfo=tz).astimezone(UTC)
            if end <= start:
                continue  # an interval swallowed by the spring-forward gap
            if out and out[-1].end >= start:
                out[-1] = Interval(out[-1].start, max(out[-1].end, end))
            else:
                out.append(Interval(start, end))
        day += timedelta(days=1)
    return out


def opening_time(hours: Iterable[tuple[int, time, time]], day: date) -> time | None:
    """The first opening time of ``day``'s weekday in hours ``(weekday, opens, closes)``,
    or None when the lab is closed that weekday."""
    return min((opens for weekday, opens, _closes in hours if weekday == day.weekday()),
               default=None)


def is_open_day(hours: Iterable[tuple[int, time, time]], day: date) -> bool:
    """Whether opening hours ``(weekday, opens, closes)`` have any interval on ``day``'s
    weekday."""
    return any(weekday == day.weekday() for weekday, _o, _c in hours)


def count_units(start: datetime, end: datetime, unit: str, zone: str) -> int:
    """How many booking units [start, end) spans, checking it is aligned to the unit.

    Hours: whole local hours. Half days: local 00:00–12:00 and 12:00–24:00 blocks. Days:
    whole local days (midnight to midnight), counted by calendar, not by elapsed hours.

    :raises RuleViolation: ``start_at``/``end_at`` when not aligned to the unit.
    """
    ls, le = utc_to_local(start, zone), utc_to_local(end, zone)
    if unit == "hour":
        for field, t in (("start_at", ls), ("end_at", le)):
            if t.minute or t.second or t.microsecond:
                raise RuleViolation(field, _("Bookings of this equipment start and end on the "
                                             "hour (it is booked by the hour)."))
        # Elapsed hours in UTC: a booking across the autumn change really lasts longer.
        return int((end - start).total_seconds() // 3600)
    if unit == "half_day":
        for field, t in (("start_at", ls), ("end_at", le)):
            if t.timetz().replace(tzinfo=None) not in HALF_DAY_STARTS:
                raise RuleViolation(field, _("This equipment is booked by the half day: start "
                                             "and end at 00:00 or 12:00 (lab time)."))
        days = (le.date() - ls.date()).days
        return days * 2 + (1 if le.hour == 12 else 0) - (1 if ls.hour == 12 else 0)
    if unit == "day":
        for field, t in (("start_at", ls), ("end_at", le)):
            if t.timetz().replace(tzinfo=None) != time(0):
                raise RuleViolation(field, _("This equipment is booked by the day: from "
                                             "midnight to midnight (lab time)."))
        return (le.date() - ls.date()).days
    raise RuleViolation("unit", _("Unknown booking unit %(unit)r.", unit=unit))


def within_opening_hours(
    start: datetime, end: datetime, unit: str, hours: Sequence[tuple[int, time, time]],
    zone: str,
) -> bool:
    """Whether [start, end) respects the opening hours.

    Hourly bookings must lie inside one open interval (no running through a lunch break
    or the night). Half-day and day bookings must fall on open days only: the machine
    runs unattended overnight, but nobody starts or collects on a closed day.
    """
    ls, le = utc_to_local(start, zone), utc_to_local(end - timedelta(microseconds=1), zone)
    if unit == "hour":
        intervals = open_intervals(hours, zone, ls.date(), le.date())
        booking = Interval(start, end)
        return any(i.contains(booking) for i in intervals)
    day = ls.date()
    while day <= le.date():
        if not is_open_day(hours, day):
            return False
        day += timedelta(days=1)
    return True


def describe_hours(hours: Sequence[tuple[int, time, time]], zone: str) -> str:
    """Opening hours in words for refusal messages: 'Mon–Fri 08:00–12:00, 13:00–17:00'."""
    names = _day_names()
    per_day: dict[int, str] = {}
    for weekday, opens, closes in sorted(hours):
        text = f"{opens:%H:%M}–{closes:%H:%M}"
        per_day[weekday] = f"{per_day[weekday]}, {text}" if weekday in per_day else text
    groups: list[tuple[int, int, str]] = []
    for weekday in sorted(per_day):
        if groups and groups[-1][1] == weekday - 1 and groups[-1][2] == per_day[weekday]:
            groups[-1] = (groups[-1][0], weekday, per_day[weekday])
        else:
            groups.append((weekday, weekday, per_day[weekday]))
    parts = [
        (names[a] if a == b else f"{names[a]}–{names[b]}") + f" {text}" for a, b, text in groups
    ]
    return "; ".join(parts) + f" ({zone})" if parts else _("closed every day (%(zone)s)",
                                                                zone=zone)


def _day_names() -> tuple[str, ...]:
    """Monday to Sunday, abbreviated, in the current language ("Mon" … "Sun" in English)."""
    if current_language() == "en":
        return ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    names = get_day_names("abbreviated", locale=locale_object())
    return tuple(str(names[i]) for i in range(7))


def _day_and_time(day: date, at: time | None) -> str:
    """A free window's start in the current language, weekday and month by name ("Di., 3.
    März, 09:00"; English writes its own, see ``FreeWindow.label``)."""
    locale = locale_object()
    text = str(format_skeleton("MMMEd", day, locale=locale))
    if at is None:
        return text
    return str(locale.datetime_formats["medium"]).format(
        str(format_time(at, "short", locale=locale)), text)


def _wall(local: datetime) -> str:
    """A naive lab wall-clock time in the current language's format (ISO order in
    English)."""
    if current_language() == "en":
        return f"{local:%Y-%m-%d %H:%M}"
    locale = locale_object()
    return str(locale.datetime_formats["medium"]).format(
        format_time(local.time(), "short", locale=locale),
        format_date(local.date(), "medium", locale=locale))


# Week view (the booking calendar) -----------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One bookable unit of a day: ``state`` is open, busy, closed or blackout; ``bookable``
    says whether an open slot also lies within the lead time and the advance window."""

    start: datetime  # UTC
    end: datetime
    local_start: datetime  # naive, lab wall clock
    local_end: datetime
    state: str
    bookable: bool


@dataclass(frozen=True)
class DayView:
    """One local day of the booking calendar and its slots."""

    day: date
    is_open: bool
    slots: list[Slot]


@dataclass(frozen=True)
class WeekView:
    """The booking calendar of one piece of equipment for a Monday-to-Sunday week in the
    lab's zone."""

    equipment_id: int
    zone: str
    unit: str
    week_start: date  # a Monday, in the lab's calendar
    days: list[DayView]

    @property
    def prev_week(self) -> date:
        """The Monday before (the calendar's "previous" link)."""
        return self.week_start - timedelta(days=7)

    @property
    def next_week(self) -> date:
        """The Monday after (the calendar's "next" link)."""
        return self.week_start + timedelta(days=7)


def _local_instant(day: date, hour: int, zone: str) -> datetime | None:
    """UTC instant of ``day`` at ``hour``:00 lab time (24 means the next midnight), or
    ``None`` when that wall-clock time is skipped by a daylight-saving change."""
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    try:
        return local_to_utc(datetime.combine(day, time(hour)), zone)
    except RuleViolation:
        return None


def _day_instants(day: date, zone: str) -> list[datetime | None]:
    """``_local_instant(day, h, zone)`` for h = 0…24 in one go: on the days without a
    daylight-saving change (all but two a year) local hour h is simply midnight + h."""
    midnight, next_midnight = _local_instant(day, 0, zone), _local_instant(day, 24, zone)
    if midnight is not None and next_midnight is not None \
            and next_midnight - midnight == timedelta(hours=24):
        return [midnight + timedelta(hours=h) for h in range(25)]
    return [_local_instant(day, h, zone) for h in range(25)]


def _unit_blocks(unit: str, hours: Sequence[tuple[int, time, time]]) -> list[tuple[int, int]]:
    """The local (start hour, end hour) rows of the grid for a unit: for hours, every whole
    hour that some day of the week is open; half days and days are fixed blocks."""
    if unit == "half_day":
        return [(0, 12), (12, 24)]
    if unit == "day":
        return [(0, 24)]
    first = min((o.hour + (1 if o.minute else 0) for _w, o, _c in hours), default=0)
    last = max((c.hour for _w, _o, c in hours), default=0)
    if any(c == time(23, 59) for _w, _o, c in hours):
        last = 24  # "open until midnight" is stored as 23:59
    return [(h, h + 1) for h in range(first, last)]


def week_view(equipment, week_start: date, *, now: datetime) -> WeekView:
    """The equipment's week (Monday to Sunday, lab calendar) slot by slot in its booking
    unit, for the public calendar: DESIGN rules 2 and 3 as the booking service applies them
    (opening hours per local day, blackouts of the lab or the equipment, active bookings
    with their set-up buffer, the lead time and the advance window). Bookings appear only
    as "busy": nothing about who booked.

    Reads ``equipment.lab`` (loaded by the caller) and runs three queries.
    """
    from sqlalchemy import or_, select


    lab = equipment.lab
    zone = lab.timezone
    monday = week_start - timedelta(days=week_start.weekday())
    hours = [
        (h.weekday, h.opens_at, h.closes_at)
        for h in db.session.scalars(select(OpeningHours).where(OpeningHours.lab_id == lab.id))
    ]
    # The week's edges are local midnights; each converted on its own date (DST weeks).
    week_from = datetime.combine(monday, time(0), tzinfo=zone_info(zone)).astimezone(UTC)
    week_to = datetime.combine(monday + timedelta(days=7), time(0),
                               tzinfo=zone_info(zone)).astimezone(UTC)
    buffer = timedelta(minutes=equipment.buffer_minutes)
    blackouts = [
        Interval(_aware(b.start_at), _aware(b.end_at))
        for b in db.session.scalars(select(Blackout).where(
            Blackout.lab_id == lab.id,
            or_(Blackout.equipment_id.is_(None), Blackout.equipment_id == equipment.id),
            Blackout.start_at < week_to, Blackout.end_at > week_from,
        ))
    ]
    # A new booking [s, e) conflicts with an existing one when the existing blocked period
    # overlaps [s - buffer, e): the same test as the booking service's.
    busy = [
        Interval(_aware(start), _aware(end))
        for start, end in db.session.execute(select(Booking.blocked_start, Booking.end_at).where(
            Booking.equipment_id == equipment.id,
            Booking.status.in_([s.value for s in ACTIVE_STATUSES]),
            Booking.blocked_start < week_to + buffer, Booking.end_at > week_from - buffer,
        ))
    ]
    earliest = now + timedelta(hours=lab.min_lead_hours)
    latest = now + timedelta(days=lab.max_advance_days)
    blocks = _unit_blocks(equipment.booking_unit, hours)
    days: list[DayView] = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        opened = open_intervals(hours, zone, day, day)
        instants = _day_instants(day, zone)
        slots: list[Slot] = []
        for a, b in blocks:
            start, end = instants[a], instants[b]
            if start is None:
                continue  # a wall-clock hour that does not exist that night
            local_end = (datetime.combine(day + timedelta(days=1), time(0)) if b == 24
                         else datetime.combine(day, time(b)))
            if end is None:  # the hour before the spring-forward gap ends at 03:00
                end = start + timedelta(hours=b - a)
                local_end = utc_to_local(end, zone).replace(tzinfo=None)
            slot = Interval(start, end)
            if equipment.booking_unit == "hour":
                is_open = any(i.contains(slot) for i in opened)
            else:
                is_open = is_open_day(hours, day)
            if not is_open:
                state = "closed"
            elif any(slot.overlaps(x) for x in blackouts):
                state = "blackout"
            elif any(Interval(start - buffer, end).overlaps(x) for x in busy):
                state = "busy"
            else:
                state = "open"
            slots.append(Slot(start=start, end=end, local_start=datetime.combine(day, time(a)),
                              local_end=local_end, state=state,
                              bookable=state == "open" and earliest <= start <= latest))
        days.append(DayView(day=day, is_open=is_open_day(hours, day), slots=slots))
    return WeekView(equipment_id=equipment.id, zone=zone, unit=equipment.booking_unit,
                    week_start=monday, days=days)


def _instant(at: datetime | str) -> datetime:
    if isinstance(at, str):  # SQLite's stored text, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        return datetime.fromisoformat(at).replace(tzinfo=UTC)
    return _aware(at)


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored instant is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# Free windows (the catalogue's "free for D hours between two dates") -----------------------
#
# The same rules as the booking service and the week view, for many pieces of equipment at
# once: a window counts only when a booking could really be placed in it (opening hours per
# local day, blackouts of the lab or the equipment, active bookings with the set-up buffer,
# the lead time, the advance window, the minimum and maximum length, the unit's alignment),
# and each window found is checked once more with the booking service's own
# ``count_units`` and ``within_opening_hours``.

MAX_SPAN_DAYS = 31
# Bounds of the rows worth loading: spans are local days, and zones lie within UTC−12 to
# UTC+14; a set-up buffer is at most a day (services.catalogue.labs.MAX_BUFFER_MINUTES).
_EARLIEST_OFFSET = timedelta(hours=14)  # a local midnight is at most 14 h before UTC's
_LATEST_OFFSET = timedelta(hours=12)  # … and at most 12 h after it
_MAX_BUFFER = timedelta(days=1)
# Above this many candidate pieces of equipment, their bookings are read by time alone
# (one index range over the active bookings of the span) and sorted out in Python; below
# it, by equipment id (one index seek each).
_BY_ID_LIMIT = 1000
_NOMINAL_HOURS = {"hour": 1, "half_day": 12, "day": 24}


@dataclass(frozen=True)
class FreeWindow:
    """The first time a piece of equipment is free for the wanted length: a booking of
    ``units`` units could start at ``start`` and end at ``booking_end``; the equipment stays
    free until ``end`` (its closing time, a booking with its set-up, a blackout or the end
    of the span searched)."""

    equipment_id: int
    lab_id: int
    name: str
    zone: str
    unit: str
    units: int
    start: datetime  # UTC
    booking_end: datetime
    end: datetime

    @property
    def local_start(self) -> datetime:
        """``start`` on the lab's wall clock, naive."""
        return utc_to_local(self.start, self.zone).replace(tzinfo=None)

    @property
    def hours(self) -> float:
        """How long the equipment stays free from ``start``, in hours."""
        return (self.end - self.start).total_seconds() / 3600

    # The lab's first opening time on the start's day (day and half-day equipment).
    opens: time | None = None

    @property
    def label(self) -> str:
        """'Tue 3 Mar 09:00, 6 h' (lab time) for hourly equipment. Day and half-day
        equipment is free in days, from the lab's opening time on the first day, never
        "00:00, 120 h": 'Mon 2 Mar 07:30, 5 days'."""
        at = self.local_start
        english = current_language() == "en"
        if self.unit == "hour":
            if english:
                return f"{at:%a} {at.day} {at:%b %H:%M}, {round(self.hours, 1):g} h"
            return f"{_day_and_time(at.date(), at.time())}, {number(round(self.hours, 1))} h"
        local_end = utc_to_local(self.end, self.zone).replace(tzinfo=None)
        # Wall-clock days, so a 23- or 25-hour clock-change day is still one day.
        days = round((local_end - at).total_seconds() / 86400 * 2) / 2
        starts = max(self.opens, at.time()) if self.opens is not None else at.time()
        if english:
            when = f"{at:%a} {at.day} {at:%b}" + (f" {starts:%H:%M}" if starts != time(0) else "")
            return f"{when}, {days:g} day{'' if days == 1 else 's'}"
        # A half day takes the plural form that a count of five takes ("1,5 Tage").
        count = ngettext("%(days)s day", "%(days)s days",
                         int(days) if days.is_integer() else 5, days=number(days))
        when = _day_and_time(at.date(), starts if starts != time(0) else None)
        return f"{when}, {count}"


def units_needed(hours: float, unit: str, min_units: int, max_units: int) -> int | None:
    """The fewest units of ``unit`` that give at least ``hours`` hours and respect the
    minimum length; ``None`` when that is more than the maximum (no single booking could
    cover the time)."""
    n = max(min_units, math.ceil(hours / _NOMINAL_HOURS[unit] - 1e-9))
    return n if n <= max_units else None


def span_bounds(first: date, last: date, zone: str) -> Interval:
    """[first 00:00, the day after last 00:00) in ``zone``, as UTC."""
    tz = zone_info(zone)
    return Interval(datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
                    datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC))


def _open_days(hours: Sequence[tuple[int, time, time]], zone: str, first: date,
               last: date) -> list[Interval]:
    # Half-day and day bookings may run overnight but touch open days only.
    out: list[Interval] = []
    day = first
    while day <= last:
        if is_open_day(hours, day):
            whole = span_bounds(day, day, zone)
            if out and out[-1].end == whole.start:
                out[-1] = Interval(out[-1].start, whole.end)
            else:
                out.append(whole)
        day += timedelta(days=1)
    return out


def _subtract(allowed: list[Interval], blocked: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for iv in allowed:
        pieces = [iv]
        for x in blocked:
            if x.end <= iv.start or x.start >= iv.end:
                continue
            rest: list[Interval] = []
            for p in pieces:
                if not p.overlaps(x):
                    rest.append(p)
                    continue
                if p.start < x.start:
                    rest.append(Interval(p.start, x.start))
                if x.end < p.end:
                    rest.append(Interval(x.end, p.end))
            pieces = rest
        out.extend(pieces)
    return out


def _align_up(at: datetime, unit: str, zone: str) -> datetime | None:
    """The first instant at or after ``at`` where a booking in ``unit`` may start."""
    local = utc_to_local(at, zone)
    if unit == "hour":
        past = timedelta(minutes=local.minute, seconds=local.second,
                         microseconds=local.microsecond)
        return at if not past else at + timedelta(hours=1) - past
    starts = (0, 12) if unit == "half_day" else (0,)
    for offset in range(3):
        for hour in starts:
            instant = _local_instant(local.date() + timedelta(days=offset), hour, zone)
            if instant is not None and instant >= at:
                return instant
    return None


def _booking_end(start: datetime, unit: str, units: int, zone: str) -> datetime | None:
    if unit == "hour":
        return start + timedelta(hours=units)  # elapsed hours, as count_units counts them
    local = utc_to_local(start, zone)
    total = local.hour + units * (12 if unit == "half_day" else 24)
    return _local_instant(local.date() + timedelta(days=total // 24), total % 24, zone)


def first_free(
    hours: Sequence[tuple[int, time, time]], zone: str, first: date, last: date, *,
    unit: str, units: int, blocked: Sequence[Interval], earliest: datetime, latest: datetime,
    allowed: list[Interval] | None = None,
) -> tuple[datetime, datetime, datetime] | None:
    """The first booking of ``units`` units that could be placed between the local days
    ``first`` and ``last`` (inclusive) — ``(start, booking end, end of the free time)`` — or
    ``None``. Pure: ``hours`` are the lab's opening hours, ``blocked`` the UTC intervals no
    booking may overlap (blackouts, and active bookings from their blocked start to their
    end plus this equipment's buffer), ``earliest``/``latest`` the lead time and the
    advance window as instants; ``allowed`` the open intervals (hourly) or open days
    (otherwise) of the span when the caller has them already."""
    if allowed is None:
        allowed = (open_intervals(hours, zone, first, last) if unit == "hour"
                   else _open_days(hours, zone, first, last))
    for run in _subtract(allowed, sorted(blocked, key=lambda x: x.start)):
        start = _align_up(max(run.start, earliest), unit, zone)
        # The first aligned start of a run leaves the most room; later ones are tried only
        # if the service's own checks below refuse it (a zone with odd offsets).
        while start is not None and start <= latest:
            end = _booking_end(start, unit, units, zone)
            if end is None or end > run.end:
                break
            try:
                fits = count_units(start, end, unit, zone) == units
            except RuleViolation:
                fits = False
            if fits and within_opening_hours(start, end, unit, hours, zone):
                return start, end, run.end
            start = _align_up(start + timedelta(minutes=1), unit, zone)
    return None


@lru_cache(maxsize=4096)
def allowed_times(hours: tuple[tuple[int, time, time], ...], zone: str, hourly: bool,
                  first: date, last: date) -> tuple[Interval, ...]:
    """The open intervals (hourly) or open days (otherwise) of the local days [first,
    last], as :func:`first_free` reads them: pure, so kept across requests (the same
    span is searched again and again; each entry is a few intervals)."""
    return tuple(open_intervals(hours, zone, first, last) if hourly
                 else _open_days(hours, zone, first, last))


@lru_cache(maxsize=8192)
def _first_free_memo(hours: tuple[tuple[int, time, time], ...], zone: str, first: date,
                     last: date, unit: str, units: int, blocked: tuple[Interval, ...],
                     earliest: datetime, latest: datetime
                     ) -> tuple[datetime, datetime, datetime] | None:
    """:func:`first_free` of exactly these arguments (a pure function), remembered. The
    caller clamps ``earliest`` and ``latest`` to the span's bounds (every run lies inside
    them, so the answer is the same), which makes one lab policy's answer the same for
    every request that searches that span."""
    return first_free(hours, zone, first, last, unit=unit, units=units, blocked=blocked,
                      earliest=earliest, latest=latest,
                      allowed=list(allowed_times(hours, zone, unit == "hour", first, last)))


def _parse_hours(text: str | None) -> tuple[tuple[int, time, time], ...]:
    rows = []
    for part in (text or "").split(","):
        if part.strip():
            weekday, opens, closes = part.strip().split("@")
            rows.append((int(weekday), time.fromisoformat(opens), time.fromisoformat(closes)))
    return tuple(sorted(rows))


class FreeEquipment:
    """Which labs have equipment free for the wanted time (:attr:`lab_ids`), and, for the
    labs a page shows, which equipment and from when (:meth:`windows`). Built by
    :func:`free_equipment` from data loaded once.

    Equipment is read in groups of one lab, unit and length limits (with their count): a
    group holds a free piece of equipment when the lab's shared answer exists and some of
    its members have no booking or blackout of their own in the span; members that do are
    checked one by one. So a large catalogue is decided without a row per equipment."""

    def __init__(self, first: date, last: date, hours: float,
                 labs: dict[int, tuple[Any, ...]],
                 groups: dict[int, list[tuple[str, int, int, int]]],
                 own_items: dict[int, dict[int, tuple[Any, ...]]],
                 busy: dict[int, list[tuple[datetime, datetime]]],
                 equipment_dark: dict[int, list[Interval]],
                 considered: Sequence[int]) -> None:
        self.first, self.last, self.hours = first, last, hours
        self._labs = labs  # lab id -> (policy id, zone, hours, earliest, latest, blackouts)
        self._busy = busy
        self._dark = equipment_dark
        self._shared: dict[tuple[int, str, int], tuple[datetime, datetime, datetime] | None] = {}
        self._bounds: dict[str, Interval] = {}
        self.lab_ids: set[int] = set()
        # The labs considered, in the order the caller's statement gave them.
        self.considered = list(considered)
        for lab_id, lab_groups in groups.items():
            if lab_id not in labs:
                continue
            own = own_items.get(lab_id, {})
            for unit, min_units, max_units, count in lab_groups:
                units = units_needed(hours, unit, min_units, max_units)
                if units is None or self._shared_answer(lab_id, unit, units) is None:
                    continue
                members = [item for item in own.values()
                           if item[1:4] == (unit, min_units, max_units)]
                if count > len(members) or any(
                        self._answer(lab_id, item) is not None for item in members):
                    self.lab_ids.add(lab_id)
                    break

    def not_free_ids(self) -> list[int]:
        """The labs considered that have no equipment free as asked, by id."""
        return sorted(set(self._labs) - self.lab_ids)

    def _first_free(self, lab_id: int, unit: str, units: int,
                    blocked: Sequence[Interval]) -> tuple[datetime, datetime, datetime] | None:
        _policy, zone, hours, earliest, latest, _dark = self._labs[lab_id]
        bounds = self._bounds.get(zone)
        if bounds is None:
            bounds = self._bounds[zone] = span_bounds(self.first, self.last, zone)
        # Every open run lies inside the span: a lead time ending before it or an advance
        # window ending after it changes nothing, so they are clamped to it (the same
        # answer, shared by every request for the span: :func:`_first_free_memo`).
        return _first_free_memo(hours, zone, self.first, self.last, unit, units,
                                tuple(blocked), max(earliest, bounds.start),
                                min(latest, bounds.end))

    def _shared_answer(self, lab_id: int, unit: str, units: int
                       ) -> tuple[datetime, datetime, datetime] | None:
        policy, *_rest, lab_dark = self._labs[lab_id]
        key = (policy, unit, units)
        if key not in self._shared:
            self._shared[key] = self._first_free(lab_id, unit, units, lab_dark)
        return self._shared[key]

    def _answer(self, lab_id: int, item: tuple[Any, ...]
                ) -> tuple[int, tuple[datetime, datetime, datetime]] | None:
        """(units, (start, booking end, free until)) for one piece of equipment
        ``(id, unit, min units, max units, buffer minutes)``, or None."""
        equipment_id, unit, min_units, max_units, buffer_minutes = item
        units = units_needed(self.hours, unit, min_units, max_units)
        if units is None:
            return None
        answer = self._shared_answer(lab_id, unit, units)
        if answer is None:
            return None
        busy, dark = self._busy.get(equipment_id), self._dark.get(equipment_id)
        if not busy and not dark:
            return units, answer
        buffer = timedelta(minutes=buffer_minutes)
        own = [Interval(s, e + buffer) for s, e in busy or ()] + list(dark or ())
        start, booking_end, end = answer
        if any(x.start < booking_end and start < x.end for x in own):
            found = self._first_free(lab_id, unit, units, [*self._labs[lab_id][5], *own])
            return None if found is None else (units, found)
        # Nothing of its own overlaps the shared answer: the same start, free until the
        # first of its own intervals that begins before the shared end.
        end = min([end, *(x.start for x in own if start < x.end and x.start < end)])
        return units, (start, booking_end, end)

    def windows(self, lab_ids: Iterable[int]) -> dict[int, list[FreeWindow]]:
        """``{lab id: [FreeWindow, …]}`` (first free first) for those of ``lab_ids`` that
        have free equipment: every free piece of equipment of each. One query."""
        from sqlalchemy import select


        wanted = sorted(set(lab_ids) & self.lab_ids)
        if not wanted:
            return {}
        # Core execution on the session's connection: plain rows (as free_equipment).
        rows = db.session.connection().execute(
            select(Equipment.lab_id, Equipment.id, Equipment.booking_unit, Equipment.min_units,
                   Equipment.max_units, Equipment.buffer_minutes, Equipment.name)
            .where(Equipment.lab_id.in_(wanted), *_bookable_equipment())
        ).tuples().all()
        out: dict[int, list[FreeWindow]] = {}
        for lab_id, equipment_id, unit, min_units, max_units, buffer_minutes, name in rows:
            answer = self._answer(
                lab_id, (equipment_id, unit, min_units, max_units, buffer_minutes))
            if answer is None:
                continue
            units, (start, booking_end, end) = answer
            zone, hours = self._labs[lab_id][1], self._labs[lab_id][2]
            out.setdefault(lab_id, []).append(FreeWindow(
                equipment_id=equipment_id, lab_id=lab_id, name=name, zone=zone,
                unit=unit, units=units, start=start, booking_end=booking_end, end=end,
                opens=None if unit == "hour" else opening_time(hours, utc_to_local(
                    start, zone).date())))
        for windows in out.values():
            windows.sort(key=lambda w: (w.start, w.name, w.equipment_id))
        return out


def _bookable_equipment() -> tuple[Any, ...]:
    return (Equipment.status == EquipmentStatus.ACTIVE,
            Equipment.mode != EquipmentMode.REQUEST_ONLY)


def free_equipment(labs: Any, first: date, last: date, hours: float, *,
                   now: datetime, ordered: bool = False) -> FreeEquipment:
    """For the labs ``labs`` selects (an unordered ``Select`` over ``Lab``, e.g. the
    catalogue's filters): their active, bookable (not request-only) equipment free for a
    booking of at least ``hours`` hours between the local days ``first`` and ``last`` of
    each lab's zone, by :func:`first_free`.

    Five queries whatever the number of labs and equipment (labs with their opening hours;
    equipment counted by lab, unit and length limits; the span's active bookings; its
    blackouts; the equipment those belong to), plus one in :meth:`FreeEquipment.windows`. The answer
    of :func:`first_free` is computed once per lab policy (zone, hours, lead time, advance
    window, lab blackouts), unit and length, and shared by every piece of equipment with
    nothing of its own in the way.

    ``ordered``: ``labs`` is a page (ordered, limited) whose order and limit are kept;
    :attr:`FreeEquipment.considered` then lists its labs in that order (the catalogue's
    page of candidates read in the same query as their zones and hours).
    """
    from sqlalchemy import String, bindparam, cast, func, select, type_coerce


    def ids_in(column: Any, ids: list[int], name: str) -> Any:
        # Literal integers, as the catalogue's "near" filter: no bound-parameter limit.
        return column.in_(bindparam(name, ids, expanding=True, literal_execute=True))

    packed = (
        select(func.aggregate_strings(
            cast(OpeningHours.weekday, String) + "@" + cast(OpeningHours.opens_at, String)
            + "@" + cast(OpeningHours.closes_at, String), ","))
        .where(OpeningHours.lab_id == Lab.id)
        .scalar_subquery()
    )
    # Core execution on the session's connection: plain rows, without the ORM's per-row
    # loading (a third of the time on a large catalogue).
    conn = db.session.connection()
    stmt = labs.with_only_columns(
        Lab.id, Lab.timezone, Lab.min_lead_hours, Lab.max_advance_days, packed)
    lab_rows = conn.execute(stmt if ordered else stmt.order_by(None)).tuples().all()
    lab_ids = sorted(r[0] for r in lab_rows)
    groups: dict[int, list[tuple[str, int, int, int]]] = {}
    own_items: dict[int, dict[int, tuple[Any, ...]]] = {}
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    lab_dark: dict[int, list[Interval]] = {}
    equipment_dark: dict[int, list[Interval]] = {}
    if lab_ids:
        few = len(lab_ids) <= _BY_ID_LIMIT
        for lab_id, unit, min_units, max_units, count in conn.execute(
            select(Equipment.lab_id, Equipment.booking_unit, Equipment.min_units,
                   Equipment.max_units, func.count())
            .where(ids_in(Equipment.lab_id, lab_ids, "free_lab_ids"), *_bookable_equipment())
            .group_by(Equipment.lab_id, Equipment.booking_unit, Equipment.min_units,
                      Equipment.max_units)
        ).all():
            groups.setdefault(lab_id, []).append((unit, min_units, max_units, count))
        lo = datetime.combine(first, time(0), tzinfo=UTC) - _EARLIEST_OFFSET
        hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC) + _LATEST_OFFSET
        # A booking blocks [blocked_start, end + its equipment's buffer); the buffer is at
        # most a day, so a booking ending a day before the span cannot reach into it.
        # SQLite's instants come as text, read here with fromisoformat (the column type's
        # processing costs more than the rest of this function on a large catalogue).
        raw = db.session.get_bind().dialect.name == "sqlite"
        instant = (lambda column: type_coerce(column, String)) if raw else (lambda c: c)
        # Bookings and blackouts on their own indexes (by time, or by lab for few labs),
        # then the equipment they belong to by primary key: a join would let the planner
        # walk all equipment first.
        booked = (
            select(Booking.equipment_id, instant(Booking.blocked_start),
                   instant(Booking.end_at))
            .where(Booking.status.in_([s.value for s in ACTIVE_STATUSES]),
                   Booking.blocked_start < hi, Booking.start_at < hi + _MAX_BUFFER,
                   Booking.end_at > lo - _MAX_BUFFER)
        )
        dark = (select(Blackout.lab_id, Blackout.equipment_id, Blackout.start_at,
                       Blackout.end_at)
                .where(Blackout.start_at < hi, Blackout.end_at > lo))
        if few:
            booked = booked.where(ids_in(Booking.lab_id, lab_ids, "free_booked_lab_ids"))
            dark = dark.where(ids_in(Blackout.lab_id, lab_ids, "free_blackout_lab_ids"))
        for equipment_id, start, end in conn.execute(booked).all():
            busy.setdefault(equipment_id, []).append((_instant(start), _instant(end)))
        for lab_id, equipment_id, start, end in conn.execute(dark).all():
            if equipment_id is None:
                lab_dark.setdefault(lab_id, []).append(Interval(_aware(start), _aware(end)))
            else:
                equipment_dark.setdefault(equipment_id, []).append(
                    Interval(_aware(start), _aware(end)))
        own_ids = sorted(set(busy) | set(equipment_dark))
        for lab_id, *item in conn.execute(
            select(Equipment.lab_id, Equipment.id, Equipment.booking_unit, Equipment.min_units,
                   Equipment.max_units, Equipment.buffer_minutes)
            .where(ids_in(Equipment.id, own_ids, "free_own_ids"), *_bookable_equipment())
        ).all():
            own_items.setdefault(lab_id, {})[item[0]] = tuple(item)

    parsed: dict[str | None, tuple[tuple[int, time, time], ...]] = {}
    policy_ids: dict[tuple[Any, ...], int] = {}
    policies: dict[int, tuple[Any, ...]] = {}
    for lab_id, zone, lead, advance, packed_hours in lab_rows:
        if packed_hours not in parsed:
            parsed[packed_hours] = _parse_hours(packed_hours)
        blackouts = tuple(sorted(lab_dark.get(lab_id, ()), key=lambda x: x.start))
        policy = (zone, parsed[packed_hours], lead, advance, blackouts)
        number = policy_ids.setdefault(policy, len(policy_ids))
        policies[lab_id] = (number, zone, parsed[packed_hours], now + timedelta(hours=lead),
                            now + timedelta(days=advance), blackouts)
    return FreeEquipment(first, last, hours, policies, groups, own_items, busy,
                         equipment_dark, [r[0] for r in lab_rows])


def free_windows(labs: Any, first: date, last: date, hours: float, *,
                 now: datetime) -> dict[int, list[FreeWindow]]:
    """Every free piece of equipment of the labs ``labs`` selects, by lab: see
    :func:`free_equipment`. Five queries."""
    found = free_equipment(labs, first, last, hours, now=now)
    return found.windows(found.lab_ids)
