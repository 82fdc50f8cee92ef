"""The common events page across labs, networks and projects: filters, the
list, the month calendar, the map, the iCalendar subscription and the Atom feed, and the
schema.org ``Event`` of an event page.

Rules owned here:

- everyone sees published events; drafts never appear in lists, feeds or the map
  (``permissions.can_view_event`` for pages); cancelled events leave the list, the calendar
  and the map, and stay in the feeds as cancelled so calendar clients remove them;
- upcoming by default (not yet ended); a date range shows what overlaps it (UTC days);
- a KET area filter takes its sub-areas too; the organiser filter is ``lab:slug``,
  ``network:slug`` or ``project:slug``; bad filter values are refused on their field (the
  page says which and ignores it), never a 500 (DESIGN rule 5);
- every text reaches the page, the feeds and the map as data, escaped by the template,
  the icalendar library, the XML writer or shown with ``textContent`` (DESIGN rule 7);
- the number of queries of a page does not grow with the number of events (one for the
  events, three for their organisers).
"""

from __future__ import annotations

import calendar as calendar_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import icalendar
from babel.dates import format_date
from sqlalchemy import Select, and_, exists, or_, select

from labnet.dates import in_range
from labnet.extensions import db
from labnet.i18n import _, _l, current_language, locale_object, localtime
from labnet.models import Event, EventKet, EventOrganiser, Lab, Network, Project
from labnet.models.events import EVENT_KINDS
from labnet.permissions import listed_lab_condition
from labnet.services.events.events import LANGUAGES, OrganiserView, organisers_of
from labnet.services.geo.geocoding import EUROPEAN_COUNTRIES

PAGE_SIZE = 50
# Zones by name, kept: ZoneInfo's own cache holds few zones strongly, and a page of events
# from many countries would read the zone files again for each row.
_zone = cache(ZoneInfo)
MAP_LIMIT = 2000
# A subscription holds the next events of its query (clients poll it; a narrower query
# reaches further ahead); the Atom feed the next ones too, newest announced first.
FEED_LIMIT = 200
ATOM_LIMIT = 100
CALENDAR_LIMIT = 10000
PER_DAY = 4
VIEWS = ("list", "calendar", "map")
MODES = {"online": _l("Online"), "onsite": _l("On site")}


@dataclass(frozen=True)
class EventQuery:
    """The filters and view of ``/events``, as the URL holds them."""

    ket: str = ""
    country: str = ""
    kind: str = ""
    mode: str = ""
    date_from: date | None = None
    date_to: date | None = None
    organiser: str = ""
    language: str = ""
    free_seats: bool = False
    view: str = "list"
    month: date | None = None
    page: int = 1

    def args(self, **changes: Any) -> dict[str, str]:
        """The query string of this query (with ``changes``), defaults left out."""
        q = replace(self, **changes)
        pairs = {"ket": q.ket, "country": q.country, "kind": q.kind, "mode": q.mode,
                 "from": q.date_from.isoformat() if q.date_from else "",
                 "to": q.date_to.isoformat() if q.date_to else "",
                 "organiser": q.organiser, "language": q.language,
                 "free": "1" if q.free_seats else "",
                 "view": q.view if q.view != "list" else "",
                 "month": f"{q.month:%Y-%m}" if q.month else "",
                 "page": str(q.page) if q.page > 1 else ""}
        return {k: v for k, v in pairs.items() if v}

    def filter_args(self) -> dict[str, str]:
        """The filters alone (for the feeds: no view, month or page)."""
        return self.args(view="list", month=None, page=1)


def _day(text: str) -> date:
    day = date.fromisoformat(text.strip())
    if not in_range(day):
        raise ValueError
    return day


def parse_query(args: Mapping[str, str], *, known_kets: set[str]) -> tuple[EventQuery,
                                                                           dict[str, str]]:
    """The query of ``/events`` from its URL arguments, and a message per refused field
    (the refused value is left out of the query, so the page still answers)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    ket = (args.get("ket") or "").strip().upper()
    if ket and ket not in known_kets:
        errors["ket"] = _("Choose a KET area from the list.")
    elif ket:
        values["ket"] = ket
    country = (args.get("country") or "").strip().upper()
    if country and country not in EUROPEAN_COUNTRIES:
        errors["country"] = _("Choose a European country.")
    elif country:
        values["country"] = country
    for name, allowed, message in (("kind", EVENT_KINDS, _("Choose a kind of event.")),
                                   ("mode", MODES, _("Choose online or on site.")),
                                   ("language", LANGUAGES, _("Choose a language.")),
                                   ("view", VIEWS, _("Choose list, calendar or map."))):
        value = (args.get(name) or "").strip().lower()
        if value and value not in allowed:
            errors[name] = message
        elif value:
            values[name] = value
    for name, key in (("from", "date_from"), ("to", "date_to")):
        raw = (args.get(name) or "").strip()
        if raw:
            try:
                values[key] = _day(raw)
            except ValueError:
                errors[name] = _("Give a date as YYYY-MM-DD (years 2000 to 2100).")
    if values.get("date_from") and values.get("date_to") and \
            values["date_to"] < values["date_from"]:
        errors["to"] = _("The end of the range is before its start.")
        del values["date_to"]
    organiser = (args.get("organiser") or "").strip().lower()
    if organiser:
        kind, _sep, slug = organiser.partition(":")
        if kind not in ("lab", "network", "project") or not slug or len(slug) > 140:
            errors["organiser"] = _("Choose an organiser as lab:…, network:… or project:….")
        else:
            values["organiser"] = organiser
    values["free_seats"] = (args.get("free") or "") in ("1", "on", "true", "yes")
    raw_month = (args.get("month") or "").strip()
    if raw_month:
        try:
            values["month"] = _day(raw_month + "-01")
        except ValueError:
            errors["month"] = _("Give a month as YYYY-MM.")
    raw_page = (args.get("page") or "").strip()
    if raw_page:
        if raw_page.isdigit() and 1 <= int(raw_page) <= 10_000:
            values["page"] = int(raw_page)
        else:
            errors["page"] = _("No such page.")
    return EventQuery(**values), errors


def _by_organiser(stmt: Select[tuple[Event]], spec: str) -> Select[tuple[Event]]:
    """``stmt`` narrowed to the events of one organiser, joined through the organiser's
    index (an organiser is on an event once, so rows are not repeated)."""
    kind, _sep, slug = spec.partition(":")
    model: Any = {"lab": Lab, "network": Network, "project": Project}[kind]
    column = {"lab": EventOrganiser.lab_id, "network": EventOrganiser.network_id,
              "project": EventOrganiser.project_id}[kind]
    return stmt.join(EventOrganiser, and_(
        EventOrganiser.event_id == Event.id,
        column == select(model.id).where(model.slug == slug).scalar_subquery()))


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def filtered(query: EventQuery, *, now: datetime, statuses: tuple[str, ...] = ("published",),
             upcoming: bool = True) -> Select[tuple[Event]]:
    """Events matching ``query`` in start order (see the module note)."""
    stmt = select(Event).where(Event.status.in_(statuses))
    if query.date_from or query.date_to:
        if query.date_from:
            stmt = stmt.where(Event.ends_at > _start_of(query.date_from))
        if query.date_to:
            stmt = stmt.where(Event.starts_at < _start_of(query.date_to) + timedelta(days=1))
    elif upcoming:
        stmt = stmt.where(Event.ends_at > now)
    if query.ket:
        codes = EventKet.ket_code == query.ket
        if "." not in query.ket:  # an area takes its sub-areas
            codes = or_(codes, EventKet.ket_code.like(query.ket + ".%"))
        stmt = stmt.where(exists().where(EventKet.event_id == Event.id, codes))
    if query.country:
        stmt = stmt.where(Event.country == query.country)
    if query.kind:
        stmt = stmt.where(Event.kind == query.kind)
    if query.mode == "online":
        stmt = stmt.where(Event.online_url.is_not(None))
    elif query.mode == "onsite":
        stmt = stmt.where(Event.city != "")
    if query.organiser:
        stmt = _by_organiser(stmt, query.organiser)
    if query.language:
        stmt = stmt.where(Event.language == query.language)
    if query.free_seats:
        stmt = stmt.where(or_(Event.capacity.is_(None), Event.seats_taken < Event.capacity))
    return stmt.order_by(Event.starts_at, Event.id)


@dataclass(frozen=True)
class EventRow:
    """An event as lists show it: the row, its organisers, its start and end in its zone."""

    event: Event
    organisers: list[OrganiserView]
    starts: datetime
    ends: datetime

    @property
    def same_day(self) -> bool:
        """Whether it starts and ends on one local day."""
        return self.starts.date() == self.ends.date()


def _rows(events: list[Event], actor: Any) -> list[EventRow]:
    organisers = organisers_of([e.id for e in events], actor)
    rows = []
    for e in events:
        zone = _zone(e.timezone)
        rows.append(EventRow(e, organisers[e.id], e.starts_at.astimezone(zone),
                             e.ends_at.astimezone(zone)))
    return rows


@dataclass(frozen=True)
class ListPage:
    """One page of the list and whether another follows."""

    rows: list[EventRow]
    has_more: bool


def list_page(query: EventQuery, actor: Any, *, now: datetime) -> ListPage:
    """A page of :data:`PAGE_SIZE` events (four queries whatever the number of events)."""
    stmt = filtered(query, now=now).offset((query.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    events = list(db.session.scalars(stmt))
    return ListPage(_rows(events[:PAGE_SIZE], actor), len(events) > PAGE_SIZE)


def events_of(kind: str, organiser_id: int, actor: Any, *, now: datetime, limit: int = 20,
              include_drafts: bool = False) -> list[EventRow]:
    """Upcoming published events an organiser (lab, network or project) organises or
    co-organises, for its page; its drafts too when ``include_drafts`` (for those who
    organise in its name: the caller decides with ``permissions``)."""
    column = {"lab": EventOrganiser.lab_id, "network": EventOrganiser.network_id,
              "project": EventOrganiser.project_id}[kind]
    statuses = ("published", "draft") if include_drafts else ("published",)
    # Driven from the organiser's index (an organiser is on an event once): an EXISTS
    # would walk every upcoming event of the platform in start order.
    stmt = (select(Event).join(EventOrganiser, EventOrganiser.event_id == Event.id)
            .where(column == organiser_id, Event.status.in_(statuses), Event.ends_at > now)
            .order_by(Event.starts_at, Event.id).limit(limit))
    return _rows(list(db.session.scalars(stmt)), actor)


# --- month calendar -------------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarEntry:
    """An event in a day of the month grid: its address name, title and local start."""

    slug: str
    title: str
    starts: datetime


@dataclass
class CalendarDay:
    """One day of the month grid (``in_month`` false for the days of the weeks around):
    the first :data:`PER_DAY` events of the day, and how many more there are."""

    day: date
    in_month: bool
    entries: list[CalendarEntry] = field(default_factory=list)
    more: int = 0


@dataclass(frozen=True)
class MonthGrid:
    """The weeks (Monday first) of one month with the events on each of their days."""

    month: date
    weeks: list[list[CalendarDay]]
    truncated: bool

    @property
    def previous(self) -> date:
        """The first day of the month before."""
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        """The first day of the month after."""
        return (self.month + timedelta(days=32)).replace(day=1)

    @staticmethod
    def title(month: date) -> str:
        """A month as the grid names it: "March 2027" in English, the language's own
        stand-alone month name elsewhere ("März 2027", "marzec 2027")."""
        if current_language() == "en":
            return month.strftime("%B %Y")
        return str(format_date(month, "LLLL y", locale=locale_object()))


def month_grid(query: EventQuery, *, now: datetime) -> MonthGrid:
    """The month of ``query.month`` (default: this one), each published event matching the
    other filters on every day it spans in its own zone; a day shows its first
    :data:`PER_DAY` events and counts the others (its list is a link away). Only the
    columns shown are read, so a busy month costs tuples, not objects."""
    month = query.month or now.date().replace(day=1)
    last = month.replace(day=calendar_module.monthrange(month.year, month.month)[1])
    # A day either side: an event's local days may differ from its UTC days.
    window = replace(query, date_from=month - timedelta(days=1),
                     date_to=last + timedelta(days=1))
    stmt = (filtered(window, now=now)
            .with_only_columns(Event.slug, Event.title, Event.starts_at, Event.ends_at,
                               Event.timezone).limit(CALENDAR_LIMIT + 1))
    rows = db.session.execute(stmt).all()
    days: dict[date, CalendarDay] = {}
    weeks = []
    for week in calendar_module.Calendar(firstweekday=0).monthdatescalendar(month.year,
                                                                            month.month):
        cells = [CalendarDay(d, d.month == month.month) for d in week]
        days.update((c.day, c) for c in cells)
        weeks.append(cells)
    for slug, title, starts_at, ends_at, zone in rows[:CALENDAR_LIMIT]:
        starts, ends = starts_at.astimezone(_zone(zone)), ends_at.astimezone(_zone(zone))
        day = starts.date()
        # An event ending at midnight does not occupy the next day.
        end = (ends - timedelta(microseconds=1)).date()
        while day <= end:
            cell = days.get(day)
            if cell is not None and len(cell.entries) < PER_DAY:
                cell.entries.append(CalendarEntry(slug, title, starts))
            elif cell is not None:
                cell.more += 1
            day += timedelta(days=1)
    return MonthGrid(month, weeks, len(rows) > CALENDAR_LIMIT)


# --- map ------------------------------------------------------------------------------------

def map_points(query: EventQuery, *, now: datetime,
               event_url: Callable[[str], str]) -> tuple[list[dict[str, Any]], bool]:
    """Points of the events matching ``query`` that have a place (at most
    :data:`MAP_LIMIT`), and whether some were left out. Texts travel as data: the map
    script shows them with ``textContent``. Only the columns drawn are read."""
    stmt = (filtered(query, now=now).where(Event.latitude.is_not(None))
            .with_only_columns(Event.slug, Event.title, Event.latitude, Event.longitude,
                               Event.starts_at, Event.timezone, Event.city, Event.country)
            .limit(MAP_LIMIT + 1))
    rows = db.session.execute(stmt).all()
    points = []
    for slug, title, lat, lon, starts_at, zone, city, country in rows[:MAP_LIMIT]:
        start = starts_at.astimezone(_zone(zone))
        points.append({"name": title, "url": event_url(slug), "lat": lat, "lon": lon,
                       "detail": f"{_map_day(start)} · {city}, {country}"})
    return points, len(rows) > MAP_LIMIT


# --- feeds ----------------------------------------------------------------------------------

def _feed_events(query: EventQuery, now: datetime, limit: int = FEED_LIMIT) -> list[Event]:
    stmt = filtered(query, now=now, statuses=("published", "cancelled")).limit(limit)
    return list(db.session.scalars(stmt))


# The strftime formats the event templates use, and the Babel skeleton of their date part
# (the language orders and abbreviates it; the clock is the language's short time).
def _map_day(start: datetime) -> str:
    """A map point's day: ``01 Mar 2027`` in English, the language's medium date else."""
    if current_language() == "en":
        return f"{start:%d %b %Y}"
    return str(format_date(start.date(), "medium", locale=locale_object()))


def _where(event: Event) -> str:
    place = ", ".join(p for p in (event.address, event.city, event.country or "") if p)
    if event.online_url:
        return _("%(place)s and online", place=place) if place else _("Online")
    return place


def ical_feed(query: EventQuery, *, now: datetime, event_url: Callable[[Event], str],
              sessions: Callable[[list[int]], dict[int, list[Any]]]) -> bytes:
    """A VCALENDAR of the events matching ``query``: one VEVENT per session (a course of
    three days is three entries, not one spanning the nights), with ``UID``
    ``event-<id>-<session>@labnet`` and ``SEQUENCE`` so clients update entries, times in
    the event's zone with its ``VTIMEZONE``, cancelled events as ``STATUS:CANCELLED``.
    The online link is never in a feed (it is for registered people only)."""
    events = _feed_events(query, now)
    by_event = sessions([e.id for e in events])
    cal = icalendar.Calendar()
    cal.add("prodid", "-//LabNet//Events//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("LabNet events"))
    stamp = now.astimezone(UTC)
    for event in events:
        zone = _zone(event.timezone)
        url = event_url(event)
        for session in by_event.get(event.id, []):
            entry = icalendar.Event()
            entry.add("uid", f"event-{event.id}-{session.id}@labnet")
            entry.add("sequence", event.sequence)
            entry.add("dtstamp", stamp)
            entry.add("last-modified", event.updated_at.astimezone(UTC))
            entry.add("dtstart", session.starts_at.astimezone(zone))
            entry.add("dtend", session.ends_at.astimezone(zone))
            title = f"{event.title}: {session.title}" if session.title else event.title
            entry.add("summary", title)
            if where := _where(event):
                entry.add("location", where)
            entry.add("url", url)
            entry.add("description", f"{event.kind_label}\n{url}\n\n"
                                     f"{event.description}")
            entry.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
            cal.add_component(entry)
    cal.add_missing_timezones()
    return cal.to_ical()


ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(query: EventQuery, *, now: datetime, feed_url: str, page_url: str,
              event_url: Callable[[Event], str]) -> bytes:
    """An Atom feed (RFC 4287) of the events matching ``query``, newest announced first.
    Every text is an XML text node (escaped by the writer), ``type="text"``."""
    events = _feed_events(query, now, ATOM_LIMIT)
    events.sort(key=lambda e: (e.published_at or e.created_at, e.id), reverse=True)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None,
            **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    sub(feed, "title", _("LabNet events"), type="text")
    sub(feed, "id", feed_url)
    sub(feed, "link", rel="self", href=feed_url)
    sub(feed, "link", rel="alternate", href=page_url, type="text/html")
    updated = max((e.updated_at for e in events), default=now)
    sub(feed, "updated", updated.astimezone(UTC).isoformat())
    author = sub(feed, "author")
    sub(author, "name", "LabNet")
    for event in events:
        entry = sub(feed, "entry")
        url = event_url(event)
        start = event.starts_at.astimezone(_zone(event.timezone))
        title = _("%(title)s (cancelled)", title=event.title) \
            if event.status == "cancelled" else event.title
        sub(entry, "title", title, type="text")
        sub(entry, "id", url)
        sub(entry, "link", rel="alternate", href=url, type="text/html")
        sub(entry, "updated", event.updated_at.astimezone(UTC).isoformat())
        sub(entry, "published", (event.published_at or event.created_at)
            .astimezone(UTC).isoformat())
        summary = (f"{event.kind_label}, "
                   f"{localtime(start, None, '%d %B %Y')} {start:%H:%M} ({event.timezone})"
                   + (f", {_where(event)}" if _where(event) else "")
                   + (f". {event.description[:500]}" if event.description else ""))
        sub(entry, "summary", summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


# --- schema.org -----------------------------------------------------------------------------

def event_jsonld(event: Event, organisers: list[OrganiserView], *, url: str,
                 organiser_url: Callable[[OrganiserView], str]) -> dict[str, Any]:
    """The schema.org ``Event`` of an event page (for search engines). The page writes it
    with Jinja's ``tojson``, which escapes ``<``, ``>``, ``&`` and quotes, so a title
    cannot close the script element. The online link is left out (registered people
    only): a virtual location points at the event page."""
    zone = _zone(event.timezone)
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "Event", "name": event.title,
        "description": event.description, "url": url,
        "startDate": event.starts_at.astimezone(zone).isoformat(),
        "endDate": event.ends_at.astimezone(zone).isoformat(),
        "inLanguage": event.language,
        "eventStatus": "https://schema.org/" + ("EventCancelled" if event.status ==
                                                 "cancelled" else "EventScheduled"),
    }
    places: list[dict[str, Any]] = []
    if event.city:
        place: dict[str, Any] = {
            "@type": "Place", "name": ", ".join(p for p in (event.address, event.city) if p),
            "address": {"@type": "PostalAddress", "streetAddress": event.address,
                        "addressLocality": event.city, "addressCountry": event.country}}
        if event.latitude is not None:
            place["geo"] = {"@type": "GeoCoordinates", "latitude": event.latitude,
                            "longitude": event.longitude}
        places.append(place)
    if event.online_url:
        places.append({"@type": "VirtualLocation", "url": url})
    mode = ("Mixed" if len(places) == 2 else "Online" if event.online_url else "Offline")
    data["eventAttendanceMode"] = f"https://schema.org/{mode}EventAttendanceMode"
    data["location"] = places[0] if len(places) == 1 else places
    data["organizer"] = [{"@type": "Organization", "name": o.name, "url": organiser_url(o)}
                         for o in organisers]
    if event.capacity is not None:
        data["maximumAttendeeCapacity"] = event.capacity
        data["remainingAttendeeCapacity"] = event.seats_left
    prices = [p for p in (event.price_sme_cents, event.price_standard_cents) if p is not None]
    data["offers"] = [{"@type": "Offer", "url": url, "priceCurrency": event.currency,
                       "price": f"{cents / 100:.2f}"} for cents in (prices or [0])]
    data["isAccessibleForFree"] = not prices or max(prices) == 0
    return data


def sessions_of(event_ids: list[int]) -> dict[int, list[Any]]:
    """Each event's sessions in order (one query)."""
    from labnet.models import EventSession

    result: dict[int, list[Any]] = {}
    if not event_ids:
        return result
    for s in db.session.scalars(select(EventSession).where(
            EventSession.event_id.in_(event_ids)).order_by(EventSession.event_id,
                                                            EventSession.starts_at,
                                                            EventSession.id)):
        result.setdefault(s.event_id, []).append(s)
    return result


def organiser_choices(*, now: datetime, selected: str = "") -> list[tuple[str, str]]:
    """("kind:slug", name) choices of the organiser filter: the projects and public networks
    with an upcoming published event (a few hundred rows at most), and the selected
    organiser when it is a lab — ten thousand labs make no menu; a lab's page links to its
    events instead. The same for everyone: members-only
    networks are never offered (DESIGN rule 6)."""
    out: list[tuple[str, str]] = []
    for kind, model, column in (("network", Network, EventOrganiser.network_id),
                                ("project", Project, EventOrganiser.project_id)):
        # Driven from the organisers (a few hundred at most), each probing its own events
        # through ix_event_organiser_<kind>_event until one is upcoming: never a walk of
        # every upcoming event (tens of thousands) to collect the organisers.
        # (Nested, not a join: a join lets the planner start from the events instead.)
        upcoming = (select(Event.id).where(Event.id == EventOrganiser.event_id,
                                           Event.status == "published", Event.ends_at > now)
                    .exists())
        held = select(EventOrganiser.id).where(column == model.id, upcoming).exists()
        stmt = select(model.slug, model.name).where(held).order_by(model.name).limit(300)
        if kind == "network":
            stmt = stmt.where(Network.visibility == "public")
        out.extend((f"{kind}:{slug}", name) for slug, name in db.session.execute(stmt))
    kind, _sep, slug = selected.partition(":")
    if kind == "lab" and slug:
        name = db.session.scalar(select(Lab.name).where(Lab.slug == slug,
                                                        listed_lab_condition()))
        if name is not None:
            out.insert(0, (selected, name))
    return out
