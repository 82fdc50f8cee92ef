"""Final price on approval, usage on completion and the usage CSV for invoicing, from the
manager's and the customer's side: the price a manager confirms (the estimate unless they
say why), the confirmation e-mail and the booking page that show it, the hours used and
the amount charged on a completed booking, and the month's CSV per customer organisation
(UTF-8 with a BOM, another lab's bookings never in it)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, Booking, OutboxEmail, User
from labnet.services.booking import engine as service
from labnet.services.booking import reminders
from tests.fixtures.a11y import assert_no_refusal, assert_refused_input
from tests.fixtures.auth import login_as, post_form
from tests.fixtures.berlin import APPROVING, BERLIN, berlin


@pytest.fixture
def desk(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    """A Berlin lab needing approval (hourly SEM at SME €120; a day-booked furnace at SME
    €400), its manager, another lab's manager, and a customer called Łukasiewicz."""
    lab = make_lab(**APPROVING, hold_hours=48, name="Invoice Lab", hours=((8, 17),))
    other = make_lab(timezone=BERLIN, requires_approval=False, name="Elsewhere Lab",
                     hours=((8, 17),))

    class D:
        pass

    d = D()
    d.lab, d.other = lab, other
    d.sem = make_equipment(lab, booking_unit="hour", max_units=8, name="Invoice SEM")
    d.furnace = make_equipment(lab, booking_unit="day", max_units=5, name="Furnace",
                               rate_sme=Decimal(400), rate_industry=Decimal(500))
    d.foreign = make_equipment(other, booking_unit="hour", name="Elsewhere CT")
    d.manager = make_user(manages=(lab,))
    d.other_manager = make_user(manages=(other,))
    d.member = make_user(organisation=make_org(kind="company", size_class="small",
                                               name="Łukasiewicz Sp. z o.o."))
    d.now = frozen_clock.now
    return d


def _book(app, d, equipment, start, end) -> int:
    with app.test_request_context():
        b = service.request_booking(db.session.get(User, d.member.id), equipment.id, start,
                                    end, "Samples", now=d.now)
        db.session.commit()
        return b.id


def _as(app, user):
    """A fresh browser session logged in as ``user`` through the real form."""
    client = app.test_client()
    login_as(client, user)
    return client


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _booking(app, booking_id) -> Booking:
    with app.app_context():
        return db.session.get(Booking, booking_id)


def test_approval_at_the_estimate_is_the_default_and_shown(smtp, app, client, login, desk):
    bid = _book(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    client = _as(app, desk.manager)
    queue = client.get("/manage/bookings").get_data(as_text=True)
    assert f'id="final-price-{bid}"' in queue and 'value="240.00"' in queue
    response = post_form(client, f"/manage/bookings/{bid}/approve",
                         {"final_price": "240.00", "price_reason": ""},
                         page="/manage/bookings")
    assert response.status_code == 302
    booking = _booking(app, bid)
    assert booking.status == "confirmed" and booking.final_price == Decimal("240.00")
    assert booking.price_reason == ""


def test_approval_at_another_price_needs_a_reason_the_customer_reads(smtp, app, client, login,
                                                                    desk):
    bid = _book(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    client = _as(app, desk.manager)
    audits, mails = _count(app, AuditEvent), _count(app, OutboxEmail)
    refused = post_form(client, f"/manage/bookings/{bid}/approve", {"final_price": "200"},
                        page="/manage/bookings")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Tell the customer why the price differs from the estimate (240.00 EUR)" in html
    assert 'value="200"' in html  # the typed price is kept
    assert _booking(app, bid).status == "pending"
    assert (_count(app, AuditEvent), _count(app, OutboxEmail)) == (audits, mails)
    for bad, words in (("-5", "cannot be negative"), ("12.345", "in cents at most"),
                       ("lots", "Not a valid decimal")):
        response = post_form(client, f"/manage/bookings/{bid}/approve",
                             {"final_price": bad, "price_reason": "x"}, page="/manage/bookings")
        assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert _booking(app, bid).status == "pending"
    ok = post_form(client, f"/manage/bookings/{bid}/approve",
                   {"final_price": "200", "price_reason": "Long-standing partner discount"},
                   page="/manage/bookings")
    assert ok.status_code == 302
    mail = smtp.text(smtp.to(desk.member.email)[-1])
    assert "confirmed" in mail and "Agreed:    €200 excl. VAT" in mail
    assert "Long-standing partner discount" in mail
    client = _as(app, desk.member)
    page = client.get(f"/bookings/{bid}").get_data(as_text=True)
    assert 'id="final-price"' in page and "€200 excl. VAT" in page
    assert "Long-standing partner discount" in page


def test_another_labs_manager_cannot_set_the_price(app, client, login, desk):
    bid = _book(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    client = _as(app, desk.other_manager)
    response = post_form(client, f"/manage/bookings/{bid}/approve",
                         {"final_price": "1", "price_reason": "mine"}, page="/manage/bookings")
    assert response.status_code == 404
    assert _booking(app, bid).final_price is None


def _completed(app, d, equipment, start, end) -> int:
    """A booking approved at its estimate and completed by the hourly job."""
    bid = _book(app, d, equipment, start, end)
    with app.test_request_context():
        service.approve_booking(db.session.get(User, d.manager.id), bid, now=d.now)
        db.session.commit()
        reminders.complete_bookings(now=end + timedelta(hours=2))
        db.session.commit()
    assert _booking(app, bid).status == "completed"
    return bid


def test_manager_records_hours_used_and_the_charge_follows_the_rate(app, client, login, desk,
                                                                   frozen_clock):
    bid = _completed(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 12))
    frozen_clock.move_to(berlin(2026, 3, 12, 9))
    client = _as(app, desk.manager)
    got = client.get(f"/manage/bookings/{bid}/usage")
    form = got.get_data(as_text=True)
    assert got.status_code == 200
    assert 'value="3.00"' in form and "€360 (SME rate)" in form  # defaults: booked hours, agreed
    response = post_form(client, f"/manage/bookings/{bid}/usage",
                         {"actual_hours": "2.5", "charged": "", "charge_reason": ""})
    assert response.status_code == 302
    booking = _booking(app, bid)
    assert (booking.actual_hours, booking.charged) == (Decimal("2.50"), Decimal("300.00"))
    client = _as(app, desk.member)
    page = client.get(f"/bookings/{bid}").get_data(as_text=True)
    assert "2.5 hours used" in page and "€300 charged" in page


def test_an_overridden_charge_needs_a_reason_and_bad_figures_are_refused(app, client, login,
                                                                        desk):
    bid = _completed(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 12))
    client = _as(app, desk.manager)
    url = f"/manage/bookings/{bid}/usage"
    audits = _count(app, AuditEvent)
    for data, field_words in (
        ({"actual_hours": "3", "charged": "100"}, "Say why you charge another amount"),
        ({"actual_hours": "-1"}, "cannot be negative"),
        ({"actual_hours": "1.234"}, "two decimals at most"),
        ({"actual_hours": "three"}, "Not a valid decimal"),
        ({"actual_hours": "3", "charged": "1", "charge_reason": "x" * 501}, "500"),
    ):
        response = post_form(client, url, data)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and field_words in html
        assert f'value="{data["actual_hours"]}"' in html  # typed values kept
    assert _booking(app, bid).usage_recorded_at is None
    assert _count(app, AuditEvent) == audits
    ok = post_form(client, url, {"actual_hours": "3", "charged": "100",
                                 "charge_reason": "Machine fault for an hour"})
    assert ok.status_code == 302
    assert _booking(app, bid).charged == Decimal("100.00")


def test_usage_is_recorded_only_on_completed_bookings_of_ones_own_labs(app, client, login,
                                                                      desk):
    pending = _book(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 12))
    done = _completed(app, desk, desk.sem, berlin(2026, 3, 12, 9), berlin(2026, 3, 12, 12))
    client = _as(app, desk.manager)
    refused = post_form(client, f"/manage/bookings/{pending}/usage", {"actual_hours": "1"})
    assert refused.status_code == 422 and "once a booking is completed" in \
        refused.get_data(as_text=True)
    client = _as(app, desk.other_manager)
    assert client.get(f"/manage/bookings/{done}/usage").status_code == 404
    client = _as(app, desk.member)
    assert client.get(f"/manage/bookings/{done}/usage").status_code == 403


def test_day_bookings_are_charged_per_day_started(app, client, login, desk):
    bid = _completed(app, desk, desk.furnace, berlin(2026, 3, 11, 0), berlin(2026, 3, 13, 0))
    client = _as(app, desk.manager)
    response = post_form(client, f"/manage/bookings/{bid}/usage", {"actual_hours": "30"})
    assert response.status_code == 302
    assert _booking(app, bid).charged == Decimal("800.00")  # two days started × €400
    post_form(client, f"/manage/bookings/{bid}/usage", {"actual_hours": "20"})
    assert _booking(app, bid).charged == Decimal("400.00")


def test_usage_csv_per_customer_and_month_with_a_bom(app, client, login, desk, make_user,
                                                     make_org):
    recorded = _completed(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 12))
    plain = _completed(app, desk, desk.furnace, berlin(2026, 3, 17, 0), berlin(2026, 3, 18, 0))
    with app.test_request_context():
        other = make_user(organisation=make_org(kind="company", size_class="large",
                                                name="=HYPERLINK Corp"))
        b = service.request_booking(db.session.get(User, other.id), desk.sem.id,
                                    berlin(2026, 3, 19, 9), berlin(2026, 3, 19, 10), "x",
                                    now=desk.now)
        service.approve_booking(db.session.get(User, desk.manager.id), b.id, now=desk.now)
        db.session.commit()
        reminders.complete_bookings(now=berlin(2026, 3, 20, 9))
        db.session.commit()
    # Another lab's completed booking by the same customer stays out of this lab's export.
    _elsewhere = _book(app, desk, desk.foreign, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 10))
    with app.test_request_context():
        reminders.complete_bookings(now=berlin(2026, 3, 20, 9))
        db.session.commit()
    client = _as(app, desk.manager)
    post_form(client, f"/manage/bookings/{recorded}/usage", {"actual_hours": "2"})
    page = client.get("/manage/bookings/usage?month=2026-03").get_data(as_text=True)
    assert "Łukasiewicz Sp. z o.o." in page and "Elsewhere CT" not in page
    response = client.get("/manage/bookings/usage.csv?month=2026-03")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read "Łukasiewicz"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["organisation", "booking reference", "equipment"]
    body = rows[1:]
    assert [r[0] for r in body] == ["'=HYPERLINK Corp", "Łukasiewicz Sp. z o.o.",
                                    "Łukasiewicz Sp. z o.o."]  # by organisation, guarded
    by_ref = {r[1]: r for r in body}
    with app.app_context():
        ref = {i: db.session.get(Booking, i).reference for i in (recorded, plain)}
    sem_row, furnace_row = by_ref[ref[recorded]], by_ref[ref[plain]]
    assert sem_row[4:] == ["2026-03-11 09:00", "2026-03-11 12:00", "3.00", "2.00", "SME rate",
                           "240.00", "EUR", "yes"]
    assert furnace_row[6:10] == ["24.00", "24.00", "SME rate", "400.00"]
    assert furnace_row[-1].startswith("no")
    # One customer only.
    with app.app_context():
        org_id = db.session.get(User, desk.member.id).organisation_id
    only = client.get(f"/manage/bookings/usage.csv?month=2026-03&organisation={org_id}")
    assert len(list(csv.reader(io.StringIO(only.get_data(as_text=True))))) == 3
    # Another month is empty; the other lab's manager never sees this lab's rows.
    april = client.get("/manage/bookings/usage.csv?month=2026-04").get_data(as_text=True)
    assert len(april.strip().splitlines()) == 1
    client = _as(app, desk.other_manager)
    theirs = client.get("/manage/bookings/usage.csv?month=2026-03").get_data(as_text=True)
    assert "Invoice SEM" not in theirs and "Elsewhere CT" in theirs


@pytest.mark.parametrize(("query", "words"), [
    ("month=March", "Give the month like 2026-03"),
    ("month=1999-12", "between 2000 and 2100"),
    ("month=2026-03&organisation=999999", "Choose a customer from the list"),
    ("month=2026-03&organisation=abc", "Choose a customer from the list"),
])
def test_bad_export_parameters_are_named_never_a_500(app, client, login, desk, query, words):
    client = _as(app, desk.manager)
    for path in ("/manage/bookings/usage", "/manage/bookings/usage.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422 and words in response.get_data(as_text=True)


def test_people_who_manage_no_lab_cannot_export_usage(app, client, login, desk):
    client = _as(app, desk.member)
    assert client.get("/manage/bookings/usage").status_code == 403
    assert client.get("/manage/bookings/usage.csv?month=2026-03").status_code == 403


def test_a_refused_price_is_tied_to_its_input_and_summed_up(app, desk):
    """The approve form is hand-built, one per booking row (issue 18's accessibility)."""
    bid = _book(app, desk, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    client = _as(app, desk.manager)
    assert_no_refusal(client.get("/manage/bookings").get_data(as_text=True))
    refused = post_form(client, f"/manage/bookings/{bid}/approve",
                        {"final_price": "lots", "price_reason": "x"}, page="/manage/bookings")
    assert refused.status_code == 422
    assert_refused_input(refused.get_data(as_text=True), f"final-price-{bid}",
                         "Not a valid decimal")
    refused = post_form(client, f"/manage/bookings/{bid}/approve", {"final_price": "200"},
                        page="/manage/bookings")
    html = refused.get_data(as_text=True)
    assert_refused_input(html, f"price-reason-{bid}", "Tell the customer why")
    price = re.search(rf'<input [^>]*id="final-price-{bid}"[^>]*>', html).group(0)
    assert "aria-invalid" not in price
