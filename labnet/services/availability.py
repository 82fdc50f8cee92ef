"""Time in a lab's zone: opening hours as UTC intervals, booking units, free/busy.

Rules owned here (DESIGN rules 2 and 3): opening hours, the booking unit and daylight
saving are evaluated in the lab's IANA zone, day by day; instants are UTC. A local time
that does not exist (the spring-forward hour) is refused; an ambiguous one (the autumn
hour that happens twice) is read as its first occurrence (``fold=0``). Units are counted
in wall-clock terms, so a day booking on a 23-hour DST day is still one day.

The functions at the top are pure (no database); ``week_view`` (the booking calendar)
read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from labnet.errors import RuleViolation

UNIT_HOURS = {"hour": 1, "half_day": 4, "day": 24}
# Half days start at these local hours.
HALF_DAY_STARTS = (time(0), time(12))


@dataclass(frozen=True)
class Interval:
    start: datetime  # UTC, aware
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        # Half-open intervals: touching ends do not overlap.
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


def local_to_utc(local: datetime, zone: str, *, field: str = "start_at") -> datetime:
    """A naive lab-local wall-clock time as a UTC instant.

    :raises RuleViolation: when the time does not exist in ``zone`` (skipped by a
        daylight-saving change).
    """
    tz = ZoneInfo(zone)
    aware = local.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != local.replace(tzinfo=None, fold=0):
        raise RuleViolation(
            field,
            f"{local:%Y-%m-%d %H:%M} does not exist in {zone}: the clocks jump forward that "
            "night. Choose another time.",
        )
    return aware.astimezone(UTC)


def utc_to_local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))


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
    tz = ZoneInfo(zone)
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


def is_open_day(hours: Iterable[tuple[int, time, time]], day: date) -> bool:
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
                raise RuleViolation(field, "Bookings of this equipment start and end on the "
                                           "hour (it is booked by the hour).")
        # Elapsed hours in UTC: a booking across the autumn change really lasts longer.
        return int((end - start).total_seconds() // 3600)
    if unit == "half_day":
        for field, t in (("start_at", ls), ("end_at", le)):
            if t.timetz().replace(tzinfo=None) not in HALF_DAY_STARTS:
                raise RuleViolation(field, "This equipment is booked by the half day: start "
                                           "and end at 00:00 or 12:00 (lab time).")
        days = (le.date() - ls.date()).days
        return days * 2 + (1 if le.hour == 12 else 0) - (1 if ls.hour == 12 else 0)
    if unit == "day":
        for field, t in (("start_at", ls), ("end_at", le)):
            if t.timetz().replace(tzinfo=None) != time(0):
                raise RuleViolation(field, "This equipment is booked by the day: from "
                                           "midnight to midnight (lab time).")
        return (le.date() - ls.date()).days
    raise RuleViolation("unit", f"Unknown booking unit {unit!r}.")


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
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
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
    return "; ".join(parts) + f" ({zone})" if parts else f"closed every day ({zone})"


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
    day: date
    is_open: bool
    slots: list[Slot]


@dataclass(frozen=True)
class WeekView:
    equipment_id: int
    zone: str
    unit: str
    week_start: date  # a Monday, in the lab's calendar
    days: list[DayView]

    @property
    def prev_week(self) -> date:
        return self.week_start - timedelta(days=7)

    @property
    def next_week(self) -> date:
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

    from labnet.extensions import db
    from labnet.models import ACTIVE_STATUSES, Blackout, Booking, OpeningHours

    lab = equipment.lab
    zone = lab.timezone
    monday = week_start - timedelta(days=week_start.weekday())
    hours = [
        (h.weekday, h.opens_at, h.closes_at)
        for h in db.session.scalars(select(OpeningHours).where(OpeningHours.lab_id == lab.id))
    ]
    # The week's edges are local midnights; each converted on its own date (DST weeks).
    week_from = datetime.combine(monday, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    week_to = datetime.combine(monday + timedelta(days=7), time(0),
                               tzinfo=ZoneInfo(zone)).astimezone(UTC)
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
        slots: list[Slot] = []
        for a, b in blocks:
            start, end = _local_instant(day, a, zone), _local_instant(day, b, zone)
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


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored instant is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
