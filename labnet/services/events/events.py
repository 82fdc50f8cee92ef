"""Events published by labs, networks and projects: create, edit, publish,
cancel, co-organisers.

Rules (each refusal is a :class:`RuleViolation` naming its field; a form shows them all):

- an event is created in the name of a lab, a network or a project by whoever may organise
  for it (``permissions.can_organise_for``: the lab's managers, the network's coordinators,
  the project's managers, admins); it is edited, published and cancelled by the managers
  of any of its organisers (``permissions.can_edit_event``); a co-organiser is added only by
  someone who may organise for it too, and the last organiser stays;
- times are typed as wall-clock times in the event's IANA zone and stored in UTC (DESIGN
  rule 3): a time the clocks skip is refused, a time that happens twice is read as its
  first occurrence; an event has one or more sessions, each ending after it starts on its
  day; the event's ``starts_at``/``ends_at`` are the span of its sessions;
- an event takes place somewhere (a city and a country, geocoded like labs; typed
  coordinates win) and/or online (an http(s) link, shown only to registered people);
- capacity is a positive number or empty (unlimited) and never below the seats already
  taken; the registration deadline is before the event ends; prices are empty (free) or
  amounts ≥ 0 in a known currency; questions are at most 20;
- draft → published → cancelled (or draft → cancelled); an event that has ended cannot be
  published; a cancelled event changes no more. Cancelling tells the registered people
  (:func:`labnet.services.events.notify.event_cancelled`) in the same transaction;
- every change is audited (DESIGN, "Notification and audit").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from labnet import permissions
from labnet.dates import in_range
from labnet.errors import PermissionDenied, RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, _l, current_language, locale_object
from labnet.models import (
    Event,
    EventKet,
    EventOrganiser,
    EventSession,
    Lab,
    Network,
    Project,
    User,
)
from labnet.models.events import EVENT_KINDS, QUESTION_KINDS
from labnet.models.network import NetworkCoordinator
from labnet.services.accounts.rules import slugify
from labnet.services.booking.availability import local_to_utc
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.events import notify
from labnet.services.events.projects import check_kets, check_url, unique_slug
from labnet.services.geo.geocoding import EUROPEAN_COUNTRIES, country_code, geocode

# ISO 639-1 codes of the languages events in Europe are held in.
LANGUAGES: dict[str, str] = {
    "bg": "Bulgarian", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fi": "Finnish", "fr": "French", "ga": "Irish", "hr": "Croatian",
    "hu": "Hungarian", "is": "Icelandic", "it": "Italian", "ka": "Georgian",
    "lb": "Luxembourgish", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian",
    "mt": "Maltese", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian",
    "sr": "Serbian", "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian",
}


def language_names() -> dict[str, str]:
    """:data:`LANGUAGES` named in the reader's language (Babel's names; English as is)."""
    lang = current_language()
    if lang == "en":
        return dict(LANGUAGES)
    names = locale_object().languages
    out = {}
    for code, english in LANGUAGES.items():
        name = names.get(code) or english
        out[code] = name[:1].upper() + name[1:]
    return out


CURRENCIES = ("EUR", "BGN", "CHF", "CZK", "DKK", "GBP", "HUF", "ISK", "NOK", "PLN", "RON",
              "RSD", "SEK", "TRY", "UAH")
RESERVED_SLUGS = frozenset({"new", "calendar", "map"})
MAX_SESSIONS = 60
MAX_QUESTIONS = 20
MAX_CAPACITY = 100_000
MAX_PRICE = Decimal("1000000")
LIST_LIMIT = 500
SESSION_LINE = re.compile(
    r"^(?P<day>\d{4}-\d{2}-\d{2})\s+(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2})"
    r"(?:\s+(?P<title>.*))?$")
SESSION_HELP = _l("one session a line, as 2027-03-01 09:00-17:00 and an optional title")


@dataclass(frozen=True)
class SessionFields:
    """One session as typed: its day and wall-clock times in the event's zone."""

    day: date
    start: time
    end: time
    title: str = ""


@dataclass(frozen=True)
class EventFields:
    """An event's editable fields as the form gives them (checked here).

    ``sessions`` is either the form's text (one session a line, see
    :data:`SESSION_HELP`) or :class:`SessionFields`; ``questions`` either the form's text
    (one question a line: ``Label``, ``Label *`` when required, ``Label: a | b | c`` for a
    choice) or the stored list of dicts."""

    kind: str
    title: str
    sessions: str | tuple[SessionFields, ...] = ()
    timezone: str = "Europe/Brussels"
    description: str = ""
    language: str = "en"
    address: str = ""
    city: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None
    online_url: str = ""
    capacity: int | None = None
    registration_deadline: datetime | None = None  # naive, in the event's zone
    price_sme: Decimal | str | None = None
    price_standard: Decimal | str | None = None
    currency: str = "EUR"
    prerequisites: str = ""
    ket_codes: tuple[str, ...] = ()
    questions: str | list[dict[str, Any]] = ""
    offer_hours: int | None = 48
    meeting_slot_minutes: int | None = None
    meeting_day_start: time | None = None
    meeting_day_end: time | None = None
    slug: str = ""


@dataclass
class _Checked:
    values: dict[str, Any] = field(default_factory=dict)
    sessions: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    kets: list[str] = field(default_factory=list)
    violations: list[RuleViolation] = field(default_factory=list)

    def run(self, check: Any, *args: Any, **kw: Any) -> Any:
        try:
            return check(*args, **kw)
        except RuleViolation as exc:
            self.violations.extend(getattr(exc, "violations", None) or [exc])
            return None


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_choices() -> list[str]:
    """The IANA zones of Europe (and UTC) for the form's choice."""
    return [*sorted(z for z in _zones() if z.startswith("Europe/")), "UTC"]


def parse_sessions(text: str) -> tuple[SessionFields, ...]:
    """Sessions from the form's text (:data:`SESSION_HELP`).

    :raises RuleViolation: on ``sessions`` naming the line that is not a session.
    """
    sessions = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        match = SESSION_LINE.match(line)
        try:
            if match is None:
                raise ValueError
            day = date.fromisoformat(match["day"])
            start = time.fromisoformat(match["start"].zfill(5))
            end = time.fromisoformat(match["end"].zfill(5))
        except ValueError:
            raise RuleViolation("sessions", _("Line %(number)d: write %(help)s.", number=number,
                                                   help=SESSION_HELP)) from None
        sessions.append(SessionFields(day, start, end, (match["title"] or "").strip()))
    return tuple(sessions)


def sessions_text(event: Event) -> str:
    """The event's sessions as the form's text, in the event's zone."""
    lines = []
    zone = ZoneInfo(event.timezone)
    for s in event.sessions:
        start, end = s.starts_at.astimezone(zone), s.ends_at.astimezone(zone)
        lines.append(f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}" + (f" {s.title}" if s.title else ""))
    return "\n".join(lines)


def parse_questions(text: str) -> list[dict[str, Any]]:
    """Questions from the form's text: one a line, ``*`` at the end when an answer is
    required, ``Label: a | b`` for a choice between a and b.

    :raises RuleViolation: on ``questions`` for a line too long, a choice with fewer than
        two options, or more than :data:`MAX_QUESTIONS`.
    """
    questions: list[dict[str, Any]] = []
    keys: set[str] = set()
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        required = line.endswith("*")
        line = line.rstrip("*").strip()
        label, sep, rest = line.partition(":")
        choices = [c.strip() for c in rest.split("|") if c.strip()] if sep else []
        label = label.strip() if sep and "|" in rest else line
        if sep and "|" not in rest:
            choices = []
        if sep and "|" in rest and len(choices) < 2:
            raise RuleViolation("questions", _("Line %(number)d: a choice needs at least two "
                                               "options, separated by |.", number=number))
        if not label or len(label) > 200 or any(len(c) > 100 for c in choices):
            raise RuleViolation("questions", _("Line %(number)d: a question has at most 200 "
                                               "characters, each option at most 100.",
                                               number=number))
        key = slugify(label, max_len=40).replace("-", "_")
        while key in keys:
            key += "_"
        keys.add(key)
        questions.append({"key": key, "label": label,
                          "kind": "choice" if choices else "text",
                          "required": required, "choices": choices})
    if len(questions) > MAX_QUESTIONS:
        raise RuleViolation("questions", _("Ask at most %(max)d questions.",
                                                max=MAX_QUESTIONS))
    return questions


def questions_text(event: Event) -> str:
    """The event's questions as the form's text."""
    lines = []
    for q in event.questions or []:
        line = q["label"] + (": " + " | ".join(q["choices"]) if q.get("choices") else "")
        lines.append(line + (" *" if q.get("required") else ""))
    return "\n".join(lines)


def _check_questions(value: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return parse_questions(value)
    for q in value:
        if q.get("kind") not in QUESTION_KINDS or not q.get("key") or not q.get("label"):
            raise RuleViolation("questions", _("Each question needs a key, a label and a kind."))
    return list(value)


def _cents(value: Decimal | str | None, field_name: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise RuleViolation(field_name, _("Give an amount such as 120 or 99.50, or leave "
                                          "it empty for free.")) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_PRICE:
        raise RuleViolation(field_name, _("Give an amount from 0 to 999,999.99."))
    if amount != amount.quantize(Decimal("0.01")):
        raise RuleViolation(field_name, _("Give the amount to the cent at most."))
    return int(amount * 100)


def _check_times(fields: EventFields, out: _Checked) -> None:
    zone = fields.timezone if fields.timezone in _zones() else None
    if zone is None:
        out.violations.append(RuleViolation("timezone", _("Choose the event's time zone.")))
        return
    out.values["timezone"] = zone
    raw = fields.sessions
    sessions = out.run(parse_sessions, raw) if isinstance(raw, str) else raw
    if sessions is None:
        return
    if not sessions:
        out.violations.append(RuleViolation("sessions", _("Give at least one session: "
                                                          "%(help)s.", help=SESSION_HELP)))
        return
    if len(sessions) > MAX_SESSIONS:
        out.violations.append(RuleViolation("sessions", _("At most %(max)d sessions.",
                                                                  max=MAX_SESSIONS)))
        return
    for number, s in enumerate(sessions, start=1):
        where = _("Session %(number)d (%(day)s)", number=number, day=s.day.isoformat()) \
            if in_range(s.day) else _("Session %(number)d", number=number)
        if not in_range(s.day):
            out.violations.append(RuleViolation("sessions", _("%(where)s: enter a date between "
                                                              "the years 2000 and 2100.",
                                                              where=where)))
            return
        if s.end <= s.start:
            out.violations.append(RuleViolation("sessions", _("%(where)s must end after it "
                                                              "starts (on the same day).",
                                                              where=where)))
            return
        title = out.run(clean_text, s.title, "sessions",
                        label=_("%(where)s's title", where=where), limit=200)
        start = out.run(local_to_utc, datetime.combine(s.day, s.start), zone,
                        field="sessions")
        end = out.run(local_to_utc, datetime.combine(s.day, s.end), zone, field="sessions")
        if start is None or end is None or title is None:
            return
        out.sessions.append((start, end, title))
    out.sessions.sort()
    out.values["starts_at"] = out.sessions[0][0]
    out.values["ends_at"] = max(end for _s, end, _t in out.sessions)
    deadline = fields.registration_deadline
    out.values["registration_deadline"] = None
    if deadline is not None:
        if not in_range(deadline.date()):
            out.violations.append(RuleViolation("registration_deadline", _("Enter a date "
                                                "between the years 2000 and 2100.")))
            return
        at = out.run(local_to_utc, deadline, zone, field="registration_deadline")
        if at is not None and at > out.values["ends_at"]:
            out.violations.append(RuleViolation("registration_deadline", _("The registration "
                                                "deadline must be before the event ends.")))
        out.values["registration_deadline"] = at


def _check_place(fields: EventFields, out: _Checked, now: datetime) -> None:
    address = out.run(clean_text, fields.address, "address", label=_("The address"), limit=300)
    city = out.run(clean_text, fields.city, "city", label=_("The city"), limit=120)
    url = out.run(check_url, fields.online_url, "online_url", limit=500)
    country = None
    if (fields.country or "").strip():
        country = country_code(fields.country) or fields.country.strip().upper()
        if country not in EUROPEAN_COUNTRIES:
            out.violations.append(RuleViolation("country", _("Choose a European country.")))
            return
    if address is None or city is None or url is None:
        return
    lat, lon = fields.latitude, fields.longitude
    if (lat is None) != (lon is None):
        out.violations.append(RuleViolation("latitude" if lat is None else "longitude",
                                            _("Give both coordinates, or neither.")))
        return
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        out.violations.append(RuleViolation("latitude", _("Coordinates are a latitude from -90 "
                                                          "to 90 and a longitude from -180 "
                                                          "to 180.")))
        return
    on_site = bool(city or address or lat is not None)
    if on_site and not city:
        out.violations.append(RuleViolation("city", _("Give the city where the event takes "
                                                      "place.")))
        return
    if on_site and country is None:
        out.violations.append(RuleViolation("country", _("Choose the country where the event "
                                                         "takes place.")))
        return
    if not on_site and not url:
        out.violations.append(RuleViolation("city", _("Give the place (city and country), the "
                                                      "online link, or both.")))
        return
    source = None
    if lat is not None:
        source = "manual"
    elif on_site:
        # Placed like labs: the configured geocoder (the gazetteer offline); the address
        # first, the city alone when the address is not known to it.
        place = (geocode(", ".join(p for p in (address, city) if p), country=country, now=now)
                 if address else None) or geocode(city, country=country, now=now)
        if place is not None:
            lat, lon, source = place.lat, place.lon, ("gazetteer" if place.source ==
                                                      "gazetteer" else "online")
    out.values.update(address=address, city=city, country=country, latitude=lat,
                      longitude=lon, coords_source=source, online_url=url or None)


def _check_numbers(fields: EventFields, out: _Checked, event: Event | None) -> None:
    capacity = fields.capacity
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        out.violations.append(RuleViolation("capacity", _("Give a number of seats from 1 to "
                                                          "%(max)s, or leave it "
                                                          "empty for no limit.",
                                                          max=format(MAX_CAPACITY, ","))))
    elif capacity is not None and event is not None and capacity < event.seats_taken:
        out.violations.append(RuleViolation("capacity", _("%(taken)d seats are "
                                                          "already taken: the capacity cannot "
                                                          "be lower.", taken=event.seats_taken)))
    out.values["capacity"] = capacity
    out.values["price_sme_cents"] = out.run(_cents, fields.price_sme, "price_sme")
    out.values["price_standard_cents"] = out.run(_cents, fields.price_standard,
                                                 "price_standard")
    currency = (fields.currency or "EUR").strip().upper()
    if currency not in CURRENCIES:
        out.violations.append(RuleViolation("currency", _("Choose a currency from the list.")))
    out.values["currency"] = currency
    offer = fields.offer_hours if fields.offer_hours is not None else 48
    if not 1 <= offer <= 24 * 14:
        out.violations.append(RuleViolation("offer_hours", _("Give from 1 to 336 hours (two "
                                                             "weeks).")))
    out.values["offer_hours"] = offer
    slot = fields.meeting_slot_minutes
    if slot is not None and not 5 <= slot <= 240:
        out.violations.append(RuleViolation("meeting_slot_minutes", _("Give a slot of 5 to 240 "
                                                                      "minutes, or leave it "
                                                                      "empty for no meetings.")))
    first, last = fields.meeting_day_start, fields.meeting_day_end
    if slot is not None and (first is None or last is None):
        out.violations.append(RuleViolation("meeting_day_start", _("Give the hours in which "
                                                                   "meetings take place.")))
    elif first is not None and last is not None and last <= first:
        out.violations.append(RuleViolation("meeting_day_end", _("Meetings must end after "
                                                                 "they start.")))
    out.values.update(meeting_slot_minutes=slot,
                      meeting_day_start=first if slot is not None else None,
                      meeting_day_end=last if slot is not None else None)


def _check(fields: EventFields, *, event: Event | None, now: datetime) -> _Checked:
    out = _Checked()
    if fields.kind not in EVENT_KINDS:
        out.violations.append(RuleViolation("kind", _("Choose the kind of event.")))
    out.values["kind"] = fields.kind
    out.values["title"] = out.run(clean_text, fields.title, "title", label=_("The title"),
                                  limit=200, required=_("Enter the event's title."))
    out.values["description"] = out.run(clean_text, fields.description, "description",
                                        label=_("The description"), limit=20000, one_line=False)
    out.values["prerequisites"] = out.run(clean_text, fields.prerequisites, "prerequisites",
                                          label=_("The prerequisites"), limit=5000,
                                          one_line=False)
    language = (fields.language or "").strip().lower()
    if language not in LANGUAGES:
        out.violations.append(RuleViolation("language", _("Choose the language the event is "
                                                           "held in.")))
    out.values["language"] = language
    _check_times(fields, out)
    _check_place(fields, out, now)
    _check_numbers(fields, out, event)
    out.values["questions"] = out.run(_check_questions, fields.questions)
    out.kets = out.run(check_kets, fields.ket_codes) or []
    raise_all(out.violations)
    typed = (fields.slug or "").strip().lower()
    start = out.values["starts_at"]
    wanted = typed or f"{slugify(out.values['title'], max_len=100)}-{start:%Y-%m}"
    out.values["slug"] = unique_slug(Event, wanted, own_id=event.id if event else None,
                                     typed=bool(typed), reserved=RESERVED_SLUGS)
    return out


def _apply(event: Event, out: _Checked) -> None:
    for key, value in out.values.items():
        setattr(event, key, value)


def _replace_children(event: Event, out: _Checked) -> None:
    db.session.execute(delete(EventSession).where(EventSession.event_id == event.id))
    db.session.execute(delete(EventKet).where(EventKet.event_id == event.id))
    db.session.add_all(EventSession(event_id=event.id, starts_at=start, ends_at=end,
                                    title=title) for start, end, title in out.sessions)
    db.session.add_all(EventKet(event_id=event.id, ket_code=code) for code in out.kets)


Organiser = Lab | Network | Project


def _organiser_row(event_id: int, organiser: Organiser) -> EventOrganiser:
    if isinstance(organiser, Lab):
        return EventOrganiser(event_id=event_id, lab_id=organiser.id)
    if isinstance(organiser, Network):
        return EventOrganiser(event_id=event_id, network_id=organiser.id)
    return EventOrganiser(event_id=event_id, project_id=organiser.id)


def create_event(actor: User, organiser: Organiser, fields: EventFields, *,
                 now: datetime) -> Event:
    """A new draft event organised by ``organiser`` (a lab, network or project).

    :raises PermissionDenied: unless the actor may organise for ``organiser``.
    :raises RuleViolations: one per field whose value breaks a rule (module note).
    """
    if not permissions.can_organise_for(actor, organiser):
        raise PermissionDenied("can_organise_for")
    out = _check(fields, event=None, now=now)
    event = Event(status="draft", seats_taken=0, created_by_id=actor.id, created_at=now,
                  updated_at=now)
    _apply(event, out)
    db.session.add(event)
    db.session.flush()
    _replace_children(event, out)
    db.session.add(_organiser_row(event.id, organiser))
    audit.record(actor, "event.created", "event", event.id, now=now, slug=event.slug)
    db.session.flush()
    return event


def _require_edit(actor: Any, event: Event) -> None:
    if not permissions.can_edit_event(actor, event):
        raise PermissionDenied("can_edit_event")
    if event.status == "cancelled":
        raise RuleViolation(None, _("This event was cancelled; it can no longer be changed."),
                            409)


def update_event(actor: User, event: Event, fields: EventFields, *, now: datetime) -> Event:
    """Change an event's fields, sessions and KET areas (its organisers stay).

    :raises PermissionDenied: unless the actor may edit the event.
    :raises RuleViolation: (409) when the event was cancelled.
    :raises RuleViolations: one per field whose value breaks a rule.
    """
    _require_edit(actor, event)
    out = _check(fields, event=event, now=now)
    before = event.capacity
    _apply(event, out)
    event.updated_at = now
    event.sequence += 1
    _replace_children(event, out)
    audit.record(actor, "event.updated", "event", event.id, now=now)
    db.session.flush()
    db.session.expire(event, ["sessions", "ket_links"])
    if before is not None and (event.capacity is None or event.capacity > before):
        notify.seats_added(event, now)  # offered now, not at the job's next run
    return event


def publish_event(actor: User, event: Event, *, now: datetime) -> Event:
    """Publish a draft: it appears on ``/events``, its organisers' pages and the feeds.

    :raises PermissionDenied: unless the actor may edit the event.
    :raises RuleViolation: (409) when it is not a draft, or has already ended.
    """
    _require_edit(actor, event)
    if event.status != "draft":
        raise RuleViolation(None, _("This event is already published."), 409)
    if event.ends_at <= now:
        raise RuleViolation(None, _("This event has already ended; change its sessions "
                                    "before publishing it."), 409)
    event.status = "published"
    event.published_at = now
    event.updated_at = now
    event.sequence += 1
    audit.record(actor, "event.published", "event", event.id, now=now)
    db.session.flush()
    return event


def cancel_event(actor: User, event: Event, reason: str, *, now: datetime) -> list[str]:
    """Cancel an event and tell the registered people why (:func:`notify.event_cancelled`,
    in this transaction); answers the addresses told.

    :raises PermissionDenied: unless the actor may edit the event.
    :raises RuleViolation: (409) when already cancelled; on ``reason`` when a published
        event is cancelled without one (the people told deserve to know why).
    """
    _require_edit(actor, event)
    text = clean_text(reason, "reason", label=_("The reason"), limit=2000, one_line=False)
    if event.status == "published" and not text:
        raise RuleViolation("reason", _("Say why the event is cancelled: the registered "
                                        "people are told."))
    event.status = "cancelled"
    event.cancelled_at = now
    event.cancel_reason = text
    event.updated_at = now
    event.sequence += 1
    audit.record(actor, "event.cancelled", "event", event.id, now=now, reason=text)
    db.session.flush()
    return notify.event_cancelled(event, now)


def resolve_organiser(kind: str, slug: str) -> Organiser | None:
    """The lab, network or project with this address name."""
    model: Any = {"lab": Lab, "network": Network, "project": Project}.get(kind)
    if model is None or not slug:
        return None
    return db.session.scalar(select(model).where(model.slug == slug.strip().lower()))


def add_organiser(actor: User, event: Event, kind: str, slug: str, *,
                  now: datetime) -> EventOrganiser:
    """Add a co-organiser: the event then appears on its page, and its managers may edit it.

    :raises PermissionDenied: unless the actor may edit the event.
    :raises RuleViolation: on ``organiser`` when it is unknown, already an organiser, or
        one the actor may not organise for (its own managers add it).
    """
    _require_edit(actor, event)
    organiser = resolve_organiser(kind, slug)
    if organiser is None or (isinstance(organiser, Network)
                             and not permissions.can_view_network(actor, organiser)):
        raise RuleViolation("organiser", _("Choose a lab, network or project by its address "
                                           "name (as in its page's address)."))
    if not permissions.can_organise_for(actor, organiser):
        raise RuleViolation("organiser", _("Only those who run %(name)s may add it "
                                           "as an organiser.", name=_name(organiser)))
    row = _organiser_row(event.id, organiser)
    column = {"lab": EventOrganiser.lab_id, "network": EventOrganiser.network_id,
              "project": EventOrganiser.project_id}[kind]
    exists = select(EventOrganiser.id).where(EventOrganiser.event_id == event.id,
                                             column == organiser.id)
    if db.session.scalar(exists) is not None:
        raise RuleViolation("organiser", _("%(name)s already organises this event.",
                                             name=_name(organiser)))
    db.session.add(row)
    audit.record(actor, "event.organiser_added", "event", event.id, now=now, kind=kind,
                 organiser_id=organiser.id)
    db.session.flush()
    db.session.expire(event, ["organisers"])
    return row


def remove_organiser(actor: User, event: Event, organiser_id: int, *, now: datetime) -> None:
    """Remove one organiser; the last one stays.

    :raises PermissionDenied: unless the actor may edit the event.
    :raises RuleViolation: (409) when the row is not one of the event's, or the last one.
    """
    _require_edit(actor, event)
    rows = list(db.session.scalars(select(EventOrganiser).where(
        EventOrganiser.event_id == event.id)))
    if organiser_id not in {r.id for r in rows}:
        raise RuleViolation(None, _("This organiser is not (or no longer) on the event."), 409)
    if len(rows) == 1:
        raise RuleViolation(None, _("An event keeps at least one organiser."), 409)
    db.session.execute(delete(EventOrganiser).where(EventOrganiser.id == organiser_id))
    audit.record(actor, "event.organiser_removed", "event", event.id, now=now,
                 organiser_row=organiser_id)
    db.session.flush()
    db.session.expire(event, ["organisers"])


def _name(organiser: Organiser) -> str:
    return organiser.label if isinstance(organiser, Project) else organiser.name


# --- reads ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrganiserView:
    """One organiser of an event as lists show it (``id`` is the organiser row's)."""

    id: int
    kind: str  # lab | network | project
    slug: str
    name: str


def organisers_of(event_ids: list[int], actor: Any) -> dict[int, list[OrganiserView]]:
    """Each event's organisers (three queries at most, whatever the number of events). A
    members-only network the actor may not see is left out (DESIGN rule 6)."""
    result: dict[int, list[OrganiserView]] = {i: [] for i in event_ids}
    if not event_ids:
        return result
    base = select(EventOrganiser.id, EventOrganiser.event_id)
    for kind, model, column in (("lab", Lab, EventOrganiser.lab_id),
                                ("network", Network, EventOrganiser.network_id),
                                ("project", Project, EventOrganiser.project_id)):
        stmt = (base.add_columns(model.slug, model.name)
                .join(model, model.id == column).where(EventOrganiser.event_id.in_(event_ids)))
        if kind == "network":
            stmt = stmt.where(permissions.network_visible_condition(actor))
        if kind == "project":
            stmt = stmt.with_only_columns(EventOrganiser.id, EventOrganiser.event_id,
                                          Project.slug, Project.acronym, Project.name)
        for row in db.session.execute(stmt):
            if kind == "project":
                oid, event_id, slug, acronym, name = row
                name = f"{acronym} – {name}" if acronym else name
            else:
                oid, event_id, slug, name = row
            result[event_id].append(OrganiserView(oid, kind, slug, name))
    for views in result.values():
        views.sort(key=lambda v: v.id)
    return result


def load_event(event_id: int) -> Event:
    """An event with its sessions, organisers and KET areas loaded (for its page)."""
    return db.session.scalars(select(Event).options(
        selectinload(Event.sessions), selectinload(Event.organisers),
        selectinload(Event.ket_links)).where(Event.id == event_id)).one()


def editable_organisers(actor: Any) -> list[tuple[str, str, str]]:
    """(kind, slug, name) of the labs, networks and projects the actor may organise for:
    the choices of the "new event" and "add an organiser" forms."""
    from labnet.services.events.projects import managed_projects

    user = actor if isinstance(actor, User) else None
    if user is None:
        return []
    labs = db.session.scalars(permissions.managed_labs(user).limit(LIST_LIMIT)).all()
    networks = select(Network).order_by(Network.name).limit(LIST_LIMIT)
    if not user.is_admin:
        networks = networks.join(NetworkCoordinator,
                                 NetworkCoordinator.network_id == Network.id).where(
            NetworkCoordinator.user_id == user.id)
    return ([("lab", lab.slug, lab.name) for lab in labs]
            + [("network", n.slug, n.name) for n in db.session.scalars(networks)]
            + [("project", p.slug, p.label) for p in managed_projects(user)])


def local_span(event: Event) -> tuple[datetime, datetime]:
    """The event's start and end in its own zone (DESIGN rule 3)."""
    zone = ZoneInfo(event.timezone)
    return event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
