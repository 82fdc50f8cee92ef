"""``python -m benchmarks.bookings``: the booking engine against the trivial route.

For each scale (default 10,000 bookings over 1,000 equipment, and 1,000,000 bookings over
100,000 equipment; labs are a tenth of the equipment) it builds a fresh database through
the migrations, seeds the synthetic catalogue, bulk-loads the bookings with
:func:`seed_bookings` (progress on stderr), runs ``ANALYZE``, then measures in-process with
the Flask test client, the clock frozen at :data:`benchmarks.database.SEED_NOW`:

- ``ping``: the trivial route, the denominator of every ratio;
- ``availability``: the week calendar's data of one equipment (``availability.json``);
- ``book``: the booking request itself, each a new free slot (answers 302, pending);
- ``book_refused``: the same request for a slot just taken (answers 409, "slot taken");
- ``queue``: the lab manager's queue (``/manage/bookings``) of three labs;
- ``labs_free``: ``/labs`` filtered to equipment free for 4 hours in a week, and
  ``labs_free_combo`` the same with a country;
- ``map_free``: the map's data (``/map/labs.geojson``) under the same availability filter
  (never cached: it follows the bookings);

each as median and p90, ratio to ``/ping``'s median in the same run, SQL statements per
request; and booking requests accepted per second by one process (``book.per_second``).
It prints one JSON document on stdout and writes it to ``benchmarks/results/bookings.json``
(or ``--output``). Exit status: 0; 1 when a route's query count differs between scales (an
N+1 query); 2 when a request fails or the set-up fails. Time is reported, never asserted.

:func:`seed_bookings` is also the loader for anyone who needs many bookings (the
dashboard's benchmark): ``seed_bookings(app, 1_000_000, progress=Progress())``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, TextIO

from flask import Flask
from sqlalchemy import func, insert, select, text

from benchmarks import database, measure
from benchmarks.progress import Progress
from benchmarks.run import (
    close_scale,
    count_queries,
    environment,
    mb,
    positive,
    route_lines,
    stdout_to_stderr,
)

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SCALES = "10000:1000,1000000:100000"
ROUTE_ORDER = ("ping", "availability", "book", "book_refused", "queue", "labs_free",
               "labs_free_combo", "map_free")
ProgressFn = Callable[[str, int, int], None]


def _noop(_stage: str, _done: int, _total: int) -> None:
    pass


# --- the loader ----------------------------------------------------------------------------

BOOKER_ORGS = 20
ACTIVE = ("pending", "confirmed")


def seed_bookings(app: Flask, count: int, progress: ProgressFn = _noop, *,
                  now: datetime = database.SEED_NOW, days_back: int = 365,
                  days_ahead: int = 180, seed: int = 1, chunk: int = 20_000) -> dict[str, Any]:
    """Bulk-insert ``count`` bookings spread evenly over the existing non-retired equipment
    (the ``i``-th booking goes to equipment ``i mod n``), fast and deterministically for a
    given ``seed``. Returns ``{"bookings", "equipment", "seconds", "first_id", "last_id"}``.

    What the rows look like:

    - each equipment's bookings lie on distinct days between ``now - days_back`` and
      ``now + days_ahead`` (two days apart where the set-up buffer is long), starting at
      12:00, 13:00 or 14:00 UTC for one to three hours — so active bookings never overlap
      and mornings stay free (the benchmark books 09:00 lab time);
    - the past ones are mostly ``completed`` (some cancelled, rejected, no-show), the future
      ones ``confirmed`` (70 %), ``pending`` with a live hold (20 %) or ``cancelled``;
    - they are requested by members of :data:`BOOKER_ORGS` small companies, created here.

    As the issue asks, the no-overlap backstop is taken off for the load and put back after
    it: on PostgreSQL the exclusion constraint is dropped and re-created (which re-checks
    every row); on SQLite the two triggers are dropped and re-created from their own SQL in
    ``sqlite_master``, after a window-function query has checked that no two active bookings
    of one equipment overlap (a trigger checks only rows written after it). Inserts are
    ``executemany`` in chunks of ``chunk`` rows; one transaction per chunk.

    :raises ValueError: when the equipment cannot hold ``count`` bookings on distinct days.
    """
    from labnet.extensions import db
    from labnet.models import Booking, Equipment
    from labnet.services.booking import free_days

    started = time.perf_counter()
    rng = random.Random(seed)
    span = days_back + days_ahead
    with app.app_context():
        equipment = db.session.execute(
            select(Equipment.id, Equipment.lab_id, Equipment.booking_unit,
                   Equipment.buffer_minutes)
            .where(Equipment.status != "retired").order_by(Equipment.id)
        ).all()
        if not equipment:
            raise ValueError("no equipment to book: seed the catalogue first")
        per_equipment = -(-count // len(equipment))
        if per_equipment > span // 2:
            raise ValueError(f"{count:,} bookings do not fit on distinct days of "
                             f"{len(equipment):,} equipment over {span} days")
        bookers = _bookers(now, seed)
        dialect = db.engine.dialect.name
        restore = _drop_backstop(db, dialect)
        db.session.commit()
        first_id = (db.session.scalar(select(func.max(Booking.id))) or 0) + 1
        table = Booking.__table__
        base_day = datetime.combine((now - timedelta(days=days_back)).date(), dtime(0),
                                    tzinfo=UTC)
        step = _coprime_step(span)
        half = span // 2
        rows: list[dict[str, Any]] = []
        done = 0
        # The free-time summary is rebuilt once after the load, not per chunk.
        db.session.info[free_days._SUSPENDED] = True
        for i in range(count):
            eq_id, lab_id, unit, buffer_minutes = equipment[i % len(equipment)]
            j = i // len(equipment)
            phase = (eq_id * 7919) % span
            if buffer_minutes > 18 * 60:  # a long set-up: every other day only
                day = 2 * ((phase + j * step) % half)
            else:
                day = (phase + j * step) % span
            hours = 1 + (i * 2654435761 >> 7) % 3
            start = base_day + timedelta(days=day, hours=12 + (i % 3))
            end = start + timedelta(hours=hours)
            status, created, hold, decided = _status(rng, start, now)
            booking_id = first_id + i
            units = hours if unit == "hour" else 1
            rows.append({
                "id": booking_id, "reference": f"LN-{created.year}-{booking_id:06d}",
                "equipment_id": eq_id, "lab_id": lab_id,
                "requester_id": bookers[i % len(bookers)][0],
                "organisation_id": bookers[i % len(bookers)][1],
                "purpose": "Benchmark booking", "start_at": start, "end_at": end,
                "blocked_start": start - timedelta(minutes=buffer_minutes), "status": status,
                "hold_until": hold, "unit": unit, "units": units, "rate_kind": "sme",
                "rate_applied": 100, "price_estimate": 100 * units, "currency": "EUR",
                "decided_by_id": None, "decided_at": decided, "decision_reason": "",
                "reminder_sent_at": None, "sequence": 0, "created_at": created,
                "updated_at": decided or created,
            })
            if len(rows) >= chunk:
                db.session.execute(insert(table), rows)
                db.session.commit()
                done += len(rows)
                rows = []
                progress("bookings", done, count)
        if rows:
            db.session.execute(insert(table), rows)
            db.session.commit()
            done += len(rows)
        progress("bookings", done, count)
        if dialect == "postgresql":
            db.session.execute(text(
                "SELECT setval(pg_get_serial_sequence('booking', 'id'), "
                "(SELECT COALESCE(MAX(id), 1) FROM booking))"))
        progress("no-overlap backstop", 0, 1)
        overlaps = _active_overlaps(db)
        if overlaps:
            raise RuntimeError(f"{overlaps} active bookings overlap: the loader has a bug")
        restore()
        db.session.commit()
        progress("no-overlap backstop", 1, 1)
        db.session.info.pop(free_days._SUSPENDED, None)
        free_days.rebuild(db.session.connection(), now=now,
                          progress=lambda done, total: progress("free-time summary", done, total))
        db.session.commit()
    return {"bookings": count, "equipment": len(equipment),
            "seconds": round(time.perf_counter() - started, 2),
            "first_id": first_id, "last_id": first_id + count - 1}


def _coprime_step(span: int) -> int:
    import math

    step = max(1, span // 7 + 1)
    while math.gcd(step, span) != 1:
        step += 1
    return step


def _status(rng: random.Random, start: datetime, now: datetime
            ) -> tuple[str, datetime, datetime | None, datetime | None]:
    """(status, created_at, hold_until, decided_at) of a booking starting at ``start``."""
    r = rng.random()
    if start < now:
        created = start - timedelta(days=1 + rng.randrange(30))
        status = ("completed" if r < 0.85 else "cancelled" if r < 0.93
                  else "no_show" if r < 0.97 else "rejected")
        return status, created, None, created + timedelta(hours=5)
    if r < 0.2:
        created = now - timedelta(minutes=1 + rng.randrange(48 * 60))
        return "pending", created, min(created + timedelta(hours=72), start), None
    created = min(now, start - timedelta(days=1)) - timedelta(days=rng.randrange(20))
    return ("confirmed" if r < 0.9 else "cancelled"), created, None, created + timedelta(hours=3)


def _bookers(now: datetime, seed: int) -> list[tuple[int, int]]:
    """(user id, organisation id) of the benchmark's booking companies, made once."""
    from labnet import security
    from labnet.extensions import db
    from labnet.models import Organisation, User

    slug = f"bench-booker-{seed}-"
    found = db.session.execute(
        select(User.id, User.organisation_id).join(Organisation)
        .where(Organisation.slug.like(slug + "%")).order_by(User.id)).all()
    if found:
        return [tuple(r) for r in found]
    password = security.hash_password("benchmark-only-password")
    for k in range(BOOKER_ORGS):
        name = f"Benchmark Booker {seed}-{k:02d} GmbH"
        org = Organisation(name=name, name_key=name.lower(), slug=f"{slug}{k}", kind="company",
                           size_class="small", country="DE", email_domain=f"{slug}{k}.example")
        db.session.add(org)
        db.session.flush()
        db.session.add(User(organisation_id=org.id, email=f"booker@{slug}{k}.example",
                            full_name=f"Booker {k}", password_hash=password,
                            email_confirmed_at=now))
    db.session.commit()
    return _bookers(now, seed)


def _drop_backstop(db: Any, dialect: str) -> Callable[[], None]:
    """Take the no-overlap backstop off; return what puts it back."""
    if dialect == "sqlite":
        triggers = db.session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'booking' AND name LIKE 'booking_no_overlap%'")).all()
        if len(triggers) != 2:
            raise RuntimeError(f"expected the two no-overlap triggers, found {triggers}")
        for name, _sql in triggers:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))

        def restore() -> None:
            for _name, sql in triggers:
                db.session.execute(text(sql))
        return restore
    if dialect == "postgresql":
        definition = db.session.scalar(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'ex_booking_no_overlap' AND conrelid = 'booking'::regclass"))
        if definition is None:
            raise RuntimeError("the exclusion constraint ex_booking_no_overlap is missing")
        db.session.execute(text("ALTER TABLE booking DROP CONSTRAINT ex_booking_no_overlap"))

        def restore_pg() -> None:
            db.session.execute(text(
                f"ALTER TABLE booking ADD CONSTRAINT ex_booking_no_overlap {definition}"))
        return restore_pg
    return lambda: None


def _active_overlaps(db: Any) -> int:
    """Active bookings whose blocked range starts before the previous one of the same
    equipment ends (one sorted pass, a window function)."""
    return int(db.session.scalar(text(
        "SELECT count(*) FROM (SELECT blocked_start, lag(end_at) OVER "
        "(PARTITION BY equipment_id ORDER BY blocked_start) AS previous_end FROM booking "
        f"WHERE status IN {ACTIVE}) AS b WHERE previous_end > blocked_start")) or 0)


# --- the run -------------------------------------------------------------------------------

def parse_scales(value: str) -> list[tuple[int, int]]:
    scales = []
    for part in value.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        bookings, sep, equipment = part.partition(":")
        try:
            n_b, n_e = int(bookings), int(equipment)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad scale {part!r}: use BOOKINGS:EQUIPMENT, e.g. 10000:1000") from None
        if n_b < 1 or n_e < 10 or not sep:
            raise argparse.ArgumentTypeError(f"bad scale {part!r}: at least 1 booking and "
                                             "10 equipment")
        scales.append((n_b, n_e))
    if not scales:
        raise argparse.ArgumentTypeError("no scale given")
    return scales


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bookings",
        description="Time the booking engine's pages against /ping and count their SQL "
                    "queries at two scales of bookings; print JSON.")
    parser.add_argument("--scales", type=parse_scales, default=parse_scales(DEFAULT_SCALES),
                        help=f"BOOKINGS:EQUIPMENT pairs (labs: a tenth of the equipment), "
                             f"comma-separated (default {DEFAULT_SCALES})")
    parser.add_argument("--repeat", type=positive, default=100,
                        help="measured requests per route and scale (default 100)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="unmeasured requests per route first (default 10)")
    parser.add_argument("--budget", type=float, default=20.0, metavar="SECONDS",
                        help="time per route and scale beyond which a slow route gets fewer "
                             "requests (at least 10; default 20; 0 for no limit)")
    parser.add_argument("--seed", type=int, default=1, help="data seed (default 1)")
    parser.add_argument("--database-url", metavar="URL",
                        help="PostgreSQL instead of SQLite, in a database of its own")
    parser.add_argument("--pg-schema", default="labnet_bench", metavar="NAME",
                        help="schema the run drops and re-creates (default labnet_bench)")
    parser.add_argument("--output", type=Path, default=RESULTS / "bookings.json",
                        metavar="FILE", help="where to write the JSON too "
                                             "(default benchmarks/results/bookings.json)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser.parse_args(argv)


class _Setup:
    """The people, equipment, slots and paths one scale measures."""

    def __init__(self, app: Flask, labs: int) -> None:
        from labnet import security
        from labnet.extensions import db
        from labnet.models import Equipment, Lab, LabManager, Organisation, User

        now = database.SEED_NOW
        with app.app_context():
            # Hourly, active, self-service equipment of published labs. Unmanaged labs take
            # no bookings: the labs booked are managed by the one benchmark manager (one
            # e-mail per request, the same at every scale). One mode at every scale: a
            # self-service booking also reads the equipment's required qualifications, an
            # operator-assisted one does not (a query more or less, not an N+1).
            candidates = db.session.execute(
                select(Equipment.id, Lab.timezone, Lab.id)
                .join(Lab, Lab.id == Equipment.lab_id)
                .where(Lab.is_published.is_(True), Equipment.status == "active",
                       Equipment.mode == "self_service", Equipment.booking_unit == "hour",
                       Equipment.min_units == 1, Lab.min_lead_hours <= 48,
                       Lab.max_advance_days >= 90)
                .order_by(Equipment.id).limit(40)).all()
            if len(candidates) < 12:
                raise RuntimeError("too few hourly equipment in the synthetic catalogue")
            self.book_equipment = candidates[:8]
            managed = [c[2] for c in self.book_equipment]
            self.week_equipment = self.book_equipment[0][0]
            org = Organisation(name="Benchmark Member GmbH", name_key="benchmark member gmbh",
                               slug="bench-member", kind="company", size_class="small",
                               country="DE", email_domain="bench-member.example")
            lab_org = db.session.scalar(select(Lab.organisation_id).where(Lab.id == managed[0]))
            db.session.add(org)
            db.session.flush()
            password = security.hash_password("benchmark-only-password")
            member = User(organisation_id=org.id, email="member@bench-member.example",
                          full_name="Bench Member", password_hash=password,
                          email_confirmed_at=now)
            manager = User(organisation_id=lab_org, email="manager@bench-lab.example",
                           full_name="Bench Manager", password_hash=password,
                           email_confirmed_at=now)
            db.session.add_all([member, manager])
            db.session.flush()
            for lab_id in dict.fromkeys(managed):
                db.session.add(LabManager(lab_id=lab_id, user_id=manager.id, granted_at=now))
            db.session.commit()
            self.member_id, self.manager_id = member.id, manager.id
            country = db.session.scalar(select(Lab.country).where(Lab.id == managed[0]))
            # Free slots to book: 09:00–10:00 lab time on weekdays from three days on (the
            # loader's bookings start at 12:00 UTC or later).
            self.slots: list[tuple[int, str, str]] = []
            for offset in range(3, 85):
                day = (now + timedelta(days=offset)).date()
                if day.weekday() >= 5:
                    continue
                for eq_id, _zone, _lab in self.book_equipment:
                    # The form takes wall-clock times in the lab's zone.
                    self.slots.append((eq_id, f"{day}T09:00", f"{day}T10:00"))
        monday = now.date() + timedelta(days=7 - now.weekday())
        week = f"available_from={monday}&available_to={monday + timedelta(days=6)}&hours=4"
        self.paths = {
            "ping": "/ping",
            "availability": f"/equipment/{self.week_equipment}/availability.json?week="
                            f"{monday + timedelta(days=7)}",
            "queue": "/manage/bookings",
            "labs_free": f"/labs?{week}",
            "labs_free_combo": f"/labs?{week}&country={country}",
            "map_free": f"/map/labs.geojson?{week}",
        }
        self.labs = labs

    def login(self, app: Flask, user_id: int):
        from labnet import clock
        from labnet.extensions import db
        from labnet.models import User
        from labnet.services.accounts import rules as accounts

        client = app.test_client()
        with app.app_context():
            token = accounts.start_session(db.session.get(User, user_id), now=clock.utcnow())
            db.session.commit()
        with client.session_transaction() as sess:
            sess["_user_id"] = token
            sess["_fresh"] = True
        return client


def _csrf(client: Any, path: str) -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise measure.RouteFailed(f"no CSRF token on {path}")
    return match.group(1)


def _post(client: Any, path: str, data: dict[str, str], expect: int) -> None:
    try:
        response = client.post(path, data=data)
    except Exception as exc:
        raise measure.RouteFailed(f"POST {path} raised {type(exc).__name__}: {exc}") from exc
    response.get_data()
    response.close()
    if response.status_code != expect:
        raise measure.RouteFailed(f"POST {path} answered {response.status_code}, "
                                  f"expected {expect}")


def run_scale(args: argparse.Namespace, bookings: int, equipment: int, workdir: Path,
              progress: Progress) -> dict[str, Any]:
    from labnet import clock
    from labnet.extensions import db

    labs = max(1, equipment // 10)
    progress.prefix = f"[{bookings:,} bookings / {equipment:,} equipment] "
    if args.database_url:
        target = database.postgres_target(args.database_url, args.pg_schema,
                                          warn=progress.warn)
    else:
        target = database.sqlite_target(workdir, f"bookings-{bookings}-{equipment}")
    app = database.build_app(target, workdir / f"instance-{equipment}")
    clock.freeze(database.SEED_NOW)
    try:
        progress.note(f"migrating {target.label}")
        migrate_seconds = database.migrate(app, target, quiet=args.quiet)
        progress.note(f"seeding {labs:,} labs / {equipment:,} equipment")
        seeded = database.seed(app, target, labs=labs, equipment=equipment,
                               seed_value=args.seed, progress=progress)
        progress.note(f"loading {bookings:,} bookings")
        loaded = seed_bookings(app, bookings, progress, seed=args.seed)
        progress.note(f"loaded in {loaded['seconds']:.1f} s")
        started = time.perf_counter()
        with app.app_context():
            db.session.execute(text("ANALYZE" if target.kind == "sqlite" else "ANALYZE booking"))
            db.session.commit()
            engine = db.engine
            active = db.session.scalar(text(
                f"SELECT count(*) FROM booking WHERE status IN {ACTIVE}"))
        analyze_seconds = time.perf_counter() - started
        setup = _Setup(app, labs)
        anon = app.test_client()
        member = setup.login(app, setup.member_id)
        manager = setup.login(app, setup.manager_id)
        clients = {"ping": anon, "availability": anon, "queue": manager, "labs_free": anon,
                   "labs_free_combo": anon, "map_free": anon}
        recorder = measure.QueryRecorder(engine)
        measure.install_lazy_load_guard()
        for name, path in setup.paths.items():
            measure.get_ok(clients[name], path)

        progress.note("counting queries")
        per_route: dict[str, dict[str, Any]] = {}
        statements: dict[str, list[str]] = {}
        for name, path in setup.paths.items():
            counts, stmts = count_queries(clients[name], recorder, path)
            per_route[name] = {"path": path, "queries": counts[-1],
                               "queries_stable": len(set(counts)) == 1}
            statements[name] = [measure.shorten_sql(s.sql) for s in stmts]

        # The booking request: step 2 of the form (confirm=1), a new free slot each time.
        # Without the lazy-load guard: the refused request re-renders the form after a
        # rollback, which reloads the expired lab hours and the user's roles one by one
        # (a fixed few queries, not an N+1; the query counts below include them).
        measure.remove_lazy_load_guard()
        slots = iter(setup.slots)
        book_path = "/equipment/{}/book"
        token = _csrf(member, book_path.format(setup.week_equipment))

        def book(expect: int = 302, slot: tuple[int, str, str] | None = None) -> tuple:
            eq_id, start, end = slot or next(slots)
            _post(member, book_path.format(eq_id),
                  {"csrf_token": token, "start_at": start, "end_at": end,
                   "purpose": "Benchmark", "confirm": "1"}, expect)
            return eq_id, start, end

        taken = book()
        counts_book, counts_refused = [], []
        for _ in range(3):
            with recorder.recording() as recorded:
                book()
            counts_book.append(len(recorded))
            statements["book"] = [measure.shorten_sql(s.sql) for s in recorded]
            with recorder.recording() as recorded:
                book(409, taken)
            counts_refused.append(len(recorded))
            statements["book_refused"] = [measure.shorten_sql(s.sql) for s in recorded]
        per_route["book"] = {"path": "POST " + book_path.format("<id>"),
                             "queries": counts_book[-1],
                             "queries_stable": len(set(counts_book)) == 1}
        per_route["book_refused"] = {"path": "POST " + book_path.format("<id>") + " (taken)",
                                     "queries": counts_refused[-1],
                                     "queries_stable": len(set(counts_refused)) == 1}

        progress.note(f"timing, {args.warmup} warm-up + {args.repeat} requests per route")
        gc.collect()
        measure.install_lazy_load_guard()
        samples = measure.time_routes(
            clients["ping"], {"ping": setup.paths["ping"]}, repeat=args.repeat,
            warmup=args.warmup, budget=args.budget, progress=progress)
        for name in ("availability", "queue", "labs_free", "labs_free_combo", "map_free"):
            samples.update(measure.time_routes(
                clients[name], {name: setup.paths[name]}, repeat=args.repeat,
                warmup=args.warmup, budget=args.budget, progress=progress))
        samples["ping_after"] = measure.time_routes(
            clients["ping"], {"ping": setup.paths["ping"]}, repeat=args.repeat,
            warmup=args.warmup, budget=args.budget, progress=progress)["ping"]
        measure.remove_lazy_load_guard()
        n_book = min(args.repeat, len(setup.slots) - 10)
        for _ in range(min(args.warmup, 5)):
            book()
        book_times = []
        batch_started = time.perf_counter()
        for k in range(n_book):
            t0 = time.perf_counter()
            book()
            book_times.append(time.perf_counter() - t0)
            progress("booking requests", k + 1, n_book)
        batch_seconds = time.perf_counter() - batch_started
        refused_times = []
        for k in range(args.repeat):
            t0 = time.perf_counter()
            book(409, taken)
            refused_times.append(time.perf_counter() - t0)
            progress("refused requests", k + 1, args.repeat)
        samples["book"], samples["book_refused"] = book_times, refused_times

        ping = measure.median(samples["ping"])
        routes: dict[str, Any] = {}
        for name in ROUTE_ORDER:
            values = samples[name]
            med, p90 = measure.median(values), measure.p90(values)
            routes[name] = {
                "path": per_route[name]["path"], "median_ms": round(med * 1000, 3),
                "p90_ms": round(p90 * 1000, 3), "ratio": round(med / ping, 1),
                "p90_ratio": round(p90 / ping, 1), "samples": len(values),
                "queries": per_route[name]["queries"],
                "queries_stable": per_route[name]["queries_stable"],
            }
        routes["book"]["per_second"] = round(n_book / batch_seconds, 1)
        with app.app_context():
            total = db.session.scalar(text("SELECT count(*) FROM booking"))
        return {
            "bookings": bookings, "equipment": equipment, "labs": labs,
            "active_bookings": active, "bookings_after_run": total,
            "database": database.server_version(app, target),
            "migrate_seconds": round(migrate_seconds, 2),
            "seed_catalogue_seconds": round(seeded["seed_seconds"], 2),
            "load_bookings_seconds": loaded["seconds"],
            "analyze_seconds": round(analyze_seconds, 2),
            "database_mb": mb(database.database_bytes(app, target)),
            "rss_peak_mb": mb(measure.peak_rss_bytes()),
            "ping_median_ms_at_end": round(measure.median(samples["ping_after"]) * 1000, 3),
            "routes": routes,
            "lazy_load_guard": "on for the GET routes; off for the booking POSTs (the "
                               "refused one lazy-loads Lab.opening_hours and User.roles "
                               "after its rollback)",
            "statements": statements,
        }
    finally:
        close_scale(app, target, args.keep, progress)


def summary_lines(scale: dict[str, Any]) -> list[str]:
    lines = route_lines(scale["routes"], 16)
    lines.append(f"booking requests per second: {scale['routes']['book']['per_second']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with stdout_to_stderr() as stdout:
        return run(args, stdout)


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    progress = Progress(quiet=args.quiet)
    # Without an SMTP server every booking's e-mail is logged at INFO: keep stderr readable
    # (the outbox rows are still written and marked, as in any run without a server).
    logging.getLogger("labnet.mail").setLevel(logging.WARNING)
    document: dict[str, Any] = {
        "benchmark": "labnet booking engine against /ping",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "settings": {"repeat": args.repeat, "warmup": args.warmup, "seed": args.seed,
                     "budget_seconds_per_route": args.budget or None,
                     "client": "Flask test client (in-process), clock frozen at "
                               + database.SEED_NOW.isoformat(),
                     "ratio": "median of the route / median of /ping in the same run"},
        "scales": [],
    }
    errors: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="labnet-bench-bookings-"))
    started = time.perf_counter()
    try:
        for bookings, equipment in args.scales:
            try:
                scale = run_scale(args, bookings, equipment, workdir, progress)
            except measure.RouteFailed as exc:
                errors.append(f"{bookings} bookings / {equipment} equipment: {exc}")
                progress.warn(f"FAILED: {exc}")
                break
            except Exception as exc:
                traceback.print_exc()
                errors.append(f"{bookings} bookings / {equipment} equipment: "
                              f"{type(exc).__name__}: {exc}")
                break
            document["scales"].append(scale)
            for line in summary_lines(scale):
                progress.note("  " + line)
    except KeyboardInterrupt:
        progress.note("interrupted")
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            progress.note(f"databases kept in {workdir}")

    scales = document["scales"]
    queries = {name: [s["routes"][name]["queries"] for s in scales] for name in ROUTE_ORDER}
    stable = {name: all(s["routes"][name]["queries_stable"] for s in scales)
              for name in ROUTE_ORDER}
    differing = [name for name in ROUTE_ORDER
                 if len(scales) > 1 and (len(set(queries[name])) != 1 or not stable[name])]
    document["checks"] = {
        "queries_per_scale": queries,
        "queries_equal": {name: name not in differing for name in ROUTE_ORDER}
        if len(scales) > 1 else None,
        "all_queries_equal": not differing if len(scales) > 1 else None,
        "errors": errors,
    }
    document["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    document["total_seconds"] = round(time.perf_counter() - started, 1)
    status = 2 if errors else 1 if differing else 0
    document["ok"] = status == 0
    out = json.dumps(document, indent=2, ensure_ascii=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(out + "\n", encoding="utf-8")
    stdout.write(out + "\n")
    stdout.flush()
    for name in differing:
        progress.warn(f"N+1? {name}: queries per scale {queries[name]}")
        for scale in scales:
            progress.warn(f"  at {scale['bookings']:,} bookings:")
            for sql in scale["statements"].get(name, []):
                progress.warn(f"    {sql[:200]}")
    for err in errors:
        progress.warn(f"error: {err}")
    progress.note(f"wrote {args.output}")
    return status


if __name__ == "__main__":
    sys.exit(main())
