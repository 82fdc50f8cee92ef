"""DESIGN rule 8 for requests and network invitations: before sending, the page says per
lab who receives it; a lab without managers but with a public e-mail receives the text and
the claim link there; one with neither is refused before sending; the managers granted
later find the request in their inbox and answer it; requesters hear once when nobody has
answered in 7 days; coordinators see which of their labs are not managed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import LabRequest, NetworkMember, OutboxEmail, Role
from labnet.services.requests.workflow import UNANSWERED_AFTER, tell_unanswered_requesters
from tests.fixtures.auth import csrf_from, post_form

SERVICE = {"kind": "service", "title": "Tensile tests of printed parts",
           "summary": "Twelve samples, ISO 527; results as a PDF report.",
           "quantity": "12 samples", "deadline": "2026-04-30"}


@pytest.fixture
def s(app, frozen_clock, make_lab, make_user, make_org):
    class S:
        pass

    s = S()
    s.contact_lab = make_lab(name="Contact Lab", slug="contact-lab",
                             contact_email="info@contact-lab.example")
    s.silent_lab = make_lab(name="Silent Lab", slug="silent-lab", contact_email="")
    s.managed_lab = make_lab(name="Managed Lab", slug="managed-lab")
    s.manager = make_user(manages=(s.managed_lab,), full_name="Max Manager")
    s.member = make_user(organisation=make_org(kind="company", size_class="small"),
                         full_name="Mia Member")
    s.researcher = make_user(organisation=make_org(kind="rto", size_class=None),
                             full_name="Rita Researcher")
    s.admin = make_user(roles=(Role.ADMIN,))
    s.coordinator = make_user(roles=(Role.COORDINATOR,), full_name="Cora Coordinator")
    return s


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").get_data(
        as_text=True))})


def _send_service(app, client, slug: str):
    """Send the service request to one lab through the form; returns the response."""
    url = f"/requests/new?kind=service&lab={slug}"
    return post_form(client, "/requests/new", {**SERVICE, "lab": [slug]}, page=url)


def _reference(app) -> str:
    with app.app_context():
        return db.session.scalar(select(LabRequest.reference))


def test_the_form_says_per_lab_who_will_receive_the_request(client, login, s):
    login(s.member)
    page = client.get("/requests/new?kind=joint_project&lab=contact-lab&lab=silent-lab"
                      "&lab=managed-lab").get_data(as_text=True)
    assert "Goes to the lab&#39;s managers, who answer on LabNet." in page
    assert ("Not yet managed on LabNet: goes to the lab&#39;s public e-mail "
            "info@contact-lab.example, asking them to claim the lab on LabNet to answer.") in page
    assert "no public e-mail: nobody would receive it, so it cannot be sent." in page


def test_a_request_to_a_lab_with_only_a_public_email_goes_there_with_the_claim_link(
        smtp, app, client, login, s):
    login(s.member)
    response = _send_service(app, client, "contact-lab")
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "We sent it to the public e-mail address" in detail  # the flash says who got it
    mails = smtp.to("info@contact-lab.example")
    assert len(mails) == 1
    body = smtp.text(mails[0])
    assert body.startswith("Hello,\r\n")  # no account: a neutral greeting
    assert "Twelve samples, ISO 527; results as a PDF report." in body
    assert "Claim the lab on LabNet to answer" in body
    assert "http://labnet.test/labs/contact-lab#claim" in body
    assert "public contact e-mail of Contact Lab" in body


def test_the_companys_later_messages_reach_the_unmanaged_labs_public_email_too(
        smtp, app, client, login, s):
    login(s.member)
    _send_service(app, client, "contact-lab")
    ref = _reference(app)
    request_url = f"/requests/{ref}"
    response = post_form(client, f"{request_url}/messages",
                         {"body": "Could the report be in German?"}, page=request_url)
    assert response.status_code == 302
    mails = smtp.to("info@contact-lab.example")
    assert len(mails) == 2  # the request, then the message
    body = smtp.text(mails[-1])
    assert "Could the report be in German?" in body and ref in body
    assert "http://labnet.test/labs/contact-lab#claim" in body
    assert "public contact e-mail of Contact Lab" in body


def test_a_manager_granted_later_finds_the_request_and_answers_it(smtp, app, client, login, s):
    login(s.member)
    _send_service(app, client, "contact-lab")
    ref = _reference(app)
    _logout(client)
    login(s.admin)
    admin_page = f"/admin/users/{s.researcher.id}"
    post_form(client, f"{admin_page}/roles", {"role": "lab_manager", "lab": "contact-lab"},
              page=admin_page)
    _logout(client)
    login(s.researcher)
    assert ref in client.get("/requests/inbox").get_data(as_text=True)
    request_url = f"/requests/{ref}"
    response = post_form(client, f"{request_url}/answer",
                         {"lab": str(s.contact_lab.id), "decision": "accept",
                          "answer_message": "We can do it"}, page=request_url)
    assert response.status_code == 302
    told = [m for m in smtp.to(s.member.email) if ref in m["Subject"]]
    assert told and "We can do it" in smtp.text(told[-1])


def test_a_lab_with_neither_managers_nor_public_email_is_refused_before_sending(
        app, client, login, s):
    login(s.member)
    response = _send_service(app, client, "silent-lab")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nobody would receive this request: Silent Lab is not managed on LabNet" in page
    assert "Tensile tests of printed parts" in page  # the input is kept
    assert _count(app, LabRequest) == 0 and _count(app, OutboxEmail) == 0


def test_a_joint_project_with_one_unreachable_lab_is_refused_whole(app, client, login, s):
    login(s.member)
    labs = ["managed-lab", "silent-lab"]
    url = "/requests/new?kind=joint_project&lab=managed-lab&lab=silent-lab"
    response = post_form(client, "/requests/new", {
        "kind": "joint_project", "title": "Recyclable housings", "summary": "Design and test",
        "ket_code": "AMT", "budget_min_eur": "50000", "budget_max_eur": "200000",
        "duration_months": "18", "funding_programme": "Interreg", "trl_now": "3",
        "trl_target": "6", "lab": labs}, page=url)
    assert response.status_code == 422
    assert "Silent Lab" in response.get_data(as_text=True)
    assert _count(app, LabRequest) == 0 and _count(app, OutboxEmail) == 0


def test_the_requester_hears_once_when_no_lab_answered_in_7_days(
        smtp, app, client, login, s, frozen_clock):
    login(s.member)
    _send_service(app, client, "managed-lab")
    start = frozen_clock.now
    with app.test_request_context():
        assert tell_unanswered_requesters(now=start + UNANSWERED_AFTER
                                          - timedelta(minutes=1)) == 0
        assert tell_unanswered_requesters(now=start + UNANSWERED_AFTER) == 1
        db.session.commit()
        assert tell_unanswered_requesters(now=start + 2 * UNANSWERED_AFTER) == 0  # once
        row = db.session.scalar(select(OutboxEmail).where(
            OutboxEmail.kind == "request_unanswered"))
        ref = db.session.scalar(select(LabRequest.reference))
    assert row.to_addr == s.member.email
    assert "No lab has answered your service (test, analysis, prototype) request" in row.body_text
    assert "Managed Lab: Goes to the lab's managers" in row.body_text
    assert f"http://labnet.test/requests/{ref}" in row.body_text


def test_a_request_opened_by_the_lab_gets_no_unanswered_notice(app, client, login, s,
                                                                frozen_clock):
    login(s.member)
    _send_service(app, client, "managed-lab")
    ref = _reference(app)
    _logout(client)
    login(s.manager)
    post_form(client, f"/requests/{ref}/review", {}, page=f"/requests/{ref}")
    with app.test_request_context():
        assert tell_unanswered_requesters(now=frozen_clock.now + 2 * UNANSWERED_AFTER) == 0


# --- network invitations ------------------------------------------------------------------


@pytest.fixture
def network(app, client, login, s):
    login(s.coordinator)
    response = post_form(client, "/networks/new", {
        "name": "Print chain", "slug": "print-chain", "description": "Printed parts",
        "ket_code": "AMT", "ecosystem": "energy-renewables", "visibility": "public"})
    assert response.status_code == 302
    manage = "/networks/print-chain/manage"
    post_form(client, "/networks/print-chain/stages",
              {"name": "Testing", "description": "", "keywords": ""}, page=manage)
    with app.app_context():
        from labnet.models import NetworkStage
        stage_id = db.session.scalar(select(NetworkStage.id))
    return manage, stage_id


def test_an_invitation_to_an_unmanaged_lab_goes_to_its_public_email(
        smtp, app, client, s, network):
    manage, stage_id = network
    page = client.get(manage).get_data(as_text=True)
    assert "receives it at its public e-mail address" in page  # said before sending
    response = post_form(client, "/networks/print-chain/invite",
                         {"stage_id": str(stage_id), "lab": "contact-lab", "message": "Join us"},
                         page=manage)
    assert response.status_code == 302
    mails = smtp.to("info@contact-lab.example")
    assert len(mails) == 1
    body = smtp.text(mails[0])
    assert "Join us" in body and "http://labnet.test/labs/contact-lab#claim" in body
    assert "Claim the lab on LabNet to answer" in body
    # The coordinators' page lists the lab as not managed, with a count.
    page = client.get(manage).get_data(as_text=True)
    assert "Labs not yet managed on LabNet (1)" in page
    assert 'data-lab="contact-lab"' in page and "public e-mail info@contact-lab.example" in page


def test_an_invitation_to_a_lab_nobody_would_receive_is_refused(app, client, s, network):
    manage, stage_id = network
    response = post_form(client, "/networks/print-chain/invite",
                         {"stage_id": str(stage_id), "lab": "silent-lab", "message": "Hi"},
                         page=manage)
    assert response.status_code == 422
    assert "Nobody would receive this invitation: Silent Lab" in response.get_data(as_text=True)
    assert _count(app, NetworkMember) == 0


def test_a_managed_lab_is_not_listed_as_unmanaged(app, client, s, network):
    manage, stage_id = network
    post_form(client, "/networks/print-chain/invite",
              {"stage_id": str(stage_id), "lab": "managed-lab", "message": ""}, page=manage)
    page = client.get(manage).get_data(as_text=True)
    assert "Labs not yet managed on LabNet (0)" in page
