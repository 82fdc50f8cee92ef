"""``availability.week_view``: the calendar's week, slot by slot, in the lab's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from labnet.extensions import db
from labnet.models import Blackout, Equipment, OpeningHours, User
from labnet.services.booking import engine as service
from labnet.services.booking.availability import week_view
from tests.fixtures.berlin import APPROVING, BERLIN, NOW, SPLIT_DAY, berlin


@pytest.fixture
def make_lab(make_managed_lab):
    """The labs here take bookings, so each has a manager (DESIGN rule 8)."""
    return make_managed_lab


@pytest.fixture
def lab(app, make_lab):
    """Berlin, open Mon–Fri 08–12 and 13–17, 24 hours' notice, 60 days ahead."""
    return make_lab(**APPROVING, hours=SPLIT_DAY)


def view(equipment_id: int, week: date, now: datetime = NOW):
    item = db.session.scalars(select(Equipment).options(joinedload(Equipment.lab))
                              .where(Equipment.id == equipment_id)).one()
    return week_view(item, week, now=now)


def states(day) -> dict[str, str]:
    return {f"{s.local_start:%H:%M}": s.state for s in day.slots}


def test_hour_slots_follow_opening_hours_with_the_break_and_weekend_closed(app, lab,
                                                                          make_equipment):
    sem = make_equipment(lab, booking_unit="hour")
    with app.app_context():
        week = view(sem.id, date(2026, 3, 4))  # a Wednesday: the week starts Monday
    assert week.week_start == date(2026, 3, 2) and week.zone == BERLIN
    assert [d.day.weekday() for d in week.days] == list(range(7))
    monday = states(week.days[0])
    assert list(monday) == [f"{h:02d}:00" for h in range(8, 17)]
    assert monday["12:00"] == "closed" and monday["08:00"] == "open"
    assert set(states(week.days[5]).values()) == {"closed"}
    assert not week.days[6].is_open
    first = week.days[0].slots[0]
    assert (first.start, first.end) == (berlin(2026, 3, 2, 8), berlin(2026, 3, 2, 9))


def test_lead_time_and_advance_window_make_open_slots_unbookable(app, lab, make_equipment):
    sem = make_equipment(lab, booking_unit="hour")
    with app.app_context():
        week = view(sem.id, date(2026, 3, 2))
        far = view(sem.id, date(2026, 5, 4))
    tuesday = {f"{s.local_start:%H:%M}": s.bookable for s in week.days[1].slots}
    assert tuesday["09:00"] is False and tuesday["11:00"] is True  # 24 hours from 10:00 Mon
    assert all(not s.bookable for d in far.days for s in d.slots)  # beyond 60 days
    assert states(far.days[0])["09:00"] == "open"


def test_bookings_are_busy_with_their_setup_buffer_and_blackouts_show(app, lab, make_user,
                                                                     make_equipment):
    sem = make_equipment(lab, booking_unit="hour", buffer_minutes=30, max_units=4)
    member = make_user()
    with app.test_request_context():
        service.request_booking(db.session.get(User, member.id), sem.id,
                                berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10), "x", now=NOW)
        db.session.add(Blackout(lab_id=lab.id, equipment_id=None, start_at=berlin(2026, 3, 6, 0),
                                end_at=berlin(2026, 3, 7, 0), reason="Holiday", created_at=NOW))
        db.session.commit()
    with app.app_context():
        week = view(sem.id, date(2026, 3, 2))
    wednesday = states(week.days[2])
    # 08:00 ends at 09:00 where the booking's set-up starts (08:30): busy; 10:00's own
    # set-up (09:30) overlaps the booking: busy; 11:00 is free.
    assert (wednesday["08:00"], wednesday["09:00"], wednesday["10:00"],
            wednesday["11:00"]) == ("busy", "busy", "busy", "open")
    friday = states(week.days[4])
    assert friday.pop("12:00") == "closed"  # the lunch break stays closed
    assert set(friday.values()) == {"blackout"}


def test_half_day_and_day_units_are_blocks_on_open_days(app, lab, make_equipment):
    half = make_equipment(lab, booking_unit="half_day")
    whole = make_equipment(lab, booking_unit="day")
    with app.app_context():
        halves = view(half.id, date(2026, 3, 9))
        days = view(whole.id, date(2026, 3, 9))
    assert [f"{s.local_start:%H:%M}-{s.local_end:%H:%M}" for s in halves.days[0].slots] == [
        "00:00-12:00", "12:00-00:00"]
    assert [s.state for s in halves.days[0].slots] == ["open", "open"]
    assert [s.state for s in days.days[5].slots] == ["closed"]
    assert days.days[0].slots[0].end == berlin(2026, 3, 10, 0)


def test_spring_forward_week_skips_the_missing_hour(app, make_lab, make_equipment):
    lab = make_lab(timezone=BERLIN, min_lead_hours=0)
    with app.app_context():
        db.session.add(OpeningHours(lab_id=lab.id, weekday=6, opens_at=time(0),
                                    closes_at=time(23, 59)))
        db.session.commit()
    sem = make_equipment(lab, booking_unit="hour")
    with app.app_context():
        week = view(sem.id, date(2026, 3, 23))
        day = view(make_equipment(lab, booking_unit="day").id, date(2026, 3, 23))
    sunday = week.days[6]  # 29 March 2026: 02:00 jumps to 03:00
    hours = [f"{s.local_start:%H}" for s in sunday.slots]
    assert "02" not in hours and len(hours) == 23
    three = next(s for s in sunday.slots if s.local_start.hour == 3)
    assert three.start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # already summer time
    assert (day.days[6].slots[0].end - day.days[6].slots[0].start).total_seconds() == 23 * 3600
