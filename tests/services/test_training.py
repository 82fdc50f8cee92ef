"""Training that qualifies (issue 15 §4) and attendance/certificates (§3): attendance on
every session grants the course's qualifications; the booking engine refuses self-service
equipment that needs a qualification the booker lacks (naming it and the next course), not
operator-assisted equipment; managers grant and revoke by hand (audited, mailed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail, User
from labnet.models.training import Certificate, QualificationGrant
from labnet.services.booking import engine
from labnet.services.training import attendance, qualifications, registration
from tests.fixtures.berlin import APPROVING, NOW, SPLIT_DAY, berlin

H = timedelta(hours=1)


def _u(user_id: int) -> User:
    return db.session.get_one(User, user_id)


@pytest.fixture
def world(make_lab, make_user, make_equipment, make_course, make_qualification):
    class W:
        pass

    w = W()
    w.lab = make_lab(**APPROVING, hours=SPLIT_DAY)
    w.manager = make_user(manages=(w.lab,)).id
    w.q = make_qualification(w.lab, "SEM operation", validity_months=24)
    w.sem = make_equipment(w.lab, mode="self_service", booking_unit="hour", max_units=4)
    w.assisted = make_equipment(w.lab, mode="operator_assisted", booking_unit="hour",
                                max_units=4)
    w.course = make_course(w.lab, [(berlin(2026, 3, 5, 9), berlin(2026, 3, 5, 12)),
                                   (berlin(2026, 3, 6, 9), berlin(2026, 3, 6, 12))],
                           grants=(w.q,), title="SEM basics", slug="sem-basics")
    w.person = make_user(full_name="Łucja Żółć").id
    return w


def _require(w) -> None:
    qualifications.set_required_equipment(_u(w.manager), w.q.id, [w.sem.id, w.assisted.id],
                                          now=NOW)
    db.session.commit()


def _book(w, equipment_id: int, now=NOW):
    return engine.request_booking(_u(w.person), equipment_id, berlin(2026, 3, 11, 9),
                                  berlin(2026, 3, 11, 11), "Imaging", now=now)


def test_booking_without_the_qualification_is_refused_naming_it_and_the_course(ctx, world):
    _require(world)
    with pytest.raises(RuleViolation) as refused:
        _book(world, world.sem.id)
    assert refused.value.field == "equipment"
    assert "SEM operation" in refused.value.message and "SEM basics" in refused.value.message
    assert "http://labnet.test/" in refused.value.message  # the course's address
    with pytest.raises(RuleViolation, match="SEM operation"):
        engine.preview_booking(_u(world.person), world.sem.id, berlin(2026, 3, 11, 9),
                               berlin(2026, 3, 11, 11), now=NOW)
    db.session.rollback()
    # Operator-assisted: the lab runs the instrument, no qualification needed.
    assert _book(world, world.assisted.id).status == "pending"


def test_attendance_on_every_session_grants_and_then_the_booking_goes_through(ctx, world):
    _require(world)
    reg = registration.register(_u(world.person), world.course.id, {}, now=NOW)
    db.session.commit()
    day1, day2 = attendance.list_sessions(world.course.id)
    assert not attendance.mark_attendance(_u(world.manager), world.course.id, reg.id, day1.id,
                                          True, now=NOW)
    db.session.commit()
    assert db.session.scalar(select(QualificationGrant)) is None
    # Marking twice writes one row and grants once.
    assert attendance.mark_attendance(_u(world.manager), world.course.id, reg.id, day2.id,
                                      True, now=berlin(2026, 3, 6, 10))
    attendance.mark_attendance(_u(world.manager), world.course.id, reg.id, day2.id, True,
                               now=berlin(2026, 3, 6, 10))
    db.session.commit()
    [grant] = db.session.scalars(select(QualificationGrant)).all()
    assert grant.source == "course" and grant.expires_at == berlin(2026, 3, 6, 10).replace(
        year=2028)
    assert db.session.scalar(select(OutboxEmail).where(
        OutboxEmail.kind == "qualification_granted")).to_addr == _u(world.person).email
    assert _book(world, world.sem.id, now=berlin(2026, 3, 6, 11)).status == "pending"


def test_an_expired_or_revoked_qualification_is_refused(ctx, world):
    _require(world)
    grant = qualifications.grant_by_hand(_u(world.manager), world.q.id,
                                         _u(world.person).email, now=NOW)
    db.session.commit()
    grant.expires_at = berlin(2026, 3, 10, 0)  # before the booking's start
    db.session.commit()
    with pytest.raises(RuleViolation, match="not valid then"):
        _book(world, world.sem.id)
    db.session.rollback()
    grant = db.session.get_one(QualificationGrant, grant.id)
    grant.expires_at = None
    db.session.commit()
    assert _book(world, world.sem.id).status == "pending"
    db.session.commit()
    with pytest.raises(RuleViolation, match="why"):
        qualifications.revoke_grant(_u(world.manager), grant.id, " ", now=NOW)
    qualifications.revoke_grant(_u(world.manager), grant.id, "Safety incident", now=NOW)
    db.session.commit()
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "qualification.revoked")) is not None
    with pytest.raises(RuleViolation, match="SEM operation"):
        engine.request_booking(_u(world.person), world.sem.id, berlin(2026, 3, 12, 9),
                               berlin(2026, 3, 12, 10), "Again", now=NOW)


def test_only_the_labs_managers_manage_its_qualifications(ctx, world, make_user, make_lab):
    stranger = make_user().id
    with pytest.raises(PermissionDenied):
        qualifications.create_qualification(_u(stranger), world.lab.id, "FIB", None, now=NOW)
    with pytest.raises(NotFound):
        qualifications.grant_by_hand(_u(stranger), world.q.id, "x@example.org", now=NOW)
    with pytest.raises(RuleViolation) as e:
        qualifications.grant_by_hand(_u(world.manager), world.q.id, "nobody@example.org",
                                     now=NOW)
    assert e.value.field == "email"
    with pytest.raises(RuleViolation) as e:
        qualifications.create_qualification(_u(world.manager), world.lab.id, "SEM operation",
                                            None, now=NOW)
    assert e.value.field == "name"
    other = make_lab()
    with pytest.raises(RuleViolation) as e:
        qualifications.set_required_equipment(_u(world.manager), world.q.id, [999999], now=NOW)
    assert e.value.field == "equipment_ids"
    del other


def test_a_course_grants_only_qualifications_of_its_organising_labs(ctx, world, make_lab,
                                                                    make_user,
                                                                    make_qualification):
    other = make_lab()
    boss = make_user(manages=(other,)).id
    foreign = make_qualification(other, "Clean room")
    with pytest.raises(PermissionDenied):
        qualifications.set_event_grants(_u(boss), world.course.id, [foreign.id], now=NOW)
    with pytest.raises(RuleViolation) as e:
        qualifications.set_event_grants(_u(world.manager), world.course.id, [foreign.id],
                                        now=NOW)
    assert e.value.field == "qualification_ids"


def test_certificates_are_issued_once_with_an_unguessable_code_and_a_pdf(ctx, world):
    reg = registration.register(_u(world.person), world.course.id, {}, now=NOW)
    db.session.commit()
    with pytest.raises(RuleViolation, match="Nobody is marked present"):
        attendance.issue_certificates(_u(world.manager), world.course.id, now=NOW)
    day1 = attendance.list_sessions(world.course.id)[0]
    attendance.mark_attendance(_u(world.manager), world.course.id, reg.id, day1.id, True,
                               now=NOW)
    assert attendance.issue_certificates(_u(world.manager), world.course.id, now=NOW) == 1
    assert attendance.issue_certificates(_u(world.manager), world.course.id, now=NOW) == 0
    db.session.commit()
    [cert] = db.session.scalars(select(Certificate)).all()
    assert len(cert.code) >= 20 and cert.holder_name == "Łucja Żółć"
    assert cert.hours == 3 and "2026-03-05 09:00–12:00 CET" in cert.attended
    pdf = attendance.certificate_pdf(cert, "http://labnet.test/certificates/x")
    assert pdf.startswith(b"%PDF")
    with pytest.raises(NotFound):
        attendance.certificate_by_code("not-a-code")


def test_validity_months_keep_the_end_of_month(ctx):
    at = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert qualifications.add_months(at, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert qualifications.add_months(at, 24) == datetime(2028, 1, 31, 12, tzinfo=UTC)
