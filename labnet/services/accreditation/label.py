"""The LabNet excellence label workflow.

Rules owned here:

- **applying**: a lab's managers (``permissions.can_apply_label``) start one application
  at a time (a draft, then submitted); when the lab holds a current label, the new
  application renews it (``renews_id``). Answers are text (at most
  :data:`MAX_ANSWER` characters) with optional evidence: an ``http(s)`` address and/or a
  PDF (the evidence store). A draft is saved with any answers; **submitting needs an answer
  to every criterion** (each missing one refused on its field) and freezes LabNet's
  figures of the last 12 months (``label_figures``) into the application. Verifiers are
  e-mailed (DESIGN rule 8).
- **scoring**: two verifiers who do not manage the lab (``permissions.can_score_label``)
  score every criterion 0–4 independently (seats 1 and 2); the database holds one score
  per (application, verifier, criterion) and one verifier per seat, and every scoring
  first bumps the application's ``lock_seq`` (the row lock that orders two verifiers), so
  a third initial score is refused on the form and a lost race is told (409), never a 500.
- **agreement**: per criterion the mean of the two scores when they differ by at most one
  point; otherwise a third verifier (seat 3, neither of the two) scores just those
  criteria, and theirs is the agreed score. A third score when none is needed is refused.
- **decision**: ``label_framework.level_for`` on the agreed scores. Awarded: an
  ``accreditation`` row of scheme ``labnet-excellence`` (verified, the level, valid from
  the decision's day in the lab's zone for ``validity_months``, verified by the deciding
  verifier) — the label the catalogue, badges and registry show. A renewal takes over with
  no gap: the label it renews, if still valid, ends the day before. Not awarded: the
  reasons. Either way the lab's managers are e-mailed and every step is audited.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Select, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from labnet import clock, permissions
from labnet.errors import RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import DEFAULT_LANGUAGE, _, _l, force_locale
from labnet.models import (
    Accreditation,
    AccreditationStatus,
    Lab,
    LabelAnswer,
    LabelApplication,
    LabelScore,
    LabelStatus,
    LabManager,
    Role,
    User,
    UserRole,
)
from labnet.models.excellence import OPEN_STATUSES
from labnet.services.accreditation import evidence
from labnet.services.accreditation.label_figures import lab_figures
from labnet.services.accreditation.label_framework import SCHEME_CODE, framework, level_for
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.notifications.outbox import enqueue_email

MAX_ANSWER = 5000
MAX_URL = 500
MAX_COMMENT = 2000
INITIAL_SEATS = (1, 2)
THIRD_SEAT = 3


@dataclass
class AnswerInput:
    """What the form posted for one criterion (``file`` the uploaded bytes, if any)."""

    text: str = ""
    url: str = ""
    file: bytes | None = None
    file_name: str = ""
    remove_file: bool = False


# --- reading ------------------------------------------------------------------------------


def current_label(lab_id: int, today: date) -> Accreditation | None:
    """The lab's valid excellence label on ``today`` (the latest-ending one), or None."""
    return db.session.scalar(
        select(Accreditation).where(
            Accreditation.lab_id == lab_id, Accreditation.scheme_code == SCHEME_CODE,
            Accreditation.status == AccreditationStatus.VERIFIED,
            Accreditation.valid_from <= today, Accreditation.valid_until >= today)
        .order_by(Accreditation.valid_until.desc()).limit(1))


def open_application(lab_id: int) -> LabelApplication | None:
    """The lab's draft or application under scoring, if any (at most one)."""
    return db.session.scalar(select(LabelApplication).where(
        LabelApplication.lab_id == lab_id,
        LabelApplication.status.in_((LabelStatus.DRAFT, *OPEN_STATUSES))).limit(1))


def list_applications(lab_id: int) -> Select[tuple[LabelApplication]]:
    """The lab's applications, newest first."""
    return (select(LabelApplication).where(LabelApplication.lab_id == lab_id)
            .order_by(LabelApplication.created_at.desc(), LabelApplication.id.desc()))


def answers_of(application_id: int) -> dict[str, LabelAnswer]:
    """The application's answers by criterion code."""
    return {a.criterion: a for a in db.session.scalars(
        select(LabelAnswer).where(LabelAnswer.application_id == application_id))}


def scores_of(application_id: int) -> list[LabelScore]:
    """Every score of the application, by seat and criterion (callers decide who sees
    which: :func:`can_see_all_scores`)."""
    return list(db.session.scalars(select(LabelScore).where(
        LabelScore.application_id == application_id).order_by(LabelScore.seat,
                                                               LabelScore.criterion)))


def seats(scores: list[LabelScore]) -> dict[int, int | None]:
    """Seat → the verifier holding it (seats nobody took are missing)."""
    return {s.seat: s.verifier_id for s in scores}


def disputed(scores: list[LabelScore]) -> list[str]:
    """The criteria whose two initial scores differ by more than one point."""
    by: dict[str, dict[int, int]] = defaultdict(dict)
    for s in scores:
        by[s.criterion][s.seat] = s.score
    return [c for c in framework().codes
            if 1 in by[c] and 2 in by[c] and abs(by[c][1] - by[c][2]) > 1]


def agreed_scores(scores: list[LabelScore]) -> dict[str, float]:
    """Per criterion: the third's score where there is one, else the mean of the two."""
    by: dict[str, dict[int, int]] = defaultdict(dict)
    for s in scores:
        by[s.criterion][s.seat] = s.score
    agreed: dict[str, float] = {}
    for code in framework().codes:
        given = by.get(code, {})
        if THIRD_SEAT in given:
            agreed[code] = float(given[THIRD_SEAT])
        elif 1 in given and 2 in given:
            agreed[code] = (given[1] + given[2]) / 2
    return agreed


def criteria_to_score(application: LabelApplication, scores: list[LabelScore]) -> list[str]:
    """What the next scorer scores: everything for an initial seat, the disputed criteria
    for the third."""
    if application.status == LabelStatus.THIRD:
        return disputed(scores)
    return list(framework().codes)


def can_see_all_scores(application: LabelApplication) -> bool:
    """Scores stay each verifier's own until both initial scores are in."""
    return application.status not in (LabelStatus.DRAFT, LabelStatus.SUBMITTED)


def verifier_queue(actor: User) -> Select[tuple[LabelApplication]]:
    """Applications needing a score from ``actor``: submitted ones with a free initial
    seat, or waiting for a third, that ``actor`` has not scored and whose lab they do not
    manage; oldest first."""
    mine = exists().where(LabelScore.application_id == LabelApplication.id,
                          LabelScore.verifier_id == actor.id)
    manages = exists().where(LabManager.lab_id == LabelApplication.lab_id,
                             LabManager.user_id == actor.id)
    initial_seats = (select(func.count(func.distinct(LabelScore.seat)))
                     .where(LabelScore.application_id == LabelApplication.id,
                            LabelScore.seat.in_(INITIAL_SEATS)).scalar_subquery())
    third_taken = exists().where(LabelScore.application_id == LabelApplication.id,
                                 LabelScore.seat == THIRD_SEAT)
    return (select(LabelApplication)
            .where(~mine, ~manages, LabelApplication.created_by_id.is_distinct_from(actor.id),
                   ((LabelApplication.status == LabelStatus.SUBMITTED) & (initial_seats < 2))
                   | ((LabelApplication.status == LabelStatus.THIRD) & ~third_taken))
            .order_by(LabelApplication.submitted_at, LabelApplication.id))


#: The label's levels as people read them (the framework's names are English data).
LEVEL_NAMES = {"bronze": _l("Bronze"), "silver": _l("Silver"), "gold": _l("Gold")}


# --- applying -----------------------------------------------------------------------------


def start_application(actor: User, lab: Lab, *, now: datetime) -> LabelApplication:
    """Start a draft application of ``lab`` (a renewal when it holds a current label).

    :raises PermissionDenied: unless ``actor`` manages the lab.
    :raises RuleViolation: when the lab has a draft or an application under scoring.
    """
    permissions.require(permissions.can_apply_label, actor, lab)
    if open_application(lab.id) is not None:
        raise RuleViolation(None, _("%(lab)s has an application in progress already: "
                                    "continue that one.", lab=lab.name))
    today = clock.to_zone(now, lab.timezone).date()
    renewing = current_label(lab.id, today)
    application = LabelApplication(lab_id=lab.id, created_by_id=actor.id,
                                   framework_version=framework().version,
                                   renews_id=renewing.id if renewing else None,
                                   created_at=now, updated_at=now)
    db.session.add(application)
    try:
        db.session.flush()  # the partial unique index is the backstop of the check above
    except IntegrityError:
        raise RuleViolation(None, _("%(lab)s has an application in progress already: "
                                    "continue that one.", lab=lab.name), 409) from None
    audit.record(actor, "label.started", "label_application", application.id, now=now,
                 lab_id=lab.id, renews=application.renews_id)
    return application


def _clean_url(value: str, field: str) -> str:
    url = clean_text(value, field, label=_("The address"), limit=MAX_URL)
    if url and not url.lower().startswith(("https://", "http://")):
        raise RuleViolation(field, _("Give the full address of the evidence, starting with "
                                     "https:// (or leave it empty)."))
    return url


def save_answers(actor: User, application: LabelApplication, answers: dict[str, AnswerInput],
                 *, submit: bool, now: datetime) -> LabelApplication:
    """Save the draft's answers; with ``submit``, submit it for scoring.

    Each problem is refused on its field (``answer_<code>``, ``url_<code>``,
    ``file_<code>``) all at once, and nothing is written then.

    :raises PermissionDenied: unless ``actor`` may edit the draft.
    :raises RuleViolations: bad text, address or file; on submit, criteria unanswered.
    """
    permissions.require(permissions.can_edit_label_application, actor, application)
    fw = framework()
    stored = answers_of(application.id)
    problems: list[RuleViolation] = []
    cleaned: dict[str, tuple[str, str]] = {}
    for c in fw.criteria:
        given = answers.get(c.code, AnswerInput())
        try:
            text = clean_text(given.text, f"answer_{c.code}", label=_("The answer"),
                              limit=MAX_ANSWER, one_line=False)
            if submit and not text:
                raise RuleViolation(f"answer_{c.code}",
                                    _("Answer %(code)s (%(title)s) before submitting.",
                                      code=c.code, title=c.title))
            cleaned[c.code] = (text, _clean_url(given.url, f"url_{c.code}"))
        except RuleViolation as exc:
            problems.append(exc)
        if given.file:
            try:
                evidence.check_pdf(given.file, f"file_{c.code}")
            except RuleViolation as exc:
                problems.append(exc)
    raise_all(problems)
    for c in fw.criteria:
        given = answers.get(c.code, AnswerInput())
        text, url = cleaned[c.code]
        row = stored.get(c.code) or LabelAnswer(application_id=application.id,
                                                criterion=c.code, evidence_file=None)
        row.text, row.evidence_url = text, url
        if given.file:
            row.evidence_file = evidence.store(db.session(), current_app.instance_path,
                                               "label", given.file)
            row.evidence_name = (given.file_name or "evidence.pdf")[:200]
        elif given.remove_file:
            row.evidence_file, row.evidence_name = None, ""
        if c.code not in stored:
            db.session.add(row)
    application.updated_at = now
    if submit:
        _submit(actor, application, now=now)
    else:
        audit.record(actor, "label.saved", "label_application", application.id, now=now)
    db.session.flush()
    return application


def _submit(actor: User, application: LabelApplication, *, now: datetime) -> None:
    # Compare-and-set: two managers submitting at once submit once.
    done = cast(CursorResult[Any], db.session.execute(
        update(LabelApplication)
        .where(LabelApplication.id == application.id,
               LabelApplication.status == LabelStatus.DRAFT)
        .values(status=LabelStatus.SUBMITTED, submitted_at=now,
                figures=lab_figures(application.lab, now=now), updated_at=now)
        .execution_options(synchronize_session=False))).rowcount
    if done != 1:
        raise RuleViolation(None, _("This application was submitted meanwhile."), 409)
    db.session.refresh(application)
    audit.record(actor, "label.submitted", "label_application", application.id, now=now,
                 lab_id=application.lab_id)
    _tell_verifiers(application, "label_submitted",
                    f"{application.lab.name} applies for the LabNet excellence label",
                    now=now, exclude=())


def _verifiers(application: LabelApplication, exclude: tuple[int | None, ...]) -> list[User]:
    """Active verifiers who may score the application (not its lab's managers), or the
    admins when there is no such verifier (nothing goes to nobody, DESIGN rule 8)."""
    def holders(role: str) -> list[User]:
        return list(db.session.scalars(
            select(User).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, User.is_active.is_(True),
                   ~exists().where(LabManager.lab_id == application.lab_id,
                                   LabManager.user_id == User.id))
            .order_by(User.email)))

    people = [u for u in holders(Role.VERIFIER) if u.id not in exclude]
    return people or [u for u in holders(Role.ADMIN) if u.id not in exclude]


def _tell_verifiers(application: LabelApplication, kind: str, subject: Any, *,
                    now: datetime, exclude: tuple[int | None, ...],
                    **context: Any) -> None:
    for person in _verifiers(application, exclude):
        enqueue_email(kind, person.email, subject,
                      {"application": application, "lab": application.lab, **context},
                      now=now, action_required=True,
                      why=_l("You receive this because you score applications for the "
                             "LabNet excellence label."))


# --- scoring and the decision ------------------------------------------------------------


def _parse_score(value: Any, field: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text:
        raise RuleViolation(field, _("Give a score from 0 to 4."))
    if not (text.isascii() and text.lstrip("-").isdigit()) or not 0 <= int(text) <= 4:
        raise RuleViolation(field, _("“%(text)s” is no score: give a whole number from "
                                     "0 to 4.", text=text[:20]))
    return int(text)


def score_application(actor: User, application_id: int, given: dict[str, Any], comment: str,
                      *, now: datetime) -> LabelApplication:
    """Record ``actor``'s scores (criterion code → 0–4) for the criteria they score, then
    move the application on: a third verifier on disagreement, or the decision.

    :raises PermissionDenied: unless ``actor`` is a verifier (or admin) who does not manage
        the lab and the application is under scoring.
    :raises RuleViolation: on ``score_<code>`` for a missing or out-of-range score; on no
        field when ``actor`` scored it already, two verifiers have (a third only on
        disagreement), or another verifier took the seat at the same moment (409).
    """
    # The row lock first, so two verifiers are ordered (PostgreSQL row lock, SQLite writer).
    db.session.execute(update(LabelApplication).where(LabelApplication.id == application_id)
                       .values(lock_seq=LabelApplication.lock_seq + 1)
                       .execution_options(synchronize_session=False))
    application = db.session.get_one(LabelApplication, application_id,
                                     populate_existing=True)
    if permissions.manages_lab(actor, application.lab_id):
        raise RuleViolation(None, _("You manage this lab: a verifier from outside scores it."),
                            403)
    if application.status in (LabelStatus.AWARDED, LabelStatus.NOT_AWARDED):
        raise RuleViolation(None, _("This application is decided already: no more scores."),
                            409)
    permissions.require(permissions.can_score_label, actor, application)
    scores = scores_of(application.id)
    if any(s.verifier_id == actor.id for s in scores):
        raise RuleViolation(None, _("You have scored this application already."), 409)
    taken = seats(scores)
    if application.status == LabelStatus.SUBMITTED:
        free = [s for s in INITIAL_SEATS if s not in taken]
        if not free:  # both in but not moved on: cannot happen under the lock
            raise RuleViolation(None, _("Two verifiers have scored this application already."),
                                409)
        seat = free[0]
    else:
        if THIRD_SEAT in taken:
            raise RuleViolation(None, _("A third verifier has decided already."), 409)
        seat = THIRD_SEAT
    wanted = criteria_to_score(application, scores)
    problems: list[RuleViolation] = []
    values: dict[str, int] = {}
    for code in wanted:
        try:
            values[code] = _parse_score(given.get(code), f"score_{code}")
        except RuleViolation as exc:
            problems.append(exc)
    try:
        note = clean_text(comment, "comment", label=_("The comment"), limit=MAX_COMMENT,
                          one_line=False)
    except RuleViolation as exc:
        problems.append(exc)
    raise_all(problems)
    db.session.add_all(LabelScore(application_id=application.id, verifier_id=actor.id,
                                  seat=seat, criterion=code, score=value, comment=note,
                                  scored_at=now)
                       for code, value in values.items())
    try:
        # The unique constraints are the backstop: the caller rolls the transaction back.
        db.session.flush()
    except IntegrityError:
        raise RuleViolation(None, _("Another verifier scored this application at the same "
                                    "moment: open it again to see what is still needed."),
                            409) from None
    audit.record(actor, "label.scored", "label_application", application.id, now=now,
                 seat=seat, scores=values)
    scores = scores_of(application.id)
    if seat == 2:
        conflicts = disputed(scores)
        if conflicts:
            application.status = LabelStatus.THIRD
            application.updated_at = now
            audit.record(None, "label.third_needed", "label_application", application.id,
                         now=now, criteria=conflicts)
            _tell_verifiers(application, "label_third_needed",
                            _l("A third score is needed: %(lab)s", lab=application.lab.name),
                            now=now,
                            exclude=tuple(seats(scores).values()), criteria=conflicts)
        else:
            _decide(actor, application, scores, now=now)
    elif seat == THIRD_SEAT:
        _decide(actor, application, scores, now=now)
    db.session.flush()
    return application


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months (the 31st becomes the month's last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _decide(actor: User, application: LabelApplication, scores: list[LabelScore], *,
            now: datetime) -> None:
    fw = framework()
    agreed = agreed_scores(scores)
    outcome = level_for(agreed, fw)
    lab = application.lab
    application.decided_at = application.updated_at = now
    with force_locale(DEFAULT_LANGUAGE):  # the record keeps LabNet's own words
        reasons = [str(reason) for reason in outcome.reasons]
    application.result = {"agreed": agreed, "total": outcome.total,
                          "by_group": outcome.by_group, "reasons": reasons}
    if outcome.level is None:
        application.status = LabelStatus.NOT_AWARDED
        label = None
    else:
        application.status = LabelStatus.AWARDED
        application.level = outcome.level.code
        valid_from = clock.to_zone(now, lab.timezone).date()
        label = Accreditation(
            lab_id=lab.id, scheme_code=SCHEME_CODE, certificate_no=f"LN-EXL-{application.id:06d}",
            issuer="LabNet", level=outcome.level.code,
            scope=f"LabNet excellence label, level {outcome.level.name} "
                  f"(framework {fw.version})",
            valid_from=valid_from,
            valid_until=add_months(valid_from, fw.validity_months) - timedelta(days=1),
            status=AccreditationStatus.VERIFIED, verified_by_id=actor.id, verified_at=now,
            renews_id=application.renews_id)
        db.session.add(label)
        db.session.flush()
        application.accreditation_id = label.id
        _take_over(application, valid_from, actor=actor, now=now)
    audit.record(actor, "label.decided", "label_application", application.id, now=now,
                 level=application.level, total=outcome.total)
    for manager in db.session.scalars(
            select(User).join(LabManager, LabManager.user_id == User.id)
            .where(LabManager.lab_id == lab.id).order_by(User.email)):
        enqueue_email("label_decided", manager.email,
                      _l("LabNet excellence label: %(lab)s — %(level)s awarded", lab=lab.name,
                         level=LEVEL_NAMES.get(outcome.level.code, outcome.level.name))
                      if outcome.level else
                      _l("LabNet excellence label: %(lab)s — not awarded", lab=lab.name),
                      {"application": application, "lab": lab, "label": label,
                       # The reasons are read in the reader's language.
                       "level": outcome.level, "reasons": outcome.reasons,
                       "total": outcome.total, "max_total": fw.max_total},
                      now=now, action_required=True,
                      why=_l("You receive this because you manage %(lab)s on LabNet.",
                             lab=lab.name))


def _take_over(application: LabelApplication, valid_from: date, *, actor: User,
               now: datetime) -> None:
    """A renewal takes over with no gap: the renewed label, still valid, ends the day
    before the new one starts and is superseded (kept as history, as a renewed external
    accreditation is)."""
    if application.renews_id is None:
        return
    old = db.session.get(Accreditation, application.renews_id)
    if old is None or old.valid_until is None or old.valid_until < valid_from:
        return
    old.valid_until = max(valid_from - timedelta(days=1), old.valid_from or valid_from)
    if old.status == AccreditationStatus.VERIFIED:
        old.status = AccreditationStatus.SUPERSEDED
        old.version += 1
        old.decided_at, old.decided_by_id = now, actor.id
        old.reason = f"Renewed by label {application.id}."  # i18n: keep (a stored record)

