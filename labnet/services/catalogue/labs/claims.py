"""Claiming a lab that nobody manages on LabNet (DESIGN rule 10, "claimed by its people
with proof").

Rules owned here:

- only a lab without an active manager (services.catalogue.labs.team.is_managed) is
  claimed; a managed lab refuses new claims: its managers add people;
- **proof by e-mail at the lab's own web domain**: the host of the lab's ``website``
  (``www.`` dropped); an address at that host, at a subdomain of it, or at a parent domain
  that is still a registrable domain by the Public Suffix List (``ipt.fraunhofer.de``:
  ``@ipt.fraunhofer.de`` or ``@fraunhofer.de``, never ``@de``; ``amrc.co.uk``: never
  ``@co.uk``). Free-mail domains never count. The link sent there is signed, works for
  ``CONFIRM_TOKEN_MAX_AGE`` and once (it carries the open claim's id);
- **who may claim by domain**: a logged-in member of the lab's own organisation, or a person
  without an account registering from the claim page while the lab's organisation has no
  active member. Following the link then proves the address and the claim at once: the
  person becomes an active member (and organisation admin: nobody else is there) of the
  lab's organisation and the lab's manager. A logged-in member of another organisation
  is told why and offered the approval route;
- **claim by approval**: any confirmed member asks with a reason; the coordinators of the
  networks the lab is an accepted member of decide, and admins (when the lab is in no
  network, the admins are the ones e-mailed). The claimant's organisation does not change;
- one open claim per person and lab; every claim, decision and proof is audited, the
  claimant is e-mailed the decision either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from flask import current_app
from flask_babel import LazyString
from publicsuffixlist import PublicSuffixList
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from labnet import security
from labnet.data import free_mail_domains
from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l, current_language, force_locale, language_of, locale_object
from labnet.models import (
    ClaimMethod,
    ClaimStatus,
    Lab,
    LabClaim,
    Membership,
    NetworkCoordinator,
    NetworkMember,
    NetworkStage,
    Role,
    User,
    UserRole,
)
from labnet.permissions import claim_for, claims_queue_condition
from labnet.services.accounts import rules as accounts
from labnet.services.catalogue.labs import team
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.notifications.outbox import enqueue_email

CLAIM_SALT = "labnet.lab-claim"
MAX_REASON = 2000
INVALID = _l("This claim link is invalid, expired or already used.")


@cache
def _psl() -> PublicSuffixList:
    # The list ships inside the package: no network, read once per process.
    return PublicSuffixList()


def _host(website: str) -> str | None:
    text = (website or "").strip().lower()
    if not text:
        return None
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def lab_domain(lab: Lab) -> str | None:
    """The lab's own web domain (its website's host without ``www.``), or ``None`` when the
    lab has no website or its host is no registrable domain."""
    host = _host(lab.website)
    # An IP address names no organisation (and the list would make "0.1" of "10.0.0.1").
    if (host is None or host.replace(".", "").isdigit() or ":" in host
            or _psl().privatesuffix(host) is None):
        return None
    return host


def domain_problem(email: str, lab: Lab) -> str | None:
    """Why ``email`` does not prove a link to ``lab``'s web domain, or ``None`` when it does."""
    domain = lab_domain(lab)
    if domain is None:
        return _("%(name)s has no website on LabNet, so no address can prove the claim; ask "
                 "for approval instead.", name=lab.name)
    address_domain = accounts.normalise_email(email).rpartition("@")[2].rstrip(".")
    if not address_domain or address_domain in free_mail_domains():
        return _("A free-mail address proves nothing about where you work: use your address "
                 "at %(domain)s, or ask for approval instead.", domain=domain)
    registrable = _psl().privatesuffix(address_domain)
    related = (address_domain == domain or domain.endswith("." + address_domain)
               or address_domain.endswith("." + domain))
    if registrable is None or not related:
        return _("Use an address at %(domain)s (or at its parent domain %(parent)s), the "
                 "lab's own web domain, or ask for approval instead.", domain=domain,
                 parent=_psl().privatesuffix(domain))
    return None


def organisation_has_members(organisation_id: int) -> bool:
    """Whether anybody is an active member of the organisation on LabNet (then a newcomer
    joins it through its admins, not through a claim)."""
    return db.session.scalar(select(User.id).where(
        User.organisation_id == organisation_id, User.membership == Membership.ACTIVE,
        User.is_active.is_(True)).limit(1)) is not None


def _check_claimable(lab: Lab, field: str | None = None) -> None:
    if team.is_managed(lab.id):
        raise RuleViolation(field, _("%(name)s is managed on LabNet already: ask its "
                                     "managers (the contact on the lab's page) to add you.",
                                     name=lab.name))


def _lifetime() -> int:
    return int(current_app.config["CONFIRM_TOKEN_MAX_AGE"])


def _open_claim(lab: Lab, user: User) -> LabClaim | None:
    return db.session.scalar(select(LabClaim).where(
        LabClaim.lab_id == lab.id, LabClaim.user_id == user.id,
        LabClaim.status == ClaimStatus.OPEN))


def _send_proof(claim: LabClaim, *, new_account: bool, now: datetime) -> None:
    token = security.make_token(CLAIM_SALT, {"c": claim.id, "e": claim.email})
    enqueue_email("claim_link", claim.email,
                  _l("Confirm your claim of %(name)s on LabNet", name=claim.lab.name),
                  {"claim": claim, "lab": claim.lab, "user": claim.user, "token": token,
                   "organisation": team.lab_organisation(claim.lab),
                   "new_account": new_account,
                   # Read in the recipient's language (lazy).
                   "lifetime": LazyString(accounts.lifetime_words, _lifetime())},
                  now=now, action_required=True,
                  why=_l("You receive this because this address was typed on the claim page "
                         "of %(name)s on LabNet.", name=claim.lab.name))


def claim_by_domain(actor: User, lab: Lab, email: str, *, now: datetime) -> LabClaim:
    """A logged-in member of the lab's organisation asks for a proof link at ``email``.

    :raises PermissionDenied: for visitors, pending or unconfirmed accounts.
    :raises RuleViolation: ``email`` when the address does not prove the domain, the
        actor belongs to another organisation, the lab is managed, or the actor waits for
        an approval of this lab already.
    """
    if not isinstance(actor, User) or not actor.is_member or not actor.is_confirmed:
        raise PermissionDenied("claim_by_domain")
    _check_claimable(lab, "email")
    if actor.organisation_id != lab.organisation_id:
        raise RuleViolation("email", _("%(name)s belongs to %(organisation)s, and your "
                                       "account to %(own)s: an address at the lab's domain "
                                       "cannot move your account. Ask for approval below.",
                                       name=lab.name,
                                       organisation=team.lab_organisation(lab).name,
                                       own=actor.organisation.name))
    problem = domain_problem(email, lab)
    if problem:
        raise RuleViolation("email", problem)
    claim = _open_claim(lab, actor)
    if claim is not None and claim.method == ClaimMethod.APPROVAL:
        raise RuleViolation("email", _("You asked for approval of this lab already; wait "
                                       "for the answer."))
    address = accounts.normalise_email(email)
    if claim is None:
        claim = LabClaim(lab_id=lab.id, user_id=actor.id, method=ClaimMethod.DOMAIN,
                         email=address, created_at=now)
        db.session.add(claim)
    claim.email = address  # a new link to the address typed now
    db.session.flush()
    audit.record(actor, "lab.claim_started", "lab", lab.id, now=now, claim_id=claim.id,
                 method=ClaimMethod.DOMAIN, email=address)
    _send_proof(claim, new_account=False, now=now)
    return claim


def register_and_claim(lab: Lab, *, email: str, full_name: str, password: str,
                       terms_version: str, now: datetime) -> LabClaim | None:
    """A person without an account claims by registering with an address at the lab's
    domain: the account waits (no login) until the e-mailed link proves the address and
    the claim at once. ``None`` when the address has an account: its owner is told by
    e-mail ("someone tried to register"), and the caller answers exactly alike.

    :raises RuleViolation: ``email`` (domain, or the lab's organisation has members on
        LabNet: join it first), ``full_name``, ``password``; field ``None`` when the lab is
        managed.
    """
    _check_claimable(lab)
    problem = domain_problem(email, lab)
    if problem:
        raise RuleViolation("email", problem)
    organisation = team.lab_organisation(lab)
    if organisation_has_members(organisation.id):
        raise RuleViolation("email", _("%(organisation)s has members on LabNet already: "
                                       "register asking to join it (its admins approve), then "
                                       "claim the lab from your account.",
                                       organisation=organisation.name))
    name = clean_text(full_name, "full_name", label=_("Your name"), limit=120,
                      required=_("Enter your name."))
    address = accounts.normalise_email(email)
    owner = db.session.scalar(select(User).where(User.email == address))
    if owner is not None:
        accounts.check_password_strength(password, address)
        security.hash_password(password)  # as long as a real registration takes
        waiting = _open_claim(lab, owner) if not owner.is_confirmed else None
        if waiting is not None and waiting.method == ClaimMethod.DOMAIN:
            # The same person again, who lost the first mail: a fresh claim link.
            _send_proof(waiting, new_account=True, now=now)
        else:
            accounts.tell_owner_of_registration_attempt(owner, now=now)
        return None
    user = accounts.add_member_account(email=address, full_name=name, password=password,
                                       organisation=organisation,
                                       membership=Membership.PENDING, confirmed_at=None,
                                       terms_version=terms_version, now=now)
    claim = LabClaim(lab_id=lab.id, user_id=user.id, method=ClaimMethod.DOMAIN,
                     email=address, created_at=now)
    db.session.add(claim)
    db.session.flush()
    audit.record(user, "lab.claim_started", "lab", lab.id, now=now, claim_id=claim.id,
                 method=ClaimMethod.DOMAIN, email=address)
    _send_proof(claim, new_account=True, now=now)
    return claim


@dataclass(frozen=True)
class ClaimResult:
    """What following a proof link did: the claim, and whether its person manages the lab
    now (``False``: the lab got a manager meanwhile; the address is proved all the same)."""

    claim: LabClaim
    manages: bool


def confirm_claim(token: str, *, now: datetime) -> ClaimResult:
    """Follow a domain claim's link: the address is proved; a new account becomes an
    active member (and organisation admin) of the lab's organisation; the person becomes
    the lab's manager unless the lab got one meanwhile.

    :raises RuleViolation: (field ``None``) when the link is invalid, expired or used.
    """
    data = security.read_token(CLAIM_SALT, token, _lifetime(), now=now)
    claim_id = data.get("c") if data else None
    claim = (db.session.get(LabClaim, claim_id)
             if isinstance(claim_id, int) and not isinstance(claim_id, bool) else None)
    if (claim is None or data is None or claim.status != ClaimStatus.OPEN
            or claim.method != ClaimMethod.DOMAIN or claim.email != data.get("e")
            or not claim.user.is_active):
        raise RuleViolation(None, str(INVALID))
    user, lab = claim.user, claim.lab
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now  # the link went to this very address
        audit.record(user, "user.email_confirmed", "user", user.id, now=now)
    claim.decided_at = now
    if team.is_managed(lab.id):
        claim.status = ClaimStatus.CANCELLED
        audit.record(user, "lab.claim_cancelled", "lab", lab.id, now=now, claim_id=claim.id)
        if not user.is_member:
            # Somebody else got there first: a plain request to join, decided by them.
            accounts.ask_organisation_admins(user, now=now)
        db.session.flush()
        return ClaimResult(claim, manages=False)
    if not user.is_member:
        accounts.admit_to_organisation(user, now=now)
    claim.status = ClaimStatus.APPROVED
    audit.record(user, "lab.claim_proved", "lab", lab.id, now=now, claim_id=claim.id,
                 email=claim.email)
    team.add_manager(lab, user, by=user, now=now)
    _close_other_claims(lab, claim, now=now)
    db.session.flush()
    return ClaimResult(claim, manages=True)


def claim_receivers(lab_id: int) -> list[User]:
    """Who decides a lab's approval claims and is e-mailed when one arrives: the
    coordinators of the networks the lab is an accepted member of; the platform's admins
    when there are none (nothing goes to nobody)."""
    coordinators = list(db.session.scalars(
        select(User).join(NetworkCoordinator, NetworkCoordinator.user_id == User.id)
        .join(NetworkMember, NetworkMember.network_id == NetworkCoordinator.network_id)
        .join(NetworkStage, NetworkStage.id == NetworkMember.stage_id)
        .where(NetworkMember.lab_id == lab_id, NetworkMember.status == "accepted",
               NetworkStage.retired_at.is_(None), User.is_active.is_(True))
        .distinct().order_by(User.email)))
    if coordinators:
        return coordinators
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.email)))


def ask_approval(actor: User, lab: Lab, reason: str, *, now: datetime) -> LabClaim:
    """Ask to manage ``lab`` with a reason, for the coordinators of its networks or the
    admins to decide (they are e-mailed). An open, unproved domain claim of the actor
    for this lab is replaced.

    :raises PermissionDenied: for visitors, pending or unconfirmed accounts.
    :raises RuleViolation: ``reason`` when empty, too long, the lab is managed, or the
        actor waits for a decision on this lab already.
    """
    if not isinstance(actor, User) or not actor.is_member or not actor.is_confirmed:
        raise PermissionDenied("ask_approval")
    _check_claimable(lab, "reason")
    text = clean_text(reason, "reason", label=_("The reason"), limit=MAX_REASON,
                      one_line=False,
                      required=_("Say who you are and why you manage this lab, so the "
                                 "people deciding can check it."))
    claim = _open_claim(lab, actor)
    if claim is not None and claim.method == ClaimMethod.APPROVAL:
        raise RuleViolation("reason", _("You asked for approval of this lab already on "
                                        "%(day)s; wait for the answer.",
                                        day=_day(claim.created_at)))
    if claim is not None:
        claim.status, claim.decided_at = ClaimStatus.CANCELLED, now  # replaced
        db.session.flush()
    claim = LabClaim(lab_id=lab.id, user_id=actor.id, method=ClaimMethod.APPROVAL,
                     email=actor.email, reason=text, created_at=now)
    db.session.add(claim)
    db.session.flush()
    audit.record(actor, "lab.claim_started", "lab", lab.id, now=now, claim_id=claim.id,
                 method=ClaimMethod.APPROVAL)
    for receiver in claim_receivers(lab.id):
        enqueue_email("claim_received", receiver.email,
                      _l("%(name)s asks to manage %(lab)s on LabNet", name=actor.full_name,
                         lab=lab.name),
                      {"claim": claim, "lab": lab, "claimant": actor, "receiver": receiver,
                       "organisation": team.lab_organisation(lab)},
                      now=now, action_required=True, why=_receiver_why(receiver, lab))
    return claim


def _receiver_why(receiver: User, lab: Lab) -> Any:
    if receiver.is_coordinator and not receiver.is_admin:
        return _l("You receive this because you coordinate a network %(lab)s belongs to.",
                  lab=lab.name)
    return _l("You receive this because you are a LabNet admin and %(lab)s is in no network "
              "with a coordinator.", lab=lab.name)


def _day(at: datetime) -> str:
    """A date as the claim page says it ("05 December 2026" in English)."""
    if current_language() == "en":
        return f"{at:%d %B %Y}"
    return str(format_date(at.date(), "long", locale=locale_object()))


def list_claims(actor: User) -> Select[tuple[LabClaim]]:
    """The open approval claims the actor decides, oldest first.

    :raises PermissionDenied: unless admin or coordinator.
    """
    if not isinstance(actor, User) or not (actor.is_admin or actor.is_coordinator):
        raise PermissionDenied("list_claims")
    return (select(LabClaim)
            .options(joinedload(LabClaim.lab).joinedload(Lab.organisation))
            .where(LabClaim.status == ClaimStatus.OPEN,
                   LabClaim.method == ClaimMethod.APPROVAL, claims_queue_condition(actor))
            .order_by(LabClaim.created_at, LabClaim.id))


def decide_claim(actor: User, claim_id: int, approve: bool, reason: str, *,
                 now: datetime) -> LabClaim:
    """Approve (the claimant manages the lab) or decline an approval claim; the claimant
    is e-mailed either way.

    :raises NotFound: for a claim the actor does not decide.
    :raises RuleViolation: ``reason`` when declining without a reason or too long; field
        ``None`` when the claim is decided already or the lab got a manager meanwhile.
    """
    claim = claim_for(actor, claim_id)
    text = clean_text(reason, "reason", label=_("The reason"), limit=MAX_REASON,
                      one_line=False,
                      required=None if approve else _("Say why you decline, for the claimant."))
    if claim.status != ClaimStatus.OPEN or claim.method != ClaimMethod.APPROVAL:
        raise RuleViolation(None, _("This claim was decided already."))
    lab = claim.lab
    if approve:
        _check_claimable(lab)
    claim.status = ClaimStatus.APPROVED if approve else ClaimStatus.DECLINED
    claim.decision_reason, claim.decided_by_id, claim.decided_at = text, actor.id, now
    audit.record(actor, f"lab.claim_{claim.status}", "lab", lab.id, now=now,
                 claim_id=claim.id, user_id=claim.user_id)
    _tell_claimant(claim, now=now)
    if approve:
        team.add_manager(lab, claim.user, by=actor, now=now)
        _close_other_claims(lab, claim, now=now)
    db.session.flush()
    return claim


def _tell_claimant(claim: LabClaim, *, now: datetime) -> None:
    word = {ClaimStatus.APPROVED: "approved", ClaimStatus.DECLINED: "declined"}.get(
        ClaimStatus(claim.status), "closed")
    enqueue_email("claim_decided", claim.user.email,
                  {"approved": _l("Your claim of %(name)s was approved", name=claim.lab.name),
                   "declined": _l("Your claim of %(name)s was declined", name=claim.lab.name),
                   }.get(word) or _l("Your claim of %(name)s was closed", name=claim.lab.name),
                  {"claim": claim, "lab": claim.lab, "user": claim.user, "word": word},
                  now=now, action_required=True,
                  why=_l("You receive this because you asked to manage %(name)s on LabNet.",
                         name=claim.lab.name))


def _close_other_claims(lab: Lab, kept: LabClaim, *, now: datetime) -> None:
    """The lab is managed now: the other open claims end, their claimants are told that
    the lab's managers add people from now on."""
    for other in db.session.scalars(select(LabClaim).where(
            LabClaim.lab_id == lab.id, LabClaim.status == ClaimStatus.OPEN,
            LabClaim.id != kept.id)):
        other.status, other.decided_at = ClaimStatus.CANCELLED, now
        # Stored with the claim and shown to its claimant: in the claimant's language.
        with force_locale(language_of(other.user)):
            other.decision_reason = _("%(name)s has a manager on LabNet now: ask them to add "
                                      "you.", name=lab.name)
        audit.record(None, "lab.claim_cancelled", "lab", lab.id, now=now, claim_id=other.id)
        if other.user.is_member:
            _tell_claimant(other, now=now)
