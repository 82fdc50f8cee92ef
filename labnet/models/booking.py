"""Bookings of equipment and blackouts of labs or equipment.

The no-double-booking rule (DESIGN rule 1) is enforced three times over: the booking
service takes the equipment's row lock first (``Equipment.booking_seq``), checks, then
writes; and the database refuses an overlapping active booking whatever wrote it — an
exclusion constraint on PostgreSQL, triggers on SQLite (both in the migration, written by
hand). ``blocked_start`` is ``start_at`` minus the set-up buffer, computed by the service
because ``timestamptz - interval`` is not immutable and cannot be indexed (RELIABILITY §1.2).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.i18n import _l
from labnet.models.base import Base, TimestampMixin
from labnet.models.equipment import Equipment
from labnet.models.lab import Lab
from labnet.models.organisation import Organisation
from labnet.models.user import User


class BookingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


# The rate a booking was priced at (``Booking.rate_kind``), in words (read in the reader's
# language).
RATE_KIND_LABELS = {"academic": _l("academic rate"), "sme": _l("SME rate"),
                    "industry": _l("industry rate")}
# A booking's status in words, for messages (templates: ``bookings/_units.html``).
BOOKING_STATUS_LABELS = {
    "pending": _l("pending"), "confirmed": _l("confirmed"), "rejected": _l("rejected"),
    "cancelled": _l("cancelled"), "expired": _l("expired"), "completed": _l("completed"),
    "no_show": _l("no show"),
}

# Only these hold their slot; every other state frees it.
ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
ACTIVE_SQL = "status IN ('pending', 'confirmed')"


class Booking(TimestampMixin, Base):
    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="order"),
        CheckConstraint("blocked_start <= start_at", name="blocked"),
        CheckConstraint(
            "status IN ('pending', 'confirmed', 'rejected', 'cancelled', 'expired', "
            "'completed', 'no_show')",
            name="status",
        ),
        CheckConstraint("units >= 1", name="units"),
        CheckConstraint("price_estimate >= 0", name="price"),
        CheckConstraint("final_price IS NULL OR final_price >= 0", name="final_price"),
        CheckConstraint("actual_hours IS NULL OR actual_hours >= 0", name="actual_hours"),
        CheckConstraint("charged IS NULL OR charged >= 0", name="charged"),
        Index("ix_booking_equipment_start", "equipment_id", "start_at"),
        Index("ix_booking_lab_status_created", "lab_id", "status", "created_at"),
        Index("ix_booking_org_start", "organisation_id", "start_at"),
        # The catalogue's "free for D hours" filter reads every active booking of a date
        # range: an index-only scan (165 ms → 12 ms at 1,000,000 bookings).
        Index("ix_booking_active_window", "status", "start_at", "end_at", "blocked_start",
              "equipment_id", "lab_id"),
        # The same for the labs of one page (``availability.free_equipment`` by lab): the
        # active bookings of those labs starting before the span ends, from the index alone
        # (past active bookings are few: they end as completed). 2 ms → 0.1 ms for a page of
        # 40 labs at 1,000,000 bookings.
        Index("ix_booking_lab_active_start", "lab_id", "status", "start_at", "end_at",
              "blocked_start", "equipment_id"),
        Index("ix_booking_status_hold", "status", "hold_until"),
        Index("ix_booking_status_start", "status", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Human reference, e.g. LN-2026-000123: sequential, never a secret (RELIABILITY §4.3.7).
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    purpose: Mapped[str] = mapped_column(Text, default="")
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    blocked_start: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=BookingStatus.PENDING)
    hold_until: Mapped[datetime | None]
    # Price: the unit, how many, the rate applied (SME or industry) and the estimate.
    unit: Mapped[str] = mapped_column(String(10))
    units: Mapped[int]
    rate_kind: Mapped[str] = mapped_column(String(10))
    rate_applied: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    price_estimate: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    # The price agreed when the booking was confirmed (the estimate unless the manager
    # set another, with ``price_reason``); None while pending.
    final_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    price_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Usage, recorded by a manager on a completed booking: the hours actually used and the
    # amount charged (computed from the rate applied unless overridden, with a reason).
    actual_hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    charged: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    charge_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    usage_recorded_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    reminder_sent_at: Mapped[datetime | None]
    # When a lab manager asked the requester's organisation to prove its self-declared
    # SME size class (services/booking/sme_proof.py).
    sme_proof_requested_at: Mapped[datetime | None]
    # iCalendar SEQUENCE: bumped on every change a calendar client must pick up.
    sequence: Mapped[int] = mapped_column(default=0)

    equipment: Mapped[Equipment] = relationship(lazy="raise_on_sql")
    lab: Mapped[Lab] = relationship(lazy="raise_on_sql")
    requester: Mapped[User] = relationship(lazy="raise_on_sql", foreign_keys=[requester_id])
    organisation: Mapped[Organisation] = relationship(lazy="raise_on_sql")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def price(self) -> Decimal:
        """What the customer pays as far as known: charged, else agreed, else estimated."""
        for value in (self.charged, self.final_price):
            if value is not None:
                return value
        return self.price_estimate


class Blackout(Base):
    """A period when a lab (``equipment_id`` empty) or one piece of equipment cannot be
    booked: maintenance, holidays."""

    __tablename__ = "blackout"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="order"),
        Index("ix_blackout_lab_start", "lab_id", "start_at"),
        Index("ix_blackout_equipment_start", "equipment_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"))
    equipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE")
    )
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
