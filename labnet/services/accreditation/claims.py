"""Accreditation claims and their verification.

Rules owned here:

- **Claim**: a lab's managers (and admins) claim a shipped scheme with a certificate
  number, an issuer (for the national-body schemes, the accreditation body of the lab's
  country from ``labnet/data/accreditation_bodies.yaml``), a scope (required for ISO/IEC
  17025: one method or standard per line), issued on, valid until (empty: issued on plus
  the scheme's validity) and evidence (a checked PDF and/or the address of the issuer's
  register entry). Every refusal names its field and all are reported at once; nothing is
  written before every check passed (the PDF is stored last).
- **Decisions** (:data:`TRANSITIONS`): verify or reject a claim; suspend, withdraw or
  reinstate a verified one. Only verifiers who do not manage the lab decide. Each is one
  ``UPDATE … WHERE id = :id AND version = :seen AND status IN (…)``: of two verifiers
  acting at once one wins, the other is told and nothing of theirs is written.
- **Renewal**: a claim may name the accreditation it renews (same lab and scheme); when it
  is verified the old one becomes ``superseded`` in the same transaction — no gap, the old
  row kept as history.
- **Questions**: a verifier asks, the lab's managers answer once.
- Every step is audited and e-mailed (managers: decisions and questions; verifiers: new
  claims and answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from labnet import data
from labnet.errors import NotFound, PermissionDenied, RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.models import (
    Accreditation,
    AccreditationQuestion,
    AccreditationScheme,
    AccreditationStatus,
    Lab,
    Role,
    User,
    UserRole,
)
from labnet.permissions import can_decide_accreditation, can_manage_lab, manages_lab
from labnet.services.accreditation import evidence
from labnet.services.accreditation.validity import ends_at
from labnet.services.catalogue.labs.team import manager_addresses
from labnet.services.catalogue.search.index import LAB_IDS_OPTION
from labnet.services.common import audit
from labnet.services.common.text import clean_text, text_problem
from labnet.services.notifications.outbox import enqueue_email

S = AccreditationStatus
# action -> (states it applies to, state it leads to, reason required)
TRANSITIONS: dict[str, tuple[frozenset[str], str, bool]] = {
    "verify": (frozenset({S.CLAIMED}), S.VERIFIED, False),
    "reject": (frozenset({S.CLAIMED}), S.REJECTED, True),
    "suspend": (frozenset({S.VERIFIED}), S.SUSPENDED, True),
    "withdraw": (frozenset({S.VERIFIED, S.SUSPENDED}), S.WITHDRAWN, True),
    "reinstate": (frozenset({S.SUSPENDED}), S.VERIFIED, False),
}
#: What each state is called on the pages and in messages (the codes stay in the data).
STATE_LABELS = {
    "claimed": _l("claimed"), "verified": _l("verified"), "expiring": _l("expiring"),
    "expired": _l("expired"), "rejected": _l("rejected"), "suspended": _l("suspended"),
    "withdrawn": _l("withdrawn"), "superseded": _l("superseded"),
}
#: The date a decided claim shows on its page, by its state.
DECIDED_ON = {"rejected": _l("Rejected on"), "suspended": _l("Suspended on"),
              "withdrawn": _l("Withdrawn on"), "superseded": _l("Superseded on"),
              "expired": _l("Expired on")}
#: A decision's button.
ACTION_LABELS = {"verify": _l("Verify"), "reject": _l("Reject"), "suspend": _l("Suspend"),
                 "withdraw": _l("Withdraw"), "reinstate": _l("Reinstate")}
#: Said once a decision is saved.
ACTION_DONE = {
    "verify": _l("The accreditation is verified."),
    "reject": _l("The accreditation is rejected."),
    "suspend": _l("The accreditation is suspended."),
    "withdraw": _l("The accreditation is withdrawn."),
    "reinstate": _l("The accreditation is reinstated."),
}
RENEWABLE = frozenset({S.VERIFIED, S.SUSPENDED, S.EXPIRED})
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
MAX_SCOPE = 20_000
MAX_TEXT = 4000


@dataclass(frozen=True)
class ClaimInput:
    """What a manager typed on the claim form (parsed: dates, the PDF's bytes)."""

    scheme_code: str = ""
    certificate_no: str = ""
    issuer: str = ""
    scope: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    evidence_url: str = ""
    evidence_pdf: bytes | None = None
    evidence_name: str = ""
    renews_id: int | None = None


def needs_national_body(scheme_code: str) -> bool:
    """ISO/IEC 17025, 17020, 15189, 17043, 17034: issued by a national body."""
    return scheme_code in data.NATIONAL_BODY_SCHEMES


def national_body(country: str) -> str | None:
    """The accreditation body of ``country`` (EU/EEA), if it has one in the list."""
    return data.accreditation_bodies().get(country)


def default_valid_until(scheme: AccreditationScheme | None, valid_from: date | None
                        ) -> date | None:
    """Issued on plus the scheme's validity (None when either is unknown)."""
    if scheme is None or valid_from is None or not scheme.default_validity_months:
        return None
    months = valid_from.month - 1 + scheme.default_validity_months
    year, month = valid_from.year + months // 12, months % 12 + 1
    day = valid_from.day
    while True:
        try:
            return date(year, month, day) - timedelta(days=1)
        except ValueError:  # 31 February: the month's last day
            day -= 1


def scope_lines(scope: str) -> list[str]:
    """The scope as its non-empty lines (17025: one method or standard each)."""
    return [line.strip() for line in scope.splitlines() if line.strip()]


def _lab_why(lab: Lab) -> Any:
    return _l("You receive this because you manage %(lab)s on LabNet.", lab=lab.name)


VERIFIER_WHY = _l("You receive this because you verify accreditations on LabNet.")


def verifier_addresses(exclude_lab_id: int | None = None) -> list[str]:
    """Active verifiers' addresses (those who manage ``exclude_lab_id`` left out)."""
    users = db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.VERIFIER, User.is_active.is_(True))
        .order_by(User.email)).unique()
    return [u.email for u in users
            if exclude_lab_id is None or not manages_lab(u, exclude_lab_id)]


def _mail_managers(kind: str, acc: Accreditation, subject: Any, now: datetime,
                   **extra: Any) -> None:
    for address in manager_addresses(acc.lab_id):
        enqueue_email(kind, address, subject, {"acc": acc, "lab": acc.lab, **extra}, now=now,
                      why=_lab_why(acc.lab))


def _check(lab: Lab, item: ClaimInput, today: date) -> tuple[AccreditationScheme | None,
                                                             date | None]:
    problems: list[RuleViolation] = []
    scheme = db.session.get(AccreditationScheme, item.scheme_code) if item.scheme_code else None
    if scheme is None:
        problems.append(RuleViolation("scheme_code", _("Choose the scheme from the list.")))
    if not item.certificate_no.strip():
        problems.append(RuleViolation("certificate_no", _("Give the certificate number.")))
    elif bad := text_problem(item.certificate_no, label=_("The number"), limit=100):
        problems.append(RuleViolation("certificate_no", bad))
    if needs_national_body(item.scheme_code):
        body = national_body(lab.country)
        if body is None:
            problems.append(RuleViolation(
                "issuer", _("This scheme is accredited by a national accreditation body of "
                            "an EU/EEA country; the lab's country has none in LabNet's "
                            "list.")))
        elif item.issuer != body:
            problems.append(RuleViolation(
                "issuer", _("For this scheme the issuer is the national accreditation "
                            "body of the lab's country: %(body)s.", body=body)))
    elif not item.issuer.strip():
        problems.append(RuleViolation("issuer", _("Name the body that issued the certificate.")))
    elif bad := text_problem(item.issuer, label=_("The issuer"), limit=200):
        problems.append(RuleViolation("issuer", bad))
    if item.scheme_code == "iso-iec-17025" and not scope_lines(item.scope):
        problems.append(RuleViolation(
            "scope", _("List the accredited methods or standards, one per line.")))
    if bad := text_problem(item.scope, label=_("The scope"), limit=MAX_SCOPE, one_line=False):
        problems.append(RuleViolation("scope", bad))
    if item.valid_from is None:
        problems.append(RuleViolation("valid_from",
                                        _("Give the date the certificate was issued.")))
    elif item.valid_from > today:
        problems.append(RuleViolation("valid_from",
                                        _("The issue date cannot be in the future.")))
    until = item.valid_until or default_valid_until(scheme, item.valid_from)
    if item.valid_from and until and until < item.valid_from:
        problems.append(RuleViolation("valid_until",
                                        _("Valid until must not be before issued on.")))
    elif until is not None and until < today:
        problems.append(RuleViolation("valid_until", _("This certificate has already expired.")))
    elif until is None and scheme is not None and item.valid_from is not None:
        pass  # a scheme without a validity period: valid until withdrawn
    if item.evidence_url and (not URL.match(item.evidence_url) or len(item.evidence_url) > 500):
        problems.append(RuleViolation(
            "evidence_url",
            _("Give the full address (https://…) of the entry in the register.")))
    if item.evidence_pdf is None and not item.evidence_url:
        problems.append(RuleViolation(
            "evidence", _("Upload the certificate (PDF) or give the address of the entry "
                          "in the issuer's public register.")))
    elif item.evidence_pdf is not None:
        try:
            evidence.check_pdf(item.evidence_pdf)
        except RuleViolation as exc:
            problems.append(exc)
    raise_all(problems)
    return scheme, until


def renewable(lab: Lab) -> list[Accreditation]:
    """The lab's accreditations a new claim may renew."""
    return list(db.session.scalars(
        select(Accreditation).where(Accreditation.lab_id == lab.id,
                                    Accreditation.status.in_(RENEWABLE))
        .order_by(Accreditation.scheme_code, Accreditation.id)))


def create_claim(actor: User, lab: Lab, item: ClaimInput, *, now: datetime,
                 instance_path: str, today: date) -> Accreditation:
    """A lab's manager claims an accreditation (module docstring). ``today`` is the lab's
    local date. Flushes; the caller commits."""
    if not can_manage_lab(actor, lab):
        raise PermissionDenied(lab.id)
    renews: Accreditation | None = None
    if item.renews_id is not None:
        renews = db.session.get(Accreditation, item.renews_id)
        if renews is None or renews.lab_id != lab.id or renews.status not in RENEWABLE:
            raise RuleViolation("renews_id", _("Choose one of this lab's accreditations."))
        if renews.scheme_code != item.scheme_code:
            raise RuleViolation("scheme_code",
                                _("A renewal keeps the scheme of what it renews."))
    _scheme, until = _check(lab, item, today)
    acc = Accreditation(
        lab_id=lab.id, scheme_code=item.scheme_code, certificate_no=item.certificate_no.strip(),
        issuer=item.issuer.strip(), scope="\n".join(scope_lines(item.scope)),
        valid_from=item.valid_from, valid_until=until, ends_at=ends_at(until, lab.timezone),
        status=S.CLAIMED, claimed_by_id=actor.id, evidence_url=item.evidence_url.strip(),
        renews_id=renews.id if renews else None, created_at=now, updated_at=now)
    if item.evidence_pdf is not None:
        acc.evidence_file = evidence.store(db.session(), instance_path, "claims",
                                           item.evidence_pdf)
        acc.evidence_name = (item.evidence_name or "certificate.pdf")[:200]
        acc.evidence_size = len(item.evidence_pdf)
    db.session.add(acc)
    db.session.flush()
    audit.record(actor, "accreditation.claimed", "accreditation", acc.id, now=now,
                 lab_id=lab.id, scheme=acc.scheme_code, renews=acc.renews_id)
    for address in verifier_addresses(exclude_lab_id=lab.id):
        enqueue_email("accreditation_claimed", address,
                      _l("New accreditation claim: %(lab)s", lab=lab.name),
                      {"acc": acc, "lab": lab},
                      now=now, why=VERIFIER_WHY)
    return acc


def decide(actor: User, acc: Accreditation, action: str, *, seen_version: int, reason: str,
           now: datetime) -> Accreditation:
    """Apply a verifier's decision (:data:`TRANSITIONS`) if nobody acted since the verifier
    loaded the claim (``seen_version``). Flushes; the caller commits."""
    if action not in TRANSITIONS:
        raise RuleViolation("action", _("Choose what to do."))
    if not can_decide_accreditation(actor, acc):
        raise PermissionDenied(acc.id)
    allowed, to, needs_reason = TRANSITIONS[action]
    reason = clean_text(reason, "reason", label=_("The reason"), limit=MAX_TEXT, one_line=False,
                        required=_("Give the reason; the lab will read it.") if needs_reason
                        else None)
    values: dict[str, Any] = {"status": to, "version": acc.version + 1, "updated_at": now,
                              "reason": reason, "decided_by_id": actor.id, "decided_at": now}
    if action == "verify":
        values.update(verified_by_id=actor.id, verified_at=now, reason="")
    done = cast(CursorResult[Any], db.session.execute(
        update(Accreditation)
        .where(Accreditation.id == acc.id, Accreditation.version == seen_version,
               Accreditation.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False, **{LAB_IDS_OPTION: [acc.lab_id]})))
    if done.rowcount != 1:
        db.session.refresh(acc)
        raise RuleViolation("version", _("Someone else acted on this claim meanwhile (it is "
                                         "now %(state)s); nothing of yours was saved.",
                                         state=STATE_LABELS.get(acc.status, acc.status)),
                            code=409)
    db.session.refresh(acc)
    audit.record(actor, f"accreditation.{action}", "accreditation", acc.id, now=now,
                 reason=reason, lab_id=acc.lab_id)
    if action == "verify" and acc.renews_id is not None:
        old = db.session.get(Accreditation, acc.renews_id)
        if old is not None and old.status in RENEWABLE:
            old.status = S.SUPERSEDED
            old.version += 1
            old.decided_at, old.decided_by_id = now, actor.id
            # Stored text: written in the verifier's language.
            old.reason = _("Renewed by certificate %(number)s.", number=acc.certificate_no)
            audit.record(actor, "accreditation.superseded", "accreditation", old.id, now=now,
                         by=acc.id)
    db.session.flush()
    _mail_managers("accreditation_decision", acc, _decision_subject(action, acc.lab.name),
                   now, action=action)
    return acc


def _decision_subject(action: str, lab_name: str) -> Any:
    """The subject of the mail a decision sends (lazy: read in the recipient's language)."""
    return {
        "verify": _l("Accreditation verified: %(lab)s", lab=lab_name),
        "reject": _l("Accreditation rejected: %(lab)s", lab=lab_name),
        "suspend": _l("Accreditation suspended: %(lab)s", lab=lab_name),
        "withdraw": _l("Accreditation withdrawn: %(lab)s", lab=lab_name),
        "reinstate": _l("Accreditation reinstated: %(lab)s", lab=lab_name),
    }[action]


def action_word(action: str) -> Any:
    """The past participle of an action, for pages (translated when read)."""
    return {"verify": _l("verified"), "reject": _l("rejected"), "suspend": _l("suspended"),
            "withdraw": _l("withdrawn"), "reinstate": _l("reinstated")}[action]


def ask(actor: User, acc: Accreditation, question: str, *, now: datetime
        ) -> AccreditationQuestion:
    """A verifier asks the lab a question on an open claim."""
    if not can_decide_accreditation(actor, acc):
        raise PermissionDenied(acc.id)
    if acc.status != S.CLAIMED:
        raise RuleViolation("question", _("Questions are asked while the claim is open."))
    question = clean_text(question, "question", label=_("The question"), limit=MAX_TEXT,
                          one_line=False, required=_("Write the question."))
    q = AccreditationQuestion(accreditation_id=acc.id, asked_by_id=actor.id, asked_at=now,
                              question=question)
    db.session.add(q)
    db.session.flush()
    audit.record(actor, "accreditation.asked", "accreditation", acc.id, now=now, question=q.id)
    _mail_managers("accreditation_question", acc,
                   _l("A question on your claim: %(lab)s", lab=acc.lab.name), now, question=q)
    return q


def answer(actor: User, acc: Accreditation, question_id: int, text: str, *, now: datetime
           ) -> AccreditationQuestion:
    """The lab's managers answer a question once (a second answer is refused)."""
    q = db.session.get(AccreditationQuestion, question_id)
    if q is None or q.accreditation_id != acc.id:
        raise NotFound(question_id)
    if not manages_lab(actor, acc.lab_id):
        raise PermissionDenied(acc.id)
    text = clean_text(text, "answer", label=_("The answer"), limit=MAX_TEXT, one_line=False,
                      required=_("Write the answer."))
    done = cast(CursorResult[Any], db.session.execute(
        update(AccreditationQuestion)
        .where(AccreditationQuestion.id == q.id, AccreditationQuestion.answered_at.is_(None))
        .values(answer=text, answered_by_id=actor.id, answered_at=now)
        .execution_options(synchronize_session=False)))
    if done.rowcount != 1:
        raise RuleViolation("answer", _("This question has already been answered."), code=409)
    db.session.refresh(q)
    audit.record(actor, "accreditation.answered", "accreditation", acc.id, now=now,
                 question=q.id)
    asker = db.session.get(User, q.asked_by_id) if q.asked_by_id else None
    if asker is not None:
        enqueue_email("accreditation_answer", asker.email,
                      _l("The lab answered: %(lab)s", lab=acc.lab.name),
                      {"acc": acc, "lab": acc.lab, "question": q},
                      now=now, why=VERIFIER_WHY)
    return q


def questions_of(acc: Accreditation) -> list[AccreditationQuestion]:
    """The claim's thread, oldest first."""
    return list(db.session.scalars(
        select(AccreditationQuestion).where(AccreditationQuestion.accreditation_id == acc.id)
        .order_by(AccreditationQuestion.asked_at, AccreditationQuestion.id)))


def queue(actor: User) -> list[Accreditation]:
    """Open claims, oldest first, that the actor may decide (not of labs they manage)."""
    rows = db.session.scalars(
        select(Accreditation).where(Accreditation.status == S.CLAIMED)
        .order_by(Accreditation.created_at, Accreditation.id)).all()
    return [a for a in rows if can_decide_accreditation(actor, a)]


def of_lab(lab: Lab) -> list[Accreditation]:
    """Every accreditation of a lab, newest first (history included)."""
    return list(db.session.scalars(
        select(Accreditation).where(Accreditation.lab_id == lab.id)
        .order_by(Accreditation.created_at.desc(), Accreditation.id.desc())))
