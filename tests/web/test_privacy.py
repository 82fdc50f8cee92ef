"""Imprint, privacy and terms pages, consent at registration, and a person's own data:
download it, delete the account (issue 12 §4)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet import clock
from labnet.extensions import db
from labnet.models import AuditEvent, Booking, LabManager, OutboxEmail, User, UserRole
from labnet.models.network import NetworkCoordinator
from labnet.models.user import LoginSession, Role
from labnet.services.accounts import privacy
from labnet.services.booking import engine as booking_engine
from labnet.services.networks import rules as networks
from labnet.services.notifications.outbox import enqueue_email
from labnet.services.requests import workflow as requests
from tests.fixtures.auth import login_as, post_form
from tests.fixtures.berlin import APPROVING, NOW, SPLIT_DAY
from tests.fixtures.factories import PASSWORD
from tests.web.test_auth import GOOD, page

# -- the legal pages --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/imprint", "/privacy", "/terms"])
def test_legal_pages_name_the_operator_from_the_settings(client, path):
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Matrix Network Agency" in html and "1000 Brussels" in html
    assert "office@agency.test" in html
    assert "placeholders" not in html


def test_every_page_links_the_legal_pages_in_its_footer(client):
    html = client.get("/labs").get_data(as_text=True)
    footer = html[html.index("<footer"):]
    for path in ("/imprint", "/privacy", "/terms"):
        assert f'href="{path}"' in footer


@pytest.mark.parametrize("app_config", [{"OPERATOR_NAME": None, "OPERATOR_ADDRESS": "",
                                          "OPERATOR_EMAIL": None}])
def test_without_an_operator_development_shows_marked_placeholders(client):
    html = client.get("/imprint").get_data(as_text=True)
    assert "has not named its operator yet" in html
    assert "LabNet development installation" in html


@pytest.mark.parametrize("app_config", [{"OPERATOR_REGISTER": "Register of Brussels 0123.456",
                                          "OPERATOR_VAT_ID": "BE0123456789",
                                          "PRIVACY_CONTACT_EMAIL": "dpo@agency.test"}])
def test_optional_operator_details_show_where_they_belong(client):
    imprint = client.get("/imprint").get_data(as_text=True)
    assert "Register of Brussels 0123.456" in imprint and "BE0123456789" in imprint
    assert "dpo@agency.test" in client.get("/privacy").get_data(as_text=True)


# -- consent at registration -----------------------------------------------------------------


def _users(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(User.email == email))


def test_registration_without_consent_is_refused_with_the_input_kept(app, client):
    data = {**GOOD, "email": "noconsent@brightoptics.example"}
    del data["accept_terms"]
    response = post_form(client, "/register", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Accept the terms of use and the privacy notice to register." in html
    shown = page(response)
    assert shown.inputs["email"] == "noconsent@brightoptics.example"
    assert shown.inputs["organisation"] == GOOD["organisation"]
    assert _users(app, "noconsent@brightoptics.example") == 0


def test_registration_records_which_terms_were_accepted_and_when(app, client, frozen_clock):
    response = post_form(client, "/register", {**GOOD, "email": "consent@brightoptics.example"})
    assert response.status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "consent@brightoptics.example"))
        assert user.terms_version == app.config["TERMS_VERSION"]
        assert user.terms_accepted_at == clock.utcnow()


def test_the_account_page_shows_the_accepted_version(app, client, make_user):
    user = make_user(terms_version="2026-12-03", terms_accepted_at=clock.utcnow())
    login_as(client, user)
    html = client.get("/account").get_data(as_text=True)
    assert "version 2026-12-03" in html
    post_form(client, "/logout", {}, page="/logout")
    login_as(client, make_user())
    assert "predates consent" in client.get("/account").get_data(as_text=True)


# -- a person's world: bookings, a request, a message, mail ------------------------------------


@pytest.fixture
def world(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    lab = make_lab(**APPROVING, hold_hours=48, cancel_deadline_hours=24, hours=SPLIT_DAY,
                   contact_email="lab@lab.example")
    sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4)
    org = make_org(kind="company", size_class="small", name="Data Co")

    class W:
        pass

    w = W()
    w.lab, w.sem, w.org = lab, sem, org
    w.manager = make_user(manages=(lab,))
    w.person = make_user(organisation=org, full_name="Petra Person", org_role="admin")
    w.colleague = make_user(organisation=org, full_name="Colin Colleague")
    w.stranger = make_user(full_name="Stella Stranger")
    return w


def _book(app, user, equipment, days: int) -> int:
    start = NOW.replace(hour=8) + timedelta(days=days)
    with app.test_request_context():
        booking = booking_engine.request_booking(
            db.session.get(User, user.id), equipment.id, start, start + timedelta(hours=2),
            "Imaging", now=NOW)
        db.session.commit()
        return booking.id


def _request(app, user, lab, title="Coating tests") -> int:
    with app.test_request_context():
        req = requests.create_request(db.session.get(User, user.id), requests.NewRequest(
            kind="service", lab_ids=[lab.id], title=title, summary="Ten samples.",
            quantity="10", deadline=NOW.date() + timedelta(days=60)), now=NOW)
        requests.post_message(db.session.get(User, user.id), req.id, "Samples ship Monday.",
                              now=NOW)
        db.session.commit()
        return req.id


def _close_everything(app, w, request_id: int) -> None:
    with app.test_request_context():
        person = db.session.get(User, w.person.id)
        for booking in db.session.scalars(select(Booking).where(Booking.requester_id == person.id)):
            booking_engine.cancel_booking(person, booking.id, "Plans changed", now=NOW)
        requests.withdraw(person, request_id, now=NOW)
        db.session.commit()


def test_download_holds_my_data_and_nobody_elses(app, client, world):
    _book(app, world.person, world.sem, 7)
    _book(app, world.stranger, world.sem, 8)
    _request(app, world.person, world.lab)
    login_as(client, world.person)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["format"] == privacy.EXPORT_FORMAT
    assert data["account"]["email"] == world.person.email
    assert data["account"]["organisation"]["name"] == "Data Co"
    assert len(data["bookings"]) == 1 and data["bookings"][0]["purpose"] == "Imaging"
    assert [r["title"] for r in data["requests"]] == ["Coating tests"]
    assert [m["text"] for m in data["messages"]] == ["Samples ship Monday."]
    assert data["login_sessions"] and data["activity"]
    text = response.get_data(as_text=True)
    assert "Stella Stranger" not in text and world.stranger.email not in text
    with app.app_context():
        token_hashes = db.session.scalars(select(LoginSession.token_hash)).all()
    assert not any(h in text for h in token_hashes)  # no secret of a session


def test_the_data_page_is_for_the_logged_in_person_only(client):
    assert client.get("/account/data").status_code == 302
    assert client.get("/account/data.json").status_code == 302


# -- deleting the account --------------------------------------------------------------------


def _delete(client, password=PASSWORD, understood="y"):
    data = {"password": password}
    if understood:
        data["understood"] = understood
    return post_form(client, "/account/delete", data, page="/account/data")


def _snapshot(app, user_id: int) -> tuple:
    with app.app_context():
        user = db.session.get(User, user_id)
        return (user.email, user.full_name, user.is_active, user.deleted_at,
                db.session.scalar(select(func.count()).where(LoginSession.user_id == user_id)))


def test_a_wrong_password_or_no_tick_deletes_nothing_and_says_which(app, client, world):
    login_as(client, world.person)
    before = _snapshot(app, world.person.id)
    wrong = _delete(client, password="not my password")
    assert wrong.status_code == 422
    assert "This is not your password." in wrong.get_data(as_text=True)
    unticked = _delete(client, understood=None)
    assert unticked.status_code == 422
    assert "Tick the box to confirm" in unticked.get_data(as_text=True)
    assert _snapshot(app, world.person.id) == before
    assert client.get("/account").status_code == 200  # still logged in


def test_everything_that_would_wait_on_me_is_named_at_once_and_blocks(
        app, client, world, make_user):
    _book(app, world.person, world.sem, 7)
    _request(app, world.person, world.lab, title="Coating tests")
    with app.app_context():
        db.session.add(LabManager(lab_id=world.lab.id, user_id=world.person.id,
                                  granted_at=NOW))
        db.session.commit()
    # The person's colleague manages the lab too: not the last manager, no blocker for it.
    login_as(client, world.person)
    shown = client.get("/account/data").get_data(as_text=True)
    assert "upcoming bookings" in shown and "“Coating tests”" in shown
    assert "only manager" not in shown  # world.manager manages the lab as well
    assert "only organisation admin of Data Co" in shown  # Colin is a member
    response = _delete(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "upcoming bookings" in html and "open requests" in html
    assert "only organisation admin" in html
    assert _snapshot(app, world.person.id)[3] is None


def test_the_last_manager_of_a_lab_and_the_last_coordinator_are_told_to_hand_over(
        app, client, make_user, make_lab):
    lab = make_lab(name="Lonely Lab")
    keeper = make_user(manages=(lab,), roles=(Role.COORDINATOR,))
    with app.test_request_context():
        networks.create_network(db.session.get(User, keeper.id), networks.NetworkFields(
            name="Solo chain", ecosystem="energy-renewables"), now=NOW)
        db.session.commit()
    login_as(client, keeper)
    response = _delete(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "only manager of Lonely Lab" in html
    assert "only coordinator of Solo chain" in html


def test_deleting_anonymises_the_account_and_keeps_the_organisations_records(
        app, client, world):
    booking_id = _book(app, world.person, world.sem, 7)
    request_id = _request(app, world.person, world.lab)
    _close_everything(app, world, request_id)
    with app.app_context():
        db.session.scalars(select(User).where(User.id == world.colleague.id)).one().org_role = \
            "admin"
        db.session.add(UserRole(user_id=world.person.id, role=Role.COORDINATOR,
                                granted_at=NOW))
        enqueue_email("reset_password", world.person.email, "Reset your password",
                      {"user": db.session.get(User, world.person.id), "link": "https://x/y",
                       "minutes": 60},
                      now=NOW)
        db.session.commit()
    login_as(client, world.person)
    response = _delete(client)
    assert response.status_code == 302
    assert client.get("/account").status_code == 302  # logged out, session gone

    with app.app_context():
        gone = db.session.get(User, world.person.id)
        assert gone.email == privacy.anonymised_email(gone.id)
        assert gone.full_name == privacy.DELETED_NAME and not gone.is_active
        assert gone.deleted_at is not None
        assert not gone.roles
        assert db.session.scalar(select(func.count()).where(
            LoginSession.user_id == gone.id)) == 0
        assert db.session.scalar(select(func.count()).where(
            NetworkCoordinator.user_id == gone.id)) == 0
        # The organisation keeps its booking and request, made by "a deleted account".
        booking = db.session.get(Booking, booking_id)
        assert booking.requester_id == gone.id and booking.organisation_id == world.org.id
        # No e-mail text to the old address is left, and nothing names it.
        assert db.session.scalar(select(func.count()).where(
            OutboxEmail.to_addr == world.person.email)) == 0
        bodies = db.session.scalars(select(OutboxEmail.body_text).where(
            OutboxEmail.to_addr == gone.email)).all()
        assert bodies and set(bodies) == {privacy.ERASED_BODY}
        assert db.session.scalar(select(func.count()).where(
            AuditEvent.action == "user.deleted", AuditEvent.subject_id == gone.id)) == 1

    # The old password opens nothing, and the address is free for a new account.
    login = post_form(client, "/login", {"email": world.person.email, "password": PASSWORD})
    assert login.status_code == 422
    again = post_form(client, "/register", {**GOOD, "email": world.person.email,
                                            "organisation": "Fresh Start Ltd"})
    assert again.status_code == 200
    assert _users(app, world.person.email) == 1


def test_colleagues_see_the_kept_booking_as_made_by_a_deleted_account(app, client, world):
    booking_id = _book(app, world.person, world.sem, 7)
    with app.test_request_context():
        booking_engine.cancel_booking(db.session.get(User, world.person.id), booking_id,
                                      "Plans changed", now=NOW)
        colleague = db.session.get(User, world.colleague.id)
        colleague.org_role = "admin"
        db.session.commit()
    login_as(client, world.person)
    assert _delete(client).status_code == 302
    login_as(client, world.colleague)
    html = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert privacy.DELETED_NAME in html and "Petra Person" not in html
