"""The booking engine's rules, one refusal at a time, plus the database backstop."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from labnet.errors import NotFound, PermissionDenied, RuleViolation, SlotTaken
from labnet.extensions import db
from labnet.models import AuditEvent, Lab, OutboxEmail, User
from labnet.models.booking import Blackout, Booking
from labnet.services.booking import engine as service
from labnet.services.booking.availability import local_to_utc
from tests.fixtures.berlin import APPROVING, BERLIN, NOW, SPLIT_DAY, berlin


@pytest.fixture
def setup(app, make_lab, make_equipment, make_user, make_org):
    """A Berlin lab open Mon–Fri 08–12 and 13–17, an hourly SEM with a 30-minute set-up
    buffer, its manager, and an SME member."""
    lab = make_lab(**APPROVING, hold_hours=48, cancel_deadline_hours=24, hours=SPLIT_DAY)
    sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4, buffer_minutes=30)

    class S:
        pass

    s = S()
    s.lab, s.sem = lab, sem
    s.manager = make_user(manages=(lab,))
    s.member = make_user(organisation=make_org(kind="company", size_class="small"))
    s.large = make_user(organisation=make_org(kind="company", size_class="large"))
    return s


def _request(app, user, equipment, start, end, purpose="Imaging of coated samples"):
    with app.test_request_context():
        actor = db.session.get(User, user.id)
        booking = service.request_booking(actor, equipment.id, start, end, purpose, now=NOW)
        db.session.commit()
        return booking.id


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Booking.id)))


def _refusal(app, user, equipment, start, end, purpose="Imaging"):
    before = _count(app)
    with app.test_request_context():
        actor = db.session.get(User, user.id)
        with pytest.raises(RuleViolation) as exc:
            service.request_booking(actor, equipment.id, start, end, purpose, now=NOW)
        db.session.rollback()
    assert _count(app) == before, "a refused booking wrote a row"
    return exc.value


def test_pending_request_holds_the_slot_prices_at_the_sme_rate_and_mails_the_manager(app, setup):
    booking_id = _request(app, setup.member, setup.sem, berlin(2026, 3, 11, 9),
                          berlin(2026, 3, 11, 11))
    with app.app_context():
        b = db.session.get(Booking, booking_id)
        assert b.status == "pending"
        assert b.reference == f"LN-2026-{b.id:06d}"
        assert b.hold_until == NOW + timedelta(hours=48)
        assert (b.units, b.rate_kind, b.price_estimate) == (2, "sme", 240)
        assert b.blocked_start == berlin(2026, 3, 11, 8, 30)
        to = set(db.session.scalars(select(OutboxEmail.to_addr)))
        assert setup.manager.email in to and setup.member.email in to
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.subject_type == "booking")) == "booking.requested"


def test_large_companies_pay_the_industry_rate_and_no_approval_confirms_at_once(app, setup):
    with app.app_context():
        db.session.get(Lab, setup.lab.id).requires_approval = False
        db.session.commit()
    booking_id = _request(app, setup.large, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))
    with app.app_context():
        b = db.session.get(Booking, booking_id)
        assert (b.status, b.rate_kind, b.price_estimate, b.hold_until) == ("confirmed",
                                                                          "industry", 150, None)


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        ((2026, 3, 4, 7), (2026, 3, 4, 9), "start_at", "Outside opening hours"),
        ((2026, 3, 4, 11), (2026, 3, 4, 14), "start_at", "Outside opening hours"),
        ((2026, 3, 7, 9), (2026, 3, 7, 10), "start_at", "Outside opening hours"),  # Saturday
        ((2026, 3, 2, 14), (2026, 3, 2, 15), "start_at", "Too soon"),
        ((2026, 6, 1, 9), (2026, 6, 1, 10), "start_at", "Too far ahead"),
        ((2026, 3, 4, 8), (2026, 3, 4, 13), "end_at", "Too long"),
        ((2026, 3, 4, 9, 30), (2026, 3, 4, 10, 30), "start_at", "on the hour"),
        ((2026, 3, 4, 10), (2026, 3, 4, 9), "end_at", "after the start"),
    ],
)
def test_each_rule_refuses_with_its_field_and_words(app, setup, start, end, field, words):
    exc = _refusal(app, setup.member, setup.sem, berlin(*start), berlin(*end))
    assert exc.field == field
    assert words in exc.message


def test_too_short_names_the_minimum(app, setup, make_equipment):
    ct = make_equipment(setup.lab, booking_unit="hour", min_units=2, max_units=4)
    exc = _refusal(app, setup.member, ct, berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10))
    assert (exc.field, "Too short" in exc.message) == ("end_at", True)


def test_equipment_in_maintenance_or_request_only_cannot_be_booked(app, setup, make_equipment):
    broken = make_equipment(setup.lab, status="maintenance")
    on_request = make_equipment(setup.lab, mode="request_only")
    for item, words in ((broken, "not available"), (on_request, "on request only")):
        exc = _refusal(app, setup.member, item, berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10))
        assert exc.field == "equipment" and words in exc.message


def test_blackout_refuses_with_its_reason(app, setup):
    with app.app_context():
        db.session.add(Blackout(lab_id=setup.lab.id, equipment_id=None,
                                start_at=berlin(2026, 3, 4, 0), end_at=berlin(2026, 3, 5, 0),
                                reason="Annual maintenance", created_at=NOW))
        db.session.commit()
    exc = _refusal(app, setup.member, setup.sem, berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10))
    assert "blackout" in exc.message and "Annual maintenance" in exc.message


def test_overlap_including_the_setup_buffer_is_refused_and_touching_is_not(app, setup):
    _request(app, setup.member, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))
    # 10:00 would start inside nothing, but its 30-minute set-up overlaps 09:00–10:00.
    with app.test_request_context(), pytest.raises(SlotTaken):
        service.request_booking(db.session.get(User, setup.large.id), setup.sem.id,
                                berlin(2026, 3, 4, 10), berlin(2026, 3, 4, 11), "x", now=NOW)
    with app.app_context():
        db.session.rollback()
    # 11:00 leaves the buffer 10:30–11:00 free: accepted.
    _request(app, setup.large, setup.sem, berlin(2026, 3, 4, 11),
                          berlin(2026, 3, 4, 12))


def test_cancelled_rejected_and_expired_bookings_do_not_block(app, setup):
    first = _request(app, setup.member, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))
    with app.test_request_context():
        service.reject_booking(db.session.get(User, setup.manager.id), first, "Booked out",
                               now=NOW)
        db.session.commit()
    _request(app, setup.large, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))


def test_the_database_refuses_an_overlapping_active_booking_written_by_hand(app, setup):
    _request(app, setup.member, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 11))
    with app.app_context():
        row = db.session.execute(text("SELECT * FROM booking")).mappings().one()
        values = dict(row)
        values.pop("id")
        values["reference"] = "LN-RAW-1"
        values["start_at"] = values["blocked_start"] = row["start_at"]
        columns = ", ".join(values)
        params = ", ".join(f":{k}" for k in values)
        insert = text(f"INSERT INTO booking ({columns}) VALUES ({params})")
        with pytest.raises(IntegrityError):
            db.session.execute(insert, values)
        db.session.rollback()
        # A cancelled row may overlap: the backstop only guards active bookings.
        values["status"] = "cancelled"
        values["reference"] = "LN-RAW-2"
        db.session.execute(insert, values)
        db.session.commit()


def test_approve_then_member_cancels_before_deadline(app, setup):
    booking_id = _request(app, setup.member, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))
    with app.test_request_context():
        service.approve_booking(db.session.get(User, setup.manager.id), booking_id, now=NOW)
        db.session.commit()
        b = service.cancel_booking(db.session.get(User, setup.member.id), booking_id, "",
                                   now=NOW)
        db.session.commit()
        assert b.status == "cancelled" and b.sequence == 2


def test_member_cannot_cancel_a_confirmed_booking_after_the_deadline(app, setup):
    booking_id = _request(app, setup.member, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))
    with app.test_request_context():
        service.approve_booking(db.session.get(User, setup.manager.id), booking_id, now=NOW)
        db.session.commit()
        late = berlin(2026, 3, 3, 12)
        with pytest.raises(RuleViolation) as exc:
            service.cancel_booking(db.session.get(User, setup.member.id), booking_id, "",
                                   now=late)
        assert "Too late" in exc.value.message


def test_only_the_labs_managers_decide(app, setup, make_user):
    booking_id = _request(app, setup.member, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))
    stranger = make_user()
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            service.approve_booking(db.session.get(User, setup.member.id), booking_id, now=NOW)
        db.session.rollback()
        with pytest.raises(PermissionDenied):
            service.cancel_booking(db.session.get(User, stranger.id), booking_id, "x", now=NOW)
        db.session.rollback()


def test_hold_never_outlasts_the_start(app, setup):
    booking_id = _request(app, setup.member, setup.sem, berlin(2026, 3, 4, 9),
                          berlin(2026, 3, 4, 10))
    with app.app_context():
        assert db.session.get(Booking, booking_id).hold_until == berlin(2026, 3, 4, 9)


def test_expire_holds_acts_once_per_booking(app, setup):
    booking_id = _request(app, setup.member, setup.sem, berlin(2026, 3, 11, 9),
                          berlin(2026, 3, 11, 10))
    later = NOW + timedelta(hours=49)
    with app.test_request_context():
        assert service.expire_holds(now=later) == 1
        db.session.commit()
        assert service.expire_holds(now=later) == 0
        db.session.commit()
        assert db.session.get(Booking, booking_id).status == "expired"
        expired_mails = db.session.scalar(select(func.count(OutboxEmail.id)).where(
            OutboxEmail.kind == "booking_expired"))
        assert expired_mails == 1


def test_unknown_equipment_is_not_found(app, setup):
    with app.test_request_context(), pytest.raises(NotFound):
        service.request_booking(db.session.get(User, setup.member.id), 999999, NOW, NOW, "x",
                                now=NOW)


def test_a_time_that_does_not_exist_on_the_spring_night_is_refused():
    with pytest.raises(RuleViolation) as exc:
        local_to_utc(datetime(2026, 3, 29, 2, 0), BERLIN)
    assert "does not exist" in exc.value.message
