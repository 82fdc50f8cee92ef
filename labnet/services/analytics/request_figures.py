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

from .filters import Filters, _request_conditions
from .sql import _at, _bucket, _month_after, _months_and_days, hours_between, utc_day
from .summary import (
    ACCEPTED_REQUEST,
    HOUR_BUCKETS,
    SUMMARY_JOB,
    UNANSWERED_AFTER,
    _hour_bucket,
    _late,
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
