"""Labs join the platform, from the user's side (issue 12 §1, DESIGN rule 10): a member of a
university proposes a lab, an admin of the university approves it from the e-mail, the
proposer publishes it and it is in the catalogue; companies are refused; other
organisations see nothing; bad input is refused on its field with nothing written; admins
and coordinators create listed labs without a manager."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, Lab, LabManager, LabProposal, Organisation, OutboxEmail
from tests.fixtures.auth import login_as, post_form
from tests.web.test_auth import page

LINK_RE = re.compile(r"http://labnet\.test(/\S+)")


def link_in(text: str) -> str:
    """The path of the one LabNet link in an e-mail body."""
    [link] = set(LINK_RE.findall(text))
    return link

PROPOSAL = {
    "name": "Laser Applications Lab", "kind_code": "rto", "city": "Aachen", "country": "DE",
    "timezone": "Europe/Brussels", "ket_codes": ["AMT.LAS"], "website": "https://laser.example.org",
    "description": "Laser welding and cutting.",
}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _counts(app) -> dict[str, int]:
    return {m.__name__: _count(app, m) for m in (Lab, LabProposal, OutboxEmail, AuditEvent,
                                                  LabManager, Organisation)}


def _university(make_org, make_user, *, with_admin: bool = True):
    uni = make_org(kind="university", size_class=None, name="RWTH Example University")
    admin = make_user(organisation=uni, org_role="admin") if with_admin else None
    member = make_user(organisation=uni)
    return uni, admin, member


def _lab(app, name: str) -> Lab | None:
    with app.app_context():
        return db.session.scalar(select(Lab).where(Lab.name == name))


def test_a_university_member_proposes_the_admin_approves_and_the_proposer_publishes(
    smtp, app, client, make_org, make_user
):
    _uni, admin, member = _university(make_org, make_user)
    login_as(client, member)
    # "List your lab" in the catalogue leads to the form, which says who reviews.
    labs_page = client.get("/labs").get_data(as_text=True)
    assert 'href="/manage/propose"' in labs_page and "List your lab" in labs_page
    form = client.get("/manage/propose").get_data(as_text=True)
    assert f"An admin of RWTH Example University ({admin.full_name})" in form

    sent = post_form(client, "/manage/propose", PROPOSAL, follow_redirects=True)
    assert sent.status_code == 200
    assert "was sent for review" in sent.get_data(as_text=True)
    lab = _lab(app, "Laser Applications Lab")
    assert lab is not None and not lab.is_published and lab.lat is not None  # placed: Aachen
    # A draft: not in the catalogue, its page 404 for others.
    assert "Laser Applications Lab" not in client.get("/labs?q=laser").get_data(as_text=True)
    assert app.test_client().get(f"/labs/{lab.slug}").status_code == 404

    # The organisation admin gets an e-mail with the approval page, and approves there.
    [mail] = smtp.to(admin.email)
    assert "proposes the lab “Laser Applications Lab”" in mail["Subject"]
    assert "because you are an organisation admin of RWTH Example University" in smtp.text(mail)
    reviewer = app.test_client()
    login_as(reviewer, admin)
    url = link_in(smtp.text(mail))
    my_labs = reviewer.get("/manage").get_data(as_text=True)
    assert 'id="proposals-waiting"' in my_labs and "Lab proposals to review" in my_labs
    shown = reviewer.get(url)
    assert shown.status_code == 200 and "Laser welding and cutting." in shown.get_data(
        as_text=True)
    assert "Laser Applications Lab" in reviewer.get("/manage/proposals").get_data(as_text=True)
    approved = post_form(reviewer, f"{url}/approve", {}, page=url)
    assert approved.status_code == 302

    # The proposer manages it now, follows the e-mail's link and publishes it.
    [decided] = smtp.to(member.email)[-1:]
    assert "was approved" in decided["Subject"]
    edit_url = link_in(smtp.text(decided))
    assert edit_url == f"/manage/labs/{lab.slug}"
    edit = client.get(edit_url)
    assert edit.status_code == 200
    values = page(edit)
    published = post_form(client, edit_url, {
        "name": values.inputs["name"], "kind_code": "rto", "city": "Aachen", "country": "DE",
        "timezone": values.inputs["timezone"], "ket_codes": ["AMT.LAS"],
        "requires_approval": "y", "min_lead_hours": "24", "max_advance_days": "180",
        "cancel_deadline_hours": "24", "hold_hours": "72", "is_published": "y",
    })
    assert published.status_code == 302, page(published).errors
    assert "Laser Applications Lab" in app.test_client().get("/labs?q=laser").get_data(
        as_text=True)


def test_an_organisation_admin_proposing_gets_the_draft_at_once(
    smtp, app, client, make_org, make_user
):
    _uni, admin, _member = _university(make_org, make_user)
    login_as(client, admin)
    assert "the lab is created at once" in client.get("/manage/propose").get_data(as_text=True)
    done = post_form(client, "/manage/propose", PROPOSAL)
    lab = _lab(app, "Laser Applications Lab")
    assert done.status_code == 302 and done.headers["Location"] == f"/manage/labs/{lab.slug}"
    with app.app_context():
        assert db.session.get(LabManager, (lab.id, admin.id)) is not None
    assert smtp.messages == []  # nobody else to ask


def test_without_organisation_admins_labnet_admins_review(
    smtp, app, client, make_org, make_user
):
    _uni, _none, member = _university(make_org, make_user, with_admin=False)
    platform_admin = make_user(roles=("admin",))
    login_as(client, member)
    form = client.get("/manage/propose").get_data(as_text=True)
    assert "has no organisation admin on LabNet, so LabNet&#39;s admins review" in form
    assert post_form(client, "/manage/propose", PROPOSAL).status_code == 302
    [mail] = smtp.to(platform_admin.email)
    assert "as a LabNet admin because RWTH Example University has no organisation admin" in (
        " ".join(smtp.text(mail).split()))
    reviewer = app.test_client()
    login_as(reviewer, platform_admin)
    assert "Laser Applications Lab" in reviewer.get("/manage/proposals").get_data(as_text=True)


def test_a_declined_proposal_tells_the_proposer_why_and_removes_the_draft(
    smtp, app, client, make_org, make_user
):
    _uni, admin, member = _university(make_org, make_user)
    login_as(client, member)
    post_form(client, "/manage/propose", PROPOSAL)
    lab = _lab(app, "Laser Applications Lab")
    with app.app_context():
        proposal_id = db.session.scalar(select(LabProposal.id))
    reviewer = app.test_client()
    login_as(reviewer, admin)
    url = f"/manage/proposals/{proposal_id}"
    before = _counts(app)
    empty = post_form(reviewer, f"{url}/decline", {"reason": "  "}, page=url)
    assert empty.status_code == 422
    assert page(empty).errors["reason"] == ["Say why, so the proposer knows what to do next."]
    assert _counts(app) == before
    done = post_form(reviewer, f"{url}/decline",
                     {"reason": "This is part of the Photonics Institute's lab."}, page=url)
    assert done.status_code == 302
    assert _lab(app, "Laser Applications Lab") is None
    decided = smtp.to(member.email)[-1]
    assert "was declined" in decided["Subject"]
    assert "This is part of the Photonics Institute's lab." in smtp.text(decided)
    own = client.get("/manage/propose").get_data(as_text=True)
    assert "declined" in own and "Photonics Institute" in own
    # Deciding again is refused, not a 500.
    again = post_form(reviewer, f"{url}/approve", {}, page=url, follow_redirects=True)
    assert "already declined" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Lab, lab.id) is None


def test_a_company_member_cannot_propose_a_lab(app, client, make_org, make_user):
    company = make_org(kind="company", size_class="small")
    login_as(client, make_user(organisation=company))
    assert "List your lab" not in client.get("/labs").get_data(as_text=True)
    assert client.get("/manage/propose").status_code == 403
    before = _counts(app)
    assert post_form(client, "/manage/propose", PROPOSAL, page="/labs").status_code == 403
    assert _counts(app) == before


def test_another_organisation_neither_sees_nor_decides_a_proposal(
    smtp, app, client, make_org, make_user
):
    _uni, _admin, member = _university(make_org, make_user)
    login_as(client, member)
    post_form(client, "/manage/propose", PROPOSAL)
    with app.app_context():
        proposal_id = db.session.scalar(select(LabProposal.id))
    other_uni = make_org(kind="university", size_class=None)
    other_admin = make_user(organisation=other_uni, org_role="admin")
    stranger = app.test_client()
    login_as(stranger, other_admin)
    url = f"/manage/proposals/{proposal_id}"
    assert stranger.get(url).status_code == 404
    assert "Laser Applications Lab" not in stranger.get("/manage/proposals").get_data(
        as_text=True)
    before = _counts(app)
    assert post_form(stranger, f"{url}/approve", {}, page="/labs").status_code == 404
    assert post_form(stranger, f"{url}/decline", {"reason": "no"}, page="/labs"
                     ).status_code == 404
    assert _counts(app) == before
    # The proposer sees it but may not decide it.
    assert client.get(url).status_code == 200
    assert post_form(client, f"{url}/approve", {}, page="/labs").status_code == 403


def test_bad_input_names_each_field_keeps_the_values_and_writes_nothing(
    app, client, make_org, make_user
):
    _uni, _admin, member = _university(make_org, make_user)
    login_as(client, member)
    before = _counts(app)
    response = post_form(client, "/manage/propose", {
        **PROPOSAL, "name": "", "ket_codes": ["NOPE"], "country": "ZZ", "city": "Aachen <b>",
        "website": "not a url",
    })
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["name"] == ["Enter the lab's name."]
    assert shown.errors["website"] == ["Enter a full address, like https://lab.example.org."]
    assert shown.inputs["city"] == "Aachen <b>"
    assert _counts(app) == before
    # Past the form's shape, the service's rules: unknown KET area, unknown country.
    response = post_form(client, "/manage/propose", {**PROPOSAL, "ket_codes": ["NOPE"]})
    assert response.status_code == 422
    assert page(response).errors["ket_codes"] == ["Unknown KET area code: NOPE."]
    assert page(response).inputs["name"] == "Laser Applications Lab"
    assert _counts(app) == before
    # An address nowhere to be found asks for coordinates, and keeps what was typed.
    response = post_form(client, "/manage/propose", {**PROPOSAL, "city": "Nowhereville Zzz"})
    assert response.status_code == 422
    assert "enter the coordinates" in page(response).errors["lat"][0]
    assert page(response).inputs["city"] == "Nowhereville Zzz"
    assert _counts(app) == before


def test_an_admin_creates_a_listed_lab_of_a_new_organisation(app, client, make_user):
    admin = make_user(roles=("admin",))
    login_as(client, admin)
    assert "Create lab" in client.get("/admin/labs").get_data(as_text=True)
    done = post_form(client, "/manage/new-lab", {
        **PROPOSAL, "organisation": "Institut Laser Nord", "new_organisation": "y",
        "org_kind": "rto", "org_country": "", "is_published": "y",
    })
    assert done.status_code == 302, page(done).errors
    lab = _lab(app, "Laser Applications Lab")
    assert done.headers["Location"] == f"/labs/{lab.slug}"
    with app.app_context():
        org = db.session.get(Organisation, lab.organisation_id)
        assert (org.name, org.kind, org.country) == ("Institut Laser Nord", "rto", "DE")
        assert db.session.scalar(select(func.count()).select_from(LabManager).where(
            LabManager.lab_id == lab.id)) == 0
    assert lab.is_published
    listing = client.get("/admin/labs?q=laser").get_data(as_text=True)
    assert "Institut Laser Nord" in listing and "unmanaged" in listing


def test_a_coordinator_creates_a_lab_of_an_existing_organisation_but_not_of_a_company(
    app, client, make_org, make_user
):
    make_org(kind="rto", size_class=None, name="Fraunhofer Example")
    make_org(kind="company", size_class="small", name="Acme GmbH")
    coordinator = make_user(roles=("coordinator",))
    login_as(client, coordinator)
    assert client.get("/admin/labs").status_code == 403
    before = _counts(app)
    refused = post_form(client, "/manage/new-lab", {**PROPOSAL, "organisation": "acme gmbh",
                                                     "ket_codes": ["NOPE"]})
    assert refused.status_code == 422
    shown = page(refused)
    assert "labs belong to research or technology organisations" in shown.errors[
        "organisation"][0]
    assert shown.errors["ket_codes"] == ["Unknown KET area code: NOPE."]  # all at once
    assert shown.inputs["organisation"] == "acme gmbh"
    assert _counts(app) == before
    unknown = post_form(client, "/manage/new-lab", {**PROPOSAL, "organisation": "Nobody Inc"})
    assert "No organisation named “Nobody Inc”" in page(unknown).errors["organisation"][0]
    done = post_form(client, "/manage/new-lab", {**PROPOSAL,
                                                 "organisation": "fraunhofer example"})
    assert done.status_code == 302, page(done).errors
    assert not _lab(app, "Laser Applications Lab").is_published  # box left unticked


def test_members_and_managers_cannot_create_listed_labs(app, client, people):
    login_as(client, people.manager)
    assert client.get("/manage/new-lab").status_code == 403
    assert "Create a lab" not in client.get("/labs").get_data(as_text=True)
