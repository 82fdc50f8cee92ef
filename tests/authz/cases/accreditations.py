"""Matrix entries for accreditations (issue 14 §1, §3): a lab's claims pages, the claim page
and its evidence file, decisions, questions and answers, the verifier queue, the public
registry and verification pages.

The cast adds, on the matrix lab, an open claim with a PDF certificate and a question on it
(``acc_claim_id``, ``acc_question_id``) and a verified accreditation (``acc_code``). The
verifier actor (and admins, who may act as verifiers) sees the claim, its evidence and the
queue, decides and asks, and never answers for the lab; a coordinator, like everyone else,
gets 404 (a verifier who manages the lab is tested in tests/web/test_accreditations.py).
"""

from __future__ import annotations

from sqlalchemy import update

from labnet import clock
from labnet.extensions import db
from labnet.models import Accreditation, Lab, User
from labnet.services.accreditation import claims
from labnet.services.accreditation.demo import demo_pdf
from labnet.services.accreditation.validity import local_today
from tests.authz.cases.base import ACTORS, ALL_OK, Case, only
from tests.authz.cases.manage import managed


def seed(app, people) -> None:
    with app.test_request_context():
        now = clock.utcnow()
        manager = db.session.get_one(User, people.manager.id)
        admin = db.session.get_one(User, people.admin.id)
        lab = db.session.get_one(Lab, people.lab.id)
        today = local_today(lab.timezone, now)
        item = claims.ClaimInput(scheme_code="iso-9001", certificate_no="MX-CLAIM-7",
                                 issuer="TÜV Matrix", valid_from=today,
                                 evidence_pdf=demo_pdf("MX-CLAIM-7"),
                                 evidence_name="matrix.pdf")
        acc = claims.create_claim(manager, lab, item, now=now,
                                  instance_path=app.instance_path, today=today)
        question = claims.ask(admin, acc, "Which sites does it cover?", now=now)
        verified = claims.create_claim(manager, lab, claims.ClaimInput(
            scheme_code="iso-14001", certificate_no="MX-VERIFIED-1", issuer="TÜV Matrix",
            valid_from=today, evidence_url="https://register.example/mx"), now=now,
            instance_path=app.instance_path, today=today)
        db.session.execute(update(Accreditation).where(Accreditation.id == verified.id)
                           .values(status="verified", verified_at=now))
        db.session.commit()
        people.acc_claim_id, people.acc_question_id = acc.id, question.id
        people.acc_code = verified.code
        people.acc_evidence = acc.evidence_file


def _claim(p, tail: str = "") -> str:
    return f"/accreditations/claims/{p.acc_claim_id}{tail}"


# The claim page and evidence: the lab's managers, verifiers and admins; 404 for others.
SEERS = ("manager", "admin", "verifier")
SEEN_404 = {**only(SEERS, 200, 404), "anonymous": 302}
VERIFIERS = ("admin", "verifier")
VERIFIERS_ONLY_403 = {**only(VERIFIERS, 200, 403), "anonymous": 302}


def _decide(ok: int) -> dict[str, int]:
    # Verifiers and admins decide (here: a stale version, 409, nothing written); the lab's
    # manager may see the claim but not decide it (403); others do not know it exists.
    return {**only(VERIFIERS, ok, 404), "manager": 403, "anonymous": 302}


CASES = [
    Case("accreditations.lab_list", "GET", lambda p: f"/manage/labs/{p.lab.slug}/accreditations",
         managed(200)),
    Case("accreditations.new_claim", "GET",
         lambda p: f"/manage/labs/{p.lab.slug}/accreditations/new", managed(200)),
    Case("accreditations.new_claim", "POST",
         lambda p: f"/manage/labs/{p.lab.slug}/accreditations/new", managed(422),
         data=lambda p: {"scheme_code": "", "certificate_no": "X"}),
    Case("accreditations.new_claim", "POST",
         lambda p: f"/manage/labs/{p.draft.slug}/accreditations/new", managed(422, hidden=True),
         data=lambda p: {"scheme_code": ""}, name="draft"),
    Case("accreditations.claim", "GET", lambda p: _claim(p), SEEN_404,
         shows=lambda p: "MX-CLAIM-7", seers=SEERS),
    Case("accreditations.evidence_file", "GET", lambda p: f"/evidence/{p.acc_evidence}",
         SEEN_404),
    Case("accreditations.evidence_file", "GET", lambda p: "/evidence/claims/../../secret_key",
         {**dict.fromkeys(ACTORS, 404), "anonymous": 302}, name="outside"),
    Case("accreditations.decide", "POST", lambda p: _claim(p, "/decide"), _decide(409),
         data=lambda p: {"action": "verify", "version": 999}),
    Case("accreditations.ask", "POST", lambda p: _claim(p, "/ask"), _decide(422),
         data=lambda p: {"question": ""}),
    Case("accreditations.answer", "POST",
         lambda p: _claim(p, f"/questions/{p.acc_question_id}/answer"),
         {**only(("manager",), 422, 404), "admin": 403, "verifier": 403, "anonymous": 302},
         data=lambda p: {"answer": ""}),
    Case("accreditations.queue", "GET", lambda p: "/accreditations/queue", VERIFIERS_ONLY_403,
         shows=lambda p: f"queue-{p.acc_claim_id}", seers=VERIFIERS),
    Case("accreditations.registry_page", "GET", lambda p: "/accreditations", ALL_OK,
         shows=lambda p: "MX-VERIFIED-1", seers=ACTORS),
    Case("accreditations.registry_csv", "GET", lambda p: "/accreditations.csv", ALL_OK),
    Case("accreditations.registry_json", "GET", lambda p: "/accreditations.json", ALL_OK),
    Case("accreditations.verify", "GET", lambda p: f"/verify/{p.acc_code}", ALL_OK),
    Case("accreditations.verify", "GET", lambda p: "/verify/unknown-code",
         dict.fromkeys(ACTORS, 404), name="unknown"),
]
