"""The booking engine: every write to a booking goes through here.

Rules owned here, and only here:
- DESIGN rule 1: no two pending or confirmed bookings of one piece of equipment overlap,
  set-up buffer included. Every writer first bumps ``equipment.booking_seq`` (the
  equipment's row lock: SQLite's write lock, PostgreSQL's row lock), then checks, then
  writes; the database backstops with an exclusion constraint (PostgreSQL) or triggers
  (SQLite). A conflict found either way is :class:`SlotTaken`, never a 500.
- DESIGN rule 2: opening hours, blackouts, lead time, advance window, minimum and maximum
  length, alignment to the booking unit, active equipment, not request-only. Each refusal
  is a :class:`RuleViolation` naming its field and rule in words.
- DESIGN rule 8: a lab without an active manager takes no bookings
  (:func:`require_managed_lab`, before the other rules, for the preview and the booking
  alike, so every path obeys it).
- Training that qualifies: booking self-service equipment needs the qualifications it
  requires, valid at the start (``services.training.qualifications.require_qualifications``);
  operator-assisted equipment needs none.
- DESIGN rule 3: instants are UTC; the rules are evaluated in the lab's zone
  (``services.booking.availability``).
- State changes are compare-and-set on the status, so two job runners or two managers act
  once; each writes an audit event and its e-mail in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, Select, and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from labnet.dates import RANGE_MESSAGE, in_range
from labnet.errors import NotFound, PermissionDenied, RuleViolation, SlotTaken
from labnet.extensions import db
from labnet.i18n import _, _l, localtime, ngettext
from labnet.models import Equipment, EquipmentMode, EquipmentStatus, Lab, Organisation, User
from labnet.models.booking import (
    ACTIVE_STATUSES,
    BOOKING_STATUS_LABELS,
    Blackout,
    Booking,
    BookingStatus,
)
from labnet.permissions import (
    booking_cancel_deadline,
    can_book,
    can_decide_booking,
    can_manage_lab,
    can_view_booking,
    can_view_equipment,
    can_view_lab,
    managed_bookings,
    require,
    visible_bookings,
)
from labnet.services.booking import free_days
from labnet.services.booking.availability import (
    clock_change_note,
    count_units,
    describe_hours,
    utc_to_local,
    within_opening_hours,
)
from labnet.services.catalogue.labs.team import is_managed, manager_addresses
from labnet.services.common import audit
from labnet.services.common.text import squashed_text
from labnet.services.notifications.outbox import enqueue_email
from labnet.services.training.qualifications import require_qualifications


@dataclass(frozen=True)
class Quote:
    """What a booking would cost: shown before confirming and stored with the booking."""

    unit: str
    units: int
    rate_kind: str  # "academic" | "sme" | "industry"
    rate: Decimal
    total: Decimal
    currency: str
    # Set when the lab's clocks change during an hourly booking: its real length, in words.
    clock_change: str = ""


def _lock_equipment(equipment_id: int) -> None:
    # The first write of the transaction: every booking writer of this equipment queues
    # here, so the checks below see every committed booking (RELIABILITY §1.2: checks
    # without this lock let 70 of 200 concurrent overlapping requests through).
    # An UPDATE answers a CursorResult (its rowcount); Session.execute is typed as any Result.
    result = cast(CursorResult[Any], db.session.execute(
        update(Equipment)
        .where(Equipment.id == equipment_id)
        .values(booking_seq=Equipment.booking_seq + 1)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise NotFound(equipment_id)


def _load_equipment(equipment_id: int) -> Equipment:
    equipment = db.session.scalar(
        select(Equipment)
        .options(joinedload(Equipment.lab).selectinload(Lab.opening_hours))
        .where(Equipment.id == equipment_id)
        .execution_options(populate_existing=True)
    )
    if equipment is None:
        raise NotFound(equipment_id)
    return equipment


def rate_for(equipment: Equipment, organisation: Organisation | None) -> tuple[str, Decimal]:
    """The rate an organisation pays for ``equipment`` and its kind: the academic rate for
    academic organisations (``Organisation.is_academic``) when the lab set one, the SME
    rate for SMEs, the industry (standard) rate for everyone else — an academic customer
    of equipment without an academic rate included."""
    if organisation is not None and organisation.is_academic \
            and equipment.rate_academic is not None:
        return "academic", Decimal(equipment.rate_academic)
    if organisation is not None and organisation.is_sme:
        return "sme", Decimal(equipment.rate_sme)
    return "industry", Decimal(equipment.rate_industry)


def quote(equipment: Equipment, organisation: Organisation | None, start_at: datetime,
          end_at: datetime) -> Quote:
    """The price of [start_at, end_at) at the organisation's rate (:func:`rate_for`).

    :raises RuleViolation: when the interval is not aligned to the booking unit.
    """
    units = count_units(start_at, end_at, equipment.booking_unit, equipment.lab.timezone)
    kind, rate = rate_for(equipment, organisation)
    note = (clock_change_note(start_at, end_at, equipment.lab.timezone)
            if equipment.booking_unit == "hour" else "")
    return Quote(unit=equipment.booking_unit, units=units, rate_kind=kind, rate=rate,
                 total=rate * units, currency=equipment.currency, clock_change=note)


def status_text(status: str) -> str:
    """A booking status in words, in the current language ("no show" for no_show)."""
    return str(BOOKING_STATUS_LABELS.get(status, status.replace("_", " ")))


def _lab_time(at: datetime, zone: str) -> str:
    """``at`` on the lab's clock, in the current language's format (English: ISO order)."""
    return localtime(at, zone)


# Reasons stored on a booking by LabNet itself (``decision_reason``, the audit's ``reason``):
# kept in English in the database and put into the reader's language by
# :func:`reason_text` when shown.
EXPIRED_REASON = "Nobody decided before the hold ran out."  # i18n: keep
NO_SHOW_REASON = "Marked as a no-show by the lab."  # i18n: keep
BLACKOUT_PREFIX = "Blackout: "  # i18n: keep


def reason_text(text: str | None) -> str:
    """A stored decision reason for people: LabNet's own ones in the current language,
    what a person typed as it was typed."""
    text = text or ""
    if text == EXPIRED_REASON:
        return _("Nobody decided before the hold ran out.")
    if text == NO_SHOW_REASON:
        return _("Marked as a no-show by the lab.")
    if text.startswith(BLACKOUT_PREFIX):
        return _("Blackout: %(reason)s", reason=text[len(BLACKOUT_PREFIX):])
    return text


def _too_short(count: int, unit: str) -> str:
    if unit == "hour":
        return ngettext("Too short: the minimum is %(num)d hour.",
                        "Too short: the minimum is %(num)d hours.", count)
    if unit == "half_day":
        return ngettext("Too short: the minimum is %(num)d half day.",
                        "Too short: the minimum is %(num)d half days.", count)
    return ngettext("Too short: the minimum is %(num)d day.",
                    "Too short: the minimum is %(num)d days.", count)


def _too_long(count: int, unit: str) -> str:
    if unit == "hour":
        return ngettext("Too long: the maximum is %(num)d hour.",
                        "Too long: the maximum is %(num)d hours.", count)
    if unit == "half_day":
        return ngettext("Too long: the maximum is %(num)d half day.",
                        "Too long: the maximum is %(num)d half days.", count)
    return ngettext("Too long: the maximum is %(num)d day.",
                    "Too long: the maximum is %(num)d days.", count)


def _hours(lab: Lab) -> list[tuple[int, Any, Any]]:
    return [(h.weekday, h.opens_at, h.closes_at) for h in lab.opening_hours]


def check_rules(equipment: Equipment, start_at: datetime, end_at: datetime, *,
                now: datetime) -> int:
    """Every DESIGN rule 2 check for [start_at, end_at) on ``equipment``; returns units.

    :raises RuleViolation: naming the rule broken (field ``start_at``, ``end_at`` or
        ``equipment``).
    """
    lab = equipment.lab
    zone = lab.timezone
    if equipment.status != EquipmentStatus.ACTIVE:
        raise RuleViolation("equipment", _("This equipment is not available for booking "
                                           "(status: %(status)s).", status=equipment.status))
    if equipment.mode == EquipmentMode.REQUEST_ONLY:
        raise RuleViolation("equipment", _("This equipment is used on request only: send the "
                                           "lab a service request instead of booking a slot."))
    if end_at <= start_at:
        raise RuleViolation("end_at", _("The end must be after the start."))
    units = count_units(start_at, end_at, equipment.booking_unit, zone)
    if start_at < now + timedelta(hours=lab.min_lead_hours):
        earliest = utc_to_local(now + timedelta(hours=lab.min_lead_hours), zone)
        raise RuleViolation("start_at", ngettext(
            "Too soon: this lab needs %(num)d hour's notice (earliest %(earliest)s lab time).",
            "Too soon: this lab needs %(num)d hours' notice (earliest %(earliest)s lab time).",
            lab.min_lead_hours, earliest=_lab_time(earliest, zone)))
    if start_at > now + timedelta(days=lab.max_advance_days):
        raise RuleViolation("start_at", ngettext(
            "Too far ahead: this lab takes bookings at most %(num)d day in advance.",
            "Too far ahead: this lab takes bookings at most %(num)d days in advance.",
            lab.max_advance_days))
    if units < equipment.min_units:
        raise RuleViolation("end_at", _too_short(equipment.min_units, equipment.booking_unit))
    if units > equipment.max_units:
        raise RuleViolation("end_at", _too_long(equipment.max_units, equipment.booking_unit))
    hours = _hours(lab)
    if not within_opening_hours(start_at, end_at, equipment.booking_unit, hours, zone):
        raise RuleViolation("start_at", _("Outside opening hours: the lab is open %(hours)s.",
                                          hours=describe_hours(hours, zone)))
    blackout = db.session.scalar(
        select(Blackout).where(
            Blackout.lab_id == lab.id,
            or_(Blackout.equipment_id.is_(None), Blackout.equipment_id == equipment.id),
            Blackout.start_at < end_at,
            Blackout.end_at > start_at,
        ).limit(1)
    )
    if blackout is not None:
        raise RuleViolation("start_at", _(
            "In a blackout: %(reason)s (%(start)s – %(end)s lab time).", reason=blackout.reason,
            start=_lab_time(blackout.start_at, zone), end=_lab_time(blackout.end_at, zone)))
    return units


def require_managed_lab(lab: Lab) -> None:
    """DESIGN rule 8: a lab without an active manager takes no bookings, since nobody
    would decide on them (services.catalogue.labs.team.is_managed).

    :raises RuleViolation: on ``equipment``, in words that say what to do instead.
    """
    if not is_managed(lab.id):
        raise RuleViolation("equipment", _(
            "Booking opens when the lab is managed on LabNet: nobody at %(lab)s can confirm "
            "bookings here yet. Use “Tell me when” on the lab's page to hear when it can.",
            lab=lab.name))


def _overlap_exists(equipment: Equipment, start_at: datetime, end_at: datetime,
                    exclude_id: int | None = None) -> bool:
    blocked_start = start_at - timedelta(minutes=equipment.buffer_minutes)
    cond = and_(
        Booking.equipment_id == equipment.id,
        Booking.status.in_([s.value for s in ACTIVE_STATUSES]),
        Booking.blocked_start < end_at,
        Booking.end_at > blocked_start,
    )
    if exclude_id is not None:
        cond = and_(cond, Booking.id != exclude_id)
    return bool(db.session.scalar(select(exists().where(cond))))


def booking_why(booking: Booking, address: str) -> Any:
    """Why ``address`` receives mail about ``booking``: it asked for it, or it manages the
    lab (the e-mail layout prints it at the foot; lazy: read in the recipient's language)."""
    if address == booking.requester.email:
        return _l("You receive this because you requested booking %(ref)s on LabNet.",
                  ref=booking.reference)
    return _l("You receive this because you manage %(lab)s on LabNet.", lab=booking.lab.name)


def _mail(kind: str, to: list[str], subject: Any, booking: Booking, *, now: datetime,
          action_required: bool = False, **extra: Any) -> None:
    for address in to:
        enqueue_email(kind, address, subject, {"booking": booking, **extra}, now=now,
                      action_required=action_required, why=booking_why(booking, address))


def _checked(actor: Any, equipment_id: int, start_at: datetime, end_at: datetime, *,
             now: datetime) -> tuple[Equipment, int]:
    """Load the equipment the actor may see and apply every rule and the overlap check;
    shared by the preview and the booking itself, so both refuse alike."""
    equipment = _load_equipment(equipment_id)
    if not can_view_equipment(actor, equipment):
        raise NotFound(equipment_id)
    require_managed_lab(equipment.lab)
    # Training that qualifies: self-service equipment may require a qualification the booker holds.
    require_qualifications(actor, equipment, start_at, now=now)
    units = check_rules(equipment, start_at, end_at, now=now)
    if _overlap_exists(equipment, start_at, end_at):
        raise SlotTaken(_("Not available: another booking (or its set-up time) overlaps this "
                          "time. Choose another slot."))
    return equipment, units


def preview_booking(actor: Any, equipment_id: int, start_at: datetime, end_at: datetime, *,
                    now: datetime) -> Quote:
    """Step 1 of the booking form: the same checks and price as :func:`request_booking`,
    without writing (no lock, so a free answer can still meet ``SlotTaken`` on sending).

    :raises NotFound: when the actor may not see the equipment.
    :raises RuleViolation: naming the rule broken (DESIGN rule 2).
    :raises SlotTaken: when an active booking (or its set-up time) overlaps already.
    """
    equipment, _units = _checked(actor, equipment_id, start_at, end_at, now=now)
    return quote(equipment, getattr(actor, "organisation", None), start_at, end_at)


def request_booking(actor: User, equipment_id: int, start_at: datetime, end_at: datetime,
                    purpose: str, *, now: datetime) -> Booking:
    """Book [start_at, end_at) of an equipment for the actor's organisation.

    Confirmed at once when the lab needs no approval, otherwise pending until a manager
    decides or the hold expires. DESIGN rules 1, 2 and 3.

    :raises PermissionDenied: when the actor may not book (not logged in, unconfirmed).
    :raises RuleViolation: naming the rule broken.
    :raises SlotTaken: when an active booking overlaps (buffer included).
    """
    require(can_book, actor)
    purpose = squashed_text(purpose, "purpose", limit=2000,
                            empty=_("Say briefly what the booking is for."),
                            too_long=_("Keep the purpose under 2,000 characters."))
    if start_at.tzinfo is None or end_at.tzinfo is None:
        raise ValueError("request_booking needs aware datetimes")
    _lock_equipment(equipment_id)
    equipment, units = _checked(actor, equipment_id, start_at, end_at, now=now)
    lab = equipment.lab
    price = quote(equipment, actor.organisation, start_at, end_at)
    assert price.units == units
    approval = lab.requires_approval
    booking = Booking(
        equipment_id=equipment.id, lab_id=lab.id, requester_id=actor.id,
        organisation_id=actor.organisation_id, purpose=purpose, start_at=start_at,
        end_at=end_at, blocked_start=start_at - timedelta(minutes=equipment.buffer_minutes),
        status=BookingStatus.PENDING if approval else BookingStatus.CONFIRMED,
        hold_until=min(now + timedelta(hours=lab.hold_hours), start_at) if approval else None,
        unit=price.unit, units=price.units, rate_kind=price.rate_kind,
        rate_applied=price.rate, price_estimate=price.total, currency=price.currency,
        created_at=now, updated_at=now,
    )
    if not approval:
        booking.decided_at = now
        booking.final_price = price.total  # confirmed at once: agreed at the estimate
    # The free-time summary: this booking only takes time away, so its days are lowered
    # from what is loaded here, without a rebuild of the equipment's rows.
    free_days.narrow(db.session(), booking, zone=lab.timezone, hours=_hours(lab),
                     hourly=equipment.booking_unit == "hour",
                     buffer_minutes=equipment.buffer_minutes)
    db.session.add(booking)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the database backstop (exclusion constraint / trigger)
        raise SlotTaken() from exc
    booking.reference = f"LN-{now.year}-{booking.id:06d}"
    audit.record(actor, "booking.requested" if approval else "booking.confirmed", "booking",
                 booking.id, now=now, status=booking.status)
    booking.equipment = equipment
    booking.lab = lab
    if approval:
        _mail("booking_requested", manager_addresses(lab.id),
              _l("Booking request %(ref)s: %(equipment)s", ref=booking.reference,
                 equipment=equipment.name), booking, now=now, action_required=True)
        _mail("booking_received", [actor.email],
              _l("Your request %(ref)s is waiting for the lab", ref=booking.reference),
              booking, now=now)
    else:
        _mail("booking_confirmed", [actor.email],
              _l("Booking %(ref)s confirmed: %(equipment)s", ref=booking.reference,
                 equipment=equipment.name), booking, now=now)
    db.session.flush()
    return booking


def get_booking_for_update(booking_id: int) -> Booking:
    """Load a booking after locking its equipment, with what the e-mails need."""
    equipment_id = db.session.scalar(select(Booking.equipment_id).where(Booking.id == booking_id))
    if equipment_id is None:
        raise NotFound(booking_id)
    _lock_equipment(equipment_id)
    return db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                 joinedload(Booking.requester), selectinload(Booking.organisation))
        .where(Booking.id == booking_id)
        .execution_options(populate_existing=True)
    ).one()


def _transition(booking: Booking, allowed: tuple[str, ...], new: str, *, now: datetime,
                actor: User | None, reason: str = "") -> bool:
    """Compare-and-set: move to ``new`` only if still in ``allowed``; True if we did."""
    result = cast(CursorResult[Any], db.session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status.in_(allowed))
        .values(status=new, decided_at=now, decided_by_id=actor.id if actor else None,
                decision_reason=reason, updated_at=now, sequence=Booking.sequence + 1,
                hold_until=None)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        return False
    # The free-time summary cannot read this UPDATE's equipment: say it (same transaction).
    free_days.mark(db.session(), equipment=[booking.equipment_id])
    db.session.refresh(booking)
    return True


def agreed_price(booking: Booking, final_price: Decimal | None, reason: str) -> \
        tuple[Decimal, str]:
    """The price a manager confirms a booking at: the estimate unless they set another, and
    then with a reason the customer reads.

    :raises RuleViolation: ``final_price`` negative or over-precise; ``price_reason``
        missing when the price differs from the estimate.
    """
    reason = " ".join(reason.split())[:500]
    if final_price is None:
        return Decimal(booking.price_estimate), reason
    if final_price < 0:
        raise RuleViolation("final_price", _("The price cannot be negative."))
    if final_price != final_price.quantize(Decimal("0.01")) or final_price >= Decimal(10) ** 10:
        raise RuleViolation("final_price", _("Give the price in cents at most, like 1250.00."))
    if final_price != booking.price_estimate and not reason:
        raise RuleViolation("price_reason", _(
            "Tell the customer why the price differs from the estimate (%(estimate)s "
            "%(currency)s).", estimate=booking.price_estimate, currency=booking.currency))
    return final_price, reason if final_price != booking.price_estimate else ""


def approve_booking(actor: User, booking_id: int, *, now: datetime,
                    final_price: Decimal | None = None, price_reason: str = "") -> Booking:
    """A lab manager confirms a pending request (while its hold lasts), at the estimate or
    at another price with a reason (:func:`agreed_price`); the confirmation e-mail and the
    booking's page show the agreed price.

    :raises PermissionDenied: unless the actor manages the booking's lab.
    :raises RuleViolation: when the booking is no longer pending, or the price is refused.
    """
    booking = get_booking_for_update(booking_id)
    require(can_decide_booking, actor, booking)
    price, reason = agreed_price(booking, final_price, price_reason)
    if booking.hold_until is not None and booking.hold_until < now:
        raise RuleViolation("status", _("This request's hold has expired; it can no longer "
                                        "be approved."))
    if not _transition(booking, (BookingStatus.PENDING,), BookingStatus.CONFIRMED, now=now,
                       actor=actor):
        raise RuleViolation("status", _(
            "This booking is %(status)s; only pending requests can be approved.",
            status=status_text(booking.status)))
    booking.final_price, booking.price_reason = price, reason
    db.session.flush()
    audit.record(actor, "booking.approved", "booking", booking.id, now=now,
                 final_price=str(price), price_reason=reason)
    _mail("booking_confirmed", [booking.requester.email],
          _l("Booking %(ref)s confirmed: %(equipment)s", ref=booking.reference,
             equipment=booking.equipment.name), booking, now=now)
    db.session.flush()
    return booking


def reject_booking(actor: User, booking_id: int, reason: str, *, now: datetime) -> Booking:
    """A lab manager rejects a pending request with a reason.

    :raises RuleViolation: ``reason`` missing; ``status`` when no longer pending.
    """
    booking = get_booking_for_update(booking_id)
    require(can_decide_booking, actor, booking)
    reason = " ".join(reason.split())
    if not reason:
        raise RuleViolation("reason", _("Give the requester a reason."))
    if not _transition(booking, (BookingStatus.PENDING,), BookingStatus.REJECTED, now=now,
                       actor=actor, reason=reason[:2000]):
        raise RuleViolation("status", _(
            "This booking is %(status)s; only pending requests can be rejected.",
            status=status_text(booking.status)))
    audit.record(actor, "booking.rejected", "booking", booking.id, now=now, reason=reason)
    _mail("booking_rejected", [booking.requester.email],
          _l("Booking request %(ref)s rejected", ref=booking.reference), booking, now=now)
    db.session.flush()
    return booking


def cancel_booking(actor: User, booking_id: int, reason: str, *, now: datetime) -> Booking:
    """Cancel a pending or confirmed booking.

    The requesting organisation cancels until the lab's cancellation deadline; the lab's
    managers cancel any time with a reason.

    :raises PermissionDenied: for anyone else. :raises RuleViolation: past the deadline,
        ``reason`` missing for managers, or the booking no longer active.
    """
    booking = get_booking_for_update(booking_id)
    require(can_view_booking, actor, booking)
    as_manager = can_decide_booking(actor, booking)
    reason = " ".join(reason.split())
    if as_manager and actor.organisation_id != booking.organisation_id and not reason:
        raise RuleViolation("reason", _("Tell the requester why the booking is cancelled."))
    if not as_manager:
        if actor.organisation_id != booking.organisation_id:
            raise PermissionDenied("cancel")
        deadline = booking_cancel_deadline(booking)
        if now > deadline and booking.status == BookingStatus.CONFIRMED:
            raise RuleViolation("status", ngettext(
                "Too late to cancel online: the deadline was %(num)d hour before the start. "
                "Contact the lab.",
                "Too late to cancel online: the deadline was %(num)d hours before the start. "
                "Contact the lab.", booking.lab.cancel_deadline_hours))
    if not _transition(booking, tuple(ACTIVE_STATUSES), BookingStatus.CANCELLED, now=now,
                       actor=actor, reason=reason[:2000]):
        raise RuleViolation("status", _("This booking is already %(status)s.",
                                        status=status_text(booking.status)))
    audit.record(actor, "booking.cancelled", "booking", booking.id, now=now, reason=reason)
    to = [booking.requester.email, *manager_addresses(booking.lab_id)]
    _mail("booking_cancelled", sorted(set(to)),
          _l("Booking %(ref)s cancelled", ref=booking.reference), booking, now=now)
    db.session.flush()
    return booking


def expire_holds(*, now: datetime) -> int:
    """Job: pending requests whose hold has passed become expired and free their slot.

    Compare-and-set per booking, so two runners expire each booking once and send one
    e-mail each. Returns how many this run expired.
    """
    due = list(db.session.scalars(
        select(Booking.id).where(Booking.status == BookingStatus.PENDING,
                                 Booking.hold_until < now).order_by(Booking.id).limit(500)
    ))
    done = 0
    for booking_id in due:
        booking = get_booking_for_update(booking_id)
        if booking.hold_until is None or booking.hold_until >= now:
            continue
        if _transition(booking, (BookingStatus.PENDING,), BookingStatus.EXPIRED, now=now,
                       actor=None, reason=EXPIRED_REASON):
            audit.record(None, "booking.expired", "booking", booking.id, now=now)
            _mail("booking_expired", [booking.requester.email],
                  _l("Booking request %(ref)s expired", ref=booking.reference), booking,
                  now=now)
            done += 1
    db.session.flush()
    return done


# --- the lab manager's side: queue, shorten, no-show, blackouts ----------------------------
#
# The same pattern as the requester's side: lock the equipment first, check
# the permission, compare-and-set or update, audit and e-mail in the caller's transaction.


class BlackoutConflict(RuleViolation):
    """A new blackout would cover active bookings: the manager must say whether to keep or
    cancel them (``bookings``, oldest start first) instead of hiding them silently."""

    def __init__(self, bookings: list[Booking]):
        super().__init__("affected_action", ngettext(
            "This period covers %(num)d active booking. Choose whether to keep or cancel "
            "them; their requesters will be told either way.",
            "This period covers %(num)d active bookings. Choose whether to keep or cancel "
            "them; their requesters will be told either way.", len(bookings)), code=409)
        self.bookings = bookings


def list_pending_queue(actor: User, *, limit: int = 200) -> Any:
    """Pending requests of the labs the actor manages, oldest request first (a ``Select``;
    the oldest ``limit``, since they expire first). The requester (never null) is an inner
    join, as is their organisation: a left join of that pair made SQLite materialise every
    account for each of the queue's three lists."""
    return (managed_bookings(actor)
            .where(Booking.status == BookingStatus.PENDING)
            .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                     joinedload(Booking.requester, innerjoin=True),
                     joinedload(Booking.organisation))
            .order_by(Booking.created_at, Booking.id).limit(limit))


def list_upcoming_confirmed(actor: User, *, now: datetime, limit: int = 100) -> Any:
    """Confirmed bookings of the actor's labs that have not ended yet, soonest first."""
    return (managed_bookings(actor)
            .where(Booking.status == BookingStatus.CONFIRMED, Booking.end_at > now)
            .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                     joinedload(Booking.requester, innerjoin=True),
                     joinedload(Booking.organisation))
            .order_by(Booking.start_at, Booking.id).limit(limit))


def list_recent_ended(actor: User, *, now: datetime, days: int = 14, limit: int = 100) -> Any:
    """Confirmed or completed bookings that ended in the last ``days``: the ones a manager
    may mark as no-show."""
    return (managed_bookings(actor)
            .where(Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.COMPLETED]),
                   Booking.end_at <= now, Booking.end_at > now - timedelta(days=days))
            .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                     joinedload(Booking.requester, innerjoin=True),
                     joinedload(Booking.organisation))
            .order_by(Booking.end_at.desc(), Booking.id).limit(limit))


def get_equipment_for_booking(equipment_id: int) -> Equipment:
    """The equipment with its lab and opening hours, read afresh (the booking form)."""
    return db.session.scalars(
        select(Equipment).options(joinedload(Equipment.lab).selectinload(Lab.opening_hours))
        .where(Equipment.id == equipment_id).execution_options(populate_existing=True)
    ).one()


def get_booking(booking_id: int) -> Booking:
    """The booking with what its page shows (equipment, lab, requester, organisation), read
    afresh; the caller has loaded it through ``permissions.booking_for``."""
    return db.session.scalars(
        select(Booking).options(joinedload(Booking.equipment), joinedload(Booking.lab),
                                joinedload(Booking.requester), joinedload(Booking.organisation))
        .where(Booking.id == booking_id).execution_options(populate_existing=True)
    ).one()


def list_calendar_equipment(lab: Lab, booked_ids: set[int]) -> list[Equipment]:
    """The rows of a lab's week calendar: its equipment in service by name, then retired
    equipment that still has bookings that week (``booked_ids``), so none goes unseen."""
    equipment = list(db.session.scalars(
        select(Equipment).where(Equipment.lab_id == lab.id,
                                Equipment.status != EquipmentStatus.RETIRED)
        .order_by(Equipment.name, Equipment.id)))
    missing = booked_ids - {e.id for e in equipment}
    if missing:
        equipment += db.session.scalars(
            select(Equipment).where(Equipment.id.in_(missing)).order_by(Equipment.name))
    return equipment


def equipment_names(lab: Lab, *, in_service_only: bool) -> list[tuple[int, str]]:
    """(id, name) of a lab's equipment by name, for pickers (``in_service_only``: not
    retired) and for naming the equipment of blackouts."""
    stmt = select(Equipment.id, Equipment.name).where(Equipment.lab_id == lab.id)
    if in_service_only:
        stmt = stmt.where(Equipment.status != EquipmentStatus.RETIRED)
    return list(db.session.execute(stmt.order_by(Equipment.name, Equipment.id)).tuples())


def list_my_bookings(actor: User, *, limit: int = 500) -> Select[tuple[Booking]]:
    """The bookings of the actor's organisation ("My bookings"), latest start first."""
    return (visible_bookings(actor)
            .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                     joinedload(Booking.requester))
            .order_by(Booking.start_at.desc(), Booking.id.desc()).limit(limit))


def is_upcoming(booking: Booking, now: datetime) -> bool:
    """Whether "My bookings" lists ``booking`` under "Upcoming", with its calendar file and
    cancel action: it still holds its slot (pending or confirmed) and has not ended. A
    rejected, cancelled, expired, no-show or completed booking, and one that has ended,
    is past or closed."""
    return booking.is_active and booking.end_at > now


def split_my_bookings(bookings: Collection[Booking], now: datetime
                      ) -> tuple[list[Booking], list[Booking]]:
    """``bookings`` as "Upcoming" (soonest first) and "Past / closed" (latest start first,
    the order of :func:`list_my_bookings`); see :func:`is_upcoming`."""
    upcoming = sorted((b for b in bookings if is_upcoming(b, now)), key=lambda b: b.start_at)
    closed = [b for b in bookings if not is_upcoming(b, now)]
    return upcoming, closed


def count_pending_for_manager(actor: User) -> int:
    """How many requests wait for the actor's decision (one query; the home page)."""
    stmt = managed_bookings(actor).where(Booking.status == BookingStatus.PENDING)
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def list_lab_bookings(lab: Lab, start_at: datetime, end_at: datetime) -> Any:
    """Bookings of ``lab`` (any equipment) overlapping [start_at, end_at) that matter on a
    calendar: pending, confirmed, completed and no-shows."""
    shown = [BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.COMPLETED,
             BookingStatus.NO_SHOW]
    return (select(Booking)
            .where(Booking.lab_id == lab.id, Booking.status.in_(shown),
                   Booking.start_at < end_at, Booking.end_at > start_at)
            .options(joinedload(Booking.organisation))
            .order_by(Booking.start_at, Booking.id))


def list_blackouts(lab: Lab, *, since: datetime | None = None) -> Any:
    """Blackouts of ``lab`` (lab-wide and per equipment) that end after ``since``."""
    stmt = select(Blackout).where(Blackout.lab_id == lab.id)
    if since is not None:
        stmt = stmt.where(Blackout.end_at > since)
    return stmt.order_by(Blackout.start_at, Blackout.id)


def shorten_booking(actor: User, booking_id: int, new_start: datetime, new_end: datetime, *,
                    now: datetime) -> Booking:
    """A lab manager shortens a confirmed booking inside its own window.

    Needs no new approval: the slot only shrinks, so nothing can overlap (DESIGN rule 1) and
    the remaining interval still lies inside the hours and rules it was accepted under. It
    must stay aligned to the booking unit and at least the minimum length (DESIGN rule 2).
    The price is recomputed at the rate applied at booking time; the iCalendar sequence is
    bumped and the requester is told.

    :raises PermissionDenied: unless the actor manages the booking's lab.
    :raises RuleViolation: ``status`` when not confirmed or already over; ``start_at`` /
        ``end_at`` when outside the old window, not shorter, misaligned or too short.
    """
    if new_start.tzinfo is None or new_end.tzinfo is None:
        raise ValueError("shorten_booking needs aware datetimes")
    booking = get_booking_for_update(booking_id)
    require(can_decide_booking, actor, booking)
    if booking.status != BookingStatus.CONFIRMED:
        raise RuleViolation("status", _(
            "This booking is %(status)s; only confirmed bookings can be shortened.",
            status=status_text(booking.status)))
    if booking.end_at <= now:
        raise RuleViolation("status", _("This booking is already over."))
    if new_end <= new_start:
        raise RuleViolation("end_at", _("The end must be after the start."))
    if new_start < booking.start_at:
        raise RuleViolation("start_at", _("The new start must not be before the booked start; "
                                          "to book more time, make a new booking."))
    if new_end > booking.end_at:
        raise RuleViolation("end_at", _("The new end must not be after the booked end; to "
                                        "book more time, make a new booking."))
    if (new_start, new_end) == (booking.start_at, booking.end_at):
        raise RuleViolation("end_at", _("This is the booked time already: move the start "
                                        "later or the end earlier."))
    equipment = booking.equipment
    units = count_units(new_start, new_end, equipment.booking_unit, booking.lab.timezone)
    if units < equipment.min_units:
        raise RuleViolation("end_at", _too_short(equipment.min_units, equipment.booking_unit))
    old = (booking.start_at, booking.end_at)
    booking.start_at, booking.end_at = new_start, new_end
    booking.blocked_start = new_start - timedelta(minutes=equipment.buffer_minutes)
    booking.units = units
    # The rate stays the one agreed at booking time; only the number of units changes.
    # An agreed price that was the estimate follows it; one set with a reason stays.
    follows = booking.final_price == booking.price_estimate
    booking.price_estimate = Decimal(booking.rate_applied) * units
    if follows:
        booking.final_price = booking.price_estimate
    booking.sequence = booking.sequence + 1
    booking.updated_at = now
    db.session.flush()
    audit.record(actor, "booking.shortened", "booking", booking.id, now=now,
                 old_start=old[0].isoformat(), old_end=old[1].isoformat(),
                 start=new_start.isoformat(), end=new_end.isoformat())
    _mail("booking_shortened", [booking.requester.email],
          _l("Booking %(ref)s shortened: %(equipment)s", ref=booking.reference,
             equipment=equipment.name), booking, now=now,
          old_start=old[0], old_end=old[1])
    db.session.flush()
    return booking


def mark_no_show(actor: User, booking_id: int, *, now: datetime) -> Booking:
    """A lab manager records that nobody came: from completed, or from confirmed once the
    booking's end has passed (DESIGN: confirmed → completed or no-show).

    :raises PermissionDenied: unless the actor manages the booking's lab.
    :raises RuleViolation: ``status`` when the booking has not ended or is in another state.
    """
    booking = get_booking_for_update(booking_id)
    require(can_decide_booking, actor, booking)
    if booking.status == BookingStatus.CONFIRMED and booking.end_at > now:
        raise RuleViolation("status", _("A booking can be marked as a no-show only after it "
                                        "has ended."))
    if not _transition(booking, (BookingStatus.CONFIRMED, BookingStatus.COMPLETED),
                       BookingStatus.NO_SHOW, now=now, actor=actor,
                       reason=NO_SHOW_REASON):
        raise RuleViolation("status", _(
            "This booking is %(status)s; only confirmed or completed bookings can be marked "
            "as a no-show.", status=status_text(booking.status)))
    audit.record(actor, "booking.no_show", "booking", booking.id, now=now)
    _mail("booking_no_show", [booking.requester.email],
          _l("Booking %(ref)s recorded as a no-show", ref=booking.reference), booking, now=now)
    db.session.flush()
    return booking


def _lock_lab_equipment(lab_id: int, equipment_id: int | None) -> None:
    # Booking writers lock their equipment row, then read the blackouts. Taking the same
    # lock(s) first means no request can slip a booking in between our overlap check and
    # the blackout insert. Lab-wide: every equipment row of the lab, in one statement.
    stmt = update(Equipment).values(booking_seq=Equipment.booking_seq + 1)
    if equipment_id is not None:
        stmt = stmt.where(Equipment.id == equipment_id)
    else:
        stmt = stmt.where(Equipment.lab_id == lab_id)
    db.session.execute(stmt.execution_options(synchronize_session=False))


def add_blackout(actor: User, lab_id: int, equipment_id: int | None, start_at: datetime,
                 end_at: datetime, reason: str, *, now: datetime,
                 affected_action: str | None = None,
                 seen_ids: Collection[int] | None = None) -> Blackout:
    """A lab manager blocks [start_at, end_at) for the whole lab or one piece of equipment.

    A blackout never hides active bookings silently: when pending or confirmed bookings
    overlap and ``affected_action`` is None, :class:`BlackoutConflict` lists them. With
    ``"cancel"`` they are cancelled with the blackout's reason; with ``"keep"`` they stay.
    ``seen_ids`` (the ids the manager was shown) makes the choice apply only to what was
    seen: if the overlapping bookings changed meanwhile, the conflict is raised again.
    Either way each requester gets an e-mail (DESIGN rule 2: new requests are refused in the
    blackout by :func:`check_rules`).

    :raises NotFound: when the lab does not exist or the actor may not see it.
    :raises PermissionDenied: unless the actor manages the lab.
    :raises BlackoutConflict: active bookings overlap and no action was chosen.
    :raises RuleViolation: ``reason`` missing or too long, ``end_at`` not after the start or
        already past, a time outside the years 2000..2100, ``equipment_id`` not of this lab,
        ``affected_action`` unknown.
    """
    lab = db.session.get(Lab, lab_id)
    if lab is None or not can_view_lab(actor, lab):
        raise NotFound(lab_id)
    require(can_manage_lab, actor, lab)
    if start_at.tzinfo is None or end_at.tzinfo is None:
        raise ValueError("add_blackout needs aware datetimes")
    reason = squashed_text(reason, "reason", limit=300,
                           empty=_("Say why (e.g. maintenance, holidays): bookers see it."),
                           too_long=_("Keep the reason under 300 characters."))
    for field, at in (("start_at", start_at), ("end_at", end_at)):
        if not in_range(at):  # year 9999 would block "forever" and overflow later steps
            raise RuleViolation(field, RANGE_MESSAGE)
    if end_at <= start_at:
        raise RuleViolation("end_at", _("The end must be after the start."))
    if end_at <= now:
        raise RuleViolation("end_at", _("This period is already over."))
    if equipment_id is not None:
        owner = db.session.scalar(select(Equipment.lab_id).where(Equipment.id == equipment_id))
        if owner != lab.id:
            raise RuleViolation("equipment_id", _("Choose equipment of this lab, or the whole "
                                                  "lab."))
    if affected_action not in (None, "keep", "cancel"):
        raise RuleViolation("affected_action",
                            _("Choose whether to keep or cancel the bookings."))
    _lock_lab_equipment(lab.id, equipment_id)
    cond = [Booking.lab_id == lab.id,
            Booking.status.in_([s.value for s in ACTIVE_STATUSES]),
            Booking.start_at < end_at, Booking.end_at > start_at]
    if equipment_id is not None:
        cond.append(Booking.equipment_id == equipment_id)
    affected = list(db.session.scalars(
        select(Booking).where(*cond)
        .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                 joinedload(Booking.requester), joinedload(Booking.organisation))
        .order_by(Booking.start_at, Booking.id)
        .execution_options(populate_existing=True)
    ).unique())
    if affected and (affected_action is None
                     or (seen_ids is not None and set(seen_ids) != {b.id for b in affected})):
        raise BlackoutConflict(affected)
    blackout = Blackout(lab_id=lab.id, equipment_id=equipment_id, start_at=start_at,
                        end_at=end_at, reason=reason, created_by_id=actor.id, created_at=now)
    db.session.add(blackout)
    db.session.flush()
    audit.record(actor, "blackout.added", "lab", lab.id, now=now, blackout_id=blackout.id,
                 equipment_id=equipment_id, affected=[b.id for b in affected],
                 affected_action=affected_action if affected else None)
    for booking in affected:
        cancelled = False
        if affected_action == "cancel":
            cancelled = _transition(booking, tuple(ACTIVE_STATUSES), BookingStatus.CANCELLED,
                                    now=now, actor=actor, reason=BLACKOUT_PREFIX + reason)
            if cancelled:
                audit.record(actor, "booking.cancelled", "booking", booking.id, now=now,
                             reason=BLACKOUT_PREFIX + reason, blackout_id=blackout.id)
        _mail("blackout_notice", [booking.requester.email],
              _l("Booking %(ref)s cancelled: %(equipment)s is unavailable",
                 ref=booking.reference, equipment=booking.equipment.name) if cancelled else
              _l("Booking %(ref)s kept: %(equipment)s is unavailable",
                 ref=booking.reference, equipment=booking.equipment.name), booking, now=now,
              blackout=blackout, cancelled=cancelled)
    db.session.flush()
    return blackout


def remove_blackout(actor: User, blackout_id: int, *, now: datetime) -> Lab:
    """A lab manager deletes a blackout; the period becomes bookable again. Returns the lab.

    :raises NotFound: when the blackout does not exist or its lab is hidden from the actor.
    :raises PermissionDenied: unless the actor manages the lab.
    """
    blackout = db.session.get(Blackout, blackout_id)
    lab = db.session.get(Lab, blackout.lab_id) if blackout is not None else None
    if blackout is None or lab is None or not can_view_lab(actor, lab):
        raise NotFound(blackout_id)
    require(can_manage_lab, actor, lab)
    audit.record(actor, "blackout.removed", "lab", lab.id, now=now, blackout_id=blackout.id,
                 start=blackout.start_at.isoformat(), end=blackout.end_at.isoformat(),
                 reason=blackout.reason)
    db.session.delete(blackout)
    db.session.flush()
    return lab
