"""What a completed booking used and what it is charged, and the usage export for invoicing.

Rules owned here:
- Usage is recorded by the booking lab's managers on a **completed** booking: the hours
  actually used (default: the booked length) and the amount charged.
- The amount charged is computed from the rate applied, at the price agreed on approval
  (``final_price / units`` per unit, which is ``rate_applied`` unless the manager set
  another price): hourly equipment per hour used, to the cent; half-day and day equipment
  per unit started. A manager may charge another amount, with a reason.
- The export lists the completed bookings of the labs the actor manages whose start falls
  in a month (lab time), by customer organisation: organisation, booking reference,
  equipment, dates, booked hours, actual hours, rate kind, price charged, currency. A
  booking without recorded usage is charged its agreed price for its booked hours. Cells
  pass the spreadsheet formula guard (``services.common.spreadsheet``).
- Recording usage mails nobody: it is the lab's bookkeeping; the customer sees it on the
  booking's page and on the lab's invoice.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l, number
from labnet.models import Organisation, User
from labnet.models.booking import RATE_KIND_LABELS, Booking, BookingStatus
from labnet.permissions import can_decide_booking, can_export_usage, managed_bookings, require
from labnet.services.booking.availability import utc_to_local
from labnet.services.booking.engine import get_booking_for_update, status_text
from labnet.services.common import audit
from labnet.services.common.spreadsheet import safe_cell

CENT = Decimal("0.01")
MAX_HOURS = Decimal(10000)
MAX_AMOUNT = Decimal(10) ** 10


def booked_hours(booking: Booking) -> Decimal:
    """The booked length in real hours (an autumn night's hour booking counts its two)."""
    seconds = Decimal(int((booking.end_at - booking.start_at).total_seconds()))
    return (seconds / 3600).quantize(CENT)


def agreed(booking: Booking) -> Decimal:
    """The price agreed on approval, or the estimate for bookings from before it existed."""
    return Decimal(booking.final_price if booking.final_price is not None
                   else booking.price_estimate)


def charge_for(booking: Booking, actual_hours: Decimal) -> Decimal:
    """What ``actual_hours`` of ``booking`` cost at the agreed price per unit."""
    per_unit = agreed(booking) / booking.units
    if booking.unit == "hour":
        used = actual_hours
    else:
        unit_hours = booked_hours(booking) / booking.units
        used = Decimal(math.ceil(actual_hours / unit_hours)) if unit_hours else Decimal(0)
    return (per_unit * used).quantize(CENT)


def _amount_messages(field: str, limit: Decimal) -> tuple[str, str, str]:
    """The refusals of an amount field (negative, too precise or too large, not a number),
    each a whole sentence in the current language."""
    below = number(int(limit.quantize(Decimal(1))))
    if field == "actual_hours":
        return (_("The hours used cannot be negative."),
                _("Give the hours used with two decimals at most, below %(limit)s.",
                  limit=below),
                _("Give the hours used as a number."))
    return (_("The amount charged cannot be negative."),
            _("Give the amount charged with two decimals at most, below %(limit)s.",
              limit=below),
            _("Give the amount charged as a number."))


def _amount(value: Decimal, field: str, limit: Decimal) -> Decimal:
    negative, precise, number = _amount_messages(field, limit)
    try:
        if value < 0:
            raise RuleViolation(field, negative)
        if value != value.quantize(CENT) or value >= limit:
            raise RuleViolation(field, precise)
    except InvalidOperation as exc:
        raise RuleViolation(field, number) from exc
    return value


def record_usage(actor: User, booking_id: int, actual_hours: Decimal | None,
                 charged: Decimal | None, reason: str, *, now: datetime) -> Booking:
    """A manager records what a completed booking used and what it is charged.

    ``actual_hours`` None: the booked length. ``charged`` None: computed
    (:func:`charge_for`); another amount needs ``reason``. Recording again replaces the
    previous figures (audited each time).

    :raises PermissionDenied: unless the actor manages the booking's lab.
    :raises RuleViolation: ``status`` unless completed; ``actual_hours`` / ``charged``
        negative or over-precise; ``charge_reason`` missing for an overridden amount.
    """
    booking = get_booking_for_update(booking_id)
    require(can_decide_booking, actor, booking)
    if booking.status != BookingStatus.COMPLETED:
        raise RuleViolation("status", _(
            "This booking is %(status)s; usage is recorded once a booking is completed.",
            status=status_text(booking.status)))
    hours = booked_hours(booking) if actual_hours is None else \
        _amount(actual_hours, "actual_hours", MAX_HOURS)
    computed = charge_for(booking, hours)
    reason = " ".join(reason.split())[:500]
    amount = computed if charged is None else \
        _amount(charged, "charged", MAX_AMOUNT)
    if amount != computed and not reason:
        raise RuleViolation("charge_reason", _(
            "Say why you charge another amount than the %(amount)s %(currency)s computed from "
            "the rate applied.", amount=computed, currency=booking.currency))
    booking.actual_hours, booking.charged = hours, amount
    booking.charge_reason = reason if amount != computed else ""
    booking.usage_recorded_at = now
    booking.updated_at = now
    db.session.flush()
    audit.record(actor, "booking.usage_recorded", "booking", booking.id, now=now,
                 actual_hours=str(hours), charged=str(amount), reason=booking.charge_reason)
    db.session.flush()
    return booking


@dataclass(frozen=True)
class UsageRow:
    """One line of the usage export."""

    organisation: str
    reference: str
    equipment: str
    lab: str
    start: datetime  # lab wall clock, aware
    end: datetime
    booked_hours: Decimal
    actual_hours: Decimal
    rate_kind: str
    charged: Decimal
    currency: str
    recorded: bool


def parse_month(value: str | None, *, today: date) -> date:
    """``YYYY-MM`` as the first of that month (default: the current month).

    :raises RuleViolation: ``month`` when it is not such a month between 2000 and 2100.
    """
    if not value:
        return today.replace(day=1)
    try:
        month = datetime.strptime(value.strip()[:7], "%Y-%m").date()
    except ValueError as exc:
        raise RuleViolation("month", _("Give the month like 2026-03.")) from exc
    if not 2000 <= month.year <= 2100 or len(value.strip()) != 7:
        raise RuleViolation("month", _("Give the month like 2026-03, between 2000 and 2100."))
    return month


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def usage_rows(actor: User, month: date, organisation_id: int | None = None) -> list[UsageRow]:
    """The completed bookings of the actor's labs starting in ``month`` (lab time), by
    customer organisation, then start (one query)."""
    require(can_export_usage, actor)
    # Every zone's month lies within these UTC bounds; each row is then kept by its own
    # lab's calendar.
    low = datetime.combine(month, datetime.min.time(), tzinfo=UTC) - timedelta(hours=14)
    high = datetime.combine(_next_month(month), datetime.min.time(), tzinfo=UTC) \
        + timedelta(hours=12)
    stmt = (managed_bookings(actor)
            .join(Organisation, Organisation.id == Booking.organisation_id)
            .where(Booking.status == BookingStatus.COMPLETED, Booking.start_at >= low,
                   Booking.start_at < high)
            .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                     joinedload(Booking.organisation))
            .order_by(Organisation.name, Booking.start_at, Booking.id))
    if organisation_id is not None:
        stmt = stmt.where(Booking.organisation_id == organisation_id)
    rows = []
    for b in db.session.scalars(stmt).unique():
        zone = ZoneInfo(b.lab.timezone)
        start = b.start_at.astimezone(zone)
        if (start.year, start.month) != (month.year, month.month):
            continue
        recorded = b.usage_recorded_at is not None
        rows.append(UsageRow(
            organisation=b.organisation.name, reference=b.reference or "",
            equipment=b.equipment.name, lab=b.lab.name, start=start,
            end=utc_to_local(b.end_at, b.lab.timezone), booked_hours=booked_hours(b),
            actual_hours=Decimal(b.actual_hours) if recorded and b.actual_hours is not None
            else booked_hours(b),
            rate_kind=b.rate_kind,
            charged=Decimal(b.charged) if recorded and b.charged is not None else agreed(b),
            currency=b.currency, recorded=recorded))
    return rows


# The export's column headers, read in the reader's language when written.
USAGE_HEADER = (_l("organisation"), _l("booking reference"), _l("equipment"), _l("lab"),
                _l("start (lab time)"), _l("end (lab time)"), _l("booked hours"),
                _l("actual hours"), _l("rate kind"), _l("price charged"), _l("currency"),
                _l("usage recorded"))


def usage_csv(rows: list[UsageRow]) -> str:
    """The usage rows as CSV text (the caller adds the BOM), formula-guarded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(header) for header in USAGE_HEADER])
    for r in rows:
        writer.writerow([
            safe_cell(r.organisation), safe_cell(r.reference), safe_cell(r.equipment),
            safe_cell(r.lab), f"{r.start:%Y-%m-%d %H:%M}", f"{r.end:%Y-%m-%d %H:%M}",
            f"{r.booked_hours:.2f}", f"{r.actual_hours:.2f}",
            str(RATE_KIND_LABELS.get(r.rate_kind, r.rate_kind)), f"{r.charged:.2f}", r.currency,
            _("yes") if r.recorded else _("no (booked figures)"),
        ])
    return out.getvalue()


def customer_organisations(actor: User) -> list[tuple[int, str]]:
    """(id, name) of the organisations that booked the actor's labs, for the export's
    picker."""
    require(can_export_usage, actor)
    sub = managed_bookings(actor).with_only_columns(Booking.organisation_id).distinct()
    return list(db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(sub))
        .order_by(Organisation.name)).tuples())
