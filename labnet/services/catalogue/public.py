"""The public records of the catalogue: what the API shows anyone and the open-data dumps hold.

Rules owned here (DESIGN rule 6 and the open-data offer):
- only published labs (``permissions.listed_lab_condition``) and their equipment that is
  not retired are public; drafts never appear;
- a lab's record carries no person's contact details (no contact name, e-mail or phone):
  the lab page's contact form reaches the lab without showing an address;
- an accreditation is public only while currently valid (verified, its end at the lab's
  midnight still ahead: ``accreditation.validity.currently_valid``, the one rule every
  reader asks);
- networks: only public ones; members-only networks stay with ``permissions``' scopes;
- events: published ones (and, in the dumps, cancelled ones not yet ended, so a calendar
  that copied them learns of the cancellation); never drafts, the online link (registered
  people only), the organiser's questions, or who registered; a members-only network is
  left out of the organisers.

Lists are keyset-paginated by id (``after_id``), so a dump of 10,000 labs and 100,000
pieces of equipment is read in batches and never held in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select

from labnet.extensions import db
from labnet.models import (
    Accreditation,
    AccreditationScheme,
    Equipment,
    EquipmentCategory,
    EquipmentStatus,
    Event,
    EventKet,
    KetArea,
    Lab,
    LabKet,
    Network,
)
from labnet.permissions import listed_lab_condition
from labnet.services.accreditation.validity import currently_valid
from labnet.services.catalogue.search.words import driver_rows
from labnet.services.events.events import OrganiserView, organisers_of

BATCH = 1000
_zone = cache(ZoneInfo)


def lab_record(lab: Lab, ket_codes: list[str] | None = None) -> dict[str, Any]:
    """One lab as the API and the dumps show it: no person's contact details."""
    if ket_codes is None:  # the search's pages load the links; a single lab asks once
        ket_codes = (sorted(link.ket_code for link in lab.ket_links)
                     if "ket_links" in lab.__dict__ else lab_ket_codes([lab.id])[lab.id])
    return {
        "id": lab.id, "slug": lab.slug, "name": lab.name, "kind": lab.kind_code,
        "description": lab.description, "capabilities": lab.capabilities,
        "website": lab.website or None, "address": lab.address, "postal_code": lab.postal_code,
        "city": lab.city, "country": lab.country, "nuts_code": lab.nuts_code,
        "lat": lab.lat, "lon": lab.lon, "timezone": lab.timezone, "ket_areas": ket_codes,
        "equipment_count": lab.equipment_count, "requires_approval": lab.requires_approval,
    }


def equipment_record(item: Equipment, lab_slug: str) -> dict[str, Any]:
    """One piece of equipment as the API and the dumps show it (public rates included)."""
    return {
        "id": item.id, "lab": lab_slug, "name": item.name, "category": item.category_code,
        "maker": item.maker, "model": item.model, "description": item.description,
        "booking_unit": item.booking_unit, "min_units": item.min_units,
        "max_units": item.max_units, "mode": item.mode, "status": item.status,
        "training_required": item.training_required, "currency": item.currency,
        "rate_industry": str(item.rate_industry), "rate_sme": str(item.rate_sme),
        "rate_academic": None if item.rate_academic is None else str(item.rate_academic),
    }


def lab_ket_codes(lab_ids: list[int]) -> dict[int, list[str]]:
    """Each lab's KET area codes, sorted (one query; a lab without any: [])."""
    codes: dict[int, list[str]] = {i: [] for i in lab_ids}
    # Plain driver rows: a page's sixty-odd pairs need no Row objects.
    for lab_id, code in driver_rows(_ket_codes_statement(), {"lab_ids": list(lab_ids)}):
        codes[lab_id].append(code)
    return codes


@cache
def _ket_codes_statement() -> Any:
    # Built once: each page of /labs asks it, and building it cost more than running it.
    return (select(LabKet.lab_id, LabKet.ket_code)
            .where(LabKet.lab_id.in_(bindparam("lab_ids", expanding=True)))
            .order_by(LabKet.lab_id, LabKet.ket_code))


def iter_public_labs(batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Every published lab's record, by id, read ``batch`` at a time."""
    after = 0
    while True:
        labs = list(db.session.scalars(
            select(Lab).where(listed_lab_condition(), Lab.id > after)
            .order_by(Lab.id).limit(batch)))
        if not labs:
            return
        codes = lab_ket_codes([lab.id for lab in labs])
        for lab in labs:
            yield lab_record(lab, codes[lab.id])
        after = labs[-1].id
        db.session.expunge_all()  # keep memory flat over 10,000 labs


def public_equipment(*, lab_id: int | None = None) -> Select[tuple[Equipment, str]]:
    """Equipment that is not retired, of published labs, with its lab's slug, by id."""
    stmt = (select(Equipment, Lab.slug).join(Lab, Lab.id == Equipment.lab_id)
            .where(listed_lab_condition(), Equipment.status != EquipmentStatus.RETIRED)
            .order_by(Equipment.id))
    if lab_id is not None:
        stmt = stmt.where(Equipment.lab_id == lab_id)
    return stmt


def iter_public_equipment(batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Every public piece of equipment's record, by id, read ``batch`` at a time."""
    after = 0
    while True:
        rows = db.session.execute(public_equipment().where(Equipment.id > after)
                                  .limit(batch)).all()
        if not rows:
            return
        for item, slug in rows:
            yield equipment_record(item, slug)
        after = rows[-1][0].id
        db.session.expunge_all()


def valid_accreditations(now: datetime) -> Select[tuple[Accreditation, str, str]]:
    """Currently valid accreditations (``validity.currently_valid`` at ``now``) of published
    labs, with the lab's slug and the scheme's name, by id."""
    return (select(Accreditation, Lab.slug, AccreditationScheme.name)
            .join(Lab, Lab.id == Accreditation.lab_id)
            .join(AccreditationScheme, AccreditationScheme.code == Accreditation.scheme_code)
            .where(listed_lab_condition(), currently_valid(now))
            .order_by(Accreditation.id))


def accreditation_record(row: Accreditation, lab_slug: str, scheme_name: str) -> dict[str, Any]:
    """One valid accreditation as the API and the dumps show it."""
    return {
        "id": row.id, "lab": lab_slug, "scheme": row.scheme_code, "scheme_name": scheme_name,
        "certificate_no": row.certificate_no, "issuer": row.issuer, "scope": row.scope,
        "valid_from": row.valid_from.isoformat() if row.valid_from else None,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
    }


def network_record(network: Network) -> dict[str, Any]:
    """One network as the API shows it (callers pass only networks the asker may see)."""
    return {"id": network.id, "slug": network.slug, "name": network.name,
            "description": network.description, "ket_area": network.ket_code,
            "ecosystem": network.ecosystem, "visibility": network.visibility}


def ket_areas() -> list[dict[str, Any]]:
    """The KET areas, level-1 areas first, each with its parent's code."""
    return [{"code": k.code, "name": k.name, "parent": k.parent_code}
            for k in db.session.scalars(select(KetArea).order_by(
                KetArea.parent_code.is_not(None), KetArea.position, KetArea.code))]


def categories() -> list[dict[str, Any]]:
    """The equipment categories, in their shipped order."""
    return [{"code": c.code, "name": c.name, "group": c.group_name,
             "booking_unit": c.booking_unit}
            for c in db.session.scalars(select(EquipmentCategory)
                                        .order_by(EquipmentCategory.number))]


# --- events ---------------------------------------------------------------------------------


def _money(cents: int | None) -> str | None:
    return None if cents is None else f"{cents / 100:.2f}"


def event_record(event: Event, organisers: list[OrganiserView],
                 ket_codes: list[str]) -> dict[str, Any]:
    """One event as the API and the dumps show it: times in the event's zone with their
    offset, seats left, prices; never the online link, the questions or who registered."""
    zone = _zone(event.timezone)
    deadline = event.registration_deadline
    return {
        "id": event.id, "slug": event.slug, "title": event.title, "kind": event.kind,
        "status": event.status, "description": event.description,
        "language": event.language, "timezone": event.timezone,
        "starts_at": event.starts_at.astimezone(zone).isoformat(),
        "ends_at": event.ends_at.astimezone(zone).isoformat(),
        "address": event.address, "city": event.city, "country": event.country,
        "lat": event.latitude, "lon": event.longitude, "online": event.is_online,
        "capacity": event.capacity, "seats_left": event.seats_left,
        "registration_deadline": deadline.astimezone(zone).isoformat() if deadline else None,
        "price_sme": _money(event.price_sme_cents),
        "price_standard": _money(event.price_standard_cents), "currency": event.currency,
        "ket_areas": ket_codes,
        "organisers": [{"kind": o.kind, "slug": o.slug, "name": o.name} for o in organisers],
    }


def event_ket_codes(event_ids: list[int]) -> dict[int, list[str]]:
    """Each event's KET area codes (one query)."""
    codes: dict[int, list[str]] = {i: [] for i in event_ids}
    if event_ids:
        for event_id, code in db.session.execute(
                select(EventKet.event_id, EventKet.ket_code)
                .where(EventKet.event_id.in_(event_ids))
                .order_by(EventKet.event_id, EventKet.ket_code)):
            codes[event_id].append(code)
    return codes


def event_records(events: list[Event], actor: Any) -> list[dict[str, Any]]:
    """:func:`event_record` of each event, in four queries whatever their number."""
    ids = [e.id for e in events]
    organisers, codes = organisers_of(ids, actor), event_ket_codes(ids)
    return [event_record(e, organisers[e.id], codes[e.id]) for e in events]


def iter_public_events(now: datetime, batch: int = BATCH
                       ) -> Iterator[tuple[Event, list[OrganiserView], list[str]]]:
    """Every published or cancelled event not yet ended at ``now``, by id, with its
    organisers (as anyone sees them) and KET areas, read ``batch`` at a time."""
    after = 0
    while True:
        events = list(db.session.scalars(
            select(Event).where(Event.status.in_(("published", "cancelled")),
                                Event.ends_at > now, Event.id > after)
            .order_by(Event.id).limit(batch)))
        if not events:
            return
        ids = [e.id for e in events]
        organisers, codes = organisers_of(ids, None), event_ket_codes(ids)
        for event in events:
            yield event, organisers[event.id], codes[event.id]
        after = events[-1].id
        db.session.expunge_all()
