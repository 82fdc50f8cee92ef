"""The figures LabNet already knows of a lab, shown beside its label self-assessment.

Rules owned here: what each figure counts, over the 12 months before ``now``:

- **bookings served**: the lab's bookings confirmed or completed, starting in the period;
- **requests served**: the lab's answers "accepted" to requests made in the period;
- **share from SMEs** and **share from other countries** (trans-regional cooperation):
  of those bookings and requests together, the share whose customer organisation is an
  SME (a company that is not large) or is in another country than the lab;
- **median response time**: from a request's creation to the lab's answer, over the
  requests made in the period that the lab answered, interpolated from the same hour
  buckets as the dashboard (``analytics.interpolated_median``);
- **verified external accreditations**: verified, unexpired accreditations of other
  schemes than the label itself;
- **network memberships**: accepted, not ended memberships of LabNet networks.

One grouped query per figure family (bookings, requests, response histogram,
accreditations, memberships), whatever the lab's volume. The application freezes the
result when it is submitted (``services.accreditation.label``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from sqlalchemy import and_, case, func, or_, select

from labnet.extensions import db
from labnet.i18n import _, _l, locale_object, number
from labnet.models import (
    Accreditation,
    AccreditationStatus,
    Booking,
    Lab,
    LabAnswer,
    LabRequest,
    NetworkMember,
    Organisation,
    OrgKind,
    RequestLab,
    SizeClass,
)
from labnet.services.accreditation.label_framework import SCHEME_CODE
from labnet.services.analytics import hours_between, interpolated_median
from labnet.services.analytics.summary import CONFIRMED_BOOKING, _hour_bucket

PERIOD = timedelta(days=365)

# The figures, in the order shown, with their labels (lazy: read in the reader's language).
LABELS = (
    ("bookings_served", _l("Bookings served")),
    ("requests_served", _l("Requests served (accepted)")),
    ("sme_share", _l("Share from SMEs")),
    ("foreign_share", _l("Share from other countries")),
    ("median_response_hours", _l("Median response time to requests")),
    ("verified_accreditations", _l("Verified external accreditations")),
    ("network_memberships", _l("LabNet network memberships")),
)


def _sme() -> Any:
    return case((and_(Organisation.kind == OrgKind.COMPANY,
                      Organisation.size_class != SizeClass.LARGE), 1), else_=0)


def _foreign(lab: Lab) -> Any:
    return case((Organisation.country != lab.country, 1), else_=0)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def lab_figures(lab: Lab, *, now: datetime) -> dict[str, Any]:
    """The lab's figures of the 12 months before ``now`` (see the module docstring), as a
    JSON-ready dict with the period's first and last day."""
    start = now - PERIOD
    bookings = db.session.execute(
        select(func.count(), func.coalesce(func.sum(_sme()), 0),
               func.coalesce(func.sum(_foreign(lab)), 0))
        .select_from(Booking).join(Organisation, Organisation.id == Booking.organisation_id)
        .where(Booking.lab_id == lab.id, Booking.status.in_(CONFIRMED_BOOKING),
               Booking.start_at >= start, Booking.start_at < now)).one()
    requests = db.session.execute(
        select(func.count(), func.coalesce(func.sum(_sme()), 0),
               func.coalesce(func.sum(_foreign(lab)), 0))
        .select_from(RequestLab).join(LabRequest, LabRequest.id == RequestLab.request_id)
        .join(Organisation, Organisation.id == LabRequest.organisation_id)
        .where(RequestLab.lab_id == lab.id, RequestLab.answer == LabAnswer.ACCEPTED,
               LabRequest.created_at >= start, LabRequest.created_at < now)).one()
    bucket = _hour_bucket(hours_between(LabRequest.created_at, RequestLab.answered_at))
    histogram = {int(b): int(n) for b, n in db.session.execute(
        select(bucket, func.count()).select_from(RequestLab)
        .join(LabRequest, LabRequest.id == RequestLab.request_id)
        .where(RequestLab.lab_id == lab.id, RequestLab.answered_at.is_not(None),
               RequestLab.answered_at <= now,
               LabRequest.created_at >= start, LabRequest.created_at < now)
        .group_by(bucket))}
    today = now.date()
    accreditations = db.session.scalar(
        select(func.count()).select_from(Accreditation).where(
            Accreditation.lab_id == lab.id, Accreditation.scheme_code != SCHEME_CODE,
            Accreditation.status == AccreditationStatus.VERIFIED,
            or_(Accreditation.valid_until.is_(None), Accreditation.valid_until >= today)))
    memberships = db.session.scalar(
        select(func.count()).select_from(NetworkMember).where(
            NetworkMember.lab_id == lab.id, NetworkMember.status == "accepted",
            NetworkMember.ended_at.is_(None)))
    served = int(bookings[0]) + int(requests[0])
    return {
        "period_from": (today - PERIOD).isoformat(),
        "period_to": today.isoformat(),
        "bookings_served": int(bookings[0]),
        "requests_served": int(requests[0]),
        "sme_share": _pct(int(bookings[1]) + int(requests[1]), served),
        "foreign_share": _pct(int(bookings[2]) + int(requests[2]), served),
        "median_response_hours": interpolated_median(histogram),
        "requests_answered": sum(histogram.values()),
        "verified_accreditations": int(accreditations or 0),
        "network_memberships": int(memberships or 0),
    }


def display(key: str, figures: dict[str, Any]) -> str:
    """One figure in words ("—" when there is nothing to measure)."""
    value = figures.get(key)
    if value is None:
        return "—"
    if key.endswith("_share"):
        return f"{number(value)} %"
    if key == "median_response_hours":
        return _("≈ %(hours)s h (of %(answered)s answered)", hours=number(value),
                 answered=number(figures.get("requests_answered", 0)))
    return str(value)


def period_text(figures: dict[str, Any]) -> str:
    """The figures' period in words ("02 Mar 2025 – 02 Mar 2026"), months in the current
    language."""
    def day(value: str) -> str:
        return format_date(date.fromisoformat(value), "dd MMM yyyy", locale=locale_object())
    return f"{day(figures['period_from'])} – {day(figures['period_to'])}"
