"""The events and projects services: the rules of issue 15 §1-2 from every entry point
(the pages, the CLI and the API call these): who may do what, times across zones and DST,
capacity against seats taken, the workflow, organisers, and the cancellation hook."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from labnet import permissions
from labnet.errors import PermissionDenied, RuleViolation, RuleViolations
from labnet.extensions import db
from labnet.models import AuditEvent, Event, Lab, User
from labnet.services.events import events as ev
from labnet.services.events import listing, notify
from labnet.services.events import projects as pj

NOW = datetime(2027, 9, 1, 8, tzinfo=UTC)


def _fields(**kw) -> ev.EventFields:
    kw.setdefault("kind", "training_course")
    kw.setdefault("title", "Course")
    kw.setdefault("timezone", "Europe/Rome")
    kw.setdefault("city", "Milano")
    kw.setdefault("country", "IT")
    kw.setdefault("sessions", (ev.SessionFields(date(2027, 10, 30), time(9), time(17)),))
    return ev.EventFields(**kw)


@pytest.fixture
def world(app, make_lab, make_user):
    lab = make_lab(name="Milano Lab", slug="milano-lab", country="IT", timezone="Europe/Rome")
    manager = make_user(manages=(lab,))
    outsider = make_user()
    with app.test_request_context():
        yield (db.session.get(Lab, lab.id), db.session.get(User, manager.id),
               db.session.get(User, outsider.id))


def test_an_autumn_time_that_happens_twice_is_read_as_its_first_occurrence(world):
    lab, manager, _ = world
    # 31 Oct 2027, Rome: 02:30 happens twice (CEST, then CET). The first is 00:30 UTC.
    event = ev.create_event(manager, lab, _fields(sessions=(
        ev.SessionFields(date(2027, 10, 31), time(2, 30), time(4)),)), now=NOW)
    assert event.starts_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 10, 31, 3, tzinfo=UTC)  # 04:00 CET


def test_sessions_make_the_span_and_are_kept_in_order(world):
    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(sessions="2027-11-03 14:00-16:00 B\n"
                                                          "2027-11-02 09:00-12:00 A"), now=NOW)
    db.session.expire(event)
    loaded = ev.load_event(event.id)
    assert [s.title for s in loaded.sessions] == ["A", "B"]
    assert loaded.starts_at == datetime(2027, 11, 2, 8, tzinfo=UTC)
    assert loaded.ends_at == datetime(2027, 11, 3, 15, tzinfo=UTC)
    assert "2027-11-02 09:00-12:00 A" in ev.sessions_text(loaded)


def test_every_field_in_error_is_named_at_once(world):
    lab, manager, _ = world
    with pytest.raises(RuleViolations) as caught:
        ev.create_event(manager, lab, _fields(title="", kind="party", language="xx",
                                              capacity=0, currency="XXX"), now=NOW)
    assert {v.field for v in caught.value.violations} >= {"title", "kind", "language",
                                                           "capacity", "currency"}
    assert db.session.scalar(select(Event.id)) is None


def test_only_those_who_run_an_organiser_create_and_edit_its_events(world):
    lab, manager, outsider = world
    with pytest.raises(PermissionDenied):
        ev.create_event(outsider, lab, _fields(), now=NOW)
    event = ev.create_event(manager, lab, _fields(), now=NOW)
    for call in (lambda: ev.update_event(outsider, event, _fields(), now=NOW),
                 lambda: ev.publish_event(outsider, event, now=NOW),
                 lambda: ev.cancel_event(outsider, event, "no", now=NOW)):
        with pytest.raises(PermissionDenied):
            call()


def test_capacity_never_drops_below_the_seats_taken(world):
    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(capacity=10), now=NOW)
    event.seats_taken = 6
    db.session.flush()
    with pytest.raises(RuleViolations) as caught:
        ev.update_event(manager, event, _fields(capacity=5), now=NOW)
    assert caught.value.violations[0].field == "capacity"
    assert "6 seats are already taken" in caught.value.violations[0].message
    assert ev.update_event(manager, event, _fields(capacity=6), now=NOW).capacity == 6


def test_the_workflow_draft_published_cancelled(world, monkeypatch):
    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(), now=NOW)
    assert not listing.list_page(listing.EventQuery(), None, now=NOW).rows
    ev.publish_event(manager, event, now=NOW)
    assert event.published_at == NOW and event.sequence == 1
    with pytest.raises(RuleViolation, match="already published"):
        ev.publish_event(manager, event, now=NOW)
    assert [r.event.id for r in listing.list_page(listing.EventQuery(), None,
                                                  now=NOW).rows] == [event.id]
    told = []
    monkeypatch.setattr(notify, "event_cancelled",
                        lambda e, now: told.append((e.id, now)) or ["a@example.org"])
    with pytest.raises(RuleViolation) as refused:
        ev.cancel_event(manager, event, "  ", now=NOW)
    assert refused.value.field == "reason"
    assert ev.cancel_event(manager, event, "Room flooded", now=NOW) == ["a@example.org"]
    assert told == [(event.id, NOW)]
    assert event.status == "cancelled" and event.cancel_reason == "Room flooded"
    with pytest.raises(RuleViolation, match="cancelled"):
        ev.update_event(manager, event, _fields(), now=NOW)
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "event")))
    assert actions == {"event.created", "event.published", "event.cancelled"}


def test_the_cancellation_hook_tells_nobody_without_registrations(world):
    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(), now=NOW)
    assert notify.event_cancelled(event, NOW) == []


def test_an_event_that_has_ended_is_not_published(world):
    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(), now=NOW)
    with pytest.raises(RuleViolation, match="already ended"):
        ev.publish_event(manager, event, now=datetime(2028, 1, 1, tzinfo=UTC))


def test_the_last_organiser_stays(world):
    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(), now=NOW)
    row = ev.load_event(event.id).organisers[0]
    with pytest.raises(RuleViolation, match="at least one organiser"):
        ev.remove_organiser(manager, event, row.id, now=NOW)


def test_typed_coordinates_win_over_the_gazetteer(world):
    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(latitude=45.5, longitude=9.2), now=NOW)
    assert (event.latitude, event.longitude, event.coords_source) == (45.5, 9.2, "manual")
    with pytest.raises(RuleViolations) as caught:
        ev.create_event(manager, lab, _fields(latitude=45.5), now=NOW)
    assert caught.value.violations[0].field == "longitude"


def test_slugs_are_derived_and_made_unique(world):
    lab, manager, _ = world
    first = ev.create_event(manager, lab, _fields(title="Open Lab Day!"), now=NOW)
    second = ev.create_event(manager, lab, _fields(title="Open lab day"), now=NOW)
    assert (first.slug, second.slug) == ("open-lab-day-2027-10", "open-lab-day-2027-10-2")
    with pytest.raises(RuleViolation) as caught:
        ev.create_event(manager, lab, _fields(slug=first.slug), now=NOW)
    assert caught.value.field == "slug"


@pytest.mark.parametrize(("text", "expected"), [
    ("Dietary needs", [{"label": "Dietary needs", "kind": "text", "required": False,
                        "choices": []}]),
    ("Motivation *", [{"label": "Motivation", "kind": "text", "required": True,
                       "choices": []}]),
    ("Size: S | M | L *", [{"label": "Size", "kind": "choice", "required": True,
                            "choices": ["S", "M", "L"]}]),
    ("Note: bring a laptop", [{"label": "Note: bring a laptop", "kind": "text",
                               "required": False, "choices": []}]),
])
def test_questions_are_read_from_one_line_each(text, expected):
    parsed = ev.parse_questions(text)
    assert [{k: q[k] for k in ("label", "kind", "required", "choices")}
            for q in parsed] == expected
    assert all(q["key"] for q in parsed)


def test_project_managers_and_the_last_one(world, make_user):
    _lab, manager, outsider = world
    project = pj.create_project(outsider, pj.ProjectFields(name="Twin Transition",
                                                           acronym="TwinT"), now=NOW)
    assert project.slug == "twint"
    assert permissions.can_manage_project(outsider, project)
    assert not permissions.can_manage_project(manager, project)
    with pytest.raises(PermissionDenied):
        pj.update_project(manager, project, pj.ProjectFields(name="x"), now=NOW)
    with pytest.raises(RuleViolation, match="at least one manager"):
        pj.revoke_manager(outsider, project, outsider.id, now=NOW)
    pj.grant_manager(outsider, project, manager.email.upper(), now=NOW)
    with pytest.raises(RuleViolation, match="already manages"):
        pj.grant_manager(outsider, project, manager.email, now=NOW)
    pj.revoke_manager(manager, project, outsider.id, now=NOW)
    assert not permissions.manages_project(outsider, project.id)


def test_project_dates_and_website_are_checked(world):
    _lab, _manager, outsider = world
    for fields, field in ((pj.ProjectFields(name="P", starts_on=date(2027, 5, 1),
                                            ends_on=date(2027, 4, 1)), "ends_on"),
                          (pj.ProjectFields(name="P", website="ftp://x"), "website"),
                          (pj.ProjectFields(name="P", ket_codes=("XX",)), "ket_codes"),
                          (pj.ProjectFields(name="P", slug="New"), "slug"),
                          (pj.ProjectFields(name="P\nQ"), "name")):
        with pytest.raises(RuleViolation) as caught:
            pj.create_project(outsider, fields, now=NOW)
        assert caught.value.field == field, fields


def test_raising_the_capacity_offers_the_new_seat_to_the_first_waiting_at_once(world,
                                                                              make_user):
    from labnet.models import OutboxEmail
    from labnet.services.training import registration as reg

    lab, manager, _ = world
    event = ev.create_event(manager, lab, _fields(capacity=1), now=NOW)
    ev.publish_event(manager, event, now=NOW)
    db.session.commit()
    first, second = (db.session.get(User, make_user().id) for _ in range(2))
    reg.register(first, event.id, {}, now=NOW)
    waiting = reg.register(second, event.id, {}, now=NOW)
    db.session.commit()
    assert waiting.status == "waiting"
    ev.update_event(manager, event, _fields(capacity=2), now=NOW)
    db.session.commit()
    db.session.refresh(waiting)
    assert waiting.status == "offered"  # not left for the job's next run
    assert db.session.scalar(select(OutboxEmail.to_addr).where(
        OutboxEmail.kind == "event_seat_offered")) == second.email
