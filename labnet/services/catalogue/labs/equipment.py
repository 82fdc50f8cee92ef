"""Equipment of a lab: add, edit and retire it, with its specifications and KET areas.

Rules owned here:
- only a lab's managers and admins change its equipment (DESIGN rule 6;
  ``permissions.require`` first);
- bad input is refused with every wrong field at once, and nothing is half-written (DESIGN
  rule 5): rates are between 0 and 100,000 per booking unit with at most two decimals, the
  minimum booking length is not longer than the maximum, category and KET codes are known,
  the currency is one of ``CURRENCIES``, specifications are named once, one line each;
- retiring equipment never deletes it (bookings reference it), and ``Lab.equipment_count``
  counts the non-retired equipment after every write (an atomic ``+ delta`` in SQL, so
  concurrent writers cannot lose an update).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from labnet.errors import RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, number
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
)
from labnet.permissions import can_manage_lab, require
from labnet.services.catalogue.labs._checks import (
    check_int,
    check_length,
    known_codes,
    unknown_codes,
)
from labnet.services.common import audit
from labnet.services.common.text import control_problem

# Plausibility bounds. A rate above this per booking unit is a typo (a misplaced comma),
# not a price; the highest published tariffs are a few thousand euros per day.
MAX_RATE = Decimal("100000")
MAX_UNITS = 1000
MAX_BUFFER_MINUTES = 24 * 60
MAX_SPECS = 40

# Currencies of the platform's area (EU, EFTA, UK, candidates) and USD.
CURRENCIES = (
    "EUR CHF GBP SEK NOK DKK ISK PLN CZK HUF RON BGN RSD MKD ALL BAM MDL GEL TRY UAH USD"
).split()


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
    # For academic organisations; None: no academic rate (they pay the industry rate).
    rate_academic: Decimal | None = None


def spec_field(position: int, part: str) -> str:
    """The form field of one specification row: ``spec_field(2, "key") == "spec_keys-2"``."""
    return f"spec_{part}s-{position}"


def _too_high(unit: str, rate: Decimal) -> str:
    values = {"rate": number(rate), "max": number(MAX_RATE)}
    if unit == "hour":
        return _("%(rate)s per hour is not a plausible rate: the limit is %(max)s per booking "
                 "unit. Check the amount.", **values)
    if unit == "half day":
        return _("%(rate)s per half day is not a plausible rate: the limit is %(max)s per "
                 "booking unit. Check the amount.", **values)
    if unit == "day":
        return _("%(rate)s per day is not a plausible rate: the limit is %(max)s per booking "
                 "unit. Check the amount.", **values)
    return _("%(rate)s per unit is not a plausible rate: the limit is %(max)s per booking "
             "unit. Check the amount.", **values)


def _too_short(unit: str, low: int, high: int) -> str:
    if unit == "hour":
        return _("The minimum (%(min)s hours) is longer than the maximum (%(max)s hours).",
                 min=low, max=high)
    if unit == "half day":
        return _("The minimum (%(min)s half days) is longer than the maximum (%(max)s half "
                 "days).", min=low, max=high)
    if unit == "day":
        return _("The minimum (%(min)s days) is longer than the maximum (%(max)s days).",
                 min=low, max=high)
    return _("The minimum (%(min)s units) is longer than the maximum (%(max)s units).",
             min=low, max=high)


def _check_rate(problems: list[RuleViolation], name: str, rate: Decimal | None,
                unit: str) -> None:
    if rate is None:
        problems.append(RuleViolation(name, _("Enter the rate (0 if free).")))
    elif not rate.is_finite():
        problems.append(RuleViolation(name, _("Enter an amount such as 150 or 150.50.")))
    elif rate < 0:
        problems.append(RuleViolation(name, _("A rate cannot be negative.")))
    elif rate > MAX_RATE:
        problems.append(RuleViolation(name, _too_high(unit, rate)))
    elif rate != rate.quantize(Decimal("0.01")):
        problems.append(RuleViolation(name, _("Use at most two decimal places.")))


def equipment_problems(data: EquipmentData, *, categories: set[str], kets: set[str]
                       ) -> list[RuleViolation]:
    """Every rule a piece of equipment breaks (empty when it is fine), one per field.

    ``categories`` and ``kets`` are the known codes (loaded once per import).
    """
    problems: list[RuleViolation] = []
    if not data.name.strip():
        problems.append(RuleViolation("name", _("Enter the equipment's name.")))
    check_length(problems, "name", data.name, 200, _("The name"))
    check_length(problems, "maker", data.maker, 120, _("The maker"))
    check_length(problems, "model", data.model, 120, _("The model"))
    check_length(problems, "description", data.description, 10000, _("The description"))
    if data.category_code not in categories:
        problems.append(RuleViolation(
            "category_code", _("Unknown equipment category “%(code)s”; choose one from the "
                               "list.", code=data.category_code[:40])))
    if data.booking_unit not in set(BookingUnit):
        problems.append(RuleViolation("booking_unit", _("Book by the hour, half day or day.")))
    unit = data.booking_unit.replace("_", " ") if data.booking_unit in set(BookingUnit) else "unit"
    check_int(problems, "min_units", data.min_units, 1, MAX_UNITS,
               _("The minimum length must be between 1 and %(max)s units.", max=MAX_UNITS))
    check_int(problems, "max_units", data.max_units, 1, MAX_UNITS,
               _("The maximum length must be between 1 and %(max)s units.", max=MAX_UNITS))
    if (data.min_units is not None and data.max_units is not None
            and 1 <= data.max_units < data.min_units <= MAX_UNITS):
        problems.append(RuleViolation(
            "min_units", _too_short(unit, data.min_units, data.max_units)))
    check_int(problems, "buffer_minutes", data.buffer_minutes, 0, MAX_BUFFER_MINUTES,
               _("The set-up buffer must be between 0 and %(max)s minutes (a day).",
                 max=MAX_BUFFER_MINUTES))
    _check_rate(problems, "rate_industry", data.rate_industry, unit)
    _check_rate(problems, "rate_sme", data.rate_sme, unit)
    if data.rate_academic is not None:
        _check_rate(problems, "rate_academic", data.rate_academic, unit)
    if data.currency not in CURRENCIES:
        problems.append(RuleViolation(
            "currency", _("Use a three-letter currency code such as EUR, CHF or GBP (one of "
                          "%(codes)s).", codes=", ".join(CURRENCIES))))
    if data.mode not in set(EquipmentMode):
        problems.append(RuleViolation(
            "mode", _("Choose self-service, operator-assisted or request-only.")))
    if data.status not in set(EquipmentStatus):
        problems.append(RuleViolation("status", _("Choose active, maintenance or retired.")))
    unknown = unknown_codes(data.ket_codes, kets)
    if unknown:
        problems.append(RuleViolation(
            "ket_codes", _("Unknown KET area code: %(codes)s.",
                           codes=", ".join(c[:16] for c in unknown[:5]))))
    filled = [(i, k.strip(), v.strip()) for i, (k, v) in enumerate(data.specs)
              if k.strip() or v.strip()]
    if len(filled) > MAX_SPECS:
        problems.append(RuleViolation(spec_field(0, "key"),
                                      _("At most %(max)s specifications.", max=MAX_SPECS)))
    seen: set[str] = set()
    for i, key, value in filled:
        if not key:
            problems.append(RuleViolation(spec_field(i, "key"), _("Name this specification.")))
        elif len(key) > 120:
            problems.append(RuleViolation(spec_field(i, "key"),
                                          _("A specification name has at most 120 "
                                            "characters.")))
        elif key_problem := control_problem(key):
            problems.append(RuleViolation(spec_field(i, "key"), key_problem))
        elif ":" in key:
            # The CSV format writes one "key: value" per line.
            problems.append(RuleViolation(spec_field(i, "key"),
                                          _("A specification name cannot contain a "
                                            "colon.")))
        elif key.lower() in seen:
            problems.append(RuleViolation(spec_field(i, "key"),
                                          _("“%(name)s” is listed twice.", name=key)))
        seen.add(key.lower())
        if not value:
            problems.append(RuleViolation(spec_field(i, "value"), _("Enter the value.")))
        elif value_problem := control_problem(value):
            problems.append(RuleViolation(spec_field(i, "value"), value_problem))
        elif len(value) > 500:
            problems.append(RuleViolation(spec_field(i, "value"),
                                          _("A value is one line of at most 500 "
                                            "characters.")))
    return problems


def _apply(item: Equipment, data: EquipmentData) -> list[str]:
    """Copy ``data`` onto ``item`` (collections loaded); returns the names that changed."""
    changed = []
    for name in ("name", "category_code", "maker", "model", "description", "booking_unit",
                 "min_units", "max_units", "buffer_minutes", "rate_industry", "rate_sme",
                 "rate_academic", "currency", "mode", "training_required", "status"):
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
    raise_all(equipment_problems(data, categories=known_codes(EquipmentCategory),
                                  kets=known_codes(KetArea)))
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
    raise_all(equipment_problems(data, categories=known_codes(EquipmentCategory),
                                  kets=known_codes(KetArea)))
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


def _data_of(item: Equipment) -> EquipmentData:
    return EquipmentData(
        name=item.name, category_code=item.category_code, rate_industry=item.rate_industry,
        rate_sme=item.rate_sme, rate_academic=item.rate_academic, maker=item.maker,
        model=item.model,
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
