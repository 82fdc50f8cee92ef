"""Matrix entries for the LabNet excellence label (issue 14 §2).

The cast adds a draft application of the matrix lab (by its manager, answer text
``Matrix draft answer``) and a submitted application of ``other_lab`` (by its manager).
Verifiers and admins (DESIGN: admins may do everything) see submitted applications and
score them, never a draft; the other lab's manager is refused scoring their own lab (403
on the form). Label evidence is
served by the one evidence route (cases/accreditations ``accreditations.evidence_file``);
who gets a label answer's PDF is tested with real files in tests/web/test_label.py.
"""

from __future__ import annotations

from labnet import clock
from labnet.extensions import db
from labnet.models import Lab, User
from labnet.services.accreditation import label
from labnet.services.accreditation.label_framework import framework
from tests.authz.cases.base import ACTORS, ALL_OK, Case, only
from tests.authz.cases.manage import managed

DRAFT_TEXT = "Matrix draft answer"


def seed(app, people) -> None:
    with app.test_request_context():
        now = clock.utcnow()
        draft = label.start_application(db.session.get_one(User, people.manager.id),
                                        db.session.get_one(Lab, people.lab.id), now=now)
        label.save_answers(db.session.get_one(User, people.manager.id), draft,
                           {"S1": label.AnswerInput(text=DRAFT_TEXT)}, submit=False, now=now)
        other = db.session.get_one(User, people.other_manager.id)
        submitted = label.start_application(other, db.session.get_one(Lab, people.other_lab.id),
                                            now=now)
        label.save_answers(other, submitted, {c: label.AnswerInput(text="Other lab answer")
                                              for c in framework().codes},
                           submit=True, now=now)
        db.session.commit()
        people.lb_draft_id, people.lb_submitted_id = draft.id, submitted.id


def _draft(p) -> str:
    return f"/label/applications/{p.lb_draft_id}"


def _submitted(p) -> str:
    return f"/label/applications/{p.lb_submitted_id}"


def _hidden(seers: tuple[str, ...], ok: int) -> dict[str, int]:
    return {a: (302 if a == "anonymous" else ok if a in seers else 404) for a in ACTORS}


SCORES = {f"score_{c}": "3" for c in framework().codes}

CASES = [
    Case("label.index", "GET", lambda p: "/label", ALL_OK),
    Case("label.queue", "GET", lambda p: "/label/queue",
         only(("admin", "verifier"), 200, 403, anonymous=302),
         shows=lambda p: f"label-application-{p.lb_submitted_id}", seers=("admin", "verifier")),
    Case("label.lab", "GET", lambda p: f"/label/labs/{p.lab.slug}", managed(200)),
    Case("label.apply", "POST", lambda p: f"/label/labs/{p.lab.slug}/apply", managed(302)),
    Case("label.application", "GET", _draft, _hidden(("manager", "admin"), 200),
         shows=lambda p: DRAFT_TEXT, seers=("manager", "admin")),
    Case("label.application", "GET", _submitted,
         _hidden(("other_manager", "admin", "verifier"), 200),
         name="submitted", shows=lambda p: "Other lab answer",
         seers=("other_manager", "admin", "verifier")),
    Case("label.save", "POST", lambda p: f"{_draft(p)}/answers",
         _hidden(("manager", "admin"), 302),
         data=lambda p: {"action": "save", "answer_S1": "Changed"}),
    Case("label.save", "POST", lambda p: f"{_submitted(p)}/answers",
         _hidden(("other_manager", "admin", "verifier"), 403),
         name="submitted", data=lambda p: {"action": "save", "answer_S1": "Changed"}),
    Case("label.score", "POST", lambda p: f"{_submitted(p)}/score",
         {**_hidden(("other_manager", "admin", "verifier"), 302), "other_manager": 403},
         data=lambda p: SCORES),
    Case("label.score", "POST", lambda p: f"{_draft(p)}/score",
         _hidden(("manager", "admin"), 403), name="draft", data=lambda p: SCORES),
]
