"""Meetings between consortia (services.meetings): profiles, requests, answers, taking back,
one accepted meeting per person and slot held by the database, and the organisers' figure
of meetings between partners of different projects. World: tests/fixtures/meetings.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from labnet.errors import NotFound, PermissionDenied, RuleViolation, RuleViolations, SlotTaken
from labnet.extensions import db
from labnet.models import (
    AuditEvent,
    Event,
    Meeting,
    MeetingProfile,
    MeetingSlotTaken,
    OutboxEmail,
    User,
)
from labnet.services.meetings import pages
from labnet.services.meetings import rules as meet
from labnet.services.meetings.slots import parse_slot
from tests.fixtures.meetings import NOW, SLOT1, SLOT2, SLOT_DAY2

PROFILE = meet.ProfileFields(offer="Pilot line for printed sensors",
                             looking_for="SMEs testing flexible electronics",
                             ket_codes=("MNEP",))


def _u(person) -> User:
    return db.session.get_one(User, person.id)


def _event(w) -> Event:
    return db.session.get_one(Event, w.event_id)


def _profiles(w, *people) -> None:
    for person in people:
        meet.save_profile(_u(person), _event(w), PROFILE, now=NOW)
    db.session.commit()


def _ask(w, requester, invitee, slot: str = SLOT1, message: str = "") -> int:
    meeting = meet.request_meeting(_u(requester), _event(w), invitee.id, parse_slot(slot),
                                   message, now=NOW)
    db.session.commit()
    return meeting.id


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_registered_participant_publishes_and_updates_a_profile(app, meet_world):
    w = meet_world
    with app.app_context():
        profile = meet.save_profile(_u(w.anna), _event(w), meet.ProfileFields(
            offer="Our SEM", looking_for="", ket_codes=("mnep", "AMT"),
            project_id=w.clustrat_id), now=NOW)
        db.session.commit()
        assert profile.ket_codes == ["MNEP", "AMT"] and profile.project_id == w.clustrat_id
        meet.save_profile(_u(w.anna), _event(w), meet.ProfileFields(looking_for="Partners"),
                          now=NOW + timedelta(hours=1))
        db.session.commit()
        assert _count(MeetingProfile) == 1
        again = db.session.scalar(select(MeetingProfile))
        assert (again.offer, again.looking_for, again.project_id) == ("", "Partners", None)
        assert [e.action for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.like("meeting_profile.%")).order_by(AuditEvent.id))] == [
            "meeting_profile.published", "meeting_profile.updated"]


@pytest.mark.parametrize("person", ["eve", "wendy", "organiser"])
def test_people_without_a_seat_publish_no_profile(app, meet_world, person):
    w = meet_world
    with app.app_context():
        with pytest.raises(PermissionDenied):
            meet.save_profile(_u(getattr(w, person)), _event(w), PROFILE, now=NOW)
        db.session.rollback()
        assert _count(MeetingProfile) == 0


@pytest.mark.parametrize(("fields", "field", "words"), [
    (meet.ProfileFields(), "offer", "Say what you offer or what you look for"),
    (meet.ProfileFields(offer="x" * 601), "offer", "at most 600"),
    (meet.ProfileFields(offer="ok", looking_for="bad\x00text"), "looking_for",
     "control characters"),
    (meet.ProfileFields(offer="ok", ket_codes=("NOPE",)), "ket_codes", "from the list"),
    (meet.ProfileFields(offer="ok", ket_codes=("AMT", "AMN", "MNEP", "LST", "PHOT", "AI")),
     "ket_codes", "at most 5"),
    (meet.ProfileFields(offer="ok", project_id=999), "project_id", "partner of"),
])
def test_a_bad_profile_is_refused_on_its_field(app, meet_world, fields, field, words):
    w = meet_world
    with app.app_context():
        with pytest.raises(RuleViolation) as caught:
            meet.save_profile(_u(w.anna), _event(w), fields, now=NOW)
        db.session.rollback()
        found = {v.field: v.message for v in getattr(caught.value, "violations", [caught.value])}
        assert words in found[field]
        assert _count(MeetingProfile) == 0


def test_a_project_of_another_organisation_is_refused(app, meet_world):
    w = meet_world
    with app.app_context(), pytest.raises(RuleViolations) as caught:
        meet.save_profile(_u(w.anna), _event(w), meet.ProfileFields(
            offer="ok", project_id=w.danube_id), now=NOW)
    assert caught.value.field == "project_id"


def test_no_profile_once_the_event_is_over(app, meet_world):
    w = meet_world
    with app.app_context(), pytest.raises(RuleViolation, match="The event is over"):
        meet.save_profile(_u(w.anna), _event(w), PROFILE,
                          now=datetime(2026, 3, 11, 16, tzinfo=UTC))


def test_asking_for_a_meeting_tells_the_invitee_with_a_link(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        mid = _ask(w, w.anna, w.carla, SLOT1, "Coffee <b>at the booth</b>?")
        meeting = db.session.get_one(Meeting, mid)
        assert (meeting.status, meeting.slot_start_at, meeting.slot_end_at) == (
            "requested", datetime(2026, 3, 10, 9, tzinfo=UTC),
            datetime(2026, 3, 10, 9, 30, tzinfo=UTC))
        mail = db.session.scalar(select(OutboxEmail).where(
            OutboxEmail.to_addr == w.carla.email, OutboxEmail.kind == "meeting_requested"))
        assert "Anna Alpha asks to meet you" in mail.subject
        # The slot in the event's zone (CET), and the link to the Meet page.
        assert "Tue 10 Mar 2026, 10:00–10:30 CET" in mail.body_text
        assert f"/events/{w.slug}/meet#incoming" in mail.body_text
        assert "&lt;b&gt;at the booth&lt;/b&gt;" in mail.body_html
        assert _count(MeetingSlotTaken) == 0


@pytest.mark.parametrize(("slot", "words"), [
    ("2026-03-10T08:45Z", "one of the event's meeting slots"),
    ("2026-03-10T13:00Z", "one of the event's meeting slots"),
    ("", "one of the event's meeting slots"),
])
def test_a_slot_that_is_not_one_of_the_event_is_refused(app, meet_world, slot, words):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        with pytest.raises(RuleViolation, match=words) as caught:
            _ask(w, w.anna, w.carla, slot)
        assert caught.value.field == "slot"
        db.session.rollback()
        assert _count(Meeting) == 0


def test_a_slot_that_has_begun_is_refused(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        with pytest.raises(RuleViolation, match="has begun"):
            meet.request_meeting(_u(w.anna), _event(w), w.carla.id, parse_slot(SLOT1), "",
                                 now=datetime(2026, 3, 10, 9, 5, tzinfo=UTC))


def test_whom_one_may_ask(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        # Without one's own profile: told to publish it first.
        with pytest.raises(RuleViolation, match="Publish your own profile first"):
            _ask(w, w.ben, w.carla)
        db.session.rollback()
        # Someone without a profile, oneself, or nobody: as if they were not there.
        for invitee in (w.dan, w.anna, w.eve):
            with pytest.raises(NotFound):
                _ask(w, w.anna, invitee)
            db.session.rollback()
        # A message that is too long stays the asker's to shorten.
        with pytest.raises(RuleViolation, match="at most 500") as caught:
            _ask(w, w.anna, w.carla, SLOT1, "x" * 501)
        assert caught.value.field == "message"
        db.session.rollback()
        _ask(w, w.anna, w.carla)
        with pytest.raises(RuleViolation, match="already waiting for an answer"):
            _ask(w, w.carla, w.anna)
        db.session.rollback()
        assert _count(Meeting) == 1


def test_accepting_holds_the_slot_for_both_and_tells_the_requester(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla, w.ben)
        mid = _ask(w, w.anna, w.carla)
        meet.answer_meeting(_u(w.carla), _event(w), mid, True, "See you there", now=NOW)
        db.session.commit()
        assert db.session.get_one(Meeting, mid).status == "accepted"
        assert sorted(db.session.scalars(select(MeetingSlotTaken.user_id))) == sorted(
            [w.anna.id, w.carla.id])
        mail = db.session.scalar(select(OutboxEmail).where(
            OutboxEmail.to_addr == w.anna.email, OutboxEmail.kind == "meeting_answered"))
        assert "Carla Gamma accepted your meeting" in mail.subject
        assert "See you there" in mail.body_text and "#schedule" in mail.body_text
        # Neither can now be asked for that slot.
        with pytest.raises(RuleViolation, match="Anna Alpha already has a meeting"):
            _ask(w, w.ben, w.anna, SLOT1)
        db.session.rollback()
        with pytest.raises(RuleViolation, match="You already have a meeting"):
            _ask(w, w.carla, w.ben, SLOT1)
        db.session.rollback()
        # A second answer finds it answered (a second click, a second tab).
        with pytest.raises(RuleViolation, match="answered or taken back") as caught:
            meet.answer_meeting(_u(w.carla), _event(w), mid, False, "", now=NOW)
        assert caught.value.code == 409


def test_only_the_invitee_answers(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        mid = _ask(w, w.anna, w.carla)
        for person in (w.anna, w.ben, w.organiser):
            with pytest.raises((NotFound, PermissionDenied)):
                meet.answer_meeting(_u(person), _event(w), mid, True, "", now=NOW)
            db.session.rollback()
        assert db.session.get_one(Meeting, mid).status == "requested"


def test_declining_frees_nothing_and_tells_the_requester(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        mid = _ask(w, w.anna, w.carla)
        with pytest.raises(RuleViolation) as caught:
            meet.answer_meeting(_u(w.carla), _event(w), mid, False, "line\nbreak", now=NOW)
        assert caught.value.field == "answer_note"
        db.session.rollback()
        meet.answer_meeting(_u(w.carla), _event(w), mid, False, "Full day", now=NOW)
        db.session.commit()
        assert db.session.get_one(Meeting, mid).status == "declined"
        assert _count(MeetingSlotTaken) == 0
        assert _count(OutboxEmail, OutboxEmail.subject.like("%declined your meeting%")) == 1


def _two_asked_one_accepted(w) -> tuple[int, int]:
    """Anna and Ben both ask Carla for slot 1; Carla accepts Anna's."""
    _profiles(w, w.anna, w.ben, w.carla)
    first, second = _ask(w, w.anna, w.carla), _ask(w, w.ben, w.carla)
    meet.answer_meeting(_u(w.carla), _event(w), first, True, "", now=NOW)
    db.session.commit()
    return first, second


def test_a_second_meeting_in_a_slot_is_refused_on_accepting(app, meet_world):
    w = meet_world
    with app.app_context():
        _first, second = _two_asked_one_accepted(w)
        with pytest.raises(SlotTaken, match="You already have a meeting in that slot") as caught:
            meet.answer_meeting(_u(w.carla), _event(w), second, True, "", now=NOW)
        assert caught.value.code == 409
        db.session.rollback()
        assert db.session.get_one(Meeting, second).status == "requested"
        assert _count(MeetingSlotTaken) == 2


def test_the_database_refuses_a_second_meeting_of_anyone_in_one_slot(app, meet_world):
    """The unique key, not the service's check: a row written past the check is refused."""
    w = meet_world
    with app.app_context():
        _first, second = _two_asked_one_accepted(w)
        db.session.add(MeetingSlotTaken(event_id=w.event_id, user_id=w.carla.id,
                                        slot_start_at=parse_slot(SLOT1), meeting_id=second))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_taking_back_a_meeting(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.ben, w.carla)
        asked = _ask(w, w.anna, w.carla, SLOT1)
        # The invitee declines rather than withdraws.
        with pytest.raises(RuleViolation, match="Decline the request instead"):
            meet.take_back_meeting(_u(w.carla), _event(w), asked, now=NOW)
        db.session.rollback()
        meet.take_back_meeting(_u(w.anna), _event(w), asked, now=NOW)
        db.session.commit()
        assert db.session.get_one(Meeting, asked).status == "withdrawn"
        agreed = _ask(w, w.ben, w.carla, SLOT2)
        meet.answer_meeting(_u(w.carla), _event(w), agreed, True, "", now=NOW)
        db.session.commit()
        with pytest.raises(NotFound):
            meet.take_back_meeting(_u(w.anna), _event(w), agreed, now=NOW)
        db.session.rollback()
        meet.take_back_meeting(_u(w.carla), _event(w), agreed, now=NOW)
        db.session.commit()
        assert db.session.get_one(Meeting, agreed).status == "cancelled"
        assert _count(MeetingSlotTaken) == 0  # the slot is free again for both
        assert _count(OutboxEmail, OutboxEmail.to_addr == w.ben.email,
                      OutboxEmail.subject.like("%called off%")) == 1
        with pytest.raises(RuleViolation, match="no longer open"):
            meet.take_back_meeting(_u(w.ben), _event(w), agreed, now=NOW)


def test_an_accepted_meeting_cannot_be_cancelled_once_its_slot_began(app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        mid = _ask(w, w.anna, w.carla)
        meet.answer_meeting(_u(w.carla), _event(w), mid, True, "", now=NOW)
        db.session.commit()
        with pytest.raises(RuleViolation, match="has begun"):
            meet.take_back_meeting(_u(w.anna), _event(w), mid,
                                   now=datetime(2026, 3, 10, 9, 10, tzinfo=UTC))


def test_the_figures_count_meetings_held_between_partners_of_different_projects(
        app, meet_world):
    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.ben, w.carla, w.dan)
        pairs = [(w.anna, w.carla, SLOT1),   # CluStrat – Danube Link: cross-project
                 (w.ben, w.carla, SLOT2),    # cross-project
                 (w.anna, w.ben, "2026-03-10T10:00Z"),  # both CluStrat: not
                 (w.dan, w.carla, SLOT_DAY2)]  # Delta is in no project: not
        for requester, invitee, slot in pairs:
            meet.answer_meeting(_u(invitee), _event(w), _ask(w, requester, invitee, slot),
                                True, "", now=NOW)
            db.session.commit()
        _ask(w, w.anna, w.dan, "2026-03-11T09:30Z")  # asked, never answered
        before = pages.meeting_figures(_event(w), now=NOW)
        assert (before.profiles, before.requested, before.accepted, before.held,
                before.cross_project) == (4, 5, 4, 0, 0)
        # After the first day: the three meetings of 10 March took place.
        after = pages.meeting_figures(_event(w), now=datetime(2026, 3, 10, 18, tzinfo=UTC))
        assert (after.accepted, after.held, after.cross_project) == (4, 3, 2)


def test_the_schedule_and_its_calendar_file(app, meet_world):
    import icalendar

    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        mid = _ask(w, w.anna, w.carla, SLOT1, "Bring samples; the <lab>")
        meet.answer_meeting(_u(w.carla), _event(w), mid, True, "", now=NOW)
        db.session.commit()
        page = pages.meet_page(_event(w), _u(w.anna), now=NOW)
        assert [row.other_name for row in page.schedule] == ["Carla Gamma"]
        assert page.schedule[0].slot == "Tue 10 Mar 2026, 10:00–10:30 CET"
        cal = icalendar.Calendar.from_ical(pages.schedule_ics(_event(w), _u(w.anna), now=NOW))
        [item] = cal.walk("VEVENT")
        assert item.decoded("dtstart").astimezone(UTC) == datetime(2026, 3, 10, 9, tzinfo=UTC)
        assert str(item.get("dtstart").params["TZID"]) == "Europe/Vienna"
        assert str(item["summary"]) == "Meeting with Carla Gamma (Gamma)"
        assert "Bring samples; the <lab>" in str(item["description"])
        # Carla's slot 1 is taken: Anna's card no longer offers it to others.
        ben_view = pages.meet_page(_event(w), _u(w.carla), now=NOW)
        assert all(s.key != SLOT1 for card in ben_view.cards for s in card.free_slots)


def test_a_cancelled_registration_takes_the_card_away_and_cannot_be_met(app, meet_world):
    from labnet.models import Registration
    from labnet.services.training.registration import cancel_registration

    w = meet_world
    with app.app_context():
        _profiles(w, w.anna, w.carla)
        mid = _ask(w, w.anna, w.carla)
        reg = db.session.scalar(select(Registration).where(
            Registration.event_id == w.event_id, Registration.user_id == w.anna.id))
        cancel_registration(_u(w.anna), reg.id, now=NOW)
        db.session.commit()
        page = pages.meet_page(_event(w), _u(w.carla), now=NOW)
        assert [card.name for card in page.cards] == []
        # Her unanswered request went with her registration: nothing is left to answer.
        assert db.session.get(Meeting, mid).status == "withdrawn"
        with pytest.raises(RuleViolation, match="Anna Alpha no longer takes part"):
            meet.answer_meeting(_u(w.carla), _event(w), mid, True, "", now=NOW)
        db.session.rollback()
        with pytest.raises(RuleViolation, match="taken back meanwhile") as refused:
            meet.answer_meeting(_u(w.carla), _event(w), mid, False, "", now=NOW)
        assert refused.value.code == 409
        db.session.rollback()
        assert _count(MeetingSlotTaken) == 0
