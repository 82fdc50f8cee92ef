"""``availability.free_windows``: which equipment is free for D hours between two dates,
by the booking engine's own rules (hand-built cases, each found window checked against the
booking service's preview)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import Blackout, Booking, Lab, OpeningHours, User
from labnet.services.booking import engine as service
from labnet.services.booking.availability import (
    Interval,
    first_free,
    free_equipment,
    free_windows,
    local_to_utc,
    units_needed,
)
from tests.fixtures.berlin import APPROVING, BERLIN, NOW, SPLIT_DAY, berlin


@pytest.fixture
def make_lab(make_managed_lab):
    """The labs here take bookings, so each has a manager (DESIGN rule 8)."""
    return make_managed_lab

WED = date(2026, 3, 4)


@pytest.fixture
def member(make_user, make_org):
    return make_user(organisation=make_org(kind="company", size_class="small"))


def free(app, first: date, last: date, hours: float, *, labs=None, now: datetime = NOW):
    """{equipment id: window} over every lab (or those with ids in ``labs``)."""
    with app.app_context():
        stmt = select(Lab) if labs is None else select(Lab).where(Lab.id.in_(labs))
        found = free_windows(stmt, first, last, hours, now=now)
    return {w.equipment_id: w for windows in found.values() for w in windows}


def book(app, user, equipment, start, end):
    with app.test_request_context():
        actor = db.session.get(User, user.id)
        service.request_booking(actor, equipment.id, start, end, "Imaging", now=NOW)
        db.session.commit()


def assert_bookable(app, user, window):
    """The booking service accepts the window's booking (every rule, overlap included)."""
    with app.test_request_context():
        actor = db.session.get(User, user.id)
        quote = service.preview_booking(actor, window.equipment_id, window.start,
                                        window.booking_end, now=NOW)
    assert quote.units == window.units


def test_a_three_hour_gap_is_found_for_three_hours_and_not_for_four(app, make_lab,
                                                                   make_equipment, member):
    lab = make_lab(**APPROVING, hours=((8, 17),))
    sem = make_equipment(lab, name="Confocal microscope", booking_unit="hour", max_units=8)
    book(app, member, sem, berlin(2026, 3, 4, 8), berlin(2026, 3, 4, 11))
    book(app, member, sem, berlin(2026, 3, 4, 14), berlin(2026, 3, 4, 17))

    found = free(app, WED, WED, 3)
    window = found[sem.id]
    assert (window.start, window.booking_end, window.end) == (
        berlin(2026, 3, 4, 11), berlin(2026, 3, 4, 14), berlin(2026, 3, 4, 14))
    assert window.label == "Wed 4 Mar 11:00, 3 h" and window.lab_id == lab.id
    assert_bookable(app, member, window)
    assert sem.id not in free(app, WED, WED, 4)
    # The next day is free all day: a two-day span finds the gap first, still.
    two_days = free(app, WED, date(2026, 3, 5), 4)
    assert two_days[sem.id].start == berlin(2026, 3, 5, 8)
    assert two_days[sem.id].hours == 9


def test_the_setup_buffer_shrinks_the_gap(app, make_lab, make_equipment, member):
    lab = make_lab(**APPROVING, hours=((8, 17),))
    plain = make_equipment(lab, booking_unit="hour", buffer_minutes=0)
    buffered = make_equipment(lab, booking_unit="hour", buffer_minutes=30)
    for item in (plain, buffered):
        book(app, member, item, berlin(2026, 3, 4, 8), berlin(2026, 3, 4, 11))
        book(app, member, item, berlin(2026, 3, 4, 15), berlin(2026, 3, 4, 17))
    # Plain: free 11:00–15:00. Buffered: a new booking's set-up may not start before
    # 11:00, so it starts at 12:00 at the earliest, and must end by 14:30 (the next
    # booking's set-up): 12:00–14:30, two whole hours.
    three = free(app, WED, WED, 3)
    assert plain.id in three and buffered.id not in three
    two = free(app, WED, WED, 2)
    window = two[buffered.id]
    assert (window.start, window.booking_end, window.end) == (
        berlin(2026, 3, 4, 12), berlin(2026, 3, 4, 14), berlin(2026, 3, 4, 14, 30))
    assert_bookable(app, member, window)


def test_blackouts_of_the_equipment_and_of_the_lab_block(app, make_lab, make_equipment,
                                                        member):
    lab = make_lab(**APPROVING, hours=((8, 17),))
    other = make_lab(**APPROVING, hours=((8, 17),))
    sem = make_equipment(lab, booking_unit="hour")
    tem = make_equipment(lab, booking_unit="hour")
    xrd = make_equipment(other, booking_unit="hour")
    with app.app_context():
        db.session.add_all([
            Blackout(lab_id=lab.id, equipment_id=sem.id, start_at=berlin(2026, 3, 4, 0),
                     end_at=berlin(2026, 3, 4, 15), reason="Service", created_at=NOW),
            Blackout(lab_id=other.id, equipment_id=None, start_at=berlin(2026, 3, 4, 0),
                     end_at=berlin(2026, 3, 5, 0), reason="Holiday", created_at=NOW),
        ])
        db.session.commit()
    found = free(app, WED, WED, 2)
    assert sem.id in found and found[sem.id].start == berlin(2026, 3, 4, 15)
    assert tem.id in found and found[tem.id].start == berlin(2026, 3, 4, 8)
    assert xrd.id not in found  # the whole lab is closed for the holiday
    assert sem.id not in free(app, WED, WED, 3)
    assert_bookable(app, member, found[sem.id])


def test_closed_days_hold_nothing_and_the_lunch_break_splits_the_day(app, make_lab,
                                                                    make_equipment):
    lab = make_lab(**APPROVING, hours=SPLIT_DAY)  # Mon–Fri 08–12, 13–17
    sem = make_equipment(lab, booking_unit="hour", max_units=8)
    weekend = (date(2026, 3, 7), date(2026, 3, 8))
    assert free(app, *weekend, 1) == {}
    found = free(app, date(2026, 3, 7), date(2026, 3, 9), 4)
    assert found[sem.id].start == berlin(2026, 3, 9, 8)
    assert found[sem.id].end == berlin(2026, 3, 9, 12)
    assert free(app, WED, WED, 5) == {}  # hourly bookings do not run through the break


def test_daylight_saving_week_in_berlin(app, make_lab, make_equipment, member):
    """Sunday 29 March 2026 01:00–05:00 lab time lasts three real hours (02:00 does not
    exist); on 25 October the same hours last five."""
    lab = make_lab(**{**APPROVING, "max_advance_days": 365}, hours=((1, 5),),
                   weekdays=range(6, 7))
    sem = make_equipment(lab, booking_unit="hour", max_units=10)
    spring, autumn, before = date(2026, 3, 29), date(2026, 10, 25), date(2026, 3, 22)
    assert free(app, before, before, 4)[sem.id].hours == 4
    window = free(app, date(2026, 3, 23), spring, 3)[sem.id]  # the DST week
    assert (window.start, window.end) == (datetime(2026, 3, 29, 0, tzinfo=UTC),
                                          datetime(2026, 3, 29, 3, tzinfo=UTC))
    assert window.label == "Sun 29 Mar 01:00, 3 h"
    assert_bookable(app, member, window)
    assert free(app, date(2026, 3, 23), spring, 4) == {}
    assert free(app, autumn, autumn, 5)[sem.id].hours == 5


def test_day_bookings_on_the_short_spring_day_count_as_one_day(app, make_lab,
                                                               make_equipment, member):
    lab = make_lab(**{**APPROVING, "max_advance_days": 365}, hours=((8, 17),),
                   weekdays=range(7))
    furnace = make_equipment(lab, booking_unit="day", min_units=1, max_units=3)
    window = free(app, date(2026, 3, 29), date(2026, 3, 29), 20)[furnace.id]
    assert window.start == berlin(2026, 3, 29, 0) and window.units == 1
    assert window.booking_end == berlin(2026, 3, 30, 0)  # 23 real hours, one day
    assert_bookable(app, member, window)
    assert free(app, date(2026, 3, 29), date(2026, 3, 29), 25) == {}  # two days needed


def test_a_lab_in_another_zone_is_searched_in_its_own_days(app, make_lab, make_equipment,
                                                           member):
    boston = make_lab(timezone="America/New_York", requires_approval=True, min_lead_hours=24,
                      max_advance_days=60, hours=((9, 17),))
    sem = make_equipment(boston, booking_unit="hour")
    window = free(app, WED, WED, 8)[sem.id]
    assert window.start == datetime(2026, 3, 4, 14, tzinfo=UTC)  # 09:00 EST
    assert window.end == datetime(2026, 3, 4, 22, tzinfo=UTC)
    assert window.label == "Wed 4 Mar 09:00, 8 h" and window.zone == "America/New_York"
    assert_bookable(app, member, window)
    # Tokyo's Wednesday ends at 15:00 UTC; its opening hours lie inside it.
    tokyo = make_lab(timezone="Asia/Tokyo", requires_approval=True, min_lead_hours=24,
                     max_advance_days=60, hours=((9, 17),))
    tem = make_equipment(tokyo, booking_unit="hour")
    assert free(app, WED, WED, 8)[tem.id].start == datetime(2026, 3, 4, 0, tzinfo=UTC)


def test_lead_time_and_advance_window(app, make_lab, make_equipment, member):
    lab = make_lab(**{**APPROVING, "max_advance_days": 5}, hours=((8, 17),))
    sem = make_equipment(lab, booking_unit="hour")
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    assert free(app, monday, monday, 1) == {}  # 24 hours' notice from Monday 10:00
    window = free(app, monday, tuesday, 1)[sem.id]
    assert window.start == berlin(2026, 3, 3, 10)  # Tuesday 10:00, aligned, not 08:00
    assert_bookable(app, member, window)
    assert free(app, date(2026, 3, 9), date(2026, 3, 13), 1) == {}  # beyond five days


def test_length_limits_units_and_bookable_equipment_only(app, make_lab, make_equipment,
                                                        member):
    lab = make_lab(**APPROVING, hours=((8, 17),))
    short = make_equipment(lab, booking_unit="hour", min_units=1, max_units=2)
    long_min = make_equipment(lab, booking_unit="hour", min_units=4, max_units=8)
    half = make_equipment(lab, booking_unit="half_day", min_units=1, max_units=2)
    request_only = make_equipment(lab, booking_unit="hour", mode="request_only")
    resting = make_equipment(lab, booking_unit="hour", status="maintenance")
    found = free(app, WED, WED, 1)
    assert short.id in found and request_only.id not in found and resting.id not in found
    # A one-hour need on equipment with a four-hour minimum: a four-hour booking fits.
    assert found[long_min.id].units == 4
    assert found[long_min.id].booking_end == berlin(2026, 3, 4, 12)
    assert found[half.id].start == berlin(2026, 3, 4, 0) and found[half.id].units == 1
    for item in (long_min, half):
        assert_bookable(app, member, found[item.id])
    three = free(app, WED, WED, 3)
    assert short.id not in three  # no single booking covers three hours
    assert three[half.id].units == 1


def test_blackouts_and_bookings_of_unbookable_equipment_change_nothing(
        app, make_lab, make_equipment, member):
    lab = make_lab(**APPROVING, hours=((8, 17),))
    free_one = make_equipment(lab, booking_unit="hour")
    resting = make_equipment(lab, booking_unit="hour", status="maintenance")
    with app.app_context():
        db.session.add(Blackout(lab_id=lab.id, equipment_id=resting.id,
                                start_at=berlin(2026, 3, 4, 10), end_at=berlin(2026, 3, 4, 12),
                                reason="Repair", created_at=NOW))
        db.session.commit()
        found = free_equipment(select(Lab), WED, WED, 2, now=NOW)
        assert found.lab_ids == {lab.id}
        assert [w.equipment_id for w in found.windows([lab.id])[lab.id]] == [free_one.id]


def test_cancelled_bookings_do_not_block(app, make_lab, make_equipment, member):
    lab = make_lab(**APPROVING, hours=((8, 17),))
    sem = make_equipment(lab, booking_unit="hour")
    book(app, member, sem, berlin(2026, 3, 4, 8), berlin(2026, 3, 4, 16))
    assert sem.id not in free(app, WED, WED, 2)
    with app.app_context():
        db.session.execute(Booking.__table__.update().values(status="cancelled"))
        db.session.commit()
    assert free(app, WED, WED, 2)[sem.id].start == berlin(2026, 3, 4, 8)


def test_only_the_selected_labs_are_checked(app, make_lab, make_equipment):
    a = make_lab(**APPROVING, hours=((8, 17),))
    b = make_lab(**APPROVING, hours=((8, 17),))
    sem_a, sem_b = make_equipment(a), make_equipment(b)
    assert set(free(app, WED, WED, 1, labs=[a.id])) == {sem_a.id}
    assert set(free(app, WED, WED, 1)) == {sem_a.id, sem_b.id}


def test_many_labs_and_equipment_cost_six_queries(app, make_lab, make_equipment, member):
    from sqlalchemy import event

    labs = [make_lab(**APPROVING, hours=((8, 17),)) for _ in range(3)]
    for lab in labs:
        for _ in range(3):
            make_equipment(lab, booking_unit="hour")
    with app.app_context(), db.session.no_autoflush:
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))
        found = free_windows(select(Lab), WED, WED, 2, now=NOW)
    # Labs with their hours, equipment groups, bookings, blackouts, the equipment those
    # belong to; then the free equipment of the labs asked for.
    assert len(found) == 3 and len(statements) == 6


def test_membership_is_decided_for_all_labs_and_windows_only_for_those_asked(
        app, make_lab, make_equipment, member):
    a = make_lab(**APPROVING, hours=((8, 17),))
    b = make_lab(**APPROVING, hours=((8, 17),))
    full = make_lab(**APPROVING, hours=((8, 17),))
    make_equipment(a), make_equipment(a), make_equipment(b)
    busy = make_equipment(full, max_units=10)
    book(app, member, busy, berlin(2026, 3, 4, 8), berlin(2026, 3, 4, 17))
    with app.app_context():
        found = free_equipment(select(Lab), WED, WED, 1, now=NOW)
        assert found.lab_ids == {a.id, b.id}
        windows = found.windows([a.id, full.id])
    assert list(windows) == [a.id] and len(windows[a.id]) == 2


# --- the pure function --------------------------------------------------------------------

HOURS = tuple((d, time(8), time(17)) for d in range(5))


def test_first_free_on_hand_built_intervals():
    earliest, latest = NOW, datetime(2026, 4, 1, tzinfo=UTC)
    busy = [Interval(berlin(2026, 3, 4, 8), berlin(2026, 3, 4, 11)),
            Interval(berlin(2026, 3, 4, 14), berlin(2026, 3, 4, 17))]
    got = first_free(HOURS, BERLIN, WED, WED, unit="hour", units=3, blocked=busy,
                     earliest=earliest, latest=latest)
    assert got == (berlin(2026, 3, 4, 11), berlin(2026, 3, 4, 14), berlin(2026, 3, 4, 14))
    assert first_free(HOURS, BERLIN, WED, WED, unit="hour", units=4, blocked=busy,
                      earliest=earliest, latest=latest) is None
    # A busy interval ending at :30 moves the start to the next whole hour.
    odd = [Interval(berlin(2026, 3, 4, 8), local_to_utc(datetime(2026, 3, 4, 9, 30), BERLIN))]
    start, _end, _free = first_free(HOURS, BERLIN, WED, WED, unit="hour", units=1,
                                    blocked=odd, earliest=earliest, latest=latest)
    assert start == berlin(2026, 3, 4, 10)
    # Nothing can start after the advance window closes.
    assert first_free(HOURS, BERLIN, WED, WED, unit="hour", units=1, blocked=[],
                      earliest=earliest, latest=berlin(2026, 3, 4, 7)) is None


def test_units_needed():
    assert units_needed(3, "hour", 1, 8) == 3
    assert units_needed(0.5, "hour", 2, 8) == 2
    assert units_needed(9, "hour", 1, 8) is None
    assert units_needed(13, "half_day", 1, 4) == 2
    assert units_needed(24, "day", 1, 5) == 1
    assert units_needed(1.5, "hour", 1, 8) == 2


def test_opening_hours_rows_of_the_lab_are_read_in_its_zone(app, make_lab, make_equipment):
    """A lab open only on Wednesdays in Auckland (UTC+13 in March): its Wednesday."""
    lab = make_lab(timezone="Pacific/Auckland", requires_approval=True, min_lead_hours=0,
                   max_advance_days=60, hours=((9, 12),), weekdays=range(2, 3))
    sem = make_equipment(lab, booking_unit="hour")
    with app.app_context():
        assert db.session.scalar(select(OpeningHours.weekday).where(
            OpeningHours.lab_id == lab.id)) == 2
    window = free(app, WED, WED, 3)[sem.id]
    local = window.start.astimezone(ZoneInfo("Pacific/Auckland"))
    assert (local.date(), local.hour) == (WED, 9)
