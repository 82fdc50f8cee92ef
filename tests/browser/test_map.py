"""The map in Chromium: markers for a filter, popups, hostile names, loopback only.

Tiles point at a path of the live server that answers 404 (``TILE_URL`` below), so no
request leaves 127.0.0.1 (the ``page`` fixture checks every request after each test) and
the markers are shown to work without tiles.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror=alert(1)><script>window.__xss=1</script>${alert(2)}`'
TILES = "/test-tiles/"
# A fixed place for a person to look at the map after a run.
SCREENSHOT = "/tmp/labnet-map.png"


@pytest.fixture
def app_config():
    return {"TILE_URL": TILES + "{z}/{x}/{y}.png", "TILE_ATTRIBUTION": "No tiles in tests"}


def _watch(page) -> tuple[list[str], list[str]]:
    """Console errors other than the tiles' 404s, and dialogs (an alert would be a hit)."""
    errors: list[str] = []
    dialogs: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and TILES not in (message.location.get("url") or ""):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return errors, dialogs


def _wait_for_markers(page) -> int:
    page.locator('#lab-map[data-state="ready"]').wait_for()
    return int(page.locator("#lab-map").get_attribute("data-markers"))


def _markers_shown(page) -> int:
    """Labs represented on screen: single markers plus the counts on cluster icons."""
    singles = page.locator(".leaflet-marker-icon:not(.marker-cluster)").count()
    clusters = page.locator(".marker-cluster span").all_inner_texts()
    return singles + sum(int(n) for n in clusters)


def test_map_shows_the_labs_of_a_filter_and_a_popup_links_to_the_lab(
        live_server, demo_data, page, page_requests):
    errors, dialogs = _watch(page)
    expected = page.request.get("/map/labs.geojson?country=FR").json()
    french = sorted(f["properties"]["name"] for f in expected["features"])
    assert len(french) >= 3

    page.goto("/")
    page.locator("nav.navbar").get_by_role("link", name="Map", exact=True).click()
    page.wait_for_url("**/map")
    everywhere = _wait_for_markers(page)
    page.get_by_label("Country").select_option("FR")
    page.get_by_role("button", name="Show on the map").click()
    page.wait_for_url("**/map?country=FR")

    assert _wait_for_markers(page) == len(french) < everywhere
    page.wait_for_function("document.querySelectorAll('.leaflet-marker-icon').length > 0")
    assert _markers_shown(page) == len(french)
    page.screenshot(path=SCREENSHOT)
    assert page.locator("#list-view").get_attribute("href") == "/labs?country=FR"

    # Zoomed in on one lab, it is its own marker; clicking it opens its popup.
    name = "IRT Jules Verne" if "IRT Jules Verne" in french else french[0]
    marker = page.locator(f'.leaflet-marker-icon[title="{name}"]')
    if marker.count() == 0:  # inside a cluster at this zoom: zoom in until it is free
        for _ in range(8):
            page.locator("a.leaflet-control-zoom-in").click()
            page.wait_for_timeout(300)
            if marker.count():
                break
    marker.click()
    popup = page.locator(".leaflet-popup-content .lab-popup")
    popup.wait_for()
    title = popup.locator("a.lab-popup-name")
    assert title.inner_text() == name
    assert "France" in popup.locator(".lab-popup-place").inner_text()
    assert "of equipment" in popup.locator(".lab-popup-equipment").inner_text()
    assert popup.locator(".lab-popup-kets").inner_text().startswith("KET: ")
    href = title.get_attribute("href")
    assert href.startswith("/labs/")
    popup.get_by_role("link", name="Open the lab page").click()
    page.wait_for_url(f"**{href}")
    assert page.locator("#lab-name").inner_text() == name

    # The lab page's small map shows its point.
    page.locator('.small-map[data-state="ready"] .leaflet-marker-icon').wait_for()

    # The tiles were asked for (and failed) on this host; nothing else went anywhere.
    assert any(TILES in url for url in page_requests.urls)
    assert page_requests.off_loopback() == []
    assert errors == []
    assert dialogs == []


def test_hostile_lab_name_stays_text_on_the_map_and_in_the_export(live_server, make_lab,
                                                                  page, page_requests):
    make_lab(name=HOSTILE, city=HOSTILE, slug="hostile-lab", country="MT", lat=35.9,
             lon=14.5)
    errors, dialogs = _watch(page)

    page.goto("/map?country=MT")
    assert _wait_for_markers(page) == 1
    marker = page.locator(".leaflet-marker-icon").first
    assert marker.get_attribute("title") == HOSTILE
    marker.click()
    popup = page.locator(".leaflet-popup-content .lab-popup")
    popup.wait_for()
    assert popup.locator("a.lab-popup-name").inner_text() == HOSTILE
    assert popup.locator("a.lab-popup-name").get_attribute("href") == "/labs/hostile-lab"
    assert HOSTILE in popup.locator(".lab-popup-place").inner_text()
    assert page.locator(".leaflet-popup img, .leaflet-popup script, main script:not([src])"
                        ).count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"

    # The downloaded file, opened as a user would (its own inline scripts, no CSP).
    export = page.request.get("/map/export.html?country=MT")
    assert export.ok
    assert export.headers["content-disposition"].startswith("attachment;")
    page.route("**/opened-export.html",
               lambda route: route.fulfill(status=200, content_type="text/html",
                                           body=export.body()))
    page.goto("/opened-export.html")
    marker = page.locator(".leaflet-marker-icon").first
    marker.wait_for()
    assert marker.get_attribute("title") == HOSTILE
    marker.click()
    popup = page.locator(".leaflet-popup-content .lab-popup")
    popup.wait_for()
    assert popup.locator("a.lab-popup-name").inner_text() == HOSTILE
    assert page.locator(".leaflet-popup img, .leaflet-popup script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"

    assert dialogs == []
    assert errors == []
    assert page_requests.off_loopback() == []
