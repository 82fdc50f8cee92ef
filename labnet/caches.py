"""What clears the caches: version keys bumped by committed writes (DESIGN rule 9).

The caches (map GeoJSON in ``blueprints/maps``, the bare catalogue's facet counts in
``services.catalogue.search``, the dashboard in ``services.analytics``) put :func:`generation` in
their keys. A transaction committed (by any process, see below) that wrote one of
:data:`CATALOGUE_TABLES` (a lab published or edited, its equipment, KET areas,
accreditations, opening hours; a network, its stages, coordinators and members — a
membership accepted) bumps it, so the next request rebuilds instead of serving the old
answer. Writes are seen through the ORM unit of work and through ``session.execute`` of
INSERT/UPDATE/DELETE statements. The booking engine's row lock (an UPDATE of
``equipment.booking_seq`` only, :data:`BOOKKEEPING_COLUMNS`) is not a catalogue write.

Limits, on purpose: requests and bookings are not watched (the dashboard's demand
figures come from the summary job, whose writes bump the ``dashboard`` version, and are
otherwise up to ``DASHBOARD_CACHE_SECONDS`` old; the map's availability filter is never
cached). Who may see what is not part of the generation: caches key their entries by the
viewer's scope, read at request time (:func:`labnet.permissions.visibility_scope`).

Shared across hosts: the generation is not a number kept in this process but a
*version key* kept in the cache backend (Flask-Caching: Redis when ``REDIS_URL`` is set,
a local ``SimpleCache`` otherwise — the same code path for ``make run``). A committed write
bumps the version of every scope it touched — ``catalogue`` (labs and networks, what
:func:`generation` returns), ``network:<id>`` for each network written, and ``dashboard``
(the summary job's tables) — so every host's next request builds a new entry: a lab
published on host A is on host B's map at once. Versions start at the clock in
nanoseconds and only grow (``inc``), so an evicted version key never brings an old entry
back. The shared caches themselves go through :func:`remember` (hits and misses counted
for ``/metrics``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CATALOGUE_TABLES = frozenset({
    "lab", "lab_ket", "lab_kind", "equipment", "equipment_ket", "accreditation",
    "opening_hours", "network", "network_stage", "network_stage_ket",
    "network_stage_category", "network_coordinator", "network_member",
})

# Columns that are bookkeeping, not catalogue: the booking engine bumps
# ``equipment.booking_seq`` as its row lock in every booking transaction, which changes
# nothing any cached answer or snapshot shows.
BOOKKEEPING_COLUMNS = {"equipment": frozenset({"booking_seq"})}

# The dashboard's figures come from the summary job's tables (and the catalogue's).
DASHBOARD_TABLES = frozenset({"activity_daily", "activity_summary_state"})
NETWORK_TABLES = frozenset(t for t in CATALOGUE_TABLES if t.startswith("network"))

_lock = threading.Lock()
_generation = 0  # without an app (a bare session in a script): this process only
_TOUCHED = "labnet.touched_tables"
_NETWORKS = "labnet.touched_networks"
VERSION_PREFIX = "v:"


def _backend() -> Any | None:
    if not has_app_context():
        return None
    from labnet.extensions import cache

    # The cachelib backend itself (get, add, set, inc): Redis or a local SimpleCache.
    return current_app.extensions.get("cache", {}).get(cache)


def version(scope: str) -> int:
    """The current version of ``scope`` (``catalogue``, ``dashboard``, ``network:<id>``),
    shared by every process using the same cache backend."""
    backend = _backend()
    if backend is None:
        return _generation
    key = VERSION_PREFIX + scope
    try:
        value = backend.get(key)
        if value is None:
            backend.add(key, time.time_ns(), timeout=0)
            value = backend.get(key)
        return int(value or 0)
    except Exception:  # the cache server is down: nothing cached can be trusted
        log.warning("cache version %s unreadable", scope, exc_info=True)
        return time.time_ns()


def versions(scopes: Iterable[str]) -> tuple[int, ...]:
    """:func:`version` of each scope, in order (part of a cache key)."""
    return tuple(version(s) for s in scopes)


def generation() -> int:
    """The catalogue's version: grows with every committed catalogue or network write on
    any host (part of cache keys)."""
    return version("catalogue")


def bump(scopes: Iterable[str] = ("catalogue",)) -> None:
    """Make every cached answer of ``scopes`` stale, on every host (a committed write)."""
    global _generation
    with _lock:
        _generation += 1
    backend = _backend()
    if backend is None:
        return
    for scope in scopes:
        key = VERSION_PREFIX + scope
        try:
            if backend.get(key) is None:
                backend.add(key, time.time_ns(), timeout=0)
            backend.inc(key)
        except Exception:
            log.warning("cache version %s not bumped", scope, exc_info=True)


def _cache_key(name: str, key: Any) -> str:
    return f"{name}:" + hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()


def peek(name: str, key: Any) -> Any | None:
    """The value stored as ``name``/``key`` in the shared backend, or ``None`` (also when
    the cache server does not answer)."""
    backend = _backend()
    if backend is None:
        return None
    try:
        return backend.get(_cache_key(name, key))
    except Exception:
        log.warning("cache %s unreadable", name, exc_info=True)
        return None


def store(name: str, key: Any, value: Any, seconds: float) -> None:
    """Keep ``value`` as ``name``/``key`` for ``seconds`` in the shared backend (a cache
    server that does not answer keeps nothing)."""
    backend = _backend()
    if backend is None or not seconds or seconds <= 0:
        return
    try:
        backend.set(_cache_key(name, key), value, timeout=max(1, int(seconds)))
    except Exception:
        log.warning("cache %s not written", name, exc_info=True)


def remember(name: str, key: Any, seconds: float, build: Callable[[], Any]) -> Any:
    """The value cached as ``name``/``key`` if younger than ``seconds``, else ``build()``
    stored for that long in the shared backend. ``key`` must hold the versions of what the
    value shows (:func:`versions`) and the viewer's scope (DESIGN rule 9). A cache server
    that does not answer costs a rebuild, never an error."""
    if not seconds or seconds <= 0:
        return build()
    hit = peek(name, key)
    count(name, hit is not None)
    if hit is not None:
        return hit
    value = build()
    store(name, key, value, seconds)
    return value


def count(name: str, hit: bool) -> None:
    """Count a hit or a miss of cache ``name`` (``/metrics``: the hit rate)."""
    from labnet.metrics import CACHE_LOOKUPS

    CACHE_LOOKUPS.labels(name, "hit" if hit else "miss").inc()


def _touched(session: Session) -> set[str]:
    return session.info.setdefault(_TOUCHED, set())


def touched_tables(session: Session) -> frozenset[str]:
    """The tables ``session``'s transaction has written so far (flushed or executed)."""
    return frozenset(session.info.get(_TOUCHED, ()))


def _table_of(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


def _network_of(obj: Any, table: str) -> int | None:
    if table not in NETWORK_TABLES:
        return None
    value = getattr(obj, "id" if table == "network" else "network_id", None)
    return value if isinstance(value, int) else None


def _note(session: Session, obj: Any) -> None:
    table = _table_of(obj) or ""
    _touched(session).add(table)
    network = _network_of(obj, table)
    if network is not None:
        session.info.setdefault(_NETWORKS, set()).add(network)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.deleted):
        _note(session, obj)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False) and not _bookkeeping_only(
                _table_of(obj) or "", _modified_columns(obj)):
            _note(session, obj)


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
    networks = session.info.pop(_NETWORKS, None) or set()
    scopes: list[str] = []
    if touched and not touched.isdisjoint(CATALOGUE_TABLES):
        scopes.append("catalogue")
        scopes.extend(f"network:{n}" for n in sorted(networks))
    if touched and not touched.isdisjoint(DASHBOARD_TABLES):
        scopes.append("dashboard")
    if scopes:
        bump(scopes)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
    session.info.pop(_NETWORKS, None)
