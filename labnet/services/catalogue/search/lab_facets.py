"""The maintained per-lab facet summary (``lab_facet``): what filter values each lab has.

Rules owned here, once:

- **What a row says** (:class:`labnet.models.LabFacet`): one row per lab (family ``lab``),
  its kind and country, each KET code and each level-1 area of them, each category of its
  live (active or in maintenance) equipment, ``bookable`` when it has active equipment that
  is not request-only, and each verified accreditation scheme with the instant it ends.
  These are the definitions of :mod:`.filters`, read once per write instead of per search.
- **Same transaction as the write**: :func:`labnet.services.catalogue.search.index.sync`
  rebuilds the rows of the labs it rebuilds the words of (their writes mark them), so the
  counts of a search are never older than the data. ``flask labnet search reindex`` and
  the migration that creates the table call :func:`rebuild` for every lab.
- **The same rows per lab in one text** (:class:`labnet.models.LabFacetSet`, written
  with them): a search's counts read one row per matching lab and count its lines in
  Python, instead of grouping ~20 rows per lab in SQL (at 2,000 labs: ~6 ms, not ~23).
- **Why**: the facet counts of a search are then one ``GROUP BY`` over this table for the
  matching labs (:func:`labnet.services.catalogue.search.facets._facet_counts`), instead
  of a join into the equipment (ten rows per lab) and correlated checks per lab; the
  relevance tie-breakers (accredited, bookable) are read from the same text
  (:func:`parsed`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, distinct, select

from labnet.models import (
    Accreditation,
    AccreditationStatus,
    Equipment,
    EquipmentMode,
    EquipmentStatus,
    KetArea,
    Lab,
    LabFacet,
    LabFacetSet,
    LabKet,
)

CHUNK = 1000
_LIVE = (EquipmentStatus.ACTIVE.value, EquipmentStatus.MAINTENANCE.value)
Progress = Callable[[int, int], None]


def _noop(_done: int, _total: int) -> None:
    return None


def lab_rows(conn: Connection, lab_ids: list[int]) -> list[tuple[int, str, str, datetime | None]]:
    """The ``lab_facet`` rows (lab id, family, code, until) of ``lab_ids``: five queries."""
    rows: list[tuple[int, str, str, datetime | None]] = []
    for lab_id, kind, country in conn.execute(
            select(Lab.id, Lab.kind_code, Lab.country).where(Lab.id.in_(lab_ids))):
        rows += [(lab_id, "lab", "", None), (lab_id, "kind", kind or "", None),
                 (lab_id, "country", country or "", None)]
    top: set[tuple[int, str]] = set()
    for lab_id, code, parent in conn.execute(
            select(LabKet.lab_id, LabKet.ket_code, KetArea.parent_code)
            .join(KetArea, KetArea.code == LabKet.ket_code).where(LabKet.lab_id.in_(lab_ids))):
        rows.append((lab_id, "ket", code, None))
        top.add((lab_id, parent or code))
    rows += [(lab_id, "ket1", code, None) for lab_id, code in top]
    rows += [(lab_id, "category", code, None) for lab_id, code in conn.execute(
        select(distinct(Equipment.lab_id), Equipment.category_code)
        .where(Equipment.lab_id.in_(lab_ids), Equipment.status.in_(_LIVE)))]
    rows += [(lab_id, "bookable", "", None) for lab_id in conn.scalars(
        select(distinct(Equipment.lab_id))
        .where(Equipment.lab_id.in_(lab_ids), Equipment.status == EquipmentStatus.ACTIVE,
               Equipment.mode != EquipmentMode.REQUEST_ONLY))]
    schemes: dict[tuple[int, str], datetime | None] = {}
    for lab_id, scheme, until in conn.execute(
            select(Accreditation.lab_id, Accreditation.scheme_code, Accreditation.ends_at)
            .where(Accreditation.lab_id.in_(lab_ids),
                   Accreditation.status == AccreditationStatus.VERIFIED)):
        key = (lab_id, scheme)
        if key not in schemes:
            schemes[key] = until
        else:  # the longest validity counts; no end date beats any
            known = schemes[key]
            schemes[key] = None if known is None or until is None else max(known, until)
    rows += [(lab_id, "accreditation", scheme, until)
             for (lab_id, scheme), until in schemes.items()]
    return rows


LINE = "\n"  # between the rows of a lab's facet set
PART = "\t"  # between family, code and until within a row


def stamp(at: datetime) -> str:
    """An instant as the facet set writes it: UTC, fixed width, so comparing the texts
    compares the instants."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


# A facet set as the reads use it: its lines (interned, so counting them hashes nothing),
# whether it has bookable equipment, and the latest end of its verified accreditations
# (:data:`NO_END` for one that never ends; ``None`` without any). Kept per process by the
# text itself (a pure function of it: never stale), so a search counts and ranks the sets
# of thousands of labs without splitting each again; a written lab's new text is a new key.
Parsed = tuple[tuple[str, ...], bool, str | None]
NO_END = "\uffff"  # sorts after every stamp: valid at any instant
_PARSED: dict[str | None, Parsed] = {}  # None never stored: a lab without a set
_PARSED_MAX = 100_000  # texts kept (a few MB); cleared past it


def parsed(codes: str) -> Parsed:
    """The facet set ``codes`` (:class:`labnet.models.LabFacetSet`) read once per process."""
    hit = _PARSED.get(codes)
    if hit is not None:
        return hit
    lines = tuple(sys.intern(line) for line in codes.split(LINE)) if codes else ()
    bookable = False
    until: str | None = None
    for line in lines:
        family, _code, *end = line.split(PART)
        if family == "bookable":
            bookable = True
        elif family == "accreditation":
            last = end[0] if end else NO_END
            until = last if until is None else max(until, last)
    hit = (lines, bookable, until)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[codes] = hit
    return hit


_NONE: Parsed = ((), False, None)


def parsed_all(texts: list[str | None]) -> list[Parsed]:
    """:func:`parsed` of each of ``texts`` (``None``: a lab without a facet set), in order:
    thousands of known texts looked up at C speed, only new ones split."""
    out: list[Parsed | None] = list(map(_PARSED.get, texts))
    for n, hit in enumerate(out):
        if hit is None:
            text = texts[n]
            out[n] = parsed(text) if text else _NONE
    return out  # type: ignore[return-value]


def set_texts(rows: Iterable[tuple[int, str, str, datetime | None]]) -> dict[int, str]:
    """Lab id -> its facet set (:class:`labnet.models.LabFacetSet`) from its rows."""
    lines: dict[int, list[str]] = {}
    for lab_id, family, code, until in rows:
        line = f"{family}{PART}{code}" if until is None else \
            f"{family}{PART}{code}{PART}{stamp(until)}"
        lines.setdefault(lab_id, []).append(line)
    return {lab_id: LINE.join(sorted(ls)) for lab_id, ls in lines.items()}


def _set_insert_sql(conn: Connection) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO lab_facet_set (lab_id, codes) VALUES ({mark}, {mark})"  # noqa: S608


def _insert_sql(conn: Connection) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return (f"INSERT INTO lab_facet (lab_id, family, code, until) "  # noqa: S608 - fixed
            f"VALUES ({mark}, {mark}, {mark}, {mark})")


def _until_processor(conn: Connection) -> Callable[[Any], Any] | None:
    return LabFacet.__table__.c.until.type._cached_bind_processor(conn.dialect)


def rebuild(conn: Connection, lab_ids: Iterable[int] | None = None, *,
            progress: Progress = _noop, sets: bool = True) -> int:
    """Rewrite the rows of ``lab_ids`` (every lab when ``None``) in chunks of
    :data:`CHUNK` labs, and their facet sets (``sets``: false only for the migration that
    ran before ``lab_facet_set`` existed); returns the number of rows written."""
    if lab_ids is None:
        conn.execute(delete(LabFacet))
        if sets:
            conn.execute(delete(LabFacetSet))
        ids = list(conn.scalars(select(Lab.id).order_by(Lab.id)))
        clear = False
    else:
        ids = sorted(set(lab_ids))
        clear = True
    written = 0
    progress(0, len(ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        if clear:
            conn.execute(delete(LabFacet).where(LabFacet.lab_id.in_(chunk)))
            if sets:
                conn.execute(delete(LabFacetSet).where(LabFacetSet.lab_id.in_(chunk)))
        rows: list[Any] = sorted(lab_rows(conn, chunk), key=lambda r: r[:3])
        if rows:
            # The driver's own statement (fast): ``until`` goes in as the column type
            # stores it (UTC; SQLite's text form), so comparisons with it hold.
            until = _until_processor(conn)
            conn.exec_driver_sql(_insert_sql(conn),
                                 [(a, b, c, until(d) if until else d) for a, b, c, d in rows])
            if sets:
                conn.exec_driver_sql(_set_insert_sql(conn), sorted(set_texts(rows).items()))
        written += len(rows)
        progress(min(start + CHUNK, len(ids)), len(ids))
    return written
