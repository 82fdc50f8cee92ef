"""``python -m benchmarks.events``: the common events page against the trivial route.

For each scale (``LABS:EVENTS``, default 100 labs / 500 events and 10,000 labs / 50,000
events) it builds a fresh database through the migrations, seeds the synthetic catalogue
(one piece of equipment per lab), adds the events in bulk — each organised by one lab
(one in ten co-organised by a project), one to three sessions, one or two KET areas, most
published, starting from two months before to a year after the seed's instant — runs
``ANALYZE``, then measures in-process with the Flask test client, the clock frozen at
:data:`benchmarks.database.SEED_NOW`:

- ``ping``: the trivial route, the denominator of every ratio;
- ``events``: ``/events`` (upcoming, first page); ``events_filtered``: a KET area with its
  sub-areas, a country and free seats; ``events_last``: a deep page;
- ``calendar``: the month view; ``map``: the map view (at most 2,000 points);
- ``ics``: the iCalendar subscription of one country; ``atom``: the Atom feed;
- ``event``: an event page (JSON-LD); ``lab``: the page of a lab with events;

each as median and p90, ratio to ``/ping``'s median in the same run, and SQL statements per
request (checked equal across scales: no N+1). It prints one JSON document on stdout and
writes it to ``benchmarks/results/events.json`` (or ``--output``). Exit status: 0; 1 when a
route's query count differs between scales; 2 when a request or the set-up fails. Time is
reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from flask import Flask
from sqlalchemy import func, insert, select, text

from benchmarks import database, measure
from benchmarks.harness import run_scales
from benchmarks.progress import Progress
from benchmarks.run import close_scale, count_queries, mb, positive, stdout_to_stderr

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SCALES = "100:500,10000:50000"
ROUTE_ORDER = ("ping", "events", "events_filtered", "events_last", "calendar", "map", "ics",
               "atom", "event", "lab")
KINDS = ("training_course", "workshop", "open_lab_day", "conference", "project_meeting",
         "webinar")
LANGUAGES = ("en", "en", "en", "de", "fr", "it", "pl", "es")
BATCH = 5000


def parse_scales(value: str) -> list[tuple[int, int]]:
    scales = []
    for part in value.split(","):
        labs, _, events = part.partition(":")
        if not (labs.strip().isdigit() and events.strip().isdigit()):
            raise argparse.ArgumentTypeError(f"{part!r}: give LABS:EVENTS, e.g. 100:500")
        scales.append((int(labs), int(events)))
    return scales


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.events",
        description="Time /events (list, calendar, map, feeds) against /ping.")
    parser.add_argument("--scales", type=parse_scales, default=parse_scales(DEFAULT_SCALES),
                        help=f"LABS:EVENTS, comma-separated (default {DEFAULT_SCALES})")
    parser.add_argument("--repeat", type=positive, default=30,
                        help="measured requests per route and scale (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests first")
    parser.add_argument("--budget", type=float, default=30.0, metavar="SECONDS",
                        help="time per route beyond which a slow route gets fewer requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", metavar="URL",
                        help="PostgreSQL instead of SQLite, in a database of its own")
    parser.add_argument("--pg-schema", default="labnet_bench", metavar="NAME")
    parser.add_argument("--output", type=Path, default=RESULTS / "events.json",
                        metavar="FILE")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def seed_events(app: Flask, count: int, seed_value: int, progress: Progress) -> dict[str, Any]:
    """``count`` events written in bulk (Core inserts, no audit or e-mail)."""
    from labnet.extensions import db
    from labnet.models import (
        Event,
        EventKet,
        EventOrganiser,
        EventSession,
        KetArea,
        Lab,
        Project,
    )

    rng = random.Random(seed_value)
    now = database.SEED_NOW
    with app.app_context():
        labs = db.session.execute(select(Lab.id, Lab.city, Lab.country, Lab.lat, Lab.lon,
                                         Lab.timezone).where(Lab.is_published.is_(True))
                                  .order_by(Lab.id)).all()
        kets = list(db.session.scalars(select(KetArea.code).order_by(KetArea.code)))
        project_ids = []
        for i in range(max(1, count // 1000)):
            project = Project(slug=f"bench-project-{i}", name=f"Bench project {i}",
                              acronym=f"BP{i}", created_at=now, updated_at=now)
            db.session.add(project)
            db.session.flush()
            project_ids.append(project.id)
        next_id = (db.session.scalar(select(func.max(Event.id))) or 0) + 1
        done = 0
        while done < count:
            size = min(BATCH, count - done)
            events, sessions, organisers, links = [], [], [], []
            for n in range(size):
                event_id = next_id + done + n
                lab = labs[rng.randrange(len(labs))]
                online = rng.random() < 0.25
                start = now + timedelta(days=rng.randint(-60, 365), hours=rng.randint(7, 12))
                days = rng.choice((1, 1, 1, 2, 3))
                capacity = rng.choice((None, 10, 20, 50, 100))
                events.append({
                    "id": event_id, "slug": f"bench-event-{event_id}",
                    "kind": KINDS[event_id % len(KINDS)], "title": f"Bench event {event_id}",
                    "description": "A synthetic event for the benchmark.",
                    "language": rng.choice(LANGUAGES), "timezone": lab.timezone,
                    "starts_at": start, "ends_at": start + timedelta(days=days - 1, hours=6),
                    "address": "", "city": "" if online and rng.random() < 0.5 else lab.city,
                    "country": lab.country, "latitude": lab.lat, "longitude": lab.lon,
                    "coords_source": "seed",
                    "online_url": "https://meet.example/bench" if online else None,
                    "capacity": capacity,
                    "seats_taken": rng.randint(0, capacity) if capacity else 0,
                    "price_sme_cents": None, "price_standard_cents": None, "currency": "EUR",
                    "prerequisites": "", "questions": [], "offer_hours": 48,
                    "status": "published" if rng.random() < 0.9 else "draft",
                    "sequence": 0, "published_at": now, "cancel_reason": "",
                    "created_at": now, "updated_at": now})
                for d in range(days):
                    sessions.append({"event_id": event_id,
                                     "starts_at": start + timedelta(days=d),
                                     "ends_at": start + timedelta(days=d, hours=6),
                                     "title": ""})
                organisers.append({"event_id": event_id, "lab_id": lab.id, "network_id": None,
                                   "project_id": None})
                if event_id % 10 == 0:
                    organisers.append({"event_id": event_id, "lab_id": None, "network_id": None,
                                       "project_id": project_ids[event_id % len(project_ids)]})
                for code in rng.sample(kets, rng.choice((1, 2))):
                    links.append({"event_id": event_id, "ket_code": code})
            db.session.execute(insert(Event), events)
            db.session.execute(insert(EventSession), sessions)
            db.session.execute(insert(EventOrganiser), organisers)
            db.session.execute(insert(EventKet), links)
            db.session.commit()
            done += size
            progress("seeding events", done, count)
        busiest = db.session.execute(
            select(Lab.slug, func.count()).join(EventOrganiser, EventOrganiser.lab_id == Lab.id)
            .join(Event, Event.id == EventOrganiser.event_id)
            .where(Event.status == "published", Event.ends_at > now)
            .group_by(Lab.slug).order_by(func.count().desc(), Lab.slug).limit(1)).one()
        event_slug = db.session.scalar(
            select(Event.slug).where(Event.status == "published", Event.ends_at > now,
                                     Event.id % 10 == 0).order_by(Event.id).limit(1))
        country = db.session.scalar(select(Event.country).group_by(Event.country)
                                    .order_by(func.count().desc()).limit(1))
        upcoming = db.session.scalar(select(func.count()).select_from(Event).where(
            Event.status == "published", Event.ends_at > now)) or 0
    return {"lab_slug": busiest[0], "lab_events": busiest[1], "event_slug": event_slug,
            "country": country, "upcoming": upcoming}


def run_scale(args: argparse.Namespace, labs: int, events: int, workdir: Path,
              progress: Progress) -> dict[str, Any]:
    from labnet import clock
    from labnet.extensions import db
    from labnet.services.events.listing import PAGE_SIZE

    progress.prefix = f"[{labs:,} labs / {events:,} events] "
    if args.database_url:
        target = database.postgres_target(args.database_url, args.pg_schema,
                                          warn=progress.warn)
    else:
        target = database.sqlite_target(workdir, f"events-{labs}")
    app = database.build_app(target, workdir / f"instance-events-{labs}")
    clock.freeze(database.SEED_NOW)
    try:
        progress.note(f"migrating {target.label}")
        migrate_seconds = database.migrate(app, target, quiet=args.quiet)
        progress.note(f"seeding {labs:,} labs")
        seeded = database.seed(app, target, labs=labs, equipment=labs, seed_value=args.seed,
                               progress=progress)
        started = time.perf_counter()
        made = seed_events(app, events, args.seed, progress)
        seed_events_seconds = time.perf_counter() - started
        with app.app_context():
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            engine = db.engine
        month = f"{database.SEED_NOW + timedelta(days=40):%Y-%m}"
        last_page = max(1, made["upcoming"] // PAGE_SIZE)
        paths = {
            "ping": "/ping",
            "events": "/events",
            "events_filtered": f"/events?ket=AMN&country={made['country']}&free=1",
            "events_last": f"/events?page={last_page}",
            "calendar": f"/events?view=calendar&month={month}",
            "map": "/events?view=map",
            "ics": f"/events.ics?country={made['country']}",
            "atom": "/events.atom?kind=training_course",
            "event": f"/events/{made['event_slug']}",
            "lab": f"/labs/{made['lab_slug']}",
        }
        client = app.test_client()
        recorder = measure.QueryRecorder(engine)
        measure.install_lazy_load_guard()
        for path in paths.values():
            measure.get_ok(client, path)
        progress.note("counting queries")
        per_route: dict[str, dict[str, Any]] = {}
        statements: dict[str, list[str]] = {}
        for name, path in paths.items():
            counts, stmts = count_queries(client, recorder, path)
            per_route[name] = {"queries": counts[-1], "queries_stable": len(set(counts)) == 1}
            statements[name] = [measure.shorten_sql(s.sql) for s in stmts]
        progress.note(f"timing, {args.warmup} warm-up + {args.repeat} requests per route")
        gc.collect()
        samples: dict[str, list[float]] = {}
        for name in ROUTE_ORDER:
            samples.update(measure.time_routes(
                client, {name: paths[name]},
                repeat=args.repeat if name != "ping" else max(args.repeat, 100),
                warmup=args.warmup, budget=args.budget, progress=progress))
        measure.remove_lazy_load_guard()
        ping = measure.median(samples["ping"])
        routes: dict[str, Any] = {}
        for name in ROUTE_ORDER:
            med, p90 = measure.median(samples[name]), measure.p90(samples[name])
            routes[name] = {"path": paths[name], "median_ms": round(med * 1000, 3),
                            "p90_ms": round(p90 * 1000, 3), "ratio": round(med / ping, 1),
                            "p90_ratio": round(p90 / ping, 1), "samples": len(samples[name]),
                            **per_route[name]}
        return {
            "labs": labs, "events": events, "upcoming_published": made["upcoming"],
            "lab_events": made["lab_events"], "database": database.server_version(app, target),
            "migrate_seconds": round(migrate_seconds, 2),
            "seed_catalogue_seconds": round(seeded["seed_seconds"], 2),
            "seed_events_seconds": round(seed_events_seconds, 2),
            "database_mb": mb(database.database_bytes(app, target)),
            "rss_peak_mb": mb(measure.peak_rss_bytes()),
            "routes": routes, "statements": statements,
        }
    finally:
        close_scale(app, target, args.keep, progress)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with stdout_to_stderr() as stdout:
        return run(args, stdout)


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    return run_scales(args, stdout, title="the common events page, its views and feeds "
                                          "against /ping",
                      prefix="labnet-bench-events-", route_order=ROUTE_ORDER,
                      run_scale=run_scale, width=16)


if __name__ == "__main__":
    sys.exit(main())
