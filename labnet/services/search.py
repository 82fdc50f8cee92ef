"""Catalogue search: the ``/labs`` query and its facet counts, the map's set of labs, and the
demand signal each search leaves.

Rules owned here, once:

- **What a search matches.** Words (all must match, each anywhere): the lab's name,
  description, capabilities and city, or the name, maker or model of one of its non-retired
  pieces of equipment. A KET area includes its sub-areas. A category matches labs with
  non-retired equipment of it. *Bookable* means at least one active piece of equipment whose
  mode is not request-only. An accreditation counts only when verified and unexpired on
  ``now``'s date (DESIGN, Accreditation). *Near* keeps labs whose exact geodesic distance
  to the place is at most the radius (default 50 km, 1–1000 km).
- **Drafts are invisible** (DESIGN rule 6): every read starts from
  :func:`labnet.permissions.visible_labs`, so results, facet counts, totals and the map
  never include a draft.
- **Bad input never fails** (DESIGN rule 5): :func:`parse_query` drops a parameter it
  cannot use, as if it had not been given, and names it in its errors with the user's
  input quoted; the search then runs without that filter.
- **Relevance**: each word scores 3 when it occurs in the lab's name, 2 in its capabilities,
  description or city, 1 when only in its equipment; labs sort by the sum, then by distance
  (with ``near``), then by name. Without words, "relevance" means distance with ``near`` and
  name otherwise.
- **Demand signals are anonymous**: filters, words, result count, time and the searcher's
  country, never who searched.

Query shapes (RELIABILITY §6.4): the filters are one WHERE over ``lab`` (each filter on
another table is ``lab.id IN (SELECT lab_id …)`` over an index, or a correlated ``EXISTS``
by ``equipment.lab_id`` for words and bookable); the facet counts are one statement, a CTE
of the matching labs and one ``GROUP BY`` per family joined by ``UNION ALL``. The radius is
a bounding box over ``ix_lab_lat_lon`` and an exact distance in Python on its candidates
only; the ids within the circle enter the SQL as a literal ``IN`` list. Every read issues a
fixed number of queries whatever the catalogue's size.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    distinct,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from labnet import caches, clock
from labnet.dates import DateOutOfRange, parse_day
from labnet.extensions import db
from labnet.models import (
    Accreditation,
    AccreditationScheme,
    AccreditationStatus,
    DemandSignal,
    Equipment,
    EquipmentCategory,
    EquipmentMode,
    EquipmentStatus,
    KetArea,
    Lab,
    LabKet,
    LabKind,
)
from labnet.permissions import visible_labs
from labnet.services import geo
from labnet.services.availability import (
    MAX_SPAN_DAYS,
    FreeEquipment,
    FreeWindow,
    free_equipment,
)
from labnet.services.networks import member_lab_ids
from labnet.templating import country_names

DEFAULT_RADIUS_KM = 50.0
MIN_RADIUS_KM = 1.0
MAX_RADIUS_KM = 1000.0
MAX_PAGE = 10_000
MAX_WORDS = 8
MAX_Q_LENGTH = 200
MAX_NEAR_LENGTH = 120
SORTS = ("relevance", "distance", "name")
# The availability filter: free for D hours between two dates.
AVAILABILITY_PARAMS = ("available_from", "available_to", "hours")
# URL parameters, in the order links carry them; ``network``: labs that are accepted
# members of a network the user may see.
PARAMS = ("q", "ket", "category", "kind", "country", "accreditation", "bookable", "near",
          "radius_km", *AVAILABILITY_PARAMS, "network", "sort", "page")
FILTER_PARAMS = ("ket", "category", "kind", "country", "accreditation", "bookable", "near",
                 "available_from", "network")
MAX_AHEAD_DAYS = 2 * 365  # services.labs.MAX_ADVANCE_DAYS: no lab books further ahead
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("", "0", "false", "off", "no")
_LIVE_EQUIPMENT = (EquipmentStatus.ACTIVE.value, EquipmentStatus.MAINTENANCE.value)


# --- the query -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchQuery:
    """One search, as the URL holds it. Empty strings, ``False`` and ``None`` mean "not
    given". ``place`` is what ``near`` resolved to (set by :func:`parse_query`; never in a
    URL); when it is ``None`` and ``near`` is set, the reads geocode ``near`` themselves."""

    q: str = ""
    ket: str = ""
    category: str = ""
    kind: str = ""
    country: str = ""
    accreditation: str = ""
    bookable: bool = False
    near: str = ""
    radius_km: float | None = None
    sort: str = "relevance"
    page: int = 1
    place: Any = field(default=None, compare=False, repr=False)
    # Free for ``hours`` hours between the local days ``available_from`` and
    # ``available_to`` (all three or none; see :func:`_parse_availability`).
    available_from: date | None = None
    available_to: date | None = None
    hours: float | None = None
    network: str = ""  # a network's slug

    @property
    def words(self) -> list[str]:
        return [w.lower() for w in self.q.split()[:MAX_WORDS]]

    @property
    def radius(self) -> float:
        return self.radius_km if self.radius_km is not None else DEFAULT_RADIUS_KM

    @property
    def is_search(self) -> bool:
        """Whether anything narrows the list (a bare ``/labs`` is browsing, not a search)."""
        return bool(self.q or any(getattr(self, name) for name in FILTER_PARAMS))

    @property
    def effective_sort(self) -> str:
        if self.sort == "name" or (self.sort == "distance" and not self.near):
            return "name"
        if self.sort == "distance" or not self.words:
            return "distance" if self.near else "name"
        return "relevance"

    def to_args(self, **changes: Any) -> dict[str, str]:
        """Plain URL parameters with defaults left out, after ``changes`` (``None`` or ""
        removes a parameter). Changing anything but ``page`` goes back to page 1, since
        page numbers mean nothing once the filters change."""
        unknown = set(changes) - set(PARAMS)
        if unknown:
            raise TypeError(f"unknown search parameters: {sorted(unknown)}")
        values: dict[str, Any] = {name: getattr(self, name) for name in PARAMS}
        if changes and "page" not in changes:
            values["page"] = 1
        values.update(changes)
        args: dict[str, str] = {}
        for name in PARAMS:
            value = values[name]
            if value is None or value == "" or value is False:
                continue
            if (name, value) in (("sort", "relevance"), ("page", 1)):
                continue
            if name == "hours":
                args[name] = f"{float(value):g}"
            elif name == "bookable":
                args[name] = "1"
            elif name == "radius_km":
                args[name] = f"{float(value):g}"
            else:
                args[name] = str(value)
        return args


@dataclass(frozen=True)
class _Taxonomy:
    kets: dict[str, tuple[str, str | None, int]]  # code -> (name, parent code, position)
    categories: dict[str, str]
    kinds: dict[str, str]
    schemes: dict[str, str]

    def ket_with_subareas(self, code: str) -> list[str]:
        return [code, *(c for c, (_, parent, _) in self.kets.items() if parent == code)]

    @property
    def ket_names(self) -> dict[str, str]:
        return {code: name for code, (name, _, _) in self.kets.items()}


_TAXONOMY_KEY = "labnet.search.taxonomy"


def _taxonomy() -> _Taxonomy:
    # One query for the four shipped taxonomies, kept for the life of the session (one
    # request): parsing and the facet labels then share it.
    cached = db.session.info.get(_TAXONOMY_KEY)
    if cached is not None:
        return cached
    rows = db.session.execute(union_all(
        select(literal_column("'ket'"), KetArea.code, KetArea.name, KetArea.parent_code,
               KetArea.position),
        select(literal_column("'category'"), EquipmentCategory.code, EquipmentCategory.name,
               null(), EquipmentCategory.number),
        select(literal_column("'kind'"), LabKind.code, LabKind.name, null(), literal(0)),
        select(literal_column("'scheme'"), AccreditationScheme.code, AccreditationScheme.name,
               null(), literal(0)),
    )).all()
    parts: dict[str, dict[str, Any]] = {"ket": {}, "category": {}, "kind": {}, "scheme": {}}
    for family, code, name, parent, position in sorted(rows, key=lambda r: (r[4], r[2])):
        parts[family][code] = (name, parent, position) if family == "ket" else name
    taxonomy = _Taxonomy(kets=parts["ket"], categories=parts["category"], kinds=parts["kind"],
                         schemes=parts["scheme"])
    db.session.info[_TAXONOMY_KEY] = taxonomy
    return taxonomy


def parse_query(args: Mapping[str, str]) -> tuple[SearchQuery, dict[str, str]]:
    """Read a search from URL parameters (DESIGN rule 5: bad input never fails).

    A parameter that cannot be used (an unknown code, a radius that is not a number from 1 to
    1000, a place not found, a page that is not a whole number, …) is left out of the query,
    as if not given, and ``errors[parameter]`` says why in words, quoting the input. Codes
    are compared case-insensitively. ``near`` is geocoded here, once; the place travels in
    ``query.place``. Issues one taxonomy query and whatever the geocoder needs.
    """
    taxonomy = _taxonomy()
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return " ".join(str(args.get(name) or "").split())

    q = text("q")
    if len(q) > MAX_Q_LENGTH:
        errors["q"] = (f"Search words are limited to {MAX_Q_LENGTH} characters; "
                       "the rest was left out.")
        q = q[:MAX_Q_LENGTH].rstrip()
    if len(q.split()) > MAX_WORDS:
        errors["q"] = f"Only the first {MAX_WORDS} words are searched for."

    def code(name: str, known: Mapping[str, Any], what: str, *, upper: bool = False) -> str:
        raw = text(name)
        value = raw.upper() if upper else raw.lower()
        if value and value not in known:
            errors[name] = (f"There is no {what} with the code “{raw[:60]}”; "
                            "that filter was left out.")
            return ""
        return value

    ket = code("ket", taxonomy.kets, "KET area", upper=True)
    category = code("category", taxonomy.categories, "equipment category")
    kind = code("kind", taxonomy.kinds, "kind of lab")
    accreditation = code("accreditation", taxonomy.schemes, "accreditation scheme")
    country = code("country", country_names(), "country (two letters, ISO 3166)", upper=True)

    raw_bookable = text("bookable").lower()
    bookable = raw_bookable in _TRUE
    if raw_bookable not in _TRUE + _FALSE:
        errors["bookable"] = (f"“{raw_bookable[:20]}” is not yes or no; use bookable=1 to "
                              "show only labs with bookable equipment.")

    radius_km: float | None = None
    raw_radius = text("radius_km")
    if raw_radius:
        try:
            # A decimal comma is how much of Europe writes 7,5.
            value = float(raw_radius.replace(",", "."))
        except ValueError:
            value = math.nan
        if math.isfinite(value) and MIN_RADIUS_KM <= value <= MAX_RADIUS_KM:
            radius_km = value
        else:
            errors["radius_km"] = (
                f"The radius must be a number of kilometres from {MIN_RADIUS_KM:g} to "
                f"{MAX_RADIUS_KM:g}; “{raw_radius[:20]}” is not, so "
                f"{DEFAULT_RADIUS_KM:g} km was used.")

    near = text("near")[:MAX_NEAR_LENGTH]
    place = None
    if near:
        place = geo.geocode(near)
        if place is None:
            errors["near"] = (f"No place called “{near}” was found, so the distance filter "
                              "was left out. Try a town or city name.")
            near = ""

    sort = text("sort").lower() or "relevance"
    if sort not in SORTS:
        errors["sort"] = (f"“{sort[:20]}” is not a way to sort; choose relevance, distance "
                          "or name.")
        sort = "relevance"
    elif sort == "distance" and not near:
        errors.setdefault("sort", "Sorting by distance needs a place in “near”; "
                                  "the labs are sorted by name.")
        sort = "relevance"

    page = 1
    raw_page = text("page")
    if raw_page:
        try:
            page = int(raw_page)
        except ValueError:
            page = 0
        if not 1 <= page <= MAX_PAGE:
            errors["page"] = (f"The page must be a whole number from 1 to {MAX_PAGE:,}; "
                              f"“{raw_page[:20]}” is not, so the first page is shown.")
            page = 1

    network = text("network").lower()[:120]
    if network and not network.replace("-", "").isalnum():
        errors["network"] = (f"There is no network “{network[:60]}”; that filter was left "
                             "out.")
        network = ""
    available_from, available_to, hours = _parse_availability(args, errors)
    query = SearchQuery(network=network,
                        available_from=available_from, available_to=available_to, hours=hours,
                        q=q, ket=ket, category=category, kind=kind, country=country,
                        accreditation=accreditation, bookable=bookable, near=near,
                        radius_km=radius_km, sort=sort, page=page, place=place)
    return query, errors


# --- filters -------------------------------------------------------------------------------

def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(column: Any, word: str) -> ColumnElement[bool]:
    return func.lower(column).like(_like(word), escape="\\")


def _word_tiers(word: str) -> tuple[ColumnElement[bool], ColumnElement[bool],
                                    ColumnElement[bool]]:
    """(in the name, in capabilities/description/city, in the lab's equipment)."""
    in_text = or_(_matches(Lab.capabilities, word), _matches(Lab.description, word),
                  _matches(Lab.city, word))
    # Correlated by equipment.lab_id: checks only the equipment of labs the other filters
    # kept, instead of scanning all equipment (RELIABILITY §6.3).
    in_equipment = exists().where(
        Equipment.lab_id == Lab.id,
        Equipment.status != EquipmentStatus.RETIRED,
        or_(_matches(Equipment.name, word), _matches(Equipment.maker, word),
            _matches(Equipment.model, word)),
    )
    return _matches(Lab.name, word), in_text, in_equipment


def _relevance(words: list[str]) -> ColumnElement[Any]:
    if not words:
        return literal(0)
    total: ColumnElement[Any] | None = None
    for word in words:
        in_name, in_text, _ = _word_tiers(word)
        # Rows reaching this expression match every word somewhere, so "else" is equipment.
        score = case((in_name, 3), (in_text, 2), else_=1)
        total = score if total is None else total + score
    assert total is not None
    return total


def _bookable_equipment(lab_id: Any) -> ColumnElement[bool]:
    return exists().where(
        Equipment.lab_id == lab_id,
        Equipment.status == EquipmentStatus.ACTIVE,
        Equipment.mode != EquipmentMode.REQUEST_ONLY,
    )


def _valid_accreditation(today: date) -> ColumnElement[bool]:
    return and_(
        Accreditation.status == AccreditationStatus.VERIFIED,
        or_(Accreditation.valid_until.is_(None), Accreditation.valid_until >= today),
    )


def _id_in(ids: list[int], name: str) -> ColumnElement[bool]:
    # Literal integers: no bound-parameter limit whatever the radius (SQLite allows 32,766
    # parameters), and the statement's compiled form stays cached.
    return Lab.id.in_(bindparam(name, ids, expanding=True, literal_execute=True))


def _conditions(query: SearchQuery, taxonomy: _Taxonomy, today: date,
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
                                               _valid_accreditation(today))
        ))
    if query.bookable:
        conds.append(_bookable_equipment(Lab.id))
    for word in query.words:
        conds.append(or_(*_word_tiers(word)))
    return conds


class _Circle:
    """The labs within ``radius`` km of ``place``, with their distances.

    The exact geodesic distance (:func:`geo.distance_km`, ~50–75 µs each in pure Python)
    is computed only where it decides something: for candidates whose haversine distance
    lies within the error margin of the radius, and for the labs a sorted page needs.
    Everywhere else the haversine bounds already give the answer, so a 1,000 km radius
    over thousands of labs stays cheap."""

    def __init__(self, place: Any, radius: float, rows: list[Any]):
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

    @property
    def ids(self) -> list[int]:
        return sorted(self.approx)

    def exact(self, lab_id: int) -> float:
        if lab_id not in self._exact:
            lat, lon = self._coords[lab_id]
            self._exact[lab_id] = geo.distance_km(self.place.lat, self.place.lon, lat, lon)
        return self._exact[lab_id]

    def lower(self, lab_id: int) -> float:
        return self.approx[lab_id] * (1 - geo.APPROX_ERROR)

    def upper(self, lab_id: int) -> float:
        return self.approx[lab_id] * (1 + geo.APPROX_ERROR)


def _near(query: SearchQuery) -> _Circle | None:
    """Labs within the radius of the query's place: a bounding box over ix_lab_lat_lon in
    SQL, then distances in Python on those candidates only (RELIABILITY §6.4.6)."""
    if not query.near:
        return None
    place = query.place if query.place is not None else geo.geocode(query.near)
    if place is None:
        return None
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(place.lat, place.lon, query.radius)
    rows = db.session.execute(
        visible_labs(None).with_only_columns(Lab.id, Lab.lat, Lab.lon)
        .where(Lab.lat.between(min_lat, max_lat), Lab.lon.between(min_lon, max_lon))
    ).all()
    return _Circle(place, query.radius, rows)


def _page_ids(rows: list[Any], circle: _Circle | None, sort: str, offset: int,
              per_page: int) -> list[int]:
    """Ids of one page of ``rows`` (id, name, score), in order. With distances, rows are
    ordered by their haversine distance first; exact distances are then computed only for
    the rows up to the end of the page and those whose bounds overlap the last of them: any
    other row certainly comes later (its lower bound exceeds that row's upper bound)."""
    end = offset + per_page
    if circle is None or sort == "name":
        def plain(r: Any) -> tuple[Any, ...]:
            return (-r[2] if sort == "relevance" else 0, r[1], r[0])

        return [r[0] for r in sorted(rows, key=plain)[offset:end]]

    def group(r: Any) -> int:
        return -r[2] if sort == "relevance" else 0

    approx = sorted(rows, key=lambda r: (group(r), circle.approx[r[0]], r[1], r[0]))
    head = approx[:end]
    if head and len(approx) > end:
        last = head[-1]
        limit = circle.upper(last[0])
        head += [r for r in approx[end:]
                 if group(r) == group(last) and circle.lower(r[0]) <= limit]
    head.sort(key=lambda r: (group(r), circle.exact(r[0]), r[1], r[0]))
    return [r[0] for r in head[offset:end]]


def _base(actor: Any) -> Select[tuple[Lab]]:
    return visible_labs(actor)


def list_matching(actor: Any, query: SearchQuery, *,
                  now: datetime | None = None) -> Select[tuple[Lab]]:
    """The labs matching every filter of ``query`` as a ``Select`` (unordered, no page):
    for callers that need the set itself (the benchmarks pick their search word with it)."""
    today = (now or clock.utcnow()).date()
    circle = _near(query)
    conds = _conditions(query, _taxonomy(), today, circle.ids if circle else None,
                        actor=actor)
    free = _free(actor, query, conds, now)
    if free is not None:
        conds.append(_id_in(sorted(free.lab_ids), "free_ids"))
    return _base(actor).where(*conds)


# --- the list page -------------------------------------------------------------------------

@dataclass(frozen=True)
class FacetValue:
    code: str
    label: str
    count: int | None  # labs among the current results that have it; None: not counted
    selected: bool = False
    children: tuple[FacetValue, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    """A page of labs with everything ``/labs`` shows. Also a pagination object for the
    ``ui.pagination`` macro (``page``, ``pages``, ``has_prev``, ``iter_pages`` …)."""

    query: SearchQuery
    items: list[Lab]
    total: int
    per_page: int
    facets: dict[str, tuple[FacetValue, ...]]
    distances: dict[int, float]  # lab id -> km for the labs on this page (with ``near``)
    place: Any
    ket_names: dict[str, str]
    # lab id -> its equipment free for the wanted time, first free first (availability filter)
    free: dict[int, list[FreeWindow]] = field(default_factory=dict)

    @property
    def labs(self) -> list[Lab]:
        return self.items

    def label(self, param: str) -> str:
        """The name of the value selected for ``param`` (its code if unknown)."""
        code = getattr(self.query, param)
        for value in self.facets.get(param, ()):
            for candidate in (value, *value.children):
                if candidate.code == code:
                    return candidate.label
        return str(code)

    @property
    def page(self) -> int:
        return self.query.page

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return min(self.page - 1, max(self.pages, 1)) if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    def iter_pages(self, *, left_edge: int = 2, left_current: int = 2, right_current: int = 4,
                   right_edge: int = 2) -> Iterator[int | None]:
        """Page numbers to link, ``None`` for a gap (as Flask-SQLAlchemy's Pagination)."""
        pages_end = self.pages + 1
        if pages_end == 1:
            return
        left_end = min(1 + left_edge, pages_end)
        yield from range(1, left_end)
        if left_end == pages_end:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages_end)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end == pages_end:
            return
        right_start = max(mid_end, pages_end - right_edge)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages_end)


def _list_options(stmt: Select[tuple[Lab]]) -> Select[tuple[Lab]]:
    return stmt.options(
        joinedload(Lab.kind), joinedload(Lab.organisation), selectinload(Lab.ket_links)
    )


def search_labs(actor: Any, query: SearchQuery, *, per_page: int,
                now: datetime | None = None, facet_cache: MutableMapping[Any, Any] | None = None,
                facet_cache_seconds: float = 0) -> SearchResult:
    """One page of the labs matching ``query``, the total, the facet counts and distances.

    Facet counts are drill-down counts over the matching labs: beside each value, how many
    of the current results have it (so how many remain if it is added). Families: ``ket``
    (level-1 areas with their sub-areas as children), ``category``, ``kind``, ``country``,
    ``accreditation``, ``bookable``. Values with no lab are left out, except a selected one.
    ``now`` decides which accreditations are still valid (the boundary passes its clock;
    ``None`` reads :func:`labnet.clock.utcnow`).

    Queries: one for the facets and the total, one for the page, one for its KET links,
    plus the taxonomy (once per request) and, with ``near``, the bounding box — whatever the
    catalogue's size. A page past the end is empty, not an error.

    ``facet_cache``: when given, the counts of the bare catalogue (no criterion at all, the
    most visited page and the costliest count: every published lab) are reused for
    ``facet_cache_seconds``; the page of labs itself is always read live.
    """
    today = (now or clock.utcnow()).date()
    taxonomy = _taxonomy()
    circle = _near(query)
    conds = _conditions(query, taxonomy, today, circle.ids if circle else None,
                        actor=actor)
    free = _free(actor, query, conds, now)
    if free is not None:
        conds.append(_id_in(sorted(free.lab_ids), "free_ids"))
    base = _base(actor)
    offset = (query.page - 1) * per_page
    sort = query.effective_sort
    items: list[Lab]
    if circle is None and not query.words:
        # Browsing by filters only: the database orders by name (index) and pages.
        if not conds and facet_cache is not None and facet_cache_seconds > 0:
            # No criterion at all, so no network filter: the counts are over the published
            # labs, the same for every viewer (visible_labs ignores who asks). A committed
            # catalogue write in this process starts a new entry (DESIGN rule 9).
            counts = _cached(facet_cache, ("bare", today, caches.generation()),
                             facet_cache_seconds, lambda: _facet_counts(base, today))
        else:
            counts = _facet_counts(base.where(*conds), today)
        items = list(db.session.scalars(_list_options(
            base.where(*conds).order_by(Lab.name, Lab.id).limit(per_page).offset(offset)
        )).unique())
    else:
        # Words or a place: the filters (the word matches over equipment are the costly
        # part) run once, returning each match's id, name and relevance; the facets count
        # over those ids, the page is ordered in Python (by the exact distances where they
        # decide), and its labs are loaded by id.
        rows = db.session.execute(
            base.with_only_columns(Lab.id, Lab.name, _relevance(query.words)).where(*conds)
        ).all()
        counts = _facet_counts(base.where(_id_in([r[0] for r in rows], "hit_ids")), today)
        page_ids = _page_ids(rows, circle, sort, offset, per_page)
        loaded = {lab.id: lab for lab in db.session.scalars(_list_options(
            select(Lab).where(Lab.id.in_(page_ids))
        )).unique()}
        items = [loaded[i] for i in page_ids if i in loaded]
    total = counts.get(("total", ""), 0)
    return SearchResult(
        query=query, items=items, total=total, per_page=per_page,
        facets=_facets(query, taxonomy, counts),
        distances={lab.id: circle.exact(lab.id) for lab in items} if circle else {},
        place=circle.place if circle else None,
        ket_names=taxonomy.ket_names,
        free=free.windows([lab.id for lab in items]) if free is not None else {},
    )


def _cached(cache: MutableMapping[Any, Any], key: Any, seconds: float,
            build: Callable[[], Any]) -> Any:
    stamp = time.monotonic()
    hit = cache.get(key)
    if hit is not None and stamp - hit[0] < seconds:
        return hit[1]
    value = build()
    cache.clear()  # one entry per day at most: keep nothing stale
    cache[key] = (stamp, value)
    return value


def _facet_counts(matching: Select[tuple[Lab]], today: date) -> dict[tuple[str, str], int]:
    """{(family, code): labs} in one statement: the ``matching`` labs as a CTE (evaluated
    once), then one GROUP BY per family (RELIABILITY §6.4.5). Each family goes from the hits
    into an index by lab id (lab_ket's primary key, equipment.lab_id, accreditation.lab_id).
    """
    hits = matching.with_only_columns(Lab.id, Lab.kind_code, Lab.country).cte("hits")
    hit_ids = select(hits.c.id)
    top = func.coalesce(KetArea.parent_code, KetArea.code)

    def family(name: str) -> Any:
        return literal_column(f"'{name}'")

    stmt = union_all(
        select(family("total"), literal_column("''"), func.count()).select_from(hits),
        select(family("kind"), hits.c.kind_code, func.count()).group_by(hits.c.kind_code),
        select(family("country"), hits.c.country, func.count()).group_by(hits.c.country),
        select(family("ket"), LabKet.ket_code, func.count())
        .where(LabKet.lab_id.in_(hit_ids)).group_by(LabKet.ket_code),
        select(family("ket1"), top, func.count(distinct(LabKet.lab_id)))
        .join(KetArea, KetArea.code == LabKet.ket_code)
        .where(LabKet.lab_id.in_(hit_ids)).group_by(top),
        select(family("category"), Equipment.category_code, func.count(distinct(Equipment.lab_id)))
        .where(Equipment.lab_id.in_(hit_ids), Equipment.status.in_(_LIVE_EQUIPMENT))
        .group_by(Equipment.category_code),
        select(family("accreditation"), Accreditation.scheme_code,
               func.count(distinct(Accreditation.lab_id)))
        .where(Accreditation.lab_id.in_(hit_ids), _valid_accreditation(today))
        .group_by(Accreditation.scheme_code),
        select(family("bookable"), literal_column("''"), func.count()).select_from(hits)
        .where(_bookable_equipment(hits.c.id)),
    )
    return {(fam, code or ""): n for fam, code, n in db.session.execute(stmt)}


def _facets(query: SearchQuery, taxonomy: _Taxonomy,
            counts: dict[tuple[str, str], int]) -> dict[str, tuple[FacetValue, ...]]:
    # Counts are over the current results, so they tell what adding a value leaves. A
    # family with a chosen value shows only that value (choosing another would replace it,
    # and its count over the current results would not say what the replacement finds),
    # except KET areas, whose sub-areas narrow the chosen area further.
    def values(fam: str, labels: Mapping[str, str], selected: str) -> tuple[FacetValue, ...]:
        if selected:
            return (FacetValue(selected, labels.get(selected, selected),
                               counts.get((fam, selected), 0), True),)
        found = [FacetValue(code, labels.get(code, code), n)
                 for (f, code), n in counts.items() if f == fam and n]
        found.sort(key=lambda v: (-v.count, v.label))
        return tuple(found)

    chosen = query.ket
    chosen_area = taxonomy.kets[chosen][1] or chosen if chosen in taxonomy.kets else ""
    kets: list[FacetValue] = []
    for code, (name, parent, _) in taxonomy.kets.items():
        if parent is not None or (chosen_area and code != chosen_area):
            continue
        children = tuple(
            FacetValue(sub, sub_name, counts.get(("ket", sub), 0), sub == chosen)
            for sub, (sub_name, sub_parent, _) in taxonomy.kets.items()
            if sub_parent == code and (counts.get(("ket", sub)) or sub == chosen)
        )
        n = counts.get(("ket1", code), 0)
        if chosen and chosen != code:
            # A sub-area is chosen: its area is offered as the way back to the whole area,
            # without a count (every current result has it).
            kets.append(FacetValue(code, name, None, False, children))
        elif n or code == chosen:
            kets.append(FacetValue(code, name, n, code == chosen, children))
    return {
        "ket": tuple(kets),
        "category": values("category", taxonomy.categories, query.category),
        "kind": values("kind", taxonomy.kinds, query.kind),
        "country": values("country", country_names(), query.country),
        "accreditation": values("accreditation", taxonomy.schemes, query.accreditation),
        "bookable": (FacetValue("1", "Has bookable equipment", counts.get(("bookable", ""), 0),
                                query.bookable),),
    }


# --- the map -------------------------------------------------------------------------------

@dataclass(frozen=True)
class MapLab:
    id: int
    slug: str
    name: str
    kind_name: str
    city: str
    country: str
    lat: float
    lon: float
    equipment_count: int
    ket_codes: tuple[str, ...]


def map_labs(actor: Any, query: SearchQuery, *, now: datetime | None = None) -> list[MapLab]:
    """Every published lab matching ``query`` that has coordinates, by name: all filters
    apply, pagination and sorting do not. One query (KET codes aggregated in SQL), plus the
    taxonomy and, with ``near``, the bounding box. ``now`` as in :func:`search_labs`."""
    today = (now or clock.utcnow()).date()
    circle = _near(query)
    conds = _conditions(query, _taxonomy(), today, circle.ids if circle else None,
                        actor=actor)
    free = _free(actor, query, conds, now)
    if free is not None:
        conds.append(_id_in(sorted(free.lab_ids), "free_ids"))
    kets = (
        select(func.aggregate_strings(LabKet.ket_code, " "))
        .where(LabKet.lab_id == Lab.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        _base(actor)
        .with_only_columns(Lab.id, Lab.slug, Lab.name, LabKind.name, Lab.city, Lab.country,
                           Lab.lat, Lab.lon, Lab.equipment_count, kets)
        .join(LabKind, LabKind.code == Lab.kind_code)
        .where(Lab.lat.is_not(None), Lab.lon.is_not(None), *conds)
        .order_by(Lab.name, Lab.id)
    ).all()
    return [
        MapLab(id=r[0], slug=r[1], name=r[2], kind_name=r[3], city=r[4], country=r[5],
               lat=r[6], lon=r[7], equipment_count=r[8],
               ket_codes=tuple(sorted((r[9] or "").split())))
        for r in rows
    ]


def depends_on_viewer(query: SearchQuery) -> bool:
    """Whether the labs matching ``query`` depend on who asks: only the network filter does
    (a members-only network's labs are found only by those who see it). Such an answer is
    cached per :func:`labnet.permissions.visibility_scope` and sent as private (DESIGN rule
    9); every other answer is the same for everybody (drafts are never listed)."""
    return bool(query.network)


def depends_on_bookings(query: SearchQuery) -> bool:
    """Whether the answer to ``query`` follows the bookings and the clock (the availability
    filter): not worth caching, since bookings change it at any moment."""
    return query.available_from is not None or query.available_to is not None


# --- demand signals ------------------------------------------------------------------------

# The same client repeating the same search within one such window is one demand, not many.
DEMAND_DEDUPE_WINDOW = timedelta(minutes=10)


def _dedupe_key(client: str, filters: dict[str, Any], q: str, now: datetime) -> str:
    # Keyed with the app's secret: the stored value cannot be turned back into an address
    # by trying addresses, and it changes with the filters and the window, so it tracks
    # nobody. Fixed windows let a unique index drop repeats in the INSERT itself.
    window = int(now.timestamp() // DEMAND_DEDUPE_WINDOW.total_seconds())
    message = json.dumps([client, q, filters, window], sort_keys=True, default=str).encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def record_demand_signal(query: SearchQuery, result_count: int, *, source: str,
                         searcher_country: str | None, now: datetime,
                         client: str | None = None) -> None:
    """Store one search as an anonymous demand signal (DESIGN, Demand signal): the filters
    used (URL parameters without sort and page, plus the country of the place searched
    near), the words, how many labs it found, when, and the searcher's country (their
    organisation's, when logged in) — never who searched.

    ``client`` (the caller's address and user agent, say) counts a search once per
    :data:`DEMAND_DEDUPE_WINDOW` (fixed ten-minute windows): the same client with the
    same words and filters again within the window adds nothing, so reloading or a
    script cannot inflate demand.
    Flushes; the caller commits."""
    filters: dict[str, Any] = query.to_args()
    filters.pop("sort", None)
    filters.pop("page", None)
    filters.pop("q", None)  # kept in its own column
    if "bookable" in filters:
        filters["bookable"] = True
    if query.near:
        filters["radius_km"] = query.radius
        if query.place is not None:
            filters["near_country"] = query.place.country
    values: dict[str, Any] = {
        "at": now,
        "source": source,
        "filters": filters,
        "query_text": query.q[:MAX_Q_LENGTH],
        "ket_code": query.ket or None,
        "category_code": query.category or None,
        "country_filter": query.country or None,
        "result_count": result_count,
        "searcher_country": searcher_country,
    }
    if not client:
        db.session.add(DemandSignal(**values))
        db.session.flush()
        return
    # One statement, safe under concurrency: the unique dedupe key drops a repeat.
    values["dedupe_key"] = _dedupe_key(client, filters, values["query_text"], now)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(DemandSignal).values(**values)
                       .on_conflict_do_nothing(index_elements=["dedupe_key"]))
    db.session.flush()


# --- availability filter -------------------------------------------------------------------
# "Free for D hours between two dates": parsed here like every other filter; answered by
# the booking engine's availability service (services.availability.free_windows), over the
# labs the other filters kept.

def _parse_availability(args: Mapping[str, str], errors: dict[str, str]
                        ) -> tuple[date | None, date | None, float | None]:
    """``available_from``, ``available_to`` (local days, inclusive) and ``hours``.

    All three or none: anything that cannot be used drops the whole filter and names the
    field in ``errors`` (the rest of the search still runs). Without ``hours``, one hour.
    The span is at most :data:`MAX_SPAN_DAYS` days, from today on, within two years."""
    raw = {name: " ".join(str(args.get(name) or "").split())[:40]
           for name in AVAILABILITY_PARAMS}
    if not any(raw.values()):
        return None, None, None
    today = clock.utcnow().date()
    days: dict[str, date] = {}
    for name, what in (("available_from", "first"), ("available_to", "last")):
        if not raw[name]:
            errors[name] = (f"Give the {what} day too: “free for some hours” needs both "
                            "dates; that filter was left out.")
            continue
        try:
            days[name] = parse_day(raw[name], message=f"“{raw[name]}” is not a date; use the "
                                                      "form 2026-03-02.")
        except DateOutOfRange as exc:
            # The search's own window (today to two years ahead) is narrower: its check
            # below refuses the day in those words, before any arithmetic with it.
            days[name] = exc.day
        except ValueError as exc:
            errors[name] = f"{exc} The availability filter was left out."
    hours = 1.0
    if raw["hours"]:
        try:
            hours = float(raw["hours"].replace(",", "."))
        except ValueError:
            hours = math.nan
        if not (math.isfinite(hours) and hours > 0):
            errors["hours"] = (f"The hours must be a number above 0; “{raw['hours'][:20]}” is "
                               "not. The availability filter was left out.")
    if len(days) < 2 or "hours" in errors:
        return None, None, None
    first, last = days["available_from"], days["available_to"]
    if first < today:
        errors["available_from"] = (f"{first:%Y-%m-%d} is in the past; choose today or a later "
                                    "day. The availability filter was left out.")
    elif last < first:
        errors["available_to"] = (f"The last day ({last:%Y-%m-%d}) is before the first "
                                  f"({first:%Y-%m-%d}). The availability filter was left out.")
    elif (last - first).days + 1 > MAX_SPAN_DAYS:
        errors["available_to"] = (f"Search at most {MAX_SPAN_DAYS} days at a time "
                                  f"({(last - first).days + 1} asked). The availability filter "
                                  "was left out.")
    elif (last - today).days > MAX_AHEAD_DAYS:
        errors["available_to"] = ("No lab takes bookings that far ahead (two years at most). "
                                  "The availability filter was left out.")
    elif hours > ((last - first).days + 1) * 24:
        errors["hours"] = (f"{hours:g} hours do not fit between {first:%Y-%m-%d} and "
                           f"{last:%Y-%m-%d}. The availability filter was left out.")
    else:
        return first, last, hours
    return None, None, None


def _free(actor: Any, query: SearchQuery, conds: list[ColumnElement[bool]],
          now: datetime | None) -> FreeEquipment | None:
    """The labs matching ``conds`` with equipment free as ``query`` asks (``None`` without
    the filter): five queries over the candidates the other filters left."""
    if query.available_from is None or query.available_to is None or query.hours is None:
        return None
    return free_equipment(_base(actor).where(*conds), query.available_from,
                          query.available_to, query.hours, now=now or clock.utcnow())
