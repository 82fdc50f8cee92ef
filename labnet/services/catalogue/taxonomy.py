"""Taxonomies shipped as data (KET areas, equipment categories, accreditation schemes, lab
kinds): an idempotent sync from ``labnet/data`` into their tables, and cached reads."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select

from labnet import data
from labnet.extensions import db
from labnet.i18n import data_name
from labnet.models import AccreditationScheme, EquipmentCategory, KetArea, LabKind

# The shipped tables, each keyed by its ``code``.
Taxonomy = TypeVar("Taxonomy", KetArea, EquipmentCategory, AccreditationScheme, LabKind)


def _sync_table(model: type[Taxonomy], rows: list[dict[str, Any]]) -> None:
    existing = {obj.code: obj for obj in db.session.scalars(select(model))}
    for row in rows:
        obj = existing.get(row["code"])
        if obj is None:
            db.session.add(model(**row))
        else:
            for key, value in row.items():
                setattr(obj, key, value)
    db.session.flush()


def sync_taxonomies() -> dict[str, int]:
    """Insert new and update changed taxonomy rows; never deletes (rows may be referenced).

    Returns the number of rows per table after the sync.
    """
    kets, categories = data.ket_areas(), data.category_rows()
    schemes, kinds = data.scheme_rows(), data.kind_rows()
    _sync_table(KetArea, kets)
    _sync_table(EquipmentCategory, categories)
    _sync_table(AccreditationScheme, schemes)
    _sync_table(LabKind, kinds)
    return {KetArea.__tablename__: len(kets),
            EquipmentCategory.__tablename__: len(categories),
            AccreditationScheme.__tablename__: len(schemes),
            LabKind.__tablename__: len(kinds)}


def ket_tree() -> list[tuple[KetArea, list[KetArea]]]:
    """Level-1 areas with their sub-areas, in shipped order."""
    areas = db.session.scalars(select(KetArea).order_by(KetArea.position)).all()
    top = [a for a in areas if a.parent_code is None]
    return [(a, [c for c in areas if c.parent_code == a.code]) for a in top]


def ket_names() -> dict[str, str]:
    """KET area code -> name, both levels."""
    return dict(db.session.execute(select(KetArea.code, KetArea.name)).tuples().all())


def local_ket_names() -> dict[str, str]:
    """KET area code -> name in the reader's language (labnet/data/i18n), both levels. For
    pages; stored or cached documents keep the English of :func:`ket_names`."""
    return {code: data_name("ket_areas", code, name) for code, name in ket_names().items()}


def local_category_names() -> dict[str, str]:
    """Equipment category code -> name in the reader's language."""
    return {code: data_name("equipment_categories", code, name)
            for code, name in category_names().items()}


def local_lab_kind_names() -> list[tuple[str, str]]:
    """(code, name) of the lab kinds in the reader's language, by that name."""
    return sorted(((code, data_name("lab_kinds", code, name)) for code, name in lab_kind_names()),
                  key=lambda pair: pair[1])


def category_names() -> dict[str, str]:
    """Equipment category code -> name."""
    return dict(db.session.execute(
        select(EquipmentCategory.code, EquipmentCategory.name)).tuples().all())


def lab_kind_names() -> list[tuple[str, str]]:
    """(code, name) of the lab kinds, by name."""
    return [(code, name) for code, name in db.session.execute(
        select(LabKind.code, LabKind.name).order_by(LabKind.name))]


def category_groups() -> list[tuple[str, str, str]]:
    """(code, name, group name) of the equipment categories, in shipped order."""
    return [(code, name, group) for code, name, group in db.session.execute(
        select(EquipmentCategory.code, EquipmentCategory.name, EquipmentCategory.group_name)
        .order_by(EquipmentCategory.number))]


def list_ket_areas() -> list[KetArea]:
    """Every KET area (both levels), by code."""
    return list(db.session.scalars(select(KetArea).order_by(KetArea.code)))
