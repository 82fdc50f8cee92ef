"""Lab pickers (issue 12 §1): the joint-project form, network invitations and the admins'
role form take a lab's name or address name; suggestions come from ``/labs/suggest.json``
(published labs only); without JavaScript an unambiguous name is accepted and a shared one
is refused naming the candidates."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import LabManager, LabRequest, NetworkMember
from tests.fixtures.auth import login_as, post_form
from tests.web.test_requests import JOINT, count, field_errors, page_of, post_page


@pytest.fixture
def labs(make_lab):
    class Labs:
        pass

    labs = Labs()
    labs.alpha = make_lab(name="Alpha Lab", slug="alpha-lab")
    labs.laser = make_lab(name="Laser Centre North", slug="laser-centre-north",
                          contact_email="info@laser-north.example")  # someone receives invitations
    labs.twin_a = make_lab(name="Twin Lab", slug="twin-lab-aachen", city="Aachen")
    labs.twin_b = make_lab(name="Twin Lab", slug="twin-lab-graz", city="Graz", country="AT")
    labs.draft = make_lab(name="Laser Draft", slug="laser-draft", is_published=False)
    return labs


def test_suggestions_are_published_labs_by_name_and_shared_names_give_the_address_name(
    client, labs
):
    found = client.get("/labs/suggest.json?q=LASER").get_json()
    assert [s["value"] for s in found] == ["Laser Centre North"]  # the draft never
    assert "Aachen" in found[0]["label"] and found[0]["slug"] == "laser-centre-north"
    twins = client.get("/labs/suggest.json?q=twin").get_json()
    assert [s["value"] for s in twins] == ["twin-lab-aachen", "twin-lab-graz"]
    assert client.get("/labs/suggest.json?q=l").get_json() == []  # too short to suggest
    assert client.get("/labs/suggest.json?q=%25").get_json() == []  # no wildcard
    assert client.get("/labs/suggest.json?q=" + "x" * 5000).status_code == 200


def test_the_forms_carry_the_picker_and_its_script(app, client, people):
    login_as(client, people.admin)
    page = client.get(f"/admin/users/{people.outsider.id}").get_data(as_text=True)
    assert 'data-lab-picker="/labs/suggest.json"' in page
    assert "/static/js/lab_picker.js" in page


def _joint_form_add(client, lab_text: str):
    url = "/requests/new?kind=joint_project&lab=alpha-lab"
    return post_page(client, "/requests/new", {**JOINT, "lab": ["alpha-lab"],
                                               "add_lab": lab_text, "add": "1"}, page_url=url)


def test_joint_project_adds_a_lab_by_its_name_without_javascript(app, client, labs, make_org,
                                                                  make_user):
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    login_as(client, member)
    added = page_of(_joint_form_add(client, "  laser centre NORTH "))
    assert 'name="lab" value="laser-centre-north"' in added
    ambiguous = _joint_form_add(client, "Twin Lab")
    assert ambiguous.status_code == 422
    [message] = field_errors(page_of(ambiguous), "add_lab")
    assert message.startswith("Several labs are called “Twin Lab”:")
    assert "Twin Lab (Aachen, DE): twin-lab-aachen" in message
    assert "Twin Lab (Graz, AT): twin-lab-graz" in message
    assert 'value="Twin Lab"' in page_of(ambiguous)  # kept
    by_slug = page_of(_joint_form_add(client, "twin-lab-graz"))
    assert 'name="lab" value="twin-lab-graz"' in by_slug
    draft = _joint_form_add(client, "Laser Draft")
    assert html.unescape(field_errors(page_of(draft), "add_lab")[0]).startswith(
        "There is no published lab “Laser Draft”")
    assert count(app, LabRequest) == 0


def test_a_coordinator_invites_a_lab_by_its_name(app, client, labs, make_user):
    coordinator = make_user(roles=("coordinator",))
    login_as(client, coordinator)
    post_form(client, "/networks/new", {
        "name": "Laser chain", "slug": "", "description": "", "ket_code": "AMT",
        "ecosystem": "energy-renewables", "visibility": "public"})
    post_form(client, "/networks/laser-chain/stages",
              {"name": "Cutting", "description": "", "keywords": ""},
              page="/networks/laser-chain/manage")
    with app.app_context():
        from labnet.models import NetworkStage

        stage_id = db.session.scalar(select(NetworkStage.id))
    manage = client.get("/networks/laser-chain/manage").get_data(as_text=True)
    assert 'data-lab-picker="/labs/suggest.json"' in manage
    assert "Create a lab that is not on LabNet yet" in manage
    refused = post_form(client, "/networks/laser-chain/invite",
                        {"stage_id": str(stage_id), "lab": "twin lab", "message": ""},
                        page="/networks/laser-chain/manage")
    assert refused.status_code == 422
    assert "Several labs are called “twin lab”" in html.unescape(page_of(refused))
    done = post_form(client, "/networks/laser-chain/invite",
                     {"stage_id": str(stage_id), "lab": "Laser Centre North", "message": ""},
                     page="/networks/laser-chain/manage")
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(NetworkMember.lab_id)) == labs.laser.id


def test_an_admin_names_a_manager_by_the_lab_name_drafts_included(app, client, labs,
                                                                   make_user):
    admin, person = make_user(roles=("admin",)), make_user()
    login_as(client, admin)
    page = f"/admin/users/{person.id}"
    done = post_form(client, f"{page}/roles", {"role": "lab_manager", "lab": "laser draft"},
                     page=page)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(LabManager, (labs.draft.id, person.id)) is not None
    shared = post_form(client, f"{page}/roles", {"role": "lab_manager", "lab": "Twin Lab"},
                       page=page)
    assert shared.status_code == 422
    assert "twin-lab-aachen" in page_of(shared) and 'value="Twin Lab"' in page_of(shared)
