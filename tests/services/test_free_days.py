"""The free-time summary (``services.booking.free_days``): a prefilter that never drops a
lab the exact engine (``availability.free_equipment``) would show, kept in the writing
transaction of bookings, cancellations, blackouts, opening hours and equipment changes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import (
    Blackout,
    Booking,
    Equipment,
    EquipmentFreeDay,
    Lab,
    LabFreeDay,
    LabFreeWeek,
    OpeningHours,
    User,
)
from labnet.services.booking import engine as service
from labnet.services.booking import free_days
from labnet.services.booking.availability import free_equipment, local_to_utc
from tests.fixtures.berlin import NOW, berlin

# The summary leaves out what ended before the clock's yesterday: the clock is NOW here.
pytestmark = pytest.mark.usefixtures("frozen_clock")
_refs = count(1)
SPRING = date(2026, 3, 29)  # Europe/Berlin and Europe/London go forward an hour
AUTUMN = date(2026, 10, 25)  # … and back


@pytest.fixture
def make_lab(make_managed_lab):
    return make_managed_lab


@pytest.fixture
def member(make_user, make_org):
    return make_user(organisation=make_org(kind="company", size_class="small"))


def prefiltered(app, lab_id: int, first: date, last: date, hours: float) -> bool:
    with app.app_context():
        cond = free_days.candidates(first, last, hours, db.session.connection())
        return db.session.scalar(select(Lab.id).where(Lab.id == lab_id, cond)) is not None


def exact(app, lab_id: int, first: date, last: date, hours: float,
          now: datetime = NOW) -> bool:
    with app.app_context():
        found = free_equipment(select(Lab).where(Lab.id == lab_id), first, last, hours,
                               now=now)
        return lab_id in found.lab_ids


def _booking(lab: Lab, equipment: Equipment, user: User, start: datetime, end: datetime,
             buffer: int, status: str = "confirmed") -> Booking:
    n = next(_refs)
    return Booking(reference=f"LN-T-{n:06d}", equipment_id=equipment.id, lab_id=lab.id,
                   requester_id=user.id, organisation_id=user.organisation_id,
                   start_at=start, end_at=end, blocked_start=start - timedelta(minutes=buffer),
                   status=status, unit=equipment.booking_unit, units=1, rate_kind="sme",
                   rate_applied=Decimal(1), price_estimate=Decimal(1), currency="EUR",
                   created_at=NOW, updated_at=NOW)


# --- the property: no false negatives ------------------------------------------------------

ZONES = ("Europe/Berlin", "Europe/London", "Europe/Helsinki", "UTC")
HOURS_ASKED = (0.5, 1, 2, 3.5, 4, 8, 12, 23, 24, 30, 48)


@st.composite
def scenarios(draw):
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from((SPRING, AUTUMN, date(2026, 6, 10))))
    first = anchor + timedelta(days=draw(st.integers(-3, 1)))
    last = first + timedelta(days=draw(st.integers(0, 4)))
    week: list[tuple[int, int, int]] = []
    for weekday in range(7):
        for _ in range(draw(st.integers(0, 2))):
            opens = draw(st.integers(0, 22))
            closes = draw(st.integers(opens + 1, 23))
            week.append((weekday, opens, closes))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        unit = draw(st.sampled_from(("hour", "half_day", "day")))
        buffer = draw(st.sampled_from((0, 30, 60, 720)))
        # Non-overlapping bookings by construction: consecutive gaps and lengths in hours.
        bookings = []
        at = draw(st.integers(-30, 20))
        for _ in range(draw(st.integers(0, 5))):
            length = draw(st.integers(1, 30))
            # Written as the booking service does (narrowing the summary) or by anyone
            # else (rebuilding it); some are cancelled afterwards.
            bookings.append((at, length, draw(st.booleans()), draw(st.booleans())))
            at += length + draw(st.integers(1, 20)) + (buffer // 60) + 1
        dark = draw(st.lists(st.tuples(st.integers(-10, 100), st.integers(1, 40)), max_size=1))
        pieces.append((unit, buffer, draw(st.integers(1, 10)), bookings, dark))
    lab_dark = draw(st.lists(st.tuples(st.integers(-10, 100), st.integers(1, 30)),
                             max_size=1))
    hours = draw(st.sampled_from(HOURS_ASKED))
    # At the end, one weekday's opening hours changed (or none).
    change = draw(st.none() | st.tuples(st.integers(0, 6), st.integers(0, 22),
                                        st.integers(1, 24)))
    return zone, first, last, week, pieces, lab_dark, hours, change


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=scenarios())
# A lab free but for the hour the booking service took: its narrowed day must still pass.
@example(case=("Europe/Berlin", date(2026, 6, 10), date(2026, 6, 10), [(2, 8, 17)],
               [("hour", 0, 8, [(8, 1, True, False)], [])], [], 4, None))
# … and one whose day the service's second booking leaves an hour of.
@example(case=("Europe/Berlin", date(2026, 6, 10), date(2026, 6, 10), [(2, 8, 17)],
               [("hour", 0, 8, [(8, 4, True, False), (13, 4, True, False)], [])], [], 1,
               None))
def test_the_prefilter_never_drops_a_lab_the_exact_engine_shows(app, make_lab, make_equipment,
                                                                 member, case):
    zone, first, last, week, pieces, lab_dark, hours, change = case
    lab = make_lab(timezone=zone, min_lead_hours=0, max_advance_days=730, hours=())
    start_of_span = local_to_utc(datetime.combine(first, time(0)), zone)
    with app.app_context():
        for (weekday, opens), closes in {(w, o): c for w, o, c in week}.items():
            db.session.add(OpeningHours(lab_id=lab.id, weekday=weekday,
                                        opens_at=time(opens), closes_at=time(closes)))
        db.session.commit()
    items = []
    for unit, buffer, max_units, _bookings, dark in pieces:
        item = make_equipment(lab, booking_unit=unit, buffer_minutes=buffer,
                              max_units=max_units)
        items.append(item)
        with app.app_context():
            for at, length in dark:
                start = start_of_span + timedelta(hours=at)
                db.session.add(Blackout(lab_id=lab.id, equipment_id=item.id, start_at=start,
                                        end_at=start + timedelta(hours=length), reason="x",
                                        created_at=NOW))
            db.session.commit()  # the summary is kept by the commit's hooks
    with app.app_context():
        for at, length in lab_dark:
            start = start_of_span + timedelta(hours=at)
            db.session.add(Blackout(lab_id=lab.id, equipment_id=None, start_at=start,
                                    end_at=start + timedelta(hours=length), reason="x",
                                    created_at=NOW))
        db.session.commit()
    hours_now = {(w, o): c for w, o, c in week}
    if change is not None:
        weekday, opens, length = change
        hours_now = {k: v for k, v in hours_now.items() if k[0] != weekday}
        hours_now[(weekday, opens)] = min(opens + length, 23)
        with app.app_context():
            for row in db.session.scalars(select(OpeningHours).where(
                    OpeningHours.lab_id == lab.id, OpeningHours.weekday == weekday)):
                db.session.delete(row)
            db.session.flush()
            db.session.add(OpeningHours(lab_id=lab.id, weekday=weekday, opens_at=time(opens),
                                        closes_at=time(hours_now[(weekday, opens)])))
            db.session.commit()
    # Then the bookings, one transaction each: as the booking service writes them
    # (narrowing the summary from what it has loaded) or as any other writer (rebuilding
    # the equipment's rows); then some are cancelled.
    made = []
    for item, (unit, buffer, _max, bookings, _dark) in zip(items, pieces, strict=True):
        for at, length, by_service, cancel in bookings:
            with app.app_context():
                start = start_of_span + timedelta(hours=at)
                booking = _booking(lab, item, member, start, start + timedelta(hours=length),
                                   buffer, status="pending" if by_service else "confirmed")
                if by_service:
                    free_days.narrow(db.session(), booking, zone=zone, hours=[
                        (w, time(o), time(c)) for (w, o), c in hours_now.items()],
                        hourly=unit == "hour", buffer_minutes=buffer)
                db.session.add(booking)
                db.session.commit()
                made.append((booking.id, cancel))
    with app.app_context():
        for booking_id, cancel in made:
            if cancel:
                db.session.get(Booking, booking_id).status = "cancelled"
        db.session.commit()
    if exact(app, lab.id, first, last, hours):
        assert prefiltered(app, lab.id, first, last, hours), case


# --- it narrows, and it follows the writes ---------------------------------------------------

def test_a_fully_booked_lab_is_left_out_and_a_cancellation_brings_it_back(
        app, make_lab, make_equipment, member):
    wed = date(2026, 3, 4)
    lab = make_lab(timezone="Europe/Berlin", min_lead_hours=0, max_advance_days=365,
                   hours=((8, 17),))
    sem = make_equipment(lab, booking_unit="hour", max_units=8)
    assert prefiltered(app, lab.id, wed, wed, 4) and exact(app, lab.id, wed, wed, 4)
    with app.test_request_context():
        actor = db.session.get(User, member.id)
        first = service.request_booking(actor, sem.id, berlin(2026, 3, 4, 8),
                                        berlin(2026, 3, 4, 12), "Imaging", now=NOW)
        service.request_booking(actor, sem.id, berlin(2026, 3, 4, 13),
                                berlin(2026, 3, 4, 17), "Imaging", now=NOW)
        db.session.commit()
        booking_id = first.id
    with app.app_context():
        rows = db.session.execute(select(EquipmentFreeDay.day,
                                         EquipmentFreeDay.longest_free_minutes)
                                  .where(EquipmentFreeDay.equipment_id == sem.id)).all()
    assert rows == [(wed, 60)]  # 12:00–13:00 is all that is left
    assert not prefiltered(app, lab.id, wed, wed, 4) and not exact(app, lab.id, wed, wed, 4)
    assert prefiltered(app, lab.id, wed, wed, 1)  # the hour at noon
    # Two days: Thursday is free.
    assert prefiltered(app, lab.id, wed, wed + timedelta(days=1), 4)

    with app.test_request_context():
        actor = db.session.get(User, member.id)
        service.cancel_booking(actor, booking_id, "Plans changed", now=NOW)
        db.session.commit()
    assert prefiltered(app, lab.id, wed, wed, 4) and exact(app, lab.id, wed, wed, 4)


def test_the_lab_day_row_exists_once_every_piece_of_a_kind_is_touched(
        app, make_lab, make_equipment, member):
    """``lab_free_day`` follows the equipment's day rows through the booking service's
    narrowing and a cancellation's rebuild: a row only when both hourly microscopes have
    a day row, holding the longer of their values."""
    wed = date(2026, 3, 4)
    lab = make_lab(timezone="Europe/Berlin", min_lead_hours=0, max_advance_days=365,
                   hours=((8, 17),))
    one = make_equipment(lab, booking_unit="hour", max_units=8)
    two = make_equipment(lab, booking_unit="hour", max_units=8)

    def lab_days() -> list[tuple[date, int, int]]:
        with app.app_context():
            return [tuple(r) for r in db.session.execute(
                select(LabFreeDay.day, LabFreeDay.equipment, LabFreeDay.longest_free_minutes)
                .where(LabFreeDay.lab_id == lab.id, LabFreeDay.hourly.is_(True)))]

    def book(sem_id: int, start: int, end: int) -> int:
        with app.test_request_context():
            booking = service.request_booking(db.session.get(User, member.id), sem_id,
                                              berlin(2026, 3, 4, start),
                                              berlin(2026, 3, 4, end), "Imaging", now=NOW)
            db.session.commit()
            return booking.id

    book(one.id, 8, 12)
    book(one.id, 13, 17)
    assert lab_days() == []  # the second microscope is free all day
    assert prefiltered(app, lab.id, wed, wed, 4) and exact(app, lab.id, wed, wed, 4)
    afternoon = book(two.id, 11, 17)
    assert lab_days() == [(wed, 2, 180)]  # 08:00–11:00 on the second
    assert not prefiltered(app, lab.id, wed, wed, 4) and not exact(app, lab.id, wed, wed, 4)
    assert prefiltered(app, lab.id, wed, wed, 3) and exact(app, lab.id, wed, wed, 3)
    with app.test_request_context():
        service.cancel_booking(db.session.get(User, member.id), afternoon, "Plans changed",
                               now=NOW)
        db.session.commit()
    assert lab_days() == []
    assert prefiltered(app, lab.id, wed, wed, 4) and exact(app, lab.id, wed, wed, 4)


def test_blackouts_opening_hours_and_equipment_changes_update_the_summary(
        app, make_lab, make_equipment):
    wed = date(2026, 3, 4)
    lab = make_lab(timezone="Europe/Berlin", min_lead_hours=0, max_advance_days=365,
                   hours=((8, 17),))
    sem = make_equipment(lab, booking_unit="hour", max_units=8)
    with app.app_context():
        week = dict(db.session.execute(
            select(LabFreeWeek.weekday, LabFreeWeek.longest_free_minutes)
            .where(LabFreeWeek.lab_id == lab.id, LabFreeWeek.hourly.is_(True))).all())
    assert week == {0: 540, 1: 540, 2: 540, 3: 540, 4: 540, 5: 0, 6: 0}

    with app.app_context():  # a lab blackout over Wednesday
        db.session.add(Blackout(lab_id=lab.id, equipment_id=None, start_at=berlin(2026, 3, 4),
                                end_at=berlin(2026, 3, 5), reason="Holiday", created_at=NOW))
        db.session.commit()
    assert not prefiltered(app, lab.id, wed, wed, 1)
    with app.app_context():
        db.session.execute(Blackout.__table__.delete().where(Blackout.lab_id == lab.id))
        db.session.commit()  # a statement whose rows cannot be told: everything rebuilt
    assert prefiltered(app, lab.id, wed, wed, 1)

    with app.app_context():  # shorter opening hours on Wednesday
        row = db.session.scalar(select(OpeningHours).where(OpeningHours.lab_id == lab.id,
                                                           OpeningHours.weekday == 2))
        assert row is not None
        row.closes_at = time(9)
        db.session.commit()
    # A weekday's value is allowed an hour for clock changes: 1 h open passes for 2 h.
    assert not prefiltered(app, lab.id, wed, wed, 3) and prefiltered(app, lab.id, wed, wed, 1)

    with app.app_context():  # the one bookable piece goes request-only: nothing is free
        db.session.get(Equipment, sem.id).mode = "request_only"
        db.session.commit()
    assert not prefiltered(app, lab.id, wed, date(2026, 3, 6), 1)


def test_a_rollback_leaves_the_summary_as_it_was(app, make_lab, make_equipment, member):
    wed = date(2026, 3, 4)
    lab = make_lab(timezone="Europe/Berlin", min_lead_hours=0, max_advance_days=365,
                   hours=((8, 12),))
    sem = make_equipment(lab, booking_unit="hour", max_units=8)
    with app.app_context():
        db.session.add(_booking(lab, sem, member, berlin(2026, 3, 4, 8),
                                berlin(2026, 3, 4, 12), 0))
        free_days.sync(db.session())
        assert not db.session.scalar(select(Lab.id).where(Lab.id == lab.id, (
            free_days.candidates(wed, wed, 1, db.session.connection()))))
        db.session.rollback()
    assert prefiltered(app, lab.id, wed, wed, 1)


def test_a_booking_request_lowers_its_day_and_never_raises_it(app, make_lab, make_equipment,
                                                              member):
    wed = date(2026, 3, 4)
    lab = make_lab(timezone="Europe/Berlin", min_lead_hours=0, max_advance_days=365,
                   hours=((8, 17),))
    sem = make_equipment(lab, booking_unit="hour", max_units=8)
    with app.app_context():  # the afternoon is dark: 08:00–12:00 is left
        db.session.add(Blackout(lab_id=lab.id, equipment_id=sem.id,
                                start_at=berlin(2026, 3, 4, 12), end_at=berlin(2026, 3, 4, 17),
                                reason="Service", created_at=NOW))
        db.session.commit()

    def book(start_hour: int, end_hour: int) -> None:
        with app.test_request_context():
            service.request_booking(db.session.get(User, member.id), sem.id,
                                    berlin(2026, 3, 4, start_hour), berlin(2026, 3, 4, end_hour),
                                    "Imaging", now=NOW)
            db.session.commit()

    def stored() -> list[tuple[date, int]]:
        with app.app_context():
            return [tuple(r) for r in db.session.execute(
                select(EquipmentFreeDay.day, EquipmentFreeDay.longest_free_minutes)
                .where(EquipmentFreeDay.equipment_id == sem.id))]

    assert stored() == [(wed, 240)]
    book(8, 9)
    # The request counts its equipment's bookings, not its blackouts (09:00–17:00 free to
    # it): the stored 240 minutes stay, still at least the 180 truly left.
    assert stored() == [(wed, 240)]
    assert prefiltered(app, lab.id, wed, wed, 3) and exact(app, lab.id, wed, wed, 3)
    assert not prefiltered(app, lab.id, wed, wed, 5)
    book(10, 11)
    # 08:00–09:00 and 10:00–11:00 taken: the longest run its bookings leave is 11:00–17:00
    # (360) but the stored value is lower still; a rebuild counts the blackout: 60.
    assert stored() == [(wed, 240)]
    with app.app_context():
        free_days.rebuild(db.session.connection(), [lab.id], now=NOW)
        db.session.commit()
    assert stored() == [(wed, 60)]
    assert not prefiltered(app, lab.id, wed, wed, 2) and not exact(app, lab.id, wed, wed, 2)
