"""Registration for events, the waiting list, attendance, certificates and the
qualifications training grants.

A registration holds a seat while it is ``registered`` or ``offered`` (a freed seat kept for
the first person waiting until ``offer_expires_at``); ``event.seats_taken`` counts exactly
those, moved by the registration service with conditional UPDATEs under the event's row
lock, and the event's CHECK (``seats_taken <= capacity``) refuses any write past capacity
(DESIGN rule 4). One live registration per person and event (a partial unique index).

A qualification is a named skill of one lab ("SEM operation") with an optional validity;
equipment may require qualifications, a course may grant them, and a grant is held by one
person until it expires or is revoked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITING = "waiting"
    OFFERED = "offered"  # a freed seat is held for this person until offer_expires_at
    CANCELLED = "cancelled"
    LAPSED = "lapsed"  # the offer was not accepted in time


SEAT_HOLDING = (RegistrationStatus.REGISTERED, RegistrationStatus.OFFERED)
LIVE_STATUSES = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITING,
                 RegistrationStatus.OFFERED)
_LIVE_SQL = "status IN ('registered', 'waiting', 'offered')"


class Registration(Base):
    __tablename__ = "event_registration"
    __table_args__ = (
        CheckConstraint(
            "status IN ('registered', 'waiting', 'offered', 'cancelled', 'lapsed')",
            name="status",
        ),
        CheckConstraint("status <> 'offered' OR offer_expires_at IS NOT NULL", name="offer"),
        CheckConstraint("status <> 'waiting' OR waiting_since IS NOT NULL", name="waiting"),
        # One live registration (or place on the waiting list) per person and event.
        Index("uq_event_registration_live", "event_id", "user_id", unique=True,
              sqlite_where=text(_LIVE_SQL), postgresql_where=text(_LIVE_SQL)),
        # The waiting list in its order, and the offers the job hands on.
        Index("ix_event_registration_queue", "event_id", "status", "waiting_since", "id"),
        Index("ix_event_registration_offers", "status", "offer_expires_at"),
        Index("ix_event_registration_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12))
    # {question key: answer} for the organiser's questions (Event.questions).
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    registered_at: Mapped[datetime | None]  # since when it holds a seat
    waiting_since: Mapped[datetime | None]  # its place on the waiting list
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    # Bumped by every change, so calendar clients update the entry (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0)


class Attendance(Base):
    """A registered person was present at one session (marked on the check-in list)."""

    __tablename__ = "event_attendance"

    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registration.id", ondelete="CASCADE"), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("event_session.id", ondelete="CASCADE"), primary_key=True, index=True)
    marked_at: Mapped[datetime]
    marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))


class Certificate(Base):
    """A certificate of attendance; ``code`` is its unguessable public verification key.
    What it says is kept as issued (names and titles may change later)."""

    __tablename__ = "event_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registration.id", ondelete="CASCADE"), unique=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    event_title: Mapped[str] = mapped_column(String(200))
    organisers: Mapped[str] = mapped_column(Text, default="")
    # The sessions attended, one per line, in the event's zone ("2026-03-04 09:00–12:00 CET").
    attended: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[float] = mapped_column(default=0.0)
    issued_at: Mapped[datetime]
    issued_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))


class Qualification(Base):
    """A named skill of one lab, e.g. "SEM operation"; ``validity_months`` NULL: no expiry."""

    __tablename__ = "qualification"
    __table_args__ = (
        CheckConstraint("validity_months IS NULL OR validity_months > 0", name="validity"),
        Index("uq_qualification_lab_name", "lab_id", "name", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    validity_months: Mapped[int | None]
    created_at: Mapped[datetime]


class QualificationGrant(Base):
    """A person holds a qualification (from a course or by a manager's hand) until
    ``expires_at`` (NULL: no expiry) unless revoked. One active grant per person and
    qualification: a later course extends it."""

    __tablename__ = "qualification_grant"
    __table_args__ = (
        CheckConstraint("source IN ('course', 'manual')", name="source"),
        Index("uq_qualification_grant_active", "qualification_id", "user_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL")),
        Index("ix_qualification_grant_user", "user_id", "qualification_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    qualification_id: Mapped[int] = mapped_column(
        ForeignKey("qualification.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class EquipmentQualification(Base):
    """Booking this equipment (self-service) needs this qualification."""

    __tablename__ = "equipment_qualification"

    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE"), primary_key=True)
    qualification_id: Mapped[int] = mapped_column(
        ForeignKey("qualification.id", ondelete="CASCADE"), primary_key=True, index=True)


class EventQualification(Base):
    """Attending every session of this event grants this qualification."""

    __tablename__ = "event_qualification"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    qualification_id: Mapped[int] = mapped_column(
        ForeignKey("qualification.id", ondelete="CASCADE"), primary_key=True, index=True)
