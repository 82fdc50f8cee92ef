"""The request figures (requests by kind, matching, requests per KET area): summary rows for
the days before :func:`summary_cut`, live ``lab_request`` rows for the days since (or for the
whole period with lab filters), with the same counts either way; and the medians,
interpolated from the hour buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    case,
    func,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from labnet.extensions import db
from labnet.models import (
    ActivitySummaryState,
)
from labnet.models.analytics import RequestDaily, RequestHoursDaily
from labnet.models.request import LabRequest
from labnet.services.analytics.filters import Filters, _request_conditions
from labnet.services.analytics.sql import _at, _bucket, _month_after, _months_and_days, utc_day
from labnet.services.analytics.summary import (
    HOUR_BUCKETS,
    REQUEST_COUNTS,
    SUMMARY_JOB,
    UNANSWERED_AFTER,
    _late,
    _request_counts,
    _response_bucket,
    _response_measures,
)


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
    figures = RequestFigures([], {"first": {}, "decision": {}})
    if cut > f.start:
        _add_summarised(figures, f, cut)
    _add_live(figures, f, cut, now)
    return figures


def _add_hours(figures: RequestFigures, measure: str, bucket: int, n: int) -> None:
    """Count ``n`` requests into bucket ``bucket`` of the histogram ``measure``."""
    histogram = figures.hours[measure]
    histogram[bucket] = histogram.get(bucket, 0) + n


def _add_summarised(figures: RequestFigures, f: Filters, cut: date) -> None:
    """Add the ``request_daily`` and ``request_hours_daily`` rows of the days before
    ``cut``: the same counts as :func:`_add_live`, summed from the job's rows."""
    b = _bucket(RequestDaily.day, f.bucket)
    counts = [func.sum(getattr(RequestDaily, c)) for c in REQUEST_COUNTS]
    # Days before the cut are at least a week old: every request counts as a week old.
    figures.stats += db.session.execute(
        select(b, RequestDaily.kind, *counts, func.sum(RequestDaily.n),
               func.sum(RequestDaily.late), RequestDaily.ket_code)
        .where(_request_period(f, cut))
        .group_by(b, RequestDaily.kind, RequestDaily.ket_code)).all()
    for measure, bucket, n in db.session.execute(
            select(RequestHoursDaily.measure, RequestHoursDaily.bucket,
                   func.sum(RequestHoursDaily.n))
            .where(RequestHoursDaily.day >= f.start, RequestHoursDaily.day < cut)
            .group_by(RequestHoursDaily.measure, RequestHoursDaily.bucket)):
        _add_hours(figures, measure, int(bucket), int(n or 0))


def _add_live(figures: RequestFigures, f: Filters, cut: date, now: datetime) -> None:
    """Add the requests made from ``cut`` on, read from ``lab_request`` (the covering index
    ``ix_lab_request_dashboard``): the counts the job writes to ``request_daily``, and both
    hour histograms in one more scan."""
    conds = [*_request_conditions(f), LabRequest.created_at >= _at(cut)]
    req = _bucket(utc_day(LabRequest.created_at), f.bucket)
    week_ago = now - UNANSWERED_AFTER
    figures.stats += db.session.execute(
        select(req, LabRequest.kind, *_request_counts(),
               func.sum(case((LabRequest.created_at <= week_ago, 1), else_=0)),
               func.sum(case((and_(LabRequest.created_at <= week_ago, _late()), 1),
                             else_=0)),
               LabRequest.ket_code)
        .where(*conds)
        .group_by(req, LabRequest.kind, LabRequest.ket_code)).all()
    measures = _response_measures()
    # -1: not answered (or not decided) yet, in no histogram.
    buckets = [case((until.is_(None), -1), else_=_response_bucket(until))
               for _measure, until in measures]
    for *row_buckets, n in db.session.execute(
            select(*buckets, func.count()).where(*conds).group_by(*buckets)):
        for (measure, _until), bucket in zip(measures, row_buckets, strict=True):
            if int(bucket) >= 0:
                _add_hours(figures, measure, int(bucket), int(n))


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
