"""Readiness: the database answers, Redis answers (when configured), migrations at head.

``/health`` says only that the process is alive (a container restarts on its failure, so
it must not fail because the database is down); ``/ready`` says whether this process can
serve now (a proxy or orchestrator sends traffic only then).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from labnet.extensions import db

_HEADS: dict[str, set[str]] = {}


def expected_heads(migrations: str) -> set[str]:
    """The heads of the migrations in folder ``migrations`` (read once per process)."""
    if migrations not in _HEADS:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", migrations)
        _HEADS[migrations] = set(ScriptDirectory.from_config(config).get_heads())
    return _HEADS[migrations]


def readiness(config: Mapping[str, Any], migrations: str) -> dict[str, Any]:
    """``{"ready": bool, "checks": {name: "ok" | reason}}`` for the database, Redis and the
    migrations (the folder ``migrations`` holds the code's). Never raises: a failed check
    is a reason, not an error page."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
        expected = expected_heads(migrations)
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
