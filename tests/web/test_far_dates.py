"""Far dates in query strings and forms: a field error or a clean 4xx, never a 500
(issue 10, item 9). One bounded parser (labnet/dates.py) reads every date from input."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models.booking import Blackout, Booking
from labnet.models.request import LabRequest
from tests.fixtures.auth import post_form
from tests.fixtures.berlin import berlin
from tests.web.test_lab_bookings import book, desk  # noqa: F401 (fixture)
from tests.web.test_requests import s  # noqa: F401 (fixture)

FAR = ("9999-12-31", "0001-01-01")
RANGE_TEXT = "between the years 2000 and 2100"


def field_error(html: str, field: str) -> str:
    found = re.findall(rf'data-field="{field}">([^<]*)<', html)
    return " ".join(found)


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- dashboard ------------------------------------------------------------------------------


@pytest.fixture
def coordinator(client, make_user, quick_login):
    from labnet.models import Role

    quick_login(client, make_user(roles=(Role.COORDINATOR,)))


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("field", ["from", "to"])
def test_dashboard_far_date_names_the_field(client, coordinator, day, field):
    other = {"from": "2026-01-01", "to": "2026-02-01"}
    response = client.get("/dashboard?" + urlencode({**other, field: day}))
    assert response.status_code == 422
    assert RANGE_TEXT in field_error(response.get_data(as_text=True), field)


def test_dashboard_whole_period_in_9999_is_a_field_error(client, coordinator):
    response = client.get("/dashboard?from=9999-01-01&to=9999-12-31")
    assert response.status_code == 422
    assert RANGE_TEXT in field_error(response.get_data(as_text=True), "from")


@pytest.mark.parametrize("query", ["from=9999-01-01&to=9999-12-31",
                                   "from=0001-01-01&to=0001-12-31"])
def test_dashboard_csv_with_far_dates_is_a_clean_422(client, coordinator, query):
    response = client.get(f"/dashboard/demand.csv?{query}")
    assert response.status_code == 422
    assert "from" in response.get_data(as_text=True)


# --- the manager's calendar, blackouts, shortening ------------------------------------------


@pytest.mark.parametrize("day", FAR)
def test_manager_calendar_far_week_is_a_clean_400(client, login, desk, day):  # noqa: F811
    login(desk.manager)
    response = client.get(f"/manage/bookings/labs/{desk.lab.slug}/calendar?week={day}")
    assert response.status_code == 400
    assert RANGE_TEXT in response.get_data(as_text=True)


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("field", ["start_at", "end_at"])
def test_blackout_in_a_far_year_is_refused_on_its_field(app, client, login, desk, day,  # noqa: F811
                                                       field):
    login(desk.manager)
    data = {"equipment_id": str(desk.sem.id), "start_at": "2026-03-12T00:00",
            "end_at": "2026-03-13T00:00", "reason": "Holidays"}
    data[field] = f"{day}T08:00"
    response = post_form(client, f"/manage/bookings/labs/{desk.lab.slug}/blackouts", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert RANGE_TEXT in field_error(html, field)
    assert f'value="{day}T08:00"' in html and 'value="Holidays"' in html
    assert rows(app, Blackout) == 0


def test_blackout_service_refuses_a_far_year(app, desk):  # noqa: F811
    from labnet.errors import RuleViolation
    from labnet.models import User
    from labnet.services.booking import engine as service

    with app.test_request_context():
        manager = db.session.get(User, desk.manager.id)
        with pytest.raises(RuleViolation) as refused:
            service.add_blackout(manager, desk.lab.id, desk.sem.id, berlin(9999, 1, 1, 0),
                                 berlin(9999, 1, 2, 0), "Far", now=desk.now)
    assert refused.value.field == "start_at"
    assert rows(app, Blackout) == 0


@pytest.mark.parametrize("day", FAR)
def test_shorten_with_a_far_date_names_the_field(app, client, login, desk, day):  # noqa: F811
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 13),
               approve=True)
    login(desk.manager)
    response = post_form(client, f"/manage/bookings/{bid}/shorten",
                         {"start_at": "2026-03-11T10:00", "end_at": f"{day}T12:00"})
    assert response.status_code == 422
    assert RANGE_TEXT in field_error(response.get_data(as_text=True), "end_at")
    with app.app_context():
        assert db.session.get(Booking, bid).end_at == berlin(2026, 3, 11, 13)


# --- booking, availability, search ----------------------------------------------------------


@pytest.mark.parametrize("day", FAR)
def test_booking_with_a_far_date_names_the_field(app, client, login, desk, day):  # noqa: F811
    login(desk.member)
    url = f"/equipment/{desk.sem.id}/book"
    response = post_form(client, url, {"start_at": f"{day}T09:00", "end_at": "2026-03-11T10:00",
                                       "purpose": "Imaging"})
    assert response.status_code == 422
    assert RANGE_TEXT in field_error(response.get_data(as_text=True), "start_at")
    assert rows(app, Booking) == 0
    prefill = client.get(f"{url}?start_at={day}T09:00&end_at={day}T10:00")
    assert prefill.status_code == 200


@pytest.mark.parametrize("day", FAR)
def test_equipment_week_far_date_is_a_json_422(client, desk, day):  # noqa: F811
    response = client.get(f"/equipment/{desk.sem.id}/availability.json?week={day}")
    assert response.status_code == 422
    assert "week" in response.get_json()["errors"]


@pytest.mark.parametrize("day", FAR)
def test_search_availability_far_date_names_the_field(client, desk, day):  # noqa: F811
    response = client.get(f"/labs?available_from={day}&available_to={day}&hours=2")
    assert response.status_code < 500
    # The search's own window (today to two years ahead) says why, on the field.
    assert "The availability filter was left out" in response.get_data(as_text=True)


# --- requests -------------------------------------------------------------------------------


@pytest.mark.parametrize("day", FAR)
def test_request_deadline_far_date_names_the_field(app, client, login, s, day):  # noqa: F811
    login(s.member)
    response = post_form(client, "/requests/new", {
        "kind": "service", "lab": "beta-lab", "title": "Salt-spray test",
        "summary": "ISO 9227, 480 h", "quantity": "12 coated panels", "deadline": day},
        page="/requests/new?kind=service&lab=beta-lab")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert RANGE_TEXT in field_error(html, "deadline")
    assert 'value="Salt-spray test"' in html
    assert rows(app, LabRequest) == 0
