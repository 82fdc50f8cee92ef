"""Who may do what: one predicate per decision, scoped loaders and query scopes.

Views, the API, the CLI and services all decide here (DESIGN rule 6). Predicates return
``False`` for anonymous users. Loaders raise :class:`NotFound` when the actor may not know
an object exists, and :class:`PermissionDenied` when the object is public but the action
is not allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, exists, select

from labnet.errors import NotFound, PermissionDenied
from labnet.extensions import db
from labnet.models import Equipment, EquipmentStatus, Lab, LabManager, User


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) and actor.is_active else None


def is_admin(actor: Any) -> bool:
    """Admins may do everything."""
    user = _user(actor)
    return bool(user and user.is_admin)


def can_administer_users(actor: Any) -> bool:
    """Only admins list users, grant and revoke roles, and read the outbox."""
    return is_admin(actor)


def manages_lab(actor: Any, lab_id: int) -> bool:
    """Whether ``actor`` is a manager of lab ``lab_id`` (one query)."""
    user = _user(actor)
    if user is None:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(LabManager.lab_id == lab_id, LabManager.user_id == user.id)
            )
        )
    )


def can_manage_lab(actor: Any, lab: Lab) -> bool:
    """A lab's managers and admins edit the lab and its equipment."""
    return is_admin(actor) or manages_lab(actor, lab.id)


def can_view_lab(actor: Any, lab: Lab) -> bool:
    """Published labs are public; drafts are seen by their managers and admins only."""
    return lab.is_published or can_manage_lab(actor, lab)


def can_view_equipment(actor: Any, equipment: Equipment) -> bool:
    """Equipment of a visible lab; retired equipment only by those who manage the lab."""
    if not can_view_lab(actor, equipment.lab):
        return False
    return equipment.status != EquipmentStatus.RETIRED or can_manage_lab(actor, equipment.lab)


def require(predicate: Callable[..., bool], actor: Any, *args: Any) -> None:
    """Raise :class:`PermissionDenied` unless ``predicate(actor, *args)`` holds."""
    if not predicate(actor, *args):
        raise PermissionDenied(predicate.__name__)


def visible_labs(actor: Any) -> Select[tuple[Lab]]:
    """Labs the actor may see in lists: published ones (drafts appear only on the manager's
    own pages, never in public lists)."""
    return select(Lab).where(Lab.is_published.is_(True))


def lab_for(actor: Any, slug: str) -> Lab:
    """The lab with ``slug`` if the actor may see it, else :class:`NotFound`."""
    lab = db.session.scalar(select(Lab).where(Lab.slug == slug))
    if lab is None or not can_view_lab(actor, lab):
        raise NotFound(slug)
    return lab


def equipment_for(actor: Any, equipment_id: int) -> Equipment:
    """The equipment with ``equipment_id`` if the actor may see it, else :class:`NotFound`."""
    from sqlalchemy.orm import joinedload

    equipment = db.session.scalar(
        select(Equipment).options(joinedload(Equipment.lab)).where(Equipment.id == equipment_id)
    )
    if equipment is None or not can_view_equipment(actor, equipment):
        raise NotFound(equipment_id)
    return equipment


def user_for_admin(actor: Any, user_id: int) -> User:
    """A user record for the admin pages (403 for anyone who is not an admin)."""
    require(can_administer_users, actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(user_id)
    return user
