"""Demo and synthetic data.

``seed_demo`` loads the 58 real centres of the demo set (`labnet/data/demo/centres.yaml`)
with plausible equipment and the four demo accounts; it is idempotent. ``seed_synthetic``
bulk-inserts a deterministic catalogue at benchmark scale (10,000 labs and 100,000 pieces
of equipment in seconds on SQLite) with Core ``executemany`` inserts, reporting progress
through a callback.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, text, update

from labnet import data, security
from labnet.extensions import db
from labnet.models import (
    Booking,
    DemandSignal,
    Equipment,
    EquipmentKet,
    EquipmentSpec,
    KetArea,
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
from labnet.models.network import (
    Network,
    NetworkCoordinator,
    NetworkMember,
    NetworkStage,
    NetworkStageCategory,
    NetworkStageKet,
)
from labnet.models.request import LabRequest, RequestLab
from labnet.services.accounts.rules import slugify
from labnet.services.accreditation.demo import seed_demo_accreditations
from labnet.services.accreditation.label_seed import seed_demo_labels
from labnet.services.analytics.summary import summarise_activity
from labnet.services.booking import free_days
from labnet.services.catalogue.search import index as search_index
from labnet.services.catalogue.taxonomy import sync_taxonomies
from labnet.services.requests.workflow import seed_demo_requests
from labnet.services.seed_events import seed_demo_events

DEMO_PASSWORD = "labnet-demo"  # noqa: S105 - documented demo password, demo accounts only
DEMO_ACCOUNTS = (
    ("sme@labnet.example", "Sofia Meyer", "member of Demo Precision Parts GmbH (a small company); "
     "demo requests under My requests"),
    ("manager@labnet.example", "Marco Rossi",
     "lab manager of Fraunhofer ILT, Fraunhofer IPT and Fraunhofer ISE; "
     "answers requests in Request inbox"),
    ("coordinator@labnet.example", "Claire Dubois", "network coordinator"),
    ("verifier@labnet.example", "Viktor Horvat",
     "verifier: checks accreditation claims and scores excellence-label applications"),
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
    # The demo centres, then the two KIBS providers of the accreditation demo.
    centres = [*data.demo_centres(), *data.demo_accreditations()["kibs_centres"]]
    existing = set(db.session.scalars(select(Lab.slug)))
    added_labs = added_equipment = 0
    for i, centre in enumerate(centres, start=1):
        progress("labs", i, len(centres))
        if centre["slug"] in existing:
            # A demo database from before the labs had websites: the claim by an address at
            # the lab's domain needs one (services.catalogue.labs.claims).
            db.session.execute(update(Lab).where(Lab.slug == centre["slug"], Lab.website == "")
                               .values(website=centre.get("website", "")))
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
            timezone=centre["timezone"], is_published=True, website=centre.get("website", ""),
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
    # The demo SME's requests to the demo manager's labs, then the value chains and a year
    # of activity for the dashboard.
    seed_demo_requests(now=now)
    _demo_networks(now)
    # Projects, events, registrations and meetings between consortia.
    seed_demo_events(now=now, password=DEMO_PASSWORD, progress=progress)
    _demo_activity(now, progress)
    accreditations = seed_demo_accreditations(now=now, instance_path=current_app.instance_path)
    progress("demo accreditations", accreditations, accreditations)
    # The excellence label: a Gold and a Bronze label, one application waiting for its
    # second score (after the activity, so the frozen figures show it).
    seed_demo_labels(now=now, password=DEMO_PASSWORD, progress=progress)
    return {"labs": added_labs, "equipment": added_equipment,
            "accreditations": accreditations}


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
        "verifier@labnet.example": office,
        "admin@labnet.example": office,
    }
    for email, name, _what in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            continue
        # The demo company's buyer, the manager and the admin approve who joins their
        # organisations (joining is a request to the organisation's admins).
        org_role = "member" if email.startswith(("coordinator", "verifier")) else "admin"
        user = User(email=email, full_name=name, password_hash=password_hash,
                    organisation_id=homes[email].id, email_confirmed_at=now, is_active=True,
                    org_role=org_role)
        db.session.add(user)
        db.session.flush()
        if email.startswith("coordinator"):
            db.session.add(UserRole(user_id=user.id, role=Role.COORDINATOR, granted_at=now))
        if email.startswith("admin"):
            db.session.add(UserRole(user_id=user.id, role=Role.ADMIN, granted_at=now))
        if email.startswith("verifier"):
            db.session.add(UserRole(user_id=user.id, role=Role.VERIFIER, granted_at=now))
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
    assert first_org is not None  # n_orgs >= 1 rows were inserted just above

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
    # The word index of the new labs (the hooks would at commit; here with progress).
    search_index.sync(db.session(), progress=lambda done, total: progress(
        "search index", done, total))
    free_days.sync(db.session(), now=now, progress=lambda done, total: progress(
        "free-time summary", done, total))
    return {"organisations": n_orgs, "labs": labs, "equipment": equipment}


def _advance_sequences(*tables: str) -> None:
    # Rows inserted with explicit ids leave PostgreSQL's sequences behind; move them on.
    if db.session.get_bind().dialect.name != "postgresql":
        return
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


# --- demo activity ---------------------------------------------------------------------
# A year of plausible activity for the coordinators' dashboard: companies across
# Europe, catalogue searches (some finding nothing), bookings and access/service/joint-
# project requests with answers after hours or days (some never), then the daily summary.
# Idempotent (skipped when its bookings exist); a few thousand rows in bulk, well under a
# second on SQLite.

DEMO_COMPANIES = (
    ("Nordic Sensor Systems AB", "SE"), ("Precisión Láser Ibérica SL", "ES"),
    ("Baltic Composites UAB", "LT"), ("Alpine Microfluidics GmbH", "AT"),
    ("Polska Drukarka 3D Sp. z o.o.", "PL"), ("Lusitania Coatings Lda", "PT"),
    ("Dutch Photonics Devices BV", "NL"), ("Hellenic Biotech Solutions SA", "GR"),
    ("Brno Precision Optics s.r.o.", "CZ"), ("Lombardia Meccatronica Srl", "IT"),
    ("Atelier Matériaux Avancés SAS", "FR"), ("Ruhr Leichtbau GmbH", "DE"),
)


def _demo_activity(now: datetime, progress: Progress) -> None:
    if db.session.scalar(select(Booking.id).where(Booking.reference.like("LN-DEMO-%"))
                         .limit(1)) is not None:
        return
    rng = random.Random(5)
    password_hash = db.session.scalar(
        select(User.password_hash).where(User.email == "sme@labnet.example"))
    buyers: list[tuple[int, int, str]] = []  # (user id, organisation id, country)
    for name, country in DEMO_COMPANIES:
        org = _org(name, OrgKind.COMPANY, country,
                   size=rng.choice((SizeClass.MICRO, SizeClass.SMALL, SizeClass.MEDIUM)))
        email = f"buyer@{org.slug}.example"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, full_name=f"Buyer at {name}", organisation_id=org.id,
                        password_hash=password_hash or "!", email_confirmed_at=now)
            db.session.add(user)
            db.session.flush()
        buyers.append((user.id, org.id, country))
    # (The demo SME's own bookings and requests stay as the booking and request demos
    # made them: this activity is other companies'.)
    machines = db.session.execute(
        select(Equipment.id, Equipment.lab_id, Lab.country)
        .join(Lab, Lab.id == Equipment.lab_id)
        .where(Equipment.status == "active", Equipment.mode != "request_only",
               Lab.is_published.is_(True)).order_by(Equipment.id)).all()
    labs = db.session.execute(select(Lab.id, Lab.country).where(Lab.is_published.is_(True))
                              .order_by(Lab.id)).all()
    kets = db.session.execute(select(KetArea.code, KetArea.parent_code)).all()
    cats = list(db.session.scalars(select(Equipment.category_code).distinct()))
    if not machines or not labs or not buyers:
        return
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def home_first(country: str, rows: Sequence[Any]) -> Any:
        # Most demand stays at home or goes next door; a third crosses further.
        same = [r for r in rows if r[-1] == country]
        return rng.choice(same if same and rng.random() < 0.55 else rows)

    bookings, taken = [], set()
    total = 1500
    for i in range(total):
        user_id, org_id, country = rng.choice(buyers)
        eq_id, lab_id, _lab_country = home_first(country, machines)
        day = rng.randint(-365, 30)
        start = today + timedelta(days=day, hours=rng.choice((8, 9, 10, 13, 14)))
        hours = rng.choice((1, 2, 2, 3, 4, 4, 6, 8))
        if day < 0:
            status = rng.choices(("completed", "rejected", "cancelled", "expired", "no_show"),
                                 (78, 7, 8, 4, 3))[0]
        else:
            status = rng.choice(("confirmed", "confirmed", "pending"))
            if (eq_id, day) in taken:
                continue  # one active booking per machine and day: never an overlap
            taken.add((eq_id, day))
        created = min(now, start - timedelta(days=rng.randint(2, 40)))
        decided = created + timedelta(hours=rng.randint(2, 72)) \
            if status not in ("pending", "expired") else None
        bookings.append({
            "reference": f"LN-DEMO-{i:06d}", "equipment_id": eq_id, "lab_id": lab_id,
            "requester_id": user_id, "organisation_id": org_id, "purpose": "Demo activity",
            "start_at": start, "end_at": start + timedelta(hours=hours),
            "blocked_start": start, "status": status,
            "hold_until": now + timedelta(days=2) if status == "pending" else None,
            "unit": "hour", "units": hours, "rate_kind": "sme", "rate_applied": Decimal(100),
            "price_estimate": Decimal(100 * hours), "currency": "EUR",
            "decided_at": min(decided, now) if decided else None,
            "created_at": created, "updated_at": created, "sequence": 0,
            "decision_reason": "", "reminder_sent_at": None, "decided_by_id": None,
        })
    _bulk(Booking, bookings, 500, progress, "demo bookings")

    requests = 240
    for i in range(requests):
        user_id, org_id, country = rng.choice(buyers)
        kind = rng.choices(("access", "service", "joint_project"), (4, 5, 2))[0]
        created = today - timedelta(days=rng.randint(0, 364), hours=-rng.randint(7, 18))
        created = min(created, now - timedelta(hours=1))
        ket = rng.choice(kets)[0] if rng.random() < 0.85 else None
        age = now - created
        respond = timedelta(hours=rng.choice((2, 5, 20, 30, 50, 80, 120, 200, 300)))
        answered = rng.random() < 0.85 and respond < age
        status = "submitted"
        first = decided = closed = None
        if answered:
            first = created + respond
            status = "in_review"
            decide = respond + timedelta(hours=rng.randint(4, 200))
            if decide < age:
                decided = created + decide
                status = rng.choices(("accepted", "declined", "active", "completed"),
                                     (3, 2, 2, 3))[0]
                closed = decided if status == "declined" else None
        elif rng.random() < 0.1:
            status = "withdrawn"
            closed = created + age / 2
        req = LabRequest(
            reference=f"RQ-DEMO-{i:05d}", kind=kind, status=status, organisation_id=org_id,
            created_by_id=user_id, title=f"Demo {kind.replace('_', ' ')} request {i + 1}",
            summary="Demo activity for the coordinators' dashboard.", ket_code=ket,
            created_at=created, updated_at=decided or first or created,
            first_response_at=first, decided_at=decided, closed_at=closed)
        db.session.add(req)
        db.session.flush()
        chosen = {home_first(country, labs)[0]
                  for _ in range(rng.randint(2, 3) if kind == "joint_project" else 1)}
        for lab_id in chosen:
            answer = "pending"
            if status in ("accepted", "active", "completed"):
                answer = "accepted"
            elif status == "declined":
                answer = "declined"
            db.session.add(RequestLab(request_id=req.id, lab_id=lab_id, answer=answer,
                                      answered_at=first if answer != "pending" else None))
        progress("demo requests", i + 1, requests)

    signals = []
    total = 3000
    countries = sorted({c for _, c in labs} | {"PT", "RO", "HR", "IE", "FI"})
    for _ in range(total):
        ket, _parent = rng.choice(kets)
        unmet = rng.random() < 0.15
        signals.append({
            "at": today - timedelta(days=rng.randint(0, 364), hours=-rng.randint(6, 22)),
            "source": rng.choice(("labs", "labs", "map")), "filters": {"ket": ket},
            "query_text": "", "ket_code": ket,
            "category_code": rng.choice(cats) if rng.random() < 0.4 else None,
            "country_filter": rng.choice(countries) if rng.random() < 0.3 or unmet else None,
            "result_count": rng.randint(0, 2) if unmet else rng.randint(3, 40),
            "searcher_country": rng.choice(buyers)[2] if rng.random() < 0.6 else None,
        })
    _bulk(DemandSignal, signals, 1000, progress, "demo searches")
    db.session.flush()
    summarise_activity(now=now, full=True)
    progress("dashboard summary", 1, 1)


# --- demo networks ---------------------------------------------------------------------
# Four value chains of demo centres (labnet/data/demo/centres.yaml), run by the demo
# coordinator. Each
# stage: (name, KET areas, equipment categories, keywords, [(lab slug, status)]). Some
# stages are left empty or in one country, so the gap finder has work; two invitations
# wait for the demo manager (Fraunhofer ILT, ISE). Rows are written directly (no e-mail).
DEMO_NETWORKS = (
    ("european-battery-chain", "European battery value chain", "energy-renewables", "AMN",
     "public",
     "From battery materials to cells, testing and pilot production across the Nordics, "
     "France and Austria.",
     (("Battery materials", ("AMN.ENE",), ("xrd",), "electrode\nelectrolyte",
       (("cea-liten", "accepted"), ("vtt", "accepted"))),
      ("Cell prototyping", ("AMN.ENE", "AMT"), ("pilot-line",), "cell",
       (("sintef", "accepted"), ("fraunhofer-ise", "invited"))),
      ("Characterisation and testing", ("AMN.CHR",), ("sem", "thermal-analysis"), "",
       (("rise", "accepted"),)),
      ("Safety testing and certification", ("AMN.CHR", "AMT.QC"), ("environmental-test",),
       "safety\nabuse testing", ()),
      ("Pilot production", ("AMT",), ("pilot-line",), "pilot line",
       (("ait", "invited"),)))),
    ("photonics-pic-chain", "Photonics and PIC chain", "electronics", "MNEP", "public",
     "Integrated photonics from design to packaged, tested modules.",
     (("Design and simulation", ("MNEP.PIC",), (), "photonic design",
       (("fraunhofer-hhi", "accepted"),)),
      ("Wafer fabrication", ("MNEP.PIC", "MNEP.SEM"), ("cleanroom", "optical-lithography"),
       "", (("imec", "accepted"), ("leibniz-ipht", "accepted"))),
      ("Packaging and assembly", ("MNEP.PKG",), ("dicing-bonding",), "packaging",
       (("tyndall", "accepted"),)),
      ("Optical testing", ("MNEP.OPT", "MNEP.LAS"), ("photonics-test",), "",
       (("fraunhofer-ilt", "invited"), ("icfo", "declined"))),
      ("Application prototypes", ("MNEP.OPT",), (), "prototype",
       (("fraunhofer-iof", "accepted"),)))),
    ("biotech-scale-up", "Industrial biotech scale-up", "energy-intensive", "LST", "public",
     "From engineered strains to pilot-scale fermentation and downstream processing.",
     (("Strain engineering", ("LST.SYN",), (), "strain", (("dtu-biosustain", "accepted"),)),
      ("Fermentation development", ("LST.FER",), ("bioreactors",), "fermentation",
       (("twb", "accepted"),)),
      ("Pilot-scale fermentation", ("LST.FER",), ("bioreactors", "pilot-line"),
       "pilot", (("bbepp", "accepted"),)),
      ("Downstream processing", ("LST.BBM", "LST.IBT"), ("downstream-processing",),
       "purification", ()),
      ("Demonstration and market entry", ("LST.IBT",), (), "demonstration",
       (("cpi", "invited"),)))),
    ("semiconductor-pilot-lines", "Semiconductor pilot lines", "electronics", "MNEP",
     "members",
     "Members only: the pilot lines' own coordination of front-end, MEMS, RF and power.",
     (("Front-end processing", ("MNEP.SEM",), ("cleanroom", "etching"), "",
       (("cea-leti", "accepted"), ("imec", "accepted"))),
      ("MEMS and sensors", ("MNEP.MEMS",), ("thin-film-deposition",), "MEMS",
       (("fraunhofer-ipms", "accepted"), ("fbk", "accepted"))),
      ("RF and power devices", ("MNEP.PWR", "SEC.NET"), ("probe-station",), "",
       (("ihp", "accepted"), ("sal", "accepted"))),
      ("Reliability testing", ("MNEP.SEM",), ("environmental-test", "probe-station"),
       "reliability", ()))),
)


def _demo_networks(now: datetime) -> None:
    coordinator = db.session.scalar(
        select(User).where(User.email == "coordinator@labnet.example"))
    if coordinator is None:
        return
    existing = set(db.session.scalars(select(Network.slug)))
    labs = dict(db.session.execute(select(Lab.slug, Lab.id)).tuples().all())
    for slug, name, ecosystem, ket, visibility, description, stages in DEMO_NETWORKS:
        if slug in existing:
            continue
        network = Network(slug=slug, name=name, name_key=name.lower(), description=description,
                          ket_code=ket, ecosystem=ecosystem, visibility=visibility,
                          created_at=now, updated_at=now, created_by_id=coordinator.id,
                          lock_seq=0)
        db.session.add(network)
        db.session.flush()
        db.session.add(NetworkCoordinator(network_id=network.id, user_id=coordinator.id,
                                          added_at=now, added_by_id=coordinator.id))
        for position, (stage_name, kets, cats, keywords, members) in enumerate(stages, 1):
            stage = NetworkStage(network_id=network.id, position=position, name=stage_name,
                                 description="", keywords=keywords,
                                 created_at=now)
            db.session.add(stage)
            db.session.flush()
            db.session.add_all([NetworkStageKet(stage_id=stage.id, ket_code=k) for k in kets])
            db.session.add_all([NetworkStageCategory(stage_id=stage.id, category_code=c)
                                for c in cats])
            for lab_slug, status in members:
                if lab_slug not in labs:
                    continue
                answered = status != "invited"
                db.session.add(NetworkMember(
                    network_id=network.id, stage_id=stage.id, lab_id=labs[lab_slug],
                    status=status, invited_by_id=coordinator.id,
                    invited_at=now - timedelta(days=30), message="Would you join this stage?",
                    answered_at=now - timedelta(days=25) if answered else None,
                    answered_by_id=None, answer_message=""))
    db.session.flush()
