"""Demo and synthetic data.

``seed_demo`` loads the 58 real centres of the demo set (DOMAIN.md §5) with plausible
equipment and the four demo accounts; it is idempotent. ``seed_synthetic`` bulk-inserts a
deterministic catalogue at benchmark scale (10,000 labs and 100,000 pieces of equipment in
seconds on SQLite) with Core ``executemany`` inserts, reporting progress through a callback.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from labnet import data, security
from labnet.extensions import db
from labnet.models import (
    Equipment,
    EquipmentKet,
    EquipmentSpec,
    Lab,
    LabKet,
    LabManager,
    OpeningHours,
    Organisation,
    OrgKind,
    Role,
    SizeClass,
    User,
    UserRole,
)
from labnet.services.accounts import slugify
from labnet.services.taxonomy import sync_taxonomies

DEMO_PASSWORD = "labnet-demo"  # noqa: S105 - documented demo password, demo accounts only
DEMO_ACCOUNTS = (
    ("sme@labnet.example", "Sofia Meyer", "member of Demo Precision Parts GmbH (a small company)"),
    ("manager@labnet.example", "Marco Rossi",
     "lab manager of Fraunhofer ILT, Fraunhofer IPT and Fraunhofer ISE"),
    ("coordinator@labnet.example", "Claire Dubois", "network coordinator"),
    ("admin@labnet.example", "Anna Nowak", "admin"),
)
MANAGED_DEMO_LABS = ("fraunhofer-ilt", "fraunhofer-ipt", "fraunhofer-ise")

Progress = Callable[[str, int, int], None]


def _noop(_stage: str, _done: int, _total: int) -> None:
    pass


def _jitter(rng: random.Random, value: float, spread: float = 0.012) -> float:
    # About ±1 km, so labs in one city do not sit on one marker.
    return round(value + rng.uniform(-spread, spread), 5)


def _rate(rng: random.Random, band: dict[str, Any]) -> Decimal:
    low, high = float(band["min"]), float(band["max"])
    step = 5 if high >= 20 else 1
    return Decimal(int(rng.uniform(low, high) / step) * step or step)


def _max_units(unit: str, min_units: int) -> int:
    return max(min_units, {"hour": 10, "half_day": 4, "day": 5}.get(unit, 8))


HOURS_PATTERNS = (
    ((time(8), time(12)), (time(13), time(17))),
    ((time(8), time(18)),),
    ((time(7, 30), time(16, 30)),),
    ((time(9), time(12, 30)), (time(13, 30), time(17, 30))),
)


def _opening_rows(rng: random.Random, lab_id: int) -> list[dict[str, Any]]:
    pattern = rng.choice(HOURS_PATTERNS)
    days = range(5) if rng.random() < 0.85 else range(6)
    return [
        {"lab_id": lab_id, "weekday": d, "opens_at": o, "closes_at": c}
        for d in days
        for o, c in pattern
    ]


def _equipment_row(rng: random.Random, lab_id: int, cat: dict[str, Any], n: int,
                   now: datetime) -> dict[str, Any]:
    example = rng.choice(cat["examples"])
    industry = _rate(rng, cat["rate_band"])
    unit = cat["booking_unit"]
    modes = list(cat["modes"])
    mode = rng.choice(modes)
    if rng.random() < 0.05:
        mode = "request_only"
    short = cat["name"].split(" (")[0]
    return {
        "lab_id": lab_id,
        "category_code": cat["code"],
        "name": short + (f" #{n}" if n > 1 else ""),
        "maker": example["maker"],
        "model": example["model"],
        "description": f"{cat['name']}. Available to external users "
                       f"{'after training' if mode == 'self_service' else 'with our operators'}.",
        "booking_unit": unit,
        "min_units": int(cat.get("min_units", 1)),
        "max_units": _max_units(unit, int(cat.get("min_units", 1))),
        "buffer_minutes": rng.choice((0, 0, 15, 30)) if unit == "hour" else 0,
        "rate_industry": industry,
        "rate_sme": (industry * Decimal(rng.choice((70, 75, 80, 85))) / 100).quantize(
            Decimal("1")),
        "currency": "EUR",
        "mode": mode,
        "training_required": mode == "self_service",
        "status": "active" if rng.random() < 0.93 else "maintenance",
        "created_at": now,
        "updated_at": now,
    }


def _org(name: str, kind: str, country: str, *, size: str | None = None,
         domain: str | None = None) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.name_key == name.lower()))
    if org is None:
        org = Organisation(name=name, name_key=name.lower(), slug=slugify(name), kind=kind,
                           size_class=size, country=country, email_domain=domain)
        db.session.add(org)
        db.session.flush()
    return org


def seed_demo(*, now: datetime, progress: Progress = _noop) -> dict[str, int]:
    """Load the demo centres, their equipment and the demo accounts (idempotent)."""
    sync_taxonomies()
    categories = {c["code"]: c for c in data.equipment_categories()}
    centres = data.demo_centres()
    existing = set(db.session.scalars(select(Lab.slug)))
    added_labs = added_equipment = 0
    for i, centre in enumerate(centres, start=1):
        progress("labs", i, len(centres))
        if centre["slug"] in existing:
            continue
        rng = random.Random(zlib.crc32(centre["slug"].encode()))
        org = _org(centre["organisation"], centre["organisation_kind"], centre["country"])
        created = now - timedelta(days=len(centres) - i)  # keep the list's order as "newest"
        lab = Lab(
            organisation_id=org.id, slug=centre["slug"], name=centre["name"],
            kind_code=centre["kind"], description=centre["description"],
            capabilities="\n".join(centre["capabilities"]), city=centre["city"],
            country=centre["country"], lat=_jitter(rng, centre["lat"]),
            lon=_jitter(rng, centre["lon"]), coords_source="seed",
            timezone=centre["timezone"], is_published=True,
            requires_approval=rng.random() < 0.75, min_lead_hours=rng.choice((24, 48, 72)),
            max_advance_days=rng.choice((90, 180, 365)),
            cancel_deadline_hours=rng.choice((24, 48)), hold_hours=rng.choice((48, 72)),
            created_at=created, updated_at=created,
        )
        db.session.add(lab)
        db.session.flush()
        for code in [*centre["kets"], *centre["ket_subareas"]]:
            db.session.add(LabKet(lab_id=lab.id, ket_code=code))
        db.session.execute(insert(OpeningHours), _opening_rows(rng, lab.id))
        count = 0
        for n, code in enumerate(centre["equipment_categories"]):
            cat = categories[code]
            row = _equipment_row(rng, lab.id, cat, 1, now)
            item = Equipment(**row)
            item.specs = [
                EquipmentSpec(position=0, key="Year installed", value=str(rng.randint(2012, 2025))),
                EquipmentSpec(position=1, key="Category group", value=cat["group"]),
            ]
            item.ket_links = [EquipmentKet(ket_code=k) for k in cat["kets"]]
            db.session.add(item)
            if row["status"] != "retired":
                count += 1
            added_equipment += 1
            del n
        lab.equipment_count = count
        added_labs += 1
    db.session.flush()
    _demo_accounts(now)
    db.session.flush()
    return {"labs": added_labs, "equipment": added_equipment}


def _demo_accounts(now: datetime) -> None:
    password_hash = security.hash_password(DEMO_PASSWORD)
    office = _org("LabNet Network Office", OrgKind.CLUSTER, "BE", domain="labnet.example")
    sme = _org("Demo Precision Parts GmbH", OrgKind.COMPANY, "DE", size=SizeClass.SMALL)
    fraunhofer = db.session.scalar(
        select(Organisation).where(Organisation.name_key == "fraunhofer-gesellschaft")
    ) or office
    homes = {
        "sme@labnet.example": sme,
        "manager@labnet.example": fraunhofer,
        "coordinator@labnet.example": office,
        "admin@labnet.example": office,
    }
    for email, name, _what in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            continue
        user = User(email=email, full_name=name, password_hash=password_hash,
                    organisation_id=homes[email].id, email_confirmed_at=now, is_active=True)
        db.session.add(user)
        db.session.flush()
        if email.startswith("coordinator"):
            db.session.add(UserRole(user_id=user.id, role=Role.COORDINATOR, granted_at=now))
        if email.startswith("admin"):
            db.session.add(UserRole(user_id=user.id, role=Role.ADMIN, granted_at=now))
        if email.startswith("manager"):
            for lab_id in db.session.scalars(select(Lab.id).where(Lab.slug.in_(MANAGED_DEMO_LABS))):
                db.session.add(LabManager(lab_id=lab_id, user_id=user.id, granted_at=now))


def seed_synthetic(*, labs: int, equipment: int, seed: int, now: datetime,
                   progress: Progress = _noop, chunk: int = 5000) -> dict[str, int]:
    """Bulk-insert ``labs`` labs and ``equipment`` pieces of equipment, deterministically
    for a given ``seed``. Slugs carry the seed, so two seeds can share a database."""
    sync_taxonomies()
    rng = random.Random(seed)
    centres = data.demo_centres()
    categories = data.equipment_categories()
    kets = data.ket_areas()
    top = [k["code"] for k in kets if k["parent_code"] is None]
    subs = {t: [k["code"] for k in kets if k["parent_code"] == t] for t in top}
    kinds = [k["code"] for k in data.lab_kinds()]

    n_orgs = max(1, labs // 5)
    org_rows = []
    for i in range(n_orgs):
        centre = rng.choice(centres)
        name = f"Synthetic Organisation {seed}-{i:06d}"
        org_rows.append({"name": name, "name_key": name.lower(), "slug": f"syn-{seed}-org-{i}",
                         "kind": "rto", "size_class": None, "country": centre["country"],
                         "city": centre["city"], "address": "", "created_at": now,
                         "updated_at": now})
    _bulk(Organisation, org_rows, chunk, progress, "organisations")
    first_org = db.session.scalar(
        select(func.min(Organisation.id)).where(Organisation.slug.like(f"syn-{seed}-org-%"))
    )

    lab_rows, lab_ket_rows, hours_rows = [], [], []
    first_lab = (db.session.scalar(select(func.max(Lab.id))) or 0) + 1
    words = ("Applied", "Advanced", "Materials", "Photonics", "Bioprocess", "Digital", "Nano",
             "Manufacturing", "Testing", "Innovation", "Sensor", "Energy", "Quantum", "Robotics")
    for i in range(labs):
        centre = rng.choice(centres)
        lab_id = first_lab + i
        name = f"{rng.choice(words)} {rng.choice(words)} Lab {i:05d} {centre['city']}"
        lab_rows.append({
            "id": lab_id, "organisation_id": first_org + rng.randrange(n_orgs),
            "slug": f"syn-{seed}-lab-{i}", "name": name, "kind_code": rng.choice(kinds),
            "description": f"Synthetic lab near {centre['city']} for benchmarks.",
            "capabilities": "Testing\nPrototyping", "contact_name": "", "contact_email": "",
            "contact_phone": "", "website": "", "address": "", "postal_code": "",
            "city": centre["city"], "country": centre["country"], "nuts_code": None,
            "lat": _jitter(rng, centre["lat"], 0.6), "lon": _jitter(rng, centre["lon"], 0.6),
            "coords_source": "seed", "timezone": centre["timezone"],
            "is_published": rng.random() < 0.9, "requires_approval": True,
            "min_lead_hours": 24, "max_advance_days": 180, "cancel_deadline_hours": 24,
            "hold_hours": 72, "equipment_count": 0, "created_at": now, "updated_at": now,
        })
        chosen = rng.sample(top, rng.randint(1, 3))
        for t in chosen:
            lab_ket_rows.append({"lab_id": lab_id, "ket_code": t})
            lab_ket_rows.append({"lab_id": lab_id, "ket_code": rng.choice(subs[t])})
        hours_rows.extend(_opening_rows(rng, lab_id))
    _bulk(Lab, lab_rows, chunk, progress, "labs")
    _bulk(LabKet, lab_ket_rows, chunk, progress, "lab KET areas")
    _bulk(OpeningHours, hours_rows, chunk, progress, "opening hours")

    eq_rows, eq_ket_rows = [], []
    counts = [0] * labs
    first_eq = (db.session.scalar(select(func.max(Equipment.id))) or 0) + 1
    for j in range(equipment):
        idx = j % labs if j < labs else rng.randrange(labs)
        cat = rng.choice(categories)
        row = _equipment_row(rng, first_lab + idx, cat, 1, now)
        row["id"] = first_eq + j
        eq_rows.append(row)
        counts[idx] += 1
        for k in cat["kets"][:2]:
            eq_ket_rows.append({"equipment_id": row["id"], "ket_code": k})
    _bulk(Equipment, eq_rows, chunk, progress, "equipment")
    _bulk(EquipmentKet, eq_ket_rows, chunk, progress, "equipment KET areas")
    # Denormalised counts, in one statement per distinct value rather than one per lab.
    by_count: dict[int, list[int]] = {}
    for i, c in enumerate(counts):
        by_count.setdefault(c, []).append(first_lab + i)
    for c, ids in by_count.items():
        for k in range(0, len(ids), 900):
            db.session.execute(
                Lab.__table__.update().where(Lab.id.in_(ids[k:k + 900])).values(equipment_count=c)
            )
    _advance_sequences("organisation", "lab", "equipment")
    db.session.flush()
    return {"organisations": n_orgs, "labs": labs, "equipment": equipment}


def _advance_sequences(*tables: str) -> None:
    # Rows inserted with explicit ids leave PostgreSQL's sequences behind; move them on.
    if db.session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    for table in tables:
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        ))


def _bulk(model: Any, rows: list[dict[str, Any]], chunk: int, progress: Progress,
          stage: str) -> None:
    total = len(rows)
    for start in range(0, total, chunk):
        db.session.execute(insert(model.__table__), rows[start:start + chunk])
        progress(stage, min(start + chunk, total), total)
    if total == 0:
        progress(stage, 0, 0)
