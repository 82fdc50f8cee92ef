"""A lab's team: who manages it, and so who receives what is sent to it.

Rules owned here, once:

- a lab is *managed* when at least one active account manages it; only a managed lab has
  someone on LabNet who can act on what is sent to it (DESIGN rule 8, "nothing goes to
  nobody");
- :func:`manager_addresses` is the one list of addresses a lab's mail goes to (active
  managers only, sorted, no repeats);
- :func:`add_manager` is the one act of making someone a lab's manager (claims,
  invitations, the admin's grant); the moment a lab gets its first active manager is
  :func:`_lab_became_managed`, in that one place;
- a lab keeps at least one active manager once claimed (DESIGN rule 10):
  :func:`remove_manager` refuses to remove the last one, whoever asks (the team page, the
  admin's revoke, the command line);
  :func:`last_manager_labs` names the labs a person is the last active manager of, which
  must be handed over before that person is deactivated or deletes their account;
- every change of the team is audited and e-mailed to the lab's managers (the person
  removed included).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import aliased, joinedload

from labnet.errors import NotFound, RuleViolation
from labnet.extensions import db
from labnet.i18n import _l
from labnet.models import Lab, LabManager, LabWatch, Organisation, User
from labnet.permissions import can_manage_lab, manages_lab, require
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email

LAST_MANAGER = _l("A lab keeps at least one manager once claimed: invite someone else as "
                   "manager first (or hand the lab over), then leave.")


def manager_addresses(lab_ids: int | Iterable[int]) -> list[str]:
    """The e-mail addresses of the active managers of one lab or of several labs."""
    ids = [lab_ids] if isinstance(lab_ids, int) else list(lab_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(User.email).join(LabManager, LabManager.user_id == User.id)
        .where(LabManager.lab_id.in_(ids), User.is_active.is_(True))
        .distinct().order_by(User.email)))


def managed_lab_ids(lab_ids: Iterable[int]) -> set[int]:
    """Those of ``lab_ids`` that have at least one active manager (one query)."""
    ids = list(lab_ids)
    if not ids:
        return set()
    return set(db.session.scalars(_managed_statement(), {"lab_ids": ids}))


@cache
def _managed_statement() -> Any:
    # Built once: each page of /labs asks it, and building it cost more than running it.
    return (select(LabManager.lab_id).join(User, User.id == LabManager.user_id)
            .where(LabManager.lab_id.in_(bindparam("lab_ids", expanding=True)),
                   User.is_active.is_(True)).distinct())


def is_managed(lab_id: int) -> bool:
    """Whether the lab has at least one active manager."""
    return bool(managed_lab_ids([lab_id]))


def lab_organisation(lab: Lab) -> Organisation:
    """The organisation a lab belongs to (``Lab.organisation`` never loads by itself)."""
    organisation = db.session.get(Organisation, lab.organisation_id)
    assert organisation is not None  # a foreign key
    return organisation


def list_managers(lab_id: int) -> list[tuple[User, LabManager]]:
    """The lab's managers (inactive accounts included, the page marks them), by name."""
    return list(db.session.execute(
        select(User, LabManager).join(LabManager, LabManager.user_id == User.id)
        .where(LabManager.lab_id == lab_id).order_by(User.full_name, User.id)).tuples())


def _active_manager_count(lab_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(LabManager).join(User, User.id == LabManager.user_id)
        .where(LabManager.lab_id == lab_id, User.is_active.is_(True))).scalar_one()


def _tell_team(lab: Lab, subject: Any, event: str, person: User, *, by: User | None,
               now: datetime, also: Iterable[str] = ()) -> None:
    """E-mail a change of the team to the lab's active managers (and ``also``)."""
    managers = set(manager_addresses(lab.id))
    for address in sorted({*managers, *also}):
        enqueue_email("team_changed", address, subject,
                      {"lab": lab, "event": event, "person": person, "by": by}, now=now,
                      why=_l("You receive this because you manage %(lab)s on LabNet.",
                             lab=lab.name)
                      if address in managers else
                      _l("You receive this because you managed %(lab)s on LabNet until now.",
                         lab=lab.name))


def add_manager(lab: Lab, user: User, *, by: User | None, now: datetime,
                tell: bool = True) -> bool:
    """Make ``user`` a manager of ``lab``: the one act behind a claim, an accepted
    invitation and the admin's grant (DESIGN rule 10). Audited and e-mailed to the lab's
    managers, the new one included. False when ``user`` manages the lab already.

    Callers decide who may do this; ``by`` is who did it (``None``: the command line).
    ``tell=False`` when the caller's own mail already says it (an organisation admin's own
    proposal, approved at once, needs no mail at all).
    """
    if db.session.get(LabManager, (lab.id, user.id)) is not None:
        return False
    first = user.is_active and not is_managed(lab.id)
    db.session.add(LabManager(lab_id=lab.id, user_id=user.id, granted_at=now,
                              granted_by_id=by.id if by else None))
    db.session.flush()
    audit.record(by, "lab.manager_added", "lab", lab.id, now=now, user_id=user.id)
    if first:
        _lab_became_managed(lab, user, now=now)
    if tell:
        _tell_team(lab, _l("%(name)s is now a manager of %(lab)s on LabNet",
                           name=user.full_name, lab=lab.name), "added",
                   user, by=by, now=now)
    return True


def _lab_became_managed(lab: Lab, manager: User, *, now: datetime) -> None:
    """The moment a lab gets its first active manager: from now on someone on LabNet acts
    for it. Whatever must follow that moment (telling the people who waited for the lab to
    take bookings) is called from here, and only here."""
    audit.record(manager, "lab.first_manager", "lab", lab.id, now=now, user_id=manager.id)
    notify_lab_managed(lab.id, now=now)  # "tell me when" (services.catalogue.labs.watch)


def remove_manager(lab: Lab, user: User, *, by: User | None, now: datetime,
                   field: str | None = "user") -> bool:
    """Remove ``user`` from the lab's managers (removed by ``by``, or leaving when ``by`` is
    ``user``). False when ``user`` did not manage the lab. Audited and e-mailed to the
    lab's managers and to ``user``.

    Callers decide who may do this.

    :raises RuleViolation: on ``field`` when ``user`` is the lab's last active manager.
    """
    held = db.session.get(LabManager, (lab.id, user.id))
    if held is None:
        return False
    if user.is_active and _active_manager_count(lab.id) <= 1:
        raise RuleViolation(field, str(LAST_MANAGER))
    db.session.delete(held)
    db.session.flush()
    leaving = by is not None and by.id == user.id
    audit.record(by, "lab.manager_left" if leaving else "lab.manager_removed", "lab", lab.id,
                 now=now, user_id=user.id)
    subject = (_l("%(name)s left the managers of %(lab)s", name=user.full_name, lab=lab.name)
               if leaving else
               _l("%(name)s is no longer a manager of %(lab)s", name=user.full_name,
                  lab=lab.name))
    _tell_team(lab, subject, "left" if leaving else "removed", user, by=by, now=now,
               also=[user.email] if user.is_active else [])
    return True


def remove_from_team(actor: User, lab: Lab, user_id: int, *, now: datetime) -> User:
    """A lab's manager (or an admin) removes a manager of the lab (themselves included);
    returns the person removed.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises NotFound: when ``user_id`` does not manage the lab.
    :raises RuleViolation: (field ``None``) when it is the lab's last active manager.
    """
    require(can_manage_lab, actor, lab)
    user = db.session.get(User, user_id)
    if user is None or not remove_manager(lab, user, by=actor, now=now, field=None):
        raise NotFound(user_id)
    return user


def leave_lab(actor: User, lab: Lab, *, now: datetime) -> None:
    """The actor stops managing the lab.

    :raises PermissionDenied: unless the actor manages the lab.
    :raises RuleViolation: (field ``None``) when they are its last active manager.
    """
    require(manages_lab, actor, lab.id)
    remove_manager(lab, actor, by=actor, now=now, field=None)
def last_manager_labs(user_id: int) -> list[Lab]:
    """The labs, by name, whose only active manager is this user (one query)."""
    others = aliased(LabManager)
    other_user = aliased(User)
    other_active = (
        select(func.count()).select_from(others)
        .join(other_user, other_user.id == others.user_id)
        .where(others.lab_id == LabManager.lab_id, others.user_id != user_id,
               other_user.is_active.is_(True))
        .scalar_subquery()
    )
    return list(db.session.scalars(
        select(Lab).join(LabManager, LabManager.lab_id == Lab.id)
        .where(LabManager.user_id == user_id, other_active == 0)
        .order_by(Lab.name)))


def notify_lab_managed(lab_id: int, *, now: datetime) -> int:
    """The lab has its first manager: e-mail everyone who asked to be told (active accounts
    only) and remove every wish for the lab. Returns how many e-mails were queued.

    Call it in the transaction that made the lab managed, after the manager row is written;
    a lab that is still unmanaged keeps its wishes (returns 0).
    """
    if not is_managed(lab_id):
        return 0
    lab = db.session.scalar(select(Lab).options(joinedload(Lab.organisation))
                            .where(Lab.id == lab_id))
    if lab is None:
        return 0
    watchers = list(db.session.scalars(
        select(User).join(LabWatch, LabWatch.user_id == User.id)
        .where(LabWatch.lab_id == lab_id).order_by(User.id)))
    sent = 0
    for user in watchers:
        if not user.is_active:
            continue
        enqueue_email("lab_managed", user.email,
                      _l("%(lab)s now takes bookings on LabNet", lab=lab.name),
                      {"lab": lab}, now=now,
                      why=_l("You receive this because you asked LabNet to tell you when "
                             "%(lab)s opens for bookings.", lab=lab.name))
        sent += 1
    db.session.execute(delete(LabWatch).where(LabWatch.lab_id == lab_id)
                       .execution_options(synchronize_session=False))
    if watchers:
        audit.record(None, "lab.watchers_told", "lab", lab_id, now=now, told=sent)
    db.session.flush()
    return sent
