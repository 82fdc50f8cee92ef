"""Registered events in calendars (iCalendar, RFC 5545).

Rules owned here:
- A person's own registrations appear in the calendar feed of their account
  (``/account/calendar``, the organisation feed they own) beside the bookings: only their
  own, never a colleague's (the feed is per person; DESIGN rule 6).
- One entry per session: ``UID event-session-<id>-<registration>@labnet``, ``SEQUENCE`` from
  the registration, times in the event's zone with ``TZID`` and a ``VTIMEZONE`` (DESIGN
  rule 3); a cancelled registration or event is ``CANCELLED`` so clients remove it; a place
  on the waiting list is not in the calendar.
- The online link is in the entry only for a registered person (it is their calendar).
- DESIGN rule 7: icalendar escapes every text value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select

from labnet.extensions import db
from labnet.i18n import _
from labnet.models.events import Event, EventSession
from labnet.models.training import Registration, RegistrationStatus

PAST_DAYS = 30


def _entries(reg: Registration, event: Event, sessions: list[EventSession],
             stamp: datetime) -> list[icalendar.Event]:
    zone = ZoneInfo(event.timezone or "UTC")
    live = reg.status == RegistrationStatus.REGISTERED and event.status == "published"
    spans = [(s.id, s.starts_at, s.ends_at, s.title) for s in sessions] or \
        [(0, event.starts_at, event.ends_at, "")]
    place = ", ".join(x for x in (event.address, event.city) if x)
    out = []
    for session_id, start, end, title in spans:
        entry = icalendar.Event()
        entry.add("uid", f"event-session-{event.id}-{session_id}-{reg.id}@labnet")
        entry.add("sequence", reg.sequence)
        entry.add("dtstamp", stamp)
        entry.add("dtstart", start.astimezone(zone))
        entry.add("dtend", end.astimezone(zone))
        entry.add("status", "CONFIRMED" if live else "CANCELLED")
        entry.add("summary", f"{event.title}: {title}" if title else event.title)
        if place:
            entry.add("location", place)
        description = event.description[:2000]
        if live and event.online_url:
            entry.add("url", event.online_url)
            description = _("Online: %(url)s", url=event.online_url) + f"\n\n{description}"
        entry.add("description", description)
        out.append(entry)
    return out


def _sessions(event_ids: list[int]) -> dict[int, list[EventSession]]:
    by_event: dict[int, list[EventSession]] = {}
    for s in db.session.scalars(select(EventSession).where(EventSession.event_id.in_(event_ids))
                                .order_by(EventSession.starts_at, EventSession.id)):
        by_event.setdefault(s.event_id, []).append(s)
    return by_event


def add_registered_events(cal: icalendar.Calendar, user_id: int, *, now: datetime) -> None:
    """Add the person's registrations (registered, and cancelled ones so clients remove
    them) of events ending from :data:`PAST_DAYS` days ago on (two queries)."""
    rows = db.session.execute(
        select(Registration, Event).join(Event, Event.id == Registration.event_id)
        .where(Registration.user_id == user_id,
               Registration.status.in_((RegistrationStatus.REGISTERED,
                                        RegistrationStatus.CANCELLED)),
               Registration.registered_at.is_not(None),
               Event.ends_at >= now - timedelta(days=PAST_DAYS))
        .order_by(Event.starts_at, Registration.id)).tuples().all()
    sessions = _sessions([event.id for _reg, event in rows])
    stamp = now.astimezone(UTC)
    for reg, event in rows:
        for entry in _entries(reg, event, sessions.get(event.id, []), stamp):
            cal.add_component(entry)


def registration_ics(reg: Registration, event: Event, *, now: datetime) -> bytes:
    """The .ics file of one registration (every session)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//LabNet//Events//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    for entry in _entries(reg, event, _sessions([event.id]).get(event.id, []),
                          now.astimezone(UTC)):
        cal.add_component(entry)
    cal.add_missing_timezones()
    return cal.to_ical()
