"""``python -m benchmarks.run``: pages against the trivial route at two catalogue scales.

For each scale (default 100 labs / 1,000 equipment and 10,000 labs / 100,000 equipment) it
builds a fresh database through the migrations, seeds the synthetic catalogue (progress on
stderr), and measures in-process with the Flask test client:

- median and p90 time of ``/ping``, ``/``, ``/labs``, ``/labs?page=5``, ``/labs?q=WORD``, a
  lab page and an equipment page, and each median as a ratio to ``/ping``'s median in the
  same run (never an absolute threshold);
- the SQL statements one request issues, and the plan of each (``EXPLAIN QUERY PLAN`` on
  SQLite, ``EXPLAIN`` on PostgreSQL), with the tables and indexes read whole;
- the peak Python allocation of one request, as a ratio to ``/ping``'s; the process's RSS;
- migration, seeding and ANALYZE times and the database size.

It prints one JSON document on stdout and writes it to ``benchmarks/results/latest.json``
(or ``--output``). Exit status: 0; 1 when a page's query count differs between scales (an
N+1 query) or a relationship would lazy-load silently; 2 when a page fails (an exception,
such as a lazy load raising, or a status other than 200) or the set-up fails. Time is
reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TextIO

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy import inspect as sa_inspect

from benchmarks import database, measure
from benchmarks.progress import Progress
from labnet.config import DEFAULTS

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SCALES = "100:1000,10000:100000"
SEARCH_WORD = "photonics"  # one of the words synthetic lab names are made of
# A word met through the equipment (its category's vocabulary), not the lab's name: the
# search's costlier path (every microscopy instrument's lab, the matched machines shown).
EQUIPMENT_WORD = "microscope"
ROUTE_ORDER = ("ping", "home", "labs", "labs_cold", "labs_page", "labs_search",
               "labs_search_cold", "labs_words", "labs_words_cold", "labs_combo",
               "labs_combo_cold", "lab", "equipment", "geojson", "geojson_cold",
               "geojson_filtered")
# Routes measured cold: the catalogue's version is bumped before each request, as any
# committed catalogue write does on any host, so no cached answer serves it.
COLD = "cold:"
COLD_ROUTES = ("labs", "labs_search", "labs_words", "labs_combo", "geojson")
# The caches as production has them (labnet.config); the cold routes show the cost
# without them.
CACHE_CONFIG = {name: DEFAULTS[name] for name in ("FACET_CACHE_SECONDS", "GEOJSON_CACHE_SECONDS")}


# --- arguments -----------------------------------------------------------------------------

def parse_scales(value: str) -> list[tuple[int, int]]:
    """``LABS:EQUIPMENT`` pairs, comma-separated (other benchmarks share this)."""
    return [(labs, equipment) for labs, equipment, _ in parse_catalogue_scales(value)]


def parse_catalogue_scales(value: str) -> list[tuple[int, int, int]]:
    """``LABS:EQUIPMENT[:BOOKINGS]``, comma-separated (bookings 0 when left out)."""
    scales = []
    for part in value.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        labs, sep, rest = part.partition(":")
        equipment, _sep, bookings = rest.partition(":")
        try:
            n_labs = int(labs)
            n_eq = int(equipment) if sep else n_labs * 10
            n_bookings = int(bookings) if bookings else 0
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad scale {part!r}: use LABS:EQUIPMENT[:BOOKINGS], e.g. 100:1000") from None
        if n_labs < 1 or n_eq < 1 or n_bookings < 0:
            raise argparse.ArgumentTypeError(
                f"bad scale {part!r}: labs and equipment at least 1, bookings at least 0")
        scales.append((n_labs, n_eq, n_bookings))
    if not scales:
        raise argparse.ArgumentTypeError("no scale given")
    return scales


def positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Time LabNet pages against /ping and count their SQL queries at several "
                    "catalogue scales; print JSON.",
    )
    parser.add_argument("--scales", type=parse_catalogue_scales,
                        default=parse_catalogue_scales(DEFAULT_SCALES),
                        help=f"LABS:EQUIPMENT[:BOOKINGS], comma-separated (default "
                             f"{DEFAULT_SCALES}; bookings are loaded with "
                             "benchmarks.bookings.seed_bookings)")
    parser.add_argument("--repeat", type=positive, default=100,
                        help="measured requests per route and scale (default 100)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="unmeasured requests per route first (default 10)")
    parser.add_argument("--budget", type=float, default=20.0, metavar="SECONDS",
                        help="time per route and scale beyond which a slow route gets fewer "
                             "requests (at least 10; default 20; 0 for no limit)")
    parser.add_argument("--seed", type=int, default=1, help="synthetic data seed (default 1)")
    parser.add_argument("--database-url", metavar="URL",
                        help="PostgreSQL instead of SQLite, in a database of its own, e.g. "
                             "postgresql://postgres@127.0.0.1:5432/labnet_bench "
                             "(createdb -h 127.0.0.1 -U postgres labnet_bench)")
    parser.add_argument("--pg-schema", default="labnet_bench", metavar="NAME",
                        help="schema the run drops and re-creates in that database "
                             "(default labnet_bench; never 'public')")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", metavar="FILE",
                        help="where to write the JSON too (default benchmarks/results/latest.json)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases (SQLite files are then left in a temp folder)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser.parse_args(argv)


# --- one scale -----------------------------------------------------------------------------

def pick_routes(app: Flask, labs: int, equipment: int
                ) -> tuple[dict[str, str], dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Paths to time, chosen from the seeded data: a published lab with a typical amount of
    equipment, one of its active machines, a search word that matches, page 5 (or the last
    page when there are fewer).

    Also variants of the same pages showing more or fewer rows (the lab with the most and
    the fewest equipment, the last, partly filled list page, a search with one hit): their
    query counts must equal the timed page's. This catches an N+1 query even where both
    scales happen to show the same number of rows (a full list page is 20 labs at both)."""
    from labnet.extensions import db
    from labnet.models import Equipment, EquipmentStatus, Lab
    from labnet.services.catalogue.pages import list_labs

    try:
        from labnet.services.catalogue import search
    except ImportError:  # before the catalogue search existed
        search = None

    per_page = app.config["LABS_PER_PAGE"]
    lab_cols = (Lab.id, Lab.slug, Lab.city, Lab.country, Lab.name, Lab.equipment_count)
    with app.app_context():
        published = db.session.scalar(select(func.count()).where(Lab.is_published.is_(True)))
        if not published:
            raise RuntimeError("the synthetic catalogue has no published lab")
        pages = math.ceil(published / per_page)
        page = min(5, pages)
        typical = max(1, round(equipment / labs))
        visible = select(*lab_cols).where(Lab.is_published.is_(True))
        lab = db.session.execute(
            visible.where(Lab.equipment_count >= typical).order_by(Lab.id).limit(1)
        ).first() or db.session.execute(
            visible.order_by(Lab.equipment_count.desc(), Lab.id).limit(1)
        ).one()
        most = db.session.execute(
            visible.order_by(Lab.equipment_count.desc(), Lab.id).limit(1)).one()
        fewest = db.session.execute(
            visible.where(Lab.equipment_count >= 1).order_by(Lab.equipment_count, Lab.id)
            .limit(1)).first() or most
        equipment_id = db.session.scalar(
            select(Equipment.id)
            .where(Equipment.lab_id == lab.id, Equipment.status == EquipmentStatus.ACTIVE)
            .order_by(Equipment.id).limit(1)
        ) or db.session.scalar(
            select(Equipment.id).join(Lab, Lab.id == Equipment.lab_id)
            .where(Lab.is_published.is_(True), Equipment.status == EquipmentStatus.ACTIVE)
            .order_by(Equipment.id).limit(1)
        )
        if equipment_id is None:
            raise RuntimeError("the synthetic catalogue has no active equipment")

        def matches(word: str) -> int:
            # With the page's own matching rules: the search service's when it has one.
            if search is not None and hasattr(search, "list_matching"):
                query, _errors = search.parse_query({"q": word})
                stmt = search.list_matching(None, query, now=database.SEED_NOW).subquery()
            else:
                stmt = list_labs(None, word).order_by(None).subquery()
            return db.session.scalar(select(func.count()).select_from(stmt)) or 0

        word = SEARCH_WORD
        hits = matches(word)
        if not hits:
            word = next((w for w in lab.name.split() if len(w) >= 4), lab.name.split()[0])
            word = word.lower()
            hits = matches(word)
        # Synthetic names read "Applied Photonics Lab 00042 Aachen": the number is unique.
        number = next((w for w in lab.name.split() if w.isdigit()), None)
        one_hit = number if number and matches(number) == 1 else None
    routes = {
        "ping": "/ping",
        "home": "/",
        "labs": "/labs",
        "labs_page": f"/labs?page={page}",
        "labs_search": f"/labs?q={word}",
        "labs_words": f"/labs?q={EQUIPMENT_WORD}",
        # Issue 3's benchmark: words + KET + radius around a city of the synthetic data.
        "labs_combo": f"/labs?q={word}&ket=AMT&near=Aachen&radius_km=500",
        "lab": f"/labs/{lab.slug}",
        "equipment": f"/equipment/{equipment_id}",
        "geojson": "/map/labs.geojson",
        "geojson_filtered": f"/map/labs.geojson?country={lab.country}",
    }
    routes.update({f"{name}_cold": COLD + routes[name] for name in COLD_ROUTES})
    routes = {name: routes[name] for name in ROUTE_ORDER}
    info = {"published_labs": published, "list_pages": pages, "search_word": word,
            "search_matches": hits, "lab_equipment_count": lab.equipment_count}
    last_page_rows = published - (pages - 1) * per_page
    variants: dict[str, list[dict[str, Any]]] = {
        "labs_page": [{"path": f"/labs?page={pages}", "rows": last_page_rows}],
        "lab": [{"path": f"/labs/{most.slug}", "rows": most.equipment_count},
                {"path": f"/labs/{fewest.slug}", "rows": fewest.equipment_count}],
    }
    if one_hit:
        variants["labs_search"] = [{"path": f"/labs?q={one_hit}", "rows": 1}]
        variants["labs_search_cold"] = [{"path": f"{COLD}/labs?q={one_hit}", "rows": 1}]
    return routes, info, variants


def count_queries(client: Any, recorder: measure.QueryRecorder, path: str, runs: int = 3
                  ) -> tuple[list[int], list[measure.Statement]]:
    """Statements per request over ``runs`` requests (they must agree) and the statements
    of the last one."""
    counts: list[int] = []
    last: list[measure.Statement] = []
    for _ in range(runs):
        with recorder.recording() as recorded:
            measure.get_ok(client, path)
        last = recorded
        counts.append(len(last))
    return counts, last


class CatalogueClient(FlaskClient):
    """The Flask test client, reading a path that starts with :data:`COLD` after a bump
    of the catalogue's version (``labnet.caches.bump``: what a committed catalogue write
    does), so that request finds nothing cached."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], str) and args[0].startswith(COLD):
            from labnet import caches

            with self.application.app_context():
                caches.bump()
            args = (args[0][len(COLD):], *args[1:])
        return super().open(*args, **kwargs)


def wire_bytes(client: Any, path: str) -> int:
    """The body's size as a browser asking for gzip receives it (the map's "on the wire")."""
    response = client.get(path, headers={"Accept-Encoding": "gzip"})
    size = len(response.get_data())
    response.close()
    return size


def load_bookings(app: Flask, target: Any, count: int, progress: Progress) -> dict[str, Any]:
    """``count`` bookings over the seeded equipment (benchmarks.bookings' loader), then
    ANALYZE again: the catalogue's pages must not slow down with the bookings table."""
    from benchmarks.bookings import seed_bookings
    from labnet.extensions import db

    progress.note(f"loading {count:,} bookings")
    loaded = seed_bookings(app, count, progress)
    with app.app_context():
        db.session.execute(text("ANALYZE" if target.kind == "sqlite" else "ANALYZE booking"))
        db.session.commit()
    progress.note(f"loaded in {loaded['seconds']:.1f} s")
    return loaded


def mb(n: int | None) -> float | None:
    return None if n is None else round(n / 1024 / 1024, 1)


def run_scale(args: argparse.Namespace, labs: int, equipment: int, bookings: int, workdir: Path,
              progress: Progress) -> tuple[dict[str, Any], dict[str, list[str]], str]:
    from labnet.extensions import db

    progress.prefix = f"[{labs:,} labs / {equipment:,} equipment] "
    if args.database_url:
        target = database.postgres_target(args.database_url, args.pg_schema,
                                          warn=progress.warn)
    else:
        target = database.sqlite_target(workdir, f"bench-{labs}-{equipment}")
    app = database.build_app(target, workdir / f"instance-{labs}")
    app.config.update(CACHE_CONFIG)
    try:
        progress.note(f"migrating {target.label}")
        migrate_seconds = database.migrate(app, target, quiet=args.quiet)
        progress.note("seeding")
        seeded = database.seed(app, target, labs=labs, equipment=equipment,
                               seed_value=args.seed, progress=progress)
        progress.note(f"seeded in {seeded['seed_seconds']:.1f} s "
                      f"(+ ANALYZE {seeded['analyze_seconds']:.1f} s)")
        loaded: dict[str, Any] = {}
        if bookings:
            loaded = load_bookings(app, target, bookings, progress)
        rss_peak_after_seed = measure.peak_rss_bytes()
        routes, info, variants = pick_routes(app, labs, equipment)
        version = database.server_version(app, target)
        with app.app_context():
            engine = db.engine
        recorder = measure.QueryRecorder(engine)
        # Requests must run outside any app context of ours: each then gets its own
        # context and session, as in production (an outer context would share one session
        # and its identity map across requests and hide queries).
        client = CatalogueClient(app, app.response_class, use_cookies=True)
        measure.install_lazy_load_guard()
        for path in routes.values():
            measure.get_ok(client, path)  # compile templates, fill caches

        progress.note("counting queries and reading plans")
        per_route: dict[str, dict[str, Any]] = {}
        statements_by_route: dict[str, list[str]] = {}
        plans: dict[str, Any] = {}
        scans: dict[str, Any] = {}
        for name, path in routes.items():
            measure.get_ok(client, path)  # a warm route's cache refilled after a cold one
            counts, statements = count_queries(client, recorder, path)
            alloc = measure.allocation_peak(client, path)
            size = measure.get_ok(client, path)
            per_route[name] = {"path": path, "queries": counts[-1],
                               "queries_stable": len(set(counts)) == 1,
                               "alloc_peak_kb": round(alloc / 1024, 1), "bytes": size,
                               "bytes_gzip": wire_bytes(client, path)}
            statements_by_route[name] = [measure.shorten_sql(s.sql) for s in statements]
            if statements:
                with app.app_context():
                    plans[name] = measure.explain(engine, statements)
                scans[name] = measure.full_scans(plans[name])
            # SELECTs run again to their last row; writes (a demand signal) as they ran.
            writes = [s for s in statements
                      if s.many or not s.sql.lstrip().upper().startswith(("SELECT", "WITH"))]
            per_route[name]["sql_ms"] = round(
                sum(p["ms"] for p in plans.get(name, []))
                + sum(s.seconds for s in writes) * 1000, 3)
            per_route[name]["writes"] = len(writes)
        # How big is each table a page reads whole? (A 40-row taxonomy is fine; `lab` is not.)
        # (Names that are no table, such as a CTE's, are left out.)
        with app.app_context():
            tables = set(sa_inspect(db.engine).get_table_names())
            scanned = sorted({t for sc in scans.values() for t in sc["tables"]} & tables)
            rows = {t: db.session.scalar(text(f'SELECT count(*) FROM "{t}"')) for t in scanned}
        for sc in scans.values():
            sc["tables"] = {t: rows[t] for t in sc["tables"] if t in rows}
        for name, items in variants.items():
            for variant in items:
                measure.get_ok(client, variant["path"])  # as the route's: cache filled
                counts, _ = count_queries(client, recorder, variant["path"], runs=1)
                variant["queries"] = counts[0]
                variant["queries_equal"] = counts[0] == per_route[name]["queries"]

        progress.note(f"timing {len(routes)} routes, {args.warmup} warm-up + "
                      f"{args.repeat} requests each (fewer for a route slower than "
                      f"{args.budget:g} s in all)" if args.budget else
                      f"timing {len(routes)} routes, {args.warmup} warm-up + "
                      f"{args.repeat} requests each")
        gc.collect()
        rss_before = measure.rss_bytes()
        samples = measure.time_routes(client, routes, repeat=args.repeat, warmup=args.warmup,
                                      budget=args.budget, progress=progress)
        rss_after = measure.rss_bytes()
        measure.remove_lazy_load_guard()

        ping_median = measure.median(samples["ping"])
        ping_alloc = per_route["ping"]["alloc_peak_kb"] or 1.0
        for name, values in samples.items():
            med, p90 = measure.median(values), measure.p90(values)
            per_route[name] = {
                "path": per_route[name]["path"],
                "median_ms": round(med * 1000, 3),
                "p90_ms": round(p90 * 1000, 3),
                "ratio": round(med / ping_median, 1),
                "p90_ratio": round(p90 / ping_median, 1),
                "samples": len(values),
                **{k: v for k, v in per_route[name].items() if k != "path"},
                "alloc_ratio": round(per_route[name]["alloc_peak_kb"] / ping_alloc, 1),
            }
        result = {
            "labs": labs,
            "equipment": equipment,
            **info,
            "database": version,
            "migrate_seconds": round(migrate_seconds, 2),
            "seed_seconds": round(seeded["seed_seconds"], 2),
            "bookings": bookings,
            "load_bookings_seconds": loaded.get("seconds"),
            "analyze_seconds": round(seeded["analyze_seconds"], 2),
            "database_mb": mb(database.database_bytes(app, target)),
            "rss_peak_mb_after_seed": mb(rss_peak_after_seed),
            "rss_mb_before_timing": mb(rss_before),
            "rss_mb_after_timing": mb(rss_after),
            "rss_peak_mb": mb(measure.peak_rss_bytes()),
            "routes": {name: per_route[name] for name in ROUTE_ORDER},
            "query_variants": variants,
            "full_scans": scans,
            "plans": plans,
        }
        return result, statements_by_route, target.label
    finally:
        close_scale(app, target, args.keep, progress)


# --- the whole run -------------------------------------------------------------------------

def route_lines(routes: dict[str, Any], width: int, *, path: bool = False) -> list[str]:
    """The per-route table every benchmark prints: median, p90, ratio to /ping, queries."""
    lines = [f"{'route':<{width}} {'median ms':>10} {'p90 ms':>9} {'ratio':>7} {'queries':>8}"
             + ("  path" if path else "")]
    for name, r in routes.items():
        lines.append(f"{name:<{width}} {r['median_ms']:>10.3f} {r['p90_ms']:>9.3f} "
                     f"{r['ratio']:>6.1f}× {r['queries']:>8}" + (f"  {r['path']}" if path else ""))
    return lines


def close_scale(app: Flask, target: Any, keep: bool, progress: Any) -> None:
    """End a scale's run: lazy-load guard off, clock thawed, connections closed, the
    database removed unless kept."""
    from labnet import clock
    from labnet.extensions import db

    measure.remove_lazy_load_guard()
    clock.freeze(None)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if not keep:
        target.cleanup()
    progress.prefix = ""


def summary_lines(scale: dict[str, Any]) -> list[str]:
    return route_lines(scale["routes"], 12, path=True)


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "flask": version("flask"),
        "sqlalchemy": version("sqlalchemy"),
        "flask_sqlalchemy": version("flask-sqlalchemy"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": _load(),
    }


def _load() -> list[float] | None:
    """1, 5 and 15-minute load averages: a busy machine makes every figure noisier."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


@contextmanager
def stdout_to_stderr() -> Iterator[TextIO]:
    """Whatever the app prints while we run it (a migration's report, a library's notice)
    goes to stderr, at the file-descriptor level, so stdout carries the JSON document alone.
    Yields a stream on the real stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    previous, sys.stdout = sys.stdout, sys.stderr
    real = os.fdopen(os.dup(saved), "w", encoding="utf-8")
    try:
        yield real
    finally:
        real.close()
        sys.stderr.flush()
        previous.flush()
        os.dup2(saved, 1)
        os.close(saved)
        sys.stdout = previous


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with stdout_to_stderr() as stdout:
        return run(args, stdout)


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    progress = Progress(quiet=args.quiet)
    from labnet.models.base import Base

    not_raising = measure.relationships_not_raising(Base)
    document: dict[str, Any] = {
        "benchmark": "labnet pages against /ping",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "settings": {"repeat": args.repeat, "warmup": args.warmup, "seed": args.seed,
                     "budget_seconds_per_route": args.budget or None,
                     "client": "Flask test client (in-process)",
                     "ratio": "median of the route / median of /ping in the same run"},
        "scales": [],
    }
    statements: list[dict[str, list[str]]] = []
    errors: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="labnet-bench-"))
    started = time.perf_counter()
    try:
        for labs, equipment, bookings in args.scales:
            try:
                scale, stmts, label = run_scale(args, labs, equipment, bookings, workdir,
                                                progress)
            except measure.RouteFailed as exc:
                errors.append(f"{labs} labs / {equipment} equipment: {exc}")
                progress.warn(f"FAILED: {exc}")
                break
            except Exception as exc:  # set-up failed (database unreachable, migration, …)
                traceback.print_exc()
                errors.append(f"{labs} labs / {equipment} equipment: "
                              f"{type(exc).__name__}: {exc}")
                break
            document["settings"]["database"] = (
                "SQLite file in a temporary folder" if not args.database_url else label)
            document["scales"].append(scale)
            statements.append(stmts)
            for line in summary_lines(scale):
                progress.note("  " + line)
    except KeyboardInterrupt:
        progress.note("interrupted")
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not args.database_url:
            progress.note(f"databases kept in {workdir}")

    # The N+1 guard: a page's query count must not depend on the catalogue's size.
    scales = document["scales"]
    queries_equal: dict[str, bool | None] = {}
    for name in ROUTE_ORDER:
        counts = [s["routes"][name]["queries"] for s in scales if name in s["routes"]]
        stable = all(s["routes"][name]["queries_stable"] for s in scales if name in s["routes"])
        queries_equal[name] = (len(set(counts)) == 1 and stable) if len(counts) > 1 else None
    differing = [name for name, equal in queries_equal.items() if equal is False]
    # …nor on how many rows the page shows (more or less equipment, a partial page).
    within: dict[str, bool] = {}
    for s in scales:
        for name, items in s["query_variants"].items():
            within[name] = within.get(name, True) and all(v["queries_equal"] for v in items)
    varying = [name for name, equal in within.items() if not equal]
    document["checks"] = {
        "queries_equal": queries_equal,
        "queries_per_scale": {
            name: [s["routes"][name]["queries"] for s in scales] for name in ROUTE_ORDER
        } if scales else {},
        "all_queries_equal": not differing if len(scales) > 1 else None,
        "queries_equal_across_row_counts": within,
        # Any SQL-emitting lazy load raised while pages were served (a failing page then
        # shows in "errors"); these relationships would lazy-load silently elsewhere.
        "lazy_load_guard": "do_orm_execute raises on every SQL lazy load while measuring",
        "relationships_lazy_loading_silently": not_raising,
        "errors": errors,
    }
    document["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    document["total_seconds"] = round(time.perf_counter() - started, 1)
    document["environment"]["load_average_at_end"] = _load()
    status = 2 if errors else 1 if (differing or varying) else 0
    document["ok"] = status == 0

    text = json.dumps(document, indent=2, ensure_ascii=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    stdout.write(text + "\n")
    stdout.flush()

    for name in differing:
        progress.warn(f"N+1? {name}: queries per scale "
                      f"{document['checks']['queries_per_scale'][name]}")
        for (labs, equipment, _bookings), stmts in zip(args.scales, statements, strict=False):
            progress.warn(f"  at {labs:,} labs / {equipment:,} equipment:")
            for sql in stmts[name]:
                progress.warn(f"    {sql[:200]}")
    for name in varying:
        for s in scales:
            progress.warn(f"N+1? {name} at {s['labs']:,} labs: {s['routes'][name]['queries']} "
                          f"queries, but {s['query_variants'][name]}")
    for rel in not_raising:
        progress.warn(f"warning: {rel} would lazy-load silently outside the benchmark; "
                      "declare it lazy='raise_on_sql'")
    for err in errors:
        progress.warn(f"error: {err}")
    progress.note(f"wrote {args.output}")
    return status


if __name__ == "__main__":
    sys.exit(main())
