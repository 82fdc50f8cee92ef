"""Meetings between consortia during an event.

A registered participant publishes a :class:`MeetingProfile` on the event's Meet page
(what they offer, what they look for, KET areas, the project they come for) and asks another
for a 1:1 :class:`Meeting` in one of the event's slots; the other accepts or declines.

Nobody has two accepted meetings in one slot, and the database holds it: accepting inserts
one :class:`MeetingSlotTaken` row for each of the two people, in the accepting transaction,
and the unique key (event, person, slot start) refuses the second of two meetings in a
slot, whichever processes accept them at the same moment. Declining, withdrawing or
cancelling an accepted meeting deletes its two rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class MeetingStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the requester took the request back before an answer
    CANCELLED = "cancelled"  # either person called off an accepted meeting


MEETING_STATUSES = tuple(s.value for s in MeetingStatus)


class MeetingProfile(Base):
    """A participant's short profile on one event's Meet page."""

    __tablename__ = "meeting_profile"
    __table_args__ = (UniqueConstraint("event_id", "user_id", name="uq_meeting_profile_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    offer: Mapped[str] = mapped_column(String(600), default="")
    looking_for: Mapped[str] = mapped_column(String(600), default="")
    # KET area codes (a few, shown as labels; checked against the taxonomy by the service).
    ket_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Meeting(Base):
    """A 1:1 meeting asked for by ``requester`` with ``invitee`` in one slot of an event."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("status IN ({})".format(", ".join(repr(s) for s in MEETING_STATUSES)),
                        name="status"),
        CheckConstraint("requester_id <> invitee_id", name="two_people"),
        CheckConstraint("slot_end_at > slot_start_at", name="span"),
        Index("ix_meeting_event_status", "event_id", "status"),
        Index("ix_meeting_requester", "requester_id", "event_id"),
        Index("ix_meeting_invitee", "invitee_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    slot_start_at: Mapped[datetime]
    slot_end_at: Mapped[datetime]
    message: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default=MeetingStatus.REQUESTED.value)
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answer_note: Mapped[str] = mapped_column(String(300), default="")


class MeetingSlotTaken(Base):
    """One person's accepted meeting in one slot: the database's guard against two."""

    __tablename__ = "meeting_slot_taken"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", "slot_start_at",
                         name="uq_meeting_slot_taken_person_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    slot_start_at: Mapped[datetime]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"),
                                            index=True)
