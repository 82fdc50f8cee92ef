"""The events schema holds its rules in the database: capacity, one organiser kind per row,
a project partner named when not on LabNet; and who may edit an event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from labnet import clock, permissions
from labnet.extensions import db
from labnet.models import (
    Event,
    EventOrganiser,
    EventSession,
    Network,
    NetworkCoordinator,
    Project,
    ProjectManager,
    ProjectPartner,
    User,
)

START = datetime(2027, 3, 1, 8, tzinfo=UTC)
END = datetime(2027, 3, 1, 16, tzinfo=UTC)


def _event(**kw) -> Event:
    kw.setdefault("slug", "course")
    kw.setdefault("kind", "training_course")
    kw.setdefault("title", "SEM course")
    kw.setdefault("timezone", "Europe/Vienna")
    event = Event(starts_at=START, ends_at=END, **kw)
    event.sessions = [EventSession(starts_at=START, ends_at=END)]
    db.session.add(event)
    db.session.flush()
    return event


def _refused(*rows) -> None:
    """Adding ``rows`` breaks a database constraint (and the session is rolled back)."""
    db.session.add_all(rows)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_seats_past_capacity(app):
    with app.app_context():
        event = _event(capacity=1)
        db.session.commit()
        take = update(Event).where(Event.id == event.id).values(seats_taken=Event.seats_taken + 1)
        db.session.execute(take)
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(take)
        db.session.rollback()
        assert db.session.get(Event, event.id).seats_taken == 1


def test_an_unknown_kind_and_a_backwards_span_are_refused(app):
    with app.app_context():
        with pytest.raises(IntegrityError):
            _event(kind="party")
        db.session.rollback()
        _refused(Event(slug="x", kind="webinar", title="x", timezone="UTC",
                       starts_at=END, ends_at=START))


def test_an_organiser_is_exactly_one_of_lab_network_project(app, make_lab):
    lab = make_lab()
    with app.app_context():
        event = _event()
        project = Project(slug="p", name="P")
        db.session.add(project)
        db.session.flush()
        _refused(EventOrganiser(event_id=event.id))
        event = _event()
        db.session.add(Project(slug="p", name="P"))
        db.session.flush()
        _refused(EventOrganiser(event_id=event.id, lab_id=lab.id,
                                project_id=db.session.query(Project.id).scalar()))


def test_a_partner_not_on_labnet_needs_a_name_and_country(app):
    with app.app_context():
        project = Project(slug="p", name="P")
        db.session.add(project)
        db.session.flush()
        _refused(ProjectPartner(project_id=project.id, name="", country=None,
                                added_at=clock.utcnow()))


def test_who_may_edit_an_event(app, make_lab, make_user, people):
    with app.app_context():
        lab_event = _event(slug="lab-event")
        db.session.add(EventOrganiser(event_id=lab_event.id, lab_id=people.lab.id))
        network = Network(slug="n", name="N", name_key="n", ecosystem="digital",
                          created_at=clock.utcnow(), updated_at=clock.utcnow())
        project = Project(slug="p", name="P")
        db.session.add_all([network, project])
        db.session.flush()
        coordinator, project_manager = people.coordinator, people.member
        db.session.add(NetworkCoordinator(network_id=network.id, user_id=coordinator.id,
                                          added_at=clock.utcnow()))
        db.session.add(ProjectManager(project_id=project.id, user_id=project_manager.id,
                                      granted_at=clock.utcnow()))
        joint = _event(slug="joint")
        db.session.add_all([EventOrganiser(event_id=joint.id, network_id=network.id),
                            EventOrganiser(event_id=joint.id, project_id=project.id)])
        db.session.commit()

        def get(user):
            return db.session.get(User, user.id)

        manager, admin = get(people.manager), get(people.admin)
        coordinator, project_manager = get(coordinator), get(project_manager)
        assert permissions.can_edit_event(manager, lab_event)
        assert not permissions.can_edit_event(manager, joint)
        assert permissions.can_edit_event(coordinator, joint)
        assert permissions.can_edit_event(project_manager, joint)
        assert not permissions.can_edit_event(project_manager, lab_event)
        assert permissions.can_edit_event(admin, lab_event)
        for nobody in (get(people.outsider), get(people.other_manager), None):
            assert not permissions.can_edit_event(nobody, lab_event)
            assert not permissions.can_edit_event(nobody, joint)
        # Drafts are hidden from those who may not edit them.
        assert not permissions.can_view_event(get(people.outsider), lab_event)
        assert permissions.can_view_event(manager, lab_event)
