"""The map: the page, its GeoJSON, the downloadable HTML export, and the vendored assets.

The page and the data take the same query as /labs (``search.parse_query``). A page view
records a demand signal (source "map"); the GeoJSON fetch the page makes right after does
not, or every map view would count twice, and the export does not either (it repeats a
search already seen on the page).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from functools import lru_cache
from pathlib import Path

from flask import abort, current_app, jsonify, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.security import safe_join

from labnet import caches, clock, permissions
from labnet.blueprints.helpers import EUROPEAN_COUNTRIES, search_client
from labnet.blueprints.maps import bp
from labnet.extensions import db
from labnet.i18n import DEFAULT_LANGUAGE, _, current_language, data_name, localtime, ngettext
from labnet.links import external_url
from labnet.services.catalogue import demand, maps, search, snapshots
from labnet.services.catalogue.taxonomy import ket_names, lab_kind_names, local_ket_names
from labnet.templating import country_name, plural_samples

# Browsers and proxies may reuse the data for a minute; after that the ETag makes the
# revalidation cheap for the network (a 304 without a body).
GEOJSON_MAX_AGE = 60
VENDOR_MAX_AGE = 24 * 3600
GZIP_LEVEL = 5  # 0.36 MB for 10,000 labs in ~25 ms; level 9 saves little and costs more


def _map_args(query) -> dict[str, str]:
    # The map shows every match: a list page number means nothing here.
    args = dict(query.to_args())
    args.pop("page", None)
    return args


def _lab_url_template(*, external: bool = False) -> str:
    # url_for once, then a plain replace per lab: 10,000 url_for calls would cost ~0.1 s.
    # The exported file leaves the site: its links come from BASE_URL (labnet.links).
    build = external_url if external else url_for
    return build("catalogue.lab", slug="SLUG-PLACEHOLDER").replace("SLUG-PLACEHOLDER", "{slug}")


def _country_choices() -> list[tuple[str, str]]:
    return sorted(((c, country_name(c)) for c in EUROPEAN_COUNTRIES), key=lambda x: x[1])


def _searcher_country() -> str | None:
    if current_user.is_authenticated:
        return current_user.organisation.country
    return None


@bp.get("/map")
def index():
    query, errors = search.parse_query(request.args)
    labs = search.map_labs(current_user, query, now=clock.utcnow())
    demand.record_demand_signal(query, len(labs), source="map",
                                searcher_country=_searcher_country(), now=clock.utcnow(),
                                client=search_client())
    db.session.commit()
    args = _map_args(query)
    return render_template(
        "maps/index.html", query=query, errors=errors, count=len(labs), args=args,
        choices=maps.filter_choices(), country_choices=_country_choices(),
        geojson_url=url_for("maps.labs_geojson", **args),
        list_url=url_for("catalogue.labs", **args),
        export_url=url_for("maps.export", **args),
    )


def _geojson_representation(query, gzipped: bool, scope) -> tuple[str, bytes]:
    """(ETag, body) of the map data for ``query`` as a viewer of ``scope`` sees it, built at
    most once per GEOJSON_CACHE_SECONDS (shared by every process through labnet.caches).

    Clients are told the data may be reused for GEOJSON_MAX_AGE seconds anyway, so the
    server keeps it as long: a revalidation or a second visitor costs a dictionary lookup
    instead of the ~0.5 s query-and-serialise of 10,000 labs (benchmarks/). Entries are
    keyed by the viewer's scope (``permissions.visibility_scope``; ``None`` for an answer
    that is the same for everybody) and by the catalogue's version, so a committed write on any
    host is seen at once (DESIGN rule 9). Answers under the availability filter follow the
    bookings and are never cached.
    """
    if not query.is_search and current_language() == DEFAULT_LANGUAGE:
        # Every published lab: the snapshot kept up to date by each catalogue write, the
        # same for every process (services.catalogue.snapshots); live only while unbuilt.
        # The snapshot is in English; other languages build (and cache) their own.
        stored = snapshots.map_document(_lab_url_template(), gzipped=gzipped)
        if stored is not None:
            return stored[0] + ("-gz" if gzipped else ""), stored[1]
    ttl = float(current_app.config.get("GEOJSON_CACHE_SECONDS") or 0)
    if search.depends_on_bookings(query):
        ttl = 0
        if set(query.to_args(page=None, sort=None)) <= set(search.AVAILABILITY_PARAMS):
            # "Free for D hours" alone keeps most labs: the map of every lab less the few
            # the free-time summary leaves out (search.labs_not_free), never a new GeoJSON
            # of thousands of labs. Not cached: it follows the bookings.
            stored = snapshots.map_document(_lab_url_template(), gzipped=False)
            if stored is not None:
                data = maps.without_labs(stored[1], set(search.labs_not_free(query)))
                body = gzip.compress(data.body, GZIP_LEVEL, mtime=0) if gzipped \
                    else data.body
                return data.etag + ("-gz" if gzipped else ""), body
    # The shared cache (labnet.caches): every host sees a catalogue or network write at once.
    # (Network writes bump the catalogue's version too: a network filter is covered.)
    # The names in it (kinds, KET areas, countries) are in the reader's language: one entry
    # per language.
    key = (tuple(sorted(query.to_args(page=None).items())), gzipped, scope, caches.generation(),
           current_language())
    return caches.remember("geojson", key, ttl, lambda: _build_geojson(query, gzipped, scope))


def _build_geojson(query, gzipped: bool, scope) -> tuple[str, bytes]:
    english = current_language() == DEFAULT_LANGUAGE
    data = maps.build_geojson(
        search.map_labs(current_user, query, now=clock.utcnow()),
        url_template=_lab_url_template(), ket_names=ket_names() if english else local_ket_names(),
        kind_names=None if english else {
            name: data_name("lab_kinds", code, name) for code, name in lab_kind_names()},
        country_names=country_name)
    # 10,000 labs are ~2.8 MB of JSON but ~0.36 MB gzipped: compress here, since the
    # development server and many deployments would not. Each encoding is its own
    # representation, so each gets its own strong ETag.
    body = gzip.compress(data.body, GZIP_LEVEL, mtime=0) if gzipped else data.body
    etag = data.etag
    if scope is not None:
        # A personal answer's validator names its scope too: one viewer's copy never
        # revalidates as another's, even where the two bodies happen to agree.
        etag = hashlib.blake2b(f"{etag}:{sorted(scope)}".encode(), digest_size=16).hexdigest()
    etag += "-gz" if gzipped else ""
    return etag, body


@bp.get("/map/labs.geojson")
def labs_geojson():
    query, errors = search.parse_query(request.args)
    if errors:
        return jsonify({"errors": {k: [v] for k, v in errors.items()}}), 422
    gzipped = bool(request.accept_encodings["gzip"])
    personal = search.depends_on_viewer(query)
    scope = permissions.visibility_scope(current_user) if personal else None
    etag, body = _geojson_representation(query, gzipped, scope)
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(body, mimetype="application/geo+json")
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.vary.add("Accept-Encoding")
    if personal:
        # The network filter: what it finds depends on who asks (a members-only network's
        # labs only for those who see it). No shared cache may keep it, and the browser
        # revalidates each time (its user may have logged out or in meanwhile).
        response.cache_control.private = True
        response.cache_control.no_cache = True
        response.vary.add("Cookie")
    else:
        # Same answer for everybody (drafts are never on the map): shared caches may keep it.
        response.cache_control.public = True
        response.cache_control.max_age = GEOJSON_MAX_AGE
    return response


@bp.get("/map/export.html")
def export():
    query, errors = search.parse_query(request.args)
    if errors:
        message = " ".join(f"{k}: {v}" for k, v in errors.items())
        return render_template("errors/error.html", code=422, title=_("Check the filters"),
                               message=message), 422
    now = clock.utcnow()
    args = _map_args(query)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(args.items())) or _("all labs")
    labs = search.map_labs(current_user, query, now=clock.utcnow())
    # The file's words in the reader's language (the popups' script picks the plural form).
    texts = {
        "lang": current_language(),
        "kets": _("KET: %(names)s", names="{names}"),
        "pieces": {category: ngettext("%(num)s piece of equipment",
                                      "%(num)s pieces of equipment", n).replace(str(n), "{n}")
                   for category, n in plural_samples().items()},
        "title": ngettext("LabNet map — %(num)d lab", "LabNet map — %(num)d labs", len(labs)),
        "labs": ngettext("%(num)d lab", "%(num)d labs", len(labs)),
        "exported": _("exported %(when)s UTC", when=localtime(now, "UTC")),
    }
    document = maps.build_export(
        labs,
        tile_url=current_app.config.get("TILE_URL") or "",
        tile_attribution=current_app.config.get("TILE_ATTRIBUTION") or "",
        url_template=_lab_url_template(external=True), ket_names=local_ket_names(),
        summary=summary, generated_at=now, texts=texts, country_names=country_name,
        kind_names={name: data_name("lab_kinds", code, name)
                    for code, name in lab_kind_names()},
    )
    response = current_app.response_class(document, mimetype="text/html")
    # A download, never rendered inside the platform: its inline scripts run only when the
    # user opens the saved file.
    response.headers["Content-Disposition"] = (
        f'attachment; filename="labnet-map-{now:%Y%m%d-%H%M}.html"')
    response.cache_control.no_store = True
    return response


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    """Leaflet and Leaflet.markercluster from their xstatic packages (nothing copied into
    the repository, nothing from a CDN)."""
    found = _vendor_asset(package, filename)
    if found is None:
        abort(404)
    content, etag = found
    return send_file(io.BytesIO(content), download_name=filename.rsplit("/", 1)[-1],
                     etag=etag, max_age=VENDOR_MAX_AGE, conditional=True)


@lru_cache(maxsize=64)
def _vendor_asset(package: str, filename: str) -> tuple[bytes, str] | None:
    # Kept in memory: a handful of small files, and no open file handle is left to a
    # client that does not read the body. Bounded, so made-up names cannot grow it.
    folder = maps.vendor_dir(package)
    path = safe_join(str(folder), filename) if folder is not None else None
    if path is None or not os.path.isfile(path):
        return None
    content = Path(path).read_bytes()
    return content, hashlib.blake2b(content, digest_size=16).hexdigest()
