"""``flask labnet backup`` and ``flask labnet restore`` (services/ops/backup.py)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from labnet import clock
from labnet.services.ops import backup as backups


@click.command("backup")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the archive (default BACKUP_DIR, or instance/backups).")
@click.option("--prune", is_flag=True, help="Then delete backups past the retention.")
@with_appcontext
def backup_cmd(target: Path | None, prune: bool) -> None:
    """Back up the database (SQLite online copy or pg_dump) and the instance files."""
    config = current_app.config
    try:
        path = backups.backup(config, current_app.instance_path, now=clock.utcnow(),
                              target=target)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = backups.read_manifest(path)
    click.echo(f"{path}  ({sum(manifest['tables'].values())} rows in "
               f"{len(manifest['tables'])} tables, {len(manifest['files'])} files)")
    if prune:
        gone = backups.prune(path.parent, now=clock.utcnow(),
                             keep_days=int(config["BACKUP_KEEP_DAYS"]),
                             keep_min=int(config["BACKUP_KEEP_MIN"]))
        click.echo(f"pruned {len(gone)} older backups")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
@with_appcontext
def restore_cmd(archive: Path, yes: bool) -> None:
    """Replace the database and instance files with those of ARCHIVE (stop the app and the
    scheduler first), then check every row and file came back."""
    try:
        manifest = backups.read_manifest(archive)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if not yes:
        click.confirm(f"Replace the database with the backup of {manifest['created_at']}?",
                      abort=True)
    try:
        report = backups.restore(current_app.config, current_app.instance_path, archive)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    wrong = {t: c for t, c in report.tables.items() if c[0] != c[1]}
    missing = [f for f, ok in report.files.items() if not ok]
    for table, (expected, found) in sorted(wrong.items()):
        click.echo(f"  {table}: {found} rows, the backup had {expected}")
    for name in missing:
        click.echo(f"  file missing or changed: {name}")
    if not report.complete:
        raise click.ClickException("the restore is incomplete (see above)")
    click.echo(f"restored {sum(e for e, _ in report.tables.values())} rows in "
               f"{len(report.tables)} tables and {len(report.files)} files; all found again")
