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


def manages_any_lab(actor: Any) -> bool:
    """Whether ``actor`` manages at least one lab (shows "My labs" in the navigation)."""
    user = _user(actor)
    if user is None:
        return False
    return bool(db.session.scalar(select(exists().where(LabManager.user_id == user.id))))


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


def managed_lab_for(actor: Any, slug: str) -> Lab:
    """The lab with ``slug`` for its management pages.

    :class:`NotFound` when it does not exist or is a draft the actor may not see;
    :class:`PermissionDenied` when the actor sees it (published) but does not manage it.
    """
    lab = lab_for(actor, slug)
    require(can_manage_lab, actor, lab)
    return lab


def managed_equipment_for(actor: Any, equipment_id: int) -> Equipment:
    """The equipment with ``equipment_id`` for its management pages.

    :class:`NotFound` when the actor may not see it (missing, of a draft lab they do not
    manage, or retired); :class:`PermissionDenied` when it is public but the actor does not
    manage its lab.
    """
    equipment = equipment_for(actor, equipment_id)
    require(can_manage_lab, actor, equipment.lab)
    return equipment


def managed_labs(actor: Any) -> Select[tuple[Lab]]:
    """Labs the actor may edit, by name: every lab for admins, their own for managers,
    none for anyone else (drafts included: these are the actor's own pages)."""
    stmt = select(Lab).order_by(Lab.name, Lab.id)
    if is_admin(actor):
        return stmt
    user = _user(actor)
    if user is None:
        return stmt.where(Lab.id.is_(None))  # nobody's labs
    return stmt.join(LabManager, LabManager.lab_id == Lab.id).where(LabManager.user_id == user.id)


# Bookings ---------------------------------------------------------------------------------


def can_book(actor: Any) -> bool:
    """Any active user with a confirmed address books for their own organisation."""
    user = _user(actor)
    return bool(user and user.is_confirmed)


def can_decide_booking(actor: Any, booking: Any) -> bool:
    """The booking lab's managers (and admins) approve, reject, cancel and mark no-shows."""
    return is_admin(actor) or manages_lab(actor, booking.lab_id)


def can_view_booking(actor: Any, booking: Any) -> bool:
    """Only the requesting organisation and the lab's managers (and admins) see a booking
    (DESIGN rule 6); everyone else gets 404."""
    user = _user(actor)
    if user is None:
        return False
    return user.organisation_id == booking.organisation_id or can_decide_booking(user, booking)


def booking_for(actor: Any, booking_id: int) -> Any:
    """The booking if the actor may see it, else :class:`NotFound` (no enumeration)."""
    from labnet.models.booking import Booking

    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view_booking(actor, booking):
        raise NotFound(booking_id)
    return booking


def visible_bookings(actor: Any) -> Select[Any]:
    """Bookings of the actor's organisation (the "My bookings" list)."""
    from labnet.models.booking import Booking

    user = _user(actor)
    if user is None:
        return select(Booking).where(Booking.id.is_(None))
    return select(Booking).where(Booking.organisation_id == user.organisation_id)


def managed_bookings(actor: Any) -> Select[Any]:
    """Bookings of the labs the actor manages (every lab for admins)."""
    from labnet.models.booking import Booking

    user = _user(actor)
    if user is None:
        return select(Booking).where(Booking.id.is_(None))
    if is_admin(user):
        return select(Booking)
    return select(Booking).join(LabManager, LabManager.lab_id == Booking.lab_id).where(
        LabManager.user_id == user.id
    )
