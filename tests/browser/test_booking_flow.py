"""The booking flow in Chromium: a member requests a slot through the booking form, sees it
pending; the lab manager finds it in the queue (and on the home page) and approves it; the
member sees it confirmed and has the e-mail."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest

from labnet import clock
from labnet.extensions import db
from labnet.models import OpeningHours
from labnet.services.booking.availability import utc_to_local
from tests.fixtures.browser import nav_click
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser

ZONE = "Europe/Berlin"


def _log_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("nav.navbar").get_by_role("button", name=user.full_name).wait_for()


def _log_out(page) -> None:
    nav_click(page, "Log out", role="button")
    page.locator("nav.navbar").get_by_role("link", name="Log in").wait_for()


def _watch_for_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_member_requests_manager_approves_member_sees_it_confirmed(
    smtp, live_server, page, app, make_lab, make_equipment, make_user, make_org
):
    lab = make_lab(timezone=ZONE, requires_approval=True, name="Flow Lab")
    with app.app_context():
        for day in range(7):
            db.session.add(OpeningHours(lab_id=lab.id, weekday=day, opens_at=time(8),
                                        closes_at=time(18)))
        db.session.commit()
    sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=8, name="Flow SEM")
    manager = make_user(manages=(lab,), full_name="Marie Manager")
    member = make_user(organisation=make_org(kind="company", size_class="small"),
                       full_name="Sam Member")
    day = utc_to_local(clock.utcnow(), ZONE).date() + timedelta(days=7)
    errors = _watch_for_errors(page)

    # The member requests 10:00–12:00 lab time a week ahead.
    _log_in(page, member)
    page.goto(f"/equipment/{sem.id}/book")
    page.get_by_label("Start (lab time)").fill(f"{day.isoformat()}T10:00")
    page.get_by_label("End (lab time)").fill(f"{day.isoformat()}T12:00")
    page.get_by_label("Purpose").fill("Fracture surfaces of sintered parts")
    page.get_by_role("button", name="Check availability and price").click()
    page.locator("#quote").wait_for()
    page.get_by_role("button", name="Send the request").click()
    page.get_by_text("pending until the lab decides").wait_for()
    reference = re.search(r"LN-\d{4}-\d{6}", page.locator("main").inner_text()).group(0)
    page.goto("/bookings")
    row = page.locator("#upcoming tr[data-booking]", has_text="Flow SEM")
    assert "pending" in row.inner_text()
    _log_out(page)

    # The manager sees the count on the home page, opens the queue and approves.
    _log_in(page, manager)
    page.goto("/")
    page.get_by_role("link", name="1 booking request waiting for your decision").click()
    page.wait_for_url("**/manage/bookings")
    pending = page.locator("#pending tr[data-reference]")
    assert pending.count() == 1
    assert pending.get_attribute("data-reference") == reference
    assert "Flow SEM" in pending.inner_text() and "Sam Member" in pending.inner_text()
    pending.get_by_role("button", name="Approve").click()
    page.get_by_text("is confirmed; the requester was told").wait_for()
    assert page.locator("#pending").count() == 0
    assert "Flow SEM" in page.locator("#upcoming").inner_text()
    _log_out(page)

    # The member sees it confirmed, and has the e-mail.
    _log_in(page, member)
    page.goto("/bookings")
    row = page.locator("#upcoming tr[data-booking]", has_text="Flow SEM")
    assert "confirmed" in row.inner_text()
    subjects = [m["Subject"] for m in smtp.to(member.email)]
    assert any("confirmed" in s for s in subjects), subjects
    assert errors == []
