"""Events in Chromium (issue 15 §2): a lab manager of the demo catalogue creates a course
from "My labs" through the form, publishes it, and a visitor finds it on /events in the
list, the month calendar and on the map (a marker whose popup is text), then opens its
page with the schema.org data. A hostile title stays text everywhere. Tiles point at a 404
path of the live server: nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from labnet import clock
from labnet.services.seed import DEMO_PASSWORD
from tests.fixtures.browser import nav_click

pytestmark = pytest.mark.browser

TILES = "/test-tiles/"
HOSTILE = '<img src=x onerror=alert(1)><script>window.__xss=1</script>'


@pytest.fixture
def app_config():
    return {"TILE_URL": TILES + "{z}/{x}/{y}.png", "TILE_ATTRIBUTION": "No tiles in tests"}


def test_a_manager_publishes_a_course_and_a_visitor_finds_it_everywhere(
        live_server, demo_data, page, page_requests):
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and TILES not in (
        m.location.get("url") or "") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    day = (clock.utcnow() + timedelta(days=45)).date()

    page.goto("/login")
    page.get_by_label("E-mail address").fill("manager@labnet.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    nav_click(page, "#nav-my-labs")
    page.get_by_role("link", name="New event").first.click()
    page.wait_for_url("**/events/new?organiser=lab:*")
    page.get_by_label("Kind", exact=True).select_option("training_course")
    page.get_by_label("Title", exact=True).fill(HOSTILE)
    page.get_by_label("Sessions", exact=True).fill(f"{day:%Y-%m-%d} 09:00-17:00 Theory\n"
                                       f"{day + timedelta(days=1):%Y-%m-%d} 09:00-12:00")
    page.get_by_label("Seats (empty: no limit)").fill("12")
    page.locator("#save-event").click()
    page.get_by_text("The event was saved as a draft.").wait_for()
    page.locator("#publish-event").click()
    page.get_by_text("The event is published.").wait_for()
    assert page.locator("#event-title").inner_text() == HOSTILE
    event_url = page.url
    nav_click(page, "Log out", role="button")
    page.wait_for_load_state()

    page.locator("nav.navbar").get_by_role("link", name="Events", exact=True).click()
    page.wait_for_url("**/events")
    assert page.locator(".event-row .event-title", has_text="<img").first.inner_text() == HOSTILE
    page.locator("#view-calendar").click()
    page.wait_for_url("**view=calendar**")
    if not page.locator(".calendar-event", has_text="<img").count():
        page.locator("#next-month").click()
        page.wait_for_url("**month=**")
    assert page.locator(".calendar-event", has_text="<img").count() >= 2
    page.locator("#view-map").click()
    page.locator('#events-map[data-state="ready"]').wait_for()
    assert int(page.locator("#events-map").get_attribute("data-markers")) >= 1
    marker = page.locator(f'#events-map .leaflet-marker-icon[title="{HOSTILE}"]')
    marker.click()
    popup = page.locator(".leaflet-popup-content .lab-popup")
    popup.wait_for()
    assert HOSTILE in popup.inner_text()
    popup.get_by_role("link").click()
    page.wait_for_url(event_url)
    data = json.loads(page.locator("#event-jsonld").text_content())
    assert data["@type"] == "Event" and data["name"] == HOSTILE
    assert data["maximumAttendeeCapacity"] == 12
    page.locator('.small-map[data-state="ready"]').wait_for()
    assert page.locator("main img[src='x'], main script:not([src]):not([type])").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert errors == [] and dialogs == []
    assert page_requests.off_loopback() == []
