"""Admins administer people and organisations from the user's side (issue 12 §1): the user
list's roles, moving a person, deactivating and reactivating, resending a confirmation,
organisation admins, editing an organisation and verifying its SME class; and the lab
managers' side of a self-declared SME class: the badge and "ask for proof"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from labnet.extensions import db
from labnet.models import AuditEvent, LoginSession, Organisation, OutboxEmail, Role, User
from labnet.models.booking import Booking
from labnet.services.booking import engine as booking_service
from tests.fixtures.auth import login_as, post_form
from tests.fixtures.berlin import APPROVING, berlin


@pytest.fixture
def org_world(app, frozen_clock, make_org, make_user, make_lab, make_equipment):
    """A Berlin lab with one manager and an hourly SEM; Small Co (self-declared small
    company) with its organisation admin ``boss`` and a member ``booker``; Other Co; an
    admin."""

    class W:
        pass

    w = W()
    w.lab = make_lab(**APPROVING, name="Contact Lab", hours=((8, 17),))
    w.sem = make_equipment(w.lab, booking_unit="hour", min_units=1, max_units=8, name="Lab SEM")
    w.manager = make_user(manages=(w.lab,), full_name="Mia Manager")
    w.small = make_org(name="Small Co", kind="company", size_class="small")
    w.boss = make_user(organisation=w.small, org_role="admin", full_name="Bea Boss")
    w.booker = make_user(organisation=w.small, full_name="Ben Booker")
    w.other = make_org(name="Other Co", kind="company", size_class="large")
    w.admin = make_user(roles=(Role.ADMIN,), full_name="Ada Admin")
    w.now = frozen_clock.now
    return w


def _book(app, w, user, day: int = 10) -> int:
    with app.test_request_context():
        booking = booking_service.request_booking(
            db.session.get(User, user.id), w.sem.id, berlin(2026, 3, day, 9),
            berlin(2026, 3, day, 10), "Imaging of coated samples", now=w.now)
        db.session.commit()
        return booking.id


def _get(app, model, key):
    with app.app_context():
        return db.session.get(model, key)


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audits(app, action: str) -> int:
    return _count(app, AuditEvent, AuditEvent.action == action)


def _row(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</tr>", start)]


def _flash(response) -> str:
    return response.get_data(as_text=True)


# The user list -----------------------------------------------------------------------------


def test_user_list_names_each_persons_roles_and_filters_by_role(app, client, people, login):
    with app.app_context():
        db.session.execute(update(User).where(User.id == people.member.id)
                           .values(org_role="admin"))
        db.session.commit()
    login(people.admin)
    html = client.get("/admin/users").get_data(as_text=True)
    manager = _row(html, f"user-{people.manager.id}")
    assert "manager of" in manager and "Matrix Lab" in manager and "Draft Lab" in manager
    assert "organisation admin" in _row(html, f"user-{people.member.id}")
    assert "coordinator" in _row(html, f"user-{people.coordinator.id}")
    assert "admin" in _row(html, f"user-{people.admin.id}")
    assert "manager of" not in _row(html, f"user-{people.outsider.id}")

    managers = client.get("/admin/users?role=manager").get_data(as_text=True)
    assert people.manager.email in managers and people.other_manager.email in managers
    assert people.member.email not in managers and people.admin.email not in managers
    org_admins = client.get("/admin/users?role=org_admin").get_data(as_text=True)
    assert people.member.email in org_admins and people.manager.email not in org_admins
    # An unknown role filters nothing (no error page).
    anything = client.get("/admin/users?role=pirate")
    assert anything.status_code == 200 and people.member.email in anything.get_data(as_text=True)


# Moving a person ---------------------------------------------------------------------------


def test_admin_moves_a_person_whose_bookings_stay_and_who_is_told(smtp, app, client, login,
                                                                  org_world):
    w = org_world
    booking_id = _book(app, w, w.boss)
    login(w.admin)
    page = f"/admin/users/{w.boss.id}"
    response = post_form(client, f"{page}/move", {"organisation": "  other co "}, page=page,
                         follow_redirects=True)
    assert response.status_code == 200
    assert "moved from Small Co to Other Co" in _flash(response)
    boss = _get(app, User, w.boss.id)
    assert (boss.organisation_id, boss.org_role) == (w.other.id, "member")
    # The booking stays with the organisation that made it.
    assert _get(app, Booking, booking_id).organisation_id == w.small.id
    [mail] = smtp.to(w.boss.email)
    assert mail["Subject"] == "You are now a member of Other Co on LabNet"
    assert mail["Reply-To"] == w.admin.email
    body = smtp.text(mail)
    assert "stay with Small Co" in body and "organisation admin of Small Co has ended" in body
    # Logged in, the moved person no longer sees Small Co's booking.
    other = app.test_client()

    login_as(other, w.boss)
    assert other.get(f"/bookings/{booking_id}").status_code == 404


@pytest.mark.parametrize(("typed", "message"), [
    ("Nowhere Ltd", "No organisation named “Nowhere Ltd” is registered."),
    ("small co", "is a member of Small Co already."),
    ("", "Enter the name of the organisation."),
    ("Other\x00Co", "Remove the control characters"),
])
def test_moving_to_an_unknown_or_the_same_organisation_is_refused_and_keeps_the_input(
        app, client, login, org_world, typed, message):
    w = org_world
    login(w.admin)
    page = f"/admin/users/{w.booker.id}"
    response = post_form(client, f"{page}/move", {"organisation": typed}, page=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html.replace("&#34;", '"')
    if typed and "\x00" not in typed:
        assert f'value="{typed}"' in html
    assert _get(app, User, w.booker.id).organisation_id == w.small.id
    assert _audits(app, "user.moved") == 0
    assert _count(app, OutboxEmail) == 0


# Deactivating ------------------------------------------------------------------------------


def test_a_deactivated_person_is_logged_out_cannot_log_in_and_receives_nothing(
        app, client, login, quick_login, org_world):
    w = org_world
    theirs = app.test_client()
    quick_login(theirs, w.booker)
    assert theirs.get("/bookings").status_code == 200
    login(w.admin)
    page = f"/admin/users/{w.booker.id}"
    response = post_form(client, f"{page}/deactivate", {}, page=page, follow_redirects=True)
    assert "account is deactivated" in _flash(response)
    assert "deactivated" in response.get_data(as_text=True)
    assert _count(app, LoginSession, LoginSession.user_id == w.booker.id,
                  LoginSession.revoked_at.is_(None)) == 0
    # Their session has ended; the login form refuses them like a wrong password.
    assert theirs.get("/bookings").headers["Location"].startswith("/login")
    refused = post_form(app.test_client(), "/login",
                        {"email": w.booker.email, "password": "correct horse battery staple"})
    assert refused.status_code == 422
    # Mail to their address is not even queued (a reset request, a booking by a colleague).
    post_form(app.test_client(), "/account/reset", {"email": w.booker.email})
    assert _count(app, OutboxEmail, OutboxEmail.to_addr == w.booker.email) == 0

    response = post_form(client, f"{page}/reactivate", {}, page=page, follow_redirects=True)
    assert "active again" in _flash(response)
    assert _get(app, User, w.booker.id).is_active


def test_the_last_manager_of_a_lab_is_not_deactivated_until_it_is_handed_over(
        app, client, login, make_user, org_world):
    w = org_world
    login(w.admin)
    page = f"/admin/users/{w.manager.id}"
    response = post_form(client, f"{page}/deactivate", {}, page=page, follow_redirects=True)
    html = _flash(response)
    assert "is the only manager of Contact Lab" in html and "hand it over" in html
    assert _get(app, User, w.manager.id).is_active
    assert _audits(app, "user.deactivated") == 0
    # With a second active manager, the first may go.
    make_user(manages=(w.lab,))
    post_form(client, f"{page}/deactivate", {}, page=page)
    assert not _get(app, User, w.manager.id).is_active


def test_an_admin_cannot_deactivate_themselves(app, client, login, org_world):
    w = org_world
    login(w.admin)
    page = f"/admin/users/{w.admin.id}"
    response = post_form(client, f"{page}/deactivate", {}, page=page, follow_redirects=True)
    assert "cannot deactivate your own account" in _flash(response)
    assert _get(app, User, w.admin.id).is_active


# Confirmation and organisation admins -----------------------------------------------------


def test_admin_resends_a_confirmation_that_confirms_the_address(smtp, app, client, login,
                                                                make_user, org_world):
    w = org_world
    late = make_user(organisation=w.small, email_confirmed_at=None, full_name="Lou Late")
    login(w.admin)
    page = f"/admin/users/{late.id}"
    assert "Resend the confirmation e-mail" in client.get(page).get_data(as_text=True)
    response = post_form(client, f"{page}/resend-confirmation", {}, page=page,
                         follow_redirects=True)
    assert "A new confirmation link was sent to Lou Late" in _flash(response)
    [mail] = smtp.to(late.email)
    link = re.search(r"http://labnet\.test(/account/confirm/\S+)", smtp.text(mail)).group(1)
    app.test_client().get(link)
    assert _get(app, User, late.id).is_confirmed
    # Confirmed now: the button is gone and a forged post is refused, with no mail.
    again = post_form(client, f"{page}/resend-confirmation", {}, page=page,
                      follow_redirects=True)
    assert "is confirmed already" in _flash(again)
    assert len(smtp.to(late.email)) == 1


def test_admin_grants_and_revokes_organisation_admin_but_keeps_the_last(app, client, login,
                                                                       org_world):
    w = org_world
    login(w.admin)
    page = f"/admin/users/{w.booker.id}"
    post_form(client, f"{page}/org-admin", {"make_admin": "1"}, page=page)
    assert _get(app, User, w.booker.id).org_role == "admin"
    post_form(client, f"{page}/org-admin", {"make_admin": "0"}, page=page)
    assert _get(app, User, w.booker.id).org_role == "member"
    boss_page = f"/admin/users/{w.boss.id}"
    refused = post_form(client, f"{boss_page}/org-admin", {"make_admin": "0"}, page=boss_page,
                        follow_redirects=True)
    assert "keeps at least one organisation admin" in _flash(refused)
    assert _get(app, User, w.boss.id).org_role == "admin"


# Organisations -----------------------------------------------------------------------------

GOOD_ORG = {"name": "Small Co GmbH", "kind": "company", "country": "AT", "city": "Graz",
            "size_class": "small", "email_domain": "small-co.example"}


def test_admin_lists_and_edits_an_organisation(app, client, login, org_world):
    w = org_world
    login(w.admin)
    listing = client.get("/admin/organisations?q=small").get_data(as_text=True)
    assert "Small Co" in listing and "Other Co" not in listing
    assert "self-declared" in _row(listing, f"org-{w.small.id}")
    page = f"/admin/organisations/{w.small.id}"
    shown = client.get(page).get_data(as_text=True)
    assert "Bea Boss" in shown and "Ben Booker" in shown
    response = post_form(client, page, GOOD_ORG, follow_redirects=True)
    assert "Organisation saved." in _flash(response)
    org = _get(app, Organisation, w.small.id)
    assert (org.name, org.name_key, org.country, org.city, org.email_domain) == (
        "Small Co GmbH", "small co gmbh", "AT", "Graz", "small-co.example")
    assert _audits(app, "organisation.updated") == 1


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"name": "other CO"}, "name", "Another organisation is named “other CO” already."),
    ({"name": ""}, "name", "Enter the organisation&#39;s name."),
    ({"size_class": ""}, "size_class", "A company needs its EU size class"),
    ({"email_domain": "gmail.com"}, "email_domain", "gmail.com is a free-mail provider"),
    ({"email_domain": "not a domain"}, "email_domain", "Enter a domain such as example.org"),
    ({"city": "Graz\tNord"}, "city", "Remove the control characters"),
    ({"country": "US"}, "country", "Not a valid choice."),
    ({"kind": "pirate"}, "kind", "Not a valid choice."),
])
def test_bad_organisation_edits_name_the_field_keep_the_input_and_change_nothing(
        app, client, login, org_world, change, field, message):
    w = org_world
    login(w.admin)
    page = f"/admin/organisations/{w.small.id}"
    response = post_form(client, page, {**GOOD_ORG, "city": "Linz", **change})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'data-field="{field}">([^<]*)<', html)
    assert error and message in error.group(1), html
    if field != "city":
        assert 'value="Linz"' in html
    org = _get(app, Organisation, w.small.id)
    assert (org.name, org.city) == ("Small Co", "")
    assert _audits(app, "organisation.updated") == 0


def test_a_name_taken_at_the_same_moment_is_refused_on_the_name_not_a_500(app, org_world):
    """Two admins renaming two organisations to one name at once: both pass the check, the
    unique index refuses the second, and the service says so on the name field."""
    from labnet.errors import RuleViolation
    from labnet.services.accounts import administration

    w = org_world
    with app.app_context():
        admin = db.session.get(User, w.admin.id)
        org = db.session.get(Organisation, w.small.id)
        with db.session.no_autoflush:  # the other admin's insert is not visible to the check
            db.session.add(Organisation(name="Twin Works", name_key="twin works",
                                        kind="company", country="AT", size_class="small"))
            with pytest.raises(RuleViolation) as refused:
                administration.update_organisation(admin, org, administration.OrganisationEdit(
                    name="Twin Works", kind="company", country="AT", city="",
                    size_class="small", email_domain=None), now=w.now)
        assert refused.value.field == "name" and "a moment ago" in refused.value.message
        db.session.rollback()
        assert db.session.get(Organisation, w.small.id).name == "Small Co"


def test_admin_verifies_a_size_class_and_changing_the_class_makes_it_self_declared_again(
        app, client, login, org_world):
    w = org_world
    login(w.admin)
    page = f"/admin/organisations/{w.small.id}"
    response = post_form(client, f"{page}/verify-size", {"verified": "1"}, page=page,
                         follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "size class is verified" in html and "by Ada Admin on 2026-03-02" in html
    org = _get(app, Organisation, w.small.id)
    assert (org.size_verified_at, org.size_verified_by_id) == (w.now, w.admin.id)
    unverified = client.get("/admin/organisations?unverified=1").get_data(as_text=True)
    assert "Small Co" not in unverified
    # A new class is a new declaration.
    post_form(client, page, {**GOOD_ORG, "name": "Small Co", "size_class": "medium"})
    org = _get(app, Organisation, w.small.id)
    assert (org.size_class, org.size_verified_at) == ("medium", None)


def test_an_organisation_that_is_no_company_has_no_size_class_to_verify(
        app, client, login, make_org, org_world):
    rto = make_org(kind="rto", size_class=None, name="Research Centre")
    login(org_world.admin)
    page = f"/admin/organisations/{rto.id}"
    response = post_form(client, f"{page}/verify-size", {"verified": "1"}, page=page,
                         follow_redirects=True)
    assert "is no company" in _flash(response)
    assert _get(app, Organisation, rto.id).size_verified_at is None


# SME class on bookings ---------------------------------------------------------------------


def test_manager_sees_a_self_declared_sme_and_asks_for_proof(smtp, app, client, login,
                                                            make_user, org_world):
    w = org_world
    sme = _book(app, w, w.booker)
    large = _book(app, w, make_user(organisation=w.other), day=11)
    login(w.manager)
    queue = client.get("/manage/bookings").get_data(as_text=True)
    assert "SME (self-declared)" in _row(queue, f"booking-{sme}")
    assert f'action="/manage/bookings/{sme}/ask-proof"' in _row(queue, f"booking-{sme}")
    assert "SME" not in _row(queue, f"booking-{large}")
    response = post_form(client, f"/manage/bookings/{sme}/ask-proof", {},
                         page="/manage/bookings", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Proof of the SME size class was asked" in html
    assert "proof asked 2026-03-02" in _row(html, f"booking-{sme}")
    # The requester and the organisation's admin: what to send, to whom (the admins).
    for person in (w.booker, w.boss):
        [mail] = smtp.to(person.email)
        body = smtp.text(mail)
        assert mail["Subject"] == "Contact Lab asks Small Co to prove its SME size class"
        assert "staff headcount" in body and w.admin.email in body
        assert mail["Reply-To"] == w.admin.email
        assert f"http://labnet.test/bookings/{sme}" in body
    [to_admin] = smtp.to(w.admin.email)
    assert f"http://labnet.test/admin/organisations/{w.small.id}" in smtp.text(to_admin)
    # The booking says so to its requester too.

    theirs = app.test_client()
    login_as(theirs, w.booker)
    detail = theirs.get(f"/bookings/{sme}").get_data(as_text=True)
    assert "SME (self-declared)" in detail and "proof asked" in detail
    assert "Ask for proof" not in detail
    # Asking twice is refused, with no new mail.
    again = post_form(client, f"/manage/bookings/{sme}/ask-proof", {},
                      page="/manage/bookings", follow_redirects=True)
    assert "Proof was asked for" in again.get_data(as_text=True)
    assert len(smtp.messages) == 3


def test_a_verified_sme_needs_no_proof_and_another_labs_manager_cannot_ask(
        app, client, login, make_user, make_lab, org_world):
    w = org_world
    sme = _book(app, w, w.booker)
    stranger = make_user(manages=(make_lab(name="Elsewhere"),))
    login(stranger)
    refused = post_form(client, f"/manage/bookings/{sme}/ask-proof", {}, page="/labs")
    assert refused.status_code in (403, 404)
    assert _get(app, Booking, sme).sme_proof_requested_at is None
    with app.app_context():
        db.session.execute(update(Organisation).where(Organisation.id == w.small.id)
                           .values(size_verified_at=w.now, size_verified_by_id=w.admin.id))
        db.session.commit()
    manager = app.test_client()

    login_as(manager, w.manager)
    queue = manager.get("/manage/bookings").get_data(as_text=True)
    assert "SME (verified)" in _row(queue, f"booking-{sme}")
    assert "Ask for proof" not in queue
    forged = post_form(manager, f"/manage/bookings/{sme}/ask-proof", {},
                       page="/manage/bookings", follow_redirects=True)
    assert "has verified Small Co" in forged.get_data(as_text=True)
    assert _count(app, OutboxEmail, OutboxEmail.kind.like("sme_proof%")) == 0
