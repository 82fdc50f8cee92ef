"""The LabNet excellence label through the pages (issue 14 §2): the public framework, a
manager's application (draft, refusals with the input kept, submit), a verifier's scoring,
who gets an evidence PDF, and nothing typed rendered as markup."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from labnet.extensions import db
from labnet.models import LabelAnswer, LabelApplication, LabelScore, LabelStatus, Role
from labnet.services.accreditation.demo import demo_pdf
from labnet.services.accreditation.label_framework import framework
from tests.fixtures.auth import csrf_token, login_as, post_form

CODES = framework().codes
PDF = demo_pdf("label evidence")  # a real PDF: the one evidence store parses it


@pytest.fixture
def cast(make_lab, make_user, make_org):
    class C:
        pass

    c = C()
    c.lab = make_lab(name="Label Web Lab", kind_code="kibs")
    c.manager = make_user(manages=(c.lab,))
    c.v1 = make_user(roles=(Role.VERIFIER,))
    c.v2 = make_user(roles=(Role.VERIFIER,))
    c.outsider = make_user()
    return c


def _start(client, c) -> int:
    login_as(client, c.manager)
    response = post_form(client, f"/label/labs/{c.lab.slug}/apply", {},
                         page=f"/label/labs/{c.lab.slug}")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _save(client, url, data, **kw):
    """Post the application form of the page ``url``."""
    return post_form(client, f"{url}/answers", data, page=url, **kw)


def _all_answers(**extra):
    return {**{f"answer_{code}": f"Answer {code}" for code in CODES}, **extra}


def test_the_public_page_presents_the_framework_as_labnets_own(client):
    page = client.get("/label").get_data(as_text=True)
    assert "This framework is LabNet&#39;s own" in page or "This framework is LabNet's own" in page
    for c in framework().criteria:
        assert f"criterion-{c.code}" in page
    assert "Gold" in page and "Bronze" in page


def test_submitting_with_unanswered_criteria_keeps_the_input_and_names_the_fields(app, client,
                                                                                  cast):
    app_id = _start(client, cast)
    url = f"/label/applications/{app_id}"
    data = _all_answers(answer_T3="", answer_S1="<b>bold</b> claim",
                        url_C1="ftp://lab.example/offer", action="submit")
    response = _save(client, url, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Answer T3 (Knowledge transfer and joint training) before submitting." in page
    assert "starting with https://" in page
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in page and "<b>bold</b>" not in page
    assert 'value="ftp://lab.example/offer"' in page
    with app.app_context():
        assert db.session.get(LabelApplication, app_id).status == LabelStatus.DRAFT


def test_a_non_pdf_is_refused_on_its_field_and_a_pdf_is_stored_for_the_right_people(
        app, client, cast, quick_login):
    app_id = _start(client, cast)
    url = f"/label/applications/{app_id}"
    response = _save(client, url, {**_all_answers(), "action": "save",
                                       "file_Q1": (io.BytesIO(b"GIF89a"), "cert.pdf")},
                         content_type="multipart/form-data")
    assert response.status_code == 422
    assert "This file is not a PDF" in response.get_data(as_text=True)
    response = _save(client, url, {**_all_answers(), "action": "save",
                                       "file_Q1": (io.BytesIO(PDF), "cert.pdf")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.scalar(select(LabelAnswer.evidence_file).where(
            LabelAnswer.application_id == app_id, LabelAnswer.criterion == "Q1"))
    assert stored.startswith("label/")
    assert (Path(app.instance_path) / "evidence" / stored).read_bytes() == PDF
    evidence = f"/evidence/{stored}"
    assert f'href="{evidence}"' in client.get(url).get_data(as_text=True)
    got = client.get(evidence)
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert "no-store" in got.headers["Cache-Control"]
    # A draft is the lab's own: a verifier does not see it yet; others never.
    for who in (cast.v1, cast.outsider):
        other = app.test_client()
        quick_login(other, who)
        assert other.get(evidence).status_code == 404
        assert other.get(url).status_code == 404
    assert app.test_client().get(evidence).status_code == 302  # to log in
    _save(client, url, {**_all_answers(), "action": "submit"})
    verifier = app.test_client()
    quick_login(verifier, cast.v1)
    assert verifier.get(evidence).data == PDF
    stranger = app.test_client()
    quick_login(stranger, cast.outsider)
    assert stranger.get(evidence).status_code == 404


def test_a_file_over_the_request_limit_gets_the_size_page_not_a_500(app, client, cast):
    app_id = _start(client, cast)
    url = f"/label/applications/{app_id}"
    big = b"%PDF-1.4 " + b"0" * (40 * 1024 * 1024)
    # Encoded in memory: over 500 KB the test client would spool the body to a temporary
    # file it never closes (as tests/web/test_manage.py's _upload says).
    boundary, body = encode_multipart({"csrf_token": csrf_token(client, url), "action": "save",
                                       "file_S1": FileStorage(io.BytesIO(big), "big.pdf")})
    response = client.post(f"{url}/answers", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_verifiers_score_independently_and_a_bad_score_is_refused_on_its_field(
        app, client, cast, quick_login):
    app_id = _start(client, cast)
    url = f"/label/applications/{app_id}"
    _save(client, url, {**_all_answers(), "action": "submit"})
    one, two = app.test_client(), app.test_client()
    quick_login(one, cast.v1)
    quick_login(two, cast.v2)
    assert f"label-application-{app_id}" in one.get("/label/queue").get_data(as_text=True)
    bad = {**{f"score_{c}": "3" for c in CODES}, "score_C2": "7", "comment": "<i>ok</i>"}
    response = post_form(one, f"{url}/score", bad, page=url)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "“7” is no score: give a whole number from 0 to 4." in page
    assert 'value="7"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LabelScore)) == 0
    good = {**{f"score_{c}": "3" for c in CODES}, "comment": "<i>solid</i>"}
    assert post_form(one, f"{url}/score", good, page=url).status_code == 302
    # The second verifier does not see the first one's scores or comment yet.
    page = two.get(url).get_data(as_text=True)
    assert "verifier 1: 3" not in page and "solid" not in page
    assert f"label-application-{app_id}" not in one.get("/label/queue").get_data(as_text=True)
    # Scoring twice is refused (the form is gone; a replayed post is told).
    replay = post_form(one, f"{url}/score", good, page="/label/queue")
    assert replay.status_code in (403, 409)
    assert post_form(two, f"{url}/score", {**good, "comment": ""}, page=url).status_code == 302
    page = two.get(url).get_data(as_text=True)
    assert "verifier 1: 3" in page and "&lt;i&gt;solid&lt;/i&gt;" in page
    assert "Awarded: level <strong>Silver</strong>" in page
    manager_page = client.get(f"/label/labs/{cast.lab.slug}").get_data(as_text=True)
    assert "level <strong>Silver</strong>" in manager_page
    # The label counts in the catalogue's accreditation filter like any verified one.
    found = client.get("/labs?accreditation=labnet-excellence").get_data(as_text=True)
    assert "Label Web Lab" in found


def test_a_lab_manager_who_is_a_verifier_cannot_score_their_own_lab(app, client, cast,
                                                                    make_user):
    own = make_user(roles=(Role.VERIFIER,), manages=(cast.lab,))
    app_id = _start(client, cast)
    url = f"/label/applications/{app_id}"
    _save(client, url, {**_all_answers(), "action": "submit"})
    mine = app.test_client()
    login_as(mine, own)
    assert 'id="score-form"' not in mine.get(url).get_data(as_text=True)
    assert f"label-application-{app_id}" not in mine.get("/label/queue").get_data(as_text=True)
    response = post_form(mine, f"{url}/score", {f"score_{c}": "4" for c in CODES}, page=url)
    assert response.status_code == 403
    assert "You manage this lab" in response.get_data(as_text=True)


def test_seed_demo_adds_a_gold_and_a_bronze_label_and_work_for_the_demo_verifier(
        app, runner, client):
    from labnet.models import Accreditation, Lab, User

    result = runner.invoke(args=["labnet", "seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        labels = dict(db.session.execute(
            select(Lab.slug, Accreditation.level).join(Lab, Lab.id == Accreditation.lab_id)
            .where(Accreditation.scheme_code == "labnet-excellence")).tuples().all())
        assert labels == {"fraunhofer-ilt": "gold", "cea-leti": "bronze"}
        waiting = db.session.scalars(select(LabelApplication).where(
            LabelApplication.status == LabelStatus.SUBMITTED)).all()
        assert [a.lab.slug for a in waiting] == ["fraunhofer-ipt"]
        assert waiting[0].figures["bookings_served"] > 0  # the demo activity, frozen
        verifier = db.session.scalar(select(User).where(User.email == "verifier@labnet.example"))
    login_as(client, verifier, password="labnet-demo")
    page = client.get("/label/queue").get_data(as_text=True)
    assert "Production Technology IPT" in page
    assert f"label-application-{waiting[0].id}" in page
    assert runner.invoke(args=["labnet", "seed-demo"]).exit_code == 0  # adds nothing twice
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LabelApplication)) == 3


def test_the_framework_shows_in_the_readers_language(client):
    # Shipped data (labnet/data/i18n/<lang>.yaml, kind excellence_framework): groups,
    # criteria, their scale and the levels in German; codes and figures unchanged.
    page = client.get("/label", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Strategie und KET-Ausrichtung" in page
    assert "Mission und KET-Positionierung" in page
    assert "Kein veröffentlichtes Angebot." in page
    assert "Silber" in page
    assert "Strategy and KET focus" not in page and "No published offer." not in page
    for c in framework().criteria:
        assert f"criterion-{c.code}" in page


def test_the_reasons_are_read_in_the_readers_language(app):
    from labnet.i18n import force_locale
    from labnet.services.accreditation.label_framework import level_for, shown

    outcome = level_for({})  # nothing scored: Bronze's total and every group missed
    with app.test_request_context("/"):
        english = [str(reason) for reason in outcome.reasons]
        assert english[0] == "Bronze needs a total of 24 of 48; the agreed scores total 0."
        assert "“Strategy and KET focus”" in english[1]
        with force_locale("fr"):
            assert any("Stratégie et orientation KET" in str(r) for r in outcome.reasons)
            assert shown().level("silver").name == "Argent"
            assert shown().criterion("S1").scale[0] == "Aucune mission ni orientation KET déclarée."
        assert shown().criterion("S1").title == "Mission and KET positioning"
