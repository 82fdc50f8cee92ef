"""``python -m benchmarks.networks``: value-chain network pages against the trivial route.

For each scale (``LABS:EQUIPMENT``, default 100 labs / 1,000 equipment and 10,000 labs /
100,000 equipment) it builds a fresh database through the migrations, seeds the synthetic
catalogue, adds one public network of five stages — three with accepted members (three
labs each, in different countries), one with members in a single country, one empty — and
a coordinator, runs ``ANALYZE``, then measures in-process with the Flask test client, the
clock frozen at :data:`benchmarks.database.SEED_NOW`:

- ``ping``: the trivial route, the denominator of every ratio;
- ``networks``: the list ``/networks``;
- ``network``: the network page (the chain diagram), as a visitor;
- ``map_json``: its map data (``/networks/<slug>/map.json``);
- ``gaps``: the gap finder, as the network's coordinator — it scores every published lab
  of the catalogue for the two gap stages;
- ``labs_network``: the catalogue filtered by the network (``/labs?network=<slug>``);
- ``lab``: a member lab's page (which lists its networks);

each as median and p90, ratio to ``/ping``'s median in the same run, and SQL statements per
request (checked equal across scales: no N+1). It prints one JSON document on stdout and
writes it to ``benchmarks/results/networks.json`` (or ``--output``). Exit status: 0; 1 when
a route's query count differs between scales; 2 when a request or the set-up fails. Time is
reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from flask import Flask
from sqlalchemy import select, text

from benchmarks import database, measure
from benchmarks.dashboard import _login
from benchmarks.harness import run_scales
from benchmarks.progress import Progress
from benchmarks.run import (
    DEFAULT_SCALES,
    close_scale,
    count_queries,
    mb,
    parse_scales,
    positive,
    stdout_to_stderr,
)

RESULTS = Path(__file__).resolve().parent / "results"
ROUTE_ORDER = ("ping", "networks", "network", "map_json", "gaps", "labs_network", "lab")
SLUG = "bench-chain"
# (name, KET areas, equipment categories, keywords, members wanted, one country only)
STAGES = (
    ("Materials", ("AMN",), ("xrd",), "", 3, False),
    ("Characterisation", ("AMN.CHR",), ("sem", "tem"), "analysis", 3, False),
    ("Prototyping", ("AMT.ADD",), ("metal-am",), "prototype", 3, False),
    ("Testing and certification", ("AMT.QC",), ("universal-testing", "ndt"), "testing", 2,
     True),
    ("Pilot production", ("AMT",), ("pilot-line",), "pilot", 0, False),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.networks",
        description="Time the network pages and the gap finder against /ping.")
    parser.add_argument("--scales", type=parse_scales, default=parse_scales(DEFAULT_SCALES),
                        help=f"LABS:EQUIPMENT, comma-separated (default {DEFAULT_SCALES})")
    parser.add_argument("--repeat", type=positive, default=30,
                        help="measured requests per route and scale (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests first")
    parser.add_argument("--budget", type=float, default=30.0, metavar="SECONDS",
                        help="time per route beyond which a slow route gets fewer requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", metavar="URL",
                        help="PostgreSQL instead of SQLite, in a database of its own")
    parser.add_argument("--pg-schema", default="labnet_bench", metavar="NAME")
    parser.add_argument("--output", type=Path, default=RESULTS / "networks.json",
                        metavar="FILE")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def seed_network(app: Flask) -> dict[str, Any]:
    """A coordinator and the benchmark network (rows written directly, no e-mail)."""
    from labnet import security
    from labnet.extensions import db
    from labnet.models import Lab, Organisation, Role, User, UserRole
    from labnet.models.network import (
        Network,
        NetworkCoordinator,
        NetworkMember,
        NetworkStage,
        NetworkStageCategory,
        NetworkStageKet,
    )

    now = database.SEED_NOW
    with app.app_context():
        org = Organisation(name="Network Bench Office", name_key="network bench office",
                           slug="network-bench-office", kind="cluster", country="BE")
        db.session.add(org)
        db.session.flush()
        coordinator = User(organisation_id=org.id, email="coordinator@netbench.example",
                           full_name="Bench Coordinator", email_confirmed_at=now,
                           password_hash=security.hash_password("benchmark-only-password"))
        db.session.add(coordinator)
        db.session.flush()
        db.session.add(UserRole(user_id=coordinator.id, role=Role.COORDINATOR, granted_at=now))
        network = Network(slug=SLUG, name="Benchmark chain", name_key="benchmark chain",
                          description="", ket_code="AMN", ecosystem="energy-intensive",
                          visibility="public", created_at=now, updated_at=now,
                          created_by_id=coordinator.id, lock_seq=0)
        db.session.add(network)
        db.session.flush()
        db.session.add(NetworkCoordinator(network_id=network.id, user_id=coordinator.id,
                                          added_at=now))
        # Members: published labs with coordinates, one per country where asked.
        candidates = db.session.execute(
            select(Lab.id, Lab.country).where(Lab.is_published.is_(True),
                                               Lab.lat.is_not(None))
            .order_by(Lab.id).limit(400)).all()
        used: set[int] = set()
        members = 0
        for position, (name, kets, cats, keywords, wanted, one_country) in enumerate(
                STAGES, start=1):
            stage = NetworkStage(network_id=network.id, position=position, name=name,
                                 description="", keywords=keywords, created_at=now)
            db.session.add(stage)
            db.session.flush()
            db.session.add_all([NetworkStageKet(stage_id=stage.id, ket_code=k) for k in kets])
            db.session.add_all([NetworkStageCategory(stage_id=stage.id, category_code=c)
                                for c in cats])
            countries: set[str] = set()
            picked = 0
            for lab_id, country in candidates:
                if picked == wanted:
                    break
                if lab_id in used:
                    continue
                if one_country and countries and country not in countries:
                    continue
                if not one_country and country in countries:
                    continue
                used.add(lab_id)
                countries.add(country)
                picked += 1
                db.session.add(NetworkMember(
                    network_id=network.id, stage_id=stage.id, lab_id=lab_id,
                    status="accepted", invited_by_id=coordinator.id, invited_at=now,
                    message="", answered_at=now, answer_message=""))
            members += picked
        db.session.commit()
        member_slug = db.session.scalar(select(Lab.slug).where(Lab.id == min(used)))
        return {"coordinator": coordinator.id, "members": members, "member_slug": member_slug}


def run_scale(args: argparse.Namespace, labs: int, equipment: int, workdir: Path,
              progress: Progress) -> dict[str, Any]:
    from labnet import clock
    from labnet.extensions import db

    progress.prefix = f"[{labs:,} labs] "
    if args.database_url:
        target = database.postgres_target(args.database_url, args.pg_schema,
                                          warn=progress.warn)
    else:
        target = database.sqlite_target(workdir, f"networks-{labs}")
    app = database.build_app(target, workdir / f"instance-networks-{labs}")
    clock.freeze(database.SEED_NOW)
    try:
        progress.note(f"migrating {target.label}")
        migrate_seconds = database.migrate(app, target, quiet=args.quiet)
        progress.note(f"seeding {labs:,} labs / {equipment:,} equipment")
        seeded = database.seed(app, target, labs=labs, equipment=equipment,
                               seed_value=args.seed, progress=progress)
        network = seed_network(app)
        started = time.perf_counter()
        with app.app_context():
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            engine = db.engine
        analyze_seconds = time.perf_counter() - started
        anon = app.test_client()
        coordinator = _login(app, network["coordinator"])
        paths = {
            "ping": "/ping",
            "networks": "/networks",
            "network": f"/networks/{SLUG}",
            "map_json": f"/networks/{SLUG}/map.json",
            "gaps": f"/networks/{SLUG}/gaps",
            "labs_network": f"/labs?network={SLUG}",
            "lab": f"/labs/{network['member_slug']}",
        }
        clients = dict.fromkeys(paths, anon) | {"gaps": coordinator}
        recorder = measure.QueryRecorder(engine)
        measure.install_lazy_load_guard()
        for name, path in paths.items():
            measure.get_ok(clients[name], path)
        with app.app_context():
            from labnet.models.network import Network
            from labnet.services.networks.gaps import find_gaps

            gaps = find_gaps(db.session.scalar(select(Network).where(Network.slug == SLUG)))
            gap_summary = [{"stage": g.stage.name, "reason": g.reason,
                            "candidates": len(g.candidates),
                            "best_score": g.candidates[0].score if g.candidates else None}
                           for g in gaps]
        progress.note("counting queries")
        per_route: dict[str, dict[str, Any]] = {}
        statements: dict[str, list[str]] = {}
        for name, path in paths.items():
            counts, stmts = count_queries(clients[name], recorder, path)
            per_route[name] = {"path": path, "queries": counts[-1],
                               "queries_stable": len(set(counts)) == 1}
            statements[name] = [measure.shorten_sql(s.sql) for s in stmts]
        progress.note(f"timing, {args.warmup} warm-up + {args.repeat} requests per route")
        gc.collect()
        samples: dict[str, list[float]] = {}
        for name in ROUTE_ORDER:
            samples.update(measure.time_routes(
                clients[name], {name: paths[name]},
                repeat=args.repeat if name != "ping" else max(args.repeat, 100),
                warmup=args.warmup, budget=args.budget, progress=progress))
        measure.remove_lazy_load_guard()
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
            "labs": labs, "equipment": equipment, "network_members": network["members"],
            "gaps": gap_summary,
            "database": database.server_version(app, target),
            "migrate_seconds": round(migrate_seconds, 2),
            "seed_catalogue_seconds": round(seeded["seed_seconds"], 2),
            "analyze_seconds": round(analyze_seconds, 2),
            "database_mb": mb(database.database_bytes(app, target)),
            "rss_peak_mb": mb(measure.peak_rss_bytes()),
            "routes": routes,
            "statements": statements,
        }
    finally:
        close_scale(app, target, args.keep, progress)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with stdout_to_stderr() as stdout:
        return run(args, stdout)


def run(args: argparse.Namespace, stdout: TextIO) -> int:
    return run_scales(args, stdout, title="value-chain network pages and the gap finder "
                                          "against /ping",
                      prefix="labnet-bench-networks-", route_order=ROUTE_ORDER,
                      run_scale=run_scale)


if __name__ == "__main__":
    sys.exit(main())
