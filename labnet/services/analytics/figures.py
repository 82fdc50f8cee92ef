"""The dashboard's tables, one function per section (demand, supply, matching, utilisation,
flows, unmet demand, demand against supply), each a few SQL aggregates over the summary and
the catalogue, narrowed to the viewer's lab scope (DESIGN rule 6); and how a cell is shown
(:func:`display`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from labnet import permissions
from labnet.extensions import db
from labnet.i18n import _, _l, data_name
from labnet.models import (
    ActivityDaily,
    DemandSignal,
    Equipment,
    EquipmentCategory,
    KetArea,
    Lab,
    LabKet,
    OpeningHours,
    Organisation,
)
from labnet.models.request import LabRequest, RequestLab
from labnet.services.analytics.filters import (
    Filters,
    _ket_codes,
    _lab_conditions,
    _lab_ids,
    _labless,
    _summary,
)
from labnet.services.analytics.request_figures import RequestFigures, interpolated_median
from labnet.services.analytics.sql import _as_date, _bucket, time_hours, unindexed
from labnet.services.analytics.summary import UNMET_MAX_RESULTS
from labnet.services.geo.geocoding import country_name

TOP_ROWS = 50  # long tables (labs, flows, unmet searches) show the first 50 rows
REQUEST_KINDS = ("access", "service", "joint_project")
# The demand table's column per request kind.
REQUEST_KIND_COLUMNS = {"access": _l("Access requests"), "service": _l("Service requests"),
                        "joint_project": _l("Joint project requests")}


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
    # Rows that cover only part of their month or week (the current one "to date"): the
    # page marks them and the chart draws them dashed, so a partial month is no collapse.
    partial: frozenset[int] = frozenset()

    def chart_summary(self) -> str:
        """The chart in one sentence, computed from its rows, for those who cannot see it:
        per drawn column its total and the row with the most ("Requests: 57 in all, most
        Photonics (41)"). Empty when the table draws no chart."""
        if not self.chart or not self.rows:
            return ""
        parts = []
        for i in self.series:
            values = [(row[i], row[0]) for row in self.rows
                      if isinstance(row[i], int | float) and not isinstance(row[i], bool)]
            if not values:
                continue
            top, label = max(values, key=lambda pair: pair[0])  # the first row on a tie
            total = _num(sum(value for value, _label in values))
            parts.append(_("%(column)s: %(total)s in all, most %(label)s (%(top)s)",
                           column=self.columns[i], total=total, label=label, top=_num(top)))
        return "; ".join(parts) + "." if parts else ""


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


def _bucket_end(first: date, bucket: str) -> date:
    """The last day of the month or week starting on ``first``."""
    if bucket == "month":
        return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first + timedelta(days=6)


def _bucket_label(first: date, f: Filters, today: date) -> tuple[str, bool]:
    """A bucket's label and whether the period covers only part of it: the bucket that
    holds today is "to date", one cut by the period's start or end is "partial"."""
    label = first.strftime("%Y-%m" if f.bucket == "month" else "%Y-%m-%d")
    last = _bucket_end(first, f.bucket)
    if first <= today <= last and today <= f.end:
        return _("%(label)s (to date)", label=label), True
    if first < f.start or last > f.end:
        return _("%(label)s (partial)", label=label), True
    return label, False


def _partial_note(f: Filters, today: date) -> str:
    """What the partial buckets of :func:`demand` cover, in days."""
    notes = []
    for first in _buckets(f):
        label, partial = _bucket_label(first, f, today)
        if partial:
            last = min(_bucket_end(first, f.bucket), f.end, max(today, f.start))
            counted = max(0, (last - max(first, f.start)).days + 1)
            whole = (_bucket_end(first, f.bucket) - first).days + 1
            notes.append(_("%(label)s: %(counted)s of %(whole)s days", label=label,
                           counted=counted, whole=whole))
    if not notes:
        return ""
    if f.bucket == "month":
        return _("A month marked “to date” or “partial” counts only some of its days "
                 "(%(notes)s), so it is lower than a whole month; the chart draws it dashed.",
                 notes="; ".join(notes))
    return _("A week marked “to date” or “partial” counts only some of its days "
             "(%(notes)s), so it is lower than a whole week; the chart draws it dashed.",
             notes="; ".join(notes))


def demand(f: Filters, stats: Sequence[Any], today: date) -> Table:
    """Searches, booking requests and requests by kind per month (or week); a month or
    week the period covers only in part (the current one, to date) is marked so."""
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
    show_searches = f.searches_visible
    columns = [_("Month") if f.bucket == "month" else _("Week of")]
    if show_searches:
        columns += [_("Searches"), _("Unmet searches")]
    columns += [_("Booking requests"), *(str(REQUEST_KIND_COLUMNS[k]) for k in REQUEST_KINDS)]
    rows: list[list[Any]] = []
    partial: set[int] = set()
    for b in sorted(by_bucket):
        v = by_bucket[b]
        label, is_partial = _bucket_label(b, f, today)
        if is_partial:
            partial.add(len(rows))
        row: list[Any] = [label]
        if show_searches:
            row += [int(v.get("searches") or 0), int(v.get("unmet") or 0)]
        row += [int(v.get("bookings") or 0), *(int(v.get(k) or 0) for k in REQUEST_KINDS)]
        rows.append(row)
    return Table("demand", _("Demand over time"), columns, rows, chart="line",
                 series=tuple(range(1, len(columns))), partial=frozenset(partial),
                 note=_partial_note(f, today))


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
    area: InstrumentedAttribute[str] | ColumnElement[str]
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
    return Table("supply-ket", _("Supply by KET area"),
                 [_("KET area"), _("Code"), _("Labs"), _("Equipment"), _("Bookable hours")],
                 [[names.get(a, a), a, n, int(eq or 0), _num(h or 0, 0)]
                  for a, n, eq, h in rows], series=(2, 3))


def supply_by_country(f: Filters) -> Table:
    """Labs, equipment and bookable hours per country of the lab."""
    labs = _supply_labs(f)
    rows = db.session.execute(
        select(labs.c.country, func.count(), func.sum(labs.c.equipment),
               func.sum(labs.c.open_hours))
        .group_by(labs.c.country).order_by(func.count().desc(), labs.c.country)).all()

    return Table("supply-country", _("Supply by country"),
                 [_("Country"), _("Code"), _("Labs"), _("Equipment"), _("Bookable hours")],
                 [[country_name(c), c, n, int(eq or 0), _num(h or 0, 0)]
                  for c, n, eq, h in rows], series=(2, 3))


def matching_figures(f: Filters, figures: RequestFigures) -> dict[str, Any]:
    """Sum the request figures into the matching figures: counts, rates and medians."""
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
    """The matching table (answers, decisions, medians) and its figures."""
    m = matching_figures(f, figures)
    rows = [
        [_("Requests made"), m["requests"]],
        [_("Answered by a lab"), m["answered"]],
        [_("Accepted"), m["accepted"]],
        [_("Declined"), m["declined"]],
        [_("Acceptance rate (%)"), m["acceptance_rate"]],
        [_("Median time to first response"), _approx_hours(m["median_first_response_hours"])],
        [_("Median time to decision"), _approx_hours(m["median_decision_hours"])],
        [_("Requests at least a week old"), m["week_old"]],
        [_("Unanswered for more than a week"), m["unanswered_week"]],
        [_("Share unanswered for more than a week (%)"), m["unanswered_week_share"]],
    ]
    return Table("matching", _("Matching"), [_("Figure"), _("Value")], rows, chart="",
                 note=_("Acceptance rate: accepted ÷ (accepted + declined). A request is "
                        "unanswered for more than a week when no lab answered within 7 days. "
                        "Medians are interpolated from hour buckets (0, 1, 2, 4, 8, 12, 16, "
                        "24, 36, 48, 72, 96 h …), so they are approximate (≈).")), m


def utilisation_by_lab(f: Filters) -> Table:
    """Confirmed hours against open hours for the labs with the most confirmed hours."""
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
    return Table("utilisation-labs", _("Utilisation per lab"),
                 [_("Lab"), _("Country"), _("Confirmed hours"), _("Open hours"),
                  _("Utilisation (%)")],
                 [[name, c, _num(h), _num(o, 0), _pct(h, o)] for name, c, h, o in rows],
                 series=(2, 3),
                 note=_("The %(num)d labs with the most confirmed hours. Open hours: weekly "
                        "opening hours × bookable equipment × weeks in the period.",
                        num=TOP_ROWS))


def utilisation_by_category(f: Filters) -> Table:
    """Confirmed hours against open hours per equipment category."""
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
    return Table("utilisation-categories", _("Utilisation per equipment category"),
                 [_("Category"), _("Code"), _("Confirmed hours"), _("Open hours"),
                  _("Utilisation (%)")],
                 [[data_name("equipment_categories", code, name), code, _num(h),
                   _num(o or 0, 0), _pct(h, o)]
                  for name, code, h, o in rows], series=(2, 3))


def flows(f: Filters) -> tuple[Table, dict[str, Any]]:
    """Requesting organisation's country → lab's country, over booking requests and
    request–lab pairs. Without lab filters (but the country) both come from the summary's
    lab-less rows; otherwise from its per-lab rows and a query over the period's
    requests."""
    booking_rows: Sequence[Any]
    request_rows: Sequence[Any]
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

    ordered = sorted(merged.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
    total = sum(b + r for b, r in merged.values())
    cross = sum(b + r for (dc, sc), (b, r) in merged.items() if dc != sc)
    rows = [[country_name(dc) or _("Unknown"), dc, country_name(sc), sc, b, r, b + r,
             _("yes") if dc != sc else _("no")] for (dc, sc), (b, r) in ordered[:TOP_ROWS]]
    table = Table("flows", _("Flows: demand country → supply country"),
                  [_("From (demand)"), _("From code"), _("To (supply)"), _("To code"),
                   _("Booking requests"), _("Requests"), _("Interactions"),
                   _("Cross-border")], rows, chart="",
                  note=_("Requests count once per lab they were sent to."))
    return table, {"interactions": total, "cross_border": cross,
                   "cross_border_share": _pct(cross, total)}


def _searched_for(words: str, ket: str, category: str, country: str) -> str:
    """One unmet search in words: “the words” and the filters, or "filters only"."""
    parts = [f"“{words}”"] if words else []
    parts += [p for p in (ket, category, country) if p]
    return " · ".join(parts) if parts else _("(no words, no filters)")


def unmet(f: Filters, names: dict[str, str], categories: dict[str, str]) -> Table:
    """The most frequent searches that found few labs: the words searched (trimmed, in
    lower case, so "Cryo TEM" and "cryo tem " count together) and the KET area, category
    and country filters, read from ``demand_signal`` through ``ix_demand_signal_results_at``
    (one range per result count, a minority of searches; the summary keeps no words)."""
    words = func.lower(func.trim(DemandSignal.query_text))
    conds: list[ColumnElement[bool]] = [
        DemandSignal.result_count.in_(range(UNMET_MAX_RESULTS + 1)),
        DemandSignal.at >= f.start_at, DemandSignal.at < f.end_at]
    if f.ket:
        conds.append(DemandSignal.ket_code.in_(_ket_codes(f.ket)))
    if f.country:
        conds.append(DemandSignal.country_filter == f.country)
    total = func.count()
    rows = db.session.execute(
        select(words, DemandSignal.ket_code, DemandSignal.category_code,
               DemandSignal.country_filter, total)
        .where(*conds)
        .group_by(words, DemandSignal.ket_code, DemandSignal.category_code,
                  DemandSignal.country_filter)
        .order_by(total.desc(), words, DemandSignal.ket_code, DemandSignal.category_code,
                  DemandSignal.country_filter)
        .limit(TOP_ROWS)).all()
    out = []
    for q, k, c, s, n in rows:
        ket, cat = (names.get(k, k) if k else ""), (categories.get(c, c) if c else "")
        country = country_name(s) if s else ""
        out.append([_searched_for(q or "", ket, cat, country), q or "", ket, cat, country,
                    int(n)])
    return Table("unmet", _("Unmet demand: searches that found nothing or nearly nothing"),
                 [_("Searched for"), _("Words"), _("KET area"), _("Equipment category"),
                  _("Country"), _("Searches")], out, series=(5,),
                 note=_("Searches that found %(num)d labs or fewer, grouped by the words "
                        "searched (ignoring case) and the KET area, category and country "
                        "chosen; an empty cell is a filter not used. Counted live, so they "
                        "may include searches newer than the summary above.",
                        num=UNMET_MAX_RESULTS))


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
    # The average pressure: all requests of these areas per lab offering them.
    total_labs = sum(labs.values())
    average = sum(requests.values()) / total_labs if total_labs else None

    def per_lab(code: str) -> float:
        r, n = requests.get(code, 0), labs.get(code, 0)
        return r / n if n else (math.inf if r else 0.0)

    codes = sorted(set(requests) | set(labs), key=lambda c: (-per_lab(c), c))
    out = []
    for code in codes:
        r, n = requests.get(code, 0), labs.get(code, 0)
        ratio = r / n if n else None
        out.append([names.get(code, code), code, r, n,
                    None if ratio is None else round(ratio, 2),
                    None if ratio is None or not average else round(ratio / average, 2)])
    return Table("demand-supply", _("Demand against supply per KET area"),
                 [_("KET area"), _("Code"), _("Requests"), _("Labs"), _("Requests per lab"),
                  _("Against the average (×)")], out, series=(2, 3),
                 note=_("Requests that name a KET area, against the labs offering it. "
                        "Requests per lab = requests ÷ labs; against the average = that "
                        "figure ÷ the requests per lab over all the areas listed (1 = "
                        "average, 2 = twice as many requests per lab as the average area, "
                        "0.5 = half). Empty: no lab offers the area (the areas most in "
                        "need come first)."))


def display(value: Any) -> str:
    """A cell as the page and the CSV show it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else ""
    return str(value)


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
