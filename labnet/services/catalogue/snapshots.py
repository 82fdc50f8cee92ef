"""What the catalogue keeps up to date on writes: the ``catalogue_snapshot`` rows.

Rules owned here, once:

- **Rebuilt in the writing transaction** (the catalogue fast at scale): a transaction that
  wrote one of :data:`SOURCES` (a lab published, edited or moved; its KET areas; its
  equipment; an accreditation; the taxonomies) rebuilds both snapshots just before it
  commits, on the same connection, so the answer changes with the write for every process
  and host at once, and a rolled-back write changes nothing. The rows are locked first
  (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time), so two writers
  never store an answer that misses the other's write.
- **What each row holds**: ``facets``, the bare catalogue's facet counts
  (:func:`labnet.services.catalogue.search.facets.snapshot_body`); ``map``, the GeoJSON of
  every published lab with coordinates, as ``search.map_labs`` and ``maps.build_geojson``
  give it, plain and gzipped, with its ETag, built with the lab-URL template of the app's
  own root (``variant``).
- **Read only where exact**: the facets for a ``/labs`` without any criterion, the map for
  a map query without any criterion and a request whose lab-URL template is the row's;
  anything else, and an unbuilt row (just migrated, no write since), is computed live.

The cost moves to the writer: at 10,000 labs a catalogue write spends the time of one cold
map and one cold count more before it commits (benchmarks/README.md).
"""

from __future__ import annotations

import gzip

from flask import current_app, has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from labnet import caches, clock
from labnet.extensions import db
from labnet.models import CatalogueSnapshot
from labnet.services.catalogue import maps
from labnet.services.catalogue.search import SearchQuery, facets, map_labs
from labnet.services.catalogue.taxonomy import ket_names

# The tables the two answers are made of: a committed write to any of them rebuilds both.
SOURCES = frozenset({"lab", "lab_ket", "lab_kind", "equipment", "accreditation", "ket_area"})
GZIP_LEVEL = 5  # as the map's live answer (blueprints/maps)
_PLACEHOLDER = "SLUG-PLACEHOLDER"


def lab_url_template() -> str:
    """``/labs/{slug}`` under the app's own root, without a request (writers may be CLI
    commands or jobs)."""
    adapter = current_app.url_map.bind(current_app.config.get("SERVER_NAME") or "localhost",
                                       script_name=current_app.config.get("APPLICATION_ROOT"))
    return adapter.build("catalogue.lab", {"slug": _PLACEHOLDER}).replace(_PLACEHOLDER, "{slug}")


def rebuild(session: Session) -> None:
    """Rebuild both snapshots in ``session``'s transaction (its writes included)."""
    present = set(session.scalars(select(CatalogueSnapshot.name).with_for_update()))
    for name in sorted({"facets", "map"} - present):  # the migration made both; kept anyway
        session.add(CatalogueSnapshot(name=name, variant="", etag=""))
    session.flush()
    now = clock.utcnow()
    session.execute(update(CatalogueSnapshot).where(CatalogueSnapshot.name == "facets").values(
        body=facets.snapshot_body(now), etag="1", built_at=now))
    template = lab_url_template()
    data = maps.build_geojson(map_labs(None, SearchQuery(), now=now),
                              url_template=template, ket_names=ket_names())
    session.execute(update(CatalogueSnapshot).where(CatalogueSnapshot.name == "map").values(
        variant=template, body=data.body, etag=data.etag, built_at=now,
        body_gz=gzip.compress(data.body, GZIP_LEVEL, mtime=0)))


def map_document(template: str, *, gzipped: bool) -> tuple[str, bytes] | None:
    """(ETag, body) of the map of every published lab from its snapshot (one query), or
    ``None`` when the snapshot is unbuilt or was built for another lab-URL template."""
    body = CatalogueSnapshot.body_gz if gzipped else CatalogueSnapshot.body
    row = db.session.execute(
        select(CatalogueSnapshot.etag, body)
        .where(CatalogueSnapshot.name == "map", CatalogueSnapshot.etag != "",
               CatalogueSnapshot.variant == template)
    ).first()
    if row is None or row[1] is None:
        return None
    return row[0], row[1]


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not has_app_context():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    if not caches.touched_tables(session).isdisjoint(SOURCES):
        rebuild(session)
