"""Matrix entries for the map: the page, its GeoJSON, the export and the vendored assets.

All public; drafts never appear in any of them (tests/web/test_map.py checks the content).
With the ``network`` filter the answer depends on who asks: a members-only network's
member labs are shown only to those who see the network (cases/networks.HIDDEN_SEERS).
"""

from __future__ import annotations

from tests.authz.cases.base import ACTORS, ALL_OK, HIDDEN_SEERS, Case

CASES = [
    Case("maps.index", "GET", lambda p: "/map", ALL_OK),
    Case("maps.labs_geojson", "GET", lambda p: "/map/labs.geojson", ALL_OK),
    Case("maps.labs_geojson", "GET", lambda p: "/map/labs.geojson?network=mx-hidden", ALL_OK,
         name="hidden-network", shows=lambda p: "Matrix Lab", seers=HIDDEN_SEERS),
    Case("maps.labs_geojson", "GET", lambda p: "/map/labs.geojson?network=mx-public", ALL_OK,
         name="public-network", shows=lambda p: "Matrix Lab", seers=ACTORS),
    Case("maps.labs_geojson", "GET", lambda p: "/map/labs.geojson?radius_km=nope",
         dict.fromkeys(ACTORS, 422), name="bad-filter"),
    Case("maps.export", "GET", lambda p: "/map/export.html?country=DE", ALL_OK),
    Case("maps.export", "GET", lambda p: "/map/export.html?network=mx-hidden", ALL_OK,
         name="hidden-network", shows=lambda p: "Matrix Lab", seers=HIDDEN_SEERS),
    Case("maps.vendor", "GET", lambda p: "/vendor/leaflet/leaflet.js", ALL_OK),
    Case("maps.vendor", "GET", lambda p: "/vendor/unknown/leaflet.js",
         dict.fromkeys(ACTORS, 404), name="unknown-package"),
]
