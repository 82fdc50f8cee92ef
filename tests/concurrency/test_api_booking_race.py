"""Bookings sent through the API race bookings sent through the HTML form, in separate
processes released together: the same database guarantee holds (DESIGN rule 1) — exactly
one booking, every other attempt hears "slot taken" (409 on both sides), never a 500."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Booking, OpeningHours
from tests.api.helpers import make_token
from tests.concurrency.api_worker import attempt_via

PROCESSES = 8
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_api_and_form_bookings_racing_leave_exactly_one(app, make_lab, make_equipment,
                                                        make_user, make_org, tmp_path,
                                                        frozen_clock):
    lab = make_lab(timezone="UTC", requires_approval=True, min_lead_hours=0)
    with app.app_context():
        for day in range(7):
            db.session.add(OpeningHours(lab_id=lab.id, weekday=day, opens_at=time(6),
                                        closes_at=time(20)))
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
    item = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4)
    make_user(manages=(lab,))
    users = [make_user(organisation=make_org(kind="company", size_class="small"))
             for _ in range(PROCESSES)]
    secrets = [make_token(app, user, ("book",)) for user in users]
    with app.app_context():
        db.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    start = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    procs = [ctx.Process(target=attempt_via, args=(
        "api" if i % 2 else "form", url, str(tmp_path / f"inst{i}"), user.id, secrets[i],
        item.id, start, start + timedelta(hours=2), NOW, barrier, results))
        for i, user in enumerate(users)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(set(outcomes)) == ["booked", "taken"], outcomes
    assert outcomes.count("booked") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1
