"""A lab's manager team from the user's side (DESIGN rule 10): invite by e-mail (the
invitee logs in or registers), remove, leave, hand over; the lab keeps a manager on every
path, the admin's included."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from labnet.extensions import db
from labnet.models import AuditEvent, LabInvitation, User
from tests.fixtures.auth import login_as, post_form
from tests.web.test_auth import NEW_PASSWORD, page
from tests.web.test_claims import count, link_of, managers_of

NEWCOMER = "kim@labowner.example"


def _team(slug: str) -> str:
    return f"/manage/labs/{slug}/managers"


def invite(client, slug: str, email: str, **extra):
    return post_form(client, f"{_team(slug)}/invite", {"email": email, **extra},
                     page=_team(slug))


def test_a_manager_invites_a_newcomer_who_registers_into_the_labs_organisation_and_manages(
        smtp, client, app, people):
    login_as(client, people.manager)
    team_page = client.get(_team(people.lab.slug)).get_data(as_text=True)
    assert people.manager.email in team_page
    sent = invite(client, people.lab.slug, NEWCOMER, message="Welcome aboard!")
    assert sent.status_code == 302
    mail = smtp.to(NEWCOMER)[-1]
    assert "invites you to manage Matrix Lab" in mail["Subject"]
    assert "Welcome aboard!" in smtp.text(mail)
    assert NEWCOMER in client.get(_team(people.lab.slug)).get_data(as_text=True)

    visitor = app.test_client()
    link = link_of(smtp, NEWCOMER)
    shown = visitor.get(link)
    assert shown.status_code == 200 and 'id="invitation-register-form"' in shown.get_data(
        as_text=True)
    done = post_form(visitor, f"{link}/register", {
        "full_name": "Kim Berger", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
        "accept_terms": "y",
    }, page=link)
    assert done.status_code == 302
    assert managers_of(app, people.lab.id) == {people.manager.email, NEWCOMER}
    with app.app_context():
        kim = db.session.scalar(select(User).where(User.email == NEWCOMER))
        assert kim.is_member and kim.is_confirmed
        assert kim.organisation_id == people.manager.organisation_id
    # The lab's managers hear of it; the link is spent.
    assert any("Kim Berger is now a manager" in m["Subject"]
               for m in smtp.to(people.manager.email))
    assert visitor.get(link).status_code == 400
    login_as(visitor, kim, NEW_PASSWORD)
    assert visitor.get(_team(people.lab.slug)).status_code == 200


def test_an_invitee_with_an_account_logs_in_and_accepts_and_another_account_cannot(
        smtp, client, app, people):
    login_as(client, people.manager)
    invite(client, people.lab.slug, people.outsider.email)
    link = link_of(smtp, people.outsider.email)
    wrong = app.test_client()
    login_as(wrong, people.member)
    assert 'id="invitation-other-account"' in wrong.get(link).get_data(as_text=True)
    refused = post_form(wrong, f"{link}/accept", {}, page=link)
    assert refused.status_code == 400
    assert "This invitation is for" in refused.get_data(as_text=True)

    invitee = app.test_client()
    login_as(invitee, people.outsider)
    accepted = post_form(invitee, f"{link}/accept", {}, page=link)
    assert accepted.status_code == 302
    assert people.outsider.email in managers_of(app, people.lab.id)


def test_an_invitation_link_expires_and_a_cancelled_one_stops_working(
        smtp, client, app, people, frozen_clock):
    login_as(client, people.manager)
    invite(client, people.lab.slug, NEWCOMER)
    link = link_of(smtp, NEWCOMER)
    frozen_clock.move_to(frozen_clock.now + timedelta(days=8))
    assert app.test_client().get(link).status_code == 400
    frozen_clock.move_to(frozen_clock.now - timedelta(days=8))
    with app.app_context():
        invitation_id = db.session.scalar(select(LabInvitation.id))
    cancelled = post_form(
        client, f"{_team(people.lab.slug)}/invitations/{invitation_id}/cancel", {},
        page=_team(people.lab.slug))
    assert cancelled.status_code == 302
    assert app.test_client().get(link).status_code == 400


def test_bad_invitations_are_refused_on_their_field(client, app, people):
    login_as(client, people.manager)
    for email, words in (("not an address", "valid e-mail address"),
                         (people.manager.email, "manages Matrix Lab already")):
        response = invite(client, people.lab.slug, email, message="Hi")
        assert response.status_code == 422
        shown = page(response)
        assert words in shown.errors["email"][0]
        assert shown.inputs["email"] == email
    too_long = invite(client, people.lab.slug, NEWCOMER, message="x" * 2001)
    assert too_long.status_code == 422
    assert count(app, LabInvitation) == 0


def test_the_last_manager_can_neither_leave_nor_be_removed(client, app, people):
    login_as(client, people.manager)
    url = _team(people.lab.slug)
    left = post_form(client, f"{url}/leave", {}, page=url, follow_redirects=True)
    assert "keeps at least one manager" in left.get_data(as_text=True)
    admin = app.test_client()
    login_as(admin, people.admin)
    removed = post_form(admin, f"{url}/{people.manager.id}/remove", {}, page=url,
                        follow_redirects=True)
    assert "keeps at least one manager" in removed.get_data(as_text=True)
    # The admin's user page obeys the same rule.
    user_page = f"/admin/users/{people.manager.id}"
    revoked = post_form(admin, f"{user_page}/roles/revoke",
                        {"role": "lab_manager", "lab": people.lab.slug}, page=user_page,
                        follow_redirects=True)
    assert "keeps at least one manager" in revoked.get_data(as_text=True)
    assert managers_of(app, people.lab.id) == {people.manager.email}


def test_with_a_second_manager_one_leaves_and_the_others_hear_of_it(smtp, client, app,
                                                                    people, make_user):
    second = make_user(manages=(people.lab,))
    login_as(client, people.manager)
    url = _team(people.lab.slug)
    removed = post_form(client, f"{url}/{second.id}/remove", {}, page=url)
    assert removed.status_code == 302
    assert managers_of(app, people.lab.id) == {people.manager.email}
    assert "no longer a manager" in smtp.to(second.email)[-1]["Subject"]
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "lab.manager_removed")).data["user_id"] == second.id


def test_handing_over_the_lab_leaves_once_the_successor_accepts(smtp, client, app, people):
    login_as(client, people.manager)
    sent = invite(client, people.lab.slug, NEWCOMER, handover="y")
    assert sent.status_code == 302
    # Until the successor accepts, the inviter manages the lab.
    assert managers_of(app, people.lab.id) == {people.manager.email}
    link = link_of(smtp, NEWCOMER)
    visitor = app.test_client()
    post_form(visitor, f"{link}/register", {
        "full_name": "Kim Berger", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
        "accept_terms": "y",
    }, page=link)
    assert managers_of(app, people.lab.id) == {NEWCOMER}
    assert any("left the managers" in m["Subject"] for m in smtp.to(NEWCOMER))


def test_registering_from_an_invitation_keeps_the_input_on_bad_values(smtp, client, app,
                                                                      people):
    login_as(client, people.manager)
    invite(client, people.lab.slug, NEWCOMER)
    link = link_of(smtp, NEWCOMER)
    visitor = app.test_client()
    weak = post_form(visitor, f"{link}/register", {
        "full_name": "Kim Berger", "password": "password123", "password_confirm": "password123",
        "accept_terms": "y",
    }, page=link)
    assert weak.status_code == 422
    shown = page(weak)
    assert shown.errors["password"] and shown.inputs["full_name"] == "Kim Berger"
    assert managers_of(app, people.lab.id) == {people.manager.email}
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == NEWCOMER)) is None
