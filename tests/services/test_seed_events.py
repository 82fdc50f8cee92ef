"""The demo data of issue 15 (``flask labnet seed-demo``): projects with demo centres as
partners, a dozen upcoming events and two past ones, one full with a waiting list, one
online, a multi-session course granting a qualification two instruments require, one
co-organised by a network and a project, registrations that match the seats counted,
meetings whose slots are held, and cross-project meetings held; loaded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import (
    Event,
    EventOrganiser,
    EventSession,
    Meeting,
    MeetingSlotTaken,
    Project,
    ProjectPartner,
    Registration,
)
from labnet.models.training import EquipmentQualification, EventQualification
from labnet.services.meetings import pages
from labnet.services.seed import seed_demo

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def test_the_demo_seed_loads_projects_events_registrations_and_meetings_once(app):
    with app.test_request_context():
        seed_demo(now=NOW)
        seed_demo(now=NOW)
        db.session.commit()
        projects = {p.slug: p for p in db.session.scalars(select(Project))}
        assert set(projects) == {"clustrat", "danube-photonics-link", "alpine-bio-pilot"}
        assert projects["clustrat"].programme == "Interreg Central Europe"
        assert db.session.scalar(select(func.count()).select_from(ProjectPartner).where(
            ProjectPartner.project_id == projects["clustrat"].id,
            ProjectPartner.organisation_id.is_not(None))) == 5
        events = {e.slug: e for e in db.session.scalars(select(Event))}
        upcoming = [e for e in events.values() if NOW < e.starts_at < NOW + timedelta(days=92)]
        assert len(upcoming) == 12 and len(events) == 14
        for event in events.values():
            seats = db.session.scalar(select(func.count()).select_from(Registration).where(
                Registration.event_id == event.id, Registration.status == "registered"))
            assert event.seats_taken == seats, event.slug
            assert event.capacity is None or seats <= event.capacity
        full = events["lpbf-hands-on"]
        assert full.seats_taken == full.capacity
        assert db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.event_id == full.id, Registration.status == "waiting")) == 3
        assert events["ket-funding-webinar"].online_url and not events["ket-funding-webinar"].city
        course = events["sem-operation-course"]
        assert db.session.scalar(select(func.count()).select_from(EventSession).where(
            EventSession.event_id == course.id)) == 3
        [q_id] = db.session.scalars(select(EventQualification.qualification_id).where(
            EventQualification.event_id == course.id)).all()
        assert db.session.scalar(select(func.count()).select_from(EquipmentQualification)
                                 .where(EquipmentQualification.qualification_id == q_id)) == 2
        kinds = {o.kind for o in db.session.scalars(select(EventOrganiser).where(
            EventOrganiser.event_id == events["clustrat-matchmaking-days"].id))}
        assert kinds == {"network", "project"}
        accepted = db.session.scalar(select(func.count()).select_from(Meeting).where(
            Meeting.status == "accepted"))
        assert db.session.scalar(select(func.count(MeetingSlotTaken.id))) == 2 * accepted
        held = pages.meeting_figures(events["clustrat-kick-off"], now=NOW)
        assert (held.held, held.cross_project) == (4, 3)
