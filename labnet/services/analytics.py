"""Demand against supply: the coordinators' dashboard, its daily summary and the weekly digest.

Every figure is an SQL aggregate (GROUP BY, SUM, COUNT, AVG); Python only merges and
formats their result rows (at most a few hundred groups: bookings and requests of one flow,
requests of one month and kind over their KET areas). No function here loops over source
rows, and a page load issues the same statements whatever the amount of data.

Where each figure comes from
----------------------------
``activity_daily`` (the daily summary, kept by the job ``summarise-activity``), for the
two sources that reach millions of rows:

- searches and unmet searches (``demand_signal``: ``metric = 'search'``, ``unmet`` when a
  search found at most :data:`UNMET_MAX_RESULTS` labs), by day, KET area, category and
  country searched for;
- booking requests (``metric = 'booking'``, by the day the booking was requested, every
  status) by day, lab and the requesting organisation's country (demand over time, flows);
  confirmed hours (``metric = 'booked'``, confirmed or completed bookings by the day they
  start) by day, lab and equipment category (utilisation). Lab filters (country, kind, KET
  area, network, the labs a manager manages) are a join to ``lab`` at read time, so one
  summary serves every filter exactly. Each metric keeps only the dimensions read, and
  ``lab_bkg`` / ``lab_hours`` sum them per lab and day for the demand chart and the
  per-lab utilisation;
- without a lab, the lab's country as a dimension, for views with no lab filter but the
  country (a coordinator's usual view): booking requests by requesting and lab country
  (``flow``), confirmed hours by category and lab country (``cat_hours``), and request–lab
  pairs by requesting and lab country (``req_flow``, from ``request_lab``). With any other
  lab filter the flows and the per-category hours come from the per-lab rows and a query
  over the period's requests instead.

The job writes day rows (``grain = 'day'``) and sums them into month rows
(``grain = 'month'``); a dashboard by month reads month rows for the whole months of its
period and day rows for the days before and after them (a year: 11 month rows and about
30 days of day rows per combination instead of 365 days).

Requests (hundreds of thousands a year) feed the requests by kind over time, the matching
figures and the requests per KET area:

- without any lab filter (a coordinator's unfiltered view), days at least a week old and
  summarised by the job's last run come from ``request_daily`` (per day, kind and KET
  area: requests, answered, decided, accepted, declined, ``late`` = no first response
  within 7 days of creation, which is fixed once the 7 days are over; month rows for
  whole months) and
  ``request_hours_daily`` (per day, hour histograms of the time to first response and to
  decision in the fixed buckets :data:`HOUR_BUCKETS`); the requests made since (the last
  week or so) are read live, through the covering index ``ix_lab_request_dashboard``;
- with any lab filter (country, kind, KET area, network, a manager's labs), every figure is
  read live from ``lab_request`` (the covering index, a semi-join through the labs): a
  joint project sent to several labs must count once, and KET areas fall back to the labs'
  when a request names none, so per-day rows without the labs could not answer exactly.

Counts are exact either way (the tests compare both paths). The **medians are interpolated
from the hour buckets** (L + (N/2 − below) / in_bucket × width; medians cannot be summed),
on every view alike, and shown as "≈ N h"; the page says so. With lab filters one more
live query gives the request flows.

Pages are cached per process for ``DASHBOARD_CACHE_SECONDS`` (default 300) per filters
and lab scope (:func:`build_cached`): figures may be that much older than the page. The
network filter only ever names a network the viewer may see (a members-only one they do
not see is refused like a made-up slug), and a committed catalogue or network write in
this process starts new entries (``labnet.caches``, DESIGN rule 9).

The catalogue as it stands (``lab``, ``lab_ket``, ``equipment``, ``opening_hours``; tens of
thousands of rows at most): labs, equipment and bookable hours. Bookable hours of a period
are the lab's weekly opening hours × its bookable equipment (active, not "on request
only") × the period's weeks; blackouts and closed holidays are not subtracted.

Today
-----
The job runs every 15 minutes and always recomputes today (and every day a change since
its previous run touched), so searches, bookings and request flows of today are included
as of its last run; the page says until when ("summarised up to …"). Request figures of
the last week (and, with lab filters, of the whole period) are live; older requests'
answers and decisions reach the unfiltered view at the job's next run.

The job
-------
``summarise_activity`` recomputes whole days: it deletes their rows and inserts them again
from the sources, then re-sums their months, so running it twice changes nothing. The
first run (or ``full=True``, e.g. after a bulk load that wrote no audit events) rebuilds
everything; later runs find the touched days through ``demand_signal.at``,
``lab_request.created_at`` and ``updated_at`` (a response or decision after the day the
request was made: its creation day is summarised again) and the audit events every
booking and request service writes (``ix_audit_event_at``), all indexed. Two runs at once
are serialised: the job runner's lease (``job_lock``) lets one run at a time, and on
PostgreSQL a transaction-scoped advisory lock orders any other writer; SQLite has a single
writer anyway. Everything happens in the caller's one transaction.

Filters
-------
Country, kind of lab, network and the manager's own labs are properties of the lab: they
narrow bookings, utilisation, supply and flows through the lab, and requests through any
of the labs they were sent to. A KET area (an area includes its sub-areas) narrows labs by
their KET areas, requests by their own KET area (or, when they name none, by their labs'),
and searches by the KET area searched for. Searches have no lab: only the KET area and the
country searched for narrow them, and a lab manager (whose view is limited to their labs)
sees no search figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    and_,
    case,
    delete,
    exists,
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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from labnet import caches, permissions
from labnet.dates import parse_day
from labnet.extensions import db
from labnet.models import (
    ActivityDaily,
    ActivitySummaryState,
    AuditEvent,
    Booking,
    DemandSignal,
    Equipment,
    EquipmentCategory,
    KetArea,
    Lab,
    LabKet,
    LabKind,
    OpeningHours,
    Organisation,
    Role,
    User,
    UserRole,
)
from labnet.models.analytics import RequestDaily, RequestHoursDaily
from labnet.models.request import LabRequest, RequestLab
from labnet.services.spreadsheet import safe_cell

UNMET_MAX_RESULTS = 2  # a search that found this many labs or fewer is unmet demand
UNANSWERED_AFTER = timedelta(days=7)
MAX_PERIOD_DAYS = 3 * 366
TOP_ROWS = 50  # long tables (labs, flows, unmet searches) show the first 50 rows
SUMMARY_JOB = "summarise-activity"
DIGEST_JOB = "coordinator-digest"
# Changes committed a little after the previous run started (a request that began before
# it) are caught by looking back this far.
WATERMARK_MARGIN = timedelta(minutes=10)
ACCEPTED_REQUEST = ("accepted", "active", "completed")
CONFIRMED_BOOKING = ("confirmed", "completed")
REQUEST_KINDS = ("access", "service", "joint_project")
REQUEST_KIND_LABELS = {"access": "Access", "service": "Service",
                       "joint_project": "Joint project"}
# Hour buckets of the medians' histograms: bucket i holds [HOUR_BUCKETS[i],
# HOUR_BUCKETS[i + 1]) hours, the last one everything from 4,320 h (180 days) on.
HOUR_BUCKETS = (0, 1, 2, 4, 8, 12, 16, 24, 36, 48, 72, 96, 120, 144, 168, 216, 336, 504,
                720, 1080, 1440, 2160, 4320)


# --- dialect-neutral SQL pieces ---------------------------------------------------------------

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

    @property
    def type(self):
        return self.clauses.clauses[0].type


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


# --- filters ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """A period (``start`` … ``end``, both included, UTC days) and the dashboard's filters.

    ``lab_scope`` limits every lab-side figure to those labs (a select of lab ids: the labs
    a manager manages); ``None`` for coordinators and admins, who see everything."""

    start: date
    end: date
    ket: str = ""
    country: str = ""
    kind: str = ""
    network_id: int | None = None
    lab_scope: Any = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7.0

    @property
    def start_at(self) -> datetime:
        return _at(self.start)

    @property
    def end_at(self) -> datetime:
        """The instant after the period (exclusive)."""
        return _at(self.end + timedelta(days=1))

    @property
    def bucket(self) -> str:
        return "month" if self.days > 92 else "week"

    @property
    def has_lab_filter(self) -> bool:
        return bool(self.country or self.kind or self.ket or self.network_id is not None
                    or self.lab_scope is not None)

    @property
    def searches_visible(self) -> bool:
        """Searches have no lab: a manager's view (their labs only) has none."""
        return self.lab_scope is None


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months up to today."""
    return today - timedelta(days=364), today


def _ket_codes(ket: str) -> Any:
    """The area and its sub-areas (a select of codes)."""
    return select(KetArea.code).where(or_(KetArea.code == ket, KetArea.parent_code == ket))


def _lab_conditions(f: Filters, *, ket: bool = True) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.country:
        conds.append(Lab.country == f.country)
    if f.kind:
        conds.append(Lab.kind_code == f.kind)
    if ket and f.ket:
        conds.append(exists().where(LabKet.lab_id == Lab.id,
                                    LabKet.ket_code.in_(_ket_codes(f.ket))))
    if f.network_id is not None:
        from labnet.models.network import NetworkMember

        conds.append(exists().where(NetworkMember.lab_id == Lab.id,
                                    NetworkMember.network_id == f.network_id,
                                    NetworkMember.status == "accepted"))
    if f.lab_scope is not None:
        conds.append(Lab.id.in_(f.lab_scope))
    return conds


def _lab_ids(f: Filters) -> Any | None:
    conds = _lab_conditions(f)
    return select(Lab.id).where(*conds) if conds else None


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)



def _months_and_days(model: Any, start: date, first: date, after: date, stop: date) -> Any:
    """Summary rows of [start, stop): month rows for the whole months [first, after), day
    rows for the days before and after them."""
    return or_(
        and_(model.grain == "month", model.day >= first, model.day < after),
        and_(model.grain == "day", or_(and_(model.day >= start, model.day < first),
                                       and_(model.day >= after, model.day < stop))))

def _period(f: Filters) -> ColumnElement[bool]:
    """The period over the summary: month rows for the whole months inside it (when the
    dashboard goes by month), day rows for the days before and after them."""
    day_rows = and_(ActivityDaily.grain == "day", ActivityDaily.day >= f.start,
                    ActivityDaily.day <= f.end)
    if f.bucket != "month":
        return day_rows
    first = f.start if f.start.day == 1 else _month_after(f.start)
    after = f.end.replace(day=1) if _month_after(f.end) - timedelta(days=1) != f.end \
        else _month_after(f.end)
    if first >= after:
        return day_rows
    return _months_and_days(ActivityDaily, f.start, first, after, f.end + timedelta(days=1))


# Metrics without a lab: the lab's country is a dimension (``supply_country``).
LABLESS = ("flow", "cat_hours", "req_flow")


def _labless(f: Filters) -> bool:
    """Whether the lab-less rows answer these filters: no lab filter but the country."""
    return not (f.kind or f.ket or f.network_id is not None or f.lab_scope is not None)


def _summary(metric: str, f: Filters) -> list[ColumnElement[bool]]:
    conds = [ActivityDaily.metric == metric, _period(f)]
    if metric in LABLESS:
        if f.country:
            conds.append(ActivityDaily.supply_country == f.country)
    elif metric != "search":
        ids = _lab_ids(f)
        if ids is not None:
            conds.append(ActivityDaily.lab_id.in_(ids))
    else:
        if f.ket:
            conds.append(ActivityDaily.ket_code.in_(_ket_codes(f.ket)))
        if f.country:
            conds.append(ActivityDaily.supply_country == f.country)
        if not f.searches_visible:
            conds.append(false())
    return conds


def _request_conditions(f: Filters) -> list[ColumnElement[bool]]:
    """Requests made in the period, narrowed through their labs and KET area."""
    conds: list[ColumnElement[bool]] = [LabRequest.created_at >= f.start_at,
                                        LabRequest.created_at < f.end_at]
    lab_conds = _lab_conditions(f, ket=False)
    if lab_conds:
        # A semi-join from the labs' side: a manager's three labs find their requests
        # through request_lab's lab index instead of probing every request of the period.
        conds.append(LabRequest.id.in_(
            select(RequestLab.request_id).join(Lab, Lab.id == RequestLab.lab_id)
            .where(*lab_conds)))
    if f.ket:
        conds.append(or_(
            LabRequest.ket_code.in_(_ket_codes(f.ket)),
            and_(LabRequest.ket_code.is_(None), exists().where(
                RequestLab.request_id == LabRequest.id, LabKet.lab_id == RequestLab.lab_id,
                LabKet.ket_code.in_(_ket_codes(f.ket))))))
    return conds


# --- tables -----------------------------------------------------------------------------------

@dataclass
class Table:
    """What one dashboard table shows, cell for cell; the CSV writes exactly this."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    # How the page draws it: chart type, the label column and the value columns.
    chart: str = "bar"
    series: tuple[int, ...] = (1,)


def _pct(part: float | None, whole: float | None) -> float | None:
    if not whole:
        return None
    return round(100.0 * (part or 0) / whole, 1)


def _num(value: Any, digits: int = 1) -> Any:
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else round(value, digits)


def _buckets(f: Filters) -> list[date]:
    """Every bucket (month or week start) the period touches, oldest first."""
    if f.bucket == "month":
        first = f.start.replace(day=1)
        out = []
        while first <= f.end:
            out.append(first)
            first = (first + timedelta(days=32)).replace(day=1)
        return out
    first = f.start - timedelta(days=f.start.weekday())
    return [first + timedelta(weeks=i) for i in range((f.end - first).days // 7 + 1)]


def _hour_bucket(hours: Any) -> ColumnElement[int]:
    """The index of the :data:`HOUR_BUCKETS` bucket holding ``hours`` (SQL)."""
    return case(*((hours < HOUR_BUCKETS[i + 1], i) for i in range(len(HOUR_BUCKETS) - 1)),
                else_=len(HOUR_BUCKETS) - 1)


def _late() -> ColumnElement[bool]:
    """No first response within 7 days of creation (fixed once the 7 days are over)."""
    return or_(LabRequest.first_response_at.is_(None),
               hours_between(LabRequest.created_at, LabRequest.first_response_at)
               > UNANSWERED_AFTER.total_seconds() / 3600)


def summary_cut(f: Filters, now: datetime) -> date:
    """Requests made before this day come from ``request_daily``; those made on it or
    after from ``lab_request``. Only views without lab filters use the summary (a joint
    project sent to several labs must count once, and answers are per request, so per-lab
    rows could not give lab-filtered figures exactly), and only for days that are at least
    a week old (so "a week old" and "unanswered for more than a week" are fixed) and were
    summarised by the job's last run (days before the day it ran)."""
    if f.has_lab_filter:
        return f.start
    state = db.session.get(ActivitySummaryState, SUMMARY_JOB)
    if state is None or state.until is None:
        return f.start
    cut = min((now - UNANSWERED_AFTER).date(), state.until.astimezone(UTC).date())
    return max(f.start, min(cut, f.end + timedelta(days=1)))


@dataclass
class RequestFigures:
    """Per bucket, kind and KET area: requests, answered, decided, accepted, declined, at
    least a week old, and of those unanswered for more than a week (``stats``); and the
    hour histograms of the medians (``hours['first']``, ``hours['decision']``: bucket →
    requests)."""

    stats: list[Any]
    hours: dict[str, dict[int, int]]


def request_stats(f: Filters, *, now: datetime) -> RequestFigures:
    """The period's request figures: summary rows (``request_daily``,
    ``request_hours_daily``) for the days before :func:`summary_cut`, one scan of the
    covering index ``ix_lab_request_dashboard`` for the requests made since (or for the
    whole period with lab filters), and one more for their hour histograms. Feeds the
    demand table, the matching figures and the requests per KET area (a few hundred
    groups, summed in Python)."""
    cut = summary_cut(f, now)
    stats: list[Any] = []
    hours: dict[str, dict[int, int]] = {"first": {}, "decision": {}}
    if cut > f.start:
        b = _bucket(RequestDaily.day, f.bucket)
        in_summary = [_request_period(f, cut)]
        stats += db.session.execute(
            select(b, RequestDaily.kind, func.sum(RequestDaily.n),
                   func.sum(RequestDaily.answered), func.sum(RequestDaily.decided),
                   func.sum(RequestDaily.accepted), func.sum(RequestDaily.declined),
                   func.sum(RequestDaily.n), func.sum(RequestDaily.late), RequestDaily.ket_code)
            .where(*in_summary)
            .group_by(b, RequestDaily.kind, RequestDaily.ket_code)).all()
        for measure, bucket, n in db.session.execute(
                select(RequestHoursDaily.measure, RequestHoursDaily.bucket,
                       func.sum(RequestHoursDaily.n))
                .where(RequestHoursDaily.day >= f.start, RequestHoursDaily.day < cut)
                .group_by(RequestHoursDaily.measure, RequestHoursDaily.bucket)):
            hours[measure][int(bucket)] = hours[measure].get(int(bucket), 0) + int(n or 0)
    conds = [*_request_conditions(f), LabRequest.created_at >= _at(cut)]
    req = _bucket(utc_day(LabRequest.created_at), f.bucket)
    week_ago = now - UNANSWERED_AFTER
    stats += db.session.execute(
        select(req, LabRequest.kind, func.count(),
               func.count(LabRequest.first_response_at),
               func.count(LabRequest.decided_at),
               func.sum(case((LabRequest.status.in_(ACCEPTED_REQUEST), 1), else_=0)),
               func.sum(case((LabRequest.status == "declined", 1), else_=0)),
               func.sum(case((LabRequest.created_at <= week_ago, 1), else_=0)),
               func.sum(case((and_(LabRequest.created_at <= week_ago, _late()), 1),
                             else_=0)),
               LabRequest.ket_code)
        .where(*conds)
        .group_by(req, LabRequest.kind, LabRequest.ket_code)).all()
    first = case((LabRequest.first_response_at.is_(None), -1), else_=_hour_bucket(
        hours_between(LabRequest.created_at, LabRequest.first_response_at)))
    decision = case((LabRequest.decided_at.is_(None), -1), else_=_hour_bucket(
        hours_between(LabRequest.created_at, LabRequest.decided_at)))
    for fb, dbk, n in db.session.execute(
            select(first, decision, func.count()).where(*conds).group_by(first, decision)):
        for measure, bucket in (("first", int(fb)), ("decision", int(dbk))):
            if bucket >= 0:
                hours[measure][bucket] = hours[measure].get(bucket, 0) + int(n)
    return RequestFigures(stats, hours)


def _request_period(f: Filters, cut: date) -> ColumnElement[bool]:
    """``request_daily`` rows for the days ``f.start`` … ``cut`` (excluded): month rows for
    the whole months inside (when the dashboard goes by month), day rows for the rest."""
    day_rows = and_(RequestDaily.grain == "day", RequestDaily.day >= f.start,
                    RequestDaily.day < cut)
    if f.bucket != "month":
        return day_rows
    first = f.start if f.start.day == 1 else _month_after(f.start)
    after = cut.replace(day=1)  # months before cut's month are whole
    if first >= after:
        return day_rows
    return _months_and_days(RequestDaily, f.start, first, after, cut)


def _request_month_rollup(months: Sequence[date] | None) -> Any:
    """``request_daily`` month rows (``day`` = the month's first day) summed from the day
    rows of ``months`` (all if None)."""
    month = month_start(RequestDaily.day)
    where = [RequestDaily.grain == "day"]
    if months is not None:
        where.append(or_(*(and_(RequestDaily.day >= m, RequestDaily.day < _month_after(m))
                           for m in months)))
    cols = ("n", "answered", "decided", "accepted", "declined", "late")
    return insert(RequestDaily.__table__).from_select(
        ["day", "grain", "kind", "ket_code", *cols],
        select(month, literal("month"), RequestDaily.kind, RequestDaily.ket_code,
               *(func.sum(getattr(RequestDaily, c)) for c in cols))
        .where(*where).group_by(month, RequestDaily.kind, RequestDaily.ket_code))


def interpolated_median(counts: dict[int, int]) -> float | None:
    """The median of a histogram over :data:`HOUR_BUCKETS`, interpolated linearly inside
    the bucket holding the middle (L + (N/2 − below) / in_bucket × width); the open last
    bucket gives its lower edge. ``None`` without values."""
    total = sum(counts.values())
    if not total:
        return None
    half, below = total / 2, 0
    for i in sorted(counts):
        n = counts[i]
        if n and below + n >= half:
            low = HOUR_BUCKETS[i]
            if i + 1 >= len(HOUR_BUCKETS):
                return float(low)
            return round(low + (half - below) / n * (HOUR_BUCKETS[i + 1] - low), 1)
        below += n
    return None  # pragma: no cover - the loop always reaches the middle


def demand(f: Filters, stats: Sequence[Any]) -> Table:
    """Searches, booking requests and requests by kind per month (or week)."""
    searches = _bucket(ActivityDaily.day, f.bucket)
    search_rows = db.session.execute(
        select(searches, func.sum(ActivityDaily.n),
               func.sum(case((ActivityDaily.unmet, ActivityDaily.n), else_=0)))
        .where(*_summary("search", f)).group_by(searches)).all()
    bookings = _bucket(ActivityDaily.day, f.bucket)
    booking_rows = db.session.execute(
        select(bookings, func.sum(ActivityDaily.n))
        .where(*_summary("lab_bkg", f)).group_by(bookings)).all()
    by_bucket: dict[date, dict[str, Any]] = {b: {} for b in _buckets(f)}
    for b, n, unmet in search_rows:
        by_bucket.setdefault(_as_date(b), {}).update(searches=n, unmet=unmet)
    for b, n in booking_rows:
        by_bucket.setdefault(_as_date(b), {})["bookings"] = n
    for b, kind, n, *_counts in stats:
        counts = by_bucket.setdefault(_as_date(b), {})
        counts[kind] = counts.get(kind, 0) + n
    fmt = "%Y-%m" if f.bucket == "month" else "%Y-%m-%d"
    show_searches = f.searches_visible
    columns = [("Month" if f.bucket == "month" else "Week of")]
    if show_searches:
        columns += ["Searches", "Unmet searches"]
    columns += ["Booking requests", *(f"{REQUEST_KIND_LABELS[k]} requests" for k in REQUEST_KINDS)]
    rows = []
    for b in sorted(by_bucket):
        v = by_bucket[b]
        row: list[Any] = [b.strftime(fmt)]
        if show_searches:
            row += [int(v.get("searches") or 0), int(v.get("unmet") or 0)]
        row += [int(v.get("bookings") or 0), *(int(v.get(k) or 0) for k in REQUEST_KINDS)]
        rows.append(row)
    return Table("demand", "Demand over time", columns, rows, chart="line",
                 series=tuple(range(1, len(columns))))


def _weekly_hours() -> Any:
    """Per lab: weekly opening hours (correlated scalar subquery)."""
    return (select(func.coalesce(func.sum(time_hours(OpeningHours.opens_at,
                                                     OpeningHours.closes_at)), 0.0))
            .where(OpeningHours.lab_id == Lab.id).scalar_subquery())


def _bookable_equipment() -> Any:
    return (select(func.count(Equipment.id))
            .where(Equipment.lab_id == Lab.id, Equipment.status == "active",
                   Equipment.mode != "request_only").scalar_subquery())


def _supply_labs(f: Filters) -> Any:
    """Published labs passing the filters: id, country, name, equipment, bookable hours in
    the period (a subquery)."""
    return (select(Lab.id.label("lab_id"), Lab.country.label("country"),
                   Lab.name.label("name"), Lab.slug.label("slug"),
                   Lab.equipment_count.label("equipment"),
                   (_weekly_hours() * _bookable_equipment() * f.weeks).label("open_hours"))
            .where(permissions.listed_lab_condition(), *_lab_conditions(f))
            .subquery("supply_labs"))


def supply_by_ket(f: Filters, names: dict[str, str]) -> Table:
    """Labs, equipment and bookable hours per KET area (the top level, or the chosen
    area's sub-areas)."""
    labs = _supply_labs(f)
    if f.ket and f.ket in names and "." not in f.ket:
        area = LabKet.ket_code  # the chosen area's sub-areas
        pairs_where = [KetArea.parent_code == f.ket]
    else:
        area = func.coalesce(KetArea.parent_code, KetArea.code)
        pairs_where = [KetArea.code == f.ket] if f.ket else []
    pairs = (select(LabKet.lab_id.label("lab_id"), area.label("area")).select_from(LabKet)
             .join(KetArea, KetArea.code == LabKet.ket_code).where(*pairs_where)
             .distinct().subquery("pairs"))
    rows = db.session.execute(
        select(pairs.c.area, func.count(), func.sum(labs.c.equipment),
               func.sum(labs.c.open_hours))
        .join(labs, labs.c.lab_id == pairs.c.lab_id).group_by(pairs.c.area)
        .order_by(func.count().desc(), pairs.c.area)).all()
    return Table("supply-ket", "Supply by KET area",
                 ["KET area", "Code", "Labs", "Equipment", "Bookable hours"],
                 [[names.get(a, a), a, n, int(eq or 0), _num(h or 0, 0)]
                  for a, n, eq, h in rows], series=(2, 3))


def supply_by_country(f: Filters) -> Table:
    labs = _supply_labs(f)
    rows = db.session.execute(
        select(labs.c.country, func.count(), func.sum(labs.c.equipment),
               func.sum(labs.c.open_hours))
        .group_by(labs.c.country).order_by(func.count().desc(), labs.c.country)).all()
    from labnet.templating import country_name

    return Table("supply-country", "Supply by country",
                 ["Country", "Code", "Labs", "Equipment", "Bookable hours"],
                 [[country_name(c), c, n, int(eq or 0), _num(h or 0, 0)]
                  for c, n, eq, h in rows], series=(2, 3))


def matching_figures(f: Filters, figures: RequestFigures) -> dict[str, Any]:
    stats = figures.stats
    sums = [sum(int(row[i] or 0) for row in stats) for i in range(2, 9)]
    total, answered, decided, accepted, declined, old, unanswered = sums
    return {"requests": total, "answered": answered, "decided": decided,
            "accepted": accepted, "declined": declined,
            "acceptance_rate": _pct(accepted, accepted + declined),
            "median_first_response_hours": interpolated_median(figures.hours["first"]),
            "median_decision_hours": interpolated_median(figures.hours["decision"]),
            "week_old": old, "unanswered_week": unanswered,
            "unanswered_week_share": _pct(unanswered, old)}


def _approx_hours(value: float | None) -> str | None:
    return None if value is None else f"≈ {display(_num(value))} h"


def matching(f: Filters, figures: RequestFigures) -> tuple[Table, dict[str, Any]]:
    m = matching_figures(f, figures)
    rows = [
        ["Requests made", m["requests"]],
        ["Answered by a lab", m["answered"]],
        ["Accepted", m["accepted"]],
        ["Declined", m["declined"]],
        ["Acceptance rate (%)", m["acceptance_rate"]],
        ["Median time to first response", _approx_hours(m["median_first_response_hours"])],
        ["Median time to decision", _approx_hours(m["median_decision_hours"])],
        ["Requests at least a week old", m["week_old"]],
        ["Unanswered for more than a week", m["unanswered_week"]],
        ["Share unanswered for more than a week (%)", m["unanswered_week_share"]],
    ]
    return Table("matching", "Matching", ["Figure", "Value"], rows, chart="",
                 note="Acceptance rate: accepted ÷ (accepted + declined). A request is "
                      "unanswered for more than a week when no lab answered within 7 days. "
                      "Medians are interpolated from hour buckets (0, 1, 2, 4, 8, 12, 16, 24, "
                      "36, 48, 72, 96 h …), so they are approximate (≈)."), m


def utilisation_by_lab(f: Filters) -> Table:
    labs = _supply_labs(f)
    booked = (select(ActivityDaily.lab_id.label("lab_id"),
                     func.sum(ActivityDaily.hours).label("hours"))
              .where(*_summary("lab_hours", f)).group_by(ActivityDaily.lab_id)
              .subquery("booked"))
    hours = func.coalesce(booked.c.hours, 0.0)
    rows = db.session.execute(
        select(labs.c.name, labs.c.country, hours, labs.c.open_hours)
        .outerjoin(booked, booked.c.lab_id == labs.c.lab_id)
        .order_by(hours.desc(), labs.c.name).limit(TOP_ROWS)).all()
    return Table("utilisation-labs", "Utilisation per lab",
                 ["Lab", "Country", "Confirmed hours", "Open hours", "Utilisation (%)"],
                 [[name, c, _num(h), _num(o, 0), _pct(h, o)] for name, c, h, o in rows],
                 series=(2, 3),
                 note=f"The {TOP_ROWS} labs with the most confirmed hours. Open hours: "
                      "weekly opening hours × bookable equipment × weeks in the period.")


def utilisation_by_category(f: Filters) -> Table:
    ids = _lab_ids(f)
    metric = "cat_hours" if _labless(f) else "booked"
    booked = (select(ActivityDaily.category_code.label("code"),
                     func.sum(ActivityDaily.hours).label("hours"))
              .where(*_summary(metric, f)).group_by(ActivityDaily.category_code)
              .subquery("booked"))
    open_q = (select(Equipment.category_code.label("code"),
                     func.sum(_weekly_hours() * f.weeks).label("hours"))
              .join(Lab, Lab.id == Equipment.lab_id)
              .where(permissions.listed_lab_condition(), Equipment.status == "active",
                     Equipment.mode != "request_only")
              .group_by(Equipment.category_code))
    if ids is not None:
        open_q = open_q.where(Lab.id.in_(ids))
    opened = open_q.subquery("opened")
    hours = func.coalesce(booked.c.hours, 0.0)
    rows = db.session.execute(
        select(EquipmentCategory.name, EquipmentCategory.code, hours, opened.c.hours)
        .outerjoin(booked, booked.c.code == EquipmentCategory.code)
        .outerjoin(opened, opened.c.code == EquipmentCategory.code)
        .where(or_(booked.c.hours.is_not(None), opened.c.hours.is_not(None)))
        .order_by(hours.desc(), EquipmentCategory.name)).all()
    return Table("utilisation-categories", "Utilisation per equipment category",
                 ["Category", "Code", "Confirmed hours", "Open hours", "Utilisation (%)"],
                 [[name, code, _num(h), _num(o or 0, 0), _pct(h, o)]
                  for name, code, h, o in rows], series=(2, 3))


def flows(f: Filters) -> tuple[Table, dict[str, Any]]:
    """Requesting organisation's country → lab's country, over booking requests and
    request–lab pairs. Without lab filters (but the country) both come from the summary's
    lab-less rows; otherwise from its per-lab rows and a query over the period's
    requests."""
    if _labless(f):
        pairs = db.session.execute(
            select(ActivityDaily.metric, ActivityDaily.demand_country,
                   ActivityDaily.supply_country, func.sum(ActivityDaily.n))
            .where(or_(and_(*_summary("flow", f)), and_(*_summary("req_flow", f))))
            .group_by(ActivityDaily.metric, ActivityDaily.demand_country,
                      ActivityDaily.supply_country)).all()
        booking_rows = [(dc, sc, n) for m, dc, sc, n in pairs if m == "flow"]
        request_rows = [(dc, sc, n) for m, dc, sc, n in pairs if m == "req_flow"]
    else:
        booking_rows, request_rows = _lab_flows(f)
    return _flow_table(booking_rows, request_rows)


def _lab_flows(f: Filters) -> tuple[Sequence[Any], Sequence[Any]]:
    booking_rows = db.session.execute(
        select(ActivityDaily.demand_country, Lab.country, func.sum(ActivityDaily.n))
        .join(Lab, Lab.id == ActivityDaily.lab_id)
        .where(*_summary("booking", f))
        .group_by(ActivityDaily.demand_country, Lab.country)).all()
    # Start from the labs' request pairs (ix_request_lab_lab_answer), not from a year of
    # requests (through ix_lab_request_dashboard on SQLite, ix_lab_request_org_created on
    # PostgreSQL, both of which the planners would otherwise prefer): the filtered labs'
    # pairs are materialised first, then their requests are looked up by id.
    pairs = (select(RequestLab.request_id.label("request_id"), Lab.id.label("lab_id"),
                    Lab.country.label("country"))
             .join(Lab, Lab.id == RequestLab.lab_id).where(*_lab_conditions(f, ket=False))
             .cte("lab_pairs").prefix_with("MATERIALIZED", dialect="postgresql"))
    created = unindexed(LabRequest.created_at)
    req_conds = [created >= f.start_at, created < f.end_at]
    if f.ket:
        req_conds.append(or_(LabRequest.ket_code.in_(_ket_codes(f.ket)), and_(
            LabRequest.ket_code.is_(None), exists().where(
                LabKet.lab_id == pairs.c.lab_id, LabKet.ket_code.in_(_ket_codes(f.ket))))))
    request_rows = db.session.execute(
        select(Organisation.country, pairs.c.country, func.count())
        .select_from(pairs)
        .join(LabRequest, LabRequest.id == pairs.c.request_id)
        .join(Organisation, Organisation.id == LabRequest.organisation_id)
        .where(*req_conds).group_by(Organisation.country, pairs.c.country)).all()
    return booking_rows, request_rows


def _flow_table(booking_rows: Sequence[Any], request_rows: Sequence[Any]
                ) -> tuple[Table, dict[str, Any]]:
    merged: dict[tuple[str, str], list[int]] = {}
    for dc, sc, n in booking_rows:
        merged.setdefault((dc or "", sc), [0, 0])[0] += int(n or 0)
    for dc, sc, n in request_rows:
        merged.setdefault((dc or "", sc), [0, 0])[1] += int(n or 0)
    from labnet.templating import country_name

    ordered = sorted(merged.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
    total = sum(b + r for b, r in merged.values())
    cross = sum(b + r for (dc, sc), (b, r) in merged.items() if dc != sc)
    rows = [[country_name(dc) or "Unknown", dc, country_name(sc), sc, b, r, b + r,
             "yes" if dc != sc else "no"] for (dc, sc), (b, r) in ordered[:TOP_ROWS]]
    table = Table("flows", "Flows: demand country → supply country",
                  ["From (demand)", "From code", "To (supply)", "To code", "Booking requests",
                   "Requests", "Interactions", "Cross-border"], rows, chart="",
                  note="Requests count once per lab they were sent to.")
    return table, {"interactions": total, "cross_border": cross,
                   "cross_border_share": _pct(cross, total)}


def unmet(f: Filters, names: dict[str, str], categories: dict[str, str]) -> Table:
    from labnet.templating import country_name

    total = func.sum(ActivityDaily.n)
    rows = db.session.execute(
        select(ActivityDaily.ket_code, ActivityDaily.category_code,
               ActivityDaily.supply_country, total)
        .where(*_summary("search", f), ActivityDaily.unmet.is_(True))
        .group_by(ActivityDaily.ket_code, ActivityDaily.category_code,
                  ActivityDaily.supply_country)
        .order_by(total.desc(), ActivityDaily.ket_code, ActivityDaily.category_code,
                  ActivityDaily.supply_country)
        .limit(TOP_ROWS)).all()
    return Table("unmet", "Unmet demand: searches that found nothing or nearly nothing",
                 ["KET area", "Equipment category", "Country", "Searches"],
                 [[names.get(k, k) if k else "Any", categories.get(c, c) if c else "Any",
                   country_name(s) if s else "Any", int(n)] for k, c, s, n in rows],
                 series=(3,),
                 note=f"Searches that found {UNMET_MAX_RESULTS} labs or fewer, by the KET "
                      "area, category and country searched for.")


def demand_against_supply(f: Filters, stats: Sequence[Any], supply: Table,
                          names: dict[str, str], parents: dict[str, str | None]) -> Table:
    """Requests per KET area (the level the supply table shows) against its labs."""
    sub_level = bool(f.ket and f.ket in names and "." not in f.ket)
    requests: dict[str, int] = {}
    for row in stats:
        code = row[-1]
        if code is None:
            continue
        area = code if sub_level else (parents.get(code) or code)
        requests[area] = requests.get(area, 0) + int(row[2])
    labs = {row[1]: row[2] for row in supply.rows}
    codes = sorted(set(requests) | set(labs),
                   key=lambda c: (-(requests.get(c, 0) - labs.get(c, 0)), c))
    out = []
    for code in codes:
        r, n = requests.get(code, 0), labs.get(code, 0)
        out.append([names.get(code, code), code, r, n,
                    round(r / n, 2) if n else None, "yes" if r > n else "no"])
    return Table("demand-supply", "Demand against supply per KET area",
                 ["KET area", "Code", "Requests", "Labs", "Requests per lab",
                  "Requests outnumber labs"], out, series=(2, 3),
                 note="Requests that name a KET area, against the labs offering it.")


# --- the whole dashboard ----------------------------------------------------------------------

SECTIONS = ("demand", "supply-ket", "supply-country", "matching", "utilisation-labs",
            "utilisation-categories", "flows", "unmet", "demand-supply")


@dataclass
class Dashboard:
    filters: Filters
    tables: dict[str, Table]
    matching: dict[str, Any]
    flows: dict[str, Any]
    totals: dict[str, Any]
    summarised_until: datetime | None


def _names() -> tuple[dict[str, str], dict[str, str], dict[str, str | None]]:
    rows = db.session.execute(
        select(literal("ket"), KetArea.code, KetArea.name, KetArea.parent_code)
        .union_all(select(literal("cat"), EquipmentCategory.code, EquipmentCategory.name,
                          null()))).all()
    kets = {c: n for fam, c, n, _p in rows if fam == "ket"}
    parents = {c: p for fam, c, _n, p in rows if fam == "ket"}
    cats = {c: n for fam, c, n, _p in rows if fam == "cat"}
    return kets, cats, parents


def build(f: Filters, *, now: datetime, only: str | None = None) -> Dashboard:
    """Every table of the dashboard (or only the section ``only``, for its CSV)."""
    kets, cats, parents = _names()
    tables: dict[str, Table] = {}
    match: dict[str, Any] = {}
    flow: dict[str, Any] = {}

    def want(name: str) -> bool:
        return only is None or only == name

    figures = request_stats(f, now=now) \
        if want("demand") or want("matching") or want("demand-supply") \
        else RequestFigures([], {"first": {}, "decision": {}})
    stats = figures.stats
    if want("demand"):
        tables["demand"] = demand(f, stats)
    if want("supply-ket") or want("demand-supply"):
        tables["supply-ket"] = supply_by_ket(f, kets)
    if want("supply-country"):
        tables["supply-country"] = supply_by_country(f)
    if want("matching"):
        tables["matching"], match = matching(f, figures)
    if want("utilisation-labs"):
        tables["utilisation-labs"] = utilisation_by_lab(f)
    if want("utilisation-categories"):
        tables["utilisation-categories"] = utilisation_by_category(f)
    if want("flows"):
        tables["flows"], flow = flows(f)
    if want("unmet") and f.searches_visible:
        tables["unmet"] = unmet(f, kets, cats)
    if want("demand-supply"):
        tables["demand-supply"] = demand_against_supply(f, stats, tables["supply-ket"], kets,
                                                        parents)
    totals: dict[str, Any] = {}
    if "demand" in tables:
        cols = tables["demand"].columns
        for i, col in enumerate(cols[1:], start=1):
            totals[col] = sum(row[i] for row in tables["demand"].rows)
    state = db.session.get(ActivitySummaryState, SUMMARY_JOB) if only is None else None
    return Dashboard(f, tables, match, flow, totals, state.until if state else None)


# --- the per-process cache -----------------------------------------------------------------

CACHE_MAX_ENTRIES = 256


def _cache_key(f: Filters) -> tuple[Any, ...]:
    """The filters, and the labs of the viewer's scope (their ids, read now: a manager who
    gains or loses a lab gets a view of their own at once); ``None`` for everything."""
    scope = None if f.lab_scope is None else tuple(sorted(db.session.scalars(f.lab_scope)))
    # ``network_id`` is only ever a network the viewer may see (:func:`parse_filters`), and
    # a network's figures are the same for everyone who sees it. The generation starts new
    # entries after a catalogue or network write in this process (a membership accepted).
    return (f.start, f.end, f.ket, f.country, f.kind, f.network_id, scope,
            caches.generation())


def build_cached(f: Filters, *, now: datetime, ttl: float, only: str | None = None
                 ) -> Dashboard:
    """:func:`build`, reusing a result computed in this process less than ``ttl`` seconds
    ago (by ``now``) for the same filters and lab scope; ``ttl`` 0 computes every time.

    The whole dashboard is cached per (filters, scope); a section's CSV reuses it when
    present (so a CSV shows what the page showed) and otherwise caches its own section.
    Figures are then at most ``ttl`` seconds old (``DASHBOARD_CACHE_SECONDS``)."""
    if not ttl or ttl <= 0:
        return build(f, now=now, only=only)
    from flask import current_app

    cache: dict[Any, tuple[datetime, Dashboard]] = current_app.extensions.setdefault(
        "labnet.dashboard", {})
    base = _cache_key(f)

    def fresh(key: Any) -> Dashboard | None:
        hit = cache.get(key)
        if hit is not None and timedelta(0) <= now - hit[0] < timedelta(seconds=ttl):
            return hit[1]
        return None

    board = fresh((base, None))
    if board is None and only is not None:
        board = fresh((base, only))
    if board is not None:
        return board
    board = build(f, now=now, only=only)
    if len(cache) >= CACHE_MAX_ENTRIES:  # bounded: drop the oldest quarter
        for old in sorted(cache, key=lambda k: cache[k][0])[:CACHE_MAX_ENTRIES // 4]:
            cache.pop(old, None)
    cache[(base, only)] = (now, board)
    return board


def csv_rows(table: Table) -> list[list[str]]:
    """The table as CSV rows: the header, then each row as the page shows it; a text cell
    (a lab's name) that a spreadsheet would run as a formula gets a leading apostrophe."""

    def cell(value: Any) -> str:
        text = display(value)
        return safe_cell(text) if isinstance(value, str) else text

    return [list(table.columns), *([cell(v) for v in row] for row in table.rows)]


def display(value: Any) -> str:
    """A cell as the page and the CSV show it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else ""
    return str(value)


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
    table = ActivityDaily.__table__
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
        select(r_day, literal("day"), LabRequest.kind, LabRequest.ket_code, func.count(),
               func.count(LabRequest.first_response_at), func.count(LabRequest.decided_at),
               func.sum(case((LabRequest.status.in_(ACCEPTED_REQUEST), 1), else_=0)),
               func.sum(case((LabRequest.status == "declined", 1), else_=0)),
               func.sum(case((_late(), 1), else_=0)))
        .where(*within(LabRequest.created_at))
        .group_by(r_day, LabRequest.kind, LabRequest.ket_code))
    inserts.append(insert(RequestDaily.__table__).from_select(
        ["day", "grain", "kind", "ket_code", "n", "answered", "decided", "accepted",
         "declined", "late"], requests))
    for measure, col in (("first", LabRequest.first_response_at),
                         ("decision", LabRequest.decided_at)):
        bucket = _hour_bucket(hours_between(LabRequest.created_at, col))
        inserts.append(insert(RequestHoursDaily.__table__).from_select(
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
    per_lab = [insert(ActivityDaily.__table__).from_select(cols, select(
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
        labless.append(insert(ActivityDaily.__table__).from_select(cols, select(
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
    return insert(ActivityDaily.__table__).from_select(
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


# --- the weekly digest (job send-coordinator-digest) ------------------------------------------

DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR_UTC = 7


def digest_cutoff(now: datetime) -> datetime:
    """The latest Monday 07:00 UTC at or before ``now``."""
    now = now.astimezone(UTC)
    monday = now.date() - timedelta(days=(now.weekday() - DIGEST_WEEKDAY) % 7)
    cutoff = datetime.combine(monday, time(DIGEST_HOUR_UTC), tzinfo=UTC)
    return cutoff if cutoff <= now else cutoff - timedelta(days=7)


def send_coordinator_digest(*, now: datetime) -> dict[str, Any]:
    """Once a week (first run after Monday 07:00 UTC): every active coordinator gets the
    previous week's figures (Monday to Sunday), plain text and HTML. Flushes only."""
    from labnet.links import external_url
    from labnet.services.notifications import enqueue_email

    cutoff = digest_cutoff(now)
    _serialise_summary_writers()
    state = db.session.get(ActivitySummaryState, DIGEST_JOB, with_for_update=True)
    if state is not None and state.until is not None and state.until >= cutoff:
        return {"sent": 0, "week": None}
    end = cutoff.date() - timedelta(days=1)
    f = Filters(start=end - timedelta(days=6), end=end)
    board = build(f, now=now)
    recipients = db.session.execute(
        select(User.email, User.full_name).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.COORDINATOR, User.is_active.is_(True))
        .order_by(User.email)).all()
    link = external_url("dashboard.index",
                        **{"from": f.start.isoformat(), "to": f.end.isoformat()})
    subject = f"LabNet weekly: demand and supply, {f.start:%d %b} – {f.end:%d %b %Y}"
    for email, name in recipients:
        enqueue_email("coordinator_digest", email, subject,
                      {"name": name, "board": board, "link": link, "display": display},
                      now=now)
    if state is None:
        state = ActivitySummaryState(name=DIGEST_JOB)
        db.session.add(state)
    state.until = cutoff
    state.updated_at = now
    db.session.flush()
    return {"sent": len(recipients), "week": f.start.isoformat()}


def lab_kinds() -> list[tuple[str, str]]:
    return list(db.session.execute(select(LabKind.code, LabKind.name).order_by(LabKind.name))
                .tuples())


def ket_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(KetArea.code, KetArea.name, KetArea.parent_code)
        .order_by(func.coalesce(KetArea.parent_code, KetArea.code),
                  KetArea.parent_code.is_not(None), KetArea.position, KetArea.code)).all()
    return [(c, ("— " if p else "") + n) for c, n, p in rows]


def network_choices(actor: Any) -> list[tuple[str, str]]:
    """The networks the dashboard's filter offers: those ``actor`` may see
    (``permissions.visible_networks``, as on /networks and the catalogue's filter)."""
    return [(n.slug, n.name) for n in db.session.scalars(permissions.visible_networks(actor))]


def network_id(actor: Any, slug: str) -> int | None:
    """The id of the network ``slug`` if ``actor`` may see it; ``None`` for a network that
    does not exist and, alike, for a members-only one they do not see."""
    from labnet.models.network import Network

    return db.session.scalar(select(Network.id).where(
        Network.slug == slug, permissions.network_visible_condition(actor)))


def parse_filters(args: Any, actor: Any, *, today: date
                  ) -> tuple[Filters, dict[str, str], dict[str, str]]:
    """The dashboard's query string (``from``, ``to``, ``ket``, ``country``, ``kind``,
    ``network``) as :class:`Filters`, the errors per field (a bad value falls back to its
    default) and the values to put back in the form."""
    errors: dict[str, str] = {}
    values = {k: (args.get(k) or "").strip()[:40] for k in
              ("from", "to", "ket", "country", "kind", "network")}
    start, end = default_period(today)

    def day(name: str, fallback: date) -> date:
        if not values[name]:
            return fallback
        try:
            return parse_day(values[name])  # bounded: year 9999 would overflow the period
        except ValueError as exc:
            errors[name] = str(exc)
            return fallback

    start, end = day("from", start), day("to", end)
    if start > end:
        errors["to"] = "The end must not be before the start."
        start, end = default_period(today)
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        errors["from"] = "Choose a period of at most three years."
        start, end = default_period(today)
    ket = values["ket"].upper()
    if ket and not db.session.scalar(select(exists().where(KetArea.code == ket))):
        errors["ket"] = "Choose a KET area from the list."
        ket = ""
    country = values["country"].upper()
    if country and (len(country) != 2 or not country.isalpha()):
        errors["country"] = "Choose a country from the list."
        country = ""
    kind = values["kind"]
    if kind and not db.session.scalar(select(exists().where(LabKind.code == kind))):
        errors["kind"] = "Choose a kind of lab from the list."
        kind = ""
    net_id = None
    if values["network"]:
        net_id = network_id(actor, values["network"])
        if net_id is None:
            errors["network"] = "Choose a network from the list."
    values.update(ket=ket, country=country)
    return (Filters(start=start, end=end, ket=ket, country=country, kind=kind,
                    network_id=net_id, lab_scope=permissions.dashboard_lab_scope(actor)),
            errors, values)


# Approximate centroids (latitude, longitude) of the platform's countries, for the flow map.
COUNTRY_CENTROIDS: dict[str, tuple[float, float]] = {
    "AL": (41.15, 20.17), "AT": (47.52, 14.55), "BA": (43.92, 17.68), "BE": (50.50, 4.47),
    "BG": (42.73, 25.49), "CH": (46.82, 8.23), "CY": (35.13, 33.43), "CZ": (49.82, 15.47),
    "DE": (51.17, 10.45), "DK": (56.26, 9.50), "EE": (58.60, 25.01), "ES": (40.46, -3.75),
    "FI": (61.92, 25.75), "FR": (46.23, 2.21), "GB": (54.00, -2.00), "GE": (42.32, 43.36),
    "GR": (39.07, 21.82), "HR": (45.10, 15.20), "HU": (47.16, 19.50), "IE": (53.41, -8.24),
    "IS": (64.96, -19.02), "IT": (41.87, 12.57), "LI": (47.17, 9.56), "LT": (55.17, 23.88),
    "LU": (49.82, 6.13), "LV": (56.88, 24.60), "MD": (47.41, 28.37), "ME": (42.71, 19.37),
    "MK": (41.61, 21.75), "MT": (35.94, 14.38), "NL": (52.13, 5.29), "NO": (60.47, 8.47),
    "PL": (51.92, 19.15), "PT": (39.40, -8.22), "RO": (45.94, 24.97), "RS": (44.02, 21.01),
    "SE": (60.13, 18.64), "SI": (46.15, 14.99), "SK": (48.67, 19.70), "TR": (38.96, 35.24),
    "UA": (48.38, 31.17), "XK": (42.60, 20.90),
}
