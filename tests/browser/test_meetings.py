"""Meetings between consortia in Chromium (issue 15 §5), on the demo data: a participant of
the CluStrat matchmaking days goes from the event page to the Meet page, publishes a profile
(hostile text stays text), asks another participant for a slot; she accepts it from her
requests, and both schedules show the meeting with its calendar file."""

from __future__ import annotations

from pathlib import Path

import pytest

from labnet.services.seed import DEMO_PASSWORD
from tests.fixtures.browser import nav_click

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror=alert(1)><script>window.__xss=1</script>'


def _login(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _logout(page) -> None:
    nav_click(page, "Log out", role="button")
    page.wait_for_load_state()


def test_two_participants_arrange_a_meeting_in_the_browser(live_server, demo_data, page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, "maja.kovac@ijs.example")
    page.goto("/events/clustrat-matchmaking-days")
    page.get_by_role("link", name="Go to the Meet page").click()
    page.wait_for_url("**/events/clustrat-matchmaking-days/meet")
    page.get_by_label("What you offer").fill(f"Materials testing {HOSTILE}")
    page.get_by_role("button", name="Publish my profile").click()
    page.wait_for_url("**/meet")
    card = page.locator("article.profile-card", has_text="Lena Gruber")
    slot = card.locator("select[name=slot] option").first.inner_text()
    card.get_by_label("Message (optional)").fill("Shall we talk about test beds?")
    card.get_by_role("button", name="Ask to meet").click()
    page.wait_for_url("**/meet#person-*")
    assert page.locator("#outgoing").get_by_text("Lena Gruber").is_visible()
    _logout(page)

    _login(page, "lena.gruber@sal.example")
    page.goto("/events/clustrat-matchmaking-days/meet")
    request = page.locator("#incoming .meeting", has_text="Maja Kovač")
    assert request.get_by_text("Shall we talk about test beds?").is_visible()
    request.get_by_role("button", name="Accept").click()
    page.wait_for_url("**/meet#schedule")
    schedule = page.locator("#schedule")
    assert schedule.get_by_text("Maja Kovač").is_visible()
    assert schedule.get_by_text(slot.split(",")[0]).first.is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    assert "Meeting with Maja Kovač" in Path(download.value.path()).read_text(encoding="utf-8")
    # The hostile offer was shown as text on every page: no script ran.
    page.goto("/events/clustrat-matchmaking-days/meet")
    assert page.evaluate("window.__xss") is None and dialogs == []
