"""Qualifications: named skills of a lab that equipment can require and courses grant.

Rules owned here:
- A qualification belongs to one lab (a unique name there), with an optional validity in
  months; its lab's managers (and admins) create it, choose the lab's equipment that
  requires it, and grant or revoke it by hand (audited, the person is told).
- A course grants a qualification only when the qualification's lab organises the course
  and the actor manages that lab: nobody hands out another lab's rights.
- Attendance marked on ALL sessions of a course grants its qualifications
  (:func:`grant_for_attendance`, called by the attendance service); a later course or grant
  extends the one active grant (one per person and qualification, a partial unique index).
- Booking self-service equipment that requires a qualification the booker does not hold,
  or that expires before the booking starts, is refused by the booking engine
  (:func:`require_qualifications`, called from ``services.booking.engine._checked``, so the
  form, the preview and every later path obey it) with a message naming the qualification
  and the next published course that grants it. Operator-assisted equipment (``mode``
  ``operator_assisted``: the lab runs the instrument) needs none.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from labnet.errors import NotFound, RuleViolation, RuleViolations
from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.links import external_url
from labnet.models import Equipment, EquipmentMode, Lab, User
from labnet.models.events import Event, EventOrganiser
from labnet.models.training import (
    EquipmentQualification,
    EventQualification,
    Qualification,
    QualificationGrant,
)
from labnet.permissions import can_edit_event, can_manage_lab, require
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.notifications.outbox import enqueue_email


def event_page_url(event: Event, *, external: bool = True) -> str:
    """The event's page (the events area's), or its registration page where that area is
    not installed."""
    from flask import current_app, url_for

    endpoint = ("events.show" if "events.show" in current_app.view_functions
                else "training.register")
    return external_url(endpoint, slug=event.slug) if external else url_for(endpoint,
                                                                            slug=event.slug)


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    return at.replace(year=year, month=month,
                      day=min(at.day, calendar.monthrange(year, month)[1]))


def _lab(actor: User, lab_id: int) -> Lab:
    lab = db.session.get(Lab, lab_id)
    if lab is None:
        raise NotFound(lab_id)
    require(can_manage_lab, actor, lab)
    return lab


def qualification_for_manager(actor: User, qualification_id: int) -> Qualification:
    """A qualification of a lab the actor manages (404 for another lab's, as the labs'
    management pages do)."""
    q = db.session.get(Qualification, qualification_id)
    if q is None or not can_manage_lab(actor, db.session.get_one(Lab, q.lab_id)):
        raise NotFound(qualification_id)
    return q


def create_qualification(actor: User, lab_id: int, name: str, validity_months: int | None,
                         description: str = "", *, now: datetime) -> Qualification:
    """A lab manager names a qualification of their lab.

    :raises PermissionDenied: unless the actor manages the lab.
    :raises RuleViolation: ``name`` missing, too long or taken in this lab;
        ``validity_months`` outside 1..240.
    """
    lab = _lab(actor, lab_id)
    problems: list[RuleViolation] = []
    try:
        name = clean_text(name, "name", label=_("The name"), limit=120,
                          required=_("Name the qualification, e.g. “SEM operation”."))
    except RuleViolation as exc:
        problems.append(exc)
    if validity_months is not None and not 1 <= validity_months <= 240:
        problems.append(RuleViolation("validity_months", _("Give the validity in months, "
                                                           "from 1 to 240, or leave it "
                                                           "empty.")))
    try:
        description = clean_text(description, "description", label=_("The description"),
                                 limit=2000, one_line=False)
    except RuleViolation as exc:
        problems.append(exc)
    if problems:
        raise RuleViolations(problems)
    taken = db.session.scalar(select(Qualification.id).where(
        Qualification.lab_id == lab.id, Qualification.name == name))
    if taken is not None:
        raise RuleViolation("name", _("%(lab)s has a qualification named “%(name)s” already.",
                                      lab=lab.name, name=name))
    q = Qualification(lab_id=lab.id, name=name, validity_months=validity_months,
                      description=description, created_at=now)
    db.session.add(q)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise RuleViolation("name", _("%(lab)s has a qualification named “%(name)s” already.",
                                      lab=lab.name, name=name)) from exc
    audit.record(actor, "qualification.created", "lab", lab.id, now=now,
                 qualification_id=q.id, name=name, validity_months=validity_months)
    return q


def set_required_equipment(actor: User, qualification_id: int, equipment_ids: Collection[int],
                           *, now: datetime) -> list[int]:
    """Choose the lab's equipment that requires the qualification (the rest no longer does).

    :raises RuleViolation: ``equipment_ids`` naming equipment of another lab.
    """
    q = qualification_for_manager(actor, qualification_id)
    wanted = set(equipment_ids)
    own = set(db.session.scalars(select(Equipment.id).where(Equipment.lab_id == q.lab_id,
                                                            Equipment.id.in_(wanted))))
    if wanted - own:
        raise RuleViolation("equipment_ids", _("Choose equipment of this lab."))
    db.session.execute(delete(EquipmentQualification).where(
        EquipmentQualification.qualification_id == q.id))
    for equipment_id in sorted(own):
        db.session.add(EquipmentQualification(equipment_id=equipment_id, qualification_id=q.id))
    audit.record(actor, "qualification.equipment", "lab", q.lab_id, now=now,
                 qualification_id=q.id, equipment_ids=sorted(own))
    db.session.flush()
    return sorted(own)


def grantable_for_event(actor: User, event: Event) -> list[Qualification]:
    """The qualifications a course may grant: those of its organising labs that the actor
    manages (admins: of every organising lab)."""
    lab_ids = [i for i in db.session.scalars(select(EventOrganiser.lab_id).where(
        EventOrganiser.event_id == event.id, EventOrganiser.lab_id.is_not(None))) if i]
    labs = [lab for lab in db.session.scalars(select(Lab).where(Lab.id.in_(lab_ids)))
            if can_manage_lab(actor, lab)]
    return list(db.session.scalars(select(Qualification).where(
        Qualification.lab_id.in_([lab.id for lab in labs]))
        .order_by(Qualification.name, Qualification.id)))


def set_event_grants(actor: User, event_id: int, qualification_ids: Collection[int], *,
                     now: datetime) -> list[int]:
    """Choose the qualifications attending every session of the course grants; the
    grants of labs the actor does not manage stay as they are.

    :raises PermissionDenied: unless the actor edits the event.
    :raises RuleViolation: ``qualification_ids`` naming a qualification of a lab that does
        not organise the course or that the actor does not manage.
    """
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(event_id)
    require(can_edit_event, actor, event)
    allowed = {q.id for q in grantable_for_event(actor, event)}
    wanted = set(qualification_ids)
    if wanted - allowed:
        raise RuleViolation("qualification_ids", _("A course grants only qualifications of "
                                                   "the labs that organise it and that you "
                                                   "manage."))
    db.session.execute(delete(EventQualification).where(
        EventQualification.event_id == event.id,
        EventQualification.qualification_id.in_(allowed)))
    for qid in sorted(wanted):
        db.session.add(EventQualification(event_id=event.id, qualification_id=qid))
    audit.record(actor, "event.qualifications", "event", event.id, now=now,
                 qualification_ids=sorted(wanted))
    db.session.flush()
    return sorted(wanted)


def event_grants(event_id: int) -> list[Qualification]:
    """The qualifications the event grants, by name."""
    return list(db.session.scalars(
        select(Qualification).join(EventQualification,
                                   EventQualification.qualification_id == Qualification.id)
        .where(EventQualification.event_id == event_id).order_by(Qualification.name)))


def _grant(q: Qualification, user_id: int, *, source: str, now: datetime,
           by: User | None, event_id: int | None = None,
           expires_at: datetime | None = None) -> QualificationGrant:
    """Grant, or extend the active grant (never shortened by a later grant)."""
    if expires_at is None and q.validity_months:
        expires_at = add_months(now, q.validity_months)
    grant = db.session.scalar(select(QualificationGrant).where(
        QualificationGrant.qualification_id == q.id, QualificationGrant.user_id == user_id,
        QualificationGrant.revoked_at.is_(None)))
    if grant is None:
        grant = QualificationGrant(qualification_id=q.id, user_id=user_id, source=source,
                                   event_id=event_id, granted_at=now,
                                   granted_by_id=by.id if by else None, expires_at=expires_at)
        db.session.add(grant)
    else:
        if grant.expires_at is not None and (expires_at is None or expires_at > grant.expires_at):
            grant.expires_at = expires_at
        grant.granted_at, grant.source, grant.event_id = now, source, event_id
        grant.granted_by_id = by.id if by else None
    db.session.flush()
    return grant


def grant_for_attendance(actor: User | None, event: Event, user_id: int, *,
                         now: datetime) -> list[QualificationGrant]:
    """The course's qualifications for a person who attended all its sessions (the caller
    checked); each grant audited and mailed."""
    grants = []
    user = db.session.get_one(User, user_id)
    for q in event_grants(event.id):
        grant = _grant(q, user_id, source="course", now=now, by=actor, event_id=event.id)
        audit.record(actor, "qualification.granted", "user", user_id, now=now,
                     qualification_id=q.id, grant_id=grant.id, event_id=event.id)
        _tell_granted(user, q, grant, now=now, event=event)
        grants.append(grant)
    return grants


def _tell_granted(user: User, q: Qualification, grant: QualificationGrant, *, now: datetime,
                  event: Event | None = None) -> None:
    lab = db.session.get_one(Lab, q.lab_id)
    enqueue_email("qualification_granted", user.email,
                  _l("Qualification granted: %(name)s", name=q.name),
                  {"qualification": q, "lab": lab, "grant": grant, "event": event,
                   "user": user}, now=now,
                  why=_l("You receive this because %(lab)s granted you a qualification on "
                         "LabNet.", lab=lab.name))


def grant_by_hand(actor: User, qualification_id: int, email: str, *,
                  now: datetime) -> QualificationGrant:
    """A lab manager grants the qualification to the person with ``email`` (for the
    qualification's validity from now); audited, the person is told.

    :raises RuleViolation: ``email`` when no active account has this address.
    """
    q = qualification_for_manager(actor, qualification_id)
    address = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(User.email == address)) if address else None
    if user is None or not user.is_active:
        raise RuleViolation("email", _("No LabNet account has this address: the person "
                                       "needs an account first."))
    grant = _grant(q, user.id, source="manual", now=now, by=actor)
    audit.record(actor, "qualification.granted", "user", user.id, now=now,
                 qualification_id=q.id, grant_id=grant.id, by_hand=True)
    _tell_granted(user, q, grant, now=now)
    return grant


def revoke_grant(actor: User, grant_id: int, reason: str, *, now: datetime
                 ) -> QualificationGrant:
    """A lab manager revokes a person's qualification with a reason the person reads.

    :raises NotFound: for a grant of a lab the actor does not manage.
    :raises RuleViolation: ``reason`` missing; ``status`` when revoked already.
    """
    grant = db.session.get(QualificationGrant, grant_id)
    if grant is None:
        raise NotFound(grant_id)
    q = qualification_for_manager(actor, grant.qualification_id)
    reason = clean_text(reason, "reason", label=_("The reason"), limit=500,
                        required=_("Tell the person why the qualification is revoked."))
    done = db.session.execute(
        update(QualificationGrant).where(QualificationGrant.id == grant.id,
                                         QualificationGrant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=actor.id, revoke_reason=reason)
        .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        raise RuleViolation("status", _("This qualification was revoked already."))
    db.session.refresh(grant)
    audit.record(actor, "qualification.revoked", "user", grant.user_id, now=now,
                 qualification_id=q.id, grant_id=grant.id, reason=reason)
    user = db.session.get_one(User, grant.user_id)
    lab = db.session.get_one(Lab, q.lab_id)
    enqueue_email("qualification_revoked", user.email,
                  _l("Qualification revoked: %(name)s", name=q.name),
                  {"qualification": q, "lab": lab, "grant": grant, "user": user}, now=now,
                  why=_l("You receive this because %(lab)s had granted you this "
                         "qualification on LabNet.", lab=lab.name))
    db.session.flush()
    return grant


@dataclass(frozen=True)
class Holding:
    """A person's qualification as "My training" shows it."""

    grant: QualificationGrant
    qualification: Qualification
    lab: Lab

    def is_valid(self, at: datetime) -> bool:
        """Held at ``at``: not revoked, not expired."""
        return self.grant.revoked_at is None and (self.grant.expires_at is None
                                                   or self.grant.expires_at > at)


def list_holdings(user_id: int) -> list[Holding]:
    """Every grant of the person (active, expired and revoked), newest first."""
    rows = db.session.execute(
        select(QualificationGrant, Qualification, Lab)
        .join(Qualification, Qualification.id == QualificationGrant.qualification_id)
        .join(Lab, Lab.id == Qualification.lab_id)
        .where(QualificationGrant.user_id == user_id)
        .order_by(QualificationGrant.granted_at.desc(), QualificationGrant.id.desc())
    ).tuples().all()
    return [Holding(g, q, lab) for g, q, lab in rows]


def list_lab_qualifications(lab_id: int) -> list[Qualification]:
    """The lab's qualifications by name."""
    return list(db.session.scalars(select(Qualification).where(Qualification.lab_id == lab_id)
                                   .order_by(Qualification.name, Qualification.id)))


def list_holders(qualification_id: int) -> Select[tuple[QualificationGrant, User]]:
    """Who holds (or held) the qualification, newest grant first."""
    return (select(QualificationGrant, User).join(User, User.id == QualificationGrant.user_id)
            .where(QualificationGrant.qualification_id == qualification_id)
            .order_by(QualificationGrant.revoked_at.is_not(None),
                      QualificationGrant.granted_at.desc(), QualificationGrant.id.desc()))


def required_equipment_ids(qualification_id: int) -> set[int]:
    """The equipment that requires the qualification."""
    return set(db.session.scalars(select(EquipmentQualification.equipment_id).where(
        EquipmentQualification.qualification_id == qualification_id)))


def required_for(equipment_id: int) -> list[Qualification]:
    """The qualifications booking this equipment requires (when self-service)."""
    return list(db.session.scalars(
        select(Qualification).join(EquipmentQualification,
                                   EquipmentQualification.qualification_id == Qualification.id)
        .where(EquipmentQualification.equipment_id == equipment_id)
        .order_by(Qualification.name, Qualification.id)))


def next_course(qualification_id: int, *, now: datetime) -> Event | None:
    """The next published course granting the qualification that still takes
    registrations (not started, deadline not passed)."""
    return db.session.scalars(
        select(Event).join(EventQualification, EventQualification.event_id == Event.id)
        .where(EventQualification.qualification_id == qualification_id,
               Event.status == "published", Event.starts_at > now,
               or_(Event.registration_deadline.is_(None), Event.registration_deadline >= now))
        .order_by(Event.starts_at, Event.id).limit(1)).first()


@dataclass(frozen=True)
class Missing:
    """A qualification the booker lacks for a booking, and where to get it."""

    qualification: Qualification
    expired_at: datetime | None  # held, but not valid at the booking's start
    course: Event | None

    @property
    def course_url(self) -> str | None:
        """The address of the next course's page."""
        return event_page_url(self.course) if self.course else None

    def message(self) -> str:
        """The refusal in words: what is missing and where to get it."""
        q = self.qualification
        if self.expired_at is not None:
            held = _("This equipment requires a qualification: your “%(name)s” qualification "
                     "is not valid then (it expires %(day)s).", name=q.name,
                     day=self.expired_at.strftime("%Y-%m-%d"))
        else:
            held = _("This equipment requires a qualification: you do not hold the "
                     "qualification “%(name)s”.", name=q.name)
        if self.course:
            course = _("The next course that grants it: “%(title)s”, %(day)s (%(url)s).",
                       title=self.course.title, day=self.course.starts_at.strftime("%Y-%m-%d"),
                       url=self.course_url)
        else:
            course = _("No course that grants it is open for registration at the moment; "
                       "ask the lab.")
        return f"{held} {course}"


def missing_qualifications(user_id: int | None, equipment: Equipment, at: datetime, *,
                           now: datetime) -> list[Missing]:
    """The required qualifications ``user_id`` does not hold valid at ``at`` (none for
    operator-assisted equipment)."""
    if equipment.mode == EquipmentMode.OPERATOR_ASSISTED:
        return []
    required = required_for(equipment.id)
    if not required:
        return []
    grants = {} if user_id is None else {g.qualification_id: g for g in db.session.scalars(
        select(QualificationGrant).where(
            QualificationGrant.user_id == user_id, QualificationGrant.revoked_at.is_(None),
            QualificationGrant.qualification_id.in_([q.id for q in required])))}
    missing = []
    for q in required:
        grant = grants.get(q.id)
        if grant is not None and (grant.expires_at is None or grant.expires_at > at):
            continue
        missing.append(Missing(q, grant.expires_at if grant is not None else None,
                               next_course(q.id, now=now)))
    return missing


def require_qualifications(actor: User, equipment: Equipment, start_at: datetime, *,
                           now: datetime) -> None:
    """The booking engine's qualification rule (module docstring).

    :raises RuleViolation: on ``equipment``, naming the first missing qualification and the
        next course that grants it.
    """
    missing = missing_qualifications(getattr(actor, "id", None), equipment, start_at, now=now)
    if missing:
        raise RuleViolation("equipment", missing[0].message())
