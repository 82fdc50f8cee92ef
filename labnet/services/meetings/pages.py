"""The reads of meetings between consortia: an event's slots, the Meet page, a person's
schedule and its iCalendar file, and the organisers' figures.

Rules owned here:
- the slots are the organiser's hours on the event's local days (its sessions' days when
  it has sessions), DESIGN rule 3 (:mod:`.slots`);
- a meeting *took place* when it was accepted and its slot has ended; it is *between
  partners of different projects* when each person's organisation is a partner of some
  project and the two organisations share none (:func:`cross_project`) — the figure the
  policy asks for, shared with the dashboard;
- the page lists profiles only to those who may meet there (``permissions.can_meet``) or
  organise the event; text is shown as text (DESIGN rule 7), the .ics escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from babel.dates import format_date
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from labnet.extensions import db
from labnet.i18n import _, current_language, data_name, locale_object
from labnet.models import KetArea, Organisation, User
from labnet.models.events import Event, EventSession, Project, ProjectPartner
from labnet.models.meetings import Meeting, MeetingProfile, MeetingSlotTaken, MeetingStatus
from labnet.models.training import Registration, RegistrationStatus
from labnet.services.meetings.slots import Slot, event_days, meeting_slots


def event_slots(event: Event) -> list[Slot]:
    """The event's meeting slots, oldest first (none when the organiser set no hours)."""
    sessions = db.session.execute(
        select(EventSession.starts_at, EventSession.ends_at)
        .where(EventSession.event_id == event.id)).all()
    days = None
    if sessions:
        days = {d for start, end in sessions for d in event_days(start, end, event.timezone)}
    return meeting_slots(start_at=event.starts_at, end_at=event.ends_at, zone=event.timezone,
                         minutes=event.meeting_slot_minutes, day_start=event.meeting_day_start,
                         day_end=event.meeting_day_end, days=days)


def slot_text(event: Event, start: datetime, end: datetime) -> str:
    """A slot in the event's zone, e.g. "Tue 12 May 2026, 10:00–10:30 CEST" (the day in the
    current language's words and order)."""
    zone = ZoneInfo(event.timezone)
    a, b = start.astimezone(zone), end.astimezone(zone)
    if current_language() == "en":
        return f"{a:%a %d %b %Y, %H:%M}–{b:%H:%M} {a.tzname()}"
    day = format_date(a.date(), "EEE d MMM y", locale=locale_object())
    return f"{day}, {a:%H:%M}–{b:%H:%M} {a.tzname()}"


def slot_label(event: Event, meeting: Meeting) -> str:
    """The meeting's slot in the event's zone (:func:`slot_text`)."""
    return slot_text(event, meeting.slot_start_at, meeting.slot_end_at)


@dataclass
class ProfileCard:
    """A published profile as the page shows it, with the slots one may ask it for."""

    profile: MeetingProfile
    name: str
    organisation: str
    country: str
    project: str
    kets: list[str]
    free_slots: list[Slot] = field(default_factory=list)


@dataclass
class MeetingRow:
    """One of the viewer's meetings (asked for, received or accepted)."""

    meeting: Meeting
    other_name: str
    other_organisation: str
    slot: str


@dataclass
class MeetPage:
    """Everything the Meet page shows one viewer."""

    event: Event
    slots: list[Slot]
    mine: MeetingProfile | None
    cards: list[ProfileCard]
    incoming: list[MeetingRow]
    outgoing: list[MeetingRow]
    schedule: list[MeetingRow]
    past: list[MeetingRow]


def _busy(event_id: int) -> dict[int, set[datetime]]:
    out: dict[int, set[datetime]] = {}
    for user_id, start in db.session.execute(
            select(MeetingSlotTaken.user_id, MeetingSlotTaken.slot_start_at)
            .where(MeetingSlotTaken.event_id == event_id)):
        out.setdefault(user_id, set()).add(start)
    return out


def _ket_names(codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(db.session.execute(select(KetArea.code, KetArea.name)
                                   .where(KetArea.code.in_(codes))).tuples().all())


def meet_page(event: Event, viewer: User, *, now: datetime, ket: str = "") -> MeetPage:
    """The Meet page for ``viewer``: the profiles (others first by name; optionally those
    naming KET area ``ket``), the slots each may be asked for (free for both, not begun),
    and the viewer's requests and schedule."""
    slots = event_slots(event)
    busy = _busy(event.id)
    rows = db.session.execute(
        select(MeetingProfile, User.full_name, Organisation.name, Organisation.country,
               Project.acronym, Project.name)
        .join(User, User.id == MeetingProfile.user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .outerjoin(Project, Project.id == MeetingProfile.project_id)
        # Only people who still hold a seat: a cancelled registration takes the card away.
        .where(MeetingProfile.event_id == event.id, exists().where(
            Registration.event_id == event.id, Registration.user_id == MeetingProfile.user_id,
            Registration.status == RegistrationStatus.REGISTERED.value))
        .order_by(User.full_name, MeetingProfile.id)).all()
    names = _ket_names({c for row in rows for c in row[0].ket_codes})
    mine: MeetingProfile | None = None
    cards: list[ProfileCard] = []
    mine_busy = busy.get(viewer.id, set())
    for profile, name, org, country, acronym, project in rows:
        if profile.user_id == viewer.id:
            mine = profile
            continue
        if ket and not any(c == ket or c.startswith(ket + ".") for c in profile.ket_codes):
            continue
        theirs = busy.get(profile.user_id, set())
        cards.append(ProfileCard(
            profile, name, org, country or "", (acronym or project or ""),
            [data_name("ket_areas", c, names.get(c, c)) for c in profile.ket_codes],
            [s for s in slots if s.start > now and s.start not in mine_busy
             and s.start not in theirs]))
    incoming: list[MeetingRow] = []
    outgoing: list[MeetingRow] = []
    schedule: list[MeetingRow] = []
    past: list[MeetingRow] = []
    other = aliased(User)
    for meeting, other_name, other_org in db.session.execute(
            select(Meeting, other.full_name, Organisation.name)
            .join(other, other.id == case((Meeting.requester_id == viewer.id,
                                           Meeting.invitee_id), else_=Meeting.requester_id))
            .join(Organisation, Organisation.id == other.organisation_id)
            .where(Meeting.event_id == event.id,
                   or_(Meeting.requester_id == viewer.id, Meeting.invitee_id == viewer.id))
            .order_by(Meeting.slot_start_at, Meeting.id)):
        row = MeetingRow(meeting, other_name, other_org, slot_label(event, meeting))
        if meeting.status == MeetingStatus.ACCEPTED.value:
            (schedule if meeting.slot_end_at > now else past).append(row)
        elif meeting.status == MeetingStatus.REQUESTED.value:
            (incoming if meeting.invitee_id == viewer.id else outgoing).append(row)
    return MeetPage(event, slots, mine, cards, incoming, outgoing, schedule, past)


def schedule_ics(event: Event, viewer: User, *, now: datetime) -> bytes:
    """The viewer's accepted meetings at ``event`` as iCalendar, in the event's zone (text
    escaped by the icalendar library, DESIGN rule 7)."""
    zone = ZoneInfo(event.timezone)
    other = aliased(User)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//LabNet//Meetings//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Meetings at %(event)s", event=event.title))
    place = ", ".join(x for x in (event.city, event.country or "") if x)
    for meeting, other_name, other_org in db.session.execute(
            select(Meeting, other.full_name, Organisation.name)
            .join(other, other.id == case((Meeting.requester_id == viewer.id,
                                           Meeting.invitee_id), else_=Meeting.requester_id))
            .join(Organisation, Organisation.id == other.organisation_id)
            .where(Meeting.event_id == event.id, Meeting.status == MeetingStatus.ACCEPTED,
                   or_(Meeting.requester_id == viewer.id, Meeting.invitee_id == viewer.id))
            .order_by(Meeting.slot_start_at, Meeting.id)):
        item = icalendar.Event()
        item.add("uid", f"meeting-{meeting.id}@labnet")
        item.add("dtstamp", now.astimezone(UTC))
        item.add("dtstart", meeting.slot_start_at.astimezone(zone))
        item.add("dtend", meeting.slot_end_at.astimezone(zone))
        item.add("summary", _("Meeting with %(name)s (%(organisation)s)", name=other_name,
                              organisation=other_org))
        item.add("description", _("1:1 meeting at %(event)s.", event=event.title)
                 + (f"\n{meeting.message}" if meeting.message else ""))
        if place:
            item.add("location", place)
        item.add("status", "CONFIRMED")
        cal.add_component(item)
    cal.add_missing_timezones()
    return cal.to_ical()


# --- the figure the policy cares about ------------------------------------------------------

def cross_project(requester_org: Any, invitee_org: Any) -> ColumnElement[bool]:
    """SQL: the two organisations are both project partners and share no project."""
    a, b = aliased(ProjectPartner), aliased(ProjectPartner)
    return and_(
        exists().where(ProjectPartner.organisation_id == requester_org),
        exists().where(ProjectPartner.organisation_id == invitee_org),
        ~exists().where(a.organisation_id == requester_org, b.organisation_id == invitee_org,
                        a.project_id == b.project_id))


def meeting_counts(conditions: list[ColumnElement[bool]], *, now: datetime,
                   group_by: Any = None) -> list[Any]:
    """Meetings matching ``conditions`` (on ``Meeting``): requested in all, accepted,
    held (accepted and over by ``now``), and held between partners of different projects;
    one row, or one per ``group_by`` value (first column)."""
    req, inv = aliased(User), aliased(User)
    held = and_(Meeting.status == MeetingStatus.ACCEPTED, Meeting.slot_end_at <= now)
    columns = [func.count(Meeting.id),
               func.coalesce(func.sum(case((Meeting.status == MeetingStatus.ACCEPTED, 1),
                                           else_=0)), 0),
               func.coalesce(func.sum(case((held, 1), else_=0)), 0),
               func.coalesce(func.sum(case(
                   (and_(held, cross_project(req.organisation_id, inv.organisation_id)), 1),
                   else_=0)), 0)]
    stmt = (select(*([group_by] if group_by is not None else []), *columns)
            .select_from(Meeting)
            .join(req, req.id == Meeting.requester_id)
            .join(inv, inv.id == Meeting.invitee_id)
            .where(*conditions))
    if group_by is not None:
        stmt = stmt.group_by(group_by)
    return list(db.session.execute(stmt).all())


@dataclass(frozen=True)
class MeetingFigures:
    """The organisers' figures of one event."""

    profiles: int
    requested: int
    accepted: int
    held: int
    cross_project: int


def meeting_figures(event: Event, *, now: datetime) -> MeetingFigures:
    """How many profiles, meeting requests, accepted meetings, meetings that took place,
    and of those between partners of different projects, at ``event``."""
    requested, accepted, held, cross = meeting_counts([Meeting.event_id == event.id],
                                                      now=now)[0]
    profiles = db.session.scalar(select(func.count(MeetingProfile.id))
                                 .where(MeetingProfile.event_id == event.id)) or 0
    return MeetingFigures(profiles, int(requested), int(accepted), int(held), int(cross))
