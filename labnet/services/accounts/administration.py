"""Platform admins administer people and organisations.

Rules owned here:
- moving a person to another organisation keeps their bookings and requests with the
  organisation that made them (those rows carry their own ``organisation_id``); the
  person's organisation-admin role ends, their organisation calendar feeds are revoked
  (they showed the old organisation's bookings) and they are told by e-mail;
- a deactivated account cannot log in, its login sessions end at once, and it receives
  no e-mail (services.notifications.outbox); a person who is the last active manager of
  a lab is not deactivated until the lab is handed over (team.last_manager_labs), and an
  admin does not deactivate themselves (so an active admin always remains);
- a confirmation link is resent only to an active account whose address is unconfirmed;
- an organisation's name stays unique whatever the capitals; a company has an EU size
  class and other kinds none; a join domain is a plain domain, never a free-mail one;
- a company's size class is *self-declared* (SME rates at once) until an admin verifies
  it; changing the class clears the verification;
- the admin user list shows each person's roles: manager of which labs, organisation
  admin, coordinator of which networks, admin.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l, ngettext
from labnet.models import (
    CalendarFeed,
    Lab,
    LabManager,
    Membership,
    Network,
    Organisation,
    OrgKind,
    OrgRole,
    SizeClass,
    User,
    UserRole,
)
from labnet.models.network import NetworkCoordinator
from labnet.permissions import can_administer_users, require
from labnet.services.accounts import rules as accounts
from labnet.services.catalogue.labs import team
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.geo.geocoding import EUROPEAN_COUNTRIES
from labnet.services.notifications.outbox import enqueue_email

# The user list's role filter: value → label.
ROLE_FILTERS = {
    "manager": _l("Lab managers"),
    "org_admin": _l("Organisation admins"),
    "coordinator": _l("Coordinators"),
    "admin": _l("Admins"),
    "pending": _l("Join requests"),
    "deactivated": _l("Deactivated"),
}
_DOMAIN = re.compile(r"^(?=.{4,200}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


# The user list --------------------------------------------------------------------------


def list_users(q: str = "", role: str = "") -> Select[tuple[User]]:
    """Users for the admin list, filtered by name, e-mail or organisation and by a role of
    :data:`ROLE_FILTERS` (an unknown role filters nothing)."""
    stmt = accounts.list_users(q)
    if role == "manager":
        stmt = stmt.where(exists().where(LabManager.user_id == User.id))
    elif role == "org_admin":
        stmt = stmt.where(User.org_role == OrgRole.ADMIN, User.membership == Membership.ACTIVE)
    elif role in ("coordinator", "admin"):
        stmt = stmt.where(exists().where(UserRole.user_id == User.id, UserRole.role == role))
    elif role == "pending":
        stmt = stmt.where(User.membership == Membership.PENDING)
    elif role == "deactivated":
        stmt = stmt.where(User.is_active.is_(False))
    return stmt


@dataclass
class PersonRoles:
    """What a person may do beyond being a member, for the admin pages."""

    labs: list[Lab] = field(default_factory=list)
    networks: list[Network] = field(default_factory=list)


def roles_of(user_ids: list[int]) -> dict[int, PersonRoles]:
    """The labs each person manages and the networks each coordinates (two queries)."""
    found: dict[int, PersonRoles] = defaultdict(PersonRoles)
    if not user_ids:
        return found
    for user_id, lab in db.session.execute(
            select(LabManager.user_id, Lab).join(Lab, Lab.id == LabManager.lab_id)
            .where(LabManager.user_id.in_(user_ids)).order_by(Lab.name)):
        found[user_id].labs.append(lab)
    for user_id, network in db.session.execute(
            select(NetworkCoordinator.user_id, Network)
            .join(Network, Network.id == NetworkCoordinator.network_id)
            .where(NetworkCoordinator.user_id.in_(user_ids)).order_by(Network.name)):
        found[user_id].networks.append(network)
    return found


# People ---------------------------------------------------------------------------------


def organisation_by_name(name: str | None) -> Organisation:
    """The organisation typed by name (any capitals) in an admin form.

    :raises RuleViolation: on ``organisation`` when none has that name.
    """
    typed = " ".join((name or "").split())
    if not typed:
        raise RuleViolation("organisation", _("Enter the name of the organisation."))
    org = db.session.scalar(select(Organisation).where(Organisation.name_key == typed.lower()))
    if org is None:
        raise RuleViolation("organisation", _("No organisation named “%(name)s” is registered.",
                                               name=typed))
    return org


def move_user(actor: User, person: User, organisation: Organisation, *, now: datetime) -> User:
    """Move ``person`` to ``organisation`` as a plain member and tell them.

    :raises PermissionDenied: unless the actor is an admin.
    :raises RuleViolation: ``organisation`` when it is the person's own already; field
        ``None`` for a pending join request (decide it instead).
    """
    require(can_administer_users, actor)
    if not person.is_member:
        raise RuleViolation(None, _("%(name)s has asked to join %(organisation)s and is no "
                                    "member yet: decide the request instead.",
                                    name=person.full_name,
                                    organisation=person.organisation.name))
    if organisation.id == person.organisation_id:
        raise RuleViolation("organisation", _("%(name)s is a member of %(organisation)s "
                                              "already.", name=person.full_name,
                                              organisation=organisation.name))
    old = person.organisation
    was_admin = person.org_role == OrgRole.ADMIN
    person.organisation = organisation
    person.organisation_id = organisation.id
    person.org_role = OrgRole.MEMBER
    person.updated_at = now
    # An organisation feed showed the old organisation's bookings: it stops working.
    db.session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == person.id, CalendarFeed.kind == "organisation",
               CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now))
    audit.record(actor, "user.moved", "user", person.id, now=now,
                 organisation_id=organisation.id, old_organisation_id=old.id,
                 was_org_admin=was_admin)
    enqueue_email(
        "user_moved", person.email,
        _l("You are now a member of %(organisation)s on LabNet",
           organisation=organisation.name),
        {"person": person, "old": old, "new": organisation, "was_admin": was_admin},
        now=now, action_required=True, reply_to=actor.email,
        why=_l("You receive this because a LabNet admin moved your account to "
               "%(organisation)s.", organisation=organisation.name),
    )
    db.session.flush()
    return person


def set_active(actor: User, person: User, active: bool, *, now: datetime) -> bool:
    """Deactivate (sessions end, no more mail, no login) or reactivate an account; False
    when nothing changed.

    :raises PermissionDenied: unless the actor is an admin.
    :raises RuleViolation: (field ``None``) deactivating oneself, or the last active
        manager of labs (named; hand them over first).
    """
    require(can_administer_users, actor)
    if person.is_active == active:
        return False
    if not active:
        if person.id == actor.id:
            raise RuleViolation(None, _("You cannot deactivate your own account."))
        labs = team.last_manager_labs(person.id)
        if labs:
            names = ", ".join(lab.name for lab in labs)
            raise RuleViolation(None, ngettext(
                "%(name)s is the only manager of %(labs)s. A lab keeps at least one manager: "
                "hand it over to another manager first.",
                "%(name)s is the only manager of %(labs)s. A lab keeps at least one manager: "
                "hand them over to another manager first.",
                len(labs), name=person.full_name, labs=names))
    person.is_active = active
    person.updated_at = now
    if not active:
        accounts.end_all_sessions(person, now=now)
    audit.record(actor, "user.reactivated" if active else "user.deactivated", "user",
                 person.id, now=now)
    db.session.flush()
    return True


def resend_confirmation(actor: User, person: User, *, now: datetime) -> None:
    """Send ``person`` a fresh confirmation link.

    :raises PermissionDenied: unless the actor is an admin.
    :raises RuleViolation: (field ``None``) when the address is confirmed already or the
        account is deactivated.
    """
    require(can_administer_users, actor)
    if person.is_confirmed:
        raise RuleViolation(None, _("%(email)s is confirmed already.", email=person.email))
    if not person.is_active:
        raise RuleViolation(None, _("The account is deactivated; reactivate it first."))
    accounts.send_confirmation(person, now=now)
    audit.record(actor, "user.confirmation_resent", "user", person.id, now=now)
    db.session.flush()


def set_org_admin(actor: User, person: User, make_admin: bool, *, now: datetime) -> bool:
    """Grant or revoke a member's organisation-admin role as a platform admin; False when
    nothing changed.

    :raises PermissionDenied: unless the actor is an admin.
    :raises RuleViolation: (field ``None``) for a pending request or a deactivated
        account; ``user`` when it would leave the organisation without an admin.
    """
    require(can_administer_users, actor)
    if not person.is_member or not person.is_active:
        raise RuleViolation(None, _("%(name)s is no active member of %(organisation)s.",
                                    name=person.full_name,
                                    organisation=person.organisation.name))
    return accounts.change_org_admin(actor, person, make_admin, now=now)


# Organisations --------------------------------------------------------------------------


def list_organisations(q: str = "", *, unverified_only: bool = False
                       ) -> Select[tuple[Organisation]]:
    """Organisations by name, filtered by name, join domain or city; ``unverified_only``
    keeps companies whose size class is self-declared."""
    stmt = select(Organisation).order_by(Organisation.name_key)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(Organisation.name_key.like(like),
                              func.lower(Organisation.email_domain).like(like),
                              func.lower(Organisation.city).like(like)))
    if unverified_only:
        stmt = stmt.where(Organisation.kind == OrgKind.COMPANY,
                          Organisation.size_verified_at.is_(None))
    return stmt


def member_counts(organisation_ids: list[int]) -> dict[int, int]:
    """How many active members each organisation has (one query)."""
    if not organisation_ids:
        return {}
    rows = db.session.execute(
        select(User.organisation_id, func.count())
        .where(User.organisation_id.in_(organisation_ids),
               User.membership == Membership.ACTIVE)
        .group_by(User.organisation_id))
    return {org_id: count for org_id, count in rows.tuples()}


def organisation_people(organisation_id: int) -> Select[tuple[User]]:
    """Everyone of an organisation for its admin page: admins first, then by name."""
    return (select(User).where(User.organisation_id == organisation_id)
            .order_by(User.membership, User.org_role, User.full_name, User.id))


@dataclass(frozen=True)
class OrganisationEdit:
    """An organisation's fields as typed in the admin form."""

    name: str
    kind: str
    country: str
    city: str
    size_class: str | None
    email_domain: str | None


def update_organisation(actor: User, org: Organisation, data: OrganisationEdit, *,
                        now: datetime) -> Organisation:
    """Change an organisation's name, kind, country, city, size class and join domain.

    :raises PermissionDenied: unless the actor is an admin.
    :raises RuleViolation: ``name`` (empty, taken), ``kind``, ``country``, ``city``,
        ``size_class`` (a company needs one), ``email_domain`` (not a domain, free mail).
    """
    require(can_administer_users, actor)
    name = clean_text(" ".join((data.name or "").split()), "name", label=_("The name"),
                      limit=200, required=_("Enter the organisation's name."))
    taken = db.session.scalar(select(Organisation.id).where(
        Organisation.name_key == name.lower(), Organisation.id != org.id))
    if taken:
        raise RuleViolation("name", _("Another organisation is named “%(name)s” already.",
                                       name=name))
    if data.kind not in {k.value for k in OrgKind}:
        raise RuleViolation("kind", _("Choose what kind of organisation it is."))
    country = (data.country or "").upper()
    if country not in EUROPEAN_COUNTRIES:
        raise RuleViolation("country", _("Choose a country from the list."))
    city = clean_text(data.city, "city", label=_("The city"), limit=120)
    size = data.size_class or None
    if data.kind == OrgKind.COMPANY:
        if size not in {s.value for s in SizeClass}:
            raise RuleViolation("size_class", _("A company needs its EU size class (it "
                                                "decides the SME rates)."))
    else:
        size = None
    domain = (data.email_domain or "").strip().lower().lstrip("@") or None
    if domain is not None:
        if not _DOMAIN.match(domain):
            raise RuleViolation("email_domain", _("Enter a domain such as example.org, "
                                                  "without “@” or “www”."))
        if accounts.join_domain(f"x@{domain}") is None:
            raise RuleViolation("email_domain", _(
                "%(domain)s is a free-mail provider: its users work anywhere, so it cannot be "
                "an organisation's domain.", domain=domain))
    changes = {
        key: [getattr(org, key), value]
        for key, value in (("name", name), ("kind", data.kind), ("country", country),
                           ("city", city), ("size_class", size), ("email_domain", domain))
        if getattr(org, key) != value
    }
    if not changes:
        return org
    if "size_class" in changes and org.size_verified_at is not None:
        org.size_verified_at = None
        org.size_verified_by_id = None
        changes["size_verified"] = [True, False]
    for key, (_old, value) in changes.items():
        if key != "size_verified":
            setattr(org, key, value)
    org.name_key = name.lower()
    org.updated_at = now
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Another admin gave an organisation this name a moment ago: both passed the check
        # above, the unique index refuses the second. The caller rolls back.
        raise RuleViolation("name", _("Another organisation was named “%(name)s” a moment "
                                      "ago.", name=name)) from exc
    audit.record(actor, "organisation.updated", "organisation", org.id, now=now,
                 organisation_id=org.id, changes=changes)
    db.session.flush()
    return org


def set_size_verified(actor: User, org: Organisation, verified: bool, *,
                      now: datetime) -> bool:
    """Record that an admin checked a company's size class (or take that back); False
    when nothing changed.

    :raises PermissionDenied: unless the actor is an admin.
    :raises RuleViolation: (field ``None``) for an organisation that is no company.
    """
    require(can_administer_users, actor)
    if org.kind != OrgKind.COMPANY or org.size_class is None:
        raise RuleViolation(None, _("%(name)s is no company: it has no size class to verify.",
                                    name=org.name))
    if org.size_verified == verified:
        return False
    org.size_verified_at = now if verified else None
    org.size_verified_by_id = actor.id if verified else None
    org.updated_at = now
    audit.record(actor, f"organisation.size_{'verified' if verified else 'unverified'}",
                 "organisation", org.id, now=now, organisation_id=org.id,
                 size_class=org.size_class)
    db.session.flush()
    return True
