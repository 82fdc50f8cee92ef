"""The map: /map, its GeoJSON, the downloadable export, the small map and vendored assets.

Rule 7 (user text never markup) for the data paths, drafts never on the map, the same
filters as /labs, caching by ETag, and no CDN anywhere in the export. The browser side
(markers, popups, hostile names in Chromium) is tests/browser/test_map.py.
"""

from __future__ import annotations

import gzip
import json
import re

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import DemandSignal

HOSTILE = '<img src=x onerror=alert(1)><script>window.__xss=1</script>${alert(2)}`'
PROPERTIES = {"id", "name", "kind", "city", "country", "kets", "equipment", "url"}
URL_RE = re.compile(r"""https?://[^\s"'()<>\\]+""")
# Strings inside Leaflet's own source that are not loads: the SVG namespace, its
# attribution link, a comment.
INERT_URLS = {"http://www.w3.org/2000/svg", "https://leafletjs.com",
              "https://bugzilla.mozilla.org/show_bug.cgi?id=888319"}


def geojson(client, query: str = "", **headers):
    response = client.get(f"/map/labs.geojson{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, json.loads(response.get_data())


def names(doc) -> list[str]:
    return [f["properties"]["name"] for f in doc["features"]]


def test_geojson_lists_published_labs_with_coordinates_and_only_map_fields(
        client, make_lab, make_equipment):
    lab = make_lab(name="Photonics Bench", slug="photonics-bench", city="Lyon", country="FR",
                   lat=45.7640123456, lon=4.8356789012, kets=("MNEP", "MNEP.LAS"))
    make_equipment(lab)
    make_equipment(lab)
    make_equipment(lab, status="retired")
    make_lab(name="Hidden Draft", is_published=False)
    make_lab(name="Nowhere Lab", lat=None, lon=None)

    response, doc = geojson(client)

    assert response.mimetype == "application/geo+json"
    assert doc["type"] == "FeatureCollection"
    [feature] = doc["features"]
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [4.83568, 45.76401]}
    assert set(feature["properties"]) == PROPERTIES
    assert feature["properties"] | {"id": 0} == {
        "id": 0, "name": "Photonics Bench", "kind": "Research and Technology Organisation",
        "city": "Lyon", "country": "FR", "kets": ["MNEP", "MNEP.LAS"], "equipment": 2,
        "url": "/labs/photonics-bench",
    }
    assert feature["properties"]["id"] == lab.id
    # Names of the codes used, once per document rather than per feature.
    assert set(doc["ket_names"]) == {"MNEP", "MNEP.LAS"}
    assert doc["country_names"] == {"FR": "France"}
    # Compact: re-encoding with the tightest separators gives the same bytes.
    assert response.get_data() == json.dumps(doc, separators=(",", ":"),
                                             ensure_ascii=False).encode()


def test_geojson_takes_the_same_filters_as_the_list(client, make_lab):
    make_lab(name="Lyon Optics", country="FR", kets=("MNEP", "MNEP.LAS"))
    make_lab(name="Grenoble Micro", country="FR", kets=("MNEP",))
    make_lab(name="Aachen Additive", country="DE", kets=("AMT", "AMT.ADD"))
    make_lab(name="Paris Draft", country="FR", is_published=False)

    assert sorted(names(geojson(client, "?country=FR")[1])) == ["Grenoble Micro",
                                                                 "Lyon Optics"]
    assert names(geojson(client, "?country=fr&q=optics")[1]) == ["Lyon Optics"]
    # A KET area includes its sub-areas.
    assert names(geojson(client, "?ket=AMT")[1]) == ["Aachen Additive"]
    assert names(geojson(client, "?country=IT")[1]) == []


def test_geojson_with_an_unusable_filter_answers_json_errors(client, make_lab):
    make_lab()
    response = client.get("/map/labs.geojson?radius_km=far&country=DE")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["radius_km"]


def test_geojson_answers_304_to_its_etag_and_a_new_etag_after_a_change(client, make_lab):
    make_lab(name="First Lab")
    first = client.get("/map/labs.geojson")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert first.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    assert "Accept-Encoding" in first.headers["Vary"]

    again = client.get("/map/labs.geojson", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    # Another query is another document.
    other = client.get("/map/labs.geojson?country=FR", headers={"If-None-Match": etag})
    assert other.status_code == 200

    make_lab(name="Second Lab")
    changed = client.get("/map/labs.geojson", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert names(json.loads(changed.get_data())) == ["First Lab", "Second Lab"]


def test_geojson_is_gzipped_for_clients_that_accept_it(client, make_lab):
    make_lab(name="Zipped Lab")
    plain = client.get("/map/labs.geojson")
    zipped = client.get("/map/labs.geojson", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    # Each encoding is its own representation with its own strong validator.
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    revalidated = client.get("/map/labs.geojson", headers={
        "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert revalidated.status_code == 304


def test_geojson_carries_hostile_names_as_plain_json_strings(client, make_lab):
    make_lab(name=HOSTILE, city=HOSTILE, slug="hostile-lab")
    _, doc = geojson(client)
    [props] = [f["properties"] for f in doc["features"]]
    # Exactly as typed: consumers put it into the page as text (map.js uses textContent).
    assert props["name"] == HOSTILE
    assert props["city"] == HOSTILE
    assert props["url"] == "/labs/hostile-lab"


def test_geojson_stays_small_per_lab(client, make_lab, ctx):
    """The benchmark's aim is 10,000 labs under 1 MB on the wire: check the per-lab cost
    on a few hundred labs with realistic names (benchmarks/ measures the real scale)."""
    n = 300
    for i in range(n):
        make_lab(name=f"Fraunhofer Institute for Production Technology {i:05d}",
                 slug=f"fraunhofer-ipt-{i:05d}", city="Aachen", lat=50.0 + i / 1000,
                 lon=6.0 + i / 1000, kets=("AMT", "AMT.ADD", "MNEP"))
    response = client.get("/map/labs.geojson", headers={"Accept-Encoding": "gzip"})
    per_lab_wire = len(response.get_data()) / n
    per_lab_json = len(gzip.decompress(response.get_data())) / n
    assert per_lab_wire * 10_000 < 1_000_000, per_lab_wire
    assert per_lab_json < 330, per_lab_json  # about 3 MB raw for 10,000 labs


def test_map_page_has_the_filters_the_data_url_and_links_with_the_same_query(client,
                                                                            make_lab):
    make_lab(name="Lyon Optics", country="FR")
    make_lab(name="Aachen Additive", country="DE")
    response = client.get("/map?country=FR&q=optics&page=3")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-geojson-url="/map/labs.geojson?q=optics&amp;country=FR"' in html
    assert 'href="/labs?q=optics&amp;country=FR" id="list-view"' in html
    assert 'href="/map/export.html?q=optics&amp;country=FR" id="map-download"' in html
    assert '<option value="FR" selected>' in html
    assert 'value="optics"' in html
    assert "1 lab on the map" in html
    # Our own script files only: no inline script or style (CSP default-src 'self').
    assert "/static/js/map.js" in html
    assert "/vendor/leaflet/leaflet.js" in html
    assert "/vendor/leaflet.markercluster/leaflet.markercluster.js" in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert "<style" not in html and ' style="' not in html
    assert not URL_RE.search(html.replace(client.application.config["TILE_URL"], ""))


def test_map_page_shows_an_unusable_filter_and_keeps_the_rest(client, make_lab):
    make_lab(name="Lyon Optics", country="FR")
    html = client.get("/map?country=FR&ket=NOPE").get_data(as_text=True)
    assert 'data-field="ket"' in html
    assert "NOPE" in html
    assert 'data-geojson-url="/map/labs.geojson?country=FR"' in html


def test_map_page_view_records_a_demand_signal_and_the_data_fetch_does_not(client, app,
                                                                          make_lab):
    make_lab(name="Lyon Optics", country="FR")
    client.get("/map?country=FR")
    client.get("/map/labs.geojson?country=FR")
    client.get("/map/export.html?country=FR")
    with app.app_context():
        signals = db.session.scalars(select(DemandSignal)).all()
        assert [(s.source, s.country_filter, s.result_count) for s in signals] == [
            ("map", "FR", 1)]


def test_export_is_one_self_contained_file_without_cdn_and_with_escaped_text(
        client, app, make_lab, make_equipment):
    lab = make_lab(name=HOSTILE, slug="hostile-lab", city="Lyon", country="FR")
    make_equipment(lab)
    make_lab(name="Secret Draft", is_published=False, country="FR")
    make_lab(name="Aachen Additive", country="DE")

    response = client.get("/map/export.html?country=FR&q=" + "%3Cscript%3Ealert(3)")
    assert response.status_code == 200  # the words match nothing; still a map
    response = client.get("/map/export.html?country=FR")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="labnet-map-')
    assert disposition.endswith('.html"')
    html = response.get_data(as_text=True)

    # Leaflet and markercluster inlined; nothing loaded from anywhere.
    assert "L.markerClusterGroup=" in html or "markerClusterGroup=function" in html
    assert "<link" not in html
    assert re.search(r"<script[^>]*\bsrc=", html) is None
    # CSS images are data: URIs (Leaflet's url(#default#VML) is an old-IE fragment).
    assert re.search(r"""url\((?!['"]?(data:|#default#VML))""", html) is None
    tile_url = app.config["TILE_URL"]
    urls = set(URL_RE.findall(html))
    assert tile_url in urls
    own = f"http://{app.config['SERVER_NAME']}/labs/"
    assert {u for u in urls if not u.startswith(own)} - INERT_URLS == {tile_url}
    for cdn in ("jsdelivr", "cdnjs", "jquery", "bootstrapcdn", "fontawesome", "unpkg"):
        assert cdn not in html.lower()

    # The published FR lab only, its text as JSON data, never as markup.
    assert "Secret Draft" not in html and "Aachen Additive" not in html
    assert HOSTILE not in html
    assert "<script>window.__xss" not in html and "<img src=x" not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e\\u003cscript\\u003e" in html
    assert f"{own}hostile-lab" in html
    assert "innerHTML" not in html.split("</head>", 1)[1]  # our code builds DOM nodes


def test_export_legend_escapes_the_search_words(client, make_lab):
    make_lab(name="Plain Lab")
    html = client.get("/map/export.html?q=%3Cb%3Ebold%3C%2Fb%3E%24%7Bx%7D").get_data(
        as_text=True)
    legend = re.search(r'<div class="labnet-legend">.*?</div>', html).group(0)
    assert "<b>" not in legend
    assert "&lt;b&gt;bold&lt;/b&gt;&#36;{x}" in legend


@pytest.fixture
def app_config():
    return {"TILE_URL": "https://tiles.example.org/{z}/{x}/{y}.png",
            "TILE_ATTRIBUTION": "Example tiles"}


def test_map_uses_the_configured_tiles(client, make_lab):
    make_lab()
    page = client.get("/map").get_data(as_text=True)
    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in page
    assert 'data-tile-attribution="Example tiles"' in page
    export = client.get("/map/export.html").get_data(as_text=True)
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in export
    assert "openstreetmap" not in export.lower()


def test_lab_page_has_a_small_map_only_with_coordinates(client, make_lab):
    make_lab(name=HOSTILE, slug="placed", lat=48.137154, lon=11.576124)
    make_lab(name="Unplaced", slug="unplaced", lat=None, lon=None)
    html = client.get("/labs/placed").get_data(as_text=True)
    assert 'data-lat="48.13715" data-lon="11.57612"' in html
    assert 'data-label="&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;' in html
    assert "/static/js/small_map.js" in html and "/vendor/leaflet/leaflet.css" in html
    unplaced = client.get("/labs/unplaced").get_data(as_text=True)
    assert "small-map" not in unplaced and "leaflet" not in unplaced


def test_vendor_serves_leaflet_from_the_package_and_nothing_else(client):
    js = client.get("/vendor/leaflet/leaflet.js")
    assert js.status_code == 200
    assert js.mimetype in ("text/javascript", "application/javascript")
    assert b"Leaflet" in js.get_data()
    assert js.headers["ETag"]
    assert client.get("/vendor/leaflet/leaflet.js",
                      headers={"If-None-Match": js.headers["ETag"]}).status_code == 304
    assert client.get("/vendor/leaflet/images/marker-icon.png").mimetype == "image/png"
    assert client.get("/vendor/leaflet.markercluster/MarkerCluster.css").status_code == 200
    assert client.get("/vendor/leaflet/../../__init__.py").status_code == 404
    assert client.get("/vendor/leaflet/%2e%2e/__init__.py").status_code == 404
    assert client.get("/vendor/nope/leaflet.js").status_code == 404


@pytest.mark.parametrize("app_config", [{"GEOJSON_CACHE_SECONDS": 60}])
def test_map_data_is_built_once_per_cache_period_and_a_write_clears_it(
        app, client, make_lab, app_config, monkeypatch):
    from labnet.services.catalogue import maps

    built = []
    real = maps.build_geojson
    monkeypatch.setattr(maps, "build_geojson", lambda *a, **kw: built.append(1) or real(*a, **kw))
    make_lab(name="First Lab")
    first = client.get("/map/labs.geojson")
    again = client.get("/map/labs.geojson")
    # Within the period the same representation is served, built once.
    assert again.headers["ETag"] == first.headers["ETag"]
    assert len(built) == 1
    # A write in this process that changes the map clears it at once (DESIGN rule 9).
    make_lab(name="Second Lab")
    assert b"Second Lab" in client.get("/map/labs.geojson").data
    assert len(built) == 2


# --- members-only networks: the answer depends on who asks (issue 10, item 2) ---------------

def _network(app, lab, coordinator, *, status: str = "accepted",
             visibility: str = "members") -> None:
    from labnet import clock
    from labnet.models.network import Network, NetworkCoordinator, NetworkMember, NetworkStage

    now = clock.utcnow()
    with app.app_context():
        net = Network(slug="secret-chain", name="Secret chain", name_key="secret chain",
                      ecosystem="photonics", visibility=visibility, created_at=now,
                      updated_at=now)
        db.session.add(net)
        db.session.flush()
        stage = NetworkStage(network_id=net.id, name="Testing", created_at=now)
        db.session.add(stage)
        db.session.flush()
        db.session.add_all([
            NetworkCoordinator(network_id=net.id, user_id=coordinator.id, added_at=now),
            NetworkMember(network_id=net.id, stage_id=stage.id, lab_id=lab.id, status=status,
                          invited_at=now),
        ])
        db.session.commit()


@pytest.mark.parametrize("app_config", [{"GEOJSON_CACHE_SECONDS": 60}])
@pytest.mark.parametrize("first", ["coordinator", "visitor"])
def test_members_only_network_map_data_is_kept_apart_per_viewer(
        app, make_lab, make_user, quick_login, app_config, first):
    from labnet.models import Role

    make_lab(name="Public Lab")
    lab = make_lab(name="Secret Member Lab")
    coordinator = make_user(roles=(Role.COORDINATOR,))
    _network(app, lab, coordinator)
    clients = {"coordinator": app.test_client(), "visitor": app.test_client(),
               "outsider": app.test_client()}
    quick_login(clients["coordinator"], coordinator)
    quick_login(clients["outsider"], make_user(roles=(Role.COORDINATOR,)))
    order = ["coordinator", "visitor", "outsider", "coordinator"] if first == "coordinator" \
        else ["visitor", "outsider", "coordinator", "visitor"]
    answers = {}
    for who in order:
        response = clients[who].get("/map/labs.geojson?network=secret-chain")
        assert response.status_code == 200
        answers[who] = response
        assert names(json.loads(response.get_data())) == (
            ["Secret Member Lab"] if who == "coordinator" else []), (first, who)
        # Personal: no shared cache may keep it, and the browser asks again each time.
        assert response.cache_control.private and not response.cache_control.public
        assert response.cache_control.no_cache
        assert "Cookie" in response.headers["Vary"]
    seen, unseen = answers["coordinator"].headers["ETag"], answers["visitor"].headers["ETag"]
    assert seen != unseen
    # Revalidating the coordinator's copy as somebody else never gets a 304.
    for who in ("visitor", "outsider"):
        response = clients[who].get("/map/labs.geojson?network=secret-chain",
                                    headers={"If-None-Match": seen})
        assert response.status_code == 200
        assert names(json.loads(response.get_data())) == []
    # Without the network filter the answer is the same for everybody, and public.
    plain = clients["coordinator"].get("/map/labs.geojson")
    assert plain.cache_control.public
    assert names(json.loads(plain.get_data())) == ["Public Lab", "Secret Member Lab"]


@pytest.mark.parametrize("app_config", [{"GEOJSON_CACHE_SECONDS": 60}])
def test_an_accepted_membership_shows_on_the_cached_network_map_at_once(
        app, make_lab, make_user, quick_login, app_config):
    from sqlalchemy import update

    from labnet.models import Role
    from labnet.models.network import NetworkMember

    lab = make_lab(name="Joining Lab")
    coordinator = make_user(roles=(Role.COORDINATOR,))
    _network(app, lab, coordinator, status="invited", visibility="public")
    client = app.test_client()
    assert names(json.loads(client.get("/map/labs.geojson?network=secret-chain").data)) == []
    with app.app_context():
        db.session.execute(update(NetworkMember).values(status="accepted"))
        db.session.commit()
    assert names(json.loads(client.get("/map/labs.geojson?network=secret-chain").data)) == [
        "Joining Lab"]
