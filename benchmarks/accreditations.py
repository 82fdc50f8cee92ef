"""``python -m benchmarks.accreditations``: the accreditation registry and the catalogue's
accreditation filter against the trivial route.

For each scale (``LABS:EQUIPMENT``, default 100 labs / 1,000 equipment and 10,000 labs /
100,000 equipment) it builds a fresh database through the migrations, seeds the synthetic
catalogue, adds :data:`PER_LAB` accreditations per lab (30,000 at 10,000 labs: mostly
verified, some claimed, expired, suspended, withdrawn; ISO/IEC 17025 ones with scopes),
runs ``ANALYZE`` and measures in-process with the clock frozen at
:data:`benchmarks.database.SEED_NOW`:

- ``ping``: the trivial route, the denominator of every ratio;
- ``registry``: ``/accreditations`` (every currently valid accreditation, first page);
- ``registry_filtered``: ``/accreditations?scheme=iso-iec-17025&country=DE``;
- ``registry_search``: ``/accreditations?q=tensile`` (lab name and scope words; about
  half the accreditations have it); ``registry_rare``: a word no scope holds;
- ``registry_later``: a page a third of the way through the registry (keyset cursor);
- ``labs_accreditation``: ``/labs?accreditation=iso-9001``;
- ``verify``: a public verification page.

Per route: median and p90, ratio to ``/ping``'s median in the same run, SQL statements per
request (checked equal across scales: no N+1). One JSON document on stdout and in
``benchmarks/results/accreditations.json``. Exit status 0; 1 when a route's query count
differs between scales; 2 when a request or the set-up fails. Time is reported, never
asserted.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from flask import Flask
from sqlalchemy import insert, select, text

from benchmarks import database, measure
from benchmarks.harness import finish
from benchmarks.networks import parse_args as network_args
from benchmarks.progress import Progress
from benchmarks.run import close_scale, count_queries, environment, route_lines, stdout_to_stderr

RESULTS = Path(__file__).resolve().parent / "results"
ROUTE_ORDER = ("ping", "registry", "registry_filtered", "registry_search",
               "registry_rare", "registry_later", "labs_accreditation", "verify")
PER_LAB = 3
SCHEMES = ("iso-iec-17025", "iso-9001", "iso-14001", "iso-iec-27001", "iso-13485",
           "labnet-excellence")
# status, share
STATES = (("verified", 0.7), ("claimed", 0.1), ("expired", 0.08), ("suspended", 0.06),
          ("withdrawn", 0.06))
SCOPE = ("DIN EN ISO 6892-1 tensile testing at room temperature\n"
         "ISO 14577 instrumented indentation\nISO 4287 surface texture")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    args = network_args(argv)
    if args.output == RESULTS / "networks.json":
        args.output = RESULTS / "accreditations.json"
    return args


def seed_accreditations(app: Flask, seed_value: int) -> dict[str, Any]:
    """PER_LAB accreditations per lab, in one Core insert (no e-mail, no snapshot work)."""
    from labnet.extensions import db
    from labnet.models import Accreditation, Lab
    from labnet.models.accreditation import new_verification_code
    from labnet.services.accreditation import scope_words
    from labnet.services.accreditation.validity import ends_at

    rng = random.Random(seed_value)
    today = database.SEED_NOW.date()
    with app.app_context():
        labs = db.session.execute(select(Lab.id, Lab.timezone)).all()
        rows = []
        for lab_id, zone in labs:
            for n, scheme in enumerate(rng.sample(SCHEMES, PER_LAB)):
                status = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
                until = today + timedelta(days=rng.randint(-200, 1500) if status == "expired"
                                          or n else rng.randint(1, 1500))
                if status == "expired":
                    until = today - timedelta(days=rng.randint(1, 300))
                rows.append({
                    "lab_id": lab_id, "scheme_code": scheme, "certificate_no": f"B-{lab_id}-{n}",
                    "issuer": "Bench Body", "scope": SCOPE if scheme == "iso-iec-17025" else "",
                    "valid_from": until - timedelta(days=1800), "valid_until": until,
                    "ends_at": ends_at(until, zone), "status": status,
                    "level": rng.choice(("bronze", "silver", "gold"))
                    if scheme == "labnet-excellence" else None,
                    "verified_at": database.SEED_NOW if status != "claimed" else None,
                    "code": new_verification_code(), "version": 1, "reason": "",
                    "evidence_file": "", "evidence_name": "", "evidence_size": 0,
                    "evidence_url": "https://register.example/x",
                    "created_at": database.SEED_NOW, "updated_at": database.SEED_NOW,
                })
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(Accreditation), rows[start:start + 5000])
        # Core inserts pass the ORM's flush hook: the scope word index is built here.
        scope_words.rebuild(db.session.connection())
        db.session.commit()
        code = db.session.scalar(select(Accreditation.code).where(
            Accreditation.status == "verified").order_by(Accreditation.id).limit(1))
        # A page in the middle of the registry: the cursor of a verified row of the lab
        # whose name sorts half-way.
        middle = db.session.execute(
            select(Lab.id, Accreditation.id).join(Accreditation, Accreditation.lab_id == Lab.id)
            .where(Accreditation.status == "verified")
            .order_by(Lab.name, Lab.id, Accreditation.id)
            .offset(len(rows) // 3).limit(1)).one()
    return {"accreditations": len(rows), "verify_code": code,
            "middle_cursor": f"{middle[0]}-{middle[1]}"}


def run_scale(args: argparse.Namespace, labs: int, equipment: int, workdir: Path,
              progress: Progress) -> dict[str, Any]:
    from labnet import clock
    from labnet.extensions import db
    from labnet.services.catalogue.snapshots import rebuild

    progress.prefix = f"[{labs:,} labs] "
    target = (database.postgres_target(args.database_url, args.pg_schema, warn=progress.warn)
              if args.database_url else database.sqlite_target(workdir, f"accred-{labs}"))
    app = database.build_app(target, workdir / f"instance-accred-{labs}")
    clock.freeze(database.SEED_NOW)
    try:
        progress.note(f"migrating {target.label}")
        migrate_seconds = database.migrate(app, target, quiet=args.quiet)
        progress.note(f"seeding {labs:,} labs / {equipment:,} equipment")
        seeded = database.seed(app, target, labs=labs, equipment=equipment,
                               seed_value=args.seed, progress=progress)
        started = time.perf_counter()
        extra = seed_accreditations(app, args.seed)
        seed_acc_seconds = time.perf_counter() - started
        with app.app_context():
            rebuild(db.session())  # the catalogue snapshots, as a committed write would
            db.session.commit()
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            engine = db.engine
        client = app.test_client()
        paths = {
            "ping": "/ping",
            "registry": "/accreditations",
            "registry_filtered": "/accreditations?scheme=iso-iec-17025&country=DE",
            "registry_search": "/accreditations?q=tensile",
            "registry_rare": "/accreditations?q=ultrasonic",
            "registry_later": f"/accreditations?after={extra['middle_cursor']}",
            "labs_accreditation": "/labs?accreditation=iso-9001",
            "verify": f"/verify/{extra['verify_code']}",
        }
        recorder = measure.QueryRecorder(engine)
        measure.install_lazy_load_guard()
        for path in paths.values():
            measure.get_ok(client, path)
        progress.note("counting queries")
        queries: dict[str, int] = {}
        stable: dict[str, bool] = {}
        for name, path in paths.items():
            counts, _stmts = count_queries(client, recorder, path)
            queries[name], stable[name] = counts[-1], len(set(counts)) == 1
        progress.note(f"timing, {args.warmup} warm-up + {args.repeat} requests per route")
        samples: dict[str, list[float]] = {}
        for name in ROUTE_ORDER:
            samples.update(measure.time_routes(
                client, {name: paths[name]},
                repeat=args.repeat if name != "ping" else max(args.repeat, 100),
                warmup=args.warmup, budget=args.budget, progress=progress))
        measure.remove_lazy_load_guard()
        ping = measure.median(samples["ping"])
        routes = {name: {
            "path": paths[name], "median_ms": round(measure.median(samples[name]) * 1000, 3),
            "p90_ms": round(measure.p90(samples[name]) * 1000, 3),
            "ratio": round(measure.median(samples[name]) / ping, 1),
            "p90_ratio": round(measure.p90(samples[name]) / ping, 1),
            "samples": len(samples[name]), "queries": queries[name],
            "queries_stable": stable[name]} for name in ROUTE_ORDER}
        return {"labs": labs, "equipment": equipment,
                "accreditations": extra["accreditations"],
                "database": database.server_version(app, target),
                "migrate_seconds": round(migrate_seconds, 2),
                "seed_catalogue_seconds": round(seeded["seed_seconds"], 2),
                "seed_accreditations_seconds": round(seed_acc_seconds, 2),
                "routes": routes}
    finally:
        close_scale(app, target, args.keep, progress)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with stdout_to_stderr() as stdout:
        return run(args, stdout)


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    progress = Progress(quiet=args.quiet)
    started = time.perf_counter()
    scales: list[dict[str, Any]] = []
    errors: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="labnet-bench-accred-"))
    try:
        for labs, equipment in args.scales:
            try:
                scales.append(run_scale(args, labs, equipment, workdir, progress))
            except Exception as exc:  # reported in the document; the run exits 2
                traceback.print_exc()
                errors.append(f"{labs} labs: {type(exc).__name__}: {exc}")
                break
            for line in route_lines(scales[-1]["routes"], 20):
                progress.note("  " + line)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    document = {
        "benchmark": "accreditation registry and filter against /ping",
        "environment": environment(),
        "settings": {"repeat": args.repeat, "warmup": args.warmup, "seed": args.seed,
                     "accreditations_per_lab": PER_LAB,
                     "clock": database.SEED_NOW.isoformat()},
        "scales": scales,
    }
    return finish(document, ROUTE_ORDER, errors, started, args.output, stdout, progress)


if __name__ == "__main__":
    sys.exit(main())
