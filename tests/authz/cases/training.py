"""Matrix entries for registration, the organisers' lists, check-in, certificates and
qualifications (``training.*``).

The cast adds ``matrix-course`` (published, one seat, an online link), organised by the
matrix lab, which its ``manager`` edits: ``member`` holds the seat, was marked present and
has a certificate; ``colleague`` waits. A draft course is known to its editors only. The
matrix lab has a qualification ``Matrix SEM`` that ``member`` holds. Registrations are seen
by their own person and the event's editors only (404 for everyone else); the online link
reaches only those; the organisers' pages answer 403 to people who see the (public) event;
certificates are public by their unguessable code.
"""

from __future__ import annotations

from datetime import timedelta

from labnet import clock
from labnet.extensions import db
from labnet.models import User
from labnet.models.events import Event, EventOrganiser, EventSession
from labnet.models.training import Qualification
from labnet.services.training import attendance, qualifications, registration
from tests.authz.cases.base import ACTORS, ALL_OK, LOGGED_IN, Case
from tests.authz.cases.manage import managed

SECRET_ROOM = "https://meet.example/matrix-secret-room"
EDITORS = ("manager", "admin")


def _course(lab_id: int, slug: str, status: str, now) -> Event:
    start = now + timedelta(days=10)
    event = Event(slug=slug, kind="training_course", title=f"Matrix course {slug}",
                  timezone="Europe/Berlin", starts_at=start, ends_at=start + timedelta(hours=3),
                  city="Aachen", country="DE", capacity=1, status=status,
                  online_url=SECRET_ROOM, questions=[])
    db.session.add(event)
    db.session.flush()
    db.session.add(EventOrganiser(event_id=event.id, lab_id=lab_id))
    db.session.add(EventSession(event_id=event.id, starts_at=start,
                                ends_at=start + timedelta(hours=3)))
    db.session.flush()
    return event


def seed(app, people) -> None:
    with app.test_request_context():
        now = clock.utcnow()
        manager = db.session.get_one(User, people.manager.id)
        course = _course(people.lab.id, "matrix-course", "published", now)
        _course(people.lab.id, "matrix-draft-course", "draft", now)
        db.session.commit()
        reg = registration.register(db.session.get_one(User, people.member.id), course.id, {},
                                    now=now)
        waiting = registration.register(db.session.get_one(User, people.colleague.id),
                                        course.id, {}, now=now)
        session = attendance.list_sessions(course.id)[0]
        attendance.mark_attendance(manager, course.id, reg.id, session.id, True, now=now)
        attendance.issue_certificates(manager, course.id, now=now)
        q = Qualification(lab_id=people.lab.id, name="Matrix SEM", validity_months=12,
                          created_at=now)
        db.session.add(q)
        db.session.flush()
        grant = qualifications.grant_by_hand(manager, q.id, people.member.email, now=now)
        db.session.commit()
        from labnet.models.training import Certificate

        people.tr_event_slug, people.tr_reg_id = course.slug, reg.id
        people.tr_waiting_id, people.tr_session_id = waiting.id, session.id
        people.tr_code = db.session.scalar(db.select(Certificate.code))
        people.tr_q_id, people.tr_grant_id = q.id, grant.id


def _own(ok: int) -> dict[str, int]:
    """``ok`` for the registered person (``member``) and the event's editors; 404 for the
    rest; visitors go to log in."""
    table = {a: (ok if a in ("member", *EDITORS) else 404) for a in ACTORS}
    table["anonymous"] = 302
    return table


def _event(p) -> str:
    return f"/events/{p.tr_event_slug}"


def _editors(ok: int) -> dict[str, int]:
    return managed(ok)


_DRAFT = {a: (200 if a in EDITORS else 404) for a in ACTORS}
_DRAFT["anonymous"] = 302
_REGISTER_POST = {a: (422 if a == "member" else 302) for a in ACTORS}
_ACCEPT = {a: (302 if a in ("member", "anonymous") else 404) for a in ACTORS}

CASES = [
    Case("training.register", "GET", lambda p: f"{_event(p)}/register", LOGGED_IN),
    Case("training.register", "GET", lambda p: "/events/matrix-draft-course/register", _DRAFT,
         name="draft"),
    Case("training.register", "POST", lambda p: f"{_event(p)}/register", _REGISTER_POST),
    Case("training.registration", "GET", lambda p: f"/registrations/{p.tr_reg_id}", _own(200),
         shows=lambda p: SECRET_ROOM, seers=("member", *EDITORS)),
    Case("training.registration", "GET", lambda p: f"/registrations/{p.tr_waiting_id}",
         {a: (200 if a in EDITORS else 404 if a != "anonymous" else 302) for a in ACTORS},
         name="waiting", shows=lambda p: SECRET_ROOM, seers=()),
    Case("training.ics", "GET", lambda p: f"/registrations/{p.tr_reg_id}.ics", _own(200)),
    Case("training.cancel", "POST", lambda p: f"/registrations/{p.tr_reg_id}/cancel",
         _own(302)),
    Case("training.accept", "POST", lambda p: f"/registrations/{p.tr_reg_id}/accept", _ACCEPT),
    Case("training.mine", "GET", lambda p: "/account/training", LOGGED_IN,
         shows=lambda p: "Matrix SEM", seers=("member",)),
    Case("training.participants", "GET", lambda p: f"{_event(p)}/registrations", _editors(200),
         shows=lambda p: p.member.email, seers=EDITORS),
    Case("training.participants_csv", "GET", lambda p: f"{_event(p)}/registrations.csv",
         _editors(200)),
    Case("training.message", "GET", lambda p: f"{_event(p)}/message", _editors(200)),
    Case("training.message", "POST", lambda p: f"{_event(p)}/message", _editors(422),
         data=lambda p: {"subject": "", "body": ""}),
    Case("training.check_in", "GET", lambda p: f"{_event(p)}/check-in", _editors(200),
         shows=lambda p: f"reg-{p.tr_reg_id}\"", seers=EDITORS),
    Case("training.check_in", "POST", lambda p: f"{_event(p)}/check-in", _editors(302),
         data=lambda p: {"registration_id": p.tr_reg_id, "session_id": p.tr_session_id,
                         "present": "1"}),
    Case("training.issue_certificates", "POST", lambda p: f"{_event(p)}/certificates",
         _editors(302)),
    Case("training.event_qualifications", "GET", lambda p: f"{_event(p)}/qualifications",
         _editors(200)),
    Case("training.event_qualifications", "POST", lambda p: f"{_event(p)}/qualifications",
         _editors(302), data=lambda p: {"qualification_ids": [p.tr_q_id]}),
    Case("training.certificate", "GET", lambda p: f"/certificates/{p.tr_code}", ALL_OK),
    Case("training.certificate", "GET", lambda p: "/certificates/guessed-code",
         dict.fromkeys(ACTORS, 404), name="unknown"),
    Case("training.certificate_pdf", "GET", lambda p: f"/certificates/{p.tr_code}.pdf", ALL_OK),
    Case("training.lab_qualifications", "GET",
         lambda p: f"/manage/labs/{p.lab.slug}/qualifications", managed(200)),
    Case("training.lab_qualifications", "POST",
         lambda p: f"/manage/labs/{p.lab.slug}/qualifications", managed(422),
         data=lambda p: {"name": ""}),
    Case("training.qualification", "GET", lambda p: f"/manage/qualifications/{p.tr_q_id}",
         managed(200, hidden=True), shows=lambda p: p.member.email, seers=EDITORS),
    Case("training.qualification", "POST", lambda p: f"/manage/qualifications/{p.tr_q_id}",
         managed(422, hidden=True), data=lambda p: {"grant-email": ""}),
    Case("training.revoke", "POST",
         lambda p: f"/manage/qualifications/grants/{p.tr_grant_id}/revoke",
         managed(302, hidden=True), data=lambda p: {"reason": "Matrix check"}),
]
