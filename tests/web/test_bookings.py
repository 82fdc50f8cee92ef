"""The company member's booking pages: the two-step form, refusals on their fields with the
input kept, "My bookings", the booking page, cancelling (also by the one-click link) and .ics."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from labnet import security
from labnet.extensions import db
from labnet.models import Booking, Lab, User
from labnet.services.booking import engine as service
from tests.fixtures.auth import csrf_from
from tests.fixtures.berlin import APPROVING, BERLIN, NOW, SPLIT_DAY, berlin
from tests.fixtures.factories import PASSWORD


@pytest.fixture
def setup(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    """A Berlin lab open Mon–Fri 08–12 and 13–17 that approves requests, an hourly SEM
    (SME €120, industry €150, 30 min set-up), an SME member and a large company's member."""
    lab = make_lab(**APPROVING, hold_hours=48, cancel_deadline_hours=24, hours=SPLIT_DAY)
    sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4, buffer_minutes=30)

    class S:
        pass

    s = S()
    s.lab, s.sem = lab, sem
    s.manager = make_user(manages=(lab,))
    s.member = make_user(organisation=make_org(kind="company", size_class="small"))
    s.large = make_user(organisation=make_org(kind="company", size_class="large"))
    return s


def book(app, user, equipment, start, end, purpose="Imaging of coated samples") -> int:
    with app.test_request_context():
        b = service.request_booking(db.session.get(User, user.id), equipment.id, start, end,
                                    purpose, now=NOW)
        db.session.commit()
        return b.id


def form_post(client, url, data):
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def booking_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Booking.id)))


def test_member_checks_the_price_then_sends_a_pending_request(app, client, login, setup):
    login(setup.member)
    url = f"/equipment/{setup.sem.id}/book"
    page = client.get(url).get_data(as_text=True)
    assert "Check availability and price" in page and "The lab approves each request" in page
    data = {"start_at": "2026-03-11T09:00", "end_at": "2026-03-11T11:00",
            "purpose": "Imaging of coated samples"}
    step1 = form_post(client, url, data)
    html = step1.get_data(as_text=True)
    assert step1.status_code == 200
    assert "Send the request" in html and "SME rate" in html and "€240" in html
    assert 'name="confirm" type="hidden" value="1"' in html
    assert booking_count(app) == 0  # nothing written before the second step
    step2 = form_post(client, url, {**data, "confirm": "1"})
    assert step2.status_code == 302
    detail = client.get(step2.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "pending" in detail and "Held until" in detail and "€240" in detail
    assert "requested" in detail  # the history from the audit trail


def test_lab_without_approval_confirms_at_once(app, client, login, setup):
    with app.app_context():
        db.session.get(Lab, setup.lab.id).requires_approval = False
        db.session.commit()
    login(setup.large)
    url = f"/equipment/{setup.sem.id}/book"
    response = form_post(client, url, {"start_at": "2026-03-04 09:00", "end_at":
                                       "2026-03-04 10:00", "purpose": "Tests", "confirm": "1"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "confirmed" in page and "industry rate" in page and "€150" in page


@pytest.mark.parametrize(("company", "words"), [("member", "SME rate"),
                                                 ("large", "industry rate")])
def test_price_preview_uses_the_organisations_rate(app, client, login, setup, company, words):
    login(getattr(setup, company))
    response = form_post(client, f"/equipment/{setup.sem.id}/book",
                         {"start_at": "2026-03-04T09:00", "end_at": "2026-03-04T12:00"})
    html = response.get_data(as_text=True)
    total = "€360" if company == "member" else "€450"
    assert words in html and total in html and "3 hours" in html


@pytest.mark.parametrize(
    ("start", "end", "purpose", "confirm", "field", "words"),
    [
        ("2026-03-04T07:00", "2026-03-04T09:00", "x", "", "start_at", "Outside opening hours"),
        ("2026-03-02T14:00", "2026-03-02T15:00", "x", "", "start_at", "Too soon"),
        ("2026-06-01T09:00", "2026-06-01T10:00", "x", "", "start_at", "Too far ahead"),
        ("2026-03-04T08:00", "2026-03-04T13:00", "x", "", "end_at", "Too long"),
        ("2026-03-04T09:30", "2026-03-04T10:30", "x", "", "start_at", "on the hour"),
        ("2026-03-04T10:00", "2026-03-04T09:00", "x", "", "end_at", "after the start"),
        ("2026-03-04T09:00", "2026-03-04T10:00", "  ", "1", "purpose", "what the booking is for"),
        ("2026-03-29T02:30", "2026-03-29T04:00", "x", "", "start_at", "does not exist"),
        ("next tuesday", "2026-03-04T10:00", "x", "", "start_at", "Not a valid datetime"),
        ("0001-01-01T00:00", "2026-03-04T10:00", "x", "", "start_at", "between the years"),
        ("2026-03-04T09:00", "", "x", "", "end_at", "Enter the end"),
        ("2026-03-04T09:00", "2026-03-04T10:00", "x" * 2001, "1", "purpose", "2000"),
    ],
)
def test_each_refusal_names_its_field_and_keeps_the_input(app, client, login, setup, start, end,
                                                          purpose, confirm, field, words):
    login(setup.member)
    response = form_post(client, f"/equipment/{setup.sem.id}/book",
                         {"start_at": start, "end_at": end, "purpose": purpose,
                          "confirm": confirm})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-field="{field}"' in html
    feedback = html.split(f'data-field="{field}">', 1)[1].split("</div>", 1)[0]
    assert words in feedback
    assert f'value="{start}"' in html and f'value="{end}"' in html
    assert 'name="confirm" type="hidden" value=""' in html
    assert booking_count(app) == 0


def test_equipment_in_maintenance_is_refused_on_the_form(app, client, login, setup,
                                                         make_equipment):
    broken = make_equipment(setup.lab, status="maintenance")
    login(setup.member)
    response = form_post(client, f"/equipment/{broken.id}/book",
                         {"start_at": "2026-03-04T09:00", "end_at": "2026-03-04T10:00"})
    assert response.status_code == 422
    assert "not available for booking" in response.get_data(as_text=True)


def test_a_slot_taken_after_the_price_was_shown_says_so(app, client, login, setup):
    login(setup.member)
    url = f"/equipment/{setup.sem.id}/book"
    data = {"start_at": "2026-03-04T09:00", "end_at": "2026-03-04T10:00", "purpose": "x"}
    assert form_post(client, url, data).status_code == 200
    book(app, setup.large, setup.sem, berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10))
    response = form_post(client, url, {**data, "confirm": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "just taken" in html and 'value="2026-03-04T09:00"' in html
    assert booking_count(app) == 1


def test_my_bookings_lists_only_my_organisation(app, client, login, setup):
    mine = book(app, setup.member, setup.sem, berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10))
    theirs = book(app, setup.large, setup.sem, berlin(2026, 3, 5, 9), berlin(2026, 3, 5, 10))
    login(setup.member)
    html = client.get("/bookings").get_data(as_text=True)
    assert f"LN-2026-{mine:06d}" in html and f"LN-2026-{theirs:06d}" not in html
    assert "Upcoming" in html and "pending" in html


def test_another_organisations_booking_is_not_found(app, client, login, setup):
    theirs = book(app, setup.large, setup.sem, berlin(2026, 3, 5, 9), berlin(2026, 3, 5, 10))
    login(setup.member)
    assert client.get(f"/bookings/{theirs}").status_code == 404
    assert client.get(f"/bookings/{theirs}.ics").status_code == 404
    token = csrf_from(client.get("/bookings").get_data(as_text=True))
    response = client.post(f"/bookings/{theirs}/cancel", data={"csrf_token": token})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Booking, theirs).status == "pending"


def test_cancel_before_the_deadline(app, client, login, setup):
    with app.app_context():
        db.session.get(Lab, setup.lab.id).requires_approval = False
        db.session.commit()
    booking_id = book(app, setup.member, setup.sem, berlin(2026, 3, 5, 9),
                      berlin(2026, 3, 5, 10))
    login(setup.member)
    token = csrf_from(client.get(f"/bookings/{booking_id}").get_data(as_text=True))
    response = client.post(f"/bookings/{booking_id}/cancel",
                           data={"csrf_token": token, "reason": "Plans changed"})
    assert response.status_code == 302
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "cancelled" in page and "Plans changed" in page


def test_cancel_after_the_deadline_is_refused(app, client, login, setup, frozen_clock):
    with app.app_context():
        db.session.get(Lab, setup.lab.id).requires_approval = False
        db.session.commit()
    booking_id = book(app, setup.member, setup.sem, berlin(2026, 3, 5, 9),
                      berlin(2026, 3, 5, 10))
    frozen_clock.move_to(berlin(2026, 3, 4, 10))  # 23 hours before the start
    login(setup.member)
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'id="cancel-closed"' in page
    token = csrf_from(page)
    response = client.post(f"/bookings/{booking_id}/cancel",
                           data={"csrf_token": token, "reason": "Too late?"})
    assert response.status_code == 422
    assert "Too late to cancel" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == "confirmed"


def test_one_click_cancel_link_works_without_logging_in(app, client, setup):
    booking_id = book(app, setup.member, setup.sem, berlin(2026, 3, 5, 9),
                      berlin(2026, 3, 5, 10))
    with app.test_request_context():
        token = security.make_token("labnet.cancel-booking", {"b": booking_id})
    url = f"/bookings/cancel/{token}"
    page = client.get(url)
    assert page.status_code == 200 and "Cancel the booking" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == "pending"  # GET only asks
    response = client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 200 and 'id="cancelled"' in response.get_data(as_text=True)
    with app.app_context():
        b = db.session.get(Booking, booking_id)
        assert (b.status, b.decided_by_id) == ("cancelled", setup.member.id)
    assert client.get("/bookings/cancel/forged").status_code == 400


def test_cancel_link_expires_after_30_days(app, client, setup, frozen_clock):
    booking_id = book(app, setup.member, setup.sem, berlin(2026, 4, 20, 9),
                      berlin(2026, 4, 20, 10))
    with app.test_request_context():
        token = security.make_token("labnet.cancel-booking", {"b": booking_id})
    frozen_clock.move_to(NOW + timedelta(days=31))
    assert client.get(f"/bookings/cancel/{token}").status_code == 400


def test_ics_parses_back_with_uid_sequence_tzid_and_status(app, client, login, setup):
    booking_id = book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9),
                      berlin(2026, 3, 11, 11), purpose="Line one\nLine two; <b>not markup</b>")
    login(setup.member)
    response = client.get(f"/bookings/{booking_id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == f"booking-{booking_id}@labnet"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTART"].params["TZID"] == BERLIN
    assert event["DTSTART"].dt == berlin(2026, 3, 11, 9)
    assert event["DTEND"].dt == berlin(2026, 3, 11, 11)
    assert str(event["STATUS"]) == "TENTATIVE"
    assert "Line two; <b>not markup</b>" in str(event["DESCRIPTION"])
    assert cal.walk("VTIMEZONE")[0]["TZID"] == BERLIN
    with app.test_request_context():
        service.cancel_booking(db.session.get(User, setup.member.id), booking_id, "", now=NOW)
        db.session.commit()
    event = Calendar.from_ical(client.get(f"/bookings/{booking_id}.ics").data).walk("VEVENT")[0]
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCELLED", 1)


def test_equipment_page_shows_policy_rates_and_calendar(app, client, setup):
    html = client.get(f"/equipment/{setup.sem.id}").get_data(as_text=True)
    assert "The lab approves each request" in html and "at least 24 hours" in html
    assert "until 24 hours before the start" in html and "€120" in html
    assert f'/equipment/{setup.sem.id}/availability.json' in html
    assert "js/calendar.js" in html and f"/equipment/{setup.sem.id}/book" in html


def test_booking_form_needs_a_login(client, setup):
    response = client.get(f"/equipment/{setup.sem.id}/book")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_availability_json_marks_busy_without_personal_data(app, client, setup):
    book(app, setup.member, setup.sem, berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10),
         purpose="Secret project")
    response = client.get(f"/equipment/{setup.sem.id}/availability.json?week=2026-03-04")
    data = response.get_json()
    assert data["week"] == "2026-03-02" and data["zone"] == BERLIN and data["unit"] == "hour"
    wednesday = {s["local_start"][11:]: s["state"] for s in data["days"][2]["slots"]}
    assert wednesday["09:00"] == "busy" and wednesday["12:00"] == "closed"
    assert wednesday["10:00"] == "busy"  # its 30-minute set-up would overlap
    assert wednesday["11:00"] == "open"
    assert "Secret" not in response.get_data(as_text=True)
    bad = client.get(f"/equipment/{setup.sem.id}/availability.json?week=soon")
    assert bad.status_code == 422 and "week" in bad.get_json()["errors"]


@pytest.mark.browser
def test_calendar_click_fills_the_form_and_the_request_is_sent(live_server, page, setup):
    """Chromium: the week grid loads under the CSP, a click on a free slot fills start and
    end, and the two steps book it."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login")
    page.get_by_label("E-mail address").fill(setup.member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(f"/equipment/{setup.sem.id}")
    page.locator("#booking-calendar[data-state=ready]").wait_for()
    assert page.locator("#booking-calendar [data-state=busy]").count() == 0
    page.goto(f"/equipment/{setup.sem.id}/book")
    page.locator("#booking-calendar[data-state=ready]").wait_for()
    page.locator('button[data-start="2026-03-04T09:00"]').click()
    page.locator('button[data-start="2026-03-04T10:00"]').click()  # extends the end
    assert page.locator("#start_at").input_value() == "2026-03-04T09:00"
    assert page.locator("#end_at").input_value() == "2026-03-04T11:00"
    page.get_by_label("Purpose").fill("Imaging of coated samples")
    page.get_by_role("button", name="Check availability and price").click()
    assert "€240" in page.locator("#quote").inner_text()
    page.get_by_role("button", name="Send the request").click()
    assert page.locator("#status").inner_text() == "pending"
    page.get_by_role("link", name="My bookings").first.click()
    page.locator("#upcoming").wait_for()
    assert errors == []


@pytest.mark.browser
def test_calendar_shows_the_viewers_own_zone_when_it_differs(live_server, chromium, setup):
    context = chromium.new_context(base_url=live_server.url, timezone_id="Europe/Lisbon")
    try:
        page = context.new_page()
        page.goto(f"/equipment/{setup.sem.id}")
        page.locator("#booking-calendar[data-state=ready]").wait_for()
        text = page.locator("#booking-calendar").inner_text()
        assert "Europe/Lisbon" in text and "Europe/Berlin" in text
        assert "07:00 yours" in text  # the 08:00 Berlin row, an hour earlier in Lisbon
    finally:
        context.close()


def _set_status(app, booking_id: int, status: str) -> None:
    with app.app_context():
        db.session.get(Booking, booking_id).status = status
        db.session.commit()


def _row_ids(html: str, table_id: str) -> set[int]:
    if f'id="{table_id}"' not in html:
        return set()
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return {int(n) for n in re.findall(r'data-booking="(\d+)"', table)}


def test_my_bookings_lists_only_active_future_bookings_as_upcoming_with_a_calendar_link(
        app, client, login, setup, frozen_clock):
    day = [berlin(2026, 3, d, 9) for d in (4, 5, 6, 9, 10, 11)]
    ids = {status: book(app, setup.member, setup.sem, start, start + timedelta(hours=1))
           for status, start in zip(("pending", "confirmed", "rejected", "cancelled",
                                     "expired", "no_show"), day, strict=True)}
    for status in ("confirmed", "rejected", "cancelled", "expired", "no_show"):
        _set_status(app, ids[status], status)
    login(setup.member)
    html = client.get("/bookings").get_data(as_text=True)
    assert _row_ids(html, "upcoming") == {ids["pending"], ids["confirmed"]}
    assert _row_ids(html, "past") == {ids[s] for s in ("rejected", "cancelled", "expired",
                                                        "no_show")}
    assert "Past / closed" in html
    calendar_links = {int(n) for n in re.findall(r'data-ics="(\d+)"', html)}
    assert calendar_links == {ids["pending"], ids["confirmed"]}
    # The closed bookings' own pages offer neither the calendar file nor a cancel button.
    for status in ("rejected", "cancelled"):
        page = client.get(f"/bookings/{ids[status]}").get_data(as_text=True)
        assert 'id="ics"' not in page and 'id="cancel-form"' not in page
    page = client.get(f"/bookings/{ids['pending']}").get_data(as_text=True)
    assert 'id="ics"' in page and 'id="cancel-form"' in page

    # Once they have ended (before any job completes or expires them), they are past.
    frozen_clock.move_to(berlin(2026, 3, 5, 11))
    login(setup.member)  # the session of three days ago has expired
    html = client.get("/bookings").get_data(as_text=True)
    assert _row_ids(html, "upcoming") == set() and "No upcoming bookings." in html
    assert {ids["pending"], ids["confirmed"]} <= _row_ids(html, "past")
    page = client.get(f"/bookings/{ids['confirmed']}").get_data(as_text=True)
    assert 'id="ics"' not in page and 'id="cancel-form"' not in page
