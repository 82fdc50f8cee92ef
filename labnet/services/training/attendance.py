"""Attendance on the day and certificates of attendance.

Rules owned here:
- The event's editors (``permissions.can_edit_event``) mark who is present, per session,
  for registered people only (the phone-friendly check-in list); marking is idempotent
  and taken under the event's lock, so two organisers ticking the same person at once
  write one row.
- Attendance marked on ALL the sessions of a course grants the qualifications the course
  grants (``qualifications.grant_for_attendance``); unmarking a session revokes a grant
  this course made ("attendance corrected").
- A certificate of attendance is issued to each registered person with at least one
  session marked, once, with an unguessable public code (``secrets.token_urlsafe``, 128
  bits) for its verification address ``/certificates/<code>``; it keeps what it says as
  issued (name, title, organisers, sessions, hours). The person is e-mailed.
- DESIGN rule 7: the PDF is drawn as text runs (fpdf2), never markup; the page is escaped.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, update

from labnet.errors import NotFound, RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l, force_locale, language_of
from labnet.models import Lab, Network, User
from labnet.models.events import Event, EventOrganiser, EventSession, Project
from labnet.models.training import (
    Attendance,
    Certificate,
    QualificationGrant,
    Registration,
    RegistrationStatus,
)
from labnet.permissions import can_edit_event, require
from labnet.services.booking.availability import utc_to_local
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email
from labnet.services.training.qualifications import event_grants, grant_for_attendance
from labnet.services.training.registration import lock_event

FONTS = Path(__file__).resolve().parents[2] / "data" / "fonts"


def list_sessions(event_id: int) -> list[EventSession]:
    """The event's sessions in time order."""
    return list(db.session.scalars(select(EventSession).where(EventSession.event_id == event_id)
                                   .order_by(EventSession.starts_at, EventSession.id)))


def session_label(session: EventSession, zone: str) -> str:
    """"2026-03-30 09:00–12:00 CEST" in the event's zone (an overnight session names both
    days)."""
    a, b = utc_to_local(session.starts_at, zone), utc_to_local(session.ends_at, zone)
    end = f"{b:%H:%M %Z}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M %Z}"
    title = f" {session.title}" if session.title else ""
    return f"{a:%Y-%m-%d %H:%M}–{end}{title}"


@dataclass(frozen=True)
class CheckInRow:
    """One line of the check-in list."""

    registration: Registration
    name: str
    organisation: str
    present: bool


def check_in_list(event: Event, session_id: int) -> list[CheckInRow]:
    """The registered people by name with whether they are marked present at the session."""
    from labnet.models import Organisation

    present = set(db.session.scalars(select(Attendance.registration_id).where(
        Attendance.session_id == session_id)))
    rows = db.session.execute(
        select(Registration, User.full_name, Organisation.name)
        .join(User, User.id == Registration.user_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Registration.event_id == event.id,
               Registration.status == RegistrationStatus.REGISTERED)
        .order_by(User.full_name, Registration.id)).tuples().all()
    return [CheckInRow(reg, name, org or "", reg.id in present) for reg, name, org in rows]


def mark_attendance(actor: User, event_id: int, registration_id: int, session_id: int,
                    present: bool, *, now: datetime) -> bool:
    """Mark (or unmark) a registered person present at one session; returns whether they
    attended every session now (and so hold the course's qualifications).

    :raises PermissionDenied: unless the actor edits the event.
    :raises NotFound: for a registration or session of another event.
    :raises RuleViolation: ``registration_id`` when the person is not registered.
    """
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(event_id)
    require(can_edit_event, actor, event)
    event = lock_event(event_id)
    reg = db.session.get(Registration, registration_id)
    session = db.session.get(EventSession, session_id)
    if reg is None or reg.event_id != event.id or session is None \
            or session.event_id != event.id:
        raise NotFound(registration_id)
    if reg.status != RegistrationStatus.REGISTERED:
        raise RuleViolation("registration_id", _("Only registered people are checked in."))
    marked = db.session.get(Attendance, (reg.id, session.id)) is not None
    sessions = {s.id for s in list_sessions(event.id)}
    if present and not marked:
        db.session.add(Attendance(registration_id=reg.id, session_id=session.id,
                                  marked_at=now, marked_by_id=actor.id))
    elif not present and marked:
        db.session.execute(delete(Attendance).where(Attendance.registration_id == reg.id,
                                                    Attendance.session_id == session.id))
    if present != marked:
        audit.record(actor, "attendance.marked" if present else "attendance.unmarked",
                     "registration", reg.id, now=now, session_id=session.id)
    db.session.flush()
    attended = set(db.session.scalars(select(Attendance.session_id).where(
        Attendance.registration_id == reg.id)))
    complete = bool(sessions) and sessions <= attended
    if present and not marked and complete:
        grant_for_attendance(actor, event, reg.user_id, now=now)
    elif not present and marked:
        # The attendance was corrected: a grant this course made for it goes. The reason is
        # stored in the holder's language (they read it on their training page).
        ids = [q.id for q in event_grants(event.id)]
        with force_locale(language_of(db.session.get(User, reg.user_id))):
            corrected = _("Attendance corrected by the organisers.")
        db.session.execute(
            update(QualificationGrant).where(
                QualificationGrant.user_id == reg.user_id, QualificationGrant.event_id == event.id,
                QualificationGrant.qualification_id.in_(ids),
                QualificationGrant.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_id=actor.id,
                    revoke_reason=corrected)
            .execution_options(synchronize_session=False))
    db.session.flush()
    return complete


def _organiser_names(event_id: int) -> list[str]:
    rows = db.session.execute(
        select(Lab.name, Network.name, Project.name)
        .select_from(EventOrganiser)
        .outerjoin(Lab, Lab.id == EventOrganiser.lab_id)
        .outerjoin(Network, Network.id == EventOrganiser.network_id)
        .outerjoin(Project, Project.id == EventOrganiser.project_id)
        .where(EventOrganiser.event_id == event_id).order_by(EventOrganiser.id)).all()
    return [a or b or c for a, b, c in rows if a or b or c]


def issue_certificates(actor: User, event_id: int, *, now: datetime) -> int:
    """Issue a certificate of attendance to every registered person with a session marked
    and none yet; returns how many were issued.

    :raises PermissionDenied: unless the actor edits the event.
    :raises RuleViolation: ``event`` when nobody is marked present (yet).
    """
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(event_id)
    require(can_edit_event, actor, event)
    event = lock_event(event_id)
    sessions = {s.id: s for s in list_sessions(event.id)}
    marks: dict[int, list[int]] = {}
    for reg_id, session_id in db.session.execute(
            select(Attendance.registration_id, Attendance.session_id)
            .join(Registration, Registration.id == Attendance.registration_id)
            .where(Registration.event_id == event.id,
                   Registration.status == RegistrationStatus.REGISTERED)).tuples():
        marks.setdefault(reg_id, []).append(session_id)
    if not marks:
        raise RuleViolation("event", _("Nobody is marked present yet: mark attendance on "
                                       "the check-in list first."))
    done = set(db.session.scalars(select(Certificate.registration_id).where(
        Certificate.registration_id.in_(marks))))
    organisers = ", ".join(_organiser_names(event.id))
    issued = 0
    for reg_id in sorted(set(marks) - done):
        reg = db.session.get_one(Registration, reg_id)
        user = db.session.get_one(User, reg.user_id)
        attended = sorted((sessions[s] for s in marks[reg_id] if s in sessions),
                          key=lambda s: s.starts_at)
        hours = sum((s.ends_at - s.starts_at).total_seconds() for s in attended) / 3600
        cert = Certificate(
            code=secrets.token_urlsafe(16), registration_id=reg.id,
            holder_name=user.full_name or user.email, event_title=event.title,
            organisers=organisers,
            attended="\n".join(session_label(s, event.timezone) for s in attended),
            hours=round(hours, 2), issued_at=now, issued_by_id=actor.id)
        db.session.add(cert)
        db.session.flush()
        audit.record(actor, "certificate.issued", "registration", reg.id, now=now,
                     certificate_id=cert.id)
        enqueue_email("event_certificate", user.email,
                      _l("Your certificate of attendance: %(title)s", title=event.title),
                      {"event": event, "certificate": cert, "user": user}, now=now,
                      why=_l("You receive this because you attended “%(title)s”, "
                             "registered on LabNet.", title=event.title))
        issued += 1
    db.session.flush()
    return issued


def certificate_by_code(code: str) -> Certificate:
    """The certificate behind a public verification code, else :class:`NotFound`."""
    if not code or len(code) > 40:
        raise NotFound(code)
    cert = db.session.scalar(select(Certificate).where(Certificate.code == code))
    if cert is None:
        raise NotFound(code)
    return cert


def certificates_of(user_id: int) -> list[Certificate]:
    """The person's certificates, newest first."""
    return list(db.session.scalars(
        select(Certificate).join(Registration, Registration.id == Certificate.registration_id)
        .where(Registration.user_id == user_id).order_by(Certificate.issued_at.desc())))


def certificate_pdf(cert: Certificate, verify_url: str) -> bytes:
    """The certificate as a one-page A4 PDF (text only; DejaVu Serif, so any European name
    prints), written in its holder's language (it is made for them), whoever opens it."""
    reg = db.session.get(Registration, cert.registration_id)
    holder = db.session.get(User, reg.user_id) if reg is not None else None
    with force_locale(language_of(holder)):
        return _certificate_pdf(cert, verify_url)


def _certificate_pdf(cert: Certificate, verify_url: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(_("Certificate of attendance: %(title)s", title=cert.event_title))
    pdf.set_creator("LabNet")
    pdf.add_font("DejaVuSerif", "", str(FONTS / "DejaVuSerif.ttf"))
    pdf.add_font("DejaVuSerif", "B", str(FONTS / "DejaVuSerif-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_draw_color(40, 70, 120)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 277, 190)
    width = 257
    pdf.set_xy(20, 30)
    pdf.set_font("DejaVuSerif", "B", 28)
    pdf.cell(width, 14, _("Certificate of attendance"), align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.ln(8)
    pdf.set_x(20)
    pdf.set_font("DejaVuSerif", "", 14)
    pdf.cell(width, 8, _("This certifies that"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(20)
    pdf.set_font("DejaVuSerif", "B", 22)
    pdf.multi_cell(width, 12, cert.holder_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(20)
    pdf.set_font("DejaVuSerif", "", 14)
    pdf.cell(width, 8, _("attended"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(20)
    pdf.set_font("DejaVuSerif", "B", 18)
    pdf.multi_cell(width, 10, cert.event_title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVuSerif", "", 12)
    if cert.organisers:
        pdf.set_x(20)
        pdf.multi_cell(width, 7, _("organised by %(names)s", names=cert.organisers), align="C",
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for line in cert.attended.splitlines():
        pdf.set_x(20)
        pdf.cell(width, 6, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(20)
    pdf.cell(width, 7, _("%(hours)s hours", hours=format(cert.hours, "g")), align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(20, 172)
    pdf.set_font("DejaVuSerif", "", 10)
    pdf.cell(width, 6, _("Issued %(day)s on LabNet. Verify at %(url)s",
                         day=cert.issued_at.strftime("%Y-%m-%d"), url=verify_url), align="C")
    return bytes(pdf.output())
