"""Readiness: the database answers, Redis answers (when configured), migrations at head.

``/health`` says only that the process is alive (a container restarts on its failure, so
it must not fail because the database is down); ``/ready`` says whether this process can
serve now (a proxy or orchestrator sends traffic only then).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import text

from labnet.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def _heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


_HEADS: set[str] = set()


def expected_heads() -> set[str]:
    """The migration heads this code expects (read once per process)."""
    if not _HEADS:
        _HEADS.update(_heads())
    return _HEADS


def readiness(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"ready": bool, "checks": {name: "ok" | reason}}`` for the database, Redis and the
    migrations. Never raises: a failed check is a reason, not an error page."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
        expected = expected_heads()
        checks["database"] = "ok"
        checks["migrations"] = "ok" if current == expected else (
            f"database at {', '.join(sorted(current)) or 'nothing'}, code expects "
            f"{', '.join(sorted(expected))}: run flask db upgrade")
    except Exception as exc:
        db.session.rollback()
        checks["database"] = f"unavailable: {type(exc).__name__}"
        checks.setdefault("migrations", "unknown")
    finally:
        db.session.rollback()
    url = config.get("REDIS_URL")
    if url:
        checks["redis"] = _redis(url)
    return {"ready": all(v == "ok" for v in checks.values()), "checks": checks}


def _redis(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"
