"""A person's own data: what LabNet holds about them, as a download, and deleting the account.

Rules owned here:

- **Access** (GDPR Art. 15 and 20): :func:`personal_data` gathers everything LabNet keeps that
  names the person — the account, its roles, sessions, calendar feeds and API tokens
  (name, scopes, created, expires, last used, revoked; never a secret, its hash or its
  prefix), the bookings and requests they made, the messages they wrote, what they did
  (the audit trail) and the e-mails sent to them (kind, subject, status; not the bodies, which
  may hold one-time links) — as one JSON-ready document.
- **Erasure** (Art. 17): :func:`delete_account` anonymises the account instead of removing the
  row, because the bookings, requests and messages it made belong to the organisation (its
  invoices, its project history). Afterwards nothing names the person: name, address, password,
  sessions, API tokens, roles, lab and network duties, calendar feeds and the bodies of the
  e-mails sent to them are gone; the row says only "deleted account" and can never log in again.
- **Nothing left without a receiver** (DESIGN rule 8): an account is not deleted while someone
  would be left waiting on it — upcoming bookings it requested, open requests it sent, a lab or
  network it alone looks after, an organisation with other members that it alone administers.
  Every such blocker is named at once, with what to do first (:func:`deletion_blockers`).
- The password is asked again: a session left open on a shared computer cannot delete the
  account (:func:`delete_account` checks it, with every blocker, before anything changes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from labnet import security
from labnet.errors import RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, ngettext
from labnet.models import (
    ApiToken,
    AuditEvent,
    Lab,
    LabManager,
    OutboxEmail,
    User,
    UserRole,
)
from labnet.models.booking import ACTIVE_STATUSES, Booking
from labnet.models.network import Network, NetworkCoordinator
from labnet.models.request import OPEN_STATUSES, LabRequest, RequestMessage
from labnet.models.user import CalendarFeed, LoginSession, Membership, OrgRole
from labnet.services.catalogue.labs import team
from labnet.services.common import audit

EXPORT_FORMAT = "LabNet personal data export, version 1"
DELETED_NAME = "Deleted account"  # i18n: keep (stored as the account's name)
ERASED_BODY = "[erased when the recipient deleted their account]"
# Not an Argon2 hash: verify_password is False for every password.
NO_PASSWORD = "!"  # noqa: S105 - a marker, not a secret


def anonymised_email(user_id: int) -> str:
    """The address a deleted account keeps: unique, and deliverable nowhere (``.invalid``
    is reserved, RFC 2606)."""
    return f"deleted-{user_id}@deleted.invalid"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- access ---------------------------------------------------------------------------------


def personal_data(user: User, *, now: datetime) -> dict[str, Any]:
    """Everything LabNet keeps that names ``user``, as plain JSON-ready values."""
    org = user.organisation
    session = db.session
    managed = session.execute(
        select(Lab.slug, Lab.name, LabManager.granted_at)
        .join(LabManager, LabManager.lab_id == Lab.id)
        .where(LabManager.user_id == user.id).order_by(Lab.name)).all()
    coordinated = session.execute(
        select(Network.slug, Network.name, NetworkCoordinator.added_at)
        .join(NetworkCoordinator, NetworkCoordinator.network_id == Network.id)
        .where(NetworkCoordinator.user_id == user.id).order_by(Network.name)).all()
    sessions = session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id)
        .order_by(LoginSession.created_at)).all()
    feeds = session.scalars(
        select(CalendarFeed).where(CalendarFeed.user_id == user.id)
        .order_by(CalendarFeed.created_at)).all()
    api_tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at, ApiToken.id)).all()
    bookings = session.execute(
        select(Booking, Lab.name)
        .join(Lab, Lab.id == Booking.lab_id)
        .where(Booking.requester_id == user.id).order_by(Booking.start_at)).all()
    requests = session.scalars(
        select(LabRequest).where(LabRequest.created_by_id == user.id)
        .order_by(LabRequest.created_at)).all()
    messages = session.scalars(
        select(RequestMessage).where(RequestMessage.author_id == user.id)
        .order_by(RequestMessage.created_at, RequestMessage.id)).all()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == user.id)
        .order_by(AuditEvent.at, AuditEvent.id)).all()
    mails = session.scalars(
        select(OutboxEmail).where(OutboxEmail.to_addr == user.email)
        .order_by(OutboxEmail.created_at, OutboxEmail.id)).all()
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "account": {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "created_at": _iso(user.created_at),
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "last_login_at": _iso(user.last_login_at),
            "notifications": user.mail_mode,
            "language": user.locale or None,
            "terms_version": user.terms_version or None,
            "terms_accepted_at": _iso(user.terms_accepted_at),
            "organisation": {"name": org.name, "kind": org.kind, "country": org.country,
                             "role": user.org_role, "membership": user.membership},
            "roles": sorted(r.role for r in user.roles),
        },
        "lab_manager_of": [{"lab": slug, "name": name, "since": _iso(at)}
                           for slug, name, at in managed],
        "network_coordinator_of": [{"network": slug, "name": name, "since": _iso(at)}
                                   for slug, name, at in coordinated],
        "login_sessions": [{"created_at": _iso(s.created_at), "expires_at": _iso(s.expires_at),
                            "ended_at": _iso(s.revoked_at), "browser": s.user_agent}
                           for s in sessions],
        "calendar_feeds": [{"kind": f.kind, "equipment_id": f.equipment_id,
                            "created_at": _iso(f.created_at), "revoked_at": _iso(f.revoked_at)}
                           for f in feeds],
        "api_tokens": [{"name": t.name, "scopes": sorted(t.scope_set),
                        "created_at": _iso(t.created_at), "expires_at": _iso(t.expires_at),
                        "last_used_at": _iso(t.last_used_at), "revoked_at": _iso(t.revoked_at)}
                       for t in api_tokens],
        "bookings": [{"reference": b.reference, "lab": lab_name, "equipment_id": b.equipment_id,
                      "start_at": _iso(b.start_at), "end_at": _iso(b.end_at),
                      "status": b.status, "purpose": b.purpose,
                      "price_estimate": str(b.price_estimate), "currency": b.currency,
                      "created_at": _iso(b.created_at)}
                     for b, lab_name in bookings],
        "requests": [{"reference": r.reference, "kind": r.kind, "title": r.title,
                      "summary": r.summary, "status": r.status,
                      "created_at": _iso(r.created_at)} for r in requests],
        "messages": [{"request_id": m.request_id, "at": _iso(m.created_at), "text": m.body}
                     for m in messages],
        "activity": [{"at": _iso(e.at), "action": e.action, "subject": e.subject_type,
                      "subject_id": e.subject_id} for e in events],
        "emails_sent_to_you": [{"at": _iso(m.created_at), "kind": m.kind,
                                "subject": m.subject, "status": m.status,
                                "sent_at": _iso(m.sent_at)} for m in mails],
    }


# --- erasure --------------------------------------------------------------------------------


def _last_coordinator_networks(user_id: int) -> list[Network]:
    others = (select(NetworkCoordinator.network_id)
              .join(User, User.id == NetworkCoordinator.user_id)
              .where(NetworkCoordinator.user_id != user_id, User.is_active.is_(True)))
    return list(db.session.scalars(
        select(Network).join(NetworkCoordinator, NetworkCoordinator.network_id == Network.id)
        .where(NetworkCoordinator.user_id == user_id, Network.id.not_in(others))
        .order_by(Network.name)))


def _sole_admin_with_members(user: User) -> bool:
    if user.org_role != OrgRole.ADMIN:
        return False
    counts = dict(db.session.execute(
        select(User.org_role, func.count())
        .where(User.organisation_id == user.organisation_id, User.id != user.id,
               User.is_active.is_(True), User.membership == Membership.ACTIVE)
        .group_by(User.org_role)).tuples().all())
    return not counts.get(OrgRole.ADMIN) and bool(counts.get(OrgRole.MEMBER))


def _names(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    if len(items) <= limit:
        return shown
    return ngettext("%(names)s and %(num)d more", "%(names)s and %(num)d more",
                    len(items) - limit, names=shown)


def deletion_blockers(user: User, *, now: datetime) -> list[str]:
    """Why ``user`` cannot delete their account yet, each with what to do first; empty when
    nothing stands in the way."""
    blockers = []
    bookings = list(db.session.scalars(
        select(Booking.reference).where(
            Booking.requester_id == user.id, Booking.end_at > now,
            Booking.status.in_([s.value for s in ACTIVE_STATUSES]))
        .order_by(Booking.start_at)))
    if bookings:
        blockers.append(_("You have upcoming bookings (%(references)s): cancel them, or let "
                          "them end, before you delete your account — the labs would "
                          "otherwise write to no one about them.",
                          references=_names([b or '?' for b in bookings])))
    requests = list(db.session.scalars(
        select(LabRequest.title).where(
            LabRequest.created_by_id == user.id,
            LabRequest.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(LabRequest.created_at)))
    if requests:
        blockers.append(_("You have open requests (%(titles)s): withdraw or complete them "
                          "first — the labs answer you.",
                          titles=_names([f'“{t}”' for t in requests])))
    labs = team.last_manager_labs(user.id)
    if labs:
        blockers.append(_("You are the only manager of %(labs)s: hand the lab over to a "
                          "colleague first (a lab always keeps a manager).",
                          labs=_names([lab.name for lab in labs])))
    networks = _last_coordinator_networks(user.id)
    if networks:
        blockers.append(_("You are the only coordinator of %(networks)s: add another "
                          "coordinator first.", networks=_names([n.name for n in networks])))
    if _sole_admin_with_members(user):
        blockers.append(_("You are the only organisation admin of %(organisation)s, which has "
                          "other members: make one of them an organisation admin first "
                          "(Organisation → Members), so that someone can approve who joins.",
                          organisation=user.organisation.name))
    return blockers


def delete_account(user: User, *, password: str, now: datetime) -> None:
    """Anonymise ``user``'s account (see the module's rules); the caller commits.

    :raises RuleViolations: ``password`` when it is wrong, and every one of
        :func:`deletion_blockers` (field ``None``); nothing is changed.
    """
    problems = [RuleViolation(None, blocker) for blocker in deletion_blockers(user, now=now)]
    if not security.verify_password(user.password_hash, password):
        problems.insert(0, RuleViolation("password", _("This is not your password.")))
    raise_all(problems)

    old_email = user.email
    session = db.session
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    session.execute(delete(LabManager).where(LabManager.user_id == user.id))
    session.execute(delete(NetworkCoordinator).where(NetworkCoordinator.user_id == user.id))
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.execute(
        update(OutboxEmail).where(OutboxEmail.to_addr == old_email)
        .values(to_addr=anonymised_email(user.id), body_text=ERASED_BODY, body_html=ERASED_BODY,
                redacted_text=None, redacted_html=None))
    session.expire(user, ["roles"])
    user.email = anonymised_email(user.id)
    user.full_name = DELETED_NAME
    user.password_hash = NO_PASSWORD
    user.is_active = False
    user.email_confirmed_at = None
    user.last_login_at = None
    user.org_role = OrgRole.MEMBER
    user.deleted_at = now
    audit.record(user, "user.deleted", "user", user.id, now=now)
    session.flush()

