"""Time-driven booking work done by the scheduler: reminders and completion.

Rules owned here (RELIABILITY §2.2.3, "effects exactly once, whatever runs"):

- **Booking reminder.** A confirmed booking gets one reminder, with a signed one-click
  cancel link, so that the link still works for at least a day: it is due once the start
  is at most :func:`reminder_lead` ahead, ``max(48 h, the lab's cancellation deadline +
  24 h)`` (the usual 24-hour deadline: 48 h before; a 48-hour deadline: 72 h before), and
  still in the future. The message says until when cancelling online is possible and
  carries the link only while it is (a booking confirmed after its deadline gets a
  reminder without one). A scheduler that was down catches up on every booking still
  ahead; one that has started gets none. Exactly once: ``UPDATE booking SET
  reminder_sent_at = :now WHERE id = :id AND reminder_sent_at IS NULL`` decides who
  sends it, in the transaction of the e-mail.
- **Hold warning.** The lab's managers hear once that a pending request's hold ends within
  :data:`HOLD_WARNING` (12 h), so they decide before it expires. There is no column for it
  (``hold_reminder_sent_at`` would be the clean place): the warning is sent under the
  equipment lock only if no ``hold_expiring`` outbox row names the booking's reference
  yet; the lock serialises two runners, so the second sees the first one's row. A hold
  shorter than 12 h gets no warning: the request e-mail already names its end.
- **Completion.** A confirmed booking whose end has passed becomes ``completed``
  (compare-and-set on the status; audited; no e-mail, no SEQUENCE change, the calendar
  entry stays as it was).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, func, select, update

from labnet import security
from labnet.extensions import db
from labnet.i18n import _l
from labnet.models import Lab, OutboxEmail
from labnet.models.booking import Booking, BookingStatus
from labnet.permissions import booking_cancel_deadline
from labnet.services.booking.engine import booking_why, get_booking_for_update
from labnet.services.catalogue.labs.team import manager_addresses
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email

REMINDER_LEAD = timedelta(hours=48)
# The cancel link of a reminder works at least this long before the lab's deadline.
CANCEL_WINDOW = timedelta(hours=24)
# Labs with longer cancellation deadlines are reminded earlier; the sweep looks this far
# ahead (a deadline above MAX_CANCEL_DEADLINE − 24 h is reminded at most 30 days before).
MAX_REMINDER_LEAD = timedelta(days=30)
HOLD_WARNING = timedelta(hours=12)
BATCH = 500  # per query; each run loops until nothing is due (bounded by MAX_PER_RUN)
MAX_PER_RUN = 5000
CANCEL_SALT = "labnet.cancel-booking"
CANCEL_MAX_AGE = 30 * 24 * 3600  # the one-click cancel link works for 30 days


def cancel_token(booking: Booking) -> str:
    """The signed token of the one-click cancel link (the e-mail template builds the link
    from it with ``secret_url``, so the outbox can redact it once sent)."""
    return security.make_token(CANCEL_SALT, {"b": booking.id})


def cancel_token_booking_id(token: str, *, now: datetime) -> int | None:
    """The booking a one-click cancel token stands for, or None when the token is forged,
    expired or malformed."""
    data = security.read_token(CANCEL_SALT, token, CANCEL_MAX_AGE, now=now)
    booking_id = data.get("b") if data else None
    return booking_id if isinstance(booking_id, int) else None


def reminder_lead(cancel_deadline_hours: int) -> timedelta:
    """How long before the start a booking at a lab with this cancellation deadline is
    reminded: 48 h, or a day before the deadline when that is earlier."""
    lead = max(REMINDER_LEAD, timedelta(hours=cancel_deadline_hours) + CANCEL_WINDOW)
    return min(lead, MAX_REMINDER_LEAD)


def _is_due(start_at: datetime, cancel_deadline_hours: int, now: datetime) -> bool:
    return now < start_at <= now + reminder_lead(cancel_deadline_hours)


def _due_reminders(now: datetime, after_id: int) -> list[int]:
    # Candidates within the longest lead, each then checked against its lab's own lead
    # (the lead depends on the lab, and interval arithmetic differs between the engines).
    found: list[int] = []
    while True:
        rows = db.session.execute(
            select(Booking.id, Booking.start_at, Lab.cancel_deadline_hours)
            .join(Lab, Lab.id == Booking.lab_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.reminder_sent_at.is_(None),
                Booking.start_at > now,
                Booking.start_at <= now + max(REMINDER_LEAD, _longest_lead()),
                Booking.id > after_id,
            ).order_by(Booking.id).limit(BATCH)).all()
        found += [r.id for r in rows if _is_due(r.start_at, r.cancel_deadline_hours, now)]
        if found or len(rows) < BATCH:
            return found
        after_id = rows[-1].id


def _longest_lead() -> timedelta:
    longest = db.session.scalar(select(func.max(Lab.cancel_deadline_hours))) or 0
    return reminder_lead(longest)


def _due_hold_warnings(now: datetime, after_id: int) -> list[int]:
    return list(db.session.scalars(
        select(Booking.id).where(
            Booking.status == BookingStatus.PENDING,
            Booking.hold_until > now,
            Booking.hold_until <= now + HOLD_WARNING,
            Booking.id > after_id,
        ).order_by(Booking.id).limit(BATCH)
    ))


def _sweep(find: Any, act: Any, now: datetime) -> int:
    done, seen, last = 0, 0, 0
    while seen < MAX_PER_RUN:
        ids = find(now, last)
        if not ids:
            break
        for booking_id in ids:
            done += act(booking_id, now)
        seen += len(ids)
        last = ids[-1]
    return done


def _remind(booking_id: int, now: datetime) -> int:
    # Equipment lock first, as every booking writer does (no lock-order deadlock with a
    # manager cancelling the same booking on PostgreSQL).
    booking = get_booking_for_update(booking_id)
    # An UPDATE answers a CursorResult (its rowcount); Session.execute is typed as any Result.
    if not _is_due(booking.start_at, booking.lab.cancel_deadline_hours, now):
        return 0
    claimed = cast(CursorResult[Any], db.session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.reminder_sent_at.is_(None),
               Booking.status == BookingStatus.CONFIRMED, Booking.start_at > now,
               Booking.start_at == booking.start_at)
        .values(reminder_sent_at=now)
        .execution_options(synchronize_session=False)
    ))
    if claimed.rowcount != 1:
        return 0  # another runner sent it, or the booking changed meanwhile
    deadline = booking_cancel_deadline(booking)
    enqueue_email("booking_reminder", booking.requester.email,
                  _l("Reminder: %(equipment)s, booking %(ref)s",
                     equipment=booking.equipment.name, ref=booking.reference),
                  {"booking": booking, "cancel_token": cancel_token(booking),
                   "cancel_until": deadline if now < deadline else None}, now=now,
                  why=booking_why(booking, booking.requester.email))
    return 1


def _warn_hold(booking_id: int, now: datetime) -> int:
    booking = get_booking_for_update(booking_id)  # the equipment lock comes first
    if booking.status != BookingStatus.PENDING or booking.hold_until is None:
        return 0
    if not booking.hold_until > now or booking.hold_until > now + HOLD_WARNING:
        return 0
    if booking.created_at > booking.hold_until - HOLD_WARNING:
        # A hold shorter than the warning window: the request e-mail, sent moments ago,
        # already says when it ends.
        return 0
    # References are unique and fixed-width (LN-2026-000123), so the subject names the
    # booking unambiguously.
    tag = f"[{booking.reference}]"
    already = db.session.scalar(select(exists().where(
        OutboxEmail.kind == "hold_expiring", OutboxEmail.subject.contains(tag))))
    if already:
        return 0
    for address in manager_addresses(booking.lab_id):
        enqueue_email("hold_expiring", address,
                      _l("Decide soon: request %(tag)s for %(equipment)s", tag=tag,
                         equipment=booking.equipment.name),
                      {"booking": booking}, now=now, action_required=True,
                      why=booking_why(booking, address))
    return 1


def send_reminders(*, now: datetime) -> dict[str, int]:
    """Job: the day-before reminders (with a cancel link) and hold warnings to managers.

    Each is sent exactly once even if two runners sweep at once (module docstring). Flushes;
    the job runner commits, then the outbox job delivers.
    """
    reminders = _sweep(_due_reminders, _remind, now)
    warnings = _sweep(_due_hold_warnings, _warn_hold, now)
    db.session.flush()
    return {"reminders": reminders, "hold warnings": warnings}


def complete_bookings(*, now: datetime) -> dict[str, int]:
    """Job: confirmed bookings whose end has passed become completed (DESIGN: confirmed →
    completed). Compare-and-set per booking; audited."""
    done = 0
    for _ in range(MAX_PER_RUN // BATCH):
        ids = list(db.session.scalars(
            select(Booking.id).where(Booking.status == BookingStatus.CONFIRMED,
                                     Booking.end_at <= now)
            .order_by(Booking.id).limit(BATCH)
        ))
        if not ids:
            break
        for booking_id in ids:
            changed = cast(CursorResult[Any], db.session.execute(
                update(Booking)
                .where(Booking.id == booking_id, Booking.status == BookingStatus.CONFIRMED,
                       Booking.end_at <= now)
                .values(status=BookingStatus.COMPLETED, updated_at=now)
                .execution_options(synchronize_session=False)
            ))
            if changed.rowcount == 1:
                audit.record(None, "booking.completed", "booking", booking_id, now=now)
                done += 1
        db.session.flush()
        if len(ids) < BATCH:
            break
    return {"completed": done}
