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
from labnet.i18n import _, _l
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
        raise RuleViolation(None, _("%(ref)s is not at the SME rate: there is no size class "
                                    "to prove.", ref=booking.reference))
    if org.size_verified:
        raise RuleViolation(None, _("A LabNet admin has verified %(organisation)s's size class "
                                    "already.", organisation=org.name))
    if booking.sme_proof_requested_at is not None:
        raise RuleViolation(None, _("Proof was asked for %(ref)s already.",
                                    ref=booking.reference))
    admins = accounts.platform_admins()
    if not admins:
        raise RuleViolation(None, _("LabNet has no admin to receive the proof yet."))
    admin_addresses = [a.email for a in admins]
    asked = {booking.requester.email: booking.requester}
    for person in accounts.organisation_admins(org.id):
        asked.setdefault(person.email, person)
    for person in asked.values():
        enqueue_email(
            "sme_proof_requested", person.email,
            _l("%(lab)s asks %(organisation)s to prove its SME size class",
               lab=booking.lab.name, organisation=org.name),
            {"person": person, "booking": booking, "organisation": org,
             "admin_addresses": admin_addresses, "is_requester": person.id == booking.requester_id},
            now=now, action_required=True, reply_to=admin_addresses[0],
            why=_l("You receive this because you made the booking %(ref)s.",
                   ref=booking.reference)
            if person.id == booking.requester_id else
            _l("You receive this because you are an organisation admin of %(organisation)s.",
               organisation=org.name),
        )
    for admin in admins:
        enqueue_email(
            "sme_proof_admin", admin.email,
            _l("Proof of size class asked from %(organisation)s", organisation=org.name),
            {"admin": admin, "booking": booking, "organisation": org, "manager": actor},
            now=now, action_required=True,
            why=_l("You receive this because you are a LabNet admin: the admins verify an "
                   "organisation's size class."),
        )
    booking.sme_proof_requested_at = now
    booking.updated_at = now
    audit.record(actor, "booking.sme_proof_requested", "booking", booking.id, now=now,
                 organisation_id=org.id, lab_id=booking.lab_id)
    db.session.flush()
    return booking
