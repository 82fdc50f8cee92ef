"""Requests through the pages: the buttons on lab and equipment pages, the form per kind
with refusals on their fields (input kept, nothing written), the request page's answers,
actions and thread, "My requests", the inbox, and the e-mails on a real SMTP server."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Role
from labnet.models.request import LabRequest, RequestMessage
from tests.fixtures.auth import csrf_from


@pytest.fixture
def s(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    class S:
        pass

    s = S()
    s.lab_a = make_lab(name="Alpha Lab", slug="alpha-lab")
    s.lab_b = make_lab(name="Beta Lab", slug="beta-lab")
    s.draft = make_lab(name="Draft Lab", slug="draft-lab", is_published=False)
    s.sem = make_equipment(s.lab_a, name="Alpha SEM")
    s.company = make_org(kind="company", size_class="small", name="Small Co")
    s.member = make_user(organisation=s.company, email="member@small.example",
                         full_name="Mia Member")
    s.colleague = make_user(organisation=s.company)
    s.outsider = make_user()
    s.manager_a = make_user(manages=(s.lab_a,), email="a@alpha.example", full_name="Ada Alpha",
                            organisation=make_org(kind="rto", size_class=None))
    s.manager_b = make_user(manages=(s.lab_b,), email="b@beta.example", full_name="Ben Beta")
    s.coordinator = make_user(roles=(Role.COORDINATOR,))
    s.now = frozen_clock.now
    return s


def page_of(response) -> str:
    return response.get_data(as_text=True)


def field_errors(page: str, field: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(
        rf'data-field="{field}">([^<]*)<', page)]


def post_page(client, url: str, data: dict, *, page_url: str | None = None):
    token = csrf_from(client.get(page_url or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def count(app, model=LabRequest) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def the_request(app) -> LabRequest:
    with app.app_context():
        return db.session.scalars(select(LabRequest).order_by(LabRequest.id.desc())).first()


JOINT = {"kind": "joint_project", "title": "Recyclable housings", "summary": "Design and test",
         "ket_code": "AMT", "budget_min_eur": "50000", "budget_max_eur": "200000",
         "duration_months": "18", "funding_programme": "Interreg", "trl_now": "3",
         "trl_target": "6"}


def send_joint(client, labs=("alpha-lab", "beta-lab"), **change):
    url = "/requests/new?kind=joint_project" + "".join(f"&lab={slug}" for slug in labs)
    data = {**JOINT, "lab": list(labs), **change}
    return post_page(client, "/requests/new", data, page_url=url)


# --- the buttons and the form ---------------------------------------------------------------


def test_lab_and_equipment_pages_link_to_the_three_kinds(client, s, login):
    login(s.member)
    lab_page = page_of(client.get("/labs/alpha-lab"))
    for kind in ("access", "service", "joint_project"):
        assert f"/requests/new?kind={kind}&amp;lab=alpha-lab" in lab_page
    for label in ("Ask for access", "Request a service", "Propose a joint project"):
        assert label in lab_page
    eq_page = page_of(client.get(f"/equipment/{s.sem.id}"))
    assert f"/requests/new?kind=access&amp;lab=alpha-lab&amp;equipment={s.sem.id}" in eq_page
    # A draft lab's page (seen by nobody here) offers nothing: it is 404 for the member.
    assert client.get("/labs/draft-lab").status_code == 404


def test_member_asks_for_access_from_an_equipment_page(app, client, s, login):
    login(s.member)
    url = f"/requests/new?kind=access&lab=alpha-lab&equipment={s.sem.id}"
    form = page_of(client.get(url))
    assert 'value="Alpha SEM"' in form  # the title is prefilled with the equipment
    assert "Alpha Lab" in form
    response = post_page(client, "/requests/new", {
        "kind": "access", "lab": "alpha-lab", "equipment": str(s.sem.id),
        "title": "Alpha SEM", "summary": "Two days of imaging, self-service after training"},
        page_url=url)
    assert response.status_code == 302
    req = the_request(app)
    assert (req.kind, req.status, req.equipment_id) == ("access", "submitted", s.sem.id)
    assert response.headers["Location"].endswith(f"/requests/{req.reference}")
    detail = page_of(client.get(response.headers["Location"]))
    assert f"Request {req.reference} sent" in detail
    assert 'data-status="submitted"' in detail
    assert "Alpha SEM" in detail


def test_member_requests_a_service_with_quantity_and_deadline(app, client, s, login):
    login(s.member)
    url = "/requests/new?kind=service&lab=beta-lab"
    deadline = (s.now + timedelta(days=30)).date().isoformat()
    response = post_page(client, "/requests/new", {
        "kind": "service", "lab": "beta-lab", "title": "Salt-spray test",
        "summary": "ISO 9227, 480 h", "quantity": "12 coated panels", "deadline": deadline},
        page_url=url)
    assert response.status_code == 302
    req = the_request(app)
    assert (req.kind, req.quantity, req.deadline.isoformat()) == ("service",
                                                                  "12 coated panels", deadline)


def test_networks_link_preselects_several_labs_and_sends_a_joint_project(app, client, s,
                                                                         login):
    login(s.member)
    form = page_of(client.get("/requests/new?kind=joint_project&lab=alpha-lab&lab=beta-lab"))
    assert 'name="lab" value="alpha-lab"' in form and 'name="lab" value="beta-lab"' in form
    assert "Horizon Europe" in form and "Digital Europe" in form
    response = send_joint(client)
    assert response.status_code == 302
    with app.app_context():
        from labnet.services.requests.workflow import load_request

        req = load_request(the_request(app).id)
        assert [link.lab.slug for link in req.labs] == ["alpha-lab", "beta-lab"]
        assert (req.funding_programme, req.trl_now, req.trl_target) == ("Interreg", 3, 6)


def test_add_a_lab_button_puts_a_published_lab_on_the_list_without_writing(app, client, s,
                                                                           login):
    login(s.member)
    url = "/requests/new?kind=joint_project&lab=alpha-lab"
    page = page_of(post_page(client, "/requests/new", {**JOINT, "lab": ["alpha-lab"],
                                                       "add_lab": "beta-lab", "add": "1"},
                             page_url=url))
    assert 'name="lab" value="beta-lab"' in page
    assert 'value="Recyclable housings"' in page
    response = post_page(client, "/requests/new", {**JOINT, "lab": ["alpha-lab"],
                                                   "add_lab": "draft-lab", "add": "1"},
                         page_url=url)
    assert response.status_code == 422
    assert field_errors(page_of(response), "add_lab") == [
        "There is no published lab “draft-lab”: enter a lab's name or its address name, "
        "or choose a suggestion."]
    assert count(app) == 0


BAD = [
    ("missing title", {"title": ""}, "title", "Give the project a title."),
    ("missing summary", {"summary": "  "}, "summary", "Summarise the project."),
    ("missing KET", {"ket_code": ""}, "ket_code", "Choose the project's Key Enabling Technology."),
    ("budget reversed", {"budget_min_eur": "300000"}, "budget_max_eur",
     "The maximum budget is below the minimum."),
    ("TRL target below now", {"trl_now": "6", "trl_target": "4"}, "trl_target",
     "The targeted TRL is below the current one."),
    ("summary too long", {"summary": "x" * 5001}, "summary",
     "Keep the summary under 5,000 characters."),
    ("draft lab", {"lab": ["alpha-lab", "draft-lab"]}, "lab",
     "There is no published lab “draft-lab”."),
    ("lab that does not exist", {"lab": ["no-such-lab"]}, "lab",
     "There is no published lab “no-such-lab”."),
    ("no lab", {"lab": []}, "lab", "Choose at least one lab for the joint project."),
    ("budget not a number", {"budget_min_eur": "lots"}, "budget_min_eur",
     "Not a valid integer value."),
    ("funding programme not in the list", {"funding_programme": "Lottery"},
     "funding_programme", "Not a valid choice."),
]


@pytest.mark.parametrize(("what", "change", "field", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_joint_project_input_is_refused_on_its_field_with_the_input_kept(
        app, client, s, login, what, change, field, message):
    login(s.member)
    response = send_joint(client, **change)
    assert response.status_code == 422, what
    page = page_of(response)
    assert message in field_errors(page, field), (what, re.findall(r'data-field="[^"]+">[^<]*',
                                                                  page))
    if field != "title":
        assert 'value="Recyclable housings"' in page  # what the user typed is kept
    assert count(app) == 0


def test_service_deadline_in_the_past_and_missing_quantity(app, client, s, login):
    login(s.member)
    url = "/requests/new?kind=service&lab=alpha-lab"
    past = (s.now - timedelta(days=1)).date().isoformat()
    response = post_page(client, "/requests/new", {
        "kind": "service", "lab": "alpha-lab", "title": "Salt spray", "summary": "480 h",
        "quantity": "", "deadline": ""}, page_url=url)
    assert response.status_code == 422
    page = page_of(response)
    # Every missing field at once.
    assert field_errors(page, "quantity") == ["Say how many (samples, parts, hours…)."]
    assert field_errors(page, "deadline") == ["Give the date you need the results by."]
    response = post_page(client, "/requests/new", {
        "kind": "service", "lab": "alpha-lab", "title": "Salt spray", "summary": "480 h",
        "quantity": "3", "deadline": past}, page_url=url)
    assert response.status_code == 422
    page = page_of(response)
    assert field_errors(page, "deadline") == ["The deadline is in the past."]
    assert f'value="{past}"' in page and 'value="Salt spray"' in page
    assert count(app) == 0


def test_cluster_organisations_do_not_send_requests(client, s, login, make_user, make_org):
    login(make_user(organisation=make_org(kind="cluster", size_class=None)))
    response = client.get("/requests/new?kind=access&lab=beta-lab")
    assert response.status_code == 403
    assert "Requests are sent by companies and research organisations" in page_of(response)


def test_a_research_organisations_member_sends_a_request_as_a_customer(smtp, app, client, s,
                                                                       login):
    login(s.manager_a)  # a research organisation's member, asking another lab
    response = send_joint(client, labs=("beta-lab",))
    assert response.status_code == 302
    req = the_request(app)
    assert req.organisation_id == s.manager_a.organisation_id
    assert any(req.reference in m["Subject"] for m in smtp.to("b@beta.example"))


# --- the request page: answers, actions, thread ----------------------------------------------


def test_joint_project_through_the_pages_one_accepts_one_declines_company_confirms(
        app, client, s, login):
    login(s.member)
    send_joint(client)
    ref = the_request(app).reference
    url = f"/requests/{ref}"
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get(url)))})

    login(s.manager_b)
    inbox = page_of(client.get("/requests/inbox"))
    assert ref in inbox
    assert re.search(r'data-lab="beta-lab">.*?class="text-end waiting">1<', inbox, re.S)
    assert 'id="nav-request-inbox"' in inbox and ">1</span>" in inbox
    response = post_page(client, f"{url}/answer", {"lab": str(s.lab_b.id),
                                                   "decision": "decline",
                                                   "answer_message": ""}, page_url=url)
    assert response.status_code == 422
    assert "Tell the company why your lab declines." in page_of(response)
    response = post_page(client, f"{url}/answer", {"lab": str(s.lab_b.id),
                                                   "decision": "decline",
                                                   "answer_message": "No capacity"},
                         page_url=url)
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get(url)))})

    login(s.manager_a)
    response = post_page(client, f"{url}/answer", {"lab": str(s.lab_a.id),
                                                   "decision": "accept",
                                                   "answer_message": "Glad to"}, page_url=url)
    assert response.status_code == 302
    page = page_of(client.get(url))
    assert 'data-status="accepted"' in page
    # The lab cannot confirm for the company: no button, and the route refuses.
    assert 'id="confirm"' not in page
    assert post_page(client, f"{url}/confirm", {}, page_url=url).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get(url)))})

    login(s.colleague)  # any member of the company confirms
    page = page_of(client.get(url))
    assert "No capacity" in page and "Glad to" in page
    response = post_page(client, f"{url}/confirm", {}, page_url=url)
    assert response.status_code == 302
    page = page_of(client.get(url))
    assert 'data-status="active"' in page
    # A second click (stale page) is refused with a message, nothing changes.
    response = post_page(client, f"{url}/confirm", {}, page_url=url)
    assert response.status_code == 422
    assert "it can be confirmed once at least one lab has accepted" in page_of(response)
    response = post_page(client, f"{url}/complete", {}, page_url=url)
    assert response.status_code == 302
    assert 'data-status="completed"' in page_of(client.get(url))


def test_thread_shows_both_sides_and_refuses_empty_or_oversized_messages(app, client, s,
                                                                         login):
    login(s.member)
    send_joint(client, labs=("alpha-lab",))
    ref = the_request(app).reference
    url = f"/requests/{ref}"
    response = post_page(client, f"{url}/messages", {"body": "<script>alert(1)</script>"},
                         page_url=url)
    assert response.status_code == 302
    response = post_page(client, f"{url}/messages", {"body": "y" * 5001}, page_url=url)
    assert response.status_code == 422
    assert field_errors(page_of(response), "body") == ["Keep the message under 5,000 characters."]
    assert count(app, RequestMessage) == 1
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get(url)))})
    login(s.manager_a)
    response = post_page(client, f"{url}/messages", {"body": "Which alloy?"}, page_url=url)
    assert response.status_code == 302
    page = page_of(client.get(url))
    assert 'data-status="in_review"' in page  # a lab's first message is its first response
    sides = re.findall(r'data-side="(\w+)"', page)
    assert sides == ["company", "lab"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Which alloy?" in page


def test_withdraw_by_the_company_and_closed_thread(app, client, s, login):
    login(s.member)
    send_joint(client, labs=("alpha-lab",))
    url = f"/requests/{the_request(app).reference}"
    assert post_page(client, f"{url}/withdraw", {}, page_url=url).status_code == 302
    page = page_of(client.get(url))
    assert 'data-status="withdrawn"' in page and 'id="thread-closed"' in page
    assert 'id="message-form"' not in page
    response = post_page(client, f"{url}/withdraw", {}, page_url=f"/requests/{the_request(app).id}")
    assert response.status_code == 422
    assert "can no longer be withdrawn" in page_of(response)


def test_my_requests_lists_the_organisations_requests_only(app, client, s, login):
    login(s.member)
    send_joint(client)
    ref = the_request(app).reference
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get("/requests")))})
    login(s.colleague)
    page = page_of(client.get("/requests"))
    assert ref in page and "Alpha Lab" in page and "Beta Lab" in page
    assert ref in page_of(client.get("/requests?status=open"))
    assert ref not in page_of(client.get("/requests?status=completed"))
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get("/requests")))})
    login(s.outsider)
    assert ref not in page_of(client.get("/requests"))
    assert client.get(f"/requests/{ref}").status_code == 404


def test_inbox_filters_by_lab_and_status(app, client, s, make_user, login):
    login(s.member)
    send_joint(client, labs=("alpha-lab",), title="For alpha")
    send_joint(client, labs=("beta-lab",), title="For beta")
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get("/requests")))})
    both = make_user(manages=(s.lab_a, s.lab_b))
    login(both)
    page = page_of(client.get("/requests/inbox"))
    assert "For alpha" in page and "For beta" in page
    page = page_of(client.get("/requests/inbox?lab=beta-lab"))
    assert "For alpha" not in page and "For beta" in page
    page = page_of(client.get("/requests/inbox?status=accepted"))
    assert "For alpha" not in page and "For beta" not in page
    # Members of no lab have no inbox.
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get("/requests")))})
    login(s.coordinator)
    assert client.get("/requests/inbox").status_code == 403


# --- e-mail through the real SMTP server -----------------------------------------------------


def test_new_message_and_status_change_arrive_by_smtp_with_text_escaped(smtp, app, client, s,
                                                                        login):
    login(s.member)
    send_joint(client, labs=("alpha-lab",))
    [new] = smtp.to("a@alpha.example")
    assert "New joint project request" in new["Subject"]
    ref = the_request(app).reference
    url = f"/requests/{ref}"
    post_page(client, f"{url}/messages", {"body": "Is <b>bold</b> & fine?"}, page_url=url)
    message = smtp.to("a@alpha.example")[-1]
    assert message["Subject"] == f"New message on request {ref}: Recyclable housings"
    assert "Is <b>bold</b> & fine?" in smtp.text(message)
    html_part = message.get_body(preferencelist=("html",)).get_content()
    assert "Is &lt;b&gt;bold&lt;/b&gt; &amp; fine?" in html_part
    assert f"/requests/{ref}" in smtp.text(message)
    assert smtp.to("member@small.example") == []  # the author is not mailed their own words
    client.post("/logout", data={"csrf_token": csrf_from(page_of(client.get(url)))})

    login(s.manager_a)
    post_page(client, f"{url}/answer", {"lab": str(s.lab_a.id), "decision": "accept",
                                        "answer_message": "Yes <i>gladly</i>"}, page_url=url)
    [status] = smtp.to("member@small.example")
    assert status["Subject"] == f"Request {ref}: Alpha Lab accepted"
    assert "Alpha Lab accepted the request." in smtp.text(status)
    assert "Yes <i>gladly</i>" in smtp.text(status)
    assert "Yes &lt;i&gt;gladly&lt;/i&gt;" in status.get_body(
        preferencelist=("html",)).get_content()


# --- query counts do not grow with the rows shown ------------------------------------------


def _many(app, s, n: int) -> None:
    from labnet.models import User
    from labnet.services.requests.workflow import NewRequest, create_request, post_message

    with app.test_request_context():
        member = db.session.get(User, s.member.id)
        for i in range(n):
            req = create_request(member, NewRequest(
                kind="joint_project", lab_ids=[s.lab_a.id, s.lab_b.id], title=f"Project {i}",
                summary="Summary", ket_code="AMT", duration_months=6,
                funding_programme="Interreg", trl_now=2, trl_target=4), now=s.now)
            post_message(member, req.id, f"Message {i}", now=s.now)
            post_message(db.session.get(User, s.manager_a.id), req.id, "Reply", now=s.now)
        db.session.commit()


def test_lists_and_the_request_page_need_the_same_queries_for_2_or_12_requests(
        app, client, s, quick_login, count_queries):
    _many(app, s, 2)
    quick_login(client, s.member)
    small = [count_queries(u) for u in ("/requests", "/requests/1")]
    quick_login(client, s.manager_a)
    small.append(count_queries("/requests/inbox"))
    _many(app, s, 10)
    quick_login(client, s.member)
    large = [count_queries(u) for u in ("/requests", "/requests/12")]
    quick_login(client, s.manager_a)
    large.append(count_queries("/requests/inbox"))
    assert small == large, (small, large)
