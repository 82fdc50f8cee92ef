"""The free-time summary: a prefilter for "free for D hours between two dates".

Rules owned here, once:

- **What it holds.** ``lab_free_week``: per lab, kind of booking unit (hourly, or half day
  and day) and weekday, the longest free time from the opening hours alone — the longest
  run of open time meeting that weekday (runs as :func:`.availability.first_free` sees
  them: open intervals for hourly equipment, whole open days otherwise), with the number
  of bookable pieces of equipment of that kind. ``equipment_free_day``: per bookable piece
  of equipment and local day that a booking (from its blocked start to its end plus the
  set-up buffer) or a blackout (its own or its lab's) touches, the longest free run
  meeting that day once those are taken out. Every other day has the weekday's value.
  ``lab_free_day``: per lab, kind and local day on which every bookable piece of
  equipment of the kind has a day row, the longest of them (rewritten with those rows,
  :func:`_refresh_lab_days`): the days a kind is fully taken are read from it.
- **A prefilter for the list, the answer for the map.** Each value is at least the free
  time the exact engine could find (lead time, advance window, unit alignment and length
  limits are left out; a run the computation cannot see the end of counts as
  :data:`UNBOUNDED`; a daylight-saving day is allowed an hour either way), so
  :func:`candidates` never drops a lab the exact engine (:func:`.availability.free_equipment`)
  would show; the labs a ``/labs`` page shows are then checked by the exact engine. The map
  (``search.map_labs``, ``search.labs_not_free``) shows the candidates themselves: a few
  labs the exact engine would refuse, never one less. The property test
  (``tests/services/test_free_days.py``) holds it to that.
- **Same transaction as the write.** A flush that adds, changes or removes a booking, a
  blackout, opening hours, a lab's zone or an equipment's unit, buffer, state or mode
  marks the equipment or lab concerned; before the transaction commits (and before a
  search reads) their rows are rebuilt from the data (:func:`sync`). An UPDATE or DELETE
  statement whose rows cannot be told rebuilds everything. ``flask labnet search
  reindex`` and the migration call :func:`rebuild`. The booking service's new request
  is the exception (:func:`narrow`): it only takes time away, so the days it touches are
  recomputed from the equipment's bookings around them and lowered, never raised.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    SmallInteger,
    and_,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from labnet import clock
from labnet.clock import zone_info
from labnet.models import (
    ACTIVE_STATUSES,
    Blackout,
    Booking,
    Equipment,
    EquipmentFreeDay,
    EquipmentMode,
    EquipmentStatus,
    Lab,
    LabFreeDay,
    LabFreeWeek,
    OpeningHours,
)
from labnet.services.booking.availability import (
    Interval,
    _open_days,
    open_intervals,
    span_bounds,
)

UNBOUNDED = 10_000_000  # minutes: a run whose end the computation does not see
DST_SLACK = 60  # a daylight-saving day is an hour longer or shorter than the reference's
# A week of June 2026 (Monday 8th) with a week either side: no European zone changes its
# clock then, so its runs are the wall-clock ones (DST_SLACK covers the days that do).
_REFERENCE = (date(2026, 6, 1), date(2026, 6, 21))
_MIDDLE = date(2026, 6, 8)
_MARGIN = timedelta(days=8)  # days computed either side of the touched ones
CHUNK = 500
_DIRTY_LABS = "labnet.free_days.labs"
_DIRTY_EQUIPMENT = "labnet.free_days.equipment"
_ALL = "labnet.free_days.all"
_SUSPENDED = "labnet.free_days.suspended"
_NARROW = "labnet.free_days.narrow"
_WATCHED = {
    "booking": {"equipment_id", "status", "start_at", "end_at", "blocked_start"},
    "blackout": {"lab_id", "equipment_id", "start_at", "end_at"},
    "opening_hours": {"lab_id", "weekday", "opens_at", "closes_at"},
    "lab": {"timezone"},
    "equipment": {"lab_id", "booking_unit", "buffer_minutes", "status", "mode"},
}
Progress = Callable[[int, int], None]
Hours = tuple[tuple[int, time, time], ...]


def _noop(_done: int, _total: int) -> None:
    return None


def _minutes(run: Interval) -> int:
    return int((run.end - run.start).total_seconds() // 60)


@lru_cache(maxsize=4096)
def _allowed(hours: Hours, zone: str, hourly: bool, first: date, last: date
             ) -> tuple[Interval, ...]:
    """Open intervals (hourly) or open days (otherwise) of [first, last], as the exact
    engine reads them; kept for the rebuild of many pieces of equipment of one lab."""
    return tuple(open_intervals(hours, zone, first, last) if hourly
                 else _open_days(hours, zone, first, last))


def _free_runs(allowed: Sequence[Interval], blocked: Sequence[Interval]) -> list[Interval]:
    """``allowed`` less ``blocked`` (both sorted by start), touching pieces merged: one
    sweep."""
    runs: list[Interval] = []
    i, n = 0, len(blocked)
    for iv in allowed:
        start = iv.start
        while i < n and blocked[i].end <= start:
            i += 1
        j = i
        while start < iv.end:
            if j < n and blocked[j].start < iv.end:
                x = blocked[j]
                if x.start > start:
                    piece = Interval(start, x.start)
                    if runs and runs[-1].end >= piece.start:
                        runs[-1] = Interval(runs[-1].start, piece.end)
                    else:
                        runs.append(piece)
                start = max(start, x.end)
                j += 1
            else:
                if runs and runs[-1].end >= start:
                    runs[-1] = Interval(runs[-1].start, max(runs[-1].end, iv.end))
                else:
                    runs.append(Interval(start, iv.end))
                break
    return runs


def _longest(day: date, zone: str, window: Interval, runs: Sequence[Interval],
             starts: Sequence[datetime]) -> int:
    """The longest of ``runs`` (sorted, apart) meeting the local ``day``; unbounded when
    it reaches an end of ``window`` (its true length is not known)."""
    bounds = span_bounds(day, day, zone)
    best = 0
    k = bisect_left(starts, bounds.end) - 1
    while k >= 0 and runs[k].end > bounds.start:
        run = runs[k]
        if run.start <= window.start or run.end >= window.end:
            return UNBOUNDED
        best = max(best, _minutes(run))
        k -= 1
    return best


@lru_cache(maxsize=4096)
def week_values(hours: Hours, zone: str, hourly: bool) -> tuple[int, ...]:
    """The longest free minutes meeting each weekday (Monday first) from opening hours."""
    window = span_bounds(*_REFERENCE, zone)
    runs = _free_runs(_allowed(hours, zone, hourly, *_REFERENCE), [])
    starts = [r.start for r in runs]
    return tuple(_longest(_MIDDLE + timedelta(days=i), zone, window, runs, starts)
                 for i in range(7))


def day_values(hours: Hours, zone: str, hourly: bool, blocked: Sequence[Interval],
               since: date) -> dict[date, int]:
    """{local day: longest free minutes} for the days from ``since`` on that ``blocked``
    touches. The window computed starts a margin before ``since`` and ends on a 64-day
    step past the last such day, so pieces of equipment of one lab share its open times."""
    days = _touched(blocked, zone, since)
    if not days:
        return {}
    first = since - _MARGIN
    last = first + timedelta(days=64 * -(-((max(days) + _MARGIN) - first).days // 64))
    return _values(hours, zone, hourly, blocked, days, first, last)


def _touched(blocked: Iterable[Interval], zone: str, since: date) -> set[date]:
    """The local days from ``since`` on that ``blocked`` meets."""
    tz = zone_info(zone)
    days: set[date] = set()
    for x in blocked:
        day = max(x.start.astimezone(tz).date(), since)
        end = (x.end - timedelta(microseconds=1)).astimezone(tz).date()
        while day <= end:
            days.add(day)
            day += timedelta(days=1)
    return days


def _values(hours: Hours, zone: str, hourly: bool, blocked: Sequence[Interval],
            days: Iterable[date], first: date, last: date) -> dict[date, int]:
    """{day: longest free minutes meeting it} over the window of local days [first,
    last] (a run reaching its ends counts as :data:`UNBOUNDED`)."""
    window = span_bounds(first, last, zone)
    runs = _free_runs(_allowed(hours, zone, hourly, first, last),
                      sorted(blocked, key=lambda x: x.start))
    starts = [r.start for r in runs]
    return {day: _longest(day, zone, window, runs, starts) for day in sorted(days)}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _parse_hours(rows: Iterable[tuple[int, time, time]]) -> Hours:
    return tuple(sorted(rows))


def _bookable() -> tuple[ColumnElement[bool], ...]:
    return (Equipment.status == EquipmentStatus.ACTIVE,
            Equipment.mode != EquipmentMode.REQUEST_ONLY)


def _refresh_lab_days(conn: Connection, lab_ids: Sequence[int],
                      days: Sequence[date] | None = None) -> None:
    """Rewrite the :class:`LabFreeDay` rows of ``lab_ids`` (only of ``days`` when given)
    from their equipment's day rows and their weeks' equipment counts (so after the
    weeks): two statements."""
    if not lab_ids:
        return
    ids = sorted(set(lab_ids))
    gone = delete(LabFreeDay).where(LabFreeDay.lab_id.in_(ids))
    week_count = (select(LabFreeWeek.equipment)
                  .where(LabFreeWeek.lab_id == EquipmentFreeDay.lab_id,
                         LabFreeWeek.hourly == EquipmentFreeDay.hourly,
                         LabFreeWeek.weekday == EquipmentFreeDay.weekday)
                  .scalar_subquery())
    rows = (select(EquipmentFreeDay.lab_id, EquipmentFreeDay.hourly, EquipmentFreeDay.day,
                   EquipmentFreeDay.weekday, func.count(),
                   func.max(EquipmentFreeDay.longest_free_minutes))
            .where(EquipmentFreeDay.lab_id.in_(ids))
            .group_by(EquipmentFreeDay.lab_id, EquipmentFreeDay.hourly, EquipmentFreeDay.day,
                      EquipmentFreeDay.weekday)
            .having(func.count() >= week_count))
    if days is not None:
        wanted = sorted(set(days))
        gone = gone.where(LabFreeDay.day.in_(wanted))
        rows = rows.where(EquipmentFreeDay.day.in_(wanted))
    conn.execute(gone)
    conn.execute(insert(LabFreeDay).from_select(
        ["lab_id", "hourly", "day", "weekday", "equipment", "longest_free_minutes"], rows))


def _rebuild_labs(conn: Connection, lab_ids: list[int], equipment_ids: list[int] | None,
                  since: datetime, *, lab_days: bool = True) -> int:
    """Rows of ``lab_ids``: their weeks, and the days of their bookable equipment (only
    ``equipment_ids`` of it when given). Six queries."""
    labs = {lab_id: zone for lab_id, zone in conn.execute(
        select(Lab.id, Lab.timezone).where(Lab.id.in_(lab_ids)))}
    hours: dict[int, list[tuple[int, time, time]]] = {i: [] for i in labs}
    for lab_id, weekday, opens, closes in conn.execute(
            select(OpeningHours.lab_id, OpeningHours.weekday, OpeningHours.opens_at,
                   OpeningHours.closes_at).where(OpeningHours.lab_id.in_(lab_ids))):
        hours[lab_id].append((weekday, opens, closes))
    eq_stmt = select(Equipment.id, Equipment.lab_id, Equipment.booking_unit,
                     Equipment.buffer_minutes).where(Equipment.lab_id.in_(lab_ids), *_bookable())
    if equipment_ids is not None:
        eq_stmt = eq_stmt.where(Equipment.id.in_(equipment_ids))
    equipment = conn.execute(eq_stmt).all()
    ids = [e[0] for e in equipment]
    busy: dict[int, list[Interval]] = {}
    if ids:
        for equipment_id, start, end in conn.execute(
                select(Booking.equipment_id, Booking.blocked_start, Booking.end_at)
                .where(Booking.equipment_id.in_(ids),
                       Booking.status.in_([s.value for s in ACTIVE_STATUSES]),
                       Booking.end_at > since)):
            busy.setdefault(equipment_id, []).append(Interval(_aware(start), _aware(end)))
    lab_dark: dict[int, list[Interval]] = {}
    own_dark: dict[int, list[Interval]] = {}
    for lab_id, equipment_id, start, end in conn.execute(
            select(Blackout.lab_id, Blackout.equipment_id, Blackout.start_at, Blackout.end_at)
            .where(Blackout.lab_id.in_(lab_ids), Blackout.end_at > since)):
        target = lab_dark.setdefault(lab_id, []) if equipment_id is None else \
            own_dark.setdefault(equipment_id, [])
        target.append(Interval(_aware(start), _aware(end)))
    rows: list[tuple[Any, ...]] = []
    for equipment_id, lab_id, unit, buffer_minutes in equipment:
        if lab_id not in labs:
            continue
        buffer = timedelta(minutes=buffer_minutes or 0)
        blocked = [Interval(x.start, x.end + buffer) for x in busy.get(equipment_id, ())]
        blocked += own_dark.get(equipment_id, []) + lab_dark.get(lab_id, [])
        hourly = unit == "hour"
        for day, minutes in day_values(_parse_hours(hours[lab_id]), labs[lab_id], hourly,
                                       blocked, since.date()).items():
            rows.append((equipment_id, day, lab_id, hourly, day.weekday(), minutes))
    if equipment_ids is None:
        conn.execute(delete(EquipmentFreeDay).where(EquipmentFreeDay.lab_id.in_(lab_ids)))
        conn.execute(delete(LabFreeWeek).where(LabFreeWeek.lab_id.in_(lab_ids)))
        kinds = Counter((e[1], e[2] == "hour") for e in equipment)
        week = [{"lab_id": lab_id, "hourly": hourly, "weekday": i, "longest_free_minutes": v,
                 "equipment": count}
                for (lab_id, hourly), count in sorted(kinds.items()) if lab_id in labs
                for i, v in enumerate(week_values(_parse_hours(hours[lab_id]),
                                                  labs[lab_id], hourly))]
        if week:
            conn.execute(LabFreeWeek.__table__.insert(), week)
    else:
        conn.execute(delete(EquipmentFreeDay)
                     .where(EquipmentFreeDay.equipment_id.in_(equipment_ids)))
    if rows:
        conn.execute(EquipmentFreeDay.__table__.insert(), [
            {"equipment_id": r[0], "day": r[1], "lab_id": r[2], "hourly": r[3],
             "weekday": r[4], "longest_free_minutes": r[5]} for r in rows])
    if lab_days:
        _refresh_lab_days(conn, lab_ids)
    return len(rows)


def rebuild(conn: Connection, lab_ids: Iterable[int] | None = None, *,
            now: datetime | None = None, progress: Progress = _noop,
            lab_days: bool = True) -> int:
    """Rewrite the summary of ``lab_ids`` (every lab when ``None``) from the data, in
    chunks of :data:`CHUNK` labs; bookings and blackouts that ended before yesterday are
    left out (no search reaches back). Returns the number of day rows written.
    ``lab_days=False`` leaves :class:`LabFreeDay` alone (the migration that predates it)."""
    since = (now or clock.utcnow()) - timedelta(days=2)
    if lab_ids is None:
        conn.execute(delete(EquipmentFreeDay))
        if lab_days:
            conn.execute(delete(LabFreeDay))
        conn.execute(delete(LabFreeWeek))
        ids = list(conn.scalars(select(Lab.id).order_by(Lab.id)))
    else:
        ids = sorted(set(lab_ids))
    written = 0
    progress(0, len(ids))
    for start in range(0, len(ids), CHUNK):
        written += _rebuild_labs(conn, ids[start:start + CHUNK], None, since,
                                 lab_days=lab_days)
        progress(min(start + CHUNK, len(ids)), len(ids))
    return written


def rebuild_equipment(conn: Connection, equipment_ids: Iterable[int], *,
                      now: datetime | None = None) -> int:
    """Rewrite the day rows of ``equipment_ids`` (their labs' weeks stay)."""
    ids = sorted(set(equipment_ids))
    if not ids:
        return 0
    since = (now or clock.utcnow()) - timedelta(days=2)
    labs = sorted(set(conn.scalars(select(Equipment.lab_id).where(Equipment.id.in_(ids)))))
    conn.execute(delete(EquipmentFreeDay).where(EquipmentFreeDay.equipment_id.in_(ids)))
    return _rebuild_labs(conn, labs, ids, since) if labs else 0


# --- the prefilter -------------------------------------------------------------------------

def _need(hours: float) -> int:
    return math.ceil(hours * 60 - 1e-9)


def _never(weekdays: Sequence[int], need_week: dict[bool, int], conn: Connection,
           week_ok: Callable[[], ColumnElement[bool]]) -> list[int]:
    """The labs whose opening hours can never give the time needed on any of
    ``weekdays`` (no :class:`LabFreeWeek` row of a kind with bookable equipment long
    enough: a few hundred at most), by id. Opening hours, a lab's zone and its
    equipment's units, states and modes are catalogue tables, so the list is kept in the
    shared cache per catalogue version (:mod:`labnet.caches`) and rebuilt after any
    committed catalogue write; a session that has written the catalogue itself reads it
    afresh (its writes are not committed yet)."""
    def build() -> list[int]:
        return list(conn.scalars(select(Lab.id).where(
            ~exists().where(LabFreeWeek.lab_id == Lab.id, week_ok())).order_by(Lab.id)))

    from flask import current_app, has_app_context

    from labnet import caches

    seconds = current_app.config.get("FREE_WEEK_CACHE_SECONDS", 0) if has_app_context() else 0
    if not seconds:
        return build()
    from labnet.extensions import db

    if not caches.touched_tables(db.session()).isdisjoint(caches.CATALOGUE_TABLES):
        return build()
    key = (tuple(weekdays), need_week[True], need_week[False], caches.generation())
    return caches.remember("free_never", key, seconds, build)


def candidates(first: date, last: date, hours: float, conn: Connection
               ) -> ColumnElement[bool]:
    """SQL over ``lab``: the labs that may have bookable equipment free for ``hours``
    hours between the local days ``first`` and ``last`` — every lab the exact engine
    would find, and a few it may not (see the module's docstring).

    A lab is a candidate when a kind of its bookable equipment is long enough free on a
    day of the span: by its opening hours (its weekday's value), unless every piece of
    equipment of that kind is taken on each such day; or on a day a booking or blackout
    touches (a day row long enough). The labs left out are therefore few: those whose
    opening hours never give the time (:func:`_never`, cached per catalogue version) and
    those fully taken, less those with a day row long enough. They are worked out here
    and returned as one ``NOT IN`` list, so a caller that reads the labs left out, walks
    the name index past them or counts them does no more work. Two queries (three when
    the cached list is rebuilt), whatever the bookings."""
    need = _need(hours)
    # A booking by the half day or day may be an hour short of its nominal length on a
    # clock-change day; a weekday's value may be an hour off a clock-change day's.
    need_day = {True: need, False: need - DST_SLACK}
    need_week = {k: v - DST_SLACK for k, v in need_day.items()}
    days = Counter((first + timedelta(days=i)).weekday()
                   for i in range((last - first).days + 1))
    weekdays = sorted(days)

    def week_ok(table: Any = LabFreeWeek) -> ColumnElement[bool]:
        return and_(table.weekday.in_(weekdays), table.equipment > 0, or_(
            and_(table.hourly.is_(True), table.longest_free_minutes >= need_week[True]),
            and_(table.hourly.is_(False), table.longest_free_minutes >= need_week[False])))

    def day_ok(table: Any = EquipmentFreeDay) -> ColumnElement[bool]:
        return or_(
            and_(table.hourly.is_(True), table.longest_free_minutes >= need_day[True]),
            and_(table.hourly.is_(False), table.longest_free_minutes >= need_day[False]))

    in_span = EquipmentFreeDay.day.between(first, last)
    # The days one by one (a span is at most a month): with the shortness bound, each day
    # is one range of ``ix_lab_free_day_day_free`` (day, minutes, lab, kind, weekday,
    # count) holding only the kinds whose longest free run that day is short, read from
    # the index alone.
    span_list = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    # The days (of a kind, in a lab) on which every bookable piece of equipment of that
    # kind is taken: the lab's day row (there is one only when each of them has a day
    # row) holds the longest of them, shorter than needed — a handful of rows, whatever
    # the number of bookings.
    taken = conn.execute(
        select(LabFreeDay.lab_id, LabFreeDay.hourly, LabFreeDay.weekday, LabFreeDay.day)
        .where(LabFreeDay.day.in_(span_list),
               LabFreeDay.longest_free_minutes < max(need_day.values()),
               ~day_ok(LabFreeDay))).all()
    never = _never(weekdays, need_week, conn, week_ok)
    # One statement (asked even when no day is taken: the same statements whatever the
    # bookings): the weekdays each kind of the labs with a taken day could be free on,
    # and which of those labs and of the ``never`` ones have a day row long enough in the
    # span (they stay candidates).
    taken_labs = sorted({r[0] for r in taken})
    maybe_out = sorted(set(taken_labs) | set(never))
    good: dict[int, dict[bool, set[int]]] = {}
    rescued: set[int] = set()
    weeks = (select(LabFreeWeek.lab_id, LabFreeWeek.hourly, LabFreeWeek.weekday)
             .where(LabFreeWeek.lab_id.in_(taken_labs), week_ok()))
    rescue = -1  # not a weekday: marks the second part's rows (typed, for PostgreSQL)
    free_day = (select(EquipmentFreeDay.lab_id, EquipmentFreeDay.hourly,
                       literal(rescue, SmallInteger))
                .where(EquipmentFreeDay.lab_id.in_(maybe_out), in_span, day_ok())
                .distinct())
    for lab_id, hourly, weekday in conn.execute(union_all(weeks, free_day)).all():
        if weekday == rescue:
            rescued.add(lab_id)
        else:
            good.setdefault(lab_id, {}).setdefault(bool(hourly), set()).add(weekday)
    full: list[int] = []
    if taken:
        gone: dict[tuple[int, bool], set[date]] = {}
        for lab_id, hourly, _weekday, day in taken:
            gone.setdefault((lab_id, hourly), set()).add(day)
        full = sorted(
            lab_id for lab_id, kinds in good.items()
            if all({d for d in span_list if d.weekday() in wds} <= gone.get((lab_id, hourly),
                                                                          set())
                   for hourly, wds in kinds.items()))
    out = sorted((set(never) | set(full)) - rescued)
    if not out:
        return true()
    return Lab.id.not_in(bindparam("free_left_out", out, expanding=True, literal_execute=True))


# --- keeping it true: session hooks ----------------------------------------------------------

def _mark(session: Session, labs: Iterable[Any] = (), equipment: Iterable[Any] = ()) -> None:
    session.info.setdefault(_DIRTY_LABS, set()).update(i for i in labs if i is not None)
    session.info.setdefault(_DIRTY_EQUIPMENT, set()).update(
        i for i in equipment if i is not None)


def _changed(obj: Any, columns: set[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[c].history.has_changes() for c in columns if c in state.attrs)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        dirty = obj not in session.new and obj not in session.deleted
        if isinstance(obj, Booking):
            if obj in session.new and id(obj) in session.info.get(_NARROW, {}):
                continue  # a new booking the service narrows by itself (:func:`narrow`)
            if not dirty or _changed(obj, _WATCHED["booking"]):
                _mark(session, equipment=[obj.equipment_id])
        elif isinstance(obj, Blackout):
            if obj.equipment_id is None:
                _mark(session, labs=[obj.lab_id])
            else:
                _mark(session, equipment=[obj.equipment_id])
        elif isinstance(obj, OpeningHours):
            _mark(session, labs=[obj.lab_id])
        elif isinstance(obj, Lab):
            if not dirty or _changed(obj, _WATCHED["lab"]):
                _mark(session, labs=[obj.id])
        elif isinstance(obj, Equipment) and (not dirty
                                             or _changed(obj, _WATCHED["equipment"])):
            # Its lab's week counts the bookable equipment of each kind.
            _mark(session, labs=[obj.lab_id])


_INSERT_KEYS = {"booking": ("equipment", "equipment_id"), "opening_hours": ("labs", "lab_id"),
                "equipment": ("labs", "lab_id"), "lab": ("labs", "id")}


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.session.info.get(_SUSPENDED):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in _WATCHED:
        return
    if state.is_update:
        changed = {getattr(c, "key", str(c)) for c in state.statement._values or ()}
        if changed and changed.isdisjoint(_WATCHED[table]):
            return
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    if state.is_insert and rows and all(isinstance(r, dict) for r in rows):
        kind, key = _INSERT_KEYS.get(table, ("", ""))
        if key and all(key in r for r in rows):
            _mark(state.session, **{kind: [r[key] for r in rows]})
            return
    if table == "booking":
        # The booking service's statements on one booking mark its equipment themselves
        # (:func:`mark`); a booking marked completed has ended and frees nothing ahead.
        return
    state.session.info[_ALL] = True


def mark(session: Session, *, labs: Iterable[int] = (), equipment: Iterable[int] = ()
         ) -> None:
    """Have the summary of these labs or pieces of equipment rebuilt before ``session``
    commits: for writers whose statements the hooks cannot read (an UPDATE by id)."""
    _mark(session, labs, equipment)


@contextmanager
def suspended(session: Session) -> Iterator[None]:
    """Bulk loads (the benchmarks' bookings): no marks while inside; the caller rebuilds
    the summary after (:func:`rebuild`, as ``flask labnet search reindex`` does)."""
    session.info[_SUSPENDED] = True
    try:
        yield
    finally:
        session.info.pop(_SUSPENDED, None)
        for key in (_DIRTY_LABS, _DIRTY_EQUIPMENT, _ALL, _NARROW):
            session.info.pop(key, None)


def narrow(session: Session, booking: Booking, *, zone: str,
           hours: Iterable[tuple[int, time, time]], hourly: bool, buffer_minutes: int) -> None:
    """The booking service's new ``booking`` (before its flush), with its lab's zone and
    opening hours and its equipment's unit and set-up buffer as the service has them
    loaded: instead of rebuilding its equipment's rows, the commit lowers those of the
    days it touches (:func:`_narrow_rows`), one statement and no read.

    A new booking only takes time away, so every stored value and every weekday value
    stays at least the free time left; the value computed with this booking alone in the
    way is too; the smaller of the two is kept. Cancellations, changes and every other
    writer still rebuild (time given back must be counted exactly)."""
    session.info.setdefault(_NARROW, {})[id(booking)] = (
        booking, zone, _parse_hours(hours), hourly, buffer_minutes)


def _narrow_rows(conn: Connection, entries: Iterable[tuple[Any, ...]], skip: set[int],
                 since: date) -> None:
    """Lower (or add) the day rows the new bookings of ``entries`` touch to the longest
    free run left by the equipment's bookings of the weeks around them (its blackouts are
    left out, which can only count more free time), when that is smaller than the stored
    value: one read of those bookings and one INSERT … ON CONFLICT DO UPDATE, whatever
    the number of bookings. Equipment in ``skip`` is rebuilt anyway."""
    touched: dict[int, tuple[set[date], str, Hours, bool, int, int]] = {}
    for booking, zone, hours, hourly, buffer_minutes in entries:
        if (booking.equipment_id in skip or booking.status not in ACTIVE_STATUSES
                or not inspect(booking).persistent):  # never written: takes nothing
            continue
        buffer = timedelta(minutes=buffer_minutes or 0)
        days = _touched([Interval(_aware(booking.blocked_start), _aware(booking.end_at) + buffer)],
                        zone, since)
        if days:
            known = touched.get(booking.equipment_id)
            touched[booking.equipment_id] = ((known[0] if known else set()) | days, zone,
                                             hours, hourly, buffer_minutes or 0,
                                             booking.lab_id)
    if not touched:
        return
    lo = min(min(t[0]) for t in touched.values()) - _MARGIN
    hi = max(max(t[0]) for t in touched.values()) + _MARGIN
    busy: dict[int, list[Interval]] = {}
    for equipment_id, start, end in conn.execute(
            select(Booking.equipment_id, Booking.blocked_start, Booking.end_at)
            .where(Booking.equipment_id.in_(sorted(touched)),
                   Booking.status.in_([s.value for s in ACTIVE_STATUSES]),
                   Booking.blocked_start < datetime.combine(hi + timedelta(days=2), time(0), UTC),
                   Booking.end_at > datetime.combine(lo - timedelta(days=3), time(0), UTC))):
        busy.setdefault(equipment_id, []).append(Interval(_aware(start), _aware(end)))
    rows = []
    for equipment_id, (days, zone, hours, hourly, buffer_minutes, lab_id) in touched.items():
        buffer = timedelta(minutes=buffer_minutes)
        blocked = [Interval(x.start, x.end + buffer) for x in busy.get(equipment_id, ())]
        values = _values(hours, zone, hourly, blocked, days, min(days) - _MARGIN,
                         max(days) + _MARGIN)
        rows += [{"equipment_id": equipment_id, "day": day, "lab_id": lab_id,
                  "hourly": hourly, "weekday": day.weekday(), "longest_free_minutes": minutes}
                 for day, minutes in values.items()]
    from sqlalchemy.dialects import postgresql, sqlite

    stmt = (postgresql.insert if conn.dialect.name == "postgresql"
            else sqlite.insert)(EquipmentFreeDay)
    stored, offered = EquipmentFreeDay.longest_free_minutes, stmt.excluded.longest_free_minutes
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[EquipmentFreeDay.equipment_id, EquipmentFreeDay.day],
        set_={"longest_free_minutes": case((offered < stored, offered), else_=stored)}),
        rows)
    _refresh_lab_days(conn, sorted({t[5] for t in touched.values()}),
                      sorted(set().union(*(t[0] for t in touched.values()))))


def sync(session: Session, *, now: datetime | None = None,
         progress: Progress = _noop) -> None:
    """Rebuild the summary of everything marked in ``session`` (pending writes flushed
    first), and narrow it for the new bookings the service named (:func:`narrow`): called
    before commit and before a search reads it."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # the marks come from the flush
    if session.info.get(_SUSPENDED) or not (
            session.info.get(_DIRTY_LABS) or session.info.get(_DIRTY_EQUIPMENT)
            or session.info.get(_ALL) or session.info.get(_NARROW)):
        return
    session.flush()
    everything = session.info.pop(_ALL, False)
    labs = session.info.pop(_DIRTY_LABS, set())
    equipment = session.info.pop(_DIRTY_EQUIPMENT, set())
    narrowing = session.info.pop(_NARROW, {})
    conn = session.connection()
    now = now or clock.utcnow()
    if everything:
        rebuild(conn, now=now, progress=progress)
        return
    if narrowing:
        # A lab rebuilt below (or a piece of equipment) reads every booking itself.
        in_labs = {e[0].equipment_id for e in narrowing.values() if e[0].lab_id in labs}
        _narrow_rows(conn, narrowing.values(), equipment | in_labs,
                     (now - timedelta(days=2)).date())
    if labs:
        rebuild(conn, labs, now=now, progress=progress)
    if equipment:
        # Equipment of a lab rebuilt above is done already.
        rest = set(conn.scalars(select(Equipment.id).where(
            Equipment.id.in_(sorted(equipment)), Equipment.lab_id.not_in(sorted(labs)))))
        rebuild_equipment(conn, rest, now=now)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    sync(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for key in (_DIRTY_LABS, _DIRTY_EQUIPMENT, _ALL, _NARROW):
        session.info.pop(key, None)
