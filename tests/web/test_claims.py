"""Claiming an unmanaged lab from the user's side (DESIGN rule 10): the box on the lab's
page, proof by an address at the lab's web domain (registering or logged in), the approval
route and its queue, and the refusals."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, Lab, LabClaim, LabManager, Organisation, Role, User
from labnet.services.networks import rules as nw
from tests.fixtures.auth import login_as, post_form
from tests.web.test_auth import NEW_PASSWORD, page

CLAIM_LINK = re.compile(
    r"http://labnet\.test(/(?:claims/confirm|team/invitation)/[A-Za-z0-9._-]+)")


def link_of(smtp, address: str) -> str:
    links = CLAIM_LINK.findall(smtp.text(smtp.to(address)[-1]))
    assert len(set(links)) == 1
    return links[0]


def managers_of(app, lab_id: int) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.email).join(
            LabManager, LabManager.user_id == User.id).where(LabManager.lab_id == lab_id)))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def ipt(make_org, make_lab):
    """An unmanaged lab at ipt.fraunhofer.de whose organisation has nobody on LabNet."""
    org = make_org(name="Fraunhofer-Gesellschaft", kind="rto", size_class=None,
                   email_domain=None)
    return make_lab(organisation_id=org.id, name="Fraunhofer IPT", slug="fraunhofer-ipt",
                    website="https://www.ipt.fraunhofer.de/en.html")


REGISTER = {"full_name": "Anna Weber", "email": "anna.weber@fraunhofer.de",
            "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
            "accept_terms": "y"}


def test_the_pages_of_an_unmanaged_lab_offer_the_claim(client, ipt, people, make_equipment):
    item = make_equipment(ipt)
    for url in (f"/labs/{ipt.slug}", f"/equipment/{item.id}"):
        html = client.get(url).get_data(as_text=True)
        assert 'id="claim"' in html and "Not yet managed on LabNet — is this your lab?" in html
        assert f"/labs/{ipt.slug}/claim" in html
    managed = client.get(f"/labs/{people.lab.slug}").get_data(as_text=True)
    assert 'id="claim"' not in managed


def test_a_visitor_registers_at_the_labs_domain_and_one_link_makes_them_its_manager(
        smtp, client, app, ipt):
    claim_page = client.get(f"/labs/{ipt.slug}/claim")
    assert "ipt.fraunhofer.de" in claim_page.get_data(as_text=True)
    sent = post_form(client, f"/labs/{ipt.slug}/claim/register", REGISTER,
                     page=f"/labs/{ipt.slug}/claim")
    assert sent.status_code == 200
    assert "Check your e-mail" in sent.get_data(as_text=True)
    # Before the link: no login, no manager.
    refused = post_form(client, "/login", {"email": REGISTER["email"],
                                           "password": NEW_PASSWORD})
    assert refused.status_code == 422
    assert managers_of(app, ipt.id) == set()

    link = link_of(smtp, REGISTER["email"])
    followed = client.get(link)
    assert followed.status_code == 302
    assert followed.headers["Location"].startswith("/login")
    assert managers_of(app, ipt.id) == {REGISTER["email"]}
    with app.app_context():
        anna = db.session.scalar(select(User).where(User.email == REGISTER["email"]))
        assert anna.is_confirmed and anna.is_member and anna.org_role == "admin"
        assert anna.organisation_id == ipt.organisation_id
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "lab", AuditEvent.subject_id == ipt.id)))
        assert {"lab.claim_started", "lab.claim_proved", "lab.manager_added",
                "lab.first_manager"} <= actions
    # The lab's managers (Anna) hear of the new manager; she logs in and manages it.
    assert any("is now a manager" in m["Subject"] for m in smtp.to(REGISTER["email"]))
    login_as(client, anna, NEW_PASSWORD)
    assert client.get(f"/manage/labs/{ipt.slug}/managers").status_code == 200
    assert 'id="claim"' not in client.get(f"/labs/{ipt.slug}").get_data(as_text=True)
    # The link works once.
    again = client.get(link)
    assert again.status_code == 400
    assert "already used" in again.get_data(as_text=True)


def test_a_claim_link_expires(smtp, client, app, ipt, frozen_clock):
    post_form(client, f"/labs/{ipt.slug}/claim/register", REGISTER,
              page=f"/labs/{ipt.slug}/claim")
    link = link_of(smtp, REGISTER["email"])
    frozen_clock.move_to(frozen_clock.now + timedelta(days=7, minutes=1))
    expired = client.get(link)
    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True)
    assert managers_of(app, ipt.id) == set()


@pytest.mark.parametrize(("email", "words"), [
    ("anna@gmail.com", "free-mail address proves nothing"),
    ("anna@fraunhofer.com", "Use an address at ipt.fraunhofer.de"),
    ("anna@evil-ipt.fraunhofer.de.example", "Use an address at ipt.fraunhofer.de"),
])
def test_registering_with_an_address_outside_the_domain_is_refused_on_the_field(
        client, app, ipt, email, words):
    users, outbox_before = count(app, User), count(app, LabClaim)
    response = post_form(client, f"/labs/{ipt.slug}/claim/register",
                         {**REGISTER, "email": email}, page=f"/labs/{ipt.slug}/claim")
    assert response.status_code == 422
    shown = page(response)
    assert words in shown.errors["email"][0]
    assert shown.inputs["email"] == email and shown.inputs["full_name"] == "Anna Weber"
    assert count(app, User) == users and count(app, LabClaim) == outbox_before


@pytest.mark.parametrize(("changes", "field"), [
    ({"password": "short", "password_confirm": "short"}, "password"),
    ({"password_confirm": "something else 99"}, "password_confirm"),
    ({"full_name": ""}, "full_name"),
    ({"email": "not an address"}, "email"),
    ({"full_name": "Anna\x00Weber"}, "full_name"),
])
def test_bad_registration_input_names_its_field_and_writes_nothing(client, app, ipt, changes,
                                                                    field):
    users = count(app, User)
    response = post_form(client, f"/labs/{ipt.slug}/claim/register", {**REGISTER, **changes},
                         page=f"/labs/{ipt.slug}/claim")
    assert response.status_code == 422
    assert page(response).errors.get(field)
    assert count(app, User) == users and count(app, LabClaim) == 0


def test_an_address_with_an_account_gets_the_same_answer_and_its_owner_an_e_mail(
        smtp, client, app, ipt, make_user, make_org):
    other = make_org(name="Elsewhere")
    make_user(organisation=other, email="anna.weber@fraunhofer.de")
    response = post_form(client, f"/labs/{ipt.slug}/claim/register", REGISTER,
                         page=f"/labs/{ipt.slug}/claim")
    assert response.status_code == 200 and "Check your e-mail" in response.get_data(
        as_text=True)
    assert "tried to register" in smtp.to(REGISTER["email"])[-1]["Subject"]
    assert count(app, LabClaim) == 0 and managers_of(app, ipt.id) == set()


def test_registering_is_refused_when_the_labs_organisation_has_members(client, app, ipt,
                                                                        make_user):
    with app.app_context():
        org = db.session.get(Organisation, ipt.organisation_id)
    make_user(organisation=org, org_role="admin")
    shown = client.get(f"/labs/{ipt.slug}/claim").get_data(as_text=True)
    assert 'id="claim-join-first"' in shown and 'id="claim-register-form"' not in shown
    # A form kept open from before the organisation had members is refused all the same.
    response = post_form(client, f"/labs/{ipt.slug}/claim/register", REGISTER, page="/login")
    assert response.status_code == 422
    assert "has members on LabNet already" in page(response).errors["email"][0]


def test_a_member_of_the_labs_organisation_claims_by_domain_when_logged_in(
        smtp, client, app, ipt, make_user):
    with app.app_context():
        org = db.session.get(Organisation, ipt.organisation_id)
    member = make_user(organisation=org, email="jan@ipt.fraunhofer.de")
    login_as(client, member)
    url = f"/labs/{ipt.slug}/claim"
    assert 'id="claim-domain-form"' in client.get(url).get_data(as_text=True)
    # A subdomain of the lab's host counts too.
    sent = post_form(client, f"{url}/domain", {"email": "jan@mail.ipt.fraunhofer.de"},
                     page=url)
    assert sent.status_code == 200
    followed = client.get(link_of(smtp, "jan@mail.ipt.fraunhofer.de"))
    assert followed.status_code == 302
    assert followed.headers["Location"] == f"/manage/labs/{ipt.slug}/managers"
    assert managers_of(app, ipt.id) == {"jan@ipt.fraunhofer.de"}


def test_a_member_of_another_organisation_is_told_why_and_offered_approval(client, app, ipt,
                                                                           people):
    login_as(client, people.outsider)
    url = f"/labs/{ipt.slug}/claim"
    html = client.get(url).get_data(as_text=True)
    assert 'id="claim-other-org"' in html and 'id="claim-approval-form"' in html
    response = post_form(client, f"{url}/domain", {"email": "x@fraunhofer.de"}, page=url)
    assert response.status_code == 422
    assert "cannot move your account" in response.get_data(as_text=True)
    assert count(app, LabClaim) == 0


def test_a_managed_lab_takes_no_claims(client, app, people):
    login_as(client, people.outsider)
    url = f"/labs/{people.lab.slug}/claim"
    html = client.get(url).get_data(as_text=True)
    assert 'id="claim-managed"' in html and "ask its managers" in html
    response = post_form(client, f"{url}/approval", {"reason": "I work there."},
                         page=f"/labs/{people.other_lab.slug}/claim")
    assert response.status_code == 422
    assert "ask its managers" in page(response).errors["reason"][0]
    assert count(app, LabClaim) == 0


# --- approval ------------------------------------------------------------------------------


@pytest.fixture
def networked(app, ipt, people, make_user):
    """``ipt`` is an accepted member of a network run by ``people.coordinator``; another
    coordinator runs a network without it."""
    with app.test_request_context():
        from labnet import clock

        now = clock.utcnow()
        coordinator = db.session.get(User, people.coordinator.id)
        admin = db.session.get(User, people.admin.id)
        network = nw.create_network(coordinator, nw.NetworkFields(
            name="Claims chain", slug="claims-chain", ecosystem="digital"), now=now)
        stage = nw.add_stage(coordinator, network, nw.StageFields(name="Make"), now=now)
        # An invitation needs a receiver (rule 8): the unmanaged lab's public address.
        db.session.get(Lab, ipt.id).contact_email = "info@ipt.fraunhofer.de"
        member = nw.invite(coordinator, network, stage.id, ipt.slug, "", now=now)
        nw.answer_invitation(admin, member.id, True, "", now=now)
        db.session.commit()
    return make_user(roles=(Role.COORDINATOR,), full_name="Other Coordinator")


def test_approval_goes_to_the_labs_coordinators_who_approve_and_the_claimant_manages(
        smtp, client, app, ipt, people, networked):
    login_as(client, people.outsider)
    url = f"/labs/{ipt.slug}/claim"
    asked = post_form(client, f"{url}/approval",
                      {"reason": "I run the IPT test floor; ask Prof. Schmitt."}, page=url)
    assert asked.status_code == 302
    assert 'id="claim-waiting"' in client.get(url).get_data(as_text=True)
    [mail] = smtp.to(people.coordinator.email)
    assert "asks to manage Fraunhofer IPT" in mail["Subject"]
    assert "/claims#claim-" in smtp.text(mail)
    assert not smtp.to(people.admin.email) and not smtp.to(networked.email)
    # One open claim per person and lab.
    again = post_form(client, f"{url}/approval", {"reason": "Again."}, page=url)
    assert again.status_code == 422
    assert "asked for approval of this lab already" in page(again).errors["reason"][0]

    with app.app_context():
        claim_id = db.session.scalar(select(LabClaim.id))
    # Another network's coordinator neither sees nor decides it.
    other = app.test_client()
    login_as(other, networked)
    assert "Fraunhofer IPT" not in other.get("/claims").get_data(as_text=True)
    assert post_form(other, f"/claims/{claim_id}/decide", {"decision": "approve"},
                     page="/claims").status_code == 404

    coordinator = app.test_client()
    login_as(coordinator, people.coordinator)
    queue = coordinator.get("/claims").get_data(as_text=True)
    assert "I run the IPT test floor" in queue
    done = post_form(coordinator, f"/claims/{claim_id}/decide",
                     {"decision": "approve", "reason": "Confirmed by phone."}, page="/claims")
    assert done.status_code == 302
    assert managers_of(app, ipt.id) == {people.outsider.email}
    decided = smtp.to(people.outsider.email)
    assert any("was approved" in m["Subject"] for m in decided)
    assert any("is now a manager" in m["Subject"] for m in decided)
    assert "Confirmed by phone." in smtp.text(
        next(m for m in decided if "was approved" in m["Subject"]))


def test_declining_needs_a_reason_and_tells_the_claimant(smtp, client, app, ipt, people,
                                                         networked):
    login_as(client, people.member)
    url = f"/labs/{ipt.slug}/claim"
    post_form(client, f"{url}/approval", {"reason": "Trust me."}, page=url)
    with app.app_context():
        claim_id = db.session.scalar(select(LabClaim.id))
    admin = app.test_client()
    login_as(admin, people.admin)
    bare = post_form(admin, f"/claims/{claim_id}/decide", {"decision": "decline"},
                     page="/claims")
    assert bare.status_code == 422
    assert "Say why you decline" in bare.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(LabClaim, claim_id).status == "open"
    done = post_form(admin, f"/claims/{claim_id}/decide",
                     {"decision": "decline", "reason": "Nobody at IPT knows you."},
                     page="/claims")
    assert done.status_code == 302
    mail = smtp.to(people.member.email)[-1]
    assert "was declined" in mail["Subject"] and "Nobody at IPT knows you." in smtp.text(mail)
    assert managers_of(app, ipt.id) == set()


def test_a_lab_in_no_network_sends_its_claims_to_the_admins(smtp, client, app, ipt, people):
    login_as(client, people.member)
    url = f"/labs/{ipt.slug}/claim"
    post_form(client, f"{url}/approval", {"reason": "I am the lab's head."}, page=url)
    assert "asks to manage" in smtp.to(people.admin.email)[-1]["Subject"]
    assert not smtp.to(people.coordinator.email)


def test_an_empty_reason_is_refused_on_its_field(client, app, ipt, people):
    login_as(client, people.member)
    url = f"/labs/{ipt.slug}/claim"
    response = post_form(client, f"{url}/approval", {"reason": "   "}, page=url)
    assert response.status_code == 422
    assert page(response).errors["reason"]
    assert count(app, LabClaim) == 0


def test_the_claims_queue_is_for_admins_and_coordinators(client, app, people):
    login_as(client, people.manager)
    assert client.get("/claims").status_code == 403
    assert 'id="lab-claims"' not in client.get("/networks").get_data(as_text=True)
    coordinator = app.test_client()
    login_as(coordinator, people.coordinator)
    assert 'id="lab-claims"' in coordinator.get("/networks").get_data(as_text=True)
    assert 'id="no-claims"' in coordinator.get("/claims").get_data(as_text=True)


def test_registering_again_before_following_the_link_sends_a_fresh_claim_link(
        smtp, client, app, ipt):
    url = f"/labs/{ipt.slug}/claim"
    post_form(client, f"{url}/register", REGISTER, page=url)
    again = post_form(client, f"{url}/register", REGISTER, page=url)
    assert again.status_code == 200
    _first, second = smtp.to(REGISTER["email"])
    assert "Confirm your claim" in second["Subject"]
    assert client.get(link_of(smtp, REGISTER["email"])).status_code == 302
    assert managers_of(app, ipt.id) == {REGISTER["email"]}
    assert count(app, User) == 1  # one account, whose password was set the first time
