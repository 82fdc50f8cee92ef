"""Events through the pages (issue 15 §2): a lab manager creates, publishes, co-organises
and cancels an event; everyone finds it on /events (list, month, map, iCalendar, Atom) and
its page (schema.org JSON-LD); times are typed in the event's zone across DST; refusals
name their field, keep the input and write nothing; nothing typed becomes markup."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from html import unescape
from xml.etree import ElementTree as ET

import icalendar
import pytest
from sqlalchemy import select

from labnet import clock
from labnet.extensions import db
from labnet.models import Event, EventOrganiser, EventSession, Project, ProjectManager
from tests.fixtures.a11y import assert_refused_input
from tests.fixtures.auth import post_form

NOW = datetime(2027, 2, 1, 9, tzinfo=UTC)
WATCHED = ("event", "event_session", "event_organiser", "event_ket", "project",
           "project_partner", "project_manager")
XSS = '<script>alert("x")</script></script>'


@pytest.fixture(autouse=True)
def _clock():
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def _snapshot(app) -> str:
    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in WATCHED:
                for row in db.session.execute(
                        select(table).order_by(*table.primary_key.columns)):
                    digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def cast(make_user, make_lab):
    class C:
        pass

    c = C()
    c.lab = make_lab(name="Vienna Lab", slug="vienna-lab", city="Wien", country="AT",
                     lat=48.21, lon=16.37, timezone="Europe/Vienna")
    c.other_lab = make_lab(name="Other Lab", slug="other-lab")
    c.manager = make_user(manages=(c.lab,))
    c.other_manager = make_user(manages=(c.other_lab,))
    c.outsider = make_user()
    return c


FORM = {"kind": "training_course", "title": "SEM operation course",
        "description": "Two days at the microscope.", "language": "en",
        "timezone": "Europe/Vienna",
        "sessions": "2027-03-27 09:00-17:00 Theory\n2027-03-29 09:00-13:00 Practice",
        "address": "", "city": "Wien", "country": "AT", "latitude": "", "longitude": "",
        "online_url": "", "capacity": "10", "registration_deadline": "2027-03-20T12:00",
        "price_sme": "120", "price_standard": "240.50", "currency": "EUR",
        "prerequisites": "", "ket_codes": ["AMN.CHR"], "questions": "Motivation *",
        "offer_hours": "48", "meeting_slot_minutes": "", "meeting_day_start": "",
        "meeting_day_end": "", "slug": ""}


def _create(client, **changes):
    url = "/events/new?organiser=lab:vienna-lab"
    return post_form(client, url, {**FORM, **changes})


def _event(app, slug: str | None = None) -> Event:
    with app.app_context():
        stmt = select(Event).order_by(Event.id.desc())
        if slug:
            stmt = stmt.where(Event.slug == slug)
        return db.session.scalars(stmt).first()


def _publish(client, slug):
    return post_form(client, f"/events/{slug}/publish", {}, page=f"/events/{slug}")


def test_a_manager_creates_a_draft_in_the_labs_zone_across_dst(app, client, login, cast):
    login(cast.manager)
    assert client.get("/events/new?organiser=lab:vienna-lab").status_code == 200
    response = _create(client)
    assert response.status_code == 302, _text(response)
    event = _event(app)
    assert response.headers["Location"].endswith(f"/events/{event.slug}")
    assert event.status == "draft" and event.slug == "sem-operation-course-2027-03"
    with app.app_context():
        sessions = db.session.scalars(select(EventSession).where(
            EventSession.event_id == event.id).order_by(EventSession.starts_at)).all()
        # 27 March is still CET (UTC+1); 29 March is CEST (UTC+2): the clocks changed
        # on the 28th, and the same 09:00 is a different UTC hour.
        assert [s.starts_at for s in sessions] == [datetime(2027, 3, 27, 8, tzinfo=UTC),
                                                   datetime(2027, 3, 29, 7, tzinfo=UTC)]
        assert sessions[0].title == "Theory"
        organiser = db.session.scalar(select(EventOrganiser).where(
            EventOrganiser.event_id == event.id))
        assert organiser.lab_id == cast.lab.id
    assert event.starts_at == datetime(2027, 3, 27, 8, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 3, 29, 11, tzinfo=UTC)
    assert event.registration_deadline == datetime(2027, 3, 20, 11, tzinfo=UTC)
    assert (event.price_sme_cents, event.price_standard_cents) == (12000, 24050)
    assert event.questions[0]["required"] is True
    # Placed like labs: Wien from the gazetteer.
    assert event.coords_source == "gazetteer" and 48 < event.latitude < 48.4
    page = _text(client.get(f"/events/{event.slug}"))
    assert "Sat 27 March 2027, 09:00–17:00 · Theory" in page
    assert "Mon 29 March 2027, 09:00–13:00 · Practice" in page
    # The edit form gives the times back as they were typed.
    edit = _text(client.get(f"/events/{event.slug}/edit"))
    assert "2027-03-29 09:00-13:00 Practice" in edit


def test_drafts_are_hidden_until_published_then_listed_everywhere(app, client, login, cast,
                                                                  quick_login):
    login(cast.manager)
    _create(client)
    slug = _event(app).slug
    anonymous = app.test_client()
    assert anonymous.get(f"/events/{slug}").status_code == 404
    assert slug not in anonymous.get("/events").get_data(as_text=True)
    assert _publish(client, slug).status_code == 302
    assert _event(app).status == "published"
    page = anonymous.get(f"/events/{slug}")
    assert page.status_code == 200
    assert slug in anonymous.get("/events").get_data(as_text=True)
    assert "SEM operation course" in _text(anonymous.get("/labs/vienna-lab"))
    # The month calendar shows it on both local days and the day between.
    month = _text(anonymous.get("/events?view=calendar&month=2027-03"))
    for day in ("2027-03-27", "2027-03-28", "2027-03-29"):
        cell = re.search(rf'data-day="{day}".*?</td>', month, re.S).group(0)
        assert "SEM operation course" in cell
    assert "SEM operation course" not in re.search(
        r'data-day="2027-03-30".*?</td>', month, re.S).group(0)
    # The map carries it as data.
    map_page = anonymous.get("/events?view=map").get_data(as_text=True)
    points = json.loads(unescape(re.search(r"data-points='([^']*)'", map_page).group(1)))
    assert [p["name"] for p in points] == ["SEM operation course"]


def test_the_ical_subscription_holds_one_entry_per_session_in_the_events_zone(app, client,
                                                                              login, cast):
    login(cast.manager)
    _create(client)
    slug = _event(app).slug
    _publish(client, slug)
    response = app.test_client().get("/events.ics?ket=AMN")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(response.data)
    entries = [c for c in cal.walk("VEVENT")]
    assert len(entries) == 2
    first = entries[0]
    assert str(first["summary"]) == "SEM operation course: Theory"
    start = first.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Vienna" and start.hour == 9
    assert start.astimezone(UTC) == datetime(2027, 3, 27, 8, tzinfo=UTC)
    assert entries[1].decoded("dtstart").astimezone(UTC) == datetime(2027, 3, 29, 7,
                                                                    tzinfo=UTC)
    assert str(first["status"]) == "CONFIRMED"
    assert str(first["url"]).endswith(f"/events/{slug}")
    # A filter that excludes it gives an empty calendar, not an error.
    empty = icalendar.Calendar.from_ical(app.test_client().get("/events.ics?country=FR").data)
    assert not list(empty.walk("VEVENT"))


def test_cancelling_needs_a_reason_and_leaves_a_cancelled_entry_in_the_feeds(app, client,
                                                                             login, cast):
    login(cast.manager)
    _create(client)
    slug = _event(app).slug
    _publish(client, slug)
    refused = post_form(client, f"/events/{slug}/cancel", {"reason": ""},
                        page=f"/events/{slug}")
    assert refused.status_code == 302
    assert _event(app).status == "published"
    done = post_form(client, f"/events/{slug}/cancel", {"reason": "The microscope broke."},
                     page=f"/events/{slug}", follow_redirects=True)
    assert "The microscope broke." in _text(done)
    assert _event(app).status == "cancelled"
    anonymous = app.test_client()
    assert slug not in anonymous.get("/events").get_data(as_text=True)
    cal = icalendar.Calendar.from_ical(anonymous.get("/events.ics").data)
    assert {str(e["status"]) for e in cal.walk("VEVENT")} == {"CANCELLED"}
    # A cancelled event changes no more.
    assert client.get(f"/events/{slug}/edit").status_code == 200
    again = _create(client)  # another event is fine
    assert again.status_code == 302


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title": ""}, "title", "Enter the event's title."),
    ({"sessions": "next tuesday"}, "sessions", "Line 1: write one session a line"),
    ({"sessions": ""}, "sessions", "Give at least one session"),
    # 02:30 does not exist in Vienna on 28 March 2027: the clocks jump from 02:00 to 03:00.
    ({"sessions": "2027-03-28 02:30-04:00"}, "sessions", "does not exist in Europe/Vienna"),
    ({"sessions": "2027-03-27 17:00-09:00"}, "sessions", "must end after it starts"),
    ({"timezone": "Mars/Olympus"}, "timezone", "Choose the event's time zone."),
    ({"city": "", "country": ""}, "city", "Give the place (city and country), the online"),
    ({"online_url": "javascript:alert(1)"}, "online_url", "starting with https://"),
    ({"capacity": "0"}, "capacity", "Give a number of seats from 1"),
    ({"capacity": "many"}, "capacity", ""),
    ({"price_sme": "-3"}, "price_sme", "Give an amount from 0"),
    ({"registration_deadline": "2027-04-20T12:00"}, "registration_deadline",
     "before the event ends"),
    ({"kind": "party"}, "kind", "Choose the kind of event."),
    ({"ket_codes": ["NOPE"]}, "ket_codes", "Unknown KET area: NOPE"),
    ({"questions": "Size: S |"}, "questions", "at least two options"),
    ({"meeting_slot_minutes": "30"}, "meeting_day_start", "Give the hours"),
])
def test_bad_input_is_refused_on_its_field_with_the_input_kept(app, client, login, cast,
                                                               changes, field, message):
    login(cast.manager)
    before = _snapshot(app)
    response = _create(client, **{"title": "Kept title <b>", **changes})
    assert response.status_code == 422, (field, response.status_code)
    page = response.get_data(as_text=True)
    errors = re.findall(rf'data-field="{field}">([^<]*)<', page)
    assert errors, (field, page[:3000])
    assert message in unescape(" ".join(errors))
    if "title" not in changes:
        assert 'value="Kept title &lt;b&gt;"' in page
    assert _snapshot(app) == before


def test_nothing_typed_becomes_markup(app, client, login, cast):
    login(cast.manager)
    response = _create(client, title=XSS, description=XSS, sessions=f"2027-03-27 09:00-10:00 "
                                                                     f"{XSS}")
    assert response.status_code == 302, _text(response)
    slug = _event(app).slug
    _publish(client, slug)
    page = app.test_client().get(f"/events/{slug}").get_data(as_text=True)
    assert "<script>alert" not in page
    # The JSON-LD cannot be closed from inside: < and > are escaped as \u003c and \u003e.
    block = re.search(r'<script type="application/ld\+json" id="event-jsonld">(.*?)</script>',
                      page, re.S).group(1)
    data = json.loads(block)
    assert data["name"] == XSS and data["@type"] == "Event"
    assert "\\u003cscript" in block
    atom = app.test_client().get("/events.atom")
    assert b"<script>" not in atom.data
    root = ET.fromstring(atom.data)  # noqa: S314 (our own feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.find("a:entry/a:title", ns).text == XSS
    listing = app.test_client().get("/events").get_data(as_text=True)
    assert "<script>alert" not in listing


def test_the_jsonld_describes_the_event_for_search_engines(app, client, login, cast):
    login(cast.manager)
    _create(client, online_url="https://meet.example/sem")
    slug = _event(app).slug
    _publish(client, slug)
    page = app.test_client().get(f"/events/{slug}").get_data(as_text=True)
    data = json.loads(re.search(r'id="event-jsonld">(.*?)</script>', page, re.S).group(1))
    assert data["startDate"] == "2027-03-27T09:00:00+01:00"
    assert data["endDate"] == "2027-03-29T13:00:00+02:00"
    assert data["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    assert data["organizer"][0]["name"] == "Vienna Lab"
    assert {o["price"] for o in data["offers"]} == {"120.00", "240.50"}
    # The online link is for registered people only: not in the page, the data or feeds.
    assert "meet.example" not in page
    assert b"meet.example" not in app.test_client().get("/events.ics").data
    assert "link is shown to registered people" in page
    # Its organisers see it.
    assert "https://meet.example/sem" in client.get(f"/events/{slug}").get_data(as_text=True)


def test_other_organisations_may_not_edit_publish_or_cancel(app, client, login, cast):
    login(cast.manager)
    _create(client)
    slug = _event(app).slug
    for user in (cast.other_manager, cast.outsider):
        other = app.test_client()
        login_client = other
        post_form(login_client, "/login", {"email": user.email,
                                           "password": "correct horse battery"})
        before = _snapshot(app)
        # A draft is hidden from them: 404, as if it did not exist.
        assert other.get(f"/events/{slug}").status_code == 404
        assert other.get(f"/events/{slug}/edit").status_code == 404
        assert other.get("/events/new?organiser=lab:vienna-lab").status_code == 403
        assert _snapshot(app) == before
    _publish(client, slug)
    other = app.test_client()
    post_form(other, "/login", {"email": cast.outsider.email,
                                "password": "correct horse battery"})
    assert other.get(f"/events/{slug}/edit").status_code == 403
    before = _snapshot(app)
    token_page = other.get(f"/events/{slug}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', token_page).group(1)
    for url in (f"/events/{slug}/cancel", f"/events/{slug}/publish",
                f"/events/{slug}/organisers"):
        assert other.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert _snapshot(app) == before


def test_a_project_co_organises_and_the_event_shows_on_its_page(app, client, login, cast):
    login(cast.manager)
    project = post_form(client, "/projects/new", {"name": "Cluster Strategies",
                                                  "acronym": "CluStrat",
                                                  "programme": "Interreg Central Europe"})
    assert project.status_code == 302
    _create(client)
    slug = _event(app).slug
    _publish(client, slug)
    added = post_form(client, f"/events/{slug}/organisers", {"organiser": "project:clustrat"},
                      page=f"/events/{slug}")
    assert added.status_code == 302
    assert "SEM operation course" in _text(app.test_client().get("/projects/clustrat"))
    assert "SEM operation course" in _text(app.test_client().get(
        "/events?organiser=project:clustrat"))
    # A lab the manager does not run cannot be added as organiser.
    refused = post_form(client, f"/events/{slug}/organisers", {"organiser": "lab:other-lab"},
                        page=f"/events/{slug}", follow_redirects=True)
    assert "Only those who run Other Lab may add it" in _text(refused)
    with app.app_context():
        assert db.session.scalar(select(EventOrganiser).where(
            EventOrganiser.lab_id == cast.other_lab.id)) is None


def test_filters_narrow_the_list_and_bad_ones_are_named(app, client, login, cast):
    login(cast.manager)
    _create(client)
    _publish(client, _event(app).slug)
    _create(client, title="Open day online", kind="open_lab_day", city="", country="",
            online_url="https://meet.example/x", capacity="", ket_codes=["AI"],
            language="de", sessions="2027-04-10 10:00-12:00")
    _publish(client, _event(app).slug)
    anonymous = app.test_client()

    def titles(query: str) -> set[str]:
        page = _text(anonymous.get("/events" + query))
        return set(re.findall(r'class="fw-semibold event-title"[^>]*>([^<]+)<', page))

    both = {"SEM operation course", "Open day online"}
    assert titles("") == both
    assert titles("?ket=AMN") == {"SEM operation course"}  # the area takes AMN.CHR
    assert titles("?ket=AMN.CHR") == {"SEM operation course"}
    assert titles("?mode=online") == {"Open day online"}
    assert titles("?mode=onsite") == {"SEM operation course"}
    assert titles("?country=AT") == {"SEM operation course"}
    assert titles("?kind=open_lab_day") == {"Open day online"}
    assert titles("?language=de") == {"Open day online"}
    assert titles("?from=2027-04-01&to=2027-04-30") == {"Open day online"}
    assert titles("?organiser=lab:vienna-lab") == both
    assert titles("?free=1") == both
    for query, field in (("?ket=XYZ", "ket"), ("?from=2027-13-01", "from"),
                         ("?country=ZZ", "country"), ("?page=abc", "page"),
                         ("?from=9999-01-01", "from"), ("?view=table", "view")):
        response = anonymous.get("/events" + query)
        assert response.status_code == 422, query
        assert f'data-field="{field}"' in response.get_data(as_text=True)
    assert anonymous.get("/events.ics?from=nonsense").status_code == 200


def test_full_events_leave_the_free_seats_filter(app, client, login, cast):
    login(cast.manager)
    _create(client, capacity="1")
    event = _event(app)
    _publish(client, event.slug)
    with app.app_context():
        db.session.execute(Event.__table__.update().where(Event.id == event.id)
                           .values(seats_taken=1))
        db.session.commit()
    page = _text(app.test_client().get("/events?free=1"))
    assert "SEM operation course" not in page
    assert "SEM operation course" in _text(app.test_client().get("/events"))


def test_projects_registry_partners_and_managers(app, client, login, cast, make_org,
                                                 make_user):
    make_org(name="Tech Partner GmbH", kind="rto", size_class=None,
             country="DE", lat=50.1, lon=8.7)
    colleague = make_user()
    login(cast.outsider)
    response = post_form(client, "/projects/new", {
        "name": "Cluster Strategies", "acronym": "CluStrat", "programme": "Interreg CE",
        "starts_on": "2026-04-01", "ends_on": "2029-03-31", "website": "https://clustrat.eu",
        "ket_codes": ["AMT"], "description": "Clusters for the twin transition."})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/projects/clustrat")
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.slug == "clustrat"))
        assert db.session.scalar(select(ProjectManager.user_id).where(
            ProjectManager.project_id == project.id)) == cast.outsider.id
    page = "/projects/clustrat"
    assert post_form(client, page + "/partners", {"organisation": "tech partner gmbh"},
                     page=page).status_code == 302
    assert post_form(client, page + "/partners", {"name": "Università di Esempio",
                                                  "country": "IT"}, page=page).status_code == 302
    before = _snapshot(app)
    for data, text in (({"organisation": "Nobody Ltd"}, "No organisation on LabNet"),
                       ({"organisation": "Tech Partner GmbH"}, "already a partner"),
                       ({"name": "Somewhere", "country": ""}, "Choose the partner's country"),
                       ({"name": "", "country": "IT"}, "Choose an organisation on LabNet")):
        refused = post_form(client, page + "/partners", data, page=page)
        assert refused.status_code == 422 and text in _text(refused), data
    assert _snapshot(app) == before
    shown = app.test_client().get(page).get_data(as_text=True)
    assert "Tech Partner GmbH" in shown and "Università di Esempio" in unescape(shown)
    points = json.loads(unescape(re.search(r"data-points='([^']*)'", shown).group(1)))
    assert [p["name"] for p in points] == ["Tech Partner GmbH"]
    assert post_form(client, page + "/managers", {"email": colleague.email},
                     page=page).status_code == 302
    refused = post_form(client, page + "/managers", {"email": "nobody@example.org"},
                        page=page)
    assert refused.status_code == 422 and "No active LabNet member" in _text(refused)
    # Someone of another organisation may see but not change it.
    other = app.test_client()
    post_form(other, "/login", {"email": cast.other_manager.email,
                                "password": "correct horse battery"})
    assert other.get(page).status_code == 200
    assert other.get(page + "/edit").status_code == 403
    assert "CluStrat" in _text(app.test_client().get("/projects"))
    edit_page = _text(client.get(page + "/edit"))
    assert 'value="https://clustrat.eu"' in edit_page
    assert re.search(r'value="AMT"[^>]*checked', edit_page)


def test_a_busy_day_of_the_month_shows_four_events_and_links_the_rest(app, client, login,
                                                                     cast):
    login(cast.manager)
    for n in range(6):
        _create(client, title=f"Busy {n}", sessions="2027-03-10 09:00-10:00",
                registration_deadline="")
        _publish(client, _event(app).slug)
    month = _text(app.test_client().get("/events?view=calendar&month=2027-03"))
    cell = re.search(r'data-day="2027-03-10".*?</td>', month, re.S).group(0)
    assert cell.count('class="d-block small text-truncate calendar-event"') == 4
    more = re.search(r'class="d-block small calendar-more" href="([^"]+)">\+2 more<', cell)
    assert more, cell
    listed = _text(app.test_client().get(more.group(1)))
    assert all(f"Busy {n}" in listed for n in range(6))


def test_refused_filters_are_tied_to_their_inputs_and_summed_up(client):
    response = client.get("/events?ket=XYZ&from=2027-13-01")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert_refused_input(html, "f-ket", "Choose a KET area from the list.")
    assert_refused_input(html, "f-from", "Give a date as YYYY-MM-DD")
