"""Invitations to a lab's manager team, and handing a lab over.

Rules owned here (DESIGN rule 10, "handed over, and it always keeps a manager"):

- a lab's managers (and admins) invite further managers by e-mail; the link is signed,
  works for ``CONFIRM_TOKEN_MAX_AGE`` (7 days) and once (it carries the invitation's id,
  and only an open invitation is accepted); a new invitation to the same address
  replaces the open one;
- only the invited address accepts: a person with an account there logs in and accepts;
  a person without one registers from the invitation into the lab's organisation, the
  invitation approving the join and the link proving the address;
- a hand-over is an invitation whose inviter leaves once it is accepted: until then the
  inviter stays manager, so the lab is never without one;
- invitations are audited; the invitee gets the link, the lab's managers hear of the new
  manager (services.catalogue.labs.team).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import LazyString
from sqlalchemy import Select, select

from labnet import security
from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.models import InvitationStatus, Lab, LabInvitation, LabManager, Membership, User
from labnet.permissions import can_manage_lab, manages_lab, require
from labnet.services.accounts import rules as accounts
from labnet.services.catalogue.labs import team
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.notifications.outbox import enqueue_email

INVITE_SALT = "labnet.lab-invitation"
MAX_MESSAGE = 2000
INVALID = _l("This invitation link is invalid, expired, cancelled or already used.")


def _lifetime() -> int:
    return int(current_app.config["CONFIRM_TOKEN_MAX_AGE"])


def list_open_invitations(lab_id: int) -> Select[tuple[LabInvitation]]:
    """The lab's open invitations, newest first."""
    return (select(LabInvitation)
            .where(LabInvitation.lab_id == lab_id,
                   LabInvitation.status == InvitationStatus.OPEN)
            .order_by(LabInvitation.created_at.desc(), LabInvitation.id.desc()))


def invite_manager(actor: User, lab: Lab, email: str, message: str, *, handover: bool,
                   now: datetime) -> LabInvitation:
    """Invite ``email`` to manage ``lab`` (``handover``: the actor leaves once accepted).

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises RuleViolation: ``email`` when the address manages the lab already, ``message``
        when too long or holding control characters, ``handover`` when the actor is no
        manager of the lab (an admin invites, but has nothing to hand over).
    """
    require(can_manage_lab, actor, lab)
    address = accounts.normalise_email(email)
    if "@" not in address or len(address) > 254:
        raise RuleViolation("email", _("Enter a valid e-mail address, like "
                                       "name@example.org."))
    if db.session.scalar(select(User.id).join(LabManager, LabManager.user_id == User.id)
                         .where(LabManager.lab_id == lab.id, User.email == address)):
        raise RuleViolation("email", _("%(email)s manages %(lab)s already.", email=address,
                                       lab=lab.name))
    message = clean_text(message, "message", label=_("The message"), limit=MAX_MESSAGE,
                         one_line=False)
    if handover and not manages_lab(actor, lab.id):
        raise RuleViolation("handover", _("Only a manager of the lab hands it over; invite "
                                          "without handing over."))
    for old in db.session.scalars(list_open_invitations(lab.id)
                                  .where(LabInvitation.email == address)):
        old.status, old.decided_at = InvitationStatus.CANCELLED, now  # replaced
    invitation = LabInvitation(lab_id=lab.id, email=address, message=message,
                               is_handover=handover, invited_by_id=actor.id, created_at=now)
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, "lab.manager_invited", "lab", lab.id, now=now, email=address,
                 handover=handover, invitation_id=invitation.id)
    token = security.make_token(INVITE_SALT, {"i": invitation.id, "e": address})
    enqueue_email("team_invitation", address,
                  _l("%(name)s invites you to manage %(lab)s on LabNet",
                     name=actor.full_name, lab=lab.name),
                  {"lab": lab, "inviter": actor, "invitation": invitation, "token": token,
                   "organisation": team.lab_organisation(lab),
                   # Read in the recipient's language (lazy).
                   "lifetime": LazyString(accounts.lifetime_words, _lifetime())},
                  now=now, action_required=True,
                  why=_l("You receive this because %(name)s invited this address to manage "
                         "%(lab)s on LabNet.", name=actor.full_name, lab=lab.name))
    return invitation


def cancel_invitation(actor: User, lab: Lab, invitation_id: int, *, now: datetime) -> str:
    """Withdraw an open invitation of the lab; returns the address it was for.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises RuleViolation: (field ``None``) when it is no open invitation of this lab.
    """
    require(can_manage_lab, actor, lab)
    invitation = db.session.get(LabInvitation, invitation_id)
    if (invitation is None or invitation.lab_id != lab.id
            or invitation.status != InvitationStatus.OPEN):
        raise RuleViolation(None, _("This invitation is no longer open."))
    invitation.status, invitation.decided_at = InvitationStatus.CANCELLED, now
    audit.record(actor, "lab.invitation_cancelled", "lab", lab.id, now=now,
                 email=invitation.email, invitation_id=invitation.id)
    db.session.flush()
    return invitation.email


def invitation_for_token(token: str, *, now: datetime) -> LabInvitation | None:
    """The open invitation a link is for, while the link is fresh; else ``None``."""
    data = security.read_token(INVITE_SALT, token, _lifetime(), now=now)
    invitation_id = data.get("i") if data else None
    if not isinstance(invitation_id, int) or isinstance(invitation_id, bool):
        return None
    invitation = db.session.get(LabInvitation, invitation_id)
    if (invitation is None or invitation.status != InvitationStatus.OPEN
            or data is None or invitation.email != data.get("e")):
        return None
    return invitation


def _accepted(invitation: LabInvitation, user: User, *, now: datetime) -> None:
    lab = invitation.lab
    team.add_manager(lab, user, by=invitation.invited_by or user, now=now)
    invitation.status, invitation.decided_at = InvitationStatus.ACCEPTED, now
    invitation.accepted_by_id = user.id
    audit.record(user, "lab.invitation_accepted", "lab", lab.id, now=now,
                 invitation_id=invitation.id)
    inviter = invitation.invited_by
    if invitation.is_handover and inviter is not None and inviter.id != user.id:
        # The hand-over completes: the inviter leaves now that a successor manages the lab.
        team.remove_manager(lab, inviter, by=inviter, now=now)
    db.session.flush()


def accept_invitation(actor: User, token: str, *, now: datetime) -> LabInvitation:
    """The logged-in invitee accepts: they manage the lab from now on (and a hand-over's
    inviter leaves).

    :raises RuleViolation: (field ``None``) when the link is invalid, expired or used, or
        the actor is logged in with another address than the invited one.
    :raises PermissionDenied: for an inactive or pending account.
    """
    if not isinstance(actor, User) or not actor.is_active or not actor.is_member:
        raise PermissionDenied("accept_invitation")
    invitation = invitation_for_token(token, now=now)
    if invitation is None:
        raise RuleViolation(None, str(INVALID))
    if actor.email != invitation.email:
        raise RuleViolation(None, _("This invitation is for %(email)s; you are logged in as "
                                    "%(own)s. Log out and log in (or register) with the "
                                    "invited address.", email=invitation.email,
                                    own=actor.email))
    _accepted(invitation, actor, now=now)
    return invitation


def register_and_accept(token: str, full_name: str, password: str, *, terms_version: str,
                        now: datetime) -> LabInvitation:
    """Someone without an account accepts an invitation by registering: the account is
    made in the lab's organisation (the invitation approves the join; the link proves the
    address), and they manage the lab at once. Returns the accepted invitation.

    :raises RuleViolation: (field ``None``) for an invalid, expired or used link;
        ``full_name`` when empty; ``password`` when weak; ``email`` when the invited address
        has an account already (log in instead).
    """
    invitation = invitation_for_token(token, now=now)
    if invitation is None:
        raise RuleViolation(None, str(INVALID))
    name = clean_text(full_name, "full_name", label=_("Your name"), limit=120,
                      required=_("Enter your name."))
    user = accounts.add_member_account(
        email=invitation.email, full_name=name, password=password,
        organisation=team.lab_organisation(invitation.lab), membership=Membership.ACTIVE,
        confirmed_at=now, terms_version=terms_version, now=now)
    audit.record(user, "organisation.member_invited", "user", user.id, now=now,
                 organisation_id=user.organisation_id, invitation_id=invitation.id)
    _accepted(invitation, user, now=now)
    return invitation
