"""Value-chain networks through the pages (issue 6): coordinators build a network, invite
labs and find gaps; managers answer; everyone sees public chains; refusals name their
field, keep the input and write nothing."""

from __future__ import annotations

import hashlib
import re
from html import unescape

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import Role
from labnet.models.network import Network, NetworkMember, NetworkStage
from tests.fixtures.a11y import assert_refused_input
from tests.fixtures.auth import csrf_token, post_form

WATCHED = ("network", "network_coordinator", "network_stage", "network_stage_ket",
           "network_stage_category", "network_member", "outbox_email")


def _snapshot(app) -> str:
    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in WATCHED:
                for row in db.session.execute(
                        select(table).order_by(*table.primary_key.columns)):
                    digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def cast(make_user, make_lab, make_equipment):
    class C:
        pass

    c = C()
    c.coordinator = make_user(roles=(Role.COORDINATOR,))
    c.other_coordinator = make_user(roles=(Role.COORDINATOR,))
    c.outsider = make_user()
    c.materials = make_lab(name="Materials Lab", slug="materials-lab", country="FR",
                           lat=45.18, lon=5.72, kets=("AMN", "AMN.ENE"))
    c.tests = make_lab(name="Test Lab", slug="test-lab", country="BE", lat=50.88, lon=4.70,
                       kets=("AMN.CHR",), capabilities="Failure analysis")
    make_equipment(c.tests, category_code="sem")
    c.pilot = make_lab(name="Pilot Lab", slug="pilot-lab", country="FI", lat=60.2, lon=24.65,
                       kets=("AMT",))
    c.draft = make_lab(name="Draft Lab", slug="draft-lab", is_published=False)
    c.manager = make_user(manages=(c.materials, c.tests))
    c.pilot_manager = make_user(manages=(c.pilot,))
    return c


def _create(client, **data):
    form = {"name": "Battery chain", "slug": "", "description": "From cells to packs",
            "ket_code": "AMN", "ecosystem": "energy-renewables", "visibility": "public"}
    form.update(data)
    return post_form(client, "/networks/new", form)


def _add_stage(client, slug, name, **data):
    form = {"name": name, "description": "", "keywords": "", **data}
    return post_form(client, f"/networks/{slug}/stages", form, page=f"/networks/{slug}/manage")


def _stage_ids(app, slug) -> list[int]:
    with app.app_context():
        network = db.session.scalar(select(Network).where(Network.slug == slug))
        return list(db.session.scalars(select(NetworkStage.id).where(
            NetworkStage.network_id == network.id).order_by(NetworkStage.position)))


def _invite(client, slug, stage_id, lab, message=""):
    return post_form(client, f"/networks/{slug}/invite",
                     {"stage_id": str(stage_id), "lab": lab, "message": message},
                     page=f"/networks/{slug}/manage")


def _member_id(app, lab_slug) -> int:
    from labnet.models import Lab

    with app.app_context():
        return db.session.scalar(select(NetworkMember.id).join(
            Lab, Lab.id == NetworkMember.lab_id).where(Lab.slug == lab_slug)
            .order_by(NetworkMember.id.desc()))


def _build(app, client, login, cast, visibility="public"):
    login(cast.coordinator)
    response = _create(client, visibility=visibility)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/networks/battery-chain/manage")
    for name, extra in (("Materials", {"ket_codes": ["AMN"]}),
                        ("Characterisation", {"ket_codes": ["AMN.CHR"],
                                              "category_codes": ["sem"],
                                              "keywords": "failure analysis"}),
                        ("Pilot production", {"ket_codes": ["AMT"]})):
        assert _add_stage(client, "battery-chain", name, **extra).status_code == 302
    stages = _stage_ids(app, "battery-chain")
    assert _invite(client, "battery-chain", stages[0], "materials-lab",
                   "Join <b>us</b>").status_code == 302
    return stages


def test_coordinator_builds_a_chain_and_a_manager_accepts(app, client, login, cast):
    stages = _build(app, client, login, cast)
    page = _text(client.get("/networks/battery-chain/manage"))
    assert "Materials Lab" in page and "Pending (1)" in page
    # The manager sees the invitation (nav badge, page) and accepts it with a message.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/networks")})
    login(cast.manager)
    listing = _text(client.get("/networks/invitations"))
    assert "Join <b>us</b>" in listing  # the coordinator's text, shown as text
    assert 'id="nav-network-invitations"' in client.get("/labs").get_data(as_text=True)
    member_id = _member_id(app, "materials-lab")
    response = post_form(client, f"/networks/invitations/{member_id}/answer",
                         {"answer": "accept", "answer_message": "Gladly"},
                         page="/networks/invitations", follow_redirects=True)
    assert "You accepted the invitation" in _text(response)
    # Answering twice is refused with a clear message; nothing changes.
    before = _snapshot(app)
    again = post_form(client, f"/networks/invitations/{member_id}/answer",
                      {"answer": "decline", "answer_message": "Oops"},
                      page="/networks/invitations")
    assert again.status_code == 409
    assert "already answered (accepted)" in _text(again)
    assert _snapshot(app) == before
    # The public page: the chain, the map data, the joint-project button.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/networks")})
    public = _text(client.get("/networks/battery-chain"))
    assert re.search(r"Materials.*Characterisation.*Pilot production", public, re.S)
    assert "Materials Lab" in public and "FR" in public
    assert "No member lab yet" in public
    assert "/requests/new?kind=joint_project&amp;lab=materials-lab" in client.get(
        "/networks/battery-chain").get_data(as_text=True)
    data = client.get("/networks/battery-chain/map.json").get_json()
    assert [s["name"] for s in data["stages"]] == ["Materials", "Characterisation",
                                                   "Pilot production"]
    assert data["stages"][0]["labs"][0]["name"] == "Materials Lab"
    # The catalogue filter and the lab page.
    labs = _text(client.get("/labs?network=battery-chain"))
    assert "Materials Lab" in labs and "Test Lab" not in labs
    lab_page = _text(client.get("/labs/materials-lab"))
    assert 'id="lab-networks"' in lab_page and "Battery chain" in lab_page
    assert stages


def test_gap_finder_offers_a_one_click_invitation(app, client, login, cast):
    stages = _build(app, client, login, cast)
    gaps = _text(client.get("/networks/battery-chain/gaps"))
    assert "Characterisation" in gaps and "Test Lab" in gaps
    assert "KET AMN.CHR" in gaps and "failure analysis" in gaps
    response = post_form(client, "/networks/battery-chain/invite",
                         {"stage_id": str(stages[1]), "lab": "test-lab", "message": "",
                          "back": "gaps"}, page="/networks/battery-chain/gaps")
    assert response.status_code == 302 and response.headers["Location"].endswith("/gaps")
    with app.app_context():
        assert db.session.scalar(select(NetworkMember.status).where(
            NetworkMember.stage_id == stages[1])) == "invited"
    # The invited lab is no longer a candidate.
    assert 'data-lab="test-lab"' not in client.get("/networks/battery-chain/gaps").get_data(
        as_text=True)


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"name": ""}, "name", "Enter the network"),
    ({"name": "BATTERY CHAIN"}, "name", "already has this name"),
    ({"name": "Another", "slug": "battery-chain"}, "slug", "taken"),
    ({"name": "Another", "ecosystem": ""}, "ecosystem", "14"),
])
def test_network_form_refusals_keep_the_input_and_write_nothing(app, client, login, cast,
                                                                data, field, words):
    _build(app, client, login, cast)
    before = _snapshot(app)
    response = _create(client, description="Keep me", **data)
    assert response.status_code == 422
    html = _text(response)
    assert re.search(rf'data-field="{field}">[^<]*{words}', html), html[-3000:]
    assert "Keep me" in html
    assert _snapshot(app) == before


def test_invite_form_refusals(app, client, login, cast):
    stages = _build(app, client, login, cast)
    # A second network, whose stage is foreign to the first.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/networks")})
    login(cast.other_coordinator)
    assert _create(client, name="Photonics chain").status_code == 302
    assert _add_stage(client, "photonics-chain", "Design").status_code == 302
    foreign = _stage_ids(app, "photonics-chain")[0]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/networks")})
    login(cast.coordinator)
    before = _snapshot(app)
    for stage_id, lab, field, words, status in (
            (foreign, "pilot-lab", "stage_id", "Choose a stage of this network", 422),
            (stages[2], "draft-lab", "lab", "no published lab", 422),
            (stages[2], "materials-lab", "lab", "already invited", 409),
            ("", "pilot-lab", "stage_id", "Choose a stage", 422)):
        response = _invite(client, "battery-chain", stage_id, lab, message="Keep this")
        assert response.status_code == status, (lab, response.status_code)
        html = _text(response)
        assert re.search(rf'data-field="{field}">[^<]*{words}', html), (lab, field)
        assert "Keep this" in html and f'value="{lab}"' in html
    assert _snapshot(app) == before


def test_stage_form_refusal_and_reorder_and_retire(app, client, login, cast):
    stages = _build(app, client, login, cast)
    before = _snapshot(app)
    response = _add_stage(client, "battery-chain", "", description="Kept text")
    assert response.status_code == 422 and "Kept text" in _text(response)
    assert _snapshot(app) == before
    manage = "/networks/battery-chain/manage"
    post_form(client, f"/networks/battery-chain/stages/{stages[2]}/move",
              {"direction": "up"}, page=manage)
    assert _stage_ids(app, "battery-chain")[1] == stages[2]
    post_form(client, f"/networks/battery-chain/stages/{stages[0]}/retire", {}, page=manage)
    public = _text(client.get("/networks/battery-chain"))
    assert 'id="retired-stages"' in public
    edit = post_form(client, f"/networks/battery-chain/stages/{stages[0]}/edit",
                     {"name": "Renamed", "description": "", "keywords": ""}, page=manage)
    assert edit.status_code == 422 and "retired" in _text(edit)


def test_members_only_network_is_invisible_to_others(app, client, login, cast):
    _build(app, client, login, cast, visibility="members")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/networks")})
    for url in ("/networks/battery-chain", "/networks/battery-chain/map.json"):
        assert client.get(url).status_code == 404
    assert "Battery chain" not in _text(client.get("/networks"))
    login(cast.outsider)
    assert client.get("/networks/battery-chain").status_code == 404
    assert client.get("/networks/battery-chain/manage").status_code == 404
    assert "Battery chain" not in _text(client.get("/labs"))


def test_other_coordinators_get_403_on_a_public_network(app, client, login, cast):
    _build(app, client, login, cast)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/networks")})
    login(cast.other_coordinator)
    assert client.get("/networks/battery-chain/manage").status_code == 403
    assert client.get("/networks/battery-chain/gaps").status_code == 403
    before = _snapshot(app)
    response = post_form(client, "/networks/battery-chain/stages",
                         {"name": "Hijack"}, page="/networks")
    assert response.status_code == 403
    assert _snapshot(app) == before


def test_hostile_names_stay_text(app, client, login, cast):
    login(cast.coordinator)
    assert _create(client, name="<script>alert(1)</script> chain",
                   slug="hostile").status_code == 302
    assert _add_stage(client, "hostile", "<img src=x onerror=alert(2)>").status_code == 302
    html = client.get("/networks/hostile").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_a_refused_answer_is_tied_to_its_box_and_summed_up(app, client, login, cast):
    _build(app, client, login, cast)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/networks")})
    login(cast.manager)
    member_id = _member_id(app, "materials-lab")
    response = post_form(client, f"/networks/invitations/{member_id}/answer",
                         {"answer": "accept", "answer_message": "x" * 2001},
                         page="/networks/invitations")
    assert response.status_code == 422
    assert_refused_input(response.get_data(as_text=True), f"answer_message-{member_id}",
                         "2000")
