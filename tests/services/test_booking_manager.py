"""The lab manager's side of the booking engine: shorten, no-show, blackouts, mail mode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail, User
from labnet.models.booking import Blackout, Booking
from labnet.services.accounts import rules as accounts
from labnet.services.booking import engine as service
from tests.fixtures.berlin import APPROVING, BERLIN, NOW, berlin


@pytest.fixture
def setup(app, make_lab, make_equipment, make_user, make_org):
    """A Berlin lab open Mon–Fri 08–17 with an hourly SEM (30-minute buffer, at least 2
    hours), its manager, another lab's manager and two members of different companies."""
    lab = make_lab(**APPROVING, hold_hours=48, cancel_deadline_hours=24, hours=((8, 17),))
    other = make_lab(timezone=BERLIN, hours=((8, 17),))

    class S:
        pass

    s = S()
    s.lab, s.other = lab, other
    s.sem = make_equipment(lab, booking_unit="hour", min_units=2, max_units=8,
                           buffer_minutes=30)
    s.ct = make_equipment(lab, booking_unit="hour", min_units=1, max_units=8)
    s.manager = make_user(manages=(lab,))
    s.other_manager = make_user(manages=(other,))
    s.member = make_user(organisation=make_org(kind="company", size_class="small"))
    s.large = make_user(organisation=make_org(kind="company", size_class="large"))
    return s


def _user(user) -> User:
    return db.session.get(User, user.id)


def _book(app, user, equipment, start, end, *, approve_by=None) -> int:
    with app.test_request_context():
        b = service.request_booking(_user(user), equipment.id, start, end, "Imaging", now=NOW)
        if approve_by is not None:
            service.approve_booking(_user(approve_by), b.id, now=NOW)
        db.session.commit()
        return b.id


def _mails(kind: str) -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == kind)))


# --- shorten -------------------------------------------------------------------------------


def test_shorten_inside_the_window_reprices_bumps_sequence_and_mails_the_requester(app, setup):
    bid = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 13),
                approve_by=setup.manager)
    with app.test_request_context():
        before = db.session.get(Booking, bid).sequence
        b = service.shorten_booking(_user(setup.manager), bid, berlin(2026, 3, 11, 10),
                                    berlin(2026, 3, 11, 12), now=NOW)
        db.session.commit()
        assert (b.status, b.units, b.price_estimate) == ("confirmed", 2, 240)
        assert b.blocked_start == berlin(2026, 3, 11, 9, 30)
        assert b.sequence == before + 1
        [mail] = _mails("booking_shortened")
        assert mail.to_addr == setup.member.email and "12:00" in mail.body_text
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "booking.shortened")) == "booking.shortened"
    # The freed hour is bookable by someone else at once.
    _book(app, setup.large, setup.sem, berlin(2026, 3, 11, 14), berlin(2026, 3, 11, 16))


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        ((2026, 3, 11, 8), (2026, 3, 11, 11), "start_at", "not be before"),
        ((2026, 3, 11, 10), (2026, 3, 11, 14), "end_at", "not be after"),
        ((2026, 3, 11, 9), (2026, 3, 11, 10), "end_at", "Too short"),
        ((2026, 3, 11, 9, 30), (2026, 3, 11, 11), "start_at", "on the hour"),
        ((2026, 3, 11, 9), (2026, 3, 11, 13), "end_at", "booked time already"),
        ((2026, 3, 11, 12), (2026, 3, 11, 10), "end_at", "after the start"),
    ],
)
def test_shorten_refuses_with_its_field(app, setup, start, end, field, words):
    bid = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 13),
                approve_by=setup.manager)
    with app.test_request_context(), pytest.raises(RuleViolation) as exc:
        service.shorten_booking(_user(setup.manager), bid, berlin(*start), berlin(*end),
                                now=NOW)
    assert exc.value.field == field and words in exc.value.message


def test_only_confirmed_bookings_are_shortened_and_only_by_the_labs_managers(app, setup):
    bid = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 13))
    with app.test_request_context():
        with pytest.raises(RuleViolation) as exc:
            service.shorten_booking(_user(setup.manager), bid, berlin(2026, 3, 11, 10),
                                    berlin(2026, 3, 11, 12), now=NOW)
        assert exc.value.field == "status"
        db.session.rollback()
        with pytest.raises(PermissionDenied):
            service.shorten_booking(_user(setup.other_manager), bid, berlin(2026, 3, 11, 10),
                                    berlin(2026, 3, 11, 12), now=NOW)
        db.session.rollback()


# --- no-show -------------------------------------------------------------------------------


def test_no_show_only_after_the_end_and_mails_the_requester(app, setup):
    bid = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11),
                approve_by=setup.manager)
    with app.test_request_context():
        with pytest.raises(RuleViolation) as exc:
            service.mark_no_show(_user(setup.manager), bid, now=NOW)
        assert "after it has ended" in exc.value.message
        db.session.rollback()
        with pytest.raises(PermissionDenied):
            service.mark_no_show(_user(setup.member), bid, now=berlin(2026, 3, 12, 9))
        db.session.rollback()
        b = service.mark_no_show(_user(setup.manager), bid, now=berlin(2026, 3, 11, 12))
        db.session.commit()
        assert b.status == "no_show"
        assert [m.to_addr for m in _mails("booking_no_show")] == [setup.member.email]
        with pytest.raises(RuleViolation):
            service.mark_no_show(_user(setup.manager), bid, now=berlin(2026, 3, 11, 12))
        db.session.rollback()


def test_a_completed_booking_can_become_a_no_show(app, setup):
    bid = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11),
                approve_by=setup.manager)
    with app.test_request_context():
        db.session.get(Booking, bid).status = "completed"
        db.session.commit()
        assert service.mark_no_show(_user(setup.manager), bid,
                                    now=berlin(2026, 3, 12, 9)).status == "no_show"


def test_pending_requests_cannot_be_marked_no_show(app, setup):
    bid = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    with app.test_request_context(), pytest.raises(RuleViolation):
        service.mark_no_show(_user(setup.manager), bid, now=berlin(2026, 3, 12, 9))


# --- blackouts -----------------------------------------------------------------------------


def _blackout(app, setup, action=None, *, equipment=None, actor=None,
              start=(2026, 3, 11, 0), end=(2026, 3, 12, 0), reason="Annual maintenance"):
    with app.test_request_context():
        bo = service.add_blackout(_user(actor or setup.manager), setup.lab.id,
                                  equipment.id if equipment else None, berlin(*start),
                                  berlin(*end), reason, now=NOW, affected_action=action)
        db.session.commit()
        return bo.id


def test_blackout_over_active_bookings_lists_them_and_writes_nothing(app, setup):
    first = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    second = _book(app, setup.large, setup.ct, berlin(2026, 3, 11, 8), berlin(2026, 3, 11, 9),
                   approve_by=setup.manager)
    _book(app, setup.large, setup.ct, berlin(2026, 3, 12, 9), berlin(2026, 3, 12, 10))
    with pytest.raises(service.BlackoutConflict) as exc:
        _blackout(app, setup)
    assert [b.id for b in exc.value.bookings] == [second, first]  # by start
    assert exc.value.field == "affected_action"
    with app.app_context():
        assert db.session.scalar(select(func.count(Blackout.id))) == 0


def test_blackout_cancel_cancels_them_with_the_reason_and_mails_each_booker(app, setup):
    first = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    second = _book(app, setup.large, setup.ct, berlin(2026, 3, 11, 8), berlin(2026, 3, 11, 9),
                   approve_by=setup.manager)
    _blackout(app, setup, "cancel")
    with app.app_context():
        for bid in (first, second):
            b = db.session.get(Booking, bid)
            assert b.status == "cancelled" and "Annual maintenance" in b.decision_reason
        mails = _mails("blackout_notice")
        assert sorted(m.to_addr for m in mails) == sorted([setup.member.email,
                                                           setup.large.email])
        assert all("cancelled" in m.body_text for m in mails)


def test_blackout_keep_keeps_them_and_tells_the_bookers_anyway(app, setup):
    bid = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    _blackout(app, setup, "keep", equipment=setup.sem)
    with app.app_context():
        assert db.session.get(Booking, bid).status == "pending"
        [mail] = _mails("blackout_notice")
        assert mail.to_addr == setup.member.email and "keeps it" in mail.body_text


def test_equipment_blackout_ignores_other_equipment_and_blocks_new_requests(app, setup):
    _book(app, setup.member, setup.ct, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    _blackout(app, setup, equipment=setup.sem)  # no conflict: the booking is on the CT
    with app.test_request_context(), pytest.raises(RuleViolation) as exc:
        service.request_booking(_user(setup.large), setup.sem.id, berlin(2026, 3, 11, 13),
                                berlin(2026, 3, 11, 15), "x", now=NOW)
    assert "Annual maintenance" in exc.value.message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 301}, "reason"),
        ({"start": (2026, 3, 12, 0), "end": (2026, 3, 11, 0)}, "end_at"),
        ({"start": (2026, 2, 1, 0), "end": (2026, 2, 2, 0)}, "end_at"),
    ],
)
def test_blackout_input_refusals_name_their_field(app, setup, kwargs, field):
    with pytest.raises(RuleViolation) as exc:
        _blackout(app, setup, **kwargs)
    assert exc.value.field == field


def test_blackout_on_equipment_of_another_lab_or_by_another_manager_is_refused(
        app, setup, make_equipment):
    foreign = make_equipment(setup.other)
    with pytest.raises(RuleViolation) as exc:
        _blackout(app, setup, equipment=foreign)
    assert exc.value.field == "equipment_id"
    with pytest.raises(PermissionDenied):
        _blackout(app, setup, actor=setup.other_manager)


def test_remove_blackout_frees_the_period(app, setup):
    bo = _blackout(app, setup)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            service.remove_blackout(_user(setup.other_manager), bo, now=NOW)
        db.session.rollback()
        lab = service.remove_blackout(_user(setup.manager), bo, now=NOW)
        db.session.commit()
        assert lab.id == setup.lab.id
        assert db.session.get(Blackout, bo) is None
        with pytest.raises(NotFound):
            service.remove_blackout(_user(setup.manager), bo, now=NOW)
    _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))


# --- reads ---------------------------------------------------------------------------------


def test_queue_is_oldest_first_and_only_the_managers_labs(app, setup, make_equipment):
    foreign = make_equipment(setup.other)
    with app.app_context():
        from labnet.models import Lab

        db.session.get(Lab, setup.other.id).requires_approval = True
        db.session.commit()
    first = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    _book(app, setup.member, foreign, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 10))
    with app.test_request_context():
        later = service.request_booking(_user(setup.large), setup.ct.id,
                                        berlin(2026, 3, 10, 9), berlin(2026, 3, 10, 10), "x",
                                        now=NOW + timedelta(minutes=5))
        db.session.commit()
        ids = [b.id for b in db.session.scalars(
            service.list_pending_queue(_user(setup.manager))).unique()]
        assert ids == [first, later.id]
        assert service.count_pending_for_manager(_user(setup.manager)) == 2
        assert service.count_pending_for_manager(_user(setup.member)) == 0


# --- mail preference -------------------------------------------------------------------------


def test_set_mail_mode_saves_and_audits_and_refuses_unknown_modes(app, setup):
    with app.test_request_context():
        user = accounts.set_mail_mode(_user(setup.member), "digest", now=NOW)
        db.session.commit()
        assert user.mail_mode == "digest"
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "user.mail_mode")) == 1
        with pytest.raises(RuleViolation) as exc:
            accounts.set_mail_mode(_user(setup.member), "weekly", now=NOW)
        assert exc.value.field == "mail_mode"
        with pytest.raises(PermissionDenied):
            accounts.set_mail_mode(None, "digest", now=NOW)


def test_blackout_choice_applies_only_to_the_bookings_the_manager_saw(app, setup):
    first = _book(app, setup.member, setup.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    with pytest.raises(service.BlackoutConflict):
        _blackout(app, setup)
    # A new request arrives in the period before the manager confirms "cancel".
    _book(app, setup.large, setup.ct, berlin(2026, 3, 11, 13), berlin(2026, 3, 11, 14))
    with app.test_request_context(), pytest.raises(service.BlackoutConflict) as exc:
        service.add_blackout(_user(setup.manager), setup.lab.id, None, berlin(2026, 3, 11, 0),
                             berlin(2026, 3, 12, 0), "Annual maintenance", now=NOW,
                             affected_action="cancel", seen_ids=[first])
    assert len(exc.value.bookings) == 2
    with app.app_context():
        assert db.session.get(Booking, first).status == "pending"
