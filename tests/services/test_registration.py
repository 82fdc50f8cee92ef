"""Registration and the waiting list (issue 15 §3, DESIGN rule 4): seats, the waiting list
in order, offers handed on exactly once, refusals naming their field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.errors import NotFound, RuleViolation, RuleViolations
from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail, User
from labnet.models.events import Event
from labnet.models.training import Registration
from labnet.services.training import registration as svc
from tests.fixtures.berlin import NOW, berlin

H = timedelta(hours=1)
QUESTIONS = [
    {"key": "diet", "label": "Dietary needs", "kind": "choice", "required": True,
     "choices": ["none", "vegetarian", "vegan"]},
    {"key": "why", "label": "Motivation", "kind": "text", "required": False},
]


def _u(user_id: int) -> User:
    return db.session.get_one(User, user_id)


def _mails(kind: str) -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == kind)
                                   .order_by(OutboxEmail.id)))


@pytest.fixture
def course(make_managed_lab, make_course):
    lab = make_managed_lab()
    return make_course(lab, [(berlin(2026, 3, 10, 9), berlin(2026, 3, 10, 17))], capacity=2,
                       offer_hours=48)


def _register(user_id: int, event_id: int, answers=None, now=NOW) -> Registration:
    reg = svc.register(_u(user_id), event_id, answers or {}, now=now)
    db.session.commit()
    return reg


def test_seats_then_waiting_list_in_order(ctx, course, make_user):
    people = [make_user().id for _ in range(4)]
    regs = [_register(p, course.id) for p in people]
    assert [r.status for r in regs] == ["registered", "registered", "waiting", "waiting"]
    assert db.session.get_one(Event, course.id).seats_taken == 2
    assert [svc.waiting_position(r) for r in regs[2:]] == [1, 2]
    assert len(_mails("event_registered")) == 2 and len(_mails("event_waiting")) == 2


def test_a_cancelled_seat_is_offered_to_the_first_waiting_then_accepted(ctx, course,
                                                                        make_user):
    a, b, c = (make_user().id for _ in range(3))
    first = _register(a, course.id)
    _register(b, course.id)
    waiting = _register(c, course.id)
    svc.cancel_registration(_u(a), first.id, now=NOW + H)
    db.session.commit()
    offered = db.session.get_one(Registration, waiting.id, populate_existing=True)
    assert offered.status == "offered"
    assert offered.offer_expires_at == NOW + H + 48 * H
    assert db.session.get_one(Event, course.id).seats_taken == 2  # held for the offer
    [mail] = _mails("event_seat_offered")
    assert mail.to_addr == _u(c).email and "/registrations/" in mail.body_text
    svc.accept_offer(_u(c), waiting.id, now=NOW + 2 * H)
    db.session.commit()
    assert db.session.get_one(Registration, waiting.id).status == "registered"


def test_an_offer_not_accepted_passes_to_the_next_exactly_once(ctx, course, make_user):
    a, b, c, d = (make_user().id for _ in range(4))
    first = _register(a, course.id)
    _register(b, course.id)
    second_in_line = _register(c, course.id)
    third = _register(d, course.id)
    svc.cancel_registration(_u(a), first.id, now=NOW)
    db.session.commit()
    late = NOW + 49 * H
    # Two runners at the same moment: the offer lapses and passes on once.
    assert svc.hand_on_offers(now=late) == {"lapsed": 1, "offered": 0}
    db.session.commit()
    assert svc.hand_on_offers(now=late) == {"lapsed": 0, "offered": 0}
    db.session.commit()
    assert db.session.get_one(Registration, second_in_line.id).status == "lapsed"
    assert db.session.get_one(Registration, third.id).status == "offered"
    assert len(_mails("event_offer_lapsed")) == 1
    assert [m.to_addr for m in _mails("event_seat_offered")] == [_u(c).email, _u(d).email]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "registration.lapsed")) == 1
    with pytest.raises(RuleViolation) as refused:
        svc.accept_offer(_u(c), second_in_line.id, now=late)
    assert refused.value.field == "status" and "lapsed" in refused.value.message


def test_the_last_lapsed_offer_gives_the_seat_back(ctx, course, make_user):
    a, b, c = (make_user().id for _ in range(3))
    first = _register(a, course.id)
    _register(b, course.id)
    _register(c, course.id)
    svc.cancel_registration(_u(a), first.id, now=NOW)
    db.session.commit()
    svc.hand_on_offers(now=NOW + 49 * H)
    db.session.commit()
    assert db.session.get_one(Event, course.id).seats_taken == 1


def test_a_capacity_increase_is_offered_by_the_job(ctx, course, make_user):
    people = [make_user().id for _ in range(3)]
    regs = [_register(p, course.id) for p in people]
    db.session.get_one(Event, course.id).capacity = 3
    db.session.commit()
    assert svc.hand_on_offers(now=NOW) == {"lapsed": 0, "offered": 1}
    db.session.commit()
    assert db.session.get_one(Registration, regs[2].id).status == "offered"


def test_the_offer_never_runs_past_the_start(ctx, make_managed_lab, make_course, make_user):
    lab = make_managed_lab()
    soon = make_course(lab, [(NOW + 10 * H, NOW + 12 * H)], capacity=1, offer_hours=48)
    a, b = make_user().id, make_user().id
    first = _register(a, soon.id)
    second = _register(b, soon.id)
    svc.cancel_registration(_u(a), first.id, now=NOW)
    db.session.commit()
    assert db.session.get_one(Registration, second.id).offer_expires_at == NOW + 10 * H


def test_refusals_name_their_field(ctx, make_managed_lab, make_course, make_user):
    lab = make_managed_lab()
    day = [(berlin(2026, 3, 10, 9), berlin(2026, 3, 10, 17))]
    person = make_user().id
    cancelled = make_course(lab, day, status="cancelled")
    closed = make_course(lab, day, registration_deadline=NOW - H)
    draft = make_course(lab, day, status="draft")
    asks = make_course(lab, day, questions=QUESTIONS)
    with pytest.raises(RuleViolation, match="cancelled") as e:
        svc.register(_u(person), cancelled.id, {}, now=NOW)
    assert e.value.field == "event"
    with pytest.raises(RuleViolation, match="Registration closed"):
        svc.register(_u(person), closed.id, {}, now=NOW)
    with pytest.raises(NotFound):
        svc.register(_u(person), draft.id, {}, now=NOW)
    with pytest.raises(RuleViolations) as bad:
        svc.register(_u(person), asks.id, {"q_diet": "meat", "q_why": "a\x00b"}, now=NOW)
    assert {v.field for v in bad.value.violations} == {"q_diet", "q_why"}
    with pytest.raises(RuleViolation, match="Dietary needs"):
        svc.register(_u(person), asks.id, {}, now=NOW)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Registration.id))) == 0
    reg = _register(person, asks.id, {"q_diet": "vegan", "q_why": "SEM for coatings"})
    assert reg.answers == {"diet": "vegan", "why": "SEM for coatings"}
    with pytest.raises(RuleViolation, match="already"):
        svc.register(_u(person), asks.id, {"q_diet": "vegan"}, now=NOW)


def test_started_events_refuse_and_the_reminder_goes_once(ctx, course, make_user):
    person = make_user().id
    reg = _register(person, course.id)
    with pytest.raises(RuleViolation, match="started"):
        svc.register(_u(make_user().id), course.id, {}, now=berlin(2026, 3, 10, 10))
    db.session.rollback()
    assert svc.send_event_reminders(now=berlin(2026, 3, 8, 9)) == {"reminded": 0}
    eve = berlin(2026, 3, 9, 10)
    assert svc.send_event_reminders(now=eve) == {"reminded": 1}
    db.session.commit()
    assert svc.send_event_reminders(now=eve) == {"reminded": 0}
    [mail] = _mails("event_reminder")
    assert f"/registrations/{reg.id}.ics" in mail.body_text


def test_cancelling_the_event_tells_registered_and_waiting(ctx, course, make_user):
    people = [make_user().id for _ in range(3)]
    for p in people:
        _register(p, course.id)
    event = db.session.get_one(Event, course.id)
    assert len(svc.tell_event_cancelled(event, now=NOW)) == 3
    assert sorted(m.to_addr for m in _mails("event_cancelled")) == sorted(
        _u(p).email for p in people)


def test_the_job_runs_from_the_command_line_and_hands_on_once(app, runner, frozen_clock,
                                                             course, make_user):
    a, b, c = (make_user().id for _ in range(3))
    with app.app_context():
        first = _register(a, course.id)
        _register(b, course.id)
        _register(c, course.id)
        svc.cancel_registration(_u(a), first.id, now=NOW)
        db.session.commit()
    frozen_clock.move_to(NOW + 49 * H)
    out = runner.invoke(args=["labnet", "jobs", "run", "hand-on-seats"])
    assert out.exit_code == 0 and "lapsed 1" in out.output, out.output
    again = runner.invoke(args=["labnet", "jobs", "run", "hand-on-seats"])
    assert "nothing to do" in again.output, again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
            OutboxEmail.kind == "event_offer_lapsed")) == 1


def test_registered_events_join_the_persons_calendar_feed_not_a_colleagues(ctx, course,
                                                                           make_user):
    import icalendar

    from labnet.services.booking import calendars

    person = make_user()
    colleague = make_user(organisation=db.session.get_one(User, person.id).organisation)
    _register(person.id, course.id)
    secret = "test-secret-key-not-for-production"
    mine = calendars.ensure_feeds(_u(person.id), secret=secret, now=NOW)[0].feed
    theirs = calendars.ensure_feeds(_u(colleague.id), secret=secret, now=NOW)[0].feed
    db.session.commit()
    cal = icalendar.Calendar.from_ical(calendars.build_calendar(mine, now=NOW))
    [entry] = cal.walk("VEVENT")
    assert str(entry.get("summary")).startswith("Course")
    assert entry.get("dtstart").dt.isoformat() == "2026-03-10T09:00:00+01:00"
    other = icalendar.Calendar.from_ical(calendars.build_calendar(theirs, now=NOW))
    assert other.walk("VEVENT") == []
