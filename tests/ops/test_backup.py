"""Back up, destroy, restore, and find every row and file again (SQLite here; the same
test runs on PostgreSQL in the PostgreSQL suite, through pg_dump and pg_restore)."""

from __future__ import annotations

import tarfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from labnet import clock
from labnet.extensions import db
from labnet.models import Equipment, Lab, User
from labnet.services.ops import backup as backups


def _counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) or 0
            for m in (Lab, Equipment, User)}


def test_backup_destroy_restore_finds_every_row_and_file(
        app, runner, make_lab, make_equipment, make_user, tmp_path):
    lab = make_lab(name="Backed-up Lab")
    make_equipment(lab, name="Backed-up microscope")
    make_user(manages=(lab,))
    instance = Path(app.instance_path)
    upload = instance / "uploads" / "evidence" / "certificate.pdf"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"%PDF-1.4 evidence " * 100)
    (instance / "secret_key").write_text("not in a backup")
    with app.app_context():
        before = _counts()
    target = tmp_path / "backups"
    result = runner.invoke(args=["labnet", "backup", "--to", str(target)])
    assert result.exit_code == 0, result.output
    [archive] = target.glob("labnet-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "files/uploads/evidence/certificate.pdf" in names
    assert "files/secret_key" not in names and "manifest.json" in names

    # Destroy: rows and the file.
    with app.app_context():
        db.session.execute(delete(Equipment))
        db.session.execute(delete(Lab).where(Lab.id == lab.id))
        db.session.commit()
        assert _counts() != before
    upload.unlink()

    refused = runner.invoke(args=["labnet", "restore", str(archive)], input="n\n")
    assert refused.exit_code != 0  # asks first, and "no" restores nothing
    result = runner.invoke(args=["labnet", "restore", "--yes", str(archive)])
    assert result.exit_code == 0, result.output
    assert "all found again" in result.output
    with app.app_context():
        assert _counts() == before
        assert db.session.scalar(select(Lab.name).where(Lab.id == lab.id)) == "Backed-up Lab"
    assert upload.read_bytes() == b"%PDF-1.4 evidence " * 100


def test_restore_refuses_what_is_not_a_backup(runner, tmp_path):
    bogus = tmp_path / "labnet-20260101T000000000000Z.tar.gz"
    bogus.write_bytes(b"not an archive")
    result = runner.invoke(args=["labnet", "restore", "--yes", str(bogus)])
    assert result.exit_code != 0 and "not a LabNet backup" in result.output


def test_retention_keeps_recent_days_and_the_newest_few(tmp_path):
    now = clock.utcnow()
    for days in (0, 1, 2, 20, 30, 40):
        at = now - timedelta(days=days)
        (tmp_path / f"labnet-{at:%Y%m%dT%H%M%S%f}Z.tar.gz").write_bytes(b"x")
    gone = backups.prune(tmp_path, now=now, keep_days=14, keep_min=4)
    assert len(gone) == 2  # 30 and 40 days old; the 20-day one is among the 4 newest
    assert len(list(tmp_path.glob("labnet-*"))) == 4


def test_the_backup_job_makes_one_a_day_whoever_runs_it(app, tmp_path):
    app.config["BACKUP_DIR"] = str(tmp_path / "b")
    now = clock.utcnow()
    with app.app_context():
        first = backups.scheduled_backup(app.config, app.instance_path, now=now)
        again = backups.scheduled_backup(app.config, app.instance_path,
                                         now=now + timedelta(hours=6))
        next_day = backups.scheduled_backup(app.config, app.instance_path,
                                            now=now + timedelta(hours=24))
    assert first["made"] and not again["made"] and next_day["made"]
    assert len(list((tmp_path / "b").glob("labnet-*.tar.gz"))) == 2
