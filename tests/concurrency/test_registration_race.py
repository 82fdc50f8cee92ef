"""Many people register for one event at the same moment, one process each: exactly
``capacity`` hold a seat, everyone else is on the waiting list, nobody sees an error, and
``event.seats_taken`` agrees (DESIGN rule 4: the conditional UPDATE under the event's lock
decides, the CHECK backs it). SQLite by default, PostgreSQL under LABNET_TEST_DATABASE_URL.
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models.events import Event
from labnet.models.training import Registration

# 50 processes for 10 seats on PostgreSQL (row locks wait as long as needed). SQLite
# serialises every writer on one database lock that each waits for at most 30 s
# (busy_timeout, with an fsync per commit): on a loaded 2-core machine 25 processes already
# made the last one wait longer, so SQLite races 12 for 4 seats, like the booking race; the
# guarantee is the same code.
ON_POSTGRES = bool(os.environ.get("LABNET_TEST_DATABASE_URL"))
PROCESSES, SEATS = (50, 10) if ON_POSTGRES else (12, 4)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def register(database_url: str, instance_path: str, user_id: int, event_id: int, barrier,
             results) -> None:
    """One registration in its own process (imported by multiprocessing's spawn)."""
    from labnet import create_app
    from labnet.models import User
    from labnet.services.training.registration import register as service
    from tests.concurrency.conftest import WORKER_CONFIG

    app = create_app({**WORKER_CONFIG, "DATABASE_URL": database_url},
                     instance_path=instance_path)
    with app.test_request_context():
        actor = db.session.get(User, user_id)
        db.session.rollback()
        # A running server has its templates compiled: compile the e-mails' before the
        # race, so the lock is held for the work, not for Jinja's first compilation.
        for kind in ("event_registered", "event_waiting", "_layout"):
            for ext in ("txt", "html"):
                app.jinja_env.get_template(f"email/{kind}.{ext}")
        try:
            # Starting 50 interpreters on a small machine takes minutes: wait long.
            barrier.wait(timeout=900)
            reg = service(actor, event_id, {}, now=NOW)
            db.session.commit()
            results.put(reg.status)
        except Exception as exc:
            db.session.rollback()
            results.put(f"error: {type(exc).__name__}: {exc}")
        finally:
            db.engine.dispose()


def test_many_people_registering_at_once_never_exceed_the_seats(app, make_lab, make_user,
                                                        make_course, tmp_path):
    lab = make_lab()
    make_user(manages=(lab,))
    start = NOW + timedelta(days=7)
    event = make_course(lab, [(start, start + timedelta(hours=3))], capacity=SEATS)
    users = [make_user() for _ in range(PROCESSES)]
    with app.app_context():
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=register, args=(url, str(tmp_path / f"inst{i}"), user.id,
                                                event.id, barrier, results))
             for i, user in enumerate(users)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(set(outcomes)) == ["registered", "waiting"], outcomes
    assert outcomes.count("registered") == SEATS
    assert outcomes.count("waiting") == PROCESSES - SEATS
    with app.app_context():
        assert db.session.get_one(Event, event.id).seats_taken == SEATS
        assert db.session.scalar(select(func.count(Registration.id)).where(
            Registration.status == "registered")) == SEATS
