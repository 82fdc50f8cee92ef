"""Matrix entries for the Meet page of an event (``meetings.*``, issue 15 §5).

``seed`` publishes an event organised by the matrix lab (so ``manager`` edits it) ten days
ahead, registers ``member`` and their ``colleague`` (Small Co), publishes both profiles and
leaves two requests: ``colleague`` asked ``member`` for the first slot (``mt_incoming``),
``member`` asked ``colleague`` for the third (``mt_outgoing``). A draft event of the same
lab (``mt-draft``) exists too.

Rules: the Meet page is for registered people (``member``) and the event's editors
(``manager``, ``admin``), who see the meeting figures but no profiles; it is 403 for
everyone else who sees the event, and a draft is 404 for those who do not edit it.
Writes need a seat (403 otherwise), and a meeting is known only to its two people (404 for
editors). The schedule's .ics is the participants' own (403 for editors). Visitors are sent
to log in.
"""

from __future__ import annotations

from datetime import time, timedelta

from labnet import clock
from labnet.extensions import db
from labnet.models import Event, EventOrganiser, User
from labnet.services.meetings import pages
from labnet.services.meetings import rules as meet
from labnet.services.training.registration import register
from tests.authz.cases.base import ACTORS, Case
from tests.authz.cases.dashboard import dashboard as dashboard_table

EDITORS = ("manager", "admin")
PROFILE_TEXT = "Matrix colleague offers spectroscopy"


def seed(app, p) -> None:
    with app.test_request_context():
        now = clock.utcnow()
        day = (now + timedelta(days=10)).replace(hour=7, minute=0, second=0, microsecond=0)
        for slug, status in (("mt-event", "published"), ("mt-draft", "draft")):
            event = Event(slug=slug, kind="workshop", title=f"Matrix {slug}",
                          timezone="Europe/Berlin", starts_at=day,
                          ends_at=day + timedelta(hours=9), capacity=5, status=status,
                          meeting_slot_minutes=30, meeting_day_start=time(10),
                          meeting_day_end=time(12))
            db.session.add(event)
            db.session.flush()
            db.session.add(EventOrganiser(event_id=event.id, lab_id=p.lab.id))
        db.session.commit()
        event = db.session.scalar(db.select(Event).where(Event.slug == "mt-event"))
        member = db.session.get_one(User, p.member.id)
        colleague = db.session.get_one(User, p.colleague.id)
        for person in (member, colleague):
            register(person, event.id, {}, now=now)
        meet.save_profile(member, event, meet.ProfileFields(offer="Matrix member"), now=now)
        meet.save_profile(colleague, event, meet.ProfileFields(offer=PROFILE_TEXT), now=now)
        slots = pages.event_slots(event)
        incoming = meet.request_meeting(colleague, event, member.id, slots[0].start, "",
                                        now=now)
        outgoing = meet.request_meeting(member, event, colleague.id, slots[2].start, "",
                                        now=now)
        db.session.commit()
        p.mt_incoming, p.mt_outgoing = incoming.id, outgoing.id
        p.mt_slot = slots[1].key


def _table(member: int, editors: int, *, others: int = 403) -> dict[str, int]:
    table = {a: others for a in ACTORS}
    table.update(anonymous=302, member=member)
    for a in EDITORS:
        table[a] = editors
    return table


def _meet(rest: str = "", slug: str = "mt-event") -> str:
    return f"/events/{slug}/meet{rest}"


CASES = [
    Case("meetings.meet", "GET", lambda p: _meet(), _table(200, 200),
         shows=lambda p: PROFILE_TEXT, seers=("member",)),
    Case("meetings.meet", "GET", lambda p: _meet(), _table(200, 200), name="figures",
         shows=lambda p: 'id="meeting-figures"', seers=EDITORS),
    Case("meetings.meet", "GET", lambda p: _meet(slug="mt-draft"),
         _table(404, 200, others=404), name="draft"),
    Case("meetings.meet", "GET", lambda p: _meet(slug="no-such-event"),
         _table(404, 404, others=404), name="missing"),
    Case("meetings.profile", "POST", lambda p: _meet("/profile"), _table(302, 403),
         data=lambda p: {"offer": "Updated offer", "looking_for": ""}),
    Case("meetings.profile", "POST", lambda p: _meet("/profile"), _table(422, 403),
         data=lambda p: {"offer": "", "looking_for": ""}, name="invalid"),
    Case("meetings.ask", "POST", lambda p: _meet("/requests"), _table(302, 403),
         data=lambda p: {"invitee": str(p.colleague.id), "slot": p.mt_slot,
                         "message": "Meet?"}),
    Case("meetings.ask", "POST", lambda p: _meet("/requests"), _table(422, 403),
         data=lambda p: {"invitee": str(p.colleague.id), "slot": "soon", "message": ""},
         name="bad-slot"),
    Case("meetings.answer", "POST", lambda p: _meet(f"/{p.mt_incoming}/answer"),
         _table(302, 404), data=lambda p: {"answer": "accept", "answer_note": ""}),
    Case("meetings.answer", "POST", lambda p: _meet(f"/{p.mt_outgoing}/answer"),
         _table(404, 404), data=lambda p: {"answer": "accept", "answer_note": ""},
         name="not-the-invitee"),
    Case("meetings.take_back", "POST", lambda p: _meet(f"/{p.mt_outgoing}/take-back"),
         _table(302, 404)),
    Case("meetings.schedule_ics", "GET", lambda p: _meet("/schedule.ics"),
         _table(200, 403)),
]

# The dashboard's training and events tables (``dashboard.section_csv``): as every section.
CASES += [
    Case("dashboard.section_csv", "GET", lambda p, s=section: f"/dashboard/{s}.csv?country=DE",
         dashboard_table(200), name=section)
    for section in ("events-ket", "events-country", "meetings")
]
