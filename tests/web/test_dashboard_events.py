"""The dashboard's training and events section (issue 15 §6) as coordinators and lab
managers see it: hand-counted figures, the dashboard's filters narrowing them, the CSV equal
to each table, a manager limited to their labs' events, and the same query count at two
scales.

World: tests/fixtures/meetings.py (the Vienna meet-up, AT, MNEP, four seats all taken and
one person waiting, on 10-11 March 2026), plus a past course in Aachen (DE, AMT, ten seats,
three registered, two marked present) and a draft that counts nowhere. Period: February and
March 2026; the clock is moved to 12 March so the meet-up's meetings took place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from labnet.extensions import db
from labnet.models import Event, EventKet, EventSession, User
from labnet.models.training import Attendance, Registration
from labnet.services.meetings import rules as meet
from labnet.services.meetings.slots import parse_slot
from tests.fixtures.dashboard import as_dicts, csv_table, page_tables
from tests.fixtures.meetings import SLOT1, SLOT2, make_event

PERIOD = {"from": "2026-02-01", "to": "2026-03-31"}
LATER = datetime(2026, 3, 12, 9, tzinfo=UTC)
SECTIONS = ("events-ket", "events-country", "meetings")


def _past_course(app, lab_id: int, people: list[int], present: list[int], *,
                 slug: str = "aachen-course", status: str = "published") -> int:
    start, end = datetime(2026, 2, 10, 8, tzinfo=UTC), datetime(2026, 2, 10, 16, tzinfo=UTC)
    with app.app_context():
        event = make_event(lab_id, slug=slug, status=status, title="Aachen SEM course")
        event.starts_at, event.ends_at, event.country, event.capacity = start, end, "DE", 10
        event.timezone = "Europe/Berlin"
        session = EventSession(event_id=event.id, starts_at=start, ends_at=end)
        db.session.add_all([session, EventKet(event_id=event.id, ket_code="AMT")])
        db.session.flush()
        # Past registrations as the registration service left them (it refuses past events).
        for user_id in people:
            reg = Registration(event_id=event.id, user_id=user_id, status="registered",
                               answers={}, created_at=start, updated_at=start,
                               registered_at=start)
            db.session.add(reg)
            db.session.flush()
            if user_id in present:
                db.session.add(Attendance(registration_id=reg.id, session_id=session.id,
                                          marked_at=start))
        event.seats_taken = len(people)
        db.session.commit()
        return event.id


@pytest.fixture
def events_world(app, meet_world, make_lab, make_user):
    w = meet_world
    w.aachen_lab = make_lab(name="Aachen Lab", country="DE")
    w.aachen_manager = make_user(manages=(w.aachen_lab,))
    _past_course(app, w.aachen_lab.id, [w.anna.id, w.ben.id, w.eve.id], [w.anna.id, w.eve.id])
    _past_course(app, w.aachen_lab.id, [w.dan.id], [], slug="draft-course", status="draft")
    with app.app_context():
        db.session.add(EventKet(event_id=w.event_id, ket_code="MNEP"))
        db.session.commit()
        event = db.session.get_one(Event, w.event_id)
        now = datetime(2026, 3, 2, 9, tzinfo=UTC)
        for person in (w.anna, w.ben, w.carla):
            meet.save_profile(db.session.get_one(User, person.id), event, meet.ProfileFields(
                offer="Testing"), now=now)
        for requester, invitee, slot in ((w.anna, w.carla, SLOT1), (w.anna, w.ben, SLOT2)):
            m = meet.request_meeting(db.session.get_one(User, requester.id), event,
                                     invitee.id, parse_slot(slot), "", now=now)
            meet.answer_meeting(db.session.get_one(User, invitee.id), event, m.id, True, "",
                                now=now)
        db.session.commit()
    return w


def _tables(client, **filters: str) -> dict[str, list[list[str]]]:
    response = client.get("/dashboard?" + urlencode({**PERIOD, **filters}))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return page_tables(response.get_data(as_text=True))


@pytest.fixture
def coordinator_view(client, events_world, make_user, quick_login, frozen_clock):
    from labnet.models import Role

    frozen_clock.move_to(LATER)
    quick_login(client, make_user(roles=(Role.COORDINATOR,)))
    return events_world


def test_the_coordinator_sees_events_seats_waiting_lists_and_attendance(client,
                                                                       coordinator_view):
    t = _tables(client)
    by_ket = {r["Code"]: r for r in as_dicts(t["events-ket"])}
    assert by_ket["AMT"] == {
        "KET area": "Advanced manufacturing technologies", "Code": "AMT", "Events": "1",
        "Seats offered": "10", "Registrations": "3", "Waiting list": "0",
        "Registrations (past events)": "3", "Attended": "2", "Attendance rate %": "66.7"}
    # The meet-up is over by the 12th and nobody was marked present there.
    assert {k: by_ket["MNEP"][k] for k in ("Events", "Seats offered", "Registrations",
                                          "Waiting list", "Registrations (past events)",
                                          "Attended", "Attendance rate %")} \
        == {"Events": "1", "Seats offered": "4", "Registrations": "4", "Waiting list": "1",
            "Registrations (past events)": "4", "Attended": "0", "Attendance rate %": "0"}
    by_country = {r["Code"]: r for r in as_dicts(t["events-country"])}
    assert set(by_country) == {"AT", "DE"}  # the draft counts nowhere
    assert by_country["AT"]["Waiting list"] == "1" and by_country["DE"]["Attended"] == "2"
    [meetings] = as_dicts(t["meetings"])
    assert meetings == {"Event": "Vienna cluster meet-up", "Meeting requests": "2",
                        "Accepted": "2", "Held": "2",
                        "Held between partners of different projects": "1"}


def test_the_summary_names_the_cross_project_meetings(client, coordinator_view):
    html = client.get("/dashboard?" + urlencode(PERIOD)).get_data(as_text=True)
    assert '<strong id="cross-project-meetings">1</strong>' in html
    assert 'id="upcoming-events"' in html


@pytest.mark.parametrize(("filters", "codes"), [
    ({"country": "AT"}, {"AT"}),
    ({"country": "DE"}, {"DE"}),
    ({"ket": "AMT"}, {"DE"}),
    ({"ket": "MNEP"}, {"AT"}),
    ({"from": "2026-03-01"}, {"AT"}),
])
def test_the_dashboard_filters_narrow_the_events(client, coordinator_view, filters, codes):
    rows = as_dicts(_tables(client, **filters)["events-country"])
    assert {r["Code"] for r in rows} == codes


@pytest.mark.parametrize("section", SECTIONS)
def test_each_events_csv_equals_its_table(client, coordinator_view, section):
    page = _tables(client)
    response = client.get(f"/dashboard/{section}.csv?" + urlencode(PERIOD))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert csv_table(response.get_data(as_text=True)) == page[section]


def test_a_lab_manager_sees_only_the_events_of_their_labs(client, events_world, quick_login,
                                                          frozen_clock):
    frozen_clock.move_to(LATER)
    quick_login(client, events_world.aachen_manager)
    t = _tables(client)
    assert {r["Code"] for r in as_dicts(t["events-country"])} == {"DE"}
    assert as_dicts(t["meetings"]) == []


def test_the_section_costs_the_same_queries_at_two_scales(app, client, coordinator_view,
                                                          count_queries, make_lab):
    url = "/dashboard?" + urlencode(PERIOD)
    before = count_queries(url)
    lab = make_lab(name="More Lab", country="PL")
    for i in range(5):
        _past_course(app, lab.id, [coordinator_view.dan.id], [coordinator_view.dan.id],
                     slug=f"more-{i}")
    assert count_queries(url) == before
