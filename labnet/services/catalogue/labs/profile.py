"""The lab profile: name, kind, contact, address and placing on the map, KET areas,
capabilities, booking policy, publishing, and the weekly opening hours.

Rules owned here:
- only a lab's managers and admins change it (DESIGN rule 6; ``permissions.require`` first);
- bad input is refused with every wrong field at once, and nothing is half-written (DESIGN
  rule 5): kind and KET codes are known, time zones are IANA names, booking-policy numbers
  are within their bounds, both coordinates or neither are entered;
- an address is placed through the geocoding service on save; coordinates entered by hand
  win and are never overwritten by a later geocode (``services.geo.geocoding``);
- opening intervals close after they open and do not overlap on one day (the booking engine
  relies on both, DESIGN rule 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, time
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from babel.dates import get_day_names
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from labnet.errors import RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, _l, current_language, locale_object
from labnet.models import KetArea, Lab, LabKet, LabKind, OpeningHours
from labnet.models.lab import WEEKDAYS
from labnet.permissions import can_manage_lab, require
from labnet.services.catalogue.labs._checks import (
    check_int,
    check_length,
    known_codes,
    unknown_codes,
)
from labnet.services.common import audit
from labnet.services.geo import geocoding as geo

MAX_LEAD_HOURS = 24 * 365
MAX_ADVANCE_DAYS = 2 * 365
MAX_CANCEL_HOURS = 24 * 365
MAX_HOLD_HOURS = 24 * 30
MAX_INTERVALS_PER_DAY = 6

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

NOT_FOUND_MESSAGE = _l("No place found for this address — enter the coordinates")


def _weekday_name(weekday: int) -> str:
    """Monday … Sunday in the reader's language (English: as stored)."""
    if current_language() == "en":
        return WEEKDAYS[weekday]
    return str(get_day_names("wide", locale=locale_object())[weekday])


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone known to this system (``Europe/Rome``)."""
    return name in _zones()


def european_time_zones() -> list[str]:
    """The zones a form suggests (the others are accepted too)."""
    return sorted(z for z in _zones() if z.startswith(("Europe/", "Atlantic/")) or z == "UTC")


# ---------------------------------------------------------------------------------------
# Lab profile and booking policy


@dataclass(frozen=True)
class LabProfile:
    """What a manager edits on the lab page. ``lat``/``lon`` are coordinates typed by hand
    (``None``, or the values already stored, mean "not entered")."""

    name: str
    kind_code: str
    country: str
    description: str = ""
    capabilities: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    website: str = ""
    address: str = ""
    postal_code: str = ""
    city: str = ""
    timezone: str = "Europe/Brussels"
    ket_codes: tuple[str, ...] = ()
    requires_approval: bool = True
    min_lead_hours: int | None = 24
    max_advance_days: int | None = 180
    cancel_deadline_hours: int | None = 24
    hold_hours: int | None = 72
    is_published: bool = False
    lat: float | None = None
    lon: float | None = None
    relocate: bool = False  # forget hand-entered coordinates and place from the address


_ADDRESS_FIELDS = ("address", "postal_code", "city", "country")
_TEXT_LIMITS = {
    "name": (200, _l("The name")),
    "contact_name": (120, _l("The contact name")),
    "contact_email": (254, _l("The e-mail address")),
    "contact_phone": (40, _l("The phone number")),
    "website": (300, _l("The website")),
    "address": (300, _l("The address")),
    "postal_code": (20, _l("The postal code")),
    "city": (120, _l("The city")),
    "description": (10000, _l("The description")),
    "capabilities": (10000, _l("The list of capabilities")),
}


@dataclass(frozen=True)
class ProfileSaved:
    """What became of the lab's point: ``geocode`` is ``None`` (nothing to place),
    ``"manual"`` (coordinates entered by hand), or the geocoder's status."""

    geocode: str | None
    place_name: str = ""
    # The place's zone when it differs from the lab's (the zone stays the manager's choice).
    suggested_timezone: str = ""


def get_lab_for_edit(lab: Lab) -> Lab:
    """Load the lab with the collections its edit pages show (KET links, opening hours)."""
    return db.session.scalars(
        select(Lab)
        .options(selectinload(Lab.ket_links), selectinload(Lab.opening_hours))
        .where(Lab.id == lab.id)
        .execution_options(populate_existing=True)
    ).one()


def profile_of(lab: Lab) -> LabProfile:
    """The lab's current values as a :class:`LabProfile` (to prefill a form)."""
    lab = get_lab_for_edit(lab)
    values = {f.name: getattr(lab, f.name) for f in fields(LabProfile)
              if f.name not in ("ket_codes", "relocate")}
    return LabProfile(**{**values, "ket_codes": tuple(k.ket_code for k in lab.ket_links)})


def _same_coordinate(a: float | None, b: float | None) -> bool:
    # Forms print floats back; a round trip through text must not count as an edit.
    return a is not None and b is not None and abs(a - b) < 1e-7


def _profile_problems(profile: LabProfile) -> list[RuleViolation]:
    problems: list[RuleViolation] = []
    if not profile.name.strip():
        problems.append(RuleViolation("name", _("Enter the lab's name.")))
    for name, (limit, label) in _TEXT_LIMITS.items():
        check_length(problems, name, getattr(profile, name), limit, label)
    if profile.kind_code not in known_codes(LabKind):
        problems.append(RuleViolation("kind_code", _("Choose one of the listed kinds of lab.")))
    if not re.fullmatch(r"[A-Z]{2}", profile.country or ""):
        problems.append(RuleViolation("country", _("Choose the country from the list.")))
    if not is_time_zone(profile.timezone):
        problems.append(RuleViolation(
            "timezone", _("“%(zone)s” is not a time zone name; use one such as Europe/Berlin "
                          "or Europe/Lisbon.", zone=profile.timezone[:64])))
    unknown = unknown_codes(profile.ket_codes, known_codes(KetArea))
    if unknown:
        problems.append(RuleViolation(
            "ket_codes", _("Unknown KET area code: %(codes)s.", codes=", ".join(unknown[:5]))))
    check_int(problems, "min_lead_hours", profile.min_lead_hours, 0, MAX_LEAD_HOURS,
               _("The lead time must be between 0 and %(max)s hours (a year).",
                 max=MAX_LEAD_HOURS))
    check_int(problems, "max_advance_days", profile.max_advance_days, 1, MAX_ADVANCE_DAYS,
               _("Bookings may open between 1 and %(max)s days ahead.", max=MAX_ADVANCE_DAYS))
    check_int(problems, "cancel_deadline_hours", profile.cancel_deadline_hours, 0,
               MAX_CANCEL_HOURS,
               _("The cancellation deadline must be between 0 and %(max)s hours.",
                 max=MAX_CANCEL_HOURS))
    check_int(problems, "hold_hours", profile.hold_hours, 1, MAX_HOLD_HOURS,
               _("A pending request may hold its slot for 1 to %(max)s hours (30 days).",
                 max=MAX_HOLD_HOURS))
    if (profile.lat is None) != (profile.lon is None):
        missing = "lon" if profile.lon is None else "lat"
        problems.append(RuleViolation(missing, _("Enter both the latitude and the longitude.")))
    return problems


def update_lab_profile(actor: Any, lab: Lab, profile: LabProfile, *, now: datetime
                       ) -> ProfileSaved:
    """Save a lab's profile, booking policy, KET areas and published flag, and place it.

    Coordinates typed by hand (different from those stored) are set through
    ``geo.set_manual_coordinates`` and are never replaced by a geocode later (unless the
    manager asks, ``relocate``). Otherwise the address is placed through ``geo.locate_lab``
    when it changed or the lab has no point.
    DESIGN rules 5 and 6.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises RuleViolation: on the field concerned (``RuleViolations`` when several fields
        are wrong; on ``lat`` when no place is found for the address).
    """
    require(can_manage_lab, actor, lab)
    lab = get_lab_for_edit(lab)
    raise_all(_profile_problems(profile))

    manual = profile.lat is not None and profile.lon is not None and not (
        _same_coordinate(profile.lat, lab.lat) and _same_coordinate(profile.lon, lab.lon)
    )
    address_changed = any(
        (getattr(profile, name) or "").strip() != (getattr(lab, name) or "")
        for name in _ADDRESS_FIELDS
    )
    changed: list[str] = []
    for f in fields(LabProfile):
        if f.name in ("ket_codes", "lat", "lon", "relocate"):
            continue
        value = getattr(profile, f.name)
        if isinstance(value, str):
            value = value.strip() if f.name not in ("description", "capabilities") else value
        if getattr(lab, f.name) != value:
            setattr(lab, f.name, value)
            changed.append(f.name)

    wanted = list(dict.fromkeys(profile.ket_codes))
    if [k.ket_code for k in lab.ket_links] != sorted(wanted):
        # Diff rather than replace: the link rows' primary key is (lab, code).
        lab.ket_links = [k for k in lab.ket_links if k.ket_code in wanted] + [
            LabKet(ket_code=c) for c in wanted if c not in {k.ket_code for k in lab.ket_links}
        ]
        changed.append("ket_codes")

    saved = ProfileSaved(geocode=None)
    if manual:
        geo.set_manual_coordinates(lab, profile.lat, profile.lon)  # type: ignore[arg-type]
        changed.append("coordinates")
        saved = ProfileSaved(geocode="manual")
    elif profile.relocate or address_changed or lab.lat is None:
        if profile.relocate:
            geo.clear_manual_coordinates(lab)
        result = geo.locate_lab(lab, now=now)
        if result.status == "not_found":
            raise RuleViolation("lat", str(NOT_FOUND_MESSAGE))
        place = result.place
        saved = ProfileSaved(
            geocode=result.status, place_name=place.label if place else "",
            suggested_timezone=place.timezone
            if place and place.timezone and place.timezone != lab.timezone else "",
        )
        if result.status in ("placed", "queued"):
            changed.append("coordinates")

    audit.record(actor, "lab.updated", "lab", lab.id, now=now, fields=sorted(changed),
                 geocode=saved.geocode)
    db.session.flush()
    return saved


# ---------------------------------------------------------------------------------------
# Opening hours

Interval = tuple[time | None, time | None]


def hours_field(weekday: int, slot: int, end: str) -> str:
    """The form field of one interval end: ``hours_field(0, 0, "closes") == "mon_1_closes"``."""
    return f"{DAY_KEYS[weekday]}_{slot + 1}_{end}"


def _hm(at: time) -> str:
    return at.strftime("%H:%M")


def set_opening_hours(actor: Any, lab: Lab, week: Mapping[int, Sequence[Interval]], *,
                      now: datetime) -> None:
    """Replace the lab's weekly opening hours, in the lab's local time.

    ``week`` maps a weekday (0 = Monday) to its intervals in form order; ``(None, None)``
    is an empty slot and a day without intervals is closed. Each interval closes after it
    opens and intervals of one day do not overlap (the booking engine relies on both,
    DESIGN rule 2). DESIGN rules 5 and 6.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises RuleViolation: on the field of the interval concerned (``mon_2_closes``), as
        ``RuleViolations`` listing every wrong interval.
    """
    require(can_manage_lab, actor, lab)
    problems: list[RuleViolation] = []
    rows: list[tuple[int, time, time]] = []
    for weekday, intervals in sorted(week.items()):
        if not 0 <= weekday <= 6:
            raise RuleViolation(None, _("A week has seven days (0 = Monday … 6 = Sunday)."))
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            problems.append(RuleViolation(hours_field(weekday, 0, "opens"),
                                          _("At most %(max)s intervals a day.",
                                            max=MAX_INTERVALS_PER_DAY)))
            continue
        day: list[tuple[int, time, time]] = []
        for slot, (opens, closes) in enumerate(intervals):
            if opens is None and closes is None:
                continue
            if opens is None:
                problems.append(RuleViolation(hours_field(weekday, slot, "opens"),
                                              _("Enter the opening time too.")))
            elif closes is None:
                problems.append(RuleViolation(hours_field(weekday, slot, "closes"),
                                              _("Enter the closing time too.")))
            elif closes <= opens:
                problems.append(RuleViolation(
                    hours_field(weekday, slot, "closes"),
                    _("Closes at %(closes)s, which is not after it opens (%(opens)s).",
                      closes=_hm(closes), opens=_hm(opens))))
            else:
                day.append((slot, opens, closes))
        day.sort(key=lambda r: r[1])
        latest: time | None = None  # the latest closing time so far, in opening order
        for slot, opens, closes in day:
            if latest is not None and opens < latest:
                problems.append(RuleViolation(
                    hours_field(weekday, slot, "opens"),
                    _("%(opens)s–%(closes)s overlaps another interval on %(day)s (open until "
                      "%(until)s).", opens=_hm(opens), closes=_hm(closes),
                      day=_weekday_name(weekday), until=_hm(latest))))
            latest = closes if latest is None else max(latest, closes)
        rows.extend((weekday, opens, closes) for _, opens, closes in day)
    raise_all(problems)

    lab = get_lab_for_edit(lab)
    before = sorted((h.weekday, h.opens_at, h.closes_at) for h in lab.opening_hours)
    after = sorted(rows)
    if before == after:
        return
    # Delete, flush, then insert: (lab, weekday, opens_at) is unique, and one flush would
    # insert the new rows before deleting the old ones.
    lab.opening_hours.clear()
    db.session.flush()
    lab.opening_hours.extend(OpeningHours(weekday=w, opens_at=o, closes_at=c)
                             for w, o, c in after)
    audit.record(actor, "lab.hours_set", "lab", lab.id, now=now,
                 hours=[f"{DAY_KEYS[w]} {_hm(o)}-{_hm(c)}" for w, o, c in after])
    db.session.flush()
