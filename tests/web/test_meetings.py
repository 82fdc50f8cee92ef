"""The Meet page as its users see it (issue 15 §5): publish a profile, ask for a meeting
in a slot, follow the e-mail's link, accept, see the schedule and its .ics; refusals on
their field with the input kept and nothing written; text never rendered as markup; who is
let in. World: tests/fixtures/meetings.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import icalendar
import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Meeting, MeetingProfile, MeetingSlotTaken, OutboxEmail
from labnet.services.meetings.slots import parse_slot
from tests.fixtures.a11y import assert_refused_input
from tests.fixtures.auth import post_form
from tests.fixtures.meetings import SLOT1, SLOT2

PAGE = "/events/vienna-meetup/meet"


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def _publish(client, offer: str = "Printed sensors pilot line", **extra):
    return post_form(client, PAGE + "/profile", {"offer": offer, "looking_for": "",
                                                 **extra}, page=PAGE)


@pytest.fixture
def as_person(app, quick_login):
    """``as_person(user)``: a client of its own, logged in as ``user``."""

    def make(user):
        c = app.test_client()
        quick_login(c, user)
        return c

    return make


def _mail(app, to: str, kind: str) -> OutboxEmail:
    with app.app_context():
        row = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_addr == to,
                                                          OutboxEmail.kind == kind))
        assert row is not None, (to, kind)
        db.session.expunge(row)
        return row


def test_two_participants_arrange_a_meeting_through_the_page(app, meet_world, as_person):
    w = meet_world
    client = as_person(w.carla)
    assert _publish(client, "Danube pilot plants", ket_codes=["MNEP"],
                    project_id=str(w.danube_id)).status_code == 302
    client = as_person(w.anna)
    page = client.get(PAGE).get_data(as_text=True)
    # Without her own profile Anna is told to publish one before asking.
    assert "Publish your profile to ask for a meeting." in page
    assert _publish(client).status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "Danube pilot plants" in page and "DL" in page
    # Carla's card offers the event's slots in Vienna time.
    assert f'value="{SLOT1}"' in page and "Tue 10 Mar 2026, 10:00–10:30 CET" in page
    response = post_form(client, PAGE + "/requests", {
        "invitee": str(w.carla.id), "slot": SLOT1, "message": "Coffee at the booth?"},
        page=PAGE)
    assert response.status_code == 302
    assert "Coffee at the booth?" in client.get(PAGE).get_data(as_text=True)

    mail = _mail(app, w.carla.email, "meeting_requested")
    link = re.search(r"http://labnet\.test(/events/vienna-meetup/meet)#incoming",
                     mail.body_text).group(1)
    client = as_person(w.carla)
    page = client.get(link).get_data(as_text=True)
    assert 'id="incoming"' in page and "Anna Alpha" in page
    with app.app_context():
        mid = db.session.scalar(select(Meeting.id))
    response = post_form(client, f"{PAGE}/{mid}/answer",
                         {"answer": "accept", "answer_note": "See you"}, page=PAGE)
    assert response.status_code == 302
    assert _count(app, MeetingSlotTaken) == 2
    page = client.get(PAGE).get_data(as_text=True)
    schedule = page[page.index('id="schedule"'):page.index('id="incoming"')]
    assert "Anna Alpha" in schedule and "Tue 10 Mar 2026, 10:00–10:30 CET" in schedule

    assert "accepted" in _mail(app, w.anna.email, "meeting_answered").subject
    client = as_person(w.anna)
    response = client.get(PAGE + "/schedule.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"]
    [item] = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert item.decoded("dtstart").astimezone(UTC) == datetime(2026, 3, 10, 9, tzinfo=UTC)
    assert str(item["summary"]) == "Meeting with Carla Gamma (Gamma)"


def test_a_bad_profile_keeps_what_was_typed_and_writes_nothing(app, meet_world, as_person):
    client = as_person(meet_world.anna)
    long_offer = "Sensors " * 80  # 640 characters
    response = _publish(client, long_offer, looking_for="Partners <b>now</b>")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field="offer"' in html and "at most 600 characters" in html
    assert long_offer.strip() in html
    assert "Partners &lt;b&gt;now&lt;/b&gt;" in html
    assert _count(app, MeetingProfile) == 0
    response = _publish(client, "", looking_for="")
    assert response.status_code == 422
    assert "Say what you offer or what you look for" in response.get_data(as_text=True)
    response = _publish(client, "ok", project_id="not-a-number")
    assert response.status_code == 422
    assert "Choose one of the projects" in response.get_data(as_text=True)
    assert _count(app, MeetingProfile) == 0


def test_typed_text_is_shown_as_text(app, meet_world, as_person):
    w = meet_world
    _publish(as_person(w.carla), '<script>alert("x")</script> & <img src=x onerror=alert(1)>')
    html = as_person(w.anna).get(PAGE).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img" in html


def test_a_refused_request_shows_its_reason_on_the_slot_and_writes_nothing(
        app, meet_world, as_person):
    w = meet_world
    for person in (w.anna, w.ben, w.carla):
        _publish(as_person(person))
    client = as_person(w.anna)
    response = post_form(client, PAGE + "/requests", {
        "invitee": str(w.carla.id), "slot": "2026-03-10T13:00Z", "message": "Hi there"},
        page=PAGE)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    card = html[html.index(f'id="person-{w.carla.id}"'):]
    assert 'data-field="slot"' in card and "Choose one of the event&#39;s meeting slots" in card
    assert 'value="Hi there"' in card
    response = post_form(client, PAGE + "/requests", {
        "invitee": str(w.carla.id), "slot": SLOT1, "message": "x" * 501}, page=PAGE)
    assert response.status_code == 422
    assert "at most 500" in response.get_data(as_text=True)
    # Someone who published no profile (Dan) is as if not there.
    response = post_form(client, PAGE + "/requests", {
        "invitee": str(w.dan.id), "slot": SLOT1, "message": ""}, page=PAGE)
    assert response.status_code == 404
    assert _count(app, Meeting) == 0


def test_accepting_a_second_meeting_in_a_slot_is_refused_with_409(app, meet_world,
                                                                 as_person):
    w = meet_world
    for person in (w.anna, w.ben, w.carla):
        _publish(as_person(person))
    for asker in (w.anna, w.ben):
        assert post_form(as_person(asker), PAGE + "/requests", {
            "invitee": str(w.carla.id), "slot": SLOT2, "message": ""},
            page=PAGE).status_code == 302
    with app.app_context():
        first, second = db.session.scalars(select(Meeting.id).order_by(Meeting.id)).all()
    client = as_person(w.carla)
    assert post_form(client, f"{PAGE}/{first}/answer", {"answer": "accept"},
                     page=PAGE).status_code == 302
    response = post_form(client, f"{PAGE}/{second}/answer",
                         {"answer": "accept", "answer_note": "Sure"}, page=PAGE)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "You already have a meeting in that slot" in html and 'value="Sure"' in html
    response = post_form(client, f"{PAGE}/{second}/answer", {"answer": "maybe"}, page=PAGE)
    assert response.status_code == 422 and "Choose accept or decline" in response.get_data(
        as_text=True)
    assert _count(app, MeetingSlotTaken) == 2


def test_who_is_let_onto_the_meet_page(app, client, meet_world, as_person):
    w = meet_world
    assert client.get(PAGE).status_code == 302  # visitors log in first
    for person, status in ((w.eve, 403), (w.wendy, 403), (w.organiser, 200)):
        assert as_person(person).get(PAGE).status_code == status, person.full_name
    client = as_person(w.organiser)
    html = client.get(PAGE).get_data(as_text=True)
    assert 'id="meeting-figures"' in html and 'id="profile-form"' not in html
    assert client.get(PAGE + "/schedule.ics").status_code == 403
    assert client.get("/events/no-such-event/meet").status_code == 404


def test_the_meet_page_costs_the_same_queries_at_two_scales(app, client, meet_world,
                                                            as_person, make_user,
                                                            count_queries, quick_login):
    from labnet.models import Event, Registration, User
    from labnet.services.meetings import rules as meet
    from tests.fixtures.meetings import NOW

    w = meet_world
    for person in (w.anna, w.carla):
        _publish(as_person(person), ket_codes=["AMT"])
    quick_login(client, w.anna)
    small = count_queries(PAGE)
    more = [make_user() for _ in range(8)]
    with app.app_context():
        event = db.session.get_one(Event, w.event_id)
        event.capacity = 20
        db.session.commit()
        for user in more:
            # A seat as the registration service leaves it (Wendy waits before them).
            db.session.add(Registration(event_id=w.event_id, user_id=user.id,
                                        status="registered", answers={}, created_at=NOW,
                                        updated_at=NOW, registered_at=NOW))
            event.seats_taken += 1
            meet.save_profile(db.session.get_one(User, user.id), event,
                              meet.ProfileFields(offer="More", ket_codes=("AMT",)), now=NOW)
            meet.request_meeting(db.session.get_one(User, user.id), event, w.anna.id,
                                 parse_slot(SLOT2), "", now=NOW)
        db.session.commit()
    assert count_queries(PAGE) == small


def test_the_event_page_leads_participants_to_the_meet_page(client, meet_world, as_person):
    w = meet_world
    html = as_person(w.anna).get("/events/vienna-meetup").get_data(as_text=True)
    assert 'id="meet-link"' in html and f'href="{PAGE}"' in html
    assert "meetings of 30 minutes between 10:00 and 12:00 (Europe/Vienna)" in html
    for viewer in (client, as_person(w.eve)):
        html = viewer.get("/events/vienna-meetup").get_data(as_text=True)
        assert 'id="event-meetings"' in html and 'id="meet-link"' not in html
        assert "Register for the event to take part." in html


def test_cancelling_a_registration_calls_off_the_persons_meetings_and_tells_the_others(
        app, meet_world, as_person):
    w = meet_world
    for person in (w.anna, w.ben, w.carla, w.dan):
        assert _publish(as_person(person), f"{person.full_name} offers").status_code == 302
    anna = as_person(w.anna)
    # Anna and Carla agree on a meeting; Ben asks Anna; Anna asks Dan; Ben and Carla meet
    # without Anna (untouched).
    for client, invitee, slot in ((anna, w.carla, SLOT1), (as_person(w.ben), w.anna, SLOT2),
                                  (anna, w.dan, SLOT2), (as_person(w.ben), w.carla, SLOT2)):
        assert post_form(client, PAGE + "/requests", {"invitee": str(invitee.id),
                                                      "slot": slot, "message": ""},
                         page=PAGE).status_code == 302
    with app.app_context():
        ids = {(m.requester_id, m.invitee_id): m.id for m in db.session.scalars(select(Meeting))}
    for answerer, key in ((w.carla, (w.anna.id, w.carla.id)), (w.carla, (w.ben.id, w.carla.id))):
        assert post_form(as_person(answerer), f"{PAGE}/{ids[key]}/answer",
                         {"answer": "accept", "answer_note": ""}, page=PAGE).status_code == 302
    assert _count(app, MeetingSlotTaken) == 4

    with app.app_context():
        from labnet.models import Registration
        reg_id = db.session.scalar(select(Registration.id).where(
            Registration.user_id == w.anna.id, Registration.event_id == w.event_id))
    page = f"/registrations/{reg_id}"
    assert post_form(anna, f"{page}/cancel", {}, page=page).status_code == 302

    with app.app_context():
        states = {k: db.session.get(Meeting, i).status for k, i in ids.items()}
        slots = set(db.session.scalars(select(MeetingSlotTaken.meeting_id)))
    assert states == {(w.anna.id, w.carla.id): "cancelled",
                      (w.ben.id, w.anna.id): "declined",
                      (w.anna.id, w.dan.id): "withdrawn",
                      (w.ben.id, w.carla.id): "accepted"}
    assert slots == {ids[(w.ben.id, w.carla.id)]}  # Carla's SLOT1 is free again
    for other in (w.carla, w.ben, w.dan):
        mail = _mail(app, other.email, "meeting_cancelled")
        assert "Anna Alpha no longer takes part in" in mail.body_text, other.full_name
    # Carla sees the slot free on her schedule, and Anna's card is gone from the page.
    page = as_person(w.carla).get(PAGE).get_data(as_text=True)
    schedule = page[page.index('id="schedule"'):page.index('id="incoming"')]
    assert "Anna Alpha" not in schedule and "Ben Beta" in schedule
    assert "Anna Alpha offers" not in page


def test_a_meeting_whose_slot_has_begun_stays_when_the_registration_is_cancelled(
        app, meet_world, as_person, frozen_clock):
    w = meet_world
    for person in (w.anna, w.carla):
        assert _publish(as_person(person)).status_code == 302
    assert post_form(as_person(w.anna), PAGE + "/requests",
                     {"invitee": str(w.carla.id), "slot": SLOT1, "message": ""},
                     page=PAGE).status_code == 302
    with app.app_context():
        mid = db.session.scalar(select(Meeting.id))
    assert post_form(as_person(w.carla), f"{PAGE}/{mid}/answer",
                     {"answer": "accept", "answer_note": ""}, page=PAGE).status_code == 302
    frozen_clock.move_to(parse_slot(SLOT1))  # the meeting has begun
    from labnet.models import Registration, User
    from labnet.services.training.registration import cancel_registration
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.user_id == w.anna.id))
        cancel_registration(db.session.get(User, w.anna.id), reg.id, now=parse_slot(SLOT1))
        db.session.commit()
        assert db.session.get(Meeting, mid).status == "accepted"
        assert db.session.scalar(select(func.count()).select_from(OutboxEmail).where(
            OutboxEmail.kind == "meeting_cancelled")) == 0


def test_refused_requests_and_answers_are_tied_to_their_inputs_and_summed_up(
        app, meet_world, as_person):
    w = meet_world
    for person in (w.anna, w.carla):
        _publish(as_person(person))
    client = as_person(w.anna)
    response = post_form(client, PAGE + "/requests", {
        "invitee": str(w.carla.id), "slot": "2026-03-10T13:00Z", "message": "Hi"}, page=PAGE)
    assert response.status_code == 422
    assert_refused_input(response.get_data(as_text=True), f"slot-{w.carla.id}",
                         "Choose one of the event's meeting slots")
    response = post_form(client, PAGE + "/requests", {
        "invitee": str(w.carla.id), "slot": SLOT1, "message": "x" * 501}, page=PAGE)
    assert response.status_code == 422
    assert_refused_input(response.get_data(as_text=True), f"message-{w.carla.id}", "500")
    assert post_form(client, PAGE + "/requests", {
        "invitee": str(w.carla.id), "slot": SLOT1, "message": ""}, page=PAGE).status_code == 302
    with app.app_context():
        meeting_id = db.session.scalar(select(Meeting.id))
    response = post_form(as_person(w.carla), f"{PAGE}/{meeting_id}/answer",
                         {"answer": "accept", "answer_note": "y" * 301}, page=PAGE)
    assert response.status_code == 422
    assert_refused_input(response.get_data(as_text=True), f"answer_note-{meeting_id}", "300")
