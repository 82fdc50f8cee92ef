"""Meetings under concurrency (issue 15 §5, "nobody has two meetings in one slot, held by
the database"): a host asked eight participants for the same slot; all eight accept at the
same moment, one process each. Exactly one meeting is accepted, the host holds one slot row,
the seven others hear that the slot was taken, and nobody sees a 500 or "database is
locked". SQLite by default, PostgreSQL under LABNET_TEST_DATABASE_URL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Event, Meeting, MeetingSlotTaken, User
from tests.fixtures.meetings import SLOT1, make_event, register

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROCESSES = 8


def accept(database_url: str, instance_path: str, user_id: int, event_id: int,
           meeting_id: int, barrier, results) -> None:
    """One invitee's click on "Accept", in its own process (imported by spawn)."""
    from labnet import create_app
    from labnet.errors import RuleViolation, SlotTaken
    from labnet.services.meetings.rules import answer_meeting
    from tests.concurrency.conftest import WORKER_CONFIG

    app = create_app({**WORKER_CONFIG, "DATABASE_URL": database_url},
                     instance_path=instance_path)
    with app.test_request_context():
        actor = db.session.get_one(User, user_id)
        event = db.session.get_one(Event, event_id)
        db.session.rollback()
        barrier.wait(timeout=60)
        try:
            answer_meeting(actor, event, meeting_id, True, "", now=NOW)
            db.session.commit()
            results.put("accepted")
        except SlotTaken:
            db.session.rollback()
            results.put("taken")
        except RuleViolation as exc:
            db.session.rollback()
            results.put(f"refused: {exc.message}")
        except Exception as exc:
            db.session.rollback()
            results.put(f"error: {type(exc).__name__}: {exc}")
        finally:
            db.engine.dispose()


def test_many_invitees_accepting_one_hosts_slot_at_once_leave_one_meeting(
        app, make_lab, make_user, tmp_path):
    from labnet import clock
    from labnet.services.meetings import rules as meet
    from labnet.services.meetings.slots import parse_slot

    lab = make_lab()
    host = make_user(full_name="Hana Host")
    guests = [make_user() for _ in range(PROCESSES)]
    clock.freeze(NOW)
    try:
        with app.app_context():
            event = make_event(lab.id, slug="race-meetup", capacity=PROCESSES + 1)
            db.session.commit()
            for person in (host, *guests):
                register(event.id, person.id)
                meet.save_profile(db.session.get_one(User, person.id), event,
                                  meet.ProfileFields(offer="Racing"), now=NOW)
            meetings = [meet.request_meeting(db.session.get_one(User, host.id), event, g.id,
                                             parse_slot(SLOT1), "", now=NOW).id
                        for g in guests]
            db.session.commit()
            event_id = event.id
            url = app.config["SQLALCHEMY_DATABASE_URI"]
            db.engine.dispose()
    finally:
        clock.freeze(None)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=accept, args=(url, str(tmp_path / f"inst{i}"), guest.id,
                                              event_id, mid, barrier, results))
             for i, (guest, mid) in enumerate(zip(guests, meetings, strict=True))]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(outcomes) == ["accepted"] + ["taken"] * (PROCESSES - 1), outcomes
    with app.app_context():
        assert db.session.scalar(select(func.count(Meeting.id)).where(
            Meeting.status == "accepted")) == 1
        assert db.session.scalar(select(func.count(MeetingSlotTaken.id)).where(
            MeetingSlotTaken.user_id == host.id)) == 1
        assert db.session.scalar(select(func.count(MeetingSlotTaken.id))) == 2
