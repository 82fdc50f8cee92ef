"""Demo data of the excellence label (``flask labnet seed-demo``): a Gold label
(Fraunhofer ILT), a Bronze label (CEA-Leti), and an application of Fraunhofer IPT waiting
for its second score — for verifier@labnet.example's work list.

Rules owned here: none; everything goes through :mod:`.label` (so the demo holds only
states the rules allow), with a second demo verifier (verifier2@labnet.example) as the
other scorer. Idempotent: nothing is added when any application exists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from labnet import security
from labnet.extensions import db
from labnet.models import Lab, LabelApplication, Role, User, UserRole
from labnet.services.accreditation import label
from labnet.services.accreditation.label_framework import framework

SECOND_VERIFIER = ("verifier2@labnet.example", "Greta Lindqvist")  # i18n: keep (demo data)

# (lab slug, who applies, days ago it was submitted, the two verifiers' scores by group
# (strategy, services, cooperation, quality); None for the second: still waiting).
DEMO_LABELS = (
    ("fraunhofer-ilt", "manager@labnet.example", 200, (4, 4, 3, 4), (4, 3, 3, 4)),
    ("cea-leti", "admin@labnet.example", 420, (2, 3, 2, 2), (2, 2, 2, 3)),
    ("fraunhofer-ipt", "manager@labnet.example", 6, (3, 3, 2, 3), None),
)

ANSWER = ("{lab} answers “{title}”: {question} Our evidence: {evidence} (Demo answer written "
          "for the LabNet demo.)")


def _second_verifier(password: str, office_id: int, now: datetime) -> User:
    email, name = SECOND_VERIFIER
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, full_name=name, password_hash=security.hash_password(password),
                    organisation_id=office_id, email_confirmed_at=now, is_active=True,
                    org_role="member")
        db.session.add(user)
        db.session.flush()
        db.session.add(UserRole(user_id=user.id, role=Role.VERIFIER, granted_at=now))
        db.session.flush()
    return user


def _scores(by_group: tuple[int, ...]) -> dict[str, str]:
    return {c.code: str(score) for group, score in zip(framework().groups, by_group,
                                                        strict=True)
            for c in group.criteria}


def seed_demo_labels(*, now: datetime, password: str,
                     progress: Callable[[str, int, int], None]) -> int:
    """Add the demo applications (see the module docstring); how many were added."""
    if db.session.scalar(select(exists().where(LabelApplication.id.is_not(None)))):
        return 0
    first = db.session.scalar(select(User).where(User.email == "verifier@labnet.example"))
    if first is None:
        return 0
    second = _second_verifier(password, first.organisation_id, now)
    added = 0
    for i, (slug, applicant_email, days, one, two) in enumerate(DEMO_LABELS, start=1):
        progress("excellence labels", i, len(DEMO_LABELS))
        lab = db.session.scalar(select(Lab).where(Lab.slug == slug))
        applicant = db.session.scalar(select(User).where(User.email == applicant_email))
        if lab is None or applicant is None:
            continue
        at = now - timedelta(days=days)
        application = label.start_application(applicant, lab, now=at - timedelta(days=3))
        answers = {c.code: label.AnswerInput(
            text=ANSWER.format(lab=lab.name, title=c.title, question=c.question,
                               evidence=c.evidence),
            url=lab.website if c.code == "C1" and lab.website.startswith("http") else "")
            for c in framework().criteria}
        label.save_answers(applicant, application, answers, submit=True, now=at)
        # The second demo verifier scores first, so the waiting one is verifier@'s to do.
        label.score_application(second, application.id, _scores(one), "", now=at
                                + timedelta(days=2))
        if two is not None:
            note = "Evidence checked against the lab's published reports."  # i18n: keep
            label.score_application(first, application.id, _scores(two), note,
                                    now=at + timedelta(days=4))
        added += 1
    db.session.flush()
    return added
