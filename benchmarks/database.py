"""A fresh database per scale: built through the migrations, seeded with the synthetic
catalogue, analysed.

SQLite: a new file in a temporary folder. PostgreSQL: a dedicated schema (``labnet_bench``
by default) in the database the URL names, dropped and re-created for each scale and
reached through ``search_path``, so the ``public`` schema is never touched. Give it a
database of its own (``createdb labnet_bench``): an extension the migrations create
(``btree_gist``) lands in the benchmark's schema and is dropped with it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from labnet import create_app
from labnet.extensions import db

# The run's own app settings: no rate limits, a fixed key (no key file written), and
# TESTING so that an exception in a view (a lazy load that raises) reaches the runner.
BENCH_CONFIG: dict[str, Any] = {
    "ENV_NAME": "testing",
    "TESTING": True,
    "SECRET_KEY": "benchmark-only-secret-not-for-production",
    "RATELIMIT_ENABLED": False,
    "SQLALCHEMY_RECORD_QUERIES": False,
    # Measure the cold path: every request builds its answer (the per-process caches of
    # map data and bare-catalogue facets would otherwise answer from memory after the first
    # request, and the query counts would differ between runs). Set by --warm.
    "GEOJSON_CACHE_SECONDS": 0,
    "FACET_CACHE_SECONDS": 0,
}

# Every synthetic row carries this instant, so two runs build the same data.
SEED_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _driver_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class Target:
    kind: str  # "sqlite" | "postgresql"
    url: str
    label: str  # the URL without its password, for the report
    engine_options: dict[str, Any] = field(default_factory=dict)
    sqlite_file: Path | None = None
    schema: str | None = None
    cleanup: Callable[[], None] = lambda: None


def sqlite_target(folder: Path, name: str) -> Target:
    path = folder / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    def cleanup() -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return Target("sqlite", f"sqlite:///{path}", label=f"sqlite:///{path}", sqlite_file=path,
                  cleanup=cleanup)


def postgres_target(url: str, schema: str,
                    warn: Callable[[str], None] = lambda _message: None) -> Target:
    """Drop and re-create ``schema`` in the database ``url`` names; the app reaches it
    through ``search_path`` only."""
    if not _SCHEMA_NAME.match(schema) or schema == "public":
        raise ValueError(f"refusing schema {schema!r}: give a dedicated lower-case name "
                         "(the benchmark drops it), not 'public'")
    driver_url = _driver_url(url)
    if make_url(driver_url).get_backend_name() != "postgresql":
        raise ValueError("--database-url must be a postgresql:// URL (SQLite needs none)")
    engine = create_engine(driver_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            shared = conn.execute(text(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name = 'alembic_version')")).scalar()
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    if shared:
        warn(f"warning: {make_url(driver_url).database} also holds a LabNet schema in public "
             "(the test suite's?). Extensions the migrations create may land in the "
             f"benchmark's schema {schema} and go with it; give the benchmark a database of "
             "its own: createdb labnet_bench")

    def cleanup() -> None:
        eng = create_engine(driver_url, isolation_level="AUTOCOMMIT")
        try:
            with eng.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            eng.dispose()

    label = make_url(driver_url).render_as_string(hide_password=True)
    return Target("postgresql", url, label=f"{label} (schema {schema})", schema=schema,
                  engine_options={"connect_args": {"options": f"-c search_path={schema},public"}},
                  cleanup=cleanup)


def build_app(target: Target, instance_path: Path) -> Flask:
    return create_app(
        {**BENCH_CONFIG, "DATABASE_URL": target.url,
         "SQLALCHEMY_ENGINE_OPTIONS": target.engine_options},
        instance_path=str(instance_path),
    )


def migrate(app: Flask, target: Target, *, quiet: bool = False) -> float:
    """Build the schema through the migrations; returns the seconds it took."""
    from flask_migrate import upgrade

    started = time.perf_counter()
    with app.app_context():
        if quiet:  # Alembic logs each step at INFO through its own handler
            logging.disable(logging.INFO)
        try:
            upgrade()
        finally:
            logging.disable(logging.NOTSET)
        if target.schema:
            # The tables must have landed in the benchmark's schema, not in public.
            where = db.session.scalar(text(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'lab' "
                "AND table_schema = current_schema()"))
            if where != target.schema:
                raise RuntimeError(f"migrations did not build into schema {target.schema}")
    return time.perf_counter() - started


def seed(app: Flask, target: Target, *, labs: int, equipment: int, seed_value: int,
         progress: Callable[[str, int, int], None]) -> dict[str, float]:
    """Insert the synthetic catalogue and refresh the planner's statistics."""
    from labnet.services.seed import seed_synthetic

    with app.app_context():
        started = time.perf_counter()
        seed_synthetic(labs=labs, equipment=equipment, seed=seed_value, now=SEED_NOW,
                       progress=progress)
        db.session.commit()
        seeded = time.perf_counter()
        # `flask labnet seed-synthetic` runs ANALYZE on SQLite; PostgreSQL would otherwise
        # plan with whatever autovacuum has gathered so far, so analyse both alike.
        if target.kind == "sqlite":
            db.session.execute(text("ANALYZE"))
        else:
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(text(f"ANALYZE {tables}"))
        db.session.commit()
        analysed = time.perf_counter()
    return {"seed_seconds": seeded - started, "analyze_seconds": analysed - seeded}


def database_bytes(app: Flask, target: Target) -> int | None:
    if target.sqlite_file is not None:
        return sum(
            p.stat().st_size
            for p in (target.sqlite_file, Path(f"{target.sqlite_file}-wal"))
            if p.exists()
        )
    with app.app_context():
        return int(db.session.scalar(text(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind = 'r'"), {"schema": target.schema}) or 0)


def server_version(app: Flask, target: Target) -> str:
    with app.app_context():
        if target.kind == "sqlite":
            return "SQLite " + db.session.scalar(text("SELECT sqlite_version()"))
        return db.session.scalar(text("SELECT version()")).split(" on ")[0]
