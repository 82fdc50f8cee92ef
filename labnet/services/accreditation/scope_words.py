"""The registry's word index of accreditation scopes (``accreditation_term``).

Rule owned here: **a registry search matches by words.** Every word of the query, stemmed
as the catalogue's word search stems (:func:`labnet.services.catalogue.search.text.stems`),
must occur in the accreditation's scope or in its lab's name; lab names are read from the
catalogue's own index (``search_term`` rows with the name field), scopes from
``accreditation_term``. So a search looks up a few index entries instead of reading every
scope and name.

The index is kept at every flush that inserts an accreditation or changes its scope (the
ORM writers: claims, the demo, the label award); bulk loaders that insert with Core call
:func:`rebuild` themselves (the benchmark, the migration that created the table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    delete,
    event,
    insert,
    inspect,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session

from labnet.models import Accreditation, AccreditationTerm, SearchTerm
from labnet.services.catalogue.search import text as txt

CHUNK = 2000


def scope_terms(scope: str) -> set[str]:
    """The distinct stems of a scope."""
    return set(txt.stems(scope or ""))


def query_stems(q: str) -> list[str]:
    """The distinct stems of a registry query, in the order typed."""
    return list(dict.fromkeys(txt.stems(q or "")))


def rebuild(conn: Connection, ids: Sequence[int] | None = None) -> int:
    """Rewrite the terms of the given accreditations (every one when ``ids`` is None);
    returns the rows written."""
    written = 0
    if ids is None:
        conn.execute(delete(AccreditationTerm))
        source = conn.execute(select(Accreditation.id, Accreditation.scope))
    else:
        if not ids:
            return 0
        conn.execute(delete(AccreditationTerm)
                     .where(AccreditationTerm.accreditation_id.in_(list(ids))))
        source = conn.execute(select(Accreditation.id, Accreditation.scope)
                              .where(Accreditation.id.in_(list(ids))))
    batch: list[dict[str, Any]] = []
    for acc_id, scope in source.all():
        batch.extend({"term": t, "accreditation_id": acc_id} for t in scope_terms(scope))
        if len(batch) >= CHUNK:
            conn.execute(insert(AccreditationTerm), batch)
            written += len(batch)
            batch = []
    if batch:
        conn.execute(insert(AccreditationTerm), batch)
        written += len(batch)
    return written


def matches(stems: Iterable[str]) -> list[ColumnElement[bool]]:
    """One condition per stem over ``Accreditation``: the stem is in the
    scope or in the lab's name. Each is a probe of a primary key, (term, accreditation)
    or (term, lab), so checking a row costs the same whatever the word's frequency."""
    conds: list[ColumnElement[bool]] = []
    for term in stems:
        in_scope = select(AccreditationTerm.accreditation_id).where(
            AccreditationTerm.term == term,
            AccreditationTerm.accreditation_id == Accreditation.id).exists()
        # Correlated through the accreditation's lab_id, not Lab: inside the registry's
        # "lab holds one" subquery, Lab belongs to the statement two levels up.
        in_name = select(SearchTerm.lab_id).where(
            SearchTerm.term == term, SearchTerm.lab_id == Accreditation.lab_id,
            SearchTerm.fields.op("&")(txt.FIELD_NAME) != 0).exists()
        conds.append(or_(in_scope, in_name))
    return conds


def candidate_labs(term: str, limit: int) -> CompoundSelect:
    """Labs whose name or one of whose accreditations' scopes holds ``term``, read from
    at most ``limit`` index entries of each kind (enough to tell a rare word)."""
    scopes = (select(Accreditation.lab_id.label("lab_id"))
              .join(AccreditationTerm, AccreditationTerm.accreditation_id == Accreditation.id)
              .where(AccreditationTerm.term == term).limit(limit).subquery())
    names = (select(SearchTerm.lab_id.label("lab_id"))
             .where(SearchTerm.term == term, SearchTerm.fields.op("&")(txt.FIELD_NAME) != 0)
             .limit(limit).subquery())
    return union(select(scopes.c.lab_id), select(names.c.lab_id))


# --- keeping it true -------------------------------------------------------------------------

@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    # Deleted ones too: SQLite does not enforce the foreign key's cascade here.
    changed = [obj.id for obj in (*session.new, *session.deleted)
               if isinstance(obj, Accreditation)]
    for obj in session.dirty:
        if isinstance(obj, Accreditation) and session.is_modified(obj) and \
                _scope_changed(obj):
            changed.append(obj.id)
    if changed:
        # Same connection, same transaction: a rolled-back claim takes its terms with it.
        rebuild(session.connection(), sorted(set(changed)))


def _scope_changed(obj: Accreditation) -> bool:
    return bool(inspect(obj).attrs.scope.history.has_changes())
