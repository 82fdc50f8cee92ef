"""Accreditation claims from the user's side (issue 14 §1, §3): a manager claims with a
PDF, a verifier works the queue, the badge, filter, registry and verification page follow;
every transition and its refusals per role; nothing half-written, nothing typed as markup."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from labnet.extensions import db
from labnet.models import (
    Accreditation,
    AccreditationQuestion,
    AuditEvent,
    OutboxEmail,
    Role,
)
from labnet.services.accreditation.demo import demo_pdf
from tests.fixtures.auth import csrf_token

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the frozen clock
DAKKS = "DAkkS (Deutsche Akkreditierungsstelle)"


def tiny_pdf() -> bytes:
    return demo_pdf("certificate")


def claim_data(**over) -> dict:
    data = {"scheme_code": "iso-iec-17025", "certificate_no": "D-PL-12345-01-00",
            "issuer": "", "scope": "DIN EN ISO 6892-1 tensile testing\nISO 14577 nanoindentation",
            "valid_from": "2025-06-01", "valid_until": "", "evidence_url": "",
            "evidence": (io.BytesIO(tiny_pdf()), "certificate.pdf")}
    data.update(over)
    return data


def post_claim(client, slug: str, **over):
    url = f"/manage/labs/{slug}/accreditations/new"
    data = claim_data(**over)
    data["csrf_token"] = csrf_token(client, url)
    return post_multipart(client, url, data)


def post_multipart(client, url: str, data: dict):
    # Encoded in memory: the test client spools a large body to a temporary file it never
    # closes (a ResourceWarning in a later test).
    fields = {k: (FileStorage(v[0], filename=v[1], content_type="application/pdf")
                  if isinstance(v, tuple) else v) for k, v in data.items()}
    boundary, body = encode_multipart(fields)
    return client.post(url, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def post(client, url: str, data: dict, page: str):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def only_claim(app) -> Accreditation:
    with app.app_context():
        acc = db.session.scalars(select(Accreditation)).one()
        db.session.expunge(acc)
        return acc


@pytest.fixture
def cast(frozen_clock, make_lab, make_user, make_org):
    class Cast:
        pass

    c = Cast()
    c.lab = make_lab(name="Aachen Materials Lab", slug="aachen-materials")
    c.other_lab = make_lab(name="Other Lab")
    c.manager = make_user(manages=(c.lab,), full_name="Max Manager")
    c.other_manager = make_user(manages=(c.other_lab,))
    c.verifier = make_user(roles=(Role.VERIFIER,), full_name="Vera Verifier")
    c.verifier2 = make_user(roles=(Role.VERIFIER,), full_name="Val Verifier")
    # A verifier who also manages the lab: never decides its claims.
    c.own_verifier = make_user(roles=(Role.VERIFIER,), manages=(c.lab,))
    c.member = make_user(organisation=make_org(kind="company", size_class="small"))
    return c


def test_claim_verify_badge_filter_registry_and_verification_page(app, client, quick_login,
                                                                  cast):
    quick_login(client, cast.manager)
    page = client.get(f"/manage/labs/{cast.lab.slug}/accreditations/new").get_data(as_text=True)
    assert DAKKS in page and "60 months" in page
    response = post_claim(client, cast.lab.slug)
    assert response.status_code == 302, response.get_data(as_text=True)
    acc = only_claim(app)
    assert acc.status == "claimed" and acc.issuer == DAKKS
    # Left empty, valid until = issued on + 60 months − 1 day.
    assert acc.valid_until == date(2030, 5, 31)
    assert acc.evidence_file.startswith("claims/")
    stored = Path(app.instance_path) / "evidence" / acc.evidence_file
    assert stored.read_bytes().startswith(b"%PDF-")
    assert "static" not in str(stored)
    with app.app_context():
        to = set(db.session.scalars(select(OutboxEmail.to_addr).where(
            OutboxEmail.kind == "accreditation_claimed")))
    assert to == {cast.verifier.email, cast.verifier2.email}  # not the lab's own verifier
    # Not counted yet.
    assert "aachen-materials" not in client.get(
        "/labs?accreditation=iso-iec-17025").get_data(as_text=True)

    quick_login(client, cast.verifier)
    queue = client.get("/accreditations/queue").get_data(as_text=True)
    assert f'id="queue-{acc.id}"' in queue
    pdf = client.get(f"/evidence/{acc.evidence_file}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    pdf.close()
    claim_page = f"/accreditations/claims/{acc.id}"
    response = post(client, f"{claim_page}/decide", {"action": "verify", "version": acc.version},
                    claim_page)
    assert response.status_code == 302
    acc = only_claim(app)
    assert acc.status == "verified" and acc.verified_at == NOW
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("accreditation.%"))) == 2
        assert set(db.session.scalars(select(OutboxEmail.to_addr).where(
            OutboxEmail.kind == "accreditation_decision"))) == {cast.manager.email,
                                                                cast.own_verifier.email}

    lab_page = client.get(f"/labs/{cast.lab.slug}").get_data(as_text=True)
    assert 'id="lab-accreditations"' in lab_page and "ISO/IEC 17025" in lab_page
    listing = client.get("/labs?accreditation=iso-iec-17025").get_data(as_text=True)
    assert "Aachen Materials Lab" in listing and "acc-badge" in listing
    registry = client.get("/accreditations?q=nanoindentation").get_data(as_text=True)
    assert "Aachen Materials Lab" in registry and 'id="registry-total">1<' in registry
    assert 'id="registry-total">0<' in client.get(
        "/accreditations?country=FR").get_data(as_text=True)
    rows = json.loads(client.get("/accreditations.json?scheme=iso-iec-17025").data)
    assert rows["accreditations"][0]["scope"][1] == "ISO 14577 nanoindentation"
    assert rows["accreditations"][0]["verification_url"].endswith(f"/verify/{acc.code}")
    text = client.get("/accreditations.csv").get_data(as_text=True)
    assert "D-PL-12345-01-00" in text
    client.get("/logout")
    anonymous = app.test_client()
    verify = anonymous.get(f"/verify/{acc.code}").get_data(as_text=True)
    assert "Valid." in verify and "Verified by LabNet on 2026-03-02" in verify
    assert anonymous.get("/verify/not-a-code").status_code == 404


def test_the_evidence_and_claim_are_refused_to_everyone_else(app, client, quick_login, cast,
                                                             make_user):
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug).status_code == 302
    acc = only_claim(app)
    urls = (f"/accreditations/claims/{acc.id}", f"/evidence/{acc.evidence_file}")
    for who in (cast.other_manager, cast.member, make_user(roles=(Role.COORDINATOR,))):
        other = app.test_client()
        quick_login(other, who)
        for url in urls:
            assert other.get(url).status_code == 404, (who.email, url)
    anonymous = app.test_client()
    for url in urls:
        assert anonymous.get(url).status_code == 302
    assert "/static/" not in client.get(urls[0]).get_data(as_text=True).split(
        'id="claim-evidence"')[1][:300]
    for who in (cast.manager, cast.verifier, make_user(roles=(Role.ADMIN,))):
        seer = app.test_client()
        quick_login(seer, who)
        with seer.get(urls[1]) as response:
            assert response.status_code == 200


@pytest.mark.parametrize(("over", "field", "message"), [
    ({"scheme_code": ""}, "scheme_code", "Choose the scheme"),
    ({"valid_from": "2025-06-01", "valid_until": "2025-01-01"}, "valid_until",
     "must not be before issued on"),
    ({"evidence": (io.BytesIO(b"%PDF-" + b"0" * (40 * 1024 * 1024)), "big.pdf")},
     "evidence", "larger than 10 MB"),
    ({"evidence": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "certificate.pdf")},
     "evidence", "not a PDF"),
    ({"evidence": (io.BytesIO(b"%PDF-1.7\n garbage that no reader parses"), "broken.pdf")},
     "evidence", "cannot be read"),
    ({"evidence": (io.BytesIO(b""), ""), "evidence_url": ""}, "evidence",
     "Upload the certificate"),
    ({"evidence_url": "javascript:alert(1)"}, "evidence_url", "full address"),
    ({"issuer": "Some Certifier GmbH"}, "issuer", DAKKS),
    ({"scope": ""}, "scope", "one per line"),
    ({"certificate_no": ""}, "certificate_no", "certificate number"),
])
def test_bad_input_is_refused_on_its_field_and_nothing_is_written(app, client, quick_login,
                                                                  cast, over, field, message):
    quick_login(client, cast.manager)
    before = _evidence_files(app)
    response = post_claim(client, cast.lab.slug, **over)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert f'data-field="{field}"' in html and message in html
    if "certificate_no" not in over:
        assert 'value="D-PL-12345-01-00"' in html  # what was typed is kept
    assert count(app, Accreditation) == 0
    assert count(app, AuditEvent) == 0 or not any(
        "accreditation" in a for a in _actions(app))
    assert _evidence_files(app) == before


def _evidence_files(app) -> set[str]:
    folder = Path(app.instance_path) / "evidence"
    return {str(p) for p in folder.rglob("*")} if folder.exists() else set()


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action)))


def test_a_claim_for_a_lab_the_user_does_not_manage_is_refused(app, client, quick_login, cast):
    quick_login(client, cast.other_manager)
    assert client.get(f"/manage/labs/{cast.lab.slug}/accreditations/new").status_code == 403
    url = f"/manage/labs/{cast.lab.slug}/accreditations/new"
    data = claim_data()
    data["csrf_token"] = csrf_token(client, "/labs")
    response = post_multipart(client, url, data)
    assert response.status_code == 403
    assert count(app, Accreditation) == 0


def test_typed_markup_is_shown_as_text(app, client, quick_login, cast):
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug, certificate_no="<b>X</b>",
                      scope="<script>alert(1)</script>").status_code == 302
    acc = only_claim(app)
    quick_login(client, cast.verifier)
    html = client.get(f"/accreditations/claims/{acc.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>X</b>" not in html


def _verified(app, client, quick_login, cast) -> Accreditation:
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug).status_code == 302
    acc = only_claim(app)
    quick_login(client, cast.verifier)
    page = f"/accreditations/claims/{acc.id}"
    assert post(client, f"{page}/decide", {"action": "verify", "version": 1},
                page).status_code == 302
    return only_claim(app)


def test_two_verifiers_at_once_one_wins_the_other_is_told(app, client, quick_login, cast):
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug).status_code == 302
    acc = only_claim(app)
    page = f"/accreditations/claims/{acc.id}"
    first, second = app.test_client(), app.test_client()
    quick_login(first, cast.verifier)
    quick_login(second, cast.verifier2)
    token1, token2 = csrf_token(first, page), csrf_token(second, page)  # both saw version 1
    ok = first.post(f"{page}/decide", data={"csrf_token": token1, "action": "verify",
                                            "version": 1})
    late = second.post(f"{page}/decide", data={"csrf_token": token2, "action": "reject",
                                               "version": 1, "reason": "No scope"})
    assert ok.status_code == 302
    assert late.status_code == 409
    assert "Someone else acted on this claim meanwhile" in late.get_data(as_text=True)
    assert only_claim(app).status == "verified"
    assert "accreditation.reject" not in _actions(app)


def test_transitions_and_their_refusals_per_role(app, client, quick_login, cast):
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug).status_code == 302
    acc = only_claim(app)
    page = f"/accreditations/claims/{acc.id}"
    # The lab's managers, its own verifier: no decisions.
    for who in (cast.manager, cast.own_verifier):
        quick_login(client, who)
        assert post(client, f"{page}/decide", {"action": "verify", "version": 1},
                    page).status_code == 403
    quick_login(client, cast.verifier)
    # A rejection needs its reason; suspending an open claim is not a transition.
    response = post(client, f"{page}/decide", {"action": "reject", "version": 1, "reason": ""},
                    page)
    assert response.status_code == 422 and "Give the reason" in response.get_data(as_text=True)
    response = post(client, f"{page}/decide", {"action": "suspend", "version": 1,
                                               "reason": "x"}, page)
    assert response.status_code == 409
    assert only_claim(app).status == "claimed"
    assert post(client, f"{page}/decide", {"action": "verify", "version": 1},
                page).status_code == 302
    for action, version, state in (("suspend", 2, "suspended"), ("reinstate", 3, "verified"),
                                   ("withdraw", 4, "withdrawn")):
        response = post(client, f"{page}/decide", {"action": action, "version": version,
                                                   "reason": f"Reason {action}"}, page)
        assert response.status_code == 302, (action, response.get_data(as_text=True)[:300])
        assert only_claim(app).status == state
    acc = only_claim(app)
    verify = app.test_client().get(f"/verify/{acc.code}").get_data(as_text=True)
    assert "withdrawn on 2026-03-02" in verify
    assert "Aachen" not in client.get("/accreditations").get_data(as_text=True).split(
        'id="registry-total"')[1]


def test_rejected_claims_never_show_a_verification_page(app, client, quick_login, cast):
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug).status_code == 302
    acc = only_claim(app)
    quick_login(client, cast.verifier)
    page = f"/accreditations/claims/{acc.id}"
    assert post(client, f"{page}/decide", {"action": "reject", "version": 1,
                                           "reason": "Certificate not in the DAkkS register"},
                page).status_code == 302
    assert app.test_client().get(f"/verify/{acc.code}").status_code == 404
    quick_login(client, cast.manager)
    assert "Certificate not in the DAkkS register" in client.get(page).get_data(as_text=True)


def test_question_thread_one_answer_only(app, client, quick_login, cast):
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug).status_code == 302
    acc = only_claim(app)
    page = f"/accreditations/claims/{acc.id}"
    quick_login(client, cast.verifier)
    assert post(client, f"{page}/ask", {"question": "Is <i>6892-1</i> in the annex?"},
                page).status_code == 302
    with app.app_context():
        q = db.session.scalars(select(AccreditationQuestion)).one()
        assert set(db.session.scalars(select(OutboxEmail.to_addr).where(
            OutboxEmail.kind == "accreditation_question"))) == {cast.manager.email,
                                                                cast.own_verifier.email}
    # Only the lab's managers answer.
    assert post(client, f"{page}/questions/{q.id}/answer", {"answer": "Yes"},
                page).status_code == 403
    quick_login(client, cast.manager)
    html = client.get(page).get_data(as_text=True)
    assert "&lt;i&gt;6892-1&lt;/i&gt;" in html
    assert post(client, f"{page}/questions/{q.id}/answer", {"answer": "Yes, annex p. 3"},
                page).status_code == 302
    again = post(client, f"{page}/questions/{q.id}/answer", {"answer": "Another"}, page)
    assert again.status_code == 409
    assert "already been answered" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(AccreditationQuestion, q.id).answer == "Yes, annex p. 3"
        assert db.session.scalar(select(OutboxEmail.to_addr).where(
            OutboxEmail.kind == "accreditation_answer")) == cast.verifier.email


def test_a_renewal_takes_over_without_a_gap(app, client, quick_login, cast):
    old = _verified(app, client, quick_login, cast)
    quick_login(client, cast.manager)
    form = client.get(f"/manage/labs/{cast.lab.slug}/accreditations/new?renews={old.id}")
    assert f'value="{old.id}"' in form.get_data(as_text=True)
    assert post_claim(client, cast.lab.slug, renews_id=str(old.id), certificate_no="D-PL-2",
                      valid_from="2026-02-01").status_code == 302
    with app.app_context():
        new = db.session.scalars(select(Accreditation).where(
            Accreditation.certificate_no == "D-PL-2")).one()
        new_id = new.id
    assert new.renews_id == old.id
    quick_login(client, cast.verifier)
    page = f"/accreditations/claims/{new_id}"
    assert post(client, f"{page}/decide", {"action": "verify", "version": 1},
                page).status_code == 302
    with app.app_context():
        states = dict(db.session.execute(select(Accreditation.certificate_no,
                                                Accreditation.status)).tuples().all())
    assert states == {"D-PL-12345-01-00": "superseded", "D-PL-2": "verified"}
    assert 'id="registry-total">1<' in client.get("/accreditations").get_data(as_text=True)
    old_verify = app.test_client().get(f"/verify/{old.code}").get_data(as_text=True)
    assert "Replaced" in old_verify


def test_a_verifier_who_manages_the_lab_does_not_see_its_claims_in_the_queue(
        app, client, quick_login, cast):
    quick_login(client, cast.manager)
    assert post_claim(client, cast.lab.slug).status_code == 302
    acc = only_claim(app)
    quick_login(client, cast.own_verifier)
    assert f'id="queue-{acc.id}"' not in client.get("/accreditations/queue").get_data(
        as_text=True)
    assert "another verifier decides" in client.get(
        f"/accreditations/claims/{acc.id}").get_data(as_text=True)
    quick_login(client, cast.member)
    assert client.get("/accreditations/queue").status_code == 403
