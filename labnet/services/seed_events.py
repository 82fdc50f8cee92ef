"""Demo projects and events (``labnet/data/demo/events.yaml``): three projects (one named after
the Interreg Central Europe project CluStrat) with demo centres as partners, demo
participants, a dozen events over the next three months and two past ones, registrations
(one event full with a waiting list), a multi-session course granting a qualification two
instruments require, meeting profiles and meetings.

Rows are written directly, as the rest of the demo seed does, and kept consistent with the
rules the services hold: ``event.seats_taken`` counts the seats held, every registration is
one person's only live one, each accepted meeting holds its two slot rows. Idempotent: a
database that has the first demo project already is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from labnet import data, security
from labnet.extensions import db
from labnet.models import (
    Attendance,
    Equipment,
    Event,
    EventKet,
    EventOrganiser,
    EventSession,
    Lab,
    Meeting,
    MeetingProfile,
    MeetingSlotTaken,
    Project,
    ProjectKet,
    ProjectManager,
    ProjectPartner,
    Registration,
    User,
)
from labnet.models.network import Network
from labnet.models.training import EquipmentQualification, EventQualification, Qualification
from labnet.services.meetings.pages import event_slots

Progress = Callable[[str, int, int], None]


def _at(now: datetime, zone: str, day: int, hhmm: str) -> datetime:
    """Day ``day`` after today (in ``zone``) at local ``hhmm``, as UTC."""
    tz = ZoneInfo(zone)
    today: date = now.astimezone(tz).date()
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime.combine(today + timedelta(days=day), time(hours, minutes),
                            tzinfo=tz).astimezone(now.tzinfo)


def seed_demo_events(*, now: datetime, password: str, progress: Progress) -> dict[str, int]:
    """Load the demo projects, events, registrations and meetings (once)."""
    spec = data.demo_events()
    if db.session.scalar(select(Project.id).where(Project.slug == spec["projects"][0]["slug"])):
        return {"projects": 0, "events": 0}
    labs = {slug: (lab_id, org_id) for slug, lab_id, org_id in db.session.execute(
        select(Lab.slug, Lab.id, Lab.organisation_id))}
    people = _people(spec, labs, now, password)
    projects = _projects(spec, labs, people, now)
    progress("demo projects", len(projects), len(projects))
    networks = dict(db.session.execute(select(Network.slug, Network.id)).tuples().all())
    events: dict[str, Event] = {}
    for i, item in enumerate(spec["events"], start=1):
        events[item["slug"]] = _event(item, labs, networks, projects, people, now)
        progress("demo events", i, len(spec["events"]))
    _qualification(spec["qualification"], labs, events, now)
    _meetings(spec, events, people, projects, now)
    db.session.flush()
    return {"projects": len(projects), "events": len(events)}


def _people(spec: dict[str, Any], labs: dict[str, tuple[int, int]], now: datetime,
            password: str) -> dict[str, int]:
    """Demo participants by the local part of their address; plus ``sme`` and ``manager``
    (the demo accounts)."""
    hashed = security.hash_password(password)
    out: dict[str, int] = {}
    for email, name, lab_slug in spec["people"]:
        if lab_slug not in labs:
            continue
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, full_name=name, password_hash=hashed,
                        organisation_id=labs[lab_slug][1], email_confirmed_at=now,
                        is_active=True)
            db.session.add(user)
            db.session.flush()
        out[email.split("@")[0]] = user.id
    for key, email in (("sme", "sme@labnet.example"), ("manager", "manager@labnet.example"),
                       ("coordinator", "coordinator@labnet.example")):
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        if user_id is not None:
            out[key] = user_id
    return out


def _projects(spec: dict[str, Any], labs: dict[str, tuple[int, int]], people: dict[str, int],
              now: datetime) -> dict[str, int]:
    out: dict[str, int] = {}
    manager = people.get("coordinator")
    for item in spec["projects"]:
        project = Project(
            slug=item["slug"], acronym=item["acronym"], name=item["name"],
            programme=item["programme"], starts_on=date.fromisoformat(item["starts_on"]),
            ends_on=date.fromisoformat(item["ends_on"]), website=item["website"],
            description=item["description"], created_by_id=manager)
        db.session.add(project)
        db.session.flush()
        db.session.add_all([ProjectKet(project_id=project.id, ket_code=k) for k in item["kets"]])
        orgs = dict.fromkeys(labs[s][1] for s in item["partners"] if s in labs)
        db.session.add_all([ProjectPartner(project_id=project.id, organisation_id=org,
                                           added_at=now) for org in orgs])
        db.session.add_all([ProjectPartner(project_id=project.id, name=name, country=country,
                                           added_at=now)
                            for name, country in item["external_partners"]])
        if manager is not None:
            db.session.add(ProjectManager(project_id=project.id, user_id=manager,
                                          granted_at=now))
        out[item["slug"]] = project.id
    return out


def _event(item: dict[str, Any], labs: dict[str, tuple[int, int]], networks: dict[str, int],
           projects: dict[str, int], people: dict[str, int], now: datetime) -> Event:
    zone = item["zone"]
    sessions = [(_at(now, zone, d, a), _at(now, zone, d, b)) for d, a, b in item["sessions"]]
    price = item.get("price")
    meetings = item.get("meetings")
    event = Event(
        slug=item["slug"], kind=item["kind"], title=item["title"],
        description=item.get("description", ""), language=item.get("language", "en"),
        timezone=zone, starts_at=sessions[0][0], ends_at=max(b for _a, b in sessions),
        address=item.get("address", ""), city=item.get("city", ""),
        country=item.get("country"), online_url=item.get("online_url"),
        capacity=item.get("capacity"), seats_taken=0,
        registration_deadline=sessions[0][0] - timedelta(days=1),
        price_sme_cents=price[0] * 100 if price else None,
        price_standard_cents=price[1] * 100 if price else None,
        prerequisites=item.get("prerequisites", ""), questions=[],
        meeting_slot_minutes=meetings[0] if meetings else None,
        meeting_day_start=time.fromisoformat(meetings[1]) if meetings else None,
        meeting_day_end=time.fromisoformat(meetings[2]) if meetings else None,
        status="published", published_at=now - timedelta(days=60))
    if event.city and item["organisers"][0].startswith("lab:"):
        lab = db.session.get(Lab, labs[item["organisers"][0][4:]][0])
        if lab is not None:  # the organising lab's place, for the map
            event.latitude, event.longitude, event.coords_source = lab.lat, lab.lon, "seed"
    db.session.add(event)
    db.session.flush()
    db.session.add_all([EventSession(event_id=event.id, title=f"Day {i}", starts_at=a,
                                     ends_at=b) for i, (a, b) in enumerate(sessions, 1)])
    db.session.add_all([EventKet(event_id=event.id, ket_code=k) for k in item["kets"]])
    for organiser in item["organisers"]:
        kind, _, slug = organiser.partition(":")
        ids = {"lab": {s: v[0] for s, v in labs.items()}, "network": networks,
               "project": projects}[kind]
        if slug in ids:
            db.session.add(EventOrganiser(event_id=event.id, **{f"{kind}_id": ids[slug]}))
    db.session.flush()
    _registrations(event, item, people, now)
    return event


def _registrations(event: Event, item: dict[str, Any], people: dict[str, int],
                   now: datetime) -> None:
    sessions = list(db.session.scalars(select(EventSession.id)
                                       .where(EventSession.event_id == event.id)))
    attended = set(item.get("attended", []))
    at = min(now, event.starts_at) - timedelta(days=10)
    for i, key in enumerate(item.get("register", [])):
        if key not in people:
            continue
        stamp = at + timedelta(hours=i)
        reg = Registration(event_id=event.id, user_id=people[key], status="registered",
                           answers={}, created_at=stamp, updated_at=stamp,
                           registered_at=stamp)
        db.session.add(reg)
        event.seats_taken += 1
        if key in attended:
            db.session.flush()
            db.session.add_all([Attendance(registration_id=reg.id, session_id=s,
                                           marked_at=event.starts_at) for s in sessions])
    for i, key in enumerate(item.get("waiting", [])):
        if key in people:
            stamp = at + timedelta(days=1, hours=i)
            db.session.add(Registration(event_id=event.id, user_id=people[key],
                                        status="waiting", answers={}, created_at=stamp,
                                        updated_at=stamp, waiting_since=stamp))


def _qualification(spec: dict[str, Any], labs: dict[str, tuple[int, int]],
                   events: dict[str, Event], now: datetime) -> None:
    """The course's qualification, required by two instruments of its lab."""
    if spec["lab"] not in labs:
        return
    lab_id = labs[spec["lab"]][0]
    q = Qualification(lab_id=lab_id, name=spec["name"], validity_months=spec["validity_months"],
                      description="Granted by attending every session of the SEM course.",
                      created_at=now)
    db.session.add(q)
    db.session.flush()
    for code in spec["requires"]:
        equipment_id = db.session.scalar(select(Equipment.id).where(
            Equipment.lab_id == lab_id, Equipment.category_code == code).order_by(Equipment.id))
        if equipment_id is not None:
            db.session.add(EquipmentQualification(equipment_id=equipment_id,
                                                  qualification_id=q.id))
    course = next((e for e in events.values() if e.slug == "sem-operation-course"), None)
    if course is not None:
        db.session.add(EventQualification(event_id=course.id, qualification_id=q.id))


def _meetings(spec: dict[str, Any], events: dict[str, Event], people: dict[str, int],
              projects: dict[str, int], now: datetime) -> None:
    for slug, key, offer, looking, kets, project in spec["profiles"]:
        if slug in events and key in people:
            stamp = min(now, events[slug].starts_at) - timedelta(days=3)
            db.session.add(MeetingProfile(
                event_id=events[slug].id, user_id=people[key], offer=offer,
                looking_for=looking, ket_codes=kets, project_id=projects.get(project),
                created_at=stamp, updated_at=stamp))
    slots = {slug: event_slots(event) for slug, event in events.items()}
    for slug, requester, invitee, n, status, message in spec["meetings"]:
        if slug not in events or requester not in people or invitee not in people:
            continue
        event, slot = events[slug], slots[slug][n]
        stamp = min(now, event.starts_at) - timedelta(days=2)
        meeting = Meeting(event_id=event.id, requester_id=people[requester],
                          invitee_id=people[invitee], slot_start_at=slot.start,
                          slot_end_at=slot.end, message=message, status=status,
                          created_at=stamp,
                          answered_at=stamp + timedelta(hours=3) if status != "requested"
                          else None)
        db.session.add(meeting)
        db.session.flush()
        if status == "accepted":
            db.session.add_all([MeetingSlotTaken(event_id=event.id, user_id=people[key],
                                                 slot_start_at=slot.start,
                                                 meeting_id=meeting.id)
                                for key in (requester, invitee)])
