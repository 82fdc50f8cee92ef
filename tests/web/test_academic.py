"""Academic rates from the user's side: a lab manager sets an optional academic rate per
equipment; members of universities, research or technology organisations and public
bodies see it on the equipment page and are priced at it; without one they pay the
industry rate, and companies keep their SME or industry rate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import Booking, Equipment
from tests.fixtures.auth import login_as, post_form
from tests.fixtures.berlin import APPROVING
from tests.web.test_manage import equipment_form


@pytest.fixture
def campus(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    class C:
        pass

    c = C()
    c.lab = make_lab(**APPROVING, hours=((8, 17),), name="Campus Lab")
    c.sem = make_equipment(c.lab, booking_unit="hour", max_units=8, name="Campus SEM",
                           rate_academic=Decimal("60.00"))
    c.ct = make_equipment(c.lab, booking_unit="hour", max_units=8, name="Campus CT")
    c.manager = make_user(manages=(c.lab,))
    c.professor = make_user(organisation=make_org(kind="university", size_class=None,
                                                  name="Politechnika Łódzka"))
    c.institute = make_user(organisation=make_org(kind="public_body", size_class=None))
    c.cluster = make_user(organisation=make_org(kind="cluster", size_class=None))
    c.sme = make_user(organisation=make_org(kind="company", size_class="small"))
    return c


def _client(app, user):
    client = app.test_client()
    login_as(client, user)
    return client


def test_manager_sets_and_clears_an_academic_rate(app, campus):
    client = _client(app, campus.manager)
    url = f"/manage/equipment/{campus.ct.id}"
    assert "Academic rate per unit (optional)" in client.get(url).get_data(as_text=True)
    data = equipment_form(name="Campus CT", category_code="sem", rate_academic="45.50")
    assert post_form(client, url, data).status_code == 302
    with app.app_context():
        assert db.session.get(Equipment, campus.ct.id).rate_academic == Decimal("45.50")
    assert 'value="45.50"' in client.get(url).get_data(as_text=True)
    assert post_form(client, url, {**data, "rate_academic": ""}).status_code == 302
    with app.app_context():
        assert db.session.get(Equipment, campus.ct.id).rate_academic is None


@pytest.mark.parametrize(("value", "words"), [("-1", "cannot be negative"),
                                              ("cheap", "Not a valid decimal"),
                                              ("2500000", "not a plausible rate")])
def test_a_bad_academic_rate_is_named_and_nothing_changes(app, campus, value, words):
    client = _client(app, campus.manager)
    url = f"/manage/equipment/{campus.ct.id}"
    response = post_form(client, url, equipment_form(name="Campus CT", category_code="sem",
                                                     rate_academic=value))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and words in html and f'value="{value}"' in html
    with app.app_context():
        assert db.session.get(Equipment, campus.ct.id).rate_academic is None


def test_equipment_page_shows_the_academic_rate_and_whose_rate_it_is(app, campus):
    professor = _client(app, campus.professor)
    page = professor.get(f"/equipment/{campus.sem.id}").get_data(as_text=True)
    assert "Academic: €60 per hour — your organisation's rate" in page
    assert "Your organisation books at the academic rate." in page
    without = professor.get(f"/equipment/{campus.ct.id}").get_data(as_text=True)
    assert "no academic rate (the industry rate applies)" in without
    assert "Industry: €150 per hour — your organisation's rate" in without
    sme = _client(app, campus.sme).get(f"/equipment/{campus.sem.id}").get_data(as_text=True)
    assert "Academic: €60 per hour" in sme and "academic rate." not in sme
    visitor = app.test_client().get(f"/equipment/{campus.sem.id}").get_data(as_text=True)
    assert "Academic: €60 per hour" in visitor


@pytest.mark.parametrize(("who", "item", "kind", "total"), [
    ("professor", "sem", "academic rate", "€120"),
    ("institute", "sem", "academic rate", "€120"),
    ("professor", "ct", "industry rate", "€300"),  # no academic rate: industry
    ("cluster", "sem", "industry rate", "€300"),  # clusters are not academic
    ("sme", "sem", "SME rate", "€240"),
])
def test_the_price_estimate_and_the_booking_use_the_organisations_rate(app, campus, who, item,
                                                                       kind, total):
    client = _client(app, getattr(campus, who))
    equipment = getattr(campus, item)
    url = f"/equipment/{equipment.id}/book"
    data = {"start_at": "2026-03-11T09:00", "end_at": "2026-03-11T11:00", "purpose": "Tests"}
    preview = post_form(client, url, data).get_data(as_text=True)
    assert f"({kind})" in preview and total in preview
    assert post_form(client, url, {**data, "confirm": "1"}).status_code == 302
    with app.app_context():
        booking = db.session.scalars(select(Booking)).one()
        assert f"€{booking.price_estimate:.0f}" == total
        assert booking.rate_kind == kind.split()[0].lower()
