"""The joint-project form from the sender's side: budget, duration, funding programme and
TRLs may be "not decided yet" (stored as unknown and shown so); every rule error is shown
at once, not one per submit; and the history of a request two labs answer lists its
events in time order."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail
from labnet.models.request import LabRequest
from tests.fixtures.auth import login_as, post_form


@pytest.fixture
def two_labs(app, frozen_clock, make_lab, make_user, make_org):
    class T:
        pass

    t = T()
    t.alpha = make_lab(name="Alpha Lab", slug="alpha-lab")
    t.beta = make_lab(name="Beta Lab", slug="beta-lab")
    t.member = make_user(organisation=make_org(kind="company", size_class="small"),
                         full_name="Mia Member")
    t.ada = make_user(manages=(t.alpha,), full_name="Ada Alpha")
    t.ben = make_user(manages=(t.beta,), full_name="Ben Beta")
    t.clock = frozen_clock
    return t


URL = "/requests/new?kind=joint_project&lab=alpha-lab&lab=beta-lab"
UNDECIDED = {"kind": "joint_project", "lab": ["alpha-lab", "beta-lab"],
             "title": "Recyclable housings", "summary": "Design and test", "ket_code": "AMT",
             "budget_min_eur": "", "budget_max_eur": "", "duration_months": "",
             "funding_programme": "", "trl_now": "", "trl_target": ""}


def _client(app, user):
    client = app.test_client()
    login_as(client, user)
    return client


def _written(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))  # type: ignore
                     for m in (LabRequest, AuditEvent, OutboxEmail))


def test_the_form_offers_not_decided_yet_and_stores_it_as_unknown(app, two_labs):
    client = _client(app, two_labs.member)
    form = client.get(URL).get_data(as_text=True)
    assert form.count(">Not decided yet</option>") == 3  # funding programme, both TRLs
    response = post_form(client, "/requests/new", UNDECIDED, page=URL)
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    with app.app_context():
        req = db.session.scalars(select(LabRequest)).one()
        assert (req.budget_min_eur, req.budget_max_eur, req.duration_months,
                req.funding_programme, req.trl_now, req.trl_target) == (
            None, None, None, "", None, None)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    for field in ("budget", "duration", "funding"):
        assert re.search(rf'id="{field}"><span class="text-muted">not decided yet', page)
    assert page.count("not decided yet") == 5  # budget, duration, funding, two TRLs


def test_every_rule_error_is_shown_at_once_with_the_input_kept(app, two_labs):
    client = _client(app, two_labs.member)
    before = _written(app)
    response = post_form(client, "/requests/new", {
        **UNDECIDED, "title": "", "budget_min_eur": "500000", "budget_max_eur": "1000",
        "duration_months": "soon", "funding_programme": "Lottery", "trl_now": "7",
        "trl_target": "4", "summary": "Kept summary"}, page=URL)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for words in ("Give the project a title.",  # a required field (the form)
                  "Not a valid integer value.",  # a shape error (the form)
                  "The maximum budget is below the minimum.",  # rules (the service) …
                  "The targeted TRL is below the current one."):  # … all in one answer
        assert words in html, words
    assert "Not a valid choice" in html or "Choose a funding programme from the list" in html
    assert 'value="500000"' in html and 'value="soon"' in html and "Kept summary" in html
    assert _written(app) == before  # nothing sent, audited or mailed


def test_the_service_alone_reports_every_rule_at_once(app, two_labs):
    client = _client(app, two_labs.member)
    before = _written(app)
    response = post_form(client, "/requests/new", {
        **UNDECIDED, "budget_min_eur": "500000", "budget_max_eur": "1000",
        "trl_now": "7", "trl_target": "4", "duration_months": "500"}, page=URL)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The maximum budget is below the minimum." in html
    assert "The targeted TRL is below the current one." in html
    assert "between 1 and 120 months" in html
    assert _written(app) == before


def test_history_of_a_two_lab_request_is_in_time_order(app, two_labs):
    t = two_labs
    member = _client(app, t.member)
    sent = post_form(member, "/requests/new", {**UNDECIDED, "duration_months": "12"},
                     page=URL)
    url = sent.headers["Location"]
    start = t.clock.now
    t.clock.move_to(start + timedelta(hours=1))
    beta = _client(app, t.ben)
    assert post_form(beta, f"{url}/answer", {"lab": str(t.beta.id), "decision": "decline",
                                             "answer_message": "Booked out"}).status_code == 302
    t.clock.move_to(start + timedelta(hours=2))
    alpha = _client(app, t.ada)
    assert post_form(alpha, f"{url}/answer", {"lab": str(t.alpha.id), "decision": "accept",
                                              "answer_message": ""}).status_code == 302
    t.clock.move_to(start + timedelta(hours=3))
    assert post_form(member, f"{url}/confirm", {}).status_code == 302
    page = member.get(url).get_data(as_text=True)
    history = page.split('id="history"')[1].split("</ul>")[0]
    lines = [re.sub(r"\s+", " ", li).strip()
             for li in re.findall(r"<li>(.*?)</li>", history, re.S)]
    times = [line[:16] for line in lines]
    assert times == sorted(times), lines
    assert [line.split(" — ", 1)[1] for line in lines] == [
        "submitted by Mia Member",
        "Beta Lab declined by Ben Beta",
        "in review by Ben Beta",
        "Alpha Lab accepted by Ada Alpha",
        "accepted by Ada Alpha",
        "active by Mia Member",
    ]
