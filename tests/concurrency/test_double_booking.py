"""Many processes, released together, book overlapping slots of one equipment: exactly one
booking exists, every other attempt hears "slot taken", nobody sees a 500 or "database is
locked" (DESIGN rule 1). Runs on SQLite by default and on PostgreSQL under
LABNET_TEST_DATABASE_URL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Booking, OpeningHours
from tests.concurrency.worker import attempt

PROCESSES = 12
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_overlapping_requests_from_many_processes_leave_exactly_one_booking(
        app, make_lab, make_equipment, make_user, tmp_path):
    lab = make_lab(timezone="UTC", requires_approval=True, min_lead_hours=0)
    with app.app_context():
        for day in range(7):
            db.session.add(OpeningHours(lab_id=lab.id, weekday=day, opens_at=time(6),
                                        closes_at=time(20)))
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()
    item = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4,
                          buffer_minutes=15)
    make_user(manages=(lab,))  # a managed lab takes bookings (rule 8)
    users = [make_user() for _ in range(PROCESSES)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    base = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    procs = []
    for i, user in enumerate(users):
        # Every pair overlaps: starts 09:00 or 10:00, two hours each.
        start = base + timedelta(hours=i % 2)
        procs.append(ctx.Process(target=attempt, args=(
            url, str(tmp_path / f"inst{i}"), user.id, item.id, start, start + timedelta(hours=2),
            NOW, barrier, results)))
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(set(outcomes)) == ["booked", "taken"], outcomes
    assert outcomes.count("booked") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1
