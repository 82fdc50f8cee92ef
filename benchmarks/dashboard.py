"""``python -m benchmarks.dashboard``: the coordinators' dashboard against the trivial route.

For each scale (``BOOKINGS:REQUESTS:EQUIPMENT``; default 10,000 bookings, 2,000 requests over
1,000 equipment, and 1,000,000 bookings, 200,000 requests over 10,000 equipment; labs are a
tenth of the equipment) it builds a fresh database through the migrations, seeds the
synthetic catalogue, bulk-loads the bookings with ``benchmarks.bookings.seed_bookings``,
requests (each to one to three labs, answered after hours or days, some never) and as many
catalogue searches as requests (15 % finding at most two labs), builds the daily summary
once (``summarise_activity(full=True)``, timed), runs ``ANALYZE``, then measures
in-process with the Flask test client, the clock frozen at
:data:`benchmarks.database.SEED_NOW`:

- ``ping``: the trivial route, the denominator of every ratio;
- ``dashboard``: ``/dashboard`` as a coordinator, the default period (the last 12 months),
  no filter;
- ``dashboard_filtered``: the same with a KET area, a country and a kind of lab;
- ``dashboard_manager``: a lab manager's view (three labs);
- ``csv``: one table's CSV (``/dashboard/flows.csv``);
- all of the above computed on every load (``DASHBOARD_CACHE_SECONDS = 0``: cold), and
  ``dashboard_warm``, ``dashboard_filtered_warm``, ``dashboard_manager_warm``: the same
  three pages with the per-process cache on and filled (a cache hit);
- ``summarise``: one incremental run of the summary job after one new booking change
  (timed apart, not a route);

each as median and p90, ratio to ``/ping``'s median in the same run, and SQL statements per
request (checked equal across scales: no N+1). It prints one JSON document on stdout and
writes it to ``benchmarks/results/dashboard.json`` (or ``--output``). Exit status: 0; 1 when
a route's query count differs between scales; 2 when a request or the set-up fails. Time is
reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from flask import Flask
from sqlalchemy import func, insert, select, text

from benchmarks import database, measure
from benchmarks.harness import finish
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
DEFAULT_SCALES = "10000:2000:1000,1000000:200000:10000"
ROUTE_ORDER = ("ping", "dashboard", "dashboard_filtered", "dashboard_manager", "csv",
               "dashboard_warm", "dashboard_filtered_warm", "dashboard_manager_warm")
# Cold routes run with the per-process cache off (DASHBOARD_CACHE_SECONDS = 0: every load
# computes its figures); warm ones with it on, after one load filled it (a cache hit).
WARM = {"dashboard_warm": "dashboard", "dashboard_filtered_warm": "dashboard_filtered",
        "dashboard_manager_warm": "dashboard_manager"}
DEMAND_COUNTRIES = ("DE", "FR", "IT", "ES", "NL", "BE", "AT", "PL", "SE", "PT", "CZ", "DK",
                    "FI", "IE", "GR", "RO", "HU", "SI", "SK", "LT")


def parse_scales(value: str) -> list[tuple[int, int, int]]:
    scales = []
    for part in value.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        try:
            bookings, requests, equipment = (int(x) for x in part.split(":"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad scale {part!r}: use BOOKINGS:REQUESTS:EQUIPMENT") from None
        if min(bookings, requests, equipment) < 1:
            raise argparse.ArgumentTypeError(f"bad scale {part!r}: all must be at least 1")
        scales.append((bookings, requests, equipment))
    if not scales:
        raise argparse.ArgumentTypeError("no scale given")
    return scales


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dashboard",
        description="Time the coordinators' dashboard against /ping at several data scales.")
    parser.add_argument("--scales", type=parse_scales, default=parse_scales(DEFAULT_SCALES),
                        help=f"BOOKINGS:REQUESTS:EQUIPMENT, comma-separated "
                             f"(default {DEFAULT_SCALES})")
    parser.add_argument("--repeat", type=positive, default=30,
                        help="measured requests per route and scale (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests first")
    parser.add_argument("--budget", type=float, default=30.0, metavar="SECONDS",
                        help="time per route beyond which a slow route gets fewer requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", metavar="URL",
                        help="PostgreSQL instead of SQLite, in a database of its own")
    parser.add_argument("--pg-schema", default="labnet_bench", metavar="NAME")
    parser.add_argument("--output", type=Path, default=RESULTS / "dashboard.json",
                        metavar="FILE")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


# --- loaders -------------------------------------------------------------------------------

def seed_requests(app: Flask, count: int, progress: Any, *, now: datetime, seed: int = 1,
                  chunk: int = 20_000) -> dict[str, Any]:
    """Bulk-insert ``count`` requests over the last year (``executemany`` in chunks), each
    to one lab (joint projects to two or three), and as many catalogue searches."""
    from labnet.extensions import db
    from labnet.models import DemandSignal, KetArea, Lab, Organisation, User
    from labnet.models.request import LabRequest, RequestLab

    started = time.perf_counter()
    rng = random.Random(seed)
    with app.app_context():
        labs = list(db.session.scalars(select(Lab.id).where(Lab.is_published.is_(True))
                                       .order_by(Lab.id)))
        kets = list(db.session.scalars(select(KetArea.code).order_by(KetArea.code)))
        bookers = db.session.execute(
            select(User.id, User.organisation_id).join(Organisation)
            .where(Organisation.kind == "company").order_by(User.id)).all()
        first = (db.session.scalar(select(func.max(LabRequest.id))) or 0) + 1
        req_rows: list[dict[str, Any]] = []
        pair_rows: list[dict[str, Any]] = []
        done = 0
        for i in range(count):
            rid = first + i
            user_id, org_id = bookers[i % len(bookers)]
            kind = ("access", "service", "service", "joint_project")[i % 4]
            created = now - timedelta(days=rng.randrange(365), hours=rng.randrange(24))
            answered = rng.random() < 0.8
            first_at = created + timedelta(hours=rng.choice((2, 8, 30, 80, 200))) \
                if answered else None
            decided = first_at + timedelta(hours=rng.randrange(4, 120)) \
                if first_at and rng.random() < 0.7 else None
            status = ("submitted" if not answered else "in_review" if not decided
                      else rng.choice(("accepted", "declined", "active", "completed")))
            req_rows.append({
                "id": rid, "reference": f"RQ-B-{rid:07d}", "kind": kind, "status": status,
                "organisation_id": org_id, "created_by_id": user_id,
                "title": f"Benchmark request {rid}", "summary": "Benchmark",
                "ket_code": kets[i % len(kets)] if i % 5 else None, "equipment_id": None,
                "quantity": "", "deadline": None, "budget_min_eur": None,
                "budget_max_eur": None, "duration_months": None, "funding_programme": "",
                "trl_now": None, "trl_target": None, "first_response_at": first_at,
                "decided_at": decided, "closed_at": None, "confirmed_at": None,
                "last_activity_at": decided or first_at or created, "created_at": created,
                "updated_at": decided or first_at or created,
            })
            n_labs = rng.randint(2, 3) if kind == "joint_project" else 1
            for lab_id in {labs[rng.randrange(len(labs))] for _ in range(n_labs)}:
                pair_rows.append({"request_id": rid, "lab_id": lab_id,
                                  "answer": "accepted" if status in ("accepted", "active",
                                                                     "completed")
                                  else "pending", "answered_at": first_at,
                                  "answered_by_id": None, "answer_message": ""})
            if len(req_rows) >= chunk or i == count - 1:
                db.session.execute(insert(LabRequest.__table__), req_rows)
                db.session.execute(insert(RequestLab.__table__), pair_rows)
                db.session.commit()
                done += len(req_rows)
                req_rows, pair_rows = [], []
                progress("requests", done, count)
        signals: list[dict[str, Any]] = []
        for i in range(count):
            unmet = rng.random() < 0.15
            signals.append({
                "at": now - timedelta(days=rng.randrange(365), hours=rng.randrange(24)),
                "source": "labs", "filters": {}, "query_text": "",
                "ket_code": kets[rng.randrange(len(kets))],
                "category_code": None, "country_filter": DEMAND_COUNTRIES[i % 7]
                if unmet else None,
                "result_count": rng.randint(0, 2) if unmet else rng.randint(3, 50),
                "searcher_country": DEMAND_COUNTRIES[i % len(DEMAND_COUNTRIES)],
            })
            if len(signals) >= chunk or i == count - 1:
                db.session.execute(insert(DemandSignal.__table__), signals)
                db.session.commit()
                signals = []
                progress("searches", i + 1, count)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(
                "SELECT setval(pg_get_serial_sequence('lab_request', 'id'), "
                "(SELECT COALESCE(MAX(id), 1) FROM lab_request))"))
            db.session.commit()
    return {"requests": count, "searches": count,
            "seconds": round(time.perf_counter() - started, 2)}


def _spread_booker_countries(app: Flask) -> None:
    """The booking loader's companies are all German: give them countries across Europe,
    so the flows have cross-border pairs."""
    from labnet.extensions import db
    from labnet.models import Organisation

    with app.app_context():
        ids = list(db.session.scalars(select(Organisation.id)
                                      .where(Organisation.slug.like("bench-booker-%"))
                                      .order_by(Organisation.id)))
        for k, org_id in enumerate(ids):
            db.session.execute(Organisation.__table__.update()
                               .where(Organisation.id == org_id)
                               .values(country=DEMAND_COUNTRIES[k % len(DEMAND_COUNTRIES)]))
        db.session.commit()


def _users(app: Flask) -> dict[str, int]:
    """A coordinator, and a manager of three labs."""
    from labnet import security
    from labnet.extensions import db
    from labnet.models import Lab, LabManager, Organisation, Role, User, UserRole

    now = database.SEED_NOW
    with app.app_context():
        org = Organisation(name="Benchmark Office", name_key="benchmark office",
                           slug="bench-office", kind="cluster", country="BE")
        db.session.add(org)
        db.session.flush()
        password = security.hash_password("benchmark-only-password")
        coordinator = User(organisation_id=org.id, email="coordinator@bench.example",
                           full_name="Bench Coordinator", password_hash=password,
                           email_confirmed_at=now)
        manager = User(organisation_id=org.id, email="manager@bench.example",
                       full_name="Bench Manager", password_hash=password,
                       email_confirmed_at=now)
        db.session.add_all([coordinator, manager])
        db.session.flush()
        db.session.add(UserRole(user_id=coordinator.id, role=Role.COORDINATOR, granted_at=now))
        for lab_id in db.session.scalars(select(Lab.id).where(Lab.is_published.is_(True))
                                         .order_by(Lab.id).limit(3)):
            db.session.add(LabManager(lab_id=lab_id, user_id=manager.id, granted_at=now))
        db.session.commit()
        return {"coordinator": coordinator.id, "manager": manager.id}


def _login(app: Flask, user_id: int) -> Any:
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


# --- one scale -----------------------------------------------------------------------------

def run_scale(args: argparse.Namespace, bookings: int, requests: int, equipment: int,
              workdir: Path, progress: Progress) -> dict[str, Any]:
    from benchmarks.bookings import seed_bookings
    from labnet import clock
    from labnet.extensions import db
    from labnet.models import Lab
    from labnet.services.analytics.summary import summarise_activity

    labs = max(1, equipment // 10)
    progress.prefix = f"[{bookings:,} bookings / {requests:,} requests] "
    if args.database_url:
        target = database.postgres_target(args.database_url, args.pg_schema,
                                          warn=progress.warn)
    else:
        target = database.sqlite_target(workdir, f"dashboard-{bookings}-{requests}")
    app = database.build_app(target, workdir / f"instance-dashboard-{bookings}")
    now = database.SEED_NOW
    clock.freeze(now)
    try:
        progress.note(f"migrating {target.label}")
        migrate_seconds = database.migrate(app, target, quiet=args.quiet)
        progress.note(f"seeding {labs:,} labs / {equipment:,} equipment")
        seeded = database.seed(app, target, labs=labs, equipment=equipment,
                               seed_value=args.seed, progress=progress)
        progress.note(f"loading {bookings:,} bookings")
        loaded = seed_bookings(app, bookings, progress, seed=args.seed)
        _spread_booker_countries(app)
        progress.note(f"loading {requests:,} requests and {requests:,} searches")
        loaded_requests = seed_requests(app, requests, progress, now=now, seed=args.seed)
        progress.note("building the daily summary")
        started = time.perf_counter()
        with app.app_context():
            summary = summarise_activity(now=now, full=True)
            db.session.commit()
        summary_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with app.app_context():
            if target.kind == "sqlite":
                db.session.execute(text("ANALYZE"))
            else:
                db.session.execute(text("ANALYZE booking, lab_request, request_lab, "
                                        "demand_signal, activity_daily, lab, lab_ket"))
            db.session.commit()
            engine = db.engine
            country = db.session.scalar(
                select(Lab.country).group_by(Lab.country)
                .order_by(func.count().desc(), Lab.country).limit(1))
        analyze_seconds = time.perf_counter() - started
        users = _users(app)
        anon = app.test_client()
        coordinator = _login(app, users["coordinator"])
        manager = _login(app, users["manager"])
        paths = {
            "ping": "/ping",
            "dashboard": "/dashboard",
            "dashboard_filtered": f"/dashboard?ket=AMT&country={country}&kind=rto",
            "dashboard_manager": "/dashboard",
            "csv": "/dashboard/flows.csv",
        }
        clients = {"ping": anon, "dashboard": coordinator, "dashboard_filtered": coordinator,
                   "dashboard_manager": manager, "csv": coordinator}
        for warm, cold in WARM.items():
            paths[warm], clients[warm] = paths[cold], clients[cold]
        ttl = app.config.get("DASHBOARD_CACHE_SECONDS") or 300

        def cache(name: str) -> None:
            app.config["DASHBOARD_CACHE_SECONDS"] = ttl if name in WARM else 0

        recorder = measure.QueryRecorder(engine)
        measure.install_lazy_load_guard()
        for name, path in paths.items():
            cache(name)
            measure.get_ok(clients[name], path)
        progress.note("counting queries")
        per_route: dict[str, dict[str, Any]] = {}
        statements: dict[str, list[str]] = {}
        for name, path in paths.items():
            cache(name)
            counts, stmts = count_queries(clients[name], recorder, path)
            per_route[name] = {"path": path, "queries": counts[-1],
                               "queries_stable": len(set(counts)) == 1}
            statements[name] = [measure.shorten_sql(s.sql) for s in stmts]
        progress.note(f"timing, {args.warmup} warm-up + {args.repeat} requests per route")
        gc.collect()
        samples: dict[str, list[float]] = {}
        for name in ROUTE_ORDER:
            cache(name)
            samples.update(measure.time_routes(
                clients[name], {name: paths[name]}, repeat=args.repeat if name != "ping"
                else max(args.repeat, 100), warmup=args.warmup, budget=args.budget,
                progress=progress))
        samples["ping_after"] = measure.time_routes(
            anon, {"ping": "/ping"}, repeat=100, warmup=args.warmup, budget=args.budget,
            progress=progress)["ping"]
        measure.remove_lazy_load_guard()
        # One incremental summary run after one booking changed (a new audit event).
        with app.app_context():
            db.session.execute(text(
                "INSERT INTO audit_event (at, action, subject_type, subject_id, data) "
                "VALUES (:at, 'booking.approved', 'booking', 1, '{}')"),
                {"at": now.replace(tzinfo=None) if target.kind == "sqlite" else now})
            db.session.commit()
            started = time.perf_counter()
            incremental = summarise_activity(now=now + timedelta(minutes=15))
            db.session.commit()
            incremental_seconds = time.perf_counter() - started
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
        return {
            "bookings": bookings, "requests": requests, "searches": requests,
            "equipment": equipment, "labs": labs,
            "summary_rows": summary["rows"],
            "database": database.server_version(app, target),
            "migrate_seconds": round(migrate_seconds, 2),
            "seed_catalogue_seconds": round(seeded["seed_seconds"], 2),
            "load_bookings_seconds": loaded["seconds"],
            "load_requests_seconds": loaded_requests["seconds"],
            "summary_full_seconds": round(summary_seconds, 2),
            "summary_incremental_seconds": round(incremental_seconds, 2),
            "summary_incremental_days": incremental["days"],
            "analyze_seconds": round(analyze_seconds, 2),
            "database_mb": mb(database.database_bytes(app, target)),
            "rss_peak_mb": mb(measure.peak_rss_bytes()),
            "ping_median_ms_at_end": round(measure.median(samples["ping_after"]) * 1000, 3),
            "routes": routes,
            "statements": statements,
        }
    finally:
        close_scale(app, target, args.keep, progress)


def summary_lines(scale: dict[str, Any]) -> list[str]:
    lines = route_lines(scale["routes"], 24)
    lines.append(f"summary: {scale['summary_rows']:,} rows, full build "
                 f"{scale['summary_full_seconds']} s, incremental run "
                 f"{scale['summary_incremental_seconds']} s")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with stdout_to_stderr() as stdout:
        return run(args, stdout)


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    progress = Progress(quiet=args.quiet)
    document: dict[str, Any] = {
        "benchmark": "the coordinators' dashboard against /ping",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "settings": {"repeat": args.repeat, "warmup": args.warmup, "seed": args.seed,
                     "client": "Flask test client (in-process)",
                     "clock": database.SEED_NOW.isoformat(),
                     "ratio": "median of the route / median of /ping in the same run"},
        "scales": [],
    }
    errors: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="labnet-bench-dashboard-"))
    started = time.perf_counter()
    try:
        for bookings, requests, equipment in args.scales:
            try:
                scale = run_scale(args, bookings, requests, equipment, workdir, progress)
            except measure.RouteFailed as exc:
                errors.append(f"{bookings} bookings: {exc}")
                progress.warn(f"FAILED: {exc}")
                break
            except Exception as exc:
                traceback.print_exc()
                errors.append(f"{bookings} bookings: {type(exc).__name__}: {exc}")
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
    return finish(document, ROUTE_ORDER, errors, started, args.output, stdout, progress)


if __name__ == "__main__":
    sys.exit(main())
