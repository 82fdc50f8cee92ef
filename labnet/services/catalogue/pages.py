"""Catalogue reads: home-page figures, the lab list, the lab page and the equipment page.

Every read issues a fixed number of queries whatever the catalogue's size (RELIABILITY
§6.4.1): relationships raise on lazy loading, so each read loads what it shows explicitly.
Drafts never appear in public reads (visibility comes from ``permissions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, distinct, exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from labnet.extensions import db
from labnet.models import Equipment, EquipmentStatus, KetArea, Lab, LabKet
from labnet.permissions import can_manage_lab, listed_lab_condition, visible_labs
from labnet.services.catalogue import search


@dataclass(frozen=True)
class HomeFigures:
    """The home page's counts over published labs."""

    labs: int
    equipment: int
    countries: int
    ket_areas: int


def home_figures() -> HomeFigures:
    """Live counts for the home page, over published labs only (two queries)."""
    labs, countries, equipment = db.session.execute(
        select(
            func.count(Lab.id), func.count(distinct(Lab.country)),
            func.coalesce(func.sum(Lab.equipment_count), 0),
        ).where(listed_lab_condition())
    ).one()
    # Level-1 areas represented by a published lab, directly or through a sub-area: asked
    # per area (63 probes of an index) rather than counted over every lab's links.
    used = exists().where(
        LabKet.ket_code == KetArea.code, Lab.id == LabKet.lab_id, listed_lab_condition()
    )
    kets = db.session.scalar(
        select(func.count(distinct(func.coalesce(KetArea.parent_code, KetArea.code)))).where(used)
    )
    return HomeFigures(labs=labs, equipment=int(equipment), countries=countries,
                       ket_areas=kets or 0)


def _list_options(stmt: Select[tuple[Lab]]) -> Select[tuple[Lab]]:
    return stmt.options(
        joinedload(Lab.kind), joinedload(Lab.organisation), selectinload(Lab.ket_links)
    )


def newest_labs(limit: int = 6) -> list[Lab]:
    """The ``limit`` most recently created labs a visitor may see, newest first."""
    stmt = visible_labs(None).order_by(Lab.created_at.desc(), Lab.id.desc()).limit(limit)
    return list(db.session.scalars(_list_options(stmt)))


def list_labs(actor: Any, q: str = "") -> Select[tuple[Lab]]:
    """Published labs matching the words of ``q`` exactly as ``/labs`` finds them (the rules
    live in :mod:`labnet.services.catalogue.search`), by name. The page itself uses
    :func:`search.search_labs`; this stays for callers that want a plain ``Select``."""
    return _list_options(
        search.list_matching(actor, search.SearchQuery(q=q)).order_by(Lab.name, Lab.id))


@dataclass(frozen=True)
class LabPage:
    """What a lab's page shows, and whether the actor may manage the lab."""

    lab: Lab
    equipment: list[Equipment]
    can_manage: bool


def get_lab_page(actor: Any, lab: Lab) -> LabPage:
    """The lab with its KET links, opening hours and equipment (retired equipment only for
    those who manage the lab)."""
    db.session.scalar(
        select(Lab)
        .options(
            joinedload(Lab.kind),
            joinedload(Lab.organisation),
            selectinload(Lab.ket_links),
            selectinload(Lab.opening_hours),
        )
        .where(Lab.id == lab.id)
        .execution_options(populate_existing=True)
    )
    manage = can_manage_lab(actor, lab)
    stmt = (
        select(Equipment)
        .options(joinedload(Equipment.category))
        .where(Equipment.lab_id == lab.id)
        .order_by(Equipment.name, Equipment.id)
    )
    if not manage:
        stmt = stmt.where(Equipment.status != EquipmentStatus.RETIRED)
    return LabPage(lab=lab, equipment=list(db.session.scalars(stmt)), can_manage=manage)


def get_equipment_page(equipment: Equipment) -> Equipment:
    """Load what the equipment page shows (lab, category, specifications, KET areas)."""
    return db.session.scalars(
        select(Equipment)
        .options(
            joinedload(Equipment.lab).joinedload(Lab.organisation),
            joinedload(Equipment.category),
            selectinload(Equipment.specs),
            selectinload(Equipment.ket_links),
        )
        .where(Equipment.id == equipment.id)
        .execution_options(populate_existing=True)
    ).one()
