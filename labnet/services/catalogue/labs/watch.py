""""Tell me when": wishes to hear when an unmanaged lab gets its first manager.

Rules owned here (DESIGN rule 8, "nothing goes to nobody"):

- an unmanaged lab takes no bookings (services.booking.engine refuses them); instead a
  logged-in person may leave one wish per lab (:func:`watch_lab`), see it on their account
  page (:func:`list_watches`) and withdraw it (:func:`unwatch_lab`);
- a managed lab takes no new wishes (there is nothing to wait for);
- when a lab gets its first active manager, :func:`notify_lab_managed` queues one
  ``lab_managed`` e-mail per wish (to active accounts) and removes every wish of that lab,
  in the caller's transaction. Every path that makes a lab managed calls it: the admin's
  grant (services.accounts.rules.grant_role) and, once merged, claiming a lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.models import Lab, LabWatch, User
from labnet.permissions import can_watch_lab, require
from labnet.services.catalogue.labs.team import is_managed
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email


@dataclass(frozen=True)
class Watch:
    """One wish as the account page shows it."""

    lab: Lab
    created_at: datetime


def is_watching(user: User | None, lab_id: int) -> bool:
    """Whether ``user`` waits for lab ``lab_id`` to be managed (False for visitors)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(LabWatch, (user.id, lab_id)) is not None


def watch_lab(actor: User, lab: Lab, *, now: datetime) -> bool:
    """Leave a wish to hear when ``lab`` gets its first manager; False if already left.

    :raises PermissionDenied: for visitors, or a lab the actor may not see.
    :raises RuleViolation: (``lab``) when the lab is managed already.
    """
    require(can_watch_lab, actor, lab)
    if is_managed(lab.id):
        raise RuleViolation("lab", f"{lab.name} is managed on LabNet already: you can book "
                                   "or send a request now.")
    if db.session.get(LabWatch, (actor.id, lab.id)) is not None:
        return False
    db.session.add(LabWatch(user_id=actor.id, lab_id=lab.id, created_at=now))
    audit.record(actor, "lab.watched", "lab", lab.id, now=now)
    db.session.flush()
    return True


def unwatch_lab(actor: User, lab_id: int, *, now: datetime) -> bool:
    """Withdraw the actor's wish for ``lab_id``; False if there was none."""
    row = db.session.get(LabWatch, (actor.id, lab_id))
    if row is None:
        return False
    db.session.delete(row)
    audit.record(actor, "lab.unwatched", "lab", lab_id, now=now)
    db.session.flush()
    return True


def list_watches(user: User) -> list[Watch]:
    """The labs ``user`` waits for, oldest wish first."""
    rows = db.session.execute(
        select(Lab, LabWatch.created_at).join(LabWatch, LabWatch.lab_id == Lab.id)
        .where(LabWatch.user_id == user.id).order_by(LabWatch.created_at, Lab.name)).all()
    return [Watch(lab=lab, created_at=created) for lab, created in rows]


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
        enqueue_email("lab_managed", user.email, f"{lab.name} now takes bookings on LabNet",
                      {"lab": lab}, now=now,
                      why=f"You receive this because you asked LabNet to tell you when "
                          f"{lab.name} opens for bookings.")
        sent += 1
    db.session.execute(delete(LabWatch).where(LabWatch.lab_id == lab_id)
                       .execution_options(synchronize_session=False))
    if watchers:
        audit.record(None, "lab.watchers_told", "lab", lab_id, now=now, told=sent)
    db.session.flush()
    return sent
