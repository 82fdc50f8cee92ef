"""Backups and restores: the database and the files under ``instance/``, in one archive.

A backup is one ``labnet-<UTC time>.tar.gz`` in ``BACKUP_DIR`` (default
``instance/backups``) holding:

- ``database.sqlite``: an online copy through SQLite's backup API (consistent while the app
  writes), or ``database.dump``: ``pg_dump --format=custom`` of the PostgreSQL database;
- ``files/…``: every file under the instance folder (uploaded files), except the SQLite
  database itself, the backups and the secrets (``secret_key``, ``config.py``: they belong
  to the host's configuration, not to the data);
- ``manifest.json``: when, which database, the migration revision, the rows of each table
  and each file's SHA-256, so a restore can prove it found everything again.

:func:`restore` puts an archive back: the SQLite file is replaced through the backup API,
PostgreSQL's ``public`` schema is dropped and ``pg_restore`` loads the dump; the files are
written back; then the rows and files are counted against the manifest. Retention
(:func:`prune`): every backup of the last ``BACKUP_KEEP_DAYS`` days, and always the
``BACKUP_KEEP_MIN`` newest; the ``backup`` job makes one a day and prunes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from labnet.extensions import db

PREFIX = "labnet-"
SUFFIX = ".tar.gz"
SECRETS = frozenset({"secret_key", "config.py"})


class BackupError(Exception):
    """A backup or restore that could not be done (the message says why)."""


@dataclass
class RestoreReport:
    """What a restore found again against the archive's manifest."""

    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # name: (expected, found)
    files: dict[str, bool] = field(default_factory=dict)  # path: found with the same hash

    @property
    def complete(self) -> bool:
        """Every row count and every file matches the manifest."""
        return (all(a == b for a, b in self.tables.values()) and all(self.files.values()))


def backup_dir(config: Mapping[str, Any], instance_path: str) -> Path:
    """Where backups go (``BACKUP_DIR``, default ``instance/backups``)."""
    return Path(config.get("BACKUP_DIR") or Path(instance_path) / "backups")


def _sqlite_path() -> Path | None:
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database).resolve()


def _libpq(url_text: str) -> tuple[str, dict[str, str]]:
    """The database URL for pg_dump/pg_restore without its password (that goes through
    PGPASSWORD, never on a command line other users can read)."""
    url = make_url(url_text)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _instance_files(instance: Path, skip: set[Path]) -> list[Path]:
    out: list[Path] = []
    if not instance.is_dir():
        return out
    for path in sorted(instance.rglob("*")):
        if not path.is_file() or path.name in SECRETS:
            continue
        if any(path == s or s in path.parents for s in skip):
            continue
        out.append(path)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def row_counts() -> dict[str, int]:
    """Rows of every table the models know (and Alembic's version table)."""
    counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) or 0
              for t in db.metadata.sorted_tables}
    db.session.rollback()
    return counts


def _skipped(instance: Path, target: Path, database: Path | None) -> set[Path]:
    skip = {target.resolve()}
    if database is not None:
        skip |= {database, Path(f"{database}-wal"), Path(f"{database}-shm"),
                 Path(f"{database}-journal")}
    return {p.resolve() if p.exists() else p for p in skip}


def backup(config: Mapping[str, Any], instance_path: str, *, now: datetime,
           target: Path | None = None) -> Path:
    """Write one backup archive and return its path (see the module docstring).

    :raises BackupError: pg_dump failed or is missing, or the database is in memory.
    """
    folder = target or backup_dir(config, instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    instance = Path(instance_path).resolve()
    database = _sqlite_path()
    name = f"{PREFIX}{now.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        work = Path(tmp)
        if database is not None:
            dump = work / "database.sqlite"
            source = sqlite3.connect(str(database))
            copy = sqlite3.connect(str(dump))
            try:
                source.backup(copy)  # online: consistent while others write
            finally:
                copy.close()
                source.close()
            dialect = "sqlite"
        else:
            dump = work / "database.dump"
            url, env = _libpq(str(db.engine.url.render_as_string(hide_password=False)))
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", url], env)
            dialect = "postgresql"
        revision = db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
        files = _instance_files(instance, _skipped(instance, folder, database))
        manifest = {
            "created_at": now.isoformat(), "dialect": dialect, "revision": sorted(revision),
            "tables": row_counts(),
            "files": {str(p.relative_to(instance)): _sha256(p) for p in files},
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        partial = work / (name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work / "manifest.json", "manifest.json")
            tar.add(dump, dump.name)
            for path in files:
                tar.add(path, "files/" + str(path.relative_to(instance)))
        final = folder / name
        os.replace(partial, final)  # a backup is whole or absent
    final.chmod(0o600)
    return final


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=3600, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (the PostgreSQL client tools)") from exc
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:500]}")


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup archive.

    :raises BackupError: not a LabNet backup.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            return json.loads(member.read())
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{archive} is not a LabNet backup ({exc})") from exc


def restore(config: Mapping[str, Any], instance_path: str, archive: Path) -> RestoreReport:
    """Replace the database and the instance files with the archive's, then count what
    came back against its manifest. Stop the app and the scheduler first.

    :raises BackupError: not a LabNet backup, made from the other kind of database, or
        pg_restore failed.
    """
    manifest = read_manifest(archive)
    database = _sqlite_path()
    dialect = "sqlite" if database is not None else "postgresql"
    if manifest["dialect"] != dialect:
        raise BackupError(f"this backup is of a {manifest['dialect']} database; the app is "
                          f"configured for {dialect}")
    instance = Path(instance_path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work, filter="data")
        db.session.remove()
        db.engine.dispose()
        if database is not None:
            source = sqlite3.connect(str(work / "database.sqlite"))
            target = sqlite3.connect(str(database))
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            url, env = _libpq(str(db.engine.url.render_as_string(hide_password=False)))
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            db.engine.dispose()
            _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={url}",
                  str(work / "database.dump")], env)
        files = work / "files"
        if files.is_dir():
            for path in sorted(files.rglob("*")):
                if path.is_file():
                    dest = instance / path.relative_to(files)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)
    found = row_counts()
    report = RestoreReport()
    for table, expected in manifest["tables"].items():
        report.tables[table] = (expected, found.get(table, -1))
    for rel, digest in manifest["files"].items():
        path = instance / rel
        report.files[rel] = path.is_file() and _sha256(path) == digest
    return report


def prune(folder: Path, *, now: datetime, keep_days: int, keep_min: int) -> list[Path]:
    """Delete backups older than ``keep_days`` days, always keeping the ``keep_min``
    newest; returns what was deleted."""
    archives = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), reverse=True)  # newest first
    cutoff = now - timedelta(days=keep_days)
    gone = []
    for path in archives[keep_min:]:
        if _made_at(path) < cutoff:
            path.unlink()
            gone.append(path)
    return gone


def _made_at(path: Path) -> datetime:
    stamp = path.name[len(PREFIX):-len(SUFFIX)]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def latest(folder: Path) -> datetime | None:
    """When the newest backup in ``folder`` was made (``None``: none)."""
    archives = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
    return _made_at(archives[-1]) if archives else None


def scheduled_backup(config: Mapping[str, Any], instance_path: str, *, now: datetime
                     ) -> dict[str, Any]:
    """Job: one backup a day (none if the newest is under 20 hours old: a second scheduler
    or a rerun makes no second one), then the retention."""
    folder = backup_dir(config, instance_path)
    newest = latest(folder) if folder.is_dir() else None
    made = None
    if newest is None or now - newest >= timedelta(hours=20):
        made = backup(config, instance_path, now=now).name
    gone = prune(folder, now=now, keep_days=int(config.get("BACKUP_KEEP_DAYS") or 14),
                 keep_min=int(config.get("BACKUP_KEEP_MIN") or 3)) if folder.is_dir() else []
    return {"made": made or "", "pruned": len(gone)}
