"""``python -m benchmarks.api``: the JSON API and the open-data dump against the trivial route.

For each scale (``BOOKINGS:EQUIPMENT``, labs a tenth of the equipment; default 10,000:1,000
and 1,000,000:100,000) it builds a fresh database through the migrations, seeds the
synthetic catalogue, the bookings (``benchmarks.bookings.seed_bookings``) and five events
per lab (``benchmarks.events.seed_events``: 50,000 at 10,000 labs), runs ``ANALYZE``, then
measures in-process with the Flask test client, the clock frozen at
:data:`benchmarks.database.SEED_NOW`:

- ``ping``: the trivial route, the denominator of every ratio;
- ``api_labs``: ``GET /api/v1/labs`` with no filter; ``api_labs_filtered`` with a country
  and a KET area; ``api_labs_near`` near a city within 100 km; ``api_labs_free`` free for
  4 hours in a week;
- ``api_availability``: ``GET /api/v1/equipment/<id>/availability`` for a week;
- ``api_events``: ``GET /api/v1/events`` (upcoming, first 50); ``api_events_filtered`` with
  a country and a KET area; ``api_events_next``: the page after the first (its cursor);
  ``api_event``: one event with its sessions and registration state;

each as median and p90, ratio to ``/ping``'s median, SQL statements per request (equal at
both scales, or exit 1). Then the open-data dump (``write_dumps``) once: seconds, rows,
bytes, the process's peak RSS growth, and in a second run the peak Python allocation
(tracemalloc). JSON on stdout and in ``benchmarks/results/api.json``. Time is reported,
never asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from sqlalchemy import select, text

from benchmarks import database, measure
from benchmarks.bookings import parse_scales, seed_bookings
from benchmarks.events import seed_events
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
ROUTE_ORDER = ("ping", "api_labs", "api_labs_filtered", "api_labs_near", "api_labs_free",
               "api_availability", "api_events", "api_events_filtered", "api_events_next",
               "api_event")
EVENTS_PER_LAB = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api",
                                     description="Time /api/v1 and the open-data dump "
                                                 "against /ping at two scales; print JSON.")
    parser.add_argument("--scales", type=parse_scales, default=parse_scales(DEFAULT_SCALES),
                        help=f"BOOKINGS:EQUIPMENT pairs (default {DEFAULT_SCALES})")
    parser.add_argument("--repeat", type=positive, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", metavar="URL")
    parser.add_argument("--pg-schema", default="labnet_bench", metavar="NAME")
    parser.add_argument("--output", type=Path, default=RESULTS / "api.json", metavar="FILE")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def _paths(app: Any, events: dict[str, Any]) -> dict[str, str]:
    from labnet.extensions import db
    from labnet.models import Equipment, EventKet, Lab, LabKet

    now = database.SEED_NOW
    with app.app_context():
        equipment_id = db.session.scalar(
            select(Equipment.id).join(Lab, Lab.id == Equipment.lab_id)
            .where(Lab.is_published.is_(True), Equipment.status == "active",
                   Equipment.booking_unit == "hour").order_by(Equipment.id).limit(1))
        lab_id, country = db.session.execute(select(Lab.id, Lab.country).where(
            Lab.is_published.is_(True), Lab.city != "").order_by(Lab.id).limit(1)).one()
        city = db.session.scalar(select(Lab.city).where(Lab.id == lab_id))
        ket = db.session.scalar(select(LabKet.ket_code).where(LabKet.lab_id == lab_id).limit(1))
        event_ket = db.session.scalar(select(EventKet.ket_code).order_by(EventKet.event_id)
                                      .limit(1))
    client = app.test_client()
    first = client.get("/api/v1/events").get_json()
    if not first.get("next"):
        raise RuntimeError("the events list has a single page: seed more events")
    after = urlsplit(first["next"])
    monday = now.date() + timedelta(days=7 - now.weekday())
    week = f"available_from={monday}&available_to={monday + timedelta(days=6)}&hours=4"
    return {
        "ping": "/ping",
        "api_labs": "/api/v1/labs",
        "api_labs_filtered": f"/api/v1/labs?country={country}&ket={ket}",
        "api_labs_near": f"/api/v1/labs?near={city}&radius_km=100&sort=distance",
        "api_labs_free": f"/api/v1/labs?{week}",
        "api_availability": f"/api/v1/equipment/{equipment_id}/availability?from={monday}"
                            f"&to={monday + timedelta(days=6)}",
        "api_events": "/api/v1/events",
        "api_events_filtered": f"/api/v1/events?country={events['country']}"
                               f"&ket={event_ket.split('.')[0]}",
        "api_events_next": f"{after.path}?{after.query}",
        "api_event": f"/api/v1/events/{events['event_slug']}",
    }


def _dump(app: Any, folder: Path, *, traced: bool) -> dict[str, Any]:
    from labnet.services.catalogue.open_data import write_dumps

    gc.collect()
    rss_before = measure.rss_bytes()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    with app.app_context():
        result = write_dumps(folder, base_url="https://labnet.example", force=True,
                             now=database.SEED_NOW)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else None
    if traced:
        tracemalloc.stop()
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    return {"seconds": round(seconds, 2), "rows": result["rows"],
            "mb_written": mb(sum(sizes.values())),
            "python_peak_mb": mb(peak) if traced else None,
            "rss_before_mb": mb(rss_before), "rss_after_mb": mb(measure.rss_bytes()),
            "rss_peak_mb": mb(measure.peak_rss_bytes())}


def run_scale(args: argparse.Namespace, bookings: int, equipment: int, workdir: Path,
              progress: Progress) -> dict[str, Any]:
    from labnet import clock
    from labnet.extensions import db

    labs = max(1, equipment // 10)
    progress.prefix = f"[{labs:,} labs / {equipment:,} equipment / {bookings:,} bookings] "
    target = (database.postgres_target(args.database_url, args.pg_schema, warn=progress.warn)
              if args.database_url else
              database.sqlite_target(workdir, f"api-{bookings}-{equipment}"))
    app = database.build_app(target, workdir / f"instance-{equipment}")
    clock.freeze(database.SEED_NOW)
    try:
        database.migrate(app, target, quiet=args.quiet)
        database.seed(app, target, labs=labs, equipment=equipment, seed_value=args.seed,
                      progress=progress)
        seed_bookings(app, bookings, progress, seed=args.seed)
        events = seed_events(app, labs * EVENTS_PER_LAB, args.seed, progress)
        with app.app_context():
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            engine = db.engine
        paths = _paths(app, events)
        client = app.test_client()
        recorder = measure.QueryRecorder(engine)
        measure.install_lazy_load_guard()
        queries: dict[str, Any] = {}
        for name, path in paths.items():
            counts, _stmts = count_queries(client, recorder, path)
            queries[name] = {"queries": counts[-1], "stable": len(set(counts)) == 1}
        progress.note(f"timing, {args.warmup} warm-up + {args.repeat} requests per route")
        samples = measure.time_routes(client, paths, repeat=args.repeat, warmup=args.warmup,
                                      budget=args.budget, progress=progress)
        measure.remove_lazy_load_guard()
        ping = measure.median(samples["ping"])
        routes = {name: {
            "path": paths[name], "median_ms": round(measure.median(samples[name]) * 1000, 3),
            "p90_ms": round(measure.p90(samples[name]) * 1000, 3),
            "ratio": round(measure.median(samples[name]) / ping, 1),
            "p90_ratio": round(measure.p90(samples[name]) / ping, 1),
            "samples": len(samples[name]), "queries": queries[name]["queries"],
            "queries_stable": queries[name]["stable"]} for name in ROUTE_ORDER}
        progress.note("writing the open-data dump")
        dump = _dump(app, workdir / f"dump-{equipment}", traced=False)
        dump["traced"] = _dump(app, workdir / f"dump-{equipment}", traced=True)
        return {"labs": labs, "equipment": equipment, "bookings": bookings,
                "events": labs * EVENTS_PER_LAB, "upcoming_events": events["upcoming"],
                "database": database.server_version(app, target),
                "database_mb": mb(database.database_bytes(app, target)),
                "routes": routes, "open_data_dump": dump}
    finally:
        close_scale(app, target, args.keep, progress)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with stdout_to_stderr() as stdout:
        return run(args, stdout)


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    progress = Progress(quiet=args.quiet)
    logging.getLogger("labnet.mail").setLevel(logging.WARNING)
    document: dict[str, Any] = {
        "benchmark": "labnet /api/v1 and open-data dump against /ping",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(), "scales": []}
    workdir = Path(tempfile.mkdtemp(prefix="labnet-bench-api-"))
    errors: list[str] = []
    try:
        for bookings, equipment in args.scales:
            try:
                scale = run_scale(args, bookings, equipment, workdir, progress)
            except Exception as exc:
                errors.append(f"{bookings}:{equipment}: {type(exc).__name__}: {exc}")
                progress.warn(f"FAILED: {exc}")
                break
            document["scales"].append(scale)
            for line in route_lines(scale["routes"], 18):
                progress.note("  " + line)
            progress.note(f"  dump: {scale['open_data_dump']['seconds']} s, "
                          f"python peak {scale['open_data_dump']['traced']['python_peak_mb']} MB")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    scales = document["scales"]
    differing = [name for name in ROUTE_ORDER if len(scales) > 1 and (
        len({s["routes"][name]["queries"] for s in scales}) != 1
        or not all(s["routes"][name]["queries_stable"] for s in scales))]
    document["checks"] = {"queries_equal": not differing if len(scales) > 1 else None,
                          "differing": differing, "errors": errors}
    out = json.dumps(document, indent=2, ensure_ascii=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(out + "\n", encoding="utf-8")
    stdout.write(out + "\n")
    return 2 if errors else 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
