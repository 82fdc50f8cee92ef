"""The SQL conditions of each search filter: words, KET area, category, kind, country,
accreditation, bookable, near/radius, availability and network.

Rules owned here, once:

- **What a search matches.** Words: the labs the word index finds (:mod:`.words`:
  stemmed, with the field's vocabulary and typo tolerance, over the lab's name,
  description, capabilities, city and KET areas and its non-retired equipment's name,
  maker, model, specifications and category). A KET area includes its sub-areas. A
  category matches labs with non-retired equipment of it. *Bookable* means at least one
  active piece of equipment whose mode is not request-only. An accreditation counts only
  when verified and unexpired on ``now``'s date (DESIGN, Accreditation). *Near* keeps labs
  whose exact geodesic distance to the place is at most the radius (default 50 km,
  1–1000 km). *Network* keeps the accepted members of a network the actor may see.
- **Drafts are invisible** (DESIGN rule 6): every read starts from
  :func:`labnet.permissions.visible_labs`, so results, facet counts, totals and the map
  never include a draft.

Query shapes (RELIABILITY §6.4): the filters are one WHERE over ``lab`` (each filter on
another table is ``lab.id IN (SELECT lab_id …)`` over an index, or a correlated ``EXISTS``
by ``equipment.lab_id`` for bookable; the words' labs are such subqueries on the word
index, one per requirement). The radius is a bounding box over
``ix_lab_lat_lon`` and an exact distance in Python on its candidates only; the ids within
the circle enter the SQL as a literal ``IN`` list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, select

from labnet import clock
from labnet.models import (
    Accreditation,
    Equipment,
    EquipmentMode,
    EquipmentStatus,
    Lab,
    LabKet,
)
from labnet.permissions import visible_labs
from labnet.services.accreditation.validity import currently_valid
from labnet.services.booking.availability import FreeEquipment, free_equipment
from labnet.services.catalogue.search import words
from labnet.services.catalogue.search.query import SearchQuery, _Taxonomy, _taxonomy
from labnet.services.geo import geocoding as geo
from labnet.services.networks.rules import member_lab_ids

_LIVE_EQUIPMENT = (EquipmentStatus.ACTIVE.value, EquipmentStatus.MAINTENANCE.value)


def _bookable_equipment(lab_id: Any) -> ColumnElement[bool]:
    return exists().where(
        Equipment.lab_id == lab_id,
        Equipment.status == EquipmentStatus.ACTIVE,
        Equipment.mode != EquipmentMode.REQUEST_ONLY,
    )


def _valid_accreditation(now: datetime) -> ColumnElement[bool]:
    # The one rule of which accreditations count (services.accreditation.validity).
    return currently_valid(now)


def _id_in(ids: list[int], name: str) -> ColumnElement[bool]:
    # Literal integers: no bound-parameter limit whatever the radius (SQLite allows 32,766
    # parameters), and the statement's compiled form stays cached.
    return Lab.id.in_(bindparam(name, ids, expanding=True, literal_execute=True))


def _conditions(query: SearchQuery, taxonomy: _Taxonomy, now: datetime,
                near_ids: list[int] | None, actor: Any = None) -> list[ColumnElement[bool]]:
    """The WHERE terms over ``lab``, cheapest and most selective first."""
    conds: list[ColumnElement[bool]] = []
    if query.network:  # only networks the actor may see
        conds.append(Lab.id.in_(member_lab_ids(actor, query.network)))
    if near_ids is not None:
        conds.append(_id_in(near_ids, "near_ids"))
    if query.country:
        conds.append(Lab.country == query.country)
    if query.kind:
        conds.append(Lab.kind_code == query.kind)
    if query.ket:
        conds.append(Lab.id.in_(
            select(LabKet.lab_id)
            .where(LabKet.ket_code.in_(taxonomy.ket_with_subareas(query.ket)))
        ))
    if query.category:
        conds.append(Lab.id.in_(
            select(Equipment.lab_id).where(Equipment.category_code == query.category,
                                           Equipment.status.in_(_LIVE_EQUIPMENT))
        ))
    if query.accreditation:
        conds.append(Lab.id.in_(
            select(Accreditation.lab_id).where(Accreditation.scheme_code == query.accreditation,
                                               _valid_accreditation(now))
        ))
    if query.bookable:
        conds.append(_bookable_equipment(Lab.id))
    if query.words and (match := words.match(query.q)).active:
        conds.append(match.condition())
    return conds


class _Circle:
    """The labs within ``radius`` km of ``place``, with their distances.

    The exact geodesic distance (:func:`geo.distance_km`, ~50–75 µs each in pure Python)
    is computed only where it decides something: for candidates whose haversine distance
    lies within the error margin of the radius, and for the labs a sorted page needs.
    Everywhere else the haversine bounds already give the answer, so a 1,000 km radius
    over thousands of labs stays cheap."""

    def __init__(self, place: Any, radius: float, rows: Sequence[Any]):
        self.place = place
        self.radius = radius
        self.approx: dict[int, float] = {}
        self._coords: dict[int, tuple[float, float]] = {}
        self._exact: dict[int, float] = {}
        for lab_id, lat, lon in rows:
            h = geo.approx_distance_km(place.lat, place.lon, lat, lon)
            if h * (1 - geo.APPROX_ERROR) > radius:
                continue
            self._coords[lab_id] = (lat, lon)
            if h * (1 + geo.APPROX_ERROR) > radius and self.exact(lab_id) > radius:
                del self._coords[lab_id]
                continue
            self.approx[lab_id] = h

    @classmethod
    def known(cls, place: Any, radius: float, approx: dict[int, float],
              coords: dict[int, tuple[float, float]]) -> _Circle:
        """The circle of a search kept in the cache: its labs' haversine distances and
        coordinates as they were found, without reading the bounding box again."""
        circle = cls(place, radius, ())
        circle.approx = approx
        circle._coords = coords
        return circle

    @property
    def ids(self) -> list[int]:
        return sorted(self.approx)

    def coords(self, ids: Any) -> dict[int, tuple[float, float]]:
        """The coordinates of ``ids`` (labs within the circle)."""
        return {i: self._coords[i] for i in ids}

    def exact(self, lab_id: int) -> float:
        if lab_id not in self._exact:
            lat, lon = self._coords[lab_id]
            self._exact[lab_id] = geo.distance_km(self.place.lat, self.place.lon, lat, lon)
        return self._exact[lab_id]

    def lower(self, lab_id: int) -> float:
        return self.approx[lab_id] * (1 - geo.APPROX_ERROR)

    def upper(self, lab_id: int) -> float:
        return self.approx[lab_id] * (1 + geo.APPROX_ERROR)


def _place(query: SearchQuery) -> Any:
    """The place ``near`` names (``None`` without one, or when it is not found)."""
    if not query.near:
        return None
    return query.place if query.place is not None else geo.geocode(query.near)


def _near(query: SearchQuery, place: Any = None) -> _Circle | None:
    """Labs within the radius of the query's place: a bounding box over ix_lab_lat_lon in
    SQL, then distances in Python on those candidates only (RELIABILITY §6.4.6)."""
    place = place if place is not None else _place(query)
    if place is None:
        return None
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(place.lat, place.lon, query.radius)
    # Driver rows: thousands of candidates for a wide radius, no Row object each.
    rows = words.driver_rows(
        visible_labs(None).with_only_columns(Lab.id, Lab.lat, Lab.lon)
        .where(Lab.lat.between(min_lat, max_lat), Lab.lon.between(min_lon, max_lon)))
    return _Circle(place, query.radius, rows)


def _base(actor: Any) -> Select[tuple[Lab]]:
    return visible_labs(actor)


def list_matching(actor: Any, query: SearchQuery, *,
                  now: datetime | None = None) -> Select[tuple[Lab]]:
    """The labs matching every filter of ``query`` as a ``Select`` (unordered, no page):
    for callers that need the set itself (the benchmarks pick their search word with it)."""
    circle = _near(query)
    conds = _conditions(query, _taxonomy(), now or clock.utcnow(), circle.ids if circle else None,
                        actor=actor)
    free = _free(actor, query, conds, now)
    if free is not None:
        conds.append(_id_in(sorted(free.lab_ids), "free_ids"))
    return _base(actor).where(*conds)


# The availability filter, parsed by query._parse_availability: the booking engine answers
# it over the labs the other conditions kept, so it runs after them.
def _free(actor: Any, query: SearchQuery, conds: list[ColumnElement[bool]],
          now: datetime | None) -> FreeEquipment | None:
    """The labs matching ``conds`` with equipment free as ``query`` asks (``None`` without
    the filter): five queries over the candidates the other filters left."""
    if query.available_from is None or query.available_to is None or query.hours is None:
        return None
    return free_equipment(_base(actor).where(*conds), query.available_from,
                          query.available_to, query.hours, now=now or clock.utcnow())
