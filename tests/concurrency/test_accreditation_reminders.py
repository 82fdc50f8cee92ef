"""Two schedulers run the daily accreditation work at the same moment, each its own process
and bypassing the job lease (as if two leases had been granted): every reminder is still
sent once — the unique (accreditation, kind) record decides. SQLite by default, PostgreSQL
under LABNET_TEST_DATABASE_URL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Accreditation, AccreditationReminder, OutboxEmail, Role

PROCESSES = 2
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def run_daily_in_process(database_url: str, instance_path: str, barrier, results) -> None:
    from labnet import create_app
    from labnet.services.accreditation.reminders import run_daily
    from tests.concurrency.conftest import WORKER_CONFIG

    app = create_app({**WORKER_CONFIG, "DATABASE_URL": database_url},
                     instance_path=instance_path)
    with app.app_context():
        try:
            barrier.wait(timeout=60)
            result = run_daily(now=NOW)
            db.session.commit()
            results.put(result)
        except Exception as exc:
            db.session.rollback()
            results.put({"error": f"{type(exc).__name__}: {exc}"})
        finally:
            db.engine.dispose()


def test_two_schedulers_at_once_send_each_reminder_once(app, make_lab, make_user, tmp_path):
    labs = [make_lab(name=f"Race Lab {i}") for i in range(5)]
    managers = [make_user(manages=(lab,)) for lab in labs]
    make_user(roles=(Role.VERIFIER,))
    with app.app_context():
        for lab in labs:
            db.session.add(Accreditation(lab_id=lab.id, scheme_code="iso-9001",
                                         status="verified", valid_until=date(2026, 3, 20)))
            db.session.add(Accreditation(lab_id=lab.id, scheme_code="iso-14001",
                                         status="claimed",
                                         created_at=datetime(2026, 2, 2, tzinfo=UTC)))
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=run_daily_in_process,
                         args=(url, str(tmp_path / f"inst{i}"), barrier, results))
             for i in range(PROCESSES)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all("error" not in o for o in outcomes), outcomes
    assert sum(o["reminders"] for o in outcomes) == 5
    assert sum(o["waiting"] for o in outcomes) == 5
    with app.app_context():
        expiring = list(db.session.scalars(select(OutboxEmail.to_addr).where(
            OutboxEmail.kind == "accreditation_expiring")))
        assert sorted(expiring) == sorted(m.email for m in managers)
        assert db.session.scalar(select(func.count()).select_from(OutboxEmail).where(
            OutboxEmail.kind == "accreditation_waiting")) == 5
        assert db.session.scalar(select(func.count()).select_from(AccreditationReminder)) == 10
