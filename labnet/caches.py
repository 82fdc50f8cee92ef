"""What clears the per-process caches: a generation number bumped by writes (DESIGN rule 9).

The caches (map GeoJSON in ``blueprints/maps``, the bare catalogue's facet counts in
``services.catalogue.search``, the dashboard in ``services.analytics``) put :func:`generation` in
their keys. A transaction committed in this process that wrote one of
:data:`CATALOGUE_TABLES` (a lab published or edited, its equipment, KET areas,
accreditations, opening hours; a network, its stages, coordinators and members — a
membership accepted) bumps it, so the next request rebuilds instead of serving the old
answer. Writes are seen through the ORM unit of work and through ``session.execute`` of
INSERT/UPDATE/DELETE statements. The booking engine's row lock (an UPDATE of
``equipment.booking_seq`` only, :data:`BOOKKEEPING_COLUMNS`) is not a catalogue write.

Limits, on purpose: other processes and hosts still serve their copy until its time runs
out (``*_CACHE_SECONDS``); requests and bookings are not watched (the dashboard's demand
figures come from the summary job and are documented as up to ``DASHBOARD_CACHE_SECONDS``
old, and the map's availability filter is never cached). Who may see what is not part of
the generation: caches key their entries by the viewer's scope, read at request time
(:func:`labnet.permissions.visibility_scope`).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

CATALOGUE_TABLES = frozenset({
    "lab", "lab_ket", "lab_kind", "equipment", "equipment_ket", "accreditation",
    "opening_hours", "network", "network_stage", "network_stage_ket",
    "network_stage_category", "network_coordinator", "network_member",
})

# Columns that are bookkeeping, not catalogue: the booking engine bumps
# ``equipment.booking_seq`` as its row lock in every booking transaction, which changes
# nothing any cached answer or snapshot shows.
BOOKKEEPING_COLUMNS = {"equipment": frozenset({"booking_seq"})}

_lock = threading.Lock()
_generation = 0
_TOUCHED = "labnet.touched_tables"


def generation() -> int:
    """The number of committed catalogue writes in this process (part of cache keys)."""
    return _generation


def bump() -> None:
    """Make every cached answer of this process stale (a committed catalogue write)."""
    global _generation
    with _lock:
        _generation += 1


def _touched(session: Session) -> set[str]:
    return session.info.setdefault(_TOUCHED, set())


def touched_tables(session: Session) -> frozenset[str]:
    """The tables ``session``'s transaction has written so far (flushed or executed)."""
    return frozenset(session.info.get(_TOUCHED, ()))


def _table_of(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    touched = _touched(session)
    for obj in (*session.new, *session.deleted):
        touched.add(_table_of(obj) or "")
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False) and not _bookkeeping_only(
                _table_of(obj) or "", _modified_columns(obj)):
            touched.add(_table_of(obj) or "")


def _modified_columns(obj: Any) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _bookkeeping_only(table: str, columns: set[str] | None) -> bool:
    ignored = BOOKKEEPING_COLUMNS.get(table)
    return bool(ignored and columns and columns <= ignored)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        values = getattr(state.statement, "_values", None) if state.is_update else None
        columns = {getattr(k, "key", str(k)) for k in values} if values else None
        if name and not _bookkeeping_only(name, columns):
            _touched(state.session).add(name)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if touched and not touched.isdisjoint(CATALOGUE_TABLES):
        bump()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
