"""Proof of a self-declared SME size class, asked by a lab on a booking.

Rules owned here (docs/RULES.md §11):
- a company's size class gives SME rates at once and never blocks a booking; until a
  platform admin verifies it (services.accounts.administration) it is *self-declared*,
  and the lab's managers see so beside SME-rated bookings;
- a manager of the booking's lab may ask for proof once per booking, while the class is
  self-declared and the booking is at the SME rate. The requester and their
  organisation's admins are told what to send (evidence of staff headcount and turnover
  or balance sheet) and to whom: the platform admins, who receive a copy of the request
  and verify the class on the organisation's admin page;
- nobody answering changes nothing by itself: the booking keeps its SME rate and stays
  marked "proof asked"; the lab decides the booking as it would any other (it may reject
  a pending one, giving its reason).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from labnet.errors import NotFound, RuleViolation
from labnet.extensions import db
from labnet.models import User
from labnet.models.booking import Booking
from labnet.permissions import can_decide_booking, require
from labnet.services.accounts import rules as accounts
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email


def ask_for_sme_proof(actor: User, booking_id: int, *, now: datetime) -> Booking:
    """Ask the booking's organisation to prove its SME size class.

    :raises NotFound: for a booking that does not exist.
    :raises PermissionDenied: unless the actor manages the booking's lab (or is an admin).
    :raises RuleViolation: (field ``None``) when the booking is not at the SME rate, the
        class is verified already, proof was asked already, or LabNet has no admin.
    """
    booking = db.session.scalar(
        select(Booking).options(joinedload(Booking.lab), joinedload(Booking.organisation),
                                joinedload(Booking.requester), joinedload(Booking.equipment))
        .where(Booking.id == booking_id))
    if booking is None:
        raise NotFound(booking_id)
    require(can_decide_booking, actor, booking)
    org = booking.organisation
    if booking.rate_kind != "sme" or not org.is_sme:
        raise RuleViolation(None, f"{booking.reference} is not at the SME rate: there is no "
                            "size class to prove.")
    if org.size_verified:
        raise RuleViolation(None, f"A LabNet admin has verified {org.name}'s size class "
                            "already.")
    if booking.sme_proof_requested_at is not None:
        raise RuleViolation(None, f"Proof was asked for {booking.reference} already.")
    admins = accounts.platform_admins()
    if not admins:
        raise RuleViolation(None, "LabNet has no admin to receive the proof yet.")
    admin_addresses = [a.email for a in admins]
    asked = {booking.requester.email: booking.requester}
    for person in accounts.organisation_admins(org.id):
        asked.setdefault(person.email, person)
    for person in asked.values():
        enqueue_email(
            "sme_proof_requested", person.email,
            f"{booking.lab.name} asks {org.name} to prove its SME size class",
            {"person": person, "booking": booking, "organisation": org,
             "admin_addresses": admin_addresses, "is_requester": person.id == booking.requester_id},
            now=now, action_required=True, reply_to=admin_addresses[0],
            why=f"You receive this because you made the booking {booking.reference}."
            if person.id == booking.requester_id else
            f"You receive this because you are an organisation admin of {org.name}.",
        )
    for admin in admins:
        enqueue_email(
            "sme_proof_admin", admin.email,
            f"Proof of size class asked from {org.name}",
            {"admin": admin, "booking": booking, "organisation": org, "manager": actor},
            now=now, action_required=True,
            why="You receive this because you are a LabNet admin: the admins verify an "
                "organisation's size class.",
        )
    booking.sme_proof_requested_at = now
    booking.updated_at = now
    audit.record(actor, "booking.sme_proof_requested", "booking", booking.id, now=now,
                 organisation_id=org.id, lab_id=booking.lab_id)
    db.session.flush()
    return booking
