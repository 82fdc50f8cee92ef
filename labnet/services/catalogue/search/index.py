"""The word-search index (``search_term``) and how it stays true.

Rules owned here, once:

- **What is indexed, per lab**: its name, capabilities, description and city, the names of
  its KET areas, and for each piece of its equipment that is not retired: name, maker,
  model, category name, and (as details: words only, no vocabulary concepts) its
  specifications and its category's group. Each text is read by :mod:`.text` (folded,
  stemmed, vocabulary concepts added); a row holds one term of the lab and the fields it
  occurs in (a bit mask).
- **Same transaction as the write.** Every flush that adds, changes or removes a lab, a KET
  link, a piece of equipment or a specification, and every ``session.execute`` of an
  INSERT/UPDATE/DELETE on those tables, marks the labs concerned; before the transaction
  commits (and before a search reads), their rows are rebuilt. No writer has to remember
  it; an UPDATE or DELETE whose labs cannot be told rebuilds the whole index. A rollback
  forgets the marks with the writes.
- The labs' facet rows (:mod:`.lab_facets`) are rebuilt with their words, from the same
  marks (accreditations and an equipment's mode mark their lab too).
- :func:`rebuild` is the one builder: the hooks, ``flask labnet search reindex`` and the
  migration that creates the table all call it (it needs only a connection).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, event, select
from sqlalchemy.orm import Session

from labnet.models import (
    Accreditation,
    Equipment,
    EquipmentCategory,
    EquipmentSpec,
    EquipmentStatus,
    KetArea,
    Lab,
    LabKet,
    SearchTerm,
)
from labnet.services.catalogue.search import lab_facets
from labnet.services.catalogue.search import text as txt

CHUNK = 500
_DIRTY = "labnet.search.dirty_labs"
# An execution option naming the labs an UPDATE or DELETE statement touches, so the index
# rebuilds those labs' rows instead of every lab's:
# ``.execution_options(**{LAB_IDS_OPTION: [lab_id]})``.
LAB_IDS_OPTION = "labnet_index_lab_ids"
_DIRTY_EQUIPMENT = "labnet.search.dirty_equipment"
_ALL = "labnet.search.rebuild_all"
# Columns whose change alters a lab's indexed words (other updates, such as an equipment's
# booking sequence or a lab's equipment count, leave the index alone).
# The same marks keep the labs' facet rows (:mod:`.lab_facets`): their kind, country, the
# equipment's mode and the accreditations count there.
_INDEXED_COLUMNS = {
    "lab": {"name", "capabilities", "description", "city", "id", "kind_code", "country"},
    "lab_ket": {"lab_id", "ket_code"},
    "equipment": {"lab_id", "name", "maker", "model", "category_code", "status", "mode", "id"},
    "equipment_spec": {"equipment_id", "key", "value"},
    "accreditation": {"lab_id", "scheme_code", "status", "valid_until"},
}

Progress = Callable[[int, int], None]


def _noop(_done: int, _total: int) -> None:
    return None


def lab_terms(conn: Connection, lab_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """lab id → {term: fields} for the given labs (labs that do not exist are left out):
    five queries, whatever the number of labs."""
    categories = {code: (name, group) for code, name, group in conn.execute(
        select(EquipmentCategory.code, EquipmentCategory.name, EquipmentCategory.group_name))}
    out: dict[int, dict[str, int]] = {}

    def add(lab_id: int, content: str, field: int, *, phrases: bool = True) -> None:
        if not content:
            return
        terms, pairs = txt.document_terms(content, concepts=field != txt.FIELD_DETAILS)
        row = out[lab_id]
        for term in terms:
            row[term] = row.get(term, 0) | field
        if phrases and field & txt.PHRASE_FIELDS:
            for term in pairs:
                row[term] = row.get(term, 0) | field

    for lab_id, name, capabilities, description, city in conn.execute(
            select(Lab.id, Lab.name, Lab.capabilities, Lab.description, Lab.city)
            .where(Lab.id.in_(lab_ids))):
        out[lab_id] = {}
        add(lab_id, name, txt.FIELD_NAME)
        for line in (capabilities or "").splitlines():
            add(lab_id, line, txt.FIELD_CAPABILITIES)
        add(lab_id, description or "", txt.FIELD_DESCRIPTION)
        add(lab_id, city or "", txt.FIELD_CITY)
    for lab_id, ket_name in conn.execute(
            select(LabKet.lab_id, KetArea.name).join(KetArea, KetArea.code == LabKet.ket_code)
            .where(LabKet.lab_id.in_(lab_ids))):
        if lab_id in out:
            add(lab_id, ket_name, txt.FIELD_KET)
    equipment = conn.execute(
        select(Equipment.id, Equipment.lab_id, Equipment.name, Equipment.maker,
               Equipment.model, Equipment.category_code)
        .where(Equipment.lab_id.in_(lab_ids), Equipment.status != EquipmentStatus.RETIRED)
    ).all()
    owner = {r[0]: r[1] for r in equipment}
    for _id, lab_id, name, maker, model, category in equipment:
        if lab_id not in out:
            continue
        cat_name, group = categories.get(category, ("", ""))
        add(lab_id, name or "", txt.FIELD_EQUIPMENT)
        for content in (maker, model, cat_name):  # no phrase pairs: fewer rows
            add(lab_id, content or "", txt.FIELD_EQUIPMENT, phrases=False)
        add(lab_id, group, txt.FIELD_DETAILS)
    if owner:
        for equipment_id, key, value in conn.execute(
                select(EquipmentSpec.equipment_id, EquipmentSpec.key, EquipmentSpec.value)
                .where(EquipmentSpec.equipment_id.in_(list(owner)))):
            lab_id = owner[equipment_id]
            if lab_id in out:
                add(lab_id, f"{key} {value}", txt.FIELD_DETAILS)
    return out


def _insert_sql(conn: Connection) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = "search_term (term, lab_id, fields)"
    return f"INSERT INTO {columns} VALUES ({mark}, {mark}, {mark})"  # noqa: S608 - fixed


def rebuild(conn: Connection, lab_ids: Iterable[int] | None = None, *,
            progress: Progress = _noop) -> int:
    """Rewrite the index rows of ``lab_ids`` (every lab when ``None``) from the labs' data,
    in chunks of :data:`CHUNK` labs; returns the number of rows written."""
    if lab_ids is None:
        conn.execute(delete(SearchTerm))
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
            conn.execute(delete(SearchTerm).where(SearchTerm.lab_id.in_(chunk)))
        rows = [(term, lab_id, fields)
                for lab_id, terms in lab_terms(conn, chunk).items()
                for term, fields in terms.items()]
        rows.sort()  # in primary-key order: the B-tree grows at its end
        if rows:
            # The driver's executemany: SQLAlchemy's per-row parameter handling would cost
            # more than the insert itself at 100,000 rows.
            conn.exec_driver_sql(_insert_sql(conn), rows)
        written += len(rows)
        progress(min(start + CHUNK, len(ids)), len(ids))
    return written


# --- keeping it true: session hooks ----------------------------------------------------------

def _mark(session: Session, lab_ids: Iterable[Any] = (), equipment_ids: Iterable[Any] = ()
          ) -> None:
    session.info.setdefault(_DIRTY, set()).update(i for i in lab_ids if i is not None)
    session.info.setdefault(_DIRTY_EQUIPMENT, set()).update(
        i for i in equipment_ids if i is not None)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, Lab):
            _mark(session, [obj.id])
        elif isinstance(obj, (LabKet, Equipment, Accreditation)):
            _mark(session, [obj.lab_id])
        elif isinstance(obj, EquipmentSpec):
            _mark(session, equipment_ids=[obj.equipment_id])


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in _INDEXED_COLUMNS:
        return
    named = state.execution_options.get(LAB_IDS_OPTION)
    if named is not None:  # the writer says which labs its statement touches
        _mark(state.session, named)
        return
    if state.is_update:
        changed = {getattr(c, "key", str(c)) for c in state.statement._values or ()}
        if changed and changed.isdisjoint(_INDEXED_COLUMNS[table]):
            return
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    if state.is_insert and rows and all(isinstance(r, dict) for r in rows):
        key = {"lab": "id", "lab_ket": "lab_id", "equipment": "lab_id",
               "accreditation": "lab_id"}.get(table)
        if key is not None and all(key in r for r in rows):
            _mark(state.session, [r[key] for r in rows])
            return
        if table == "equipment_spec" and all("equipment_id" in r for r in rows):
            _mark(state.session, equipment_ids=[r["equipment_id"] for r in rows])
            return
    state.session.info[_ALL] = True


def sync(session: Session, *, progress: Progress = _noop) -> None:
    """Rebuild the rows of every lab marked in ``session`` (pending writes flushed first):
    called before commit and before a search reads, so the index never lags the data."""
    if not (session.info.get(_DIRTY) or session.info.get(_DIRTY_EQUIPMENT)
            or session.info.get(_ALL)):
        return
    session.flush()
    everything = session.info.pop(_ALL, False)
    labs = session.info.pop(_DIRTY, set())
    equipment = session.info.pop(_DIRTY_EQUIPMENT, set())
    conn = session.connection()
    if everything:
        rebuild(conn, progress=progress)
        lab_facets.rebuild(conn)
    else:
        if equipment:
            labs |= set(conn.scalars(select(Equipment.lab_id)
                                     .where(Equipment.id.in_(sorted(equipment)))))
        rebuild(conn, labs, progress=progress)
        lab_facets.rebuild(conn, labs)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Flush first: the marks come from the flush, and another before-commit hook may run
    # the flush only after this one.
    if session.new or session.dirty or session.deleted:
        session.flush()
    sync(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for key in (_DIRTY, _DIRTY_EQUIPMENT, _ALL):
        session.info.pop(key, None)
