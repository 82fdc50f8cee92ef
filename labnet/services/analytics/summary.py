"""The daily summary (job ``summarise-activity``): ``activity_daily``, ``request_daily`` and
``request_hours_daily``, recomputed by whole UTC days (DESIGN rule 3) so that a run twice
changes nothing, and its writers serialised; and the request counts (requests, answered,
decided, accepted, declined, late) and hour buckets that the live request figures compute the
same way, so that the summary path and the live path agree (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.sql.elements import ColumnElement

from labnet.extensions import db
from labnet.models import (
    ActivityDaily,
    ActivitySummaryState,
    AuditEvent,
    Booking,
    DemandSignal,
    Equipment,
    Lab,
    Organisation,
)
from labnet.models.analytics import RequestDaily, RequestHoursDaily
from labnet.models.request import LabRequest, RequestLab
from labnet.services.analytics.sql import (
    _as_date,
    _at,
    _month_after,
    hours_between,
    month_start,
    utc_day,
)

UNMET_MAX_RESULTS = 2  # a search that found this many labs or fewer is unmet demand
UNANSWERED_AFTER = timedelta(days=7)
SUMMARY_JOB = "summarise-activity"
# Changes committed a little after the previous run started (a request that began before
# it) are caught by looking back this far.
WATERMARK_MARGIN = timedelta(minutes=10)
ACCEPTED_REQUEST = ("accepted", "active", "completed")
CONFIRMED_BOOKING = ("confirmed", "completed")
# Hour buckets of the medians' histograms: bucket i holds [HOUR_BUCKETS[i],
# HOUR_BUCKETS[i + 1]) hours, the last one everything from 4,320 h (180 days) on.
HOUR_BUCKETS = (0, 1, 2, 4, 8, 12, 16, 24, 36, 48, 72, 96, 120, 144, 168, 216, 336, 504,
                720, 1080, 1440, 2160, 4320)
# The request counts ``request_daily`` keeps per day, kind and KET area besides ``late``, in
# the order of :func:`_request_counts`.
REQUEST_COUNTS = ("n", "answered", "decided", "accepted", "declined")


def _table(model: Any) -> Table:
    """The Core table of a summary model, for INSERT … SELECT (``__table__`` is typed as any
    ``FromClause``)."""
    return cast(Table, model.__table__)


# --- what a request counts as, alike in the summary and live -----------------------------------

def _hour_bucket(hours: Any) -> ColumnElement[int]:
    """The index of the :data:`HOUR_BUCKETS` bucket holding ``hours`` (SQL)."""
    return case(*((hours < HOUR_BUCKETS[i + 1], i) for i in range(len(HOUR_BUCKETS) - 1)),
                else_=len(HOUR_BUCKETS) - 1)


def _late() -> ColumnElement[bool]:
    """No first response within 7 days of creation (fixed once the 7 days are over)."""
    return or_(LabRequest.first_response_at.is_(None),
               hours_between(LabRequest.created_at, LabRequest.first_response_at)
               > UNANSWERED_AFTER.total_seconds() / 3600)


def _request_counts() -> list[ColumnElement[Any]]:
    """Aggregates over a group of ``lab_request`` rows, in the order of
    :data:`REQUEST_COUNTS`: requests, answered, decided, accepted, declined. The summary's
    ``request_daily`` rows and the live request figures both use these, so the two paths
    count alike."""
    return [func.count(), func.count(LabRequest.first_response_at),
            func.count(LabRequest.decided_at),
            func.sum(case((LabRequest.status.in_(ACCEPTED_REQUEST), 1), else_=0)),
            func.sum(case((LabRequest.status == "declined", 1), else_=0))]


def _response_measures() -> tuple[tuple[str, Any], ...]:
    """The medians' measures and the instant each ends at: first response, decision."""
    return (("first", LabRequest.first_response_at), ("decision", LabRequest.decided_at))


def _response_bucket(until: Any) -> ColumnElement[int]:
    """The hour bucket of the time from a request's creation to ``until`` (SQL)."""
    return _hour_bucket(hours_between(LabRequest.created_at, until))


# --- the daily summary (job summarise-activity) -----------------------------------------------

def _summary_selects(day_ranges: Sequence[tuple[datetime, datetime]] | None) -> list[Any]:
    """The three INSERT … SELECTs of the summary, for whole UTC days (all days if
    ``day_ranges`` is None)."""

    def within(col: Any) -> list[ColumnElement[bool]]:
        if day_ranges is None:
            return []
        return [or_(*(and_(col >= a, col < b) for a, b in day_ranges))]

    cols = ["day", "metric", "grain", "lab_id", "category_code", "ket_code",
            "demand_country", "supply_country", "unmet", "n", "hours"]
    table = _table(ActivityDaily)
    s_day = utc_day(DemandSignal.at)
    unmet_flag = DemandSignal.result_count <= UNMET_MAX_RESULTS
    searches = (
        select(s_day, literal("search"), literal("day"), null(), DemandSignal.category_code,
               DemandSignal.ket_code, null(), DemandSignal.country_filter, unmet_flag,
               func.count(), literal(0.0))
        .where(*within(DemandSignal.at))
        .group_by(s_day, DemandSignal.category_code, DemandSignal.ket_code,
                  DemandSignal.country_filter, unmet_flag))

    # Each metric keeps only the dimensions the dashboard reads: booking requests by lab
    # and requesting country (demand, flows), confirmed hours by lab and category
    # (utilisation); every extra dimension would multiply the rows.
    b_day = utc_day(Booking.created_at)
    booking_requests = (
        select(b_day, literal("booking"), literal("day"), Booking.lab_id, null(), null(),
               Organisation.country, null(), false(), func.count(),
               func.sum(hours_between(Booking.start_at, Booking.end_at)))
        .join(Organisation, Organisation.id == Booking.organisation_id)
        .where(*within(Booking.created_at))
        .group_by(b_day, Booking.lab_id, Organisation.country))
    c_day = utc_day(Booking.start_at)
    confirmed = (
        select(c_day, literal("booked"), literal("day"), Booking.lab_id,
               Equipment.category_code, null(), null(), null(), false(), func.count(),
               func.sum(hours_between(Booking.start_at, Booking.end_at)))
        .join(Equipment, Equipment.id == Booking.equipment_id)
        .where(Booking.status.in_(CONFIRMED_BOOKING), *within(Booking.start_at))
        .group_by(c_day, Booking.lab_id, Equipment.category_code))
    r_day = utc_day(LabRequest.created_at)
    request_flows = (
        select(r_day, literal("req_flow"), literal("day"), null(), null(), null(),
               Organisation.country, Lab.country, false(), func.count(), literal(0.0))
        .select_from(RequestLab)
        .join(LabRequest, LabRequest.id == RequestLab.request_id)
        .join(Lab, Lab.id == RequestLab.lab_id)
        .join(Organisation, Organisation.id == LabRequest.organisation_id)
        .where(*within(LabRequest.created_at))
        .group_by(r_day, Organisation.country, Lab.country))
    inserts = [insert(table).from_select(cols, s)
               for s in (searches, booking_requests, confirmed, request_flows)]
    # Requests per day, kind and KET area, and the hour histograms of their medians.
    requests = (
        select(r_day, literal("day"), LabRequest.kind, LabRequest.ket_code,
               *_request_counts(), func.sum(case((_late(), 1), else_=0)))
        .where(*within(LabRequest.created_at))
        .group_by(r_day, LabRequest.kind, LabRequest.ket_code))
    inserts.append(insert(_table(RequestDaily)).from_select(
        ["day", "grain", "kind", "ket_code", *REQUEST_COUNTS, "late"], requests))
    for measure, col in _response_measures():
        bucket = _response_bucket(col)
        inserts.append(insert(_table(RequestHoursDaily)).from_select(
            ["day", "measure", "bucket", "n"],
            select(r_day, literal(measure), bucket, func.count())
            .where(col.is_not(None), *within(LabRequest.created_at))
            .group_by(r_day, bucket)))
    return inserts


def _lab_rollups(days: Sequence[date] | None) -> list[Any]:
    """Per lab and day, summed from the day rows of ``days`` (all if None): booking
    requests over requesting countries (``lab_bkg``), confirmed hours over categories
    (``lab_hours``)."""
    where = [ActivityDaily.grain == "day"]
    if days is not None:
        where.append(ActivityDaily.day.in_(days))
    cols = ["day", "grain", "metric", "lab_id", "unmet", "n", "hours"]
    per_lab = [insert(_table(ActivityDaily)).from_select(cols, select(
        ActivityDaily.day, literal("day"), literal(target), ActivityDaily.lab_id, false(),
        func.sum(ActivityDaily.n), func.sum(ActivityDaily.hours))
        .where(ActivityDaily.metric == source, *where)
        .group_by(ActivityDaily.day, ActivityDaily.lab_id))
        for source, target in (("booking", "lab_bkg"), ("booked", "lab_hours"))]
    # Lab-less: booking requests by requesting country and lab country (flows), confirmed
    # hours by category and lab country (utilisation per category), for views without lab
    # filters but the country.
    cols = ["day", "grain", "metric", "category_code", "demand_country", "supply_country",
            "unmet", "n", "hours"]
    labless = []
    for source, target, dim in (("booking", "flow", ActivityDaily.demand_country),
                                ("booked", "cat_hours", ActivityDaily.category_code)):
        category = dim if target == "cat_hours" else null()
        demand = dim if target == "flow" else null()
        labless.append(insert(_table(ActivityDaily)).from_select(cols, select(
            ActivityDaily.day, literal("day"), literal(target), category, demand, Lab.country,
            false(), func.sum(ActivityDaily.n), func.sum(ActivityDaily.hours))
            .join(Lab, Lab.id == ActivityDaily.lab_id)
            .where(ActivityDaily.metric == source, *where)
            .group_by(ActivityDaily.day, dim, Lab.country)))
    return [*per_lab, *labless]


def _month_rollup(months: Sequence[date] | None) -> Any:
    """Month rows (``grain = 'month'``, ``day`` = the month's first day) summed from the
    day rows of ``months`` (all months if None)."""
    day = month_start(ActivityDaily.day)
    dims = (ActivityDaily.metric, ActivityDaily.lab_id, ActivityDaily.category_code,
            ActivityDaily.ket_code, ActivityDaily.demand_country, ActivityDaily.supply_country,
            ActivityDaily.unmet)
    where = [ActivityDaily.grain == "day"]
    if months is not None:
        where.append(or_(*(and_(ActivityDaily.day >= m, ActivityDaily.day < _month_after(m))
                           for m in months)))
    cols = ["day", "grain", "metric", "lab_id", "category_code", "ket_code",
            "demand_country", "supply_country", "unmet", "n", "hours"]
    return insert(_table(ActivityDaily)).from_select(
        cols, select(day, literal("month"), *dims, func.sum(ActivityDaily.n),
                     func.sum(ActivityDaily.hours)).where(*where).group_by(day, *dims))


def _serialise_summary_writers() -> None:
    """Two runners at once must not both delete and re-insert a day (double rows): on
    PostgreSQL a transaction-scoped advisory lock orders them; SQLite has one writer."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('activity_daily'))"))


def summarise_activity(*, now: datetime, full: bool = False) -> dict[str, Any]:
    """Bring ``activity_daily`` up to date; idempotent (recomputes whole days).

    The first run (or ``full``) rebuilds every day. Later runs recompute today and every
    day touched since the previous run: days with new searches (``demand_signal.at``), and
    the request day and start day of every booking that has an audit event since then
    (every booking service records one on each change), days with new requests. Flushes,
    never commits."""
    _serialise_summary_writers()
    state = db.session.get(ActivitySummaryState, SUMMARY_JOB, with_for_update=True)
    if state is None or full or state.until is None:
        db.session.execute(delete(ActivityDaily))
        db.session.execute(delete(RequestDaily))
        db.session.execute(delete(RequestHoursDaily))
        for stmt in [*_summary_selects(None), *_lab_rollups(None), _month_rollup(None),
                     _request_month_rollup(None)]:
            db.session.execute(stmt)
        days_done: Any = "all"
    else:
        since = state.until - WATERMARK_MARGIN
        changed = select(AuditEvent.subject_id).where(
            AuditEvent.at >= since, AuditEvent.subject_type == "booking")
        # A request answered, decided or otherwise changed after the day it was made:
        # its services stamp updated_at and record an audit event.
        changed_requests = select(AuditEvent.subject_id).where(
            AuditEvent.at >= since, AuditEvent.subject_type == "lab_request")
        day_rows = db.session.execute(union(
            select(utc_day(Booking.created_at)).where(Booking.id.in_(changed)),
            select(utc_day(Booking.start_at)).where(Booking.id.in_(changed)),
            select(utc_day(DemandSignal.at)).where(DemandSignal.at >= since),
            select(utc_day(LabRequest.created_at)).where(LabRequest.created_at >= since),
            select(utc_day(LabRequest.created_at)).where(LabRequest.updated_at >= since),
            select(utc_day(LabRequest.created_at))
            .where(LabRequest.id.in_(changed_requests)))).all()
        days = {_as_date(d) for (d,) in day_rows if d is not None}
        days |= {now.date(), since.date()}
        ranges = [(_at(d), _at(d + timedelta(days=1))) for d in sorted(days)]
        db.session.execute(delete(ActivityDaily).where(ActivityDaily.grain == "day",
                                                       ActivityDaily.day.in_(sorted(days))))
        db.session.execute(delete(RequestDaily).where(RequestDaily.grain == "day",
                                                      RequestDaily.day.in_(sorted(days))))
        db.session.execute(delete(RequestHoursDaily)
                           .where(RequestHoursDaily.day.in_(sorted(days))))
        for stmt in [*_summary_selects(ranges), *_lab_rollups(sorted(days))]:
            db.session.execute(stmt)
        months = sorted({d.replace(day=1) for d in days})
        db.session.execute(delete(ActivityDaily).where(ActivityDaily.grain == "month",
                                                       ActivityDaily.day.in_(months)))
        db.session.execute(_month_rollup(months))
        db.session.execute(delete(RequestDaily).where(RequestDaily.grain == "month",
                                                      RequestDaily.day.in_(months)))
        db.session.execute(_request_month_rollup(months))
        days_done = len(days)
    if state is None:
        state = ActivitySummaryState(name=SUMMARY_JOB)
        db.session.add(state)
    state.until = now
    state.updated_at = now
    db.session.flush()
    rows = db.session.scalar(select(func.count(ActivityDaily.id)))
    return {"days": days_done, "rows": rows}


def _request_month_rollup(months: Sequence[date] | None) -> Any:
    """``request_daily`` month rows (``day`` = the month's first day) summed from the day
    rows of ``months`` (all if None)."""
    month = month_start(RequestDaily.day)
    where = [RequestDaily.grain == "day"]
    if months is not None:
        where.append(or_(*(and_(RequestDaily.day >= m, RequestDaily.day < _month_after(m))
                           for m in months)))
    cols = (*REQUEST_COUNTS, "late")
    return insert(_table(RequestDaily)).from_select(
        ["day", "grain", "kind", "ket_code", *cols],
        select(month, literal("month"), RequestDaily.kind, RequestDaily.ket_code,
               *(func.sum(getattr(RequestDaily, c)) for c in cols))
        .where(*where).group_by(month, RequestDaily.kind, RequestDaily.ket_code))
