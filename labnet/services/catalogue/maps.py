"""Map data: the GeoJSON of a search's labs, and the self-contained HTML export (folium).

Owns DESIGN rule 7 on the map's data paths: text a manager typed leaves here only as JSON
strings (the GeoJSON properties, the export's data array, escaped by ``tojson``), never as
markup; popups are built in the browser with DOM nodes and ``textContent``. Owns "no page
loads from a third-party host" for the export: folium's CDN links (Leaflet, jQuery,
Bootstrap, Font Awesome, awesome-markers, markercluster) are dropped per instance and Leaflet
and Leaflet.markercluster are inlined from the xstatic packages, so the file works offline
(tiles, the one exception, come from the configured TILE_URL). Which labs appear (published
only, with coordinates, matching the query) is decided by ``search.map_labs``, not here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from labnet.extensions import db
from labnet.i18n import data_name
from labnet.models import AccreditationScheme, EquipmentCategory, LabKind
from labnet.services.catalogue.taxonomy import ket_tree
from labnet.services.geo.geocoding import country_name

# The xstatic packages the app serves under /vendor/<name>/… and inlines into the export.
VENDOR_PACKAGES = {
    "leaflet": "xstatic.pkg.leaflet",
    "leaflet.markercluster": "xstatic.pkg.leaflet_markercluster",
}
_PLAIN_SLUG = re.compile(r"[A-Za-z0-9_.-]+")
# Five decimals are about a metre: more precision only costs bytes.
COORD_DECIMALS = 5
# Where the map opens when there is nothing to fit (Europe).
EUROPE_CENTER = (50.0, 10.0)
EUROPE_ZOOM = 4


def vendor_dir(package: str) -> Path | None:
    """The data folder of a vendored xstatic package, or None for an unknown name."""
    module_name = VENDOR_PACKAGES.get(package)
    if module_name is None:
        return None
    import importlib

    return Path(importlib.import_module(module_name).BASE_DIR)


def vendor_version(package: str) -> str:
    """The version of a vendored xstatic package.

    :raises KeyError: for a package not in ``VENDOR_PACKAGES``.
    """
    import importlib

    return str(importlib.import_module(VENDOR_PACKAGES[package]).VERSION)


@dataclass(frozen=True)
class FilterChoices:
    """Options of the map's compact filter form: (value, label) pairs."""

    kets: list[tuple[str, str]]
    kinds: list[tuple[str, str]]
    categories: list[tuple[str, str]]
    accreditations: list[tuple[str, str]]


def filter_choices() -> FilterChoices:
    """The taxonomies the filter form offers (four small queries over shipped data)."""

    kets: list[tuple[str, str]] = []
    for area, subs in ket_tree():
        kets.append((area.code, data_name("ket_areas", area.code, area.name)))
        kets.extend((sub.code, f"— {data_name('ket_areas', sub.code, sub.name)}")
                    for sub in subs)
    kinds = sorted(((code, data_name("lab_kinds", code, name)) for code, name in
                    db.session.execute(select(LabKind.code, LabKind.name))),
                   key=lambda pair: pair[1])
    categories = list(db.session.execute(
        select(EquipmentCategory.code, EquipmentCategory.name)
        .order_by(EquipmentCategory.number)
    ))
    schemes = list(db.session.execute(
        select(AccreditationScheme.code, AccreditationScheme.name)
        .order_by(AccreditationScheme.name)
    ))
    return FilterChoices(
        kets=kets,
        kinds=kinds,
        categories=[(code, data_name("equipment_categories", code, name))
                    for code, name in categories],
        accreditations=[(code, data_name("accreditation_schemes", code, name))
                        for code, name in schemes],
    )


# --- GeoJSON -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapData:
    """The map's GeoJSON body, its ETag and how many labs it holds."""

    body: bytes
    etag: str  # strong validator: a hash of the body, without quotes
    count: int


def lab_url(template: str, slug: str) -> str:
    """``template`` holds ``{slug}``; the slug is percent-encoded whatever it contains."""
    if not _PLAIN_SLUG.fullmatch(slug):  # the usual slug needs no encoding (saves ~20 ms/10k)
        slug = quote(slug, safe="")
    return template.replace("{slug}", slug)


def build_geojson(labs: Sequence[Any], *, url_template: str,
                  ket_names: Mapping[str, str], kind_names: Mapping[str, str] | None = None,
                  country_names: Callable[[str], str] = country_name) -> MapData:
    """A FeatureCollection of ``labs`` (``search.MapLab`` rows) with only what the map shows.

    Properties: id, name, kind, city, country, kets (codes), equipment (count), url. Two
    foreign members (RFC 7946 §6.1) name the codes used once instead of per feature:
    ``ket_names`` and ``country_names``. Coordinates are [lon, lat] rounded to five
    decimals; the JSON is compact. The ETag is a hash of the body, so it changes with
    anything the map shows (names, counts, KET links, kinds), whatever table changed.
    ``kind_names`` (English name -> the reader's) and ``country_names`` give the names in a
    language; by default they are English (the stored snapshot).
    """
    kind_names = kind_names or {}
    features = []
    kets_used: set[str] = set()
    countries: set[str] = set()
    for lab in labs:
        kets_used.update(lab.ket_codes)
        countries.add(lab.country)
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [
                round(lab.lon, COORD_DECIMALS), round(lab.lat, COORD_DECIMALS)]},
            "properties": {
                "id": lab.id, "name": lab.name,
                "kind": kind_names.get(lab.kind_name, lab.kind_name), "city": lab.city,
                "country": lab.country, "kets": list(lab.ket_codes),
                "equipment": lab.equipment_count, "url": lab_url(url_template, lab.slug),
            },
        })
    doc = {
        "type": "FeatureCollection",
        "features": features,
        "ket_names": {code: ket_names.get(code, code) for code in sorted(kets_used)},
        "country_names": {code: country_names(code) for code in sorted(countries)},
    }
    # ensure_ascii keeps "<" etc. as is, which is fine for application/json; it escapes
    # nothing a JSON parser would misread, and consumers treat values as text (rule 7).
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    return MapData(body=body, etag=hashlib.blake2b(body, digest_size=16).hexdigest(),
                   count=len(features))


_FEATURE_START = b',{"type":"Feature","geometry":'
_FEATURES_END = b'],"ket_names":'
_FEATURE_ID = re.compile(rb'"properties":\{"id":(\d+),')


def without_labs(body: bytes, left_out: set[int]) -> MapData:
    """The GeoJSON ``body`` :func:`build_geojson` wrote, less the features of the labs
    ``left_out`` (the map of every lab, kept as a snapshot, less the few a filter leaves
    out), cut and joined as bytes: no parse and no new encoding of thousands of labs.

    Safe because of how the body is written: compact JSON, in which a quote inside a
    string is always escaped, so the unescaped ``,{"type":"Feature","geometry":`` only
    ever separates two features and ``],"ket_names":`` only ends the list. ``ket_names``
    and ``country_names`` stay those of the whole map (a lookup table: a code no feature
    uses any more does no harm)."""
    start = body.index(b"[") + 1
    end = body.index(_FEATURES_END)
    features = body[start:end]
    pieces = features.split(_FEATURE_START) if features else []
    pieces[1:] = [_FEATURE_START[1:] + piece for piece in pieces[1:]]
    kept = [piece for piece in pieces
            if (found := _FEATURE_ID.search(piece)) is None
            or int(found.group(1)) not in left_out]
    out = body[:start] + b",".join(kept) + body[end:]
    return MapData(body=out, etag=hashlib.blake2b(out, digest_size=16).hexdigest(),
                   count=len(kept))


# --- The self-contained export -------------------------------------------------------------

_CSS_URL = re.compile(r"url\((['\"]?)images/([\w.-]+\.png)\1\)")


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


@cache
def _inline_assets() -> tuple[str, str]:
    """Leaflet's and markercluster's CSS and JS, ready to inline (read once per process).

    Leaflet's CSS refers to images/*.png relative to itself; inlined, those would resolve
    against the file's own location, so they become data: URIs. Source-map comments go.
    """
    leaflet = vendor_dir("leaflet")
    cluster = vendor_dir("leaflet.markercluster")
    if leaflet is None or cluster is None:
        raise RuntimeError("the xstatic Leaflet packages are not installed")
    css = (leaflet / "leaflet.css").read_text()
    css = _CSS_URL.sub(lambda m: f"url({_data_uri(leaflet / 'images' / m.group(2))})", css)
    css += "\n" + (cluster / "MarkerCluster.css").read_text()
    css += "\n" + (cluster / "MarkerCluster.Default.css").read_text()
    js = (leaflet / "leaflet.js").read_text() + "\n" + (
        cluster / "leaflet.markercluster.js").read_text()
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.MULTILINE)
    # Inlined text must not close its own element early.
    if "</script" in js.lower() or "</style" in css.lower():
        raise RuntimeError("a vendored asset would end its inline element early")
    return css, js


@cache
def _icon_js() -> str:
    images = vendor_dir("leaflet")
    if images is None:
        raise RuntimeError("the xstatic Leaflet package is not installed")
    urls = {name: _data_uri(images / "images" / f"{name}.png")
            for name in ("marker-icon", "marker-icon-2x", "marker-shadow")}
    # Leaflet's default icon finds its images through a CSS path, which data: URIs cannot
    # give; the export sets its own icon with the same images and geometry.
    options = {"iconUrl": urls["marker-icon"], "iconRetinaUrl": urls["marker-icon-2x"],
               "shadowUrl": urls["marker-shadow"], "iconSize": [25, 41],
               "iconAnchor": [12, 41], "popupAnchor": [1, -34], "tooltipAnchor": [16, -28],
               "shadowSize": [41, 41]}
    return f"L.icon({json.dumps(options)})"


# Builds each marker and its popup from a data row; no data is ever parsed as HTML.
# Row: [lat, lon, name, kind, place, kets, equipment, url].
_CALLBACK = """(function () {
    var icon = __ICON__;
    var texts = __TEXTS__;
    var plural = null;
    try { plural = new Intl.PluralRules(texts.lang); } catch (e) { plural = null; }
    function pieces(n) {
        var form = texts.pieces[plural ? plural.select(n) : (n === 1 ? 'one' : 'other')] ||
            texts.pieces.other || texts.pieces.many || '{n}';
        return form.replace('{n}', String(n));
    }
    function line(parent, tag, text, cls) {
        var el = document.createElement(tag);
        el.textContent = text;
        if (cls) { el.className = cls; }
        parent.appendChild(el);
        return el;
    }
    function popup(row) {
        var box = document.createElement('div');
        box.className = 'lab-popup';
        var title = line(box, 'a', row[2], 'lab-popup-name');
        title.href = row[7];
        line(box, 'div', row[3]);
        line(box, 'div', row[4]);
        if (row[5]) { line(box, 'div', texts.kets.replace('{names}', row[5])); }
        line(box, 'div', pieces(row[6]));
        return box;
    }
    return function (row) {
        var marker = L.marker([row[0], row[1]], {icon: icon, title: row[2], alt: row[2]});
        marker.bindPopup(function () { return popup(row); });
        return marker;
    };
})()"""

_EXPORT_STYLE = """
.lab-popup { font: 13px/1.4 system-ui, sans-serif; min-width: 12rem; }
.lab-popup-name { font-weight: 600; display: block; margin-bottom: .2rem; }
.labnet-legend { position: absolute; z-index: 1000; left: 50px; top: 10px; max-width: 60%;
  background: rgba(255,255,255,.92); padding: 6px 10px; border-radius: 4px;
  font: 13px/1.4 system-ui, sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
"""


def escape_for_folium(text: str) -> str:
    """HTML-escape text bound for a folium Popup/Tooltip/Element, plus the characters that
    matter inside the JavaScript template literals folium wraps popups in (RELIABILITY
    §3.1): backslash, backtick and ``$``. The export passes user text only through here
    (or as JSON data)."""
    escaped = html.escape(text, quote=True)
    return escaped.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def build_export(labs: Sequence[Any], *, tile_url: str, tile_attribution: str,
                 url_template: str, ket_names: Mapping[str, str], summary: str,
                 generated_at: datetime, texts: Mapping[str, Any] | None = None,
                 kind_names: Mapping[str, str] | None = None,
                 country_names: Callable[[str], str] = country_name) -> str:
    """The labs of one search as a single HTML file: Leaflet inlined, markers clustered
    in the browser from a data array (FastMarkerCluster: 10,000 labs render in well under
    a second, RELIABILITY §3.2), popups built with DOM nodes. ``url_template`` should be
    absolute (the file is opened away from the platform). ``summary`` describes the
    search for the legend and is escaped here. ``texts`` holds the file's words in the
    reader's language (``lang``, ``kets`` and ``pieces`` with ``{names}``/``{n}`` for the
    popups' script, ``title``, ``labs`` and ``exported``, already filled in); English
    without it.
    """
    import folium
    from branca.element import Element, Figure
    from folium.plugins import FastMarkerCluster

    rows = []
    lats: list[float] = []
    lons: list[float] = []
    for lab in labs:
        lat, lon = round(lab.lat, COORD_DECIMALS), round(lab.lon, COORD_DECIMALS)
        lats.append(lat)
        lons.append(lon)
        place = ", ".join(p for p in (lab.city, country_names(lab.country)) if p)
        kets = ", ".join(ket_names.get(c, c) for c in lab.ket_codes)
        kind = (kind_names or {}).get(lab.kind_name, lab.kind_name)
        rows.append([lat, lon, lab.name, kind, place, kets, lab.equipment_count,
                     lab_url(url_template, lab.slug)])

    fmap = folium.Map(location=EUROPE_CENTER, zoom_start=EUROPE_ZOOM, tiles=None)
    # Per instance, not through add_js_link: that mutates folium's class-level lists for
    # the whole process (RELIABILITY §3.3).
    fmap.default_js = []
    fmap.default_css = []
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution or " ", name="tiles",
                         control=False).add_to(fmap)
    count = len(rows)
    words = {
        "lang": "en", "kets": "KET: {names}",
        "pieces": {"one": "{n} piece of equipment", "other": "{n} pieces of equipment"},
        "title": f"LabNet map — {count} labs",
        "labs": f"{count} lab{'' if count == 1 else 's'}",
        "exported": f"exported {generated_at:%Y-%m-%d %H:%M} UTC",
        **(texts or {}),
    }
    script_words = json.dumps({k: words[k] for k in ("lang", "kets", "pieces")},
                              ensure_ascii=True).replace("<", "\\u003c")
    callback = _CALLBACK.replace("__ICON__", _icon_js()).replace("__TEXTS__", script_words)
    cluster = FastMarkerCluster(rows, callback=callback, control=False)
    cluster.default_js = []
    cluster.default_css = []
    cluster.add_to(fmap)
    if rows:
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], max_zoom=12)

    # branca types get_root() as any Element; a folium.Map's root is always its Figure
    # (branca asserts the same when it renders).
    root = fmap.get_root()
    assert isinstance(root, Figure)
    css, js = _inline_assets()
    root.header.add_child(Element(f"<title>{escape_for_folium(str(words['title']))}</title>"),
                          name="title")
    root.header.add_child(Element(f"<style>{css}\n{_EXPORT_STYLE}</style>"), name="assets_css")
    root.header.add_child(Element(f"<script>{js}</script>"), name="assets_js")
    legend = (
        f'<div class="labnet-legend"><strong>LabNet</strong> — '
        f"{escape_for_folium(str(words['labs']))} · {escape_for_folium(summary)} · "
        f"{escape_for_folium(str(words['exported']))}</div>"
    )
    root.html.add_child(Element(legend), name="legend")
    return root.render()
