"""The search query contract: what a ``/labs`` (and map) search is, read from and written
back to URL parameters.

Rules owned here, once:

- **The parameters.** :data:`PARAMS` in the order links carry them; :class:`SearchQuery`
  holds one search, ``to_args`` writes it back (defaults left out; changing a filter goes
  back to page 1); ``effective_sort`` says what "relevance" means without words.
- **Bad input never fails** (DESIGN rule 5): :func:`parse_query` drops a parameter it
  cannot use, as if it had not been given, and names it in its errors with the user's
  input quoted; the search then runs without that filter. The availability filter is all
  three fields or none, from today on, within two years.
- **What an answer depends on** (DESIGN rule 9): only the network filter makes it depend on
  the viewer, only the availability filter on the bookings and the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Text, cast, event, func, literal, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from labnet import clock
from labnet.dates import DateOutOfRange, parse_day
from labnet.extensions import db
from labnet.i18n import _, _l, current_language, data_name, localtime, number
from labnet.models import (
    AccreditationScheme,
    CatalogueSnapshot,
    EquipmentCategory,
    KetArea,
    LabKind,
)
from labnet.services.booking.availability import MAX_SPAN_DAYS
from labnet.services.catalogue.search.words import driver_rows
from labnet.services.geo import geocoding as geo
from labnet.services.geo.geocoding import country_names

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
MAX_AHEAD_DAYS = 2 * 365  # services.catalogue.labs.MAX_ADVANCE_DAYS: no lab books further ahead
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("", "0", "false", "off", "no")


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
        """The words searched for, lower-cased: the first :data:`MAX_WORDS` of ``q``."""
        return [w.lower() for w in self.q.split()[:MAX_WORDS]]

    @property
    def radius(self) -> float:
        """The radius in km around ``near``: :data:`DEFAULT_RADIUS_KM` unless given."""
        return self.radius_km if self.radius_km is not None else DEFAULT_RADIUS_KM

    @property
    def is_search(self) -> bool:
        """Whether anything narrows the list (a bare ``/labs`` is browsing, not a search)."""
        return bool(self.q or any(getattr(self, name) for name in FILTER_PARAMS))

    @property
    def effective_sort(self) -> str:
        """The order actually used: distance needs ``near``, and relevance without words
        means distance with ``near`` and name otherwise."""
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
# The bare catalogue's maintained facet counts (``catalogue_snapshot`` "facets", as JSON
# text; ``None`` while unbuilt), read by the same query as the taxonomies and kept until the
# transaction ends (a commit may rebuild it).
SNAPSHOT_KEY = "labnet.search.facets_snapshot"


def _day(day: date) -> str:
    """A day inside a message: ISO in English, the language's medium date elsewhere."""
    return localtime(day, None, "%Y-%m-%d")


def _snapshot_text(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.convert_from(CatalogueSnapshot.body, "UTF8")
    return cast(CatalogueSnapshot.body, Text)


@cache
def _taxonomy_statement(dialect: str) -> Any:
    # Built once per dialect: the statement never changes, and building it (with its cache
    # key) cost more than running it.
    return union_all(
        select(literal_column("'ket'"), KetArea.code, KetArea.name, KetArea.parent_code,
               KetArea.position),
        select(literal_column("'category'"), EquipmentCategory.code, EquipmentCategory.name,
               null(), EquipmentCategory.number),
        select(literal_column("'kind'"), LabKind.code, LabKind.name, null(), literal(0)),
        select(literal_column("'scheme'"), AccreditationScheme.code, AccreditationScheme.name,
               null(), literal(0)),
        select(literal_column("'snapshot'"), CatalogueSnapshot.name,
               _snapshot_text(dialect), null(), literal(0))
        .where(CatalogueSnapshot.name == "facets", CatalogueSnapshot.etag != ""),
    )


def _taxonomy() -> _Taxonomy:
    # One query for the four shipped taxonomies (and the facets snapshot), kept for the
    # life of the session (one request): parsing and the facet labels then share it.
    cached = db.session.info.get(_TAXONOMY_KEY)
    if cached is not None:
        return cached
    rows: Sequence[Any] = driver_rows(_taxonomy_statement(db.session.get_bind().dialect.name))
    snapshot = next((r[2] for r in rows if r[0] == "snapshot" and r[1] == "facets"), None)
    db.session.info[SNAPSHOT_KEY] = snapshot
    # The taxonomies as read, in the reader's language: built once per process for the
    # same rows (a shipped taxonomy changes rarely; new rows are a new key, never stale).
    shipped = tuple(tuple(r) for r in rows if r[0] != "snapshot")
    key = (current_language(), shipped)
    taxonomy = _TAXONOMIES.get(key)
    if taxonomy is None:
        taxonomy = _build_taxonomy(shipped)
        if len(_TAXONOMIES) >= 32:
            _TAXONOMIES.clear()
        _TAXONOMIES[key] = taxonomy
    db.session.info[_TAXONOMY_KEY] = taxonomy
    return taxonomy


_TAXONOMIES: dict[Any, _Taxonomy] = {}


def _build_taxonomy(rows: Sequence[Any]) -> _Taxonomy:
    parts: dict[str, dict[str, Any]] = {"ket": {}, "category": {}, "kind": {}, "scheme": {}}
    # Shipped names in the reader's language (labnet/data/i18n); kept per session, so per
    # request and so per language.
    kinds = {"ket": "ket_areas", "category": "equipment_categories", "kind": "lab_kinds",
             "scheme": "accreditation_schemes"}
    for family, code, name, parent, position in sorted(rows, key=lambda r: (r[4], r[2])):
        if family in kinds:
            name = data_name(kinds[family], code, name)
        parts[family][code] = (name, parent, position) if family == "ket" else name
    return _Taxonomy(kets=parts["ket"], categories=parts["category"], kinds=parts["kind"],
                     schemes=parts["scheme"])


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_snapshot(session: Session) -> None:
    session.info.pop(SNAPSHOT_KEY, None)


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
        errors["q"] = _("Search words are limited to %(num)s characters; the rest was left "
                        "out.", num=MAX_Q_LENGTH)
        q = q[:MAX_Q_LENGTH].rstrip()
    if len(q.split()) > MAX_WORDS:
        errors["q"] = _("Only the first %(num)s words are searched for.", num=MAX_WORDS)

    unknown = {
        "ket": _l("There is no KET area with the code “%(code)s”; that filter was left out."),
        "category": _l("There is no equipment category with the code “%(code)s”; that filter "
                       "was left out."),
        "kind": _l("There is no kind of lab with the code “%(code)s”; that filter was left "
                   "out."),
        "accreditation": _l("There is no accreditation scheme with the code “%(code)s”; that "
                            "filter was left out."),
        "country": _l("There is no country (two letters, ISO 3166) with the code “%(code)s”; "
                      "that filter was left out."),
    }

    def code(name: str, known: Mapping[str, Any], *, upper: bool = False) -> str:
        raw = text(name)
        value = raw.upper() if upper else raw.lower()
        if value and value not in known:
            errors[name] = str(unknown[name]) % {"code": raw[:60]}
            return ""
        return value

    ket = code("ket", taxonomy.kets, upper=True)
    category = code("category", taxonomy.categories)
    kind = code("kind", taxonomy.kinds)
    accreditation = code("accreditation", taxonomy.schemes)
    country = code("country", country_names(), upper=True)

    raw_bookable = text("bookable").lower()
    bookable = raw_bookable in _TRUE
    if raw_bookable not in _TRUE + _FALSE:
        errors["bookable"] = _("“%(value)s” is not yes or no; use bookable=1 to show only "
                               "labs with bookable equipment.", value=raw_bookable[:20])

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
            errors["radius_km"] = _(
                "The radius must be a number of kilometres from %(min)s to %(max)s; "
                "“%(value)s” is not, so %(default)s km was used.", min=number(MIN_RADIUS_KM),
                max=number(MAX_RADIUS_KM), value=raw_radius[:20],
                default=number(DEFAULT_RADIUS_KM))

    near = text("near")[:MAX_NEAR_LENGTH]
    place = None
    if near:
        place = geo.geocode(near)
        if place is None:
            errors["near"] = _("No place called “%(place)s” was found, so the distance "
                               "filter was left out. Try a town or city name.", place=near)
            near = ""

    sort = text("sort").lower() or "relevance"
    if sort not in SORTS:
        errors["sort"] = _("“%(value)s” is not a way to sort; choose relevance, distance "
                           "or name.", value=sort[:20])
        sort = "relevance"
    elif sort == "distance" and not near:
        errors.setdefault("sort", _("Sorting by distance needs a place in “near”; "
                                    "the labs are sorted by name."))
        sort = "relevance"

    page = 1
    raw_page = text("page")
    if raw_page:
        try:
            page = int(raw_page)
        except ValueError:
            page = 0
        if not 1 <= page <= MAX_PAGE:
            errors["page"] = _("The page must be a whole number from 1 to %(max)s; "
                               "“%(value)s” is not, so the first page is shown.",
                               max=number(MAX_PAGE), value=raw_page[:20])
            page = 1

    network = text("network").lower()[:120]
    if network and not network.replace("-", "").isalnum():
        errors["network"] = _("There is no network “%(name)s”; that filter was left out.",
                              name=network[:60])
        network = ""
    available_from, available_to, hours = _parse_availability(args, errors)
    query = SearchQuery(network=network,
                        available_from=available_from, available_to=available_to, hours=hours,
                        q=q, ket=ket, category=category, kind=kind, country=country,
                        accreditation=accreditation, bookable=bookable, near=near,
                        radius_km=radius_km, sort=sort, page=page, place=place)
    return query, errors


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


# --- availability filter -------------------------------------------------------------------
# "Free for D hours between two dates": parsed here like every other filter; answered by
# the booking engine's availability service (services.booking.availability.free_windows), over the
# labs the other filters kept (``filters._free``).

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
    for name in ("available_from", "available_to"):
        if not raw[name]:
            errors[name] = (_("Give the first day too: “free for some hours” needs both "
                              "dates; that filter was left out.") if name == "available_from"
                            else _("Give the last day too: “free for some hours” needs both "
                                   "dates; that filter was left out."))
            continue
        try:
            days[name] = parse_day(raw[name], message=_("“%(value)s” is not a date; use the "
                                                        "form 2026-03-02.", value=raw[name]))
        except DateOutOfRange as exc:
            # The search's own window (today to two years ahead) is narrower: its check
            # below refuses the day in those words, before any arithmetic with it.
            days[name] = exc.day
        except ValueError as exc:
            errors[name] = _("%(problem)s The availability filter was left out.", problem=exc)
    hours = 1.0
    if raw["hours"]:
        try:
            hours = float(raw["hours"].replace(",", "."))
        except ValueError:
            hours = math.nan
        if not (math.isfinite(hours) and hours > 0):
            errors["hours"] = _("The hours must be a number above 0; “%(value)s” is not. The "
                                "availability filter was left out.", value=raw["hours"][:20])
    if len(days) < 2 or "hours" in errors:
        return None, None, None
    first, last = days["available_from"], days["available_to"]
    if first < today:
        errors["available_from"] = _("%(day)s is in the past; choose today or a later day. "
                                     "The availability filter was left out.",
                                     day=_day(first))
    elif last < first:
        errors["available_to"] = _("The last day (%(last)s) is before the first (%(first)s). "
                                   "The availability filter was left out.",
                                   last=_day(last), first=_day(first))
    elif (last - first).days + 1 > MAX_SPAN_DAYS:
        errors["available_to"] = _("Search at most %(max)s days at a time (%(asked)s asked). "
                                   "The availability filter was left out.",
                                   max=MAX_SPAN_DAYS, asked=(last - first).days + 1)
    elif (last - today).days > MAX_AHEAD_DAYS:
        errors["available_to"] = _("No lab takes bookings that far ahead (two years at most). "
                                   "The availability filter was left out.")
    elif hours > ((last - first).days + 1) * 24:
        errors["hours"] = _("%(hours)s hours do not fit between %(first)s and %(last)s. The "
                            "availability filter was left out.", hours=number(hours),
                            first=_day(first), last=_day(last))
    else:
        return first, last, hours
    return None, None, None

