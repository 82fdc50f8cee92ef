"""Join requests that nobody answers: the platform admins' queue, reminders and expiry.

Rules owned here (DESIGN rule 8, "nothing goes to nobody"):
- a confirmed request to join an organisation without organisation admins waits in the
  platform admins' queue (``/admin/join-requests``), decided with the same approve and
  decline as the organisation's own members page (services.accounts.rules);
- a request still undecided :data:`REMIND_AFTER` after it reached its approvers (its
  address was confirmed) reminds them once, whoever they are now (an organisation may
  have gained an admin meanwhile);
- a request still undecided :data:`EXPIRE_AFTER` after it reached its approvers expires:
  the requester is told and the account is removed, as a declined request is (they may
  register again). :func:`remind_and_expire_join_requests` is the job; it is idempotent:
  a second run finds nothing due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import aliased

from labnet.extensions import db
from labnet.i18n import _l
from labnet.models import Membership, OrgRole, User
from labnet.permissions import can_administer_users, require
from labnet.services.accounts import rules as accounts
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email

REMIND_AFTER = timedelta(days=3)
EXPIRE_AFTER = timedelta(days=14)
BATCH = 200  # per run, well inside the job's lease


def _waiting() -> Select[tuple[User]]:
    # Confirmed (so sent to approvers), still pending, account active.
    return (select(User)
            .where(User.membership == Membership.PENDING, User.is_active.is_(True),
                   User.email_confirmed_at.is_not(None))
            .order_by(User.email_confirmed_at, User.id))


def list_admin_queue(actor: User) -> Select[tuple[User]]:
    """Confirmed join requests to organisations that have no active organisation admin,
    oldest first: the platform admins decide these.

    :raises PermissionDenied: unless the actor is an admin.
    """
    require(can_administer_users, actor)
    admin = aliased(User)
    has_admin = exists().where(admin.organisation_id == User.organisation_id,
                               admin.org_role == OrgRole.ADMIN,
                               admin.membership == Membership.ACTIVE,
                               admin.is_active.is_(True))
    return _waiting().where(~has_admin)


def remind_and_expire_join_requests(*, now: datetime) -> dict[str, Any]:
    """The job: expire requests older than :data:`EXPIRE_AFTER`, remind the approvers of
    those older than :data:`REMIND_AFTER` once. Returns the counts."""
    expired = 0
    for person in db.session.scalars(
            _waiting().where(User.email_confirmed_at <= now - EXPIRE_AFTER).limit(BATCH)):
        audit.record(None, "organisation.join_expired", "user", person.id, now=now,
                     organisation_id=person.organisation_id, email=person.email)
        enqueue_email(
            "join_expired", person.email,
            _l("Your request to join %(organisation)s expired",
               organisation=person.organisation.name),
            {"person": person, "organisation": person.organisation,
             "days": EXPIRE_AFTER.days},
            now=now, action_required=True,
            why=_l("You receive this because you asked to join %(organisation)s on LabNet.",
                   organisation=person.organisation.name),
        )
        db.session.delete(person)
        expired += 1
    db.session.flush()
    reminded = 0
    for person in db.session.scalars(
            _waiting().where(User.email_confirmed_at <= now - REMIND_AFTER,
                             User.join_reminded_at.is_(None)).limit(BATCH)):
        approvers, platform = accounts.join_approvers(person.organisation_id)
        confirmed_at = person.email_confirmed_at
        assert confirmed_at is not None  # _waiting() holds confirmed requests only
        for approver in approvers:
            enqueue_email(
                "join_reminder", approver.email,
                _l("Reminder: %(name)s asks to join %(organisation)s",
                   name=person.full_name, organisation=person.organisation.name),
                {"admin": approver, "person": person, "organisation": person.organisation,
                 "platform": platform, "days": (now - confirmed_at).days,
                 "expires_at": confirmed_at + EXPIRE_AFTER},
                now=now, action_required=True,
                why=_l("You receive this because you are a LabNet admin and "
                       "%(organisation)s has no organisation admin.",
                       organisation=person.organisation.name) if platform else
                _l("You receive this because you are an organisation admin of "
                   "%(organisation)s on LabNet.", organisation=person.organisation.name),
            )
        person.join_reminded_at = now
        audit.record(None, "organisation.join_reminded", "user", person.id, now=now,
                     organisation_id=person.organisation_id, approvers=len(approvers))
        reminded += 1
    db.session.flush()
    return {"reminded": reminded, "expired": expired}
