"""Lab managers publish: the lab profile and booking policy, opening hours, equipment, and
equipment import and export as CSV.

Rules owned here:
- only a lab's managers and admins change it or its equipment (DESIGN rule 6; checked
  first in every write through ``permissions.require``);
- bad input is refused with the field it concerns, in words a lab manager understands, and
  nothing is half-written (DESIGN rule 5): rates are between 0 and 100,000 per booking
  unit, the minimum booking length is not longer than the maximum, category and KET codes
  are known, time zones are IANA names, opening intervals close after they open and do not
  overlap on one day;
- an address is placed through the geocoding service on save; coordinates entered by hand
  win and are never overwritten by a later geocode (``services.geo``);
- retiring equipment never deletes it (bookings reference it), and ``Lab.equipment_count``
  counts the non-retired equipment after every write here (an atomic ``+ delta`` in SQL, so
  concurrent writers cannot lose an update);
- a CSV import writes every row or none, and lists each problem with its line and column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.models import (
    BookingUnit,
    Equipment,
    EquipmentCategory,
    EquipmentKet,
    EquipmentMode,
    EquipmentSpec,
    EquipmentStatus,
    KetArea,
    Lab,
    LabKet,
    LabKind,
    OpeningHours,
)
from labnet.models.lab import WEEKDAYS
from labnet.permissions import can_manage_lab, require
from labnet.services import audit, geo
from labnet.services.spreadsheet import safe_cell, unsafe_cell
from labnet.services.text import control_problem, text_problem

# Plausibility bounds. A rate above this per booking unit is a typo (a misplaced comma),
# not a price; the highest published tariffs are a few thousand euros per day.
MAX_RATE = Decimal("100000")
MAX_UNITS = 1000
MAX_BUFFER_MINUTES = 24 * 60
MAX_SPECS = 40
MAX_LEAD_HOURS = 24 * 365
MAX_ADVANCE_DAYS = 2 * 365
MAX_CANCEL_HOURS = 24 * 365
MAX_HOLD_HOURS = 24 * 30
MAX_INTERVALS_PER_DAY = 6
MAX_IMPORT_ROWS = 5000
CSV_MAX_BYTES = 1024 * 1024

# Currencies of the platform's area (EU, EFTA, UK, candidates) and USD.
CURRENCIES = (
    "EUR CHF GBP SEK NOK DKK ISK PLN CZK HUF RON BGN RSD MKD ALL BAM MDL GEL TRY UAH USD"
).split()

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

NOT_FOUND_MESSAGE = "No place found for this address — enter the coordinates"

_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


class RuleViolations(RuleViolation):
    """Several refusals at once (one per field), so a form shows every error in one go.

    ``field`` and ``message`` are those of the first; ``violations`` holds them all.
    """

    def __init__(self, violations: Sequence[RuleViolation]):
        first = violations[0]
        super().__init__(first.field, first.message)
        self.violations = list(violations)


@dataclass(frozen=True)
class ImportProblem:
    line: int
    column: int | None  # 1-based; None for a problem with the whole line
    column_name: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.column is not None:
            where += f", column {self.column} ({self.column_name})"
        return f"{where}: {self.message}"


class CsvImportError(RuleViolation):
    """An import refused as a whole: ``problems`` lists each one with its line and column."""

    def __init__(self, problems: Sequence[ImportProblem]):
        count = len(problems)
        super().__init__(
            "file",
            f"The file has {count} problem{'s' if count != 1 else ''}; nothing was imported. "
            "Correct them and upload the file again.",
        )
        self.problems = list(problems)


def _raise_all(violations: list[RuleViolation]) -> None:
    if violations:
        raise RuleViolations(violations)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone known to this system (``Europe/Rome``)."""
    return name in _zones()


def european_time_zones() -> list[str]:
    """The zones a form suggests (the others are accepted too)."""
    return sorted(z for z in _zones() if z.startswith(("Europe/", "Atlantic/")) or z == "UTC")


def _known(model: Any) -> set[str]:
    return set(db.session.scalars(select(model.code)))


def _check_length(problems: list[RuleViolation], name: str, value: str, limit: int,
                  label: str) -> None:
    # One line unless the field is free text (services.text: names reach mail subjects).
    message = text_problem(value, label=label, limit=limit,
                           one_line=name not in _MULTI_LINE_FIELDS)
    if message:
        problems.append(RuleViolation(name, message))


def _check_int(problems: list[RuleViolation], name: str, value: int | None, low: int, high: int,
               message: str) -> None:
    if value is None:
        problems.append(RuleViolation(name, "Enter a whole number."))
    elif not low <= value <= high:
        problems.append(RuleViolation(name, message))


def _unknown_codes(codes: Iterable[str], known: set[str]) -> list[str]:
    return [c for c in codes if c not in known]


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
# Free text that may span lines; every other text field of a lab or equipment is one line.
_MULTI_LINE_FIELDS = frozenset({"description", "capabilities"})
_TEXT_LIMITS = {
    "name": (200, "The name"),
    "contact_name": (120, "The contact name"),
    "contact_email": (254, "The e-mail address"),
    "contact_phone": (40, "The phone number"),
    "website": (300, "The website"),
    "address": (300, "The address"),
    "postal_code": (20, "The postal code"),
    "city": (120, "The city"),
    "description": (10000, "The description"),
    "capabilities": (10000, "The list of capabilities"),
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
        problems.append(RuleViolation("name", "Enter the lab's name."))
    for name, (limit, label) in _TEXT_LIMITS.items():
        _check_length(problems, name, getattr(profile, name), limit, label)
    if profile.kind_code not in _known(LabKind):
        problems.append(RuleViolation("kind_code", "Choose one of the listed kinds of lab."))
    if not re.fullmatch(r"[A-Z]{2}", profile.country or ""):
        problems.append(RuleViolation("country", "Choose the country from the list."))
    if not is_time_zone(profile.timezone):
        problems.append(RuleViolation(
            "timezone", f"“{profile.timezone[:64]}” is not a time zone name; use one such as "
            "Europe/Berlin or Europe/Lisbon."))
    unknown = _unknown_codes(profile.ket_codes, _known(KetArea))
    if unknown:
        problems.append(RuleViolation(
            "ket_codes", f"Unknown KET area code: {', '.join(unknown[:5])}."))
    _check_int(problems, "min_lead_hours", profile.min_lead_hours, 0, MAX_LEAD_HOURS,
               f"The lead time must be between 0 and {MAX_LEAD_HOURS} hours (a year).")
    _check_int(problems, "max_advance_days", profile.max_advance_days, 1, MAX_ADVANCE_DAYS,
               f"Bookings may open between 1 and {MAX_ADVANCE_DAYS} days ahead.")
    _check_int(problems, "cancel_deadline_hours", profile.cancel_deadline_hours, 0,
               MAX_CANCEL_HOURS,
               f"The cancellation deadline must be between 0 and {MAX_CANCEL_HOURS} hours.")
    _check_int(problems, "hold_hours", profile.hold_hours, 1, MAX_HOLD_HOURS,
               f"A pending request may hold its slot for 1 to {MAX_HOLD_HOURS} hours (30 days).")
    if (profile.lat is None) != (profile.lon is None):
        missing = "lon" if profile.lon is None else "lat"
        problems.append(RuleViolation(missing, "Enter both the latitude and the longitude."))
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
    _raise_all(_profile_problems(profile))

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
            raise RuleViolation("lat", NOT_FOUND_MESSAGE)
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
            raise RuleViolation(None, "A week has seven days (0 = Monday … 6 = Sunday).")
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            problems.append(RuleViolation(hours_field(weekday, 0, "opens"),
                                          f"At most {MAX_INTERVALS_PER_DAY} intervals a day."))
            continue
        day: list[tuple[int, time, time]] = []
        for slot, (opens, closes) in enumerate(intervals):
            if opens is None and closes is None:
                continue
            if opens is None:
                problems.append(RuleViolation(hours_field(weekday, slot, "opens"),
                                              "Enter the opening time too."))
            elif closes is None:
                problems.append(RuleViolation(hours_field(weekday, slot, "closes"),
                                              "Enter the closing time too."))
            elif closes <= opens:
                problems.append(RuleViolation(
                    hours_field(weekday, slot, "closes"),
                    f"Closes at {_hm(closes)}, which is not after it opens ({_hm(opens)})."))
            else:
                day.append((slot, opens, closes))
        day.sort(key=lambda r: r[1])
        latest: time | None = None  # the latest closing time so far, in opening order
        for slot, opens, closes in day:
            if latest is not None and opens < latest:
                problems.append(RuleViolation(
                    hours_field(weekday, slot, "opens"),
                    f"{_hm(opens)}–{_hm(closes)} overlaps another interval on "
                    f"{WEEKDAYS[weekday]} (open until {_hm(latest)})."))
            latest = closes if latest is None else max(latest, closes)
        rows.extend((weekday, opens, closes) for _, opens, closes in day)
    _raise_all(problems)

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


# ---------------------------------------------------------------------------------------
# Equipment


@dataclass(frozen=True)
class EquipmentData:
    """One piece of equipment as a manager describes it. ``specs`` are (key, value) rows in
    order; blank rows are dropped. Numbers are ``None`` when missing."""

    name: str
    category_code: str
    rate_industry: Decimal | None
    rate_sme: Decimal | None
    maker: str = ""
    model: str = ""
    description: str = ""
    booking_unit: str = BookingUnit.HOUR.value
    min_units: int | None = 1
    max_units: int | None = 8
    buffer_minutes: int | None = 0
    currency: str = "EUR"
    mode: str = EquipmentMode.OPERATOR_ASSISTED.value
    training_required: bool = False
    status: str = EquipmentStatus.ACTIVE.value
    ket_codes: tuple[str, ...] = ()
    specs: tuple[tuple[str, str], ...] = field(default=())


def spec_field(position: int, part: str) -> str:
    """The form field of one specification row: ``spec_field(2, "key") == "spec_keys-2"``."""
    return f"spec_{part}s-{position}"


def _check_rate(problems: list[RuleViolation], name: str, rate: Decimal | None,
                unit: str) -> None:
    if rate is None:
        problems.append(RuleViolation(name, "Enter the rate (0 if free)."))
    elif not rate.is_finite():
        problems.append(RuleViolation(name, "Enter an amount such as 150 or 150.50."))
    elif rate < 0:
        problems.append(RuleViolation(name, "A rate cannot be negative."))
    elif rate > MAX_RATE:
        problems.append(RuleViolation(
            name, f"{rate:,} per {unit} is not a plausible rate: the limit is "
            f"{MAX_RATE:,} per booking unit. Check the amount."))
    elif rate != rate.quantize(Decimal("0.01")):
        problems.append(RuleViolation(name, "Use at most two decimal places."))


def equipment_problems(data: EquipmentData, *, categories: set[str], kets: set[str]
                       ) -> list[RuleViolation]:
    """Every rule a piece of equipment breaks (empty when it is fine), one per field.

    ``categories`` and ``kets`` are the known codes (loaded once per import).
    """
    problems: list[RuleViolation] = []
    if not data.name.strip():
        problems.append(RuleViolation("name", "Enter the equipment's name."))
    _check_length(problems, "name", data.name, 200, "The name")
    _check_length(problems, "maker", data.maker, 120, "The maker")
    _check_length(problems, "model", data.model, 120, "The model")
    _check_length(problems, "description", data.description, 10000, "The description")
    if data.category_code not in categories:
        problems.append(RuleViolation(
            "category_code", f"Unknown equipment category “{data.category_code[:40]}”; "
            "choose one from the list."))
    if data.booking_unit not in set(BookingUnit):
        problems.append(RuleViolation("booking_unit", "Book by the hour, half day or day."))
    unit = data.booking_unit.replace("_", " ") if data.booking_unit in set(BookingUnit) else "unit"
    units = {"hour": "hours", "half day": "half days", "day": "days"}.get(unit, "units")
    _check_int(problems, "min_units", data.min_units, 1, MAX_UNITS,
               f"The minimum length must be between 1 and {MAX_UNITS} units.")
    _check_int(problems, "max_units", data.max_units, 1, MAX_UNITS,
               f"The maximum length must be between 1 and {MAX_UNITS} units.")
    if (data.min_units is not None and data.max_units is not None
            and 1 <= data.max_units < data.min_units <= MAX_UNITS):
        problems.append(RuleViolation(
            "min_units", f"The minimum ({data.min_units} {units}) is longer than the "
            f"maximum ({data.max_units} {units})."))
    _check_int(problems, "buffer_minutes", data.buffer_minutes, 0, MAX_BUFFER_MINUTES,
               f"The set-up buffer must be between 0 and {MAX_BUFFER_MINUTES} minutes (a day).")
    _check_rate(problems, "rate_industry", data.rate_industry, unit)
    _check_rate(problems, "rate_sme", data.rate_sme, unit)
    if data.currency not in CURRENCIES:
        problems.append(RuleViolation(
            "currency", f"Use a three-letter currency code such as EUR, CHF or GBP "
            f"(one of {', '.join(CURRENCIES)})."))
    if data.mode not in set(EquipmentMode):
        problems.append(RuleViolation(
            "mode", "Choose self-service, operator-assisted or request-only."))
    if data.status not in set(EquipmentStatus):
        problems.append(RuleViolation("status", "Choose active, maintenance or retired."))
    unknown = _unknown_codes(data.ket_codes, kets)
    if unknown:
        problems.append(RuleViolation(
            "ket_codes", f"Unknown KET area code: {', '.join(c[:16] for c in unknown[:5])}."))
    filled = [(i, k.strip(), v.strip()) for i, (k, v) in enumerate(data.specs)
              if k.strip() or v.strip()]
    if len(filled) > MAX_SPECS:
        problems.append(RuleViolation(spec_field(0, "key"),
                                      f"At most {MAX_SPECS} specifications."))
    seen: set[str] = set()
    for i, key, value in filled:
        if not key:
            problems.append(RuleViolation(spec_field(i, "key"), "Name this specification."))
        elif len(key) > 120:
            problems.append(RuleViolation(spec_field(i, "key"),
                                          "A specification name has at most 120 characters."))
        elif control_problem(key):
            problems.append(RuleViolation(spec_field(i, "key"), control_problem(key)))
        elif ":" in key:
            # The CSV format writes one "key: value" per line.
            problems.append(RuleViolation(spec_field(i, "key"),
                                          "A specification name cannot contain a colon."))
        elif key.lower() in seen:
            problems.append(RuleViolation(spec_field(i, "key"),
                                          f"“{key}” is listed twice."))
        seen.add(key.lower())
        if not value:
            problems.append(RuleViolation(spec_field(i, "value"), "Enter the value."))
        elif control_problem(value):
            problems.append(RuleViolation(spec_field(i, "value"), control_problem(value)))
        elif len(value) > 500:
            problems.append(RuleViolation(spec_field(i, "value"),
                                          "A value is one line of at most 500 characters."))
    return problems


def _apply(item: Equipment, data: EquipmentData) -> list[str]:
    """Copy ``data`` onto ``item`` (collections loaded); returns the names that changed."""
    changed = []
    for name in ("name", "category_code", "maker", "model", "description", "booking_unit",
                 "min_units", "max_units", "buffer_minutes", "rate_industry", "rate_sme",
                 "currency", "mode", "training_required", "status"):
        value = getattr(data, name)
        if isinstance(value, str) and name != "description":
            value = value.strip()
        if getattr(item, name, None) != value:
            setattr(item, name, value)
            changed.append(name)
    specs = [(k.strip(), v.strip()) for k, v in data.specs if k.strip() or v.strip()]
    if [(s.key, s.value) for s in item.specs] != specs:
        item.specs = [EquipmentSpec(position=i, key=k, value=v) for i, (k, v) in enumerate(specs)]
        changed.append("specs")
    wanted = list(dict.fromkeys(data.ket_codes))
    if sorted(k.ket_code for k in item.ket_links) != sorted(wanted):
        have = {k.ket_code for k in item.ket_links}
        item.ket_links = [k for k in item.ket_links if k.ket_code in wanted] + [
            EquipmentKet(ket_code=c) for c in wanted if c not in have
        ]
        changed.append("ket_codes")
    return changed


def _counts(status: str | None) -> int:
    return 0 if status in (None, EquipmentStatus.RETIRED) else 1


def _adjust_equipment_count(lab_id: int, delta: int) -> None:
    if delta:
        # In SQL, so two managers adding equipment at once both count.
        db.session.execute(
            update(Lab).where(Lab.id == lab_id)
            .values(equipment_count=Lab.equipment_count + delta)
            .execution_options(synchronize_session="fetch")
        )


def _new_equipment(lab: Lab) -> Equipment:
    item = Equipment(lab_id=lab.id)
    item.specs = []
    item.ket_links = []
    return item


def _load_equipment(equipment_id: int) -> Equipment:
    return db.session.scalars(
        select(Equipment)
        .options(selectinload(Equipment.specs), selectinload(Equipment.ket_links))
        .where(Equipment.id == equipment_id)
        .execution_options(populate_existing=True)
    ).one()


def add_equipment(actor: Any, lab: Lab, data: EquipmentData, *, now: datetime) -> Equipment:
    """Add a piece of equipment to ``lab`` and count it (unless added as retired).

    DESIGN rules 5 and 6.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises RuleViolation: ``RuleViolations`` with one refusal per wrong field (rates,
        lengths, category, KET codes, currency, specifications).
    """
    require(can_manage_lab, actor, lab)
    _raise_all(equipment_problems(data, categories=_known(EquipmentCategory),
                                  kets=_known(KetArea)))
    item = _new_equipment(lab)
    _apply(item, data)
    db.session.add(item)
    db.session.flush()
    _adjust_equipment_count(lab.id, _counts(item.status))
    audit.record(actor, "equipment.added", "equipment", item.id, now=now, lab_id=lab.id)
    db.session.flush()
    return item


def update_equipment(actor: Any, equipment: Equipment, data: EquipmentData, *,
                     now: datetime) -> Equipment:
    """Change a piece of equipment; a change of status to or from retired updates the lab's
    equipment count (retired equipment is kept, never deleted). DESIGN rules 5 and 6.

    :raises PermissionDenied: unless the actor manages the equipment's lab or is an admin.
    :raises RuleViolation: ``RuleViolations`` with one refusal per wrong field.
    """
    lab = db.session.get(Lab, equipment.lab_id)
    require(can_manage_lab, actor, lab)
    _raise_all(equipment_problems(data, categories=_known(EquipmentCategory),
                                  kets=_known(KetArea)))
    item = _load_equipment(equipment.id)
    before = item.status
    changed = _apply(item, data)
    if changed:
        db.session.flush()
        _adjust_equipment_count(item.lab_id, _counts(item.status) - _counts(before))
        audit.record(actor, "equipment.updated", "equipment", item.id, now=now,
                     fields=changed)
        db.session.flush()
    return item


def retire_equipment(actor: Any, equipment: Equipment, *, now: datetime) -> bool:
    """Retire a piece of equipment: it stays in the database (bookings reference it), leaves
    the public pages and the lab's equipment count. Returns ``False`` if it was already
    retired. DESIGN rule 6 and "Retiring equipment never deletes its bookings".

    :raises PermissionDenied: unless the actor manages the equipment's lab or is an admin.
    """
    lab = db.session.get(Lab, equipment.lab_id)
    require(can_manage_lab, actor, lab)
    item = db.session.get(Equipment, equipment.id)
    assert item is not None
    if item.status == EquipmentStatus.RETIRED:
        return False
    item.status = EquipmentStatus.RETIRED
    db.session.flush()
    _adjust_equipment_count(item.lab_id, -1)
    audit.record(actor, "equipment.retired", "equipment", item.id, now=now, lab_id=item.lab_id)
    db.session.flush()
    return True


# ---------------------------------------------------------------------------------------
# CSV import and export

CSV_COLUMNS = (
    "id", "name", "category", "maker", "model", "description", "booking_unit", "min_units",
    "max_units", "buffer_minutes", "rate_industry", "rate_sme", "currency", "mode",
    "training_required", "status", "ket_codes", "specs",
)
REQUIRED_COLUMNS = ("name", "category", "rate_industry", "rate_sme")
# Service field → CSV column (the others share their name).
_FIELD_COLUMN = {"category_code": "category"}
_TEXT_COLUMNS = ("name", "maker", "model", "description", "specs")
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}

TEMPLATE_ROW = {
    "id": "",
    "name": "Scanning electron microscope (example row: replace it)",
    "category": "sem",
    "maker": "ZEISS",
    "model": "Sigma 300 VP",
    "description": "Imaging and EDS analysis of conductive and non-conductive samples.",
    "booking_unit": "hour",
    "min_units": "1",
    "max_units": "8",
    "buffer_minutes": "15",
    "rate_industry": "150.00",
    "rate_sme": "120.00",
    "currency": "EUR",
    "mode": "operator_assisted",
    "training_required": "no",
    "status": "active",
    "ket_codes": "AMN.CHR AMT.QC",
    "specs": "Resolution: 1.2 nm at 15 kV\nDetectors: SE, BSE, EDS",
}


def _write_csv(rows: Iterable[Mapping[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) if k in _TEXT_COLUMNS else v for k, v in row.items()})
    return out.getvalue()


def equipment_csv_template() -> str:
    """The import format: the header line and one example row."""
    return _write_csv([TEMPLATE_ROW])


def export_equipment_csv(actor: Any, lab: Lab) -> str:
    """All of the lab's equipment, retired included, in the import format (so a file
    exported, edited and imported again updates the same rows by ``id``). DESIGN rule 6.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    """
    require(can_manage_lab, actor, lab)
    items = db.session.scalars(
        select(Equipment)
        .options(selectinload(Equipment.specs), selectinload(Equipment.ket_links))
        .where(Equipment.lab_id == lab.id)
        .order_by(Equipment.id)
    )
    return _write_csv({
        "id": str(item.id), "name": item.name, "category": item.category_code,
        "maker": item.maker, "model": item.model, "description": item.description,
        "booking_unit": item.booking_unit, "min_units": str(item.min_units),
        "max_units": str(item.max_units), "buffer_minutes": str(item.buffer_minutes),
        "rate_industry": f"{item.rate_industry:.2f}", "rate_sme": f"{item.rate_sme:.2f}",
        "currency": item.currency, "mode": item.mode,
        "training_required": "yes" if item.training_required else "no",
        "status": item.status, "ket_codes": " ".join(k.ket_code for k in item.ket_links),
        "specs": "\n".join(f"{s.key}: {s.value}" for s in item.specs),
    } for item in items)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def _decode(content: bytes) -> str:
    if b"\x00" in content[:8192]:
        raise RuleViolation("file", "This is not a CSV file. Upload a .csv file saved from a "
                            "spreadsheet, or start from the template.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # What older spreadsheet programs write on Western European systems.
        return content.decode("cp1252")
    except UnicodeDecodeError:
        raise RuleViolation("file", "This file is not readable text. Save it as "
                            "“CSV UTF-8” and upload it again.") from None


def _parse_int(raw: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,9}", raw):
        raise ValueError("Enter a whole number.")
    return int(raw)


def _parse_decimal(raw: str) -> Decimal:
    text = raw.replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 150,50 written with a decimal comma
    if not _NUMBER_RE.fullmatch(text) or len(text) > 20:
        raise ValueError("Enter an amount such as 150 or 150.50.")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("Enter an amount such as 150 or 150.50.") from None


def _parse_bool(raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ValueError("Write yes or no.")


def _parse_specs(raw: str) -> tuple[tuple[str, str], ...]:
    specs = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"Write each specification as “name: value” on its own line "
                             f"(“{line.strip()[:40]}” has no colon).")
        specs.append((key.strip(), value.strip()))
    return tuple(specs)


_PARSERS = {"min_units": _parse_int, "max_units": _parse_int, "buffer_minutes": _parse_int,
            "rate_industry": _parse_decimal, "rate_sme": _parse_decimal,
            "training_required": _parse_bool, "specs": _parse_specs,
            "ket_codes": lambda raw: tuple(re.split(r"[\s,;]+", raw.strip())) if raw.strip()
            else ()}


def _column_of(field_name: str) -> str:
    if field_name.startswith("spec_"):
        return "specs"
    return _FIELD_COLUMN.get(field_name, field_name)


def import_equipment_csv(actor: Any, lab: Lab, content: bytes, *, now: datetime,
                         max_bytes: int = CSV_MAX_BYTES) -> ImportResult:
    """Import equipment from CSV in the export format: a row with an ``id`` of this lab's
    equipment updates it, a row without one adds a new piece. Every row is checked before
    anything is written, so the import writes all rows or none. DESIGN rules 5 and 6.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises RuleViolation: on ``file`` when the file is too large or not a CSV file.
    :raises CsvImportError: listing every problem with its line and column.
    """
    require(can_manage_lab, actor, lab)
    if len(content) > max_bytes:
        raise RuleViolation("file", f"The file is larger than {max_bytes // 1024:,} KB; "
                            "split it into smaller files.")
    if not content.strip():
        raise RuleViolation("file", "The file is empty.")
    text = _decode(content)
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many European locales save with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[ImportProblem] = []
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (csv.Error, StopIteration):
        raise RuleViolation("file", "This is not a CSV file. Start from the template.") from None
    for index, name in enumerate(header, 1):
        if name not in CSV_COLUMNS:
            problems.append(ImportProblem(1, index, name[:40],
                                          f"Unknown column “{name[:40]}”; the columns are "
                                          f"{', '.join(CSV_COLUMNS)}."))
        elif header.index(name) != index - 1:
            problems.append(ImportProblem(1, index, name, "This column appears twice."))
    for name in REQUIRED_COLUMNS:
        if name not in header:
            problems.append(ImportProblem(1, None, name, f"The column “{name}” is missing."))
    if problems:
        if not any(h in CSV_COLUMNS for h in header):
            raise RuleViolation("file", "This is not a LabNet equipment file: its first line "
                                "must name the columns. Start from the template.")
        raise CsvImportError(problems)

    categories, kets = _known(EquipmentCategory), _known(KetArea)
    existing = {
        item.id: item for item in db.session.scalars(
            select(Equipment)
            .options(selectinload(Equipment.specs), selectinload(Equipment.ket_links))
            .where(Equipment.lab_id == lab.id)
        )
    }
    position = {name: i + 1 for i, name in enumerate(header)}
    planned: list[tuple[int | None, EquipmentData]] = []
    seen_ids: dict[int, int] = {}
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(ImportProblem(start, None, "", f"This line cannot be read ({exc})."))
            break
        line = start
        if not any(c.strip() for c in cells):
            continue
        if len(planned) >= MAX_IMPORT_ROWS:
            problems.append(ImportProblem(line, None, "",
                                          f"At most {MAX_IMPORT_ROWS} rows per file."))
            break
        if len(cells) != len(header):
            problems.append(ImportProblem(
                line, None, "", f"This line has {len(cells)} cells, the header {len(header)}."))
            continue
        row = {name: unsafe_cell(value.strip()) if name in _TEXT_COLUMNS else value.strip()
               for name, value in zip(header, cells, strict=True)}
        for name in ("booking_unit", "mode", "status"):
            if name in row:  # "Half day", "operator-assisted" → half_day, operator_assisted
                row[name] = re.sub(r"[\s-]+", "_", row[name].lower())
        if "currency" in row:
            row["currency"] = row["currency"].upper()
        values: dict[str, Any] = {}
        row_problems: list[ImportProblem] = []
        for name, raw in row.items():
            parser = _PARSERS.get(name)
            if parser is None or (raw == "" and name not in ("training_required", "specs",
                                                             "ket_codes")):
                continue
            try:
                values[name] = parser(raw)
            except ValueError as exc:
                row_problems.append(ImportProblem(line, position[name], name, str(exc)))
        equipment_id = None
        if row.get("id"):
            try:
                equipment_id = _parse_int(row["id"])
            except ValueError as exc:
                row_problems.append(ImportProblem(line, position["id"], "id", str(exc)))
            else:
                if equipment_id not in existing:
                    row_problems.append(ImportProblem(
                        line, position["id"], "id",
                        f"This lab has no equipment with id {equipment_id}; leave the id "
                        "empty to add a new piece."))
                elif equipment_id in seen_ids:
                    row_problems.append(ImportProblem(
                        line, position["id"], "id",
                        f"Id {equipment_id} was already used on line {seen_ids[equipment_id]}."))
                else:
                    seen_ids[equipment_id] = line
        if row_problems:
            problems.extend(row_problems)
            continue
        base = _data_of(existing[equipment_id]) if equipment_id else EquipmentData(
            name="", category_code="", rate_industry=None, rate_sme=None)
        given = {k: v for k, v in row.items() if k in header and v != ""}
        data = EquipmentData(**{
            **{f.name: getattr(base, f.name) for f in fields(EquipmentData)},
            **{("category_code" if k == "category" else k): v for k, v in given.items()
               if k not in _PARSERS and k != "id"},
            **values,
        })
        for violation in equipment_problems(data, categories=categories, kets=kets):
            column = _column_of(violation.field or "")
            problems.append(ImportProblem(line, position.get(column), column,
                                          violation.message))
        planned.append((equipment_id, data))
    if problems:
        raise CsvImportError(problems)
    if not planned:
        raise RuleViolation("file", "The file has no equipment rows under its header.")

    created = updated = delta = 0
    for equipment_id, data in planned:
        if equipment_id:
            item = existing[equipment_id]
            before = item.status
            if _apply(item, data):
                updated += 1
                delta += _counts(item.status) - _counts(before)
        else:
            item = _new_equipment(lab)
            _apply(item, data)
            db.session.add(item)
            created += 1
            delta += _counts(item.status)
    db.session.flush()
    _adjust_equipment_count(lab.id, delta)
    audit.record(actor, "equipment.imported", "lab", lab.id, now=now, created=created,
                 updated=updated)
    db.session.flush()
    return ImportResult(created=created, updated=updated)


def _data_of(item: Equipment) -> EquipmentData:
    return EquipmentData(
        name=item.name, category_code=item.category_code, rate_industry=item.rate_industry,
        rate_sme=item.rate_sme, maker=item.maker, model=item.model,
        description=item.description, booking_unit=item.booking_unit,
        min_units=item.min_units, max_units=item.max_units,
        buffer_minutes=item.buffer_minutes, currency=item.currency, mode=item.mode,
        training_required=item.training_required, status=item.status,
        ket_codes=tuple(k.ket_code for k in item.ket_links),
        specs=tuple((s.key, s.value) for s in item.specs),
    )


def data_of(equipment: Equipment) -> EquipmentData:
    """The equipment's current values (to prefill a form)."""
    return _data_of(_load_equipment(equipment.id))
