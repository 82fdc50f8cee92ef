""""Tell me when": wishes to hear when an unmanaged lab gets its first manager.

Rules owned here (DESIGN rule 8, "nothing goes to nobody"):

- an unmanaged lab takes no bookings (services.booking.engine refuses them); instead a
  logged-in person may leave one wish per lab (:func:`watch_lab`), see it on their account
  page (:func:`list_watches`) and withdraw it (:func:`unwatch_lab`);
- a managed lab takes no new wishes (there is nothing to wait for);
- when a lab gets its first active manager, ``team.notify_lab_managed`` queues one
  ``lab_managed`` e-mail per wish (to active accounts) and removes every wish of that lab,
  in the caller's transaction; ``team.add_manager`` (claims, invitations, proposals, the
  admin's grant) calls it at that one moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _
from labnet.models import Lab, LabWatch, User
from labnet.permissions import can_watch_lab, require
from labnet.services.catalogue.labs.team import is_managed
from labnet.services.common import audit


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
        raise RuleViolation("lab", _("%(lab)s is managed on LabNet already: you can book or "
                                     "send a request now.", lab=lab.name))
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
