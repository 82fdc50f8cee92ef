"""``benchmarks.bookings.seed_bookings``: the bulk loader the benchmarks (and the dashboard's)
use — bookings spread over the equipment, none overlapping, the backstop put back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from benchmarks.bookings import seed_bookings
from labnet.extensions import db
from labnet.models import Booking
from tests.fixtures.berlin import APPROVING


def test_loads_spread_bookings_and_puts_the_no_overlap_backstop_back(app, make_lab,
                                                                    make_equipment):
    lab = make_lab(**APPROVING, hours=((8, 17),))
    items = [make_equipment(lab, booking_unit="hour", buffer_minutes=30) for _ in range(4)]
    seen: list[tuple[str, int, int]] = []
    result = seed_bookings(app, 1000, lambda *a: seen.append(a), chunk=300)
    assert result["bookings"] == 1000 and result["equipment"] == 4
    assert ("bookings", 1000, 1000) in seen
    with app.app_context():
        per_equipment = dict(db.session.execute(
            select(Booking.equipment_id, func.count()).group_by(Booking.equipment_id)).all())
        assert per_equipment == {item.id: 250 for item in items}
        statuses = set(db.session.scalars(select(Booking.status).distinct()))
        assert {"completed", "confirmed", "pending"} <= statuses
        if db.engine.dialect.name == "sqlite":
            names = set(db.session.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'booking'")))
            assert names == {"booking_no_overlap_insert", "booking_no_overlap_update"}
        # The backstop is back: an active booking on top of an active one is refused.
        active = db.session.scalars(select(Booking).where(Booking.status == "confirmed")
                                    .limit(1)).one()
        columns = [c.name for c in Booking.__table__.columns if c.name not in ("id",
                                                                             "reference")]
        values = {c: getattr(active, c) for c in columns}
        with pytest.raises(IntegrityError):
            db.session.execute(Booking.__table__.insert().values(**values))
        db.session.rollback()


def test_refuses_more_bookings_than_distinct_days(app, make_lab, make_equipment):
    make_equipment(make_lab(**APPROVING, hours=((8, 17),)))
    with pytest.raises(ValueError, match="distinct days"):
        seed_bookings(app, 10_000)
