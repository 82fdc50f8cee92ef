"""What the catalogue keeps ready on writes: one row per maintained answer.

``catalogue_snapshot`` holds the bare catalogue's facet counts (``facets``) and the map's
GeoJSON of every published lab (``map``), rebuilt in the transaction of every write that
changes them (``services.catalogue.snapshots``). The migration creates both rows unbuilt
(``etag`` empty): readers then compute the answer live, and every writer has a row to lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class CatalogueSnapshot(Base):
    __tablename__ = "catalogue_snapshot"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The map: the lab-URL template its links were built with (a reader with another
    # template, e.g. another mount point, builds its answer live). Empty for the facets.
    variant: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_gz: Mapped[bytes | None] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(64), default="")  # empty: not built yet
    built_at: Mapped[datetime | None]
