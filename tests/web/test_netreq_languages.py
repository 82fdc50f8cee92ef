"""Networks and requests in another language: the pages, the refusals and the e-mails are
written from LabNet's catalogues, so every translated text renders (placeholders, plurals,
markup) and e-mail reaches each recipient in their own language."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import Role
from labnet.models.audit import OutboxEmail
from labnet.models.network import Network, NetworkMember, NetworkStage
from labnet.models.request import LabRequest
from tests.fixtures.auth import csrf_from, login_as, post_form


@pytest.fixture
def slice_catalogues():
    """LabNet's own catalogues (the tests once read this part's translations before they
    were merged; the name stays for the tests that ask for it)."""
    return


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


@pytest.fixture
def cast(make_user, make_lab, make_org):
    class C:
        pass

    c = C()
    c.coordinator = make_user(roles=(Role.COORDINATOR,), locale="de")
    c.materials = make_lab(name="Materials Lab", slug="materials-lab", country="FR",
                           lat=45.18, lon=5.72, kets=("AMN",))
    c.pilot = make_lab(name="Pilot Lab", slug="pilot-lab", country="FI", lat=60.2, lon=24.65,
                       kets=("AMT",))
    c.manager = make_user(manages=(c.materials,), locale="fr", email="m@materials.example")
    c.pilot_manager = make_user(manages=(c.pilot,), locale="pl", email="p@pilot.example")
    c.company = make_org(kind="company", size_class="small", name="Small Co")
    c.member = make_user(organisation=c.company, locale="de", email="member@small.example")
    return c


def _network(app, client, login, cast):
    login(cast.coordinator)
    response = post_form(client, "/networks/new", {
        "name": "Battery chain", "slug": "", "description": "", "ket_code": "AMN",
        "ecosystem": "energy-renewables", "visibility": "public"})
    assert response.status_code == 302
    for name in ("Materials", "Pilot production"):
        assert post_form(client, "/networks/battery-chain/stages",
                         {"name": name, "description": "", "keywords": "", "ket_codes": ["AMN"]},
                         page="/networks/battery-chain/manage").status_code == 302
    with app.app_context():
        network = db.session.scalar(select(Network).where(Network.slug == "battery-chain"))
        return list(db.session.scalars(select(NetworkStage.id).where(
            NetworkStage.network_id == network.id).order_by(NetworkStage.position)))


def _subjects(app, address) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxEmail.subject).where(
            OutboxEmail.to_addr == address).order_by(OutboxEmail.id)))


def test_network_pages_refusals_and_mail_in_each_readers_language(
        app, client, login, cast, slice_catalogues):
    stages = _network(app, client, login, cast)
    manage = _text(client.get("/networks/battery-chain/manage"))
    assert "Ein Labor einladen" in manage and "Invite a lab" not in manage
    assert "Stufe hinzufügen" in manage
    # A refusal from the service, in the coordinator's language.
    refused = _post(client, "/networks/battery-chain/invite",
                    {"stage_id": str(stages[0]), "lab": "", "message": ""},
                    page="/networks/battery-chain/manage")
    assert refused.status_code == 422
    assert "Geben Sie das einzuladende Labor ein" in _text(refused)
    invited = _post(client, "/networks/battery-chain/invite",
                    {"stage_id": str(stages[0]), "lab": "materials-lab", "message": "Hi"},
                    page="/networks/battery-chain/manage")
    assert invited.status_code == 302
    for url, expected in (("/networks", "Wertschöpfungsnetzwerke"),
                          ("/networks/battery-chain", "Die Kette"),
                          ("/networks/battery-chain/gaps", "Lücken in der Kette"),
                          ("/networks/battery-chain/edit", "Netzwerk bearbeiten"),
                          (f"/networks/battery-chain/stages/{stages[1]}/edit",
                           "Stufe bearbeiten")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in _text(response), url
    assert "2 Stufen" in _text(client.get("/networks"))

    client = app.test_client()
    login_as(client, cast.manager)
    page = _text(client.get("/networks/invitations"))
    assert "Réseaux de mes laboratoires" in page and "invité" in page
    with app.app_context():
        member_id = db.session.scalar(select(NetworkMember.id))
    answered = _post(client, f"/networks/invitations/{member_id}/answer",
                     {"answer": "accept", "answer_message": ""},
                     page="/networks/invitations")
    assert answered.status_code == 302


def test_request_pages_refusals_and_mail_in_each_readers_language(
        app, client, login, cast, slice_catalogues):
    login(cast.member)
    form = _text(client.get("/requests/new?kind=service&lab=materials-lab"))
    assert "Dienstleistung anfragen" in form and "Anfrage senden" in form
    refused = _post(client, "/requests/new",
                    {"kind": "service", "lab": ["materials-lab"], "title": "", "summary": ""},
                    page="/requests/new?kind=service&lab=materials-lab")
    assert refused.status_code == 422
    assert "Geben Sie an, was das Labor prüfen, analysieren oder herstellen soll." in _text(
        refused)
    sent = _post(client, "/requests/new", {
        "kind": "service", "lab": ["materials-lab"], "title": "SEM images",
        "summary": "Ten samples", "quantity": "10 samples", "deadline": "2099-01-01"},
        page="/requests/new?kind=service&lab=materials-lab")
    assert sent.status_code == 302, _text(sent)
    with app.app_context():
        reference = db.session.scalar(select(LabRequest.reference))
    detail = _text(client.get(f"/requests/{reference}"))
    assert "Anfrage zurückziehen" in detail and "Verlauf" in detail
    assert re.search(r"eingereicht von \S", detail)
    assert "Meine Anfragen" in _text(client.get("/requests"))
    withdrawn = _post(client, f"/requests/{reference}/withdraw", {},
                      page=f"/requests/{reference}")
    assert withdrawn.status_code == 302
    closed = _text(client.get(f"/requests/{reference}"))
    assert "Ihr Nachrichtenverlauf ist geschlossen." in closed

    client = app.test_client()
    login_as(client, cast.manager)
    inbox = _text(client.get("/requests/inbox"))
    assert "Tous mes laboratoires" in inbox
    again = _post(client, f"/requests/{reference}/review", {}, page=f"/requests/{reference}")
    assert again.status_code in (409, 422)
    assert "Cette demande est " in _text(again)


def test_network_mail_in_each_recipients_language(app, client, login, cast, slice_catalogues):
    stages = _network(app, client, login, cast)
    assert _post(client, "/networks/battery-chain/invite",
                 {"stage_id": str(stages[0]), "lab": "materials-lab", "message": ""},
                 page="/networks/battery-chain/manage").status_code == 302
    # The French manager's invitation is in French, whoever sent it.
    assert _subjects(app, "m@materials.example") == [
        "Invitation\u00a0: Materials Lab dans le réseau Battery chain"]
    manager = app.test_client()
    login_as(manager, cast.manager)
    with app.app_context():
        member_id = db.session.scalar(select(NetworkMember.id))
    assert _post(manager, f"/networks/invitations/{member_id}/answer",
                 {"answer": "decline", "answer_message": ""},
                 page="/networks/invitations").status_code == 302
    # The German coordinator hears of it in German.
    assert _subjects(app, cast.coordinator.email) == [
        "Materials Lab hat die Einladung zu Battery chain abgelehnt"]


def test_request_mail_in_each_recipients_language(app, client, login, cast, slice_catalogues):
    login(cast.member)
    assert _post(client, "/requests/new", {
        "kind": "service", "lab": ["materials-lab"], "title": "SEM images",
        "summary": "Ten samples", "quantity": "10 samples", "deadline": "2099-01-01"},
        page="/requests/new?kind=service&lab=materials-lab").status_code == 302
    with app.app_context():
        reference = db.session.scalar(select(LabRequest.reference))
    assert _subjects(app, "m@materials.example") == [
        f"Nouvelle demande de service {reference}\u00a0: SEM images"]
    manager = app.test_client()
    login_as(manager, cast.manager)
    assert _post(manager, f"/requests/{reference}/answer",
                 {"lab": "", "decision": "accept", "answer_message": ""},
                 page=f"/requests/{reference}").status_code == 302
    assert _subjects(app, cast.member.email)[-1] == (
        f"Anfrage {reference}: Materials Lab hat angenommen")


@pytest.mark.parametrize("language", ["de", "fr", "it", "sl", "cs", "pl", "hu"])
def test_every_page_of_the_part_renders_in_each_language(
        app, client, login, cast, slice_catalogues, language):
    with app.app_context():
        for person in (cast.coordinator, cast.member, cast.manager):
            db.session.get(type(person), person.id).locale = language
        db.session.commit()
    stages = _network(app, client, login, cast)
    assert _post(client, "/networks/battery-chain/invite",
                 {"stage_id": str(stages[0]), "lab": "materials-lab", "message": "Hi"},
                 page="/networks/battery-chain/manage").status_code == 302
    assert _post(client, f"/networks/battery-chain/stages/{stages[1]}/retire", {},
                 page="/networks/battery-chain/manage").status_code == 302
    for url in ("/networks", "/networks/battery-chain", "/networks/battery-chain/manage",
                "/networks/battery-chain/gaps", "/networks/battery-chain/edit",
                "/networks/new", f"/networks/battery-chain/stages/{stages[0]}/edit"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == language, url
    member = app.test_client()
    login_as(member, cast.member)
    for kind in ("access", "service", "joint_project"):
        assert member.get(f"/requests/new?kind={kind}&lab=materials-lab").status_code == 200
    assert member.get("/requests/new?lab=materials-lab").status_code == 200
    sent = _post(member, "/requests/new", {
        **{"kind": "joint_project", "lab": ["materials-lab", "pilot-lab"],
           "title": "Housings", "summary": "Design", "ket_code": "AMT",
           "budget_min_eur": "100", "budget_max_eur": "200", "duration_months": "3",
           "funding_programme": "", "trl_now": "3", "trl_target": "5"}},
        page="/requests/new?kind=joint_project&lab=materials-lab&lab=pilot-lab")
    assert sent.status_code == 302, _text(sent)
    with app.app_context():
        reference = db.session.scalar(select(LabRequest.reference))
    assert _post(member, f"/requests/{reference}/messages", {"body": "Hello", "lab": ""},
                 page=f"/requests/{reference}").status_code == 302
    for url in (f"/requests/{reference}", "/requests", "/requests?status=open"):
        assert member.get(url).status_code == 200, url
    manager = app.test_client()
    login_as(manager, cast.manager)
    assert _post(manager, f"/requests/{reference}/answer",
                 {"lab": "", "decision": "decline", "answer_message": ""},
                 page=f"/requests/{reference}").status_code == 422
    assert _post(manager, f"/requests/{reference}/answer",
                 {"lab": "", "decision": "accept", "answer_message": "Yes"},
                 page=f"/requests/{reference}").status_code == 302
    for url in (f"/requests/{reference}", "/requests/inbox", "/networks/invitations"):
        assert manager.get(url).status_code == 200, url
