"""Training that qualifies, in Chromium: a person joins the waiting list of a full course,
the one holding the seat cancels, the first person accepts the seat offered by e-mail, the
organiser marks attendance on both sessions and issues certificates, the certificate
appears in "My training" with the qualification, and the person books the equipment the
course qualified them for (refused before it)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest

from labnet import clock
from labnet.extensions import db
from labnet.models import OpeningHours, User
from labnet.services.booking.availability import local_to_utc, utc_to_local
from labnet.services.training import qualifications, registration
from tests.browser.test_booking_flow import _log_in, _log_out, _watch_for_errors

pytestmark = pytest.mark.browser

ZONE = "Europe/Berlin"


def test_waiting_list_offer_attendance_certificate_then_booking(
    smtp, live_server, page, app, make_lab, make_equipment, make_user, make_course,
    make_qualification,
):
    lab = make_lab(timezone=ZONE, requires_approval=False, min_lead_hours=0, name="Course Lab")
    with app.app_context():
        for day in range(7):
            db.session.add(OpeningHours(lab_id=lab.id, weekday=day, opens_at=time(8),
                                        closes_at=time(18)))
        db.session.commit()
    sem = make_equipment(lab, mode="self_service", booking_unit="hour", min_units=1,
                         max_units=8, name="Course SEM")
    q = make_qualification(lab, "SEM operation", validity_months=24)
    manager = make_user(manages=(lab,), full_name="Olga Organiser")
    ada = make_user(full_name="Ada Waiting")
    ben = make_user(full_name="Ben Seated")
    today = utc_to_local(clock.utcnow(), ZONE).date()
    day1, day2 = today + timedelta(days=7), today + timedelta(days=8)
    sessions = [(local_to_utc(datetime.combine(d, time(9)), ZONE),
                 local_to_utc(datetime.combine(d, time(12)), ZONE)) for d in (day1, day2)]
    course = make_course(lab, sessions, capacity=1, grants=(q,), title="SEM operator course",
                         slug="sem-operator-course")
    with app.app_context():
        registration.register(db.session.get_one(User, ben.id), course.id, {},
                              now=clock.utcnow())
        db.session.commit()
    with app.app_context():
        qualifications.set_required_equipment(db.session.get_one(User, manager.id), q.id,
                                              [sem.id], now=clock.utcnow())
        db.session.commit()
    errors = _watch_for_errors(page)

    # Ada finds the course full and joins the waiting list.
    _log_in(page, ada)
    page.goto("/events/sem-operator-course/register")
    page.locator("#full").wait_for()
    page.get_by_role("button", name="Join the waiting list").click()
    page.locator("#position").wait_for()
    assert "number 1" in page.locator("#position").inner_text()
    # Before the course she may not book the instrument it qualifies for.
    page.goto(f"/equipment/{sem.id}/book")
    page.get_by_label("Start (lab time)").fill(f"{(today + timedelta(days=10)).isoformat()}T10:00")
    page.get_by_label("End (lab time)").fill(f"{(today + timedelta(days=10)).isoformat()}T12:00")
    page.get_by_label("Purpose").fill("Imaging")
    page.get_by_role("button", name="Check availability and price").click()
    page.get_by_text("requires a qualification").wait_for()
    assert "SEM operator course" in page.locator("main").inner_text()
    # That refusal is a 422 page (the browser logs it): nothing else may go wrong.
    assert all("422" in e for e in errors), errors
    errors.clear()
    _log_out(page)

    # Ben cancels from "My training".
    _log_in(page, ben)
    page.goto("/account/training")
    page.get_by_role("link", name="SEM operator course").click()
    page.get_by_role("button", name="Cancel my registration").click()
    page.get_by_text("Cancelled.").wait_for()
    _log_out(page)

    # Ada follows the e-mail's link and accepts the seat.
    [offer] = [m for m in smtp.to(ada.email) if "A seat is free" in m["Subject"]]
    link = re.search(r"http://127\.0\.0\.1:\d+/registrations/\d+", smtp.text(offer)).group(0)
    _log_in(page, ada)
    page.goto(link)
    page.get_by_role("button", name="Accept the seat").click()
    page.get_by_text("The seat is yours").wait_for()
    _log_out(page)

    # The organiser marks her present on both sessions and issues the certificates.
    _log_in(page, manager)
    page.goto("/events/sem-operator-course/check-in")
    for i in range(2):
        page.locator("#sessions a").nth(i).click()
        row = page.locator("#check-in-list li", has_text="Ada Waiting")
        row.get_by_role("button", name="Mark present").click()
        page.locator("#check-in-list li", has_text="Ada Waiting").get_by_role(
            "button", name="Present ✓").wait_for()
    page.goto("/events/sem-operator-course/registrations")
    page.get_by_role("button", name="Issue certificates of attendance").click()
    page.get_by_text("Certificates issued.").wait_for()
    _log_out(page)

    # Ada sees the certificate and the qualification, and books the instrument.
    _log_in(page, ada)
    page.goto("/account/training")
    assert "SEM operation" in page.locator("#qualifications").inner_text()
    page.locator("#certificates").get_by_role("link", name="SEM operator course").click()
    assert "Ada Waiting" in page.locator("#holder").inner_text()
    page.goto(f"/equipment/{sem.id}/book")
    page.get_by_label("Start (lab time)").fill(f"{(today + timedelta(days=10)).isoformat()}T10:00")
    page.get_by_label("End (lab time)").fill(f"{(today + timedelta(days=10)).isoformat()}T12:00")
    page.get_by_label("Purpose").fill("Imaging")
    page.get_by_role("button", name="Check availability and price").click()
    page.locator("#quote").wait_for()
    page.get_by_role("button", name=re.compile("Book|Send the request")).click()
    page.get_by_text("is confirmed").wait_for()
    assert errors == []
