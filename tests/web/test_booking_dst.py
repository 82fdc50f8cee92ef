"""The autumn clock change seen from the booking form and the calendar: a wall-clock time
that happens twice is refused with both instants named until the person chooses one; the
price counts the real hours and says why; the calendar's slots carry which occurrence they
are, and its "your time" hint is computed per slot, not once per week."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, Booking, OutboxEmail
from tests.fixtures.auth import csrf_from
from tests.fixtures.factories import PASSWORD

AUTUMN = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)  # the Tuesday before the change


@pytest.fixture
def night_lab(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    """A Berlin lab open every night 00:00–06:00 and every morning 08:00–10:00, with an
    hourly instrument (SME €120); an SME member; the clock five days before the change."""
    frozen_clock.move_to(AUTUMN)
    lab = make_lab(timezone="Europe/Berlin", requires_approval=True, min_lead_hours=0,
                   max_advance_days=60, hours=((0, 6), (8, 10)), weekdays=range(7))
    item = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4)
    make_user(manages=(lab,))  # a managed lab takes bookings (rule 8)
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    return lab, item, member


def _post(client, url, data):
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _written(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))  # type: ignore
                     for m in (Booking, AuditEvent, OutboxEmail))


def test_an_ambiguous_autumn_time_is_refused_naming_both_instants(app, client, login,
                                                                   night_lab):
    _lab, item, member = night_lab
    login(member)
    before = _written(app)
    response = _post(client, f"/equipment/{item.id}/book",
                     {"start_at": "2026-10-25T02:00", "end_at": "2026-10-25T03:00",
                      "purpose": "Night run"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "2026-10-25 02:00 happens twice in Europe/Berlin" in html
    assert "02:00 CEST = 00:00 UTC" in html and "02:00 CET = 01:00 UTC" in html
    assert 'name="start_fold"' in html and 'type="radio"' in html  # the choice is offered
    assert 'value="2026-10-25T02:00"' in html and "Night run" in html  # input kept
    assert _written(app) == before


@pytest.mark.parametrize(("fold", "hours", "total", "utc_start"),
                         [("1", 1, "€120", datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
                          ("0", 2, "€240", datetime(2026, 10, 25, 0, 0, tzinfo=UTC))])
def test_the_chosen_occurrence_is_priced_and_stored_as_meant(app, client, login, night_lab,
                                                             fold, hours, total, utc_start):
    _lab, item, member = night_lab
    login(member)
    url = f"/equipment/{item.id}/book"
    data = {"start_at": "2026-10-25T02:00", "end_at": "2026-10-25T03:00",
            "start_fold": fold, "purpose": "Night run"}
    preview = _post(client, url, data)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and total in html
    assert f"{hours} hour{'s' if hours > 1 else ''} ×" in html
    if hours == 2:  # the first 02:00 to 03:00 spans the change: said, not silent
        assert ("The clocks go back during this booking: 02:00 CEST to 03:00 CET is 2 hours."
                in html)
    else:
        assert "The clocks go back" not in html
    assert f'value="{fold}" checked' in html  # the choice is still shown at step 2
    sent = _post(client, url, {**data, "confirm": "1"})
    assert sent.status_code == 302
    with app.app_context():
        booking = db.session.scalars(select(Booking)).one()
        assert booking.start_at == utc_start
        assert booking.end_at == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
        assert booking.units == hours and f"€{booking.price_estimate:.0f}" == total


def test_a_fold_that_is_neither_first_nor_second_is_refused(app, client, login, night_lab):
    _lab, item, member = night_lab
    login(member)
    before = _written(app)
    response = _post(client, f"/equipment/{item.id}/book",
                     {"start_at": "2026-10-25T02:00", "end_at": "2026-10-25T03:00",
                      "start_fold": "2"})
    assert response.status_code == 422
    assert "Choose the first or the second occurrence" in response.get_data(as_text=True)
    assert _written(app) == before


def test_ordinary_times_need_no_choice_and_ignore_a_stray_fold(app, client, login, night_lab):
    _lab, item, member = night_lab
    login(member)
    response = _post(client, f"/equipment/{item.id}/book",
                     {"start_at": "2026-10-26T08:00", "end_at": "2026-10-26T09:00",
                      "start_fold": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "€120" in html and 'type="radio"' not in html


def test_the_calendar_slots_carry_which_occurrence_they_are(app, client, night_lab):
    _lab, item, _member = night_lab
    week = client.get(f"/equipment/{item.id}/availability.json?week=2026-10-19").get_json()
    sunday = week["days"][6]
    assert sunday["date"] == "2026-10-25"
    slots = {s["local_start"][11:]: s for s in sunday["slots"]}
    # The 02:00 row is the first 02:00 to 03:00: two real hours, as the booking form prices.
    assert slots["02:00"]["start"] == "2026-10-25T00:00:00+00:00"
    assert slots["02:00"]["end"] == "2026-10-25T02:00:00+00:00"
    assert slots["02:00"]["start_fold"] == 0 and slots["02:00"]["end_fold"] is None
    assert slots["01:00"]["end_fold"] == 0 and slots["01:00"]["start_fold"] is None
    monday = {s["local_start"][11:]: s for s in week["days"][0]["slots"]}
    assert monday["02:00"]["start_fold"] is None


def test_the_calendar_link_keeps_the_occurrence_on_the_form(app, client, login, night_lab):
    _lab, item, member = night_lab
    login(member)
    html = client.get(f"/equipment/{item.id}/book?start_at=2026-10-25T02:00"
                      "&end_at=2026-10-25T03:00&start_fold=0").get_data(as_text=True)
    assert 'value="0" checked' in html and "02:00 CEST = 00:00 UTC" in html


@pytest.mark.browser
def test_the_your_time_hint_follows_each_days_offset(live_server, chromium, night_lab):
    """A viewer in UTC looks at the week of the Berlin change: 08:00 Berlin is 06:00 UTC
    Monday to Saturday but 07:00 UTC on Sunday, after the clocks went back."""
    _lab, item, member = night_lab
    context = chromium.new_context(base_url=live_server.url, timezone_id="UTC")
    try:
        page = context.new_page()
        page.goto(f"/equipment/{item.id}")
        page.locator("#booking-calendar[data-state=ready]").wait_for()
        header = page.locator("#booking-calendar tbody tr", has_text="08:00").first
        assert "06:00 yours" in header.locator("th").inner_text()
        cells = header.locator("td")
        assert "07:00 yours" in cells.nth(6).inner_text()  # Sunday 25 October
        assert cells.nth(0).locator(".calendar-own-time").count() == 0  # Monday: as the row
        # The first 02:00 on Sunday opens the form with that occurrence chosen.
        page.goto("/login")
        page.get_by_label("E-mail address").fill(member.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        page.goto(f"/equipment/{item.id}/book?start_at=2026-10-19T08:00")
        page.locator("#booking-calendar[data-state=ready]").wait_for()
        page.locator('button[data-start="2026-10-25T02:00"]').click()
        assert page.locator("#start_fold").input_value() == "0"
        page.get_by_role("button", name="Check availability and price").click()
        assert "is 2 hours" in page.locator("#quote").inner_text()
    finally:
        context.close()
