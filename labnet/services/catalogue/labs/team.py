"""A lab's team: who manages it, and so who receives what is sent to it.

Rules owned here, once (DESIGN rule 8, "nothing goes to nobody"):

- a lab is *managed* when at least one active account manages it; only a managed lab has
  someone on LabNet who can act on what is sent to it;
- :func:`manager_addresses` is the one list of addresses a lab's mail goes to (active
  managers only, sorted, no repeats);
- a lab keeps at least one manager: :func:`last_manager_labs` names the labs a person is
  the last active manager of, which must be handed over before that person is
  deactivated.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from labnet.extensions import db
from labnet.models import Lab, LabManager, User


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
    return set(db.session.scalars(
        select(LabManager.lab_id).join(User, User.id == LabManager.user_id)
        .where(LabManager.lab_id.in_(ids), User.is_active.is_(True)).distinct()))


def is_managed(lab_id: int) -> bool:
    """Whether the lab has at least one active manager."""
    return bool(managed_lab_ids([lab_id]))


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
