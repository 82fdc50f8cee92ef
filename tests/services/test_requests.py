"""The request workflow: who may do what at each step, and what each step records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail, Role, User
from labnet.models.request import LabRequest, RequestLab, RequestMessage
from labnet.services.requests import workflow as service

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=5)


@pytest.fixture
def s(app, make_lab, make_user, make_org):
    class S:
        pass

    s = S()
    s.lab_a = make_lab(name="Alpha Lab")
    s.lab_b = make_lab(name="Beta Lab")
    s.draft = make_lab(name="Draft Lab", is_published=False)
    s.company = make_org(kind="company", size_class="small", name="Small Co")
    s.member = make_user(organisation=s.company, email="member@small.example")
    s.colleague = make_user(organisation=s.company)
    s.outsider = make_user()
    s.manager_a = make_user(manages=(s.lab_a,), email="a@alpha.example")
    s.manager_b = make_user(manages=(s.lab_b,), email="b@beta.example")
    s.rto_member = make_user(organisation=make_org(kind="rto", size_class=None))
    s.admin = make_user(roles=(Role.ADMIN,))
    s.coordinator = make_user(roles=(Role.COORDINATOR,))
    return s


def _u(user) -> User:
    return db.session.get(User, user.id)


def _joint(s, labs=None, **kw):
    args = dict(kind="joint_project", lab_ids=[lab.id for lab in (labs or [s.lab_a, s.lab_b])],
                title="Recyclable battery housings", summary="Design and test.",
                ket_code="AMT", budget_min_eur=50_000, budget_max_eur=200_000,
                duration_months=18, funding_programme="Horizon Europe", trl_now=3,
                trl_target=6)
    args.update(kw)
    return service.create_request(_u(s.member), service.NewRequest(**args), now=NOW)


def _make(app, s, **kw) -> int:
    with app.test_request_context():
        req = _joint(s, **kw)
        db.session.commit()
        return req.id


def _status(request_id: int) -> str:
    return db.session.scalar(select(LabRequest.status).where(LabRequest.id == request_id))


def _mails(kind: str | None = None) -> list[OutboxEmail]:
    stmt = select(OutboxEmail).order_by(OutboxEmail.id)
    if kind:
        stmt = stmt.where(OutboxEmail.kind == kind)
    return list(db.session.scalars(stmt))


# --- creating ------------------------------------------------------------------------------


def test_joint_project_is_submitted_to_each_lab_with_reference_audit_and_mails(app, s):
    rid = _make(app, s)
    with app.app_context():
        req = service.load_request(rid)
        assert req.status == "submitted"
        assert req.reference == f"RQ-2026-{rid:06d}"
        assert [(link.lab_id, link.answer) for link in req.labs] == [
            (s.lab_a.id, "pending"), (s.lab_b.id, "pending")]
        assert (req.budget_min_eur, req.budget_max_eur, req.trl_now, req.trl_target) == (
            50_000, 200_000, 3, 6)
        assert req.first_response_at is None and req.decided_at is None
        assert {m.to_addr for m in _mails("request_new")} == {"a@alpha.example",
                                                              "b@beta.example"}
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "request.submitted")) == 1


def test_service_request_needs_quantity_and_a_future_deadline(app, s):
    with app.test_request_context():
        base = dict(kind="service", lab_ids=[s.lab_a.id], title="Tensile tests",
                    summary="ISO 527 on 12 samples")
        with pytest.raises(RuleViolation) as exc:
            service.create_request(_u(s.member), service.NewRequest(
                **base, deadline=date(2026, 4, 1)), now=NOW)
        assert exc.value.field == "quantity"
        with pytest.raises(RuleViolation) as exc:
            service.create_request(_u(s.member), service.NewRequest(**base, quantity="12"),
                                   now=NOW)
        assert exc.value.field == "deadline"
        with pytest.raises(RuleViolation) as exc:
            service.create_request(_u(s.member), service.NewRequest(
                **base, quantity="12", deadline=date(2026, 3, 1)), now=NOW)
        assert (exc.value.field, exc.value.message) == ("deadline",
                                                        "The deadline is in the past.")
        req = service.create_request(_u(s.member), service.NewRequest(
            **base, quantity="12", deadline=date(2026, 3, 2)), now=NOW)
        assert req.kind == "service" and req.ket_code is None


@pytest.mark.parametrize(("change", "field"), [
    ({"lab_ids": []}, "lab"),
    ({"title": "  "}, "title"),
    ({"summary": ""}, "summary"),
    ({"summary": "x" * 5001}, "summary"),
    ({"ket_code": None}, "ket_code"),
    ({"ket_code": "NOPE"}, "ket_code"),
    ({"budget_min_eur": 300_000}, "budget_max_eur"),
    ({"budget_min_eur": -1}, "budget_min_eur"),
    ({"duration_months": 0}, "duration_months"),
    ({"funding_programme": "Lottery"}, "funding_programme"),
    ({"trl_now": 0}, "trl_now"),
    ({"trl_target": 10}, "trl_target"),
    ({"trl_now": 6, "trl_target": 4}, "trl_target"),
])
def test_bad_joint_project_input_names_the_field_and_writes_nothing(app, s, change, field):
    with app.test_request_context():
        with pytest.raises(RuleViolation) as exc:
            _joint(s, **change)
        assert exc.value.field == field
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(LabRequest)) == 0
        assert not _mails()


def test_draft_or_missing_labs_are_refused_and_access_goes_to_one_lab(app, s):
    with app.test_request_context():
        for labs in ([s.lab_a.id, s.draft.id], [s.lab_a.id, 999_999]):
            with pytest.raises(RuleViolation) as exc:
                _joint(s, labs=None, lab_ids=labs)
            assert exc.value.field == "lab"
        with pytest.raises(RuleViolation) as exc:
            service.create_request(_u(s.member), service.NewRequest(
                kind="access", lab_ids=[s.lab_a.id, s.lab_b.id], title="Clean room",
                summary="Two days"), now=NOW)
        assert exc.value.field == "lab"
        with pytest.raises(RuleViolation) as exc:
            service.resolve_labs([s.lab_a.slug, s.draft.slug])
        assert s.draft.slug in exc.value.message
        assert [lab.id for lab in service.resolve_labs([s.lab_b.slug, s.lab_a.slug,
                                                       s.lab_b.slug])] == [s.lab_b.id,
                                                                           s.lab_a.id]


def test_only_company_and_academic_members_send(app, s, make_user, make_org):
    with app.test_request_context():
        # A research organisation's member sends as a customer too (issue 12 §4) …
        req = service.create_request(_u(s.rto_member), service.NewRequest(
            kind="access", lab_ids=[s.lab_a.id], title="Clean room",
            summary="Two days"), now=NOW)
        assert req.organisation_id == s.rto_member.organisation_id
        db.session.rollback()
        # … a cluster organisation's member does not: clusters answer through their labs.
        cluster = make_user(organisation=make_org(kind="cluster", size_class=None))
        with pytest.raises(PermissionDenied):
            service.create_request(_u(cluster), service.NewRequest(
                kind="access", lab_ids=[s.lab_a.id], title="Clean room",
                summary="Two days"), now=NOW)
        unconfirmed = _u(s.colleague)
        unconfirmed.email_confirmed_at = None
        with pytest.raises(PermissionDenied):
            service.create_request(unconfirmed, service.NewRequest(
                kind="access", lab_ids=[s.lab_a.id], title="Clean room",
                summary="Two days"), now=NOW)


# --- the joint-project workflow ------------------------------------------------------------


def test_one_lab_accepts_one_declines_then_the_company_confirms_and_completes(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        service.answer(_u(s.manager_b), rid, s.lab_b.id, False, "No capacity this year",
                       now=NOW + timedelta(hours=1))
        db.session.commit()
        assert _status(rid) == "in_review"
        req = db.session.get(LabRequest, rid)
        assert req.first_response_at == NOW + timedelta(hours=1)
        assert req.decided_at is None
        service.answer(_u(s.manager_a), rid, s.lab_a.id, True, "Happy to join",
                       now=NOW + timedelta(hours=2))
        db.session.commit()
        req = service.load_request(rid)
        assert req.status == "accepted"
        assert req.decided_at == NOW + timedelta(hours=2)
        assert req.first_response_at == NOW + timedelta(hours=1)
        assert {link.lab_id: link.answer for link in req.labs} == {s.lab_a.id: "accepted",
                                                                   s.lab_b.id: "declined"}
        # The company is told of each answer; the other lab hears of it too.
        assert [m.to_addr for m in _mails("request_status")].count("member@small.example") == 2
        service.confirm(_u(s.colleague), rid, now=LATER)  # any member of the company
        db.session.commit()
        req = db.session.get(LabRequest, rid)
        assert (req.status, req.confirmed_at) == ("active", LATER)
        # The confirmation goes to the lab that accepted, not to the one that declined.
        confirm_mail = [m for m in _mails("request_status") if "confirmed" in m.subject]
        assert {m.to_addr for m in confirm_mail} == {"a@alpha.example", "member@small.example"}
        with pytest.raises(RuleViolation):  # the declined lab cannot complete
            service.complete(_u(s.manager_b), rid, now=LATER)
        db.session.rollback()
        service.complete(_u(s.manager_a), rid, now=LATER + timedelta(days=90))
        db.session.commit()
        req = db.session.get(LabRequest, rid)
        assert (req.status, req.closed_at) == ("completed", LATER + timedelta(days=90))
        actions = list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_id == rid, AuditEvent.subject_type == "lab_request")
            .order_by(AuditEvent.id)))
        assert actions == ["request.submitted", "request.lab_declined", "request.in_review",
                           "request.lab_accepted", "request.accepted", "request.active",
                           "request.completed"]


def test_every_lab_declining_declines_the_request_at_the_last_decline(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        service.answer(_u(s.manager_a), rid, s.lab_a.id, False, "No", now=NOW)
        service.answer(_u(s.manager_b), rid, s.lab_b.id, False, "No", now=LATER)
        db.session.commit()
        req = db.session.get(LabRequest, rid)
        assert (req.status, req.decided_at, req.closed_at) == ("declined", LATER, LATER)
        with pytest.raises(RuleViolation):
            service.withdraw(_u(s.member), rid, now=LATER)
        db.session.rollback()
        with pytest.raises(RuleViolation) as exc:
            service.post_message(_u(s.member), rid, "Why?", now=LATER)
        assert "closed" in exc.value.message


def test_a_lab_answers_once_and_not_after_confirmation(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        service.answer(_u(s.manager_a), rid, s.lab_a.id, True, "", now=NOW)
        db.session.commit()
        with pytest.raises(RuleViolation) as exc:
            service.answer(_u(s.manager_a), rid, s.lab_a.id, False, "changed my mind", now=NOW)
        assert exc.value.field == "answer"
        db.session.rollback()
        service.confirm(_u(s.member), rid, now=NOW)
        db.session.commit()
        with pytest.raises(RuleViolation) as exc:
            service.answer(_u(s.manager_b), rid, s.lab_b.id, True, "", now=NOW)
        assert exc.value.field == "status"
        db.session.rollback()
        assert db.session.scalar(select(RequestLab.answer).where(
            RequestLab.request_id == rid, RequestLab.lab_id == s.lab_b.id)) == "pending"


def test_declining_needs_a_reason_and_messages_have_a_size_limit(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        with pytest.raises(RuleViolation) as exc:
            service.answer(_u(s.manager_a), rid, s.lab_a.id, False, "  ", now=NOW)
        assert exc.value.field == "answer_message"
        db.session.rollback()
        with pytest.raises(RuleViolation) as exc:
            service.post_message(_u(s.member), rid, "x" * 5001, now=NOW)
        assert exc.value.field == "body"
        db.session.rollback()
        assert _status(rid) == "submitted"
        assert db.session.scalar(select(func.count()).select_from(RequestMessage)) == 0


# --- who may do what -----------------------------------------------------------------------


def test_who_may_do_what_at_each_step(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        # Strangers do not know the request exists; an admin sees it but is no party.
        for user in (s.outsider, s.coordinator, s.rto_member):
            for call in (lambda u: service.start_review(u, rid, now=NOW),
                         lambda u: service.post_message(u, rid, "hi", now=NOW),
                         lambda u: service.withdraw(u, rid, now=NOW),
                         lambda u: service.answer(u, rid, s.lab_a.id, True, "", now=NOW)):
                with pytest.raises(NotFound):
                    call(_u(user))
                db.session.rollback()
        for call in (lambda u: service.post_message(u, rid, "hi", now=NOW),
                     lambda u: service.withdraw(u, rid, now=NOW),
                     lambda u: service.answer(u, rid, s.lab_a.id, True, "", now=NOW)):
            with pytest.raises(PermissionDenied):
                call(_u(s.admin))
            db.session.rollback()
        # The company does not answer or review for a lab; a lab does not confirm/withdraw.
        with pytest.raises(PermissionDenied):
            service.start_review(_u(s.member), rid, now=NOW)
        db.session.rollback()
        with pytest.raises(PermissionDenied):
            service.answer(_u(s.member), rid, s.lab_a.id, True, "", now=NOW)
        db.session.rollback()
        for call in (service.confirm, service.withdraw):
            with pytest.raises(PermissionDenied):
                call(_u(s.manager_a), rid, now=NOW)
            db.session.rollback()
        # A manager answers for their own lab only.
        with pytest.raises(RuleViolation) as exc:
            service.answer(_u(s.manager_a), rid, s.lab_b.id, True, "", now=NOW)
        assert exc.value.field == "lab"
        db.session.rollback()
        assert _status(rid) == "submitted"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.subject_id == rid, AuditEvent.action != "request.submitted")) == 0


def test_refused_transitions_say_why(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        with pytest.raises(RuleViolation) as exc:
            service.confirm(_u(s.member), rid, now=NOW)
        assert "at least one lab has accepted" in exc.value.message
        db.session.rollback()
        for call in (service.complete,):
            with pytest.raises(RuleViolation) as exc:
                call(_u(s.member), rid, now=NOW)
            assert "only an active request" in exc.value.message
            db.session.rollback()
        service.start_review(_u(s.manager_a), rid, now=NOW)
        db.session.commit()
        assert _status(rid) == "in_review"
        with pytest.raises(RuleViolation) as exc:  # a second click does not act twice
            service.start_review(_u(s.manager_b), rid, now=NOW)
        assert exc.value.field == "status"
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "request.in_review")) == 1
        service.withdraw(_u(s.member), rid, now=LATER)
        db.session.commit()
        req = db.session.get(LabRequest, rid)
        assert (req.status, req.closed_at) == ("withdrawn", LATER)
        for call in (lambda: service.withdraw(_u(s.member), rid, now=LATER),
                     lambda: service.confirm(_u(s.member), rid, now=LATER),
                     lambda: service.answer(_u(s.manager_a), rid, s.lab_a.id, True, "",
                                            now=LATER)):
            with pytest.raises(RuleViolation):
                call()
            db.session.rollback()


def test_compare_and_set_refuses_a_stale_status(app, s):
    """Two clicks read "accepted"; the first confirms; the second's UPDATE … WHERE status =
    'accepted' matches nothing and the service says so instead of acting twice."""
    rid = _make(app, s)
    with app.test_request_context():
        service.answer(_u(s.manager_a), rid, s.lab_a.id, True, "", now=NOW)
        db.session.commit()
        stale = service.load_request(rid)
        db.session.expunge(stale)  # the second click's copy, read before the first acted
        service.confirm(_u(s.member), rid, now=NOW)
        db.session.commit()
        assert stale.status == "accepted"
        assert service._move(stale, "active", now=NOW) is False
        assert _status(rid) == "active"


def test_withdraw_from_active_and_lab_messages_count_as_first_response(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        service.post_message(_u(s.member), rid, "Any questions?", now=NOW)
        db.session.commit()
        assert _status(rid) == "submitted"
        assert db.session.get(LabRequest, rid).first_response_at is None
        msg = service.post_message(_u(s.manager_b), rid, "Which alloy?", now=LATER)
        db.session.commit()
        assert msg.lab_id == s.lab_b.id
        req = db.session.get(LabRequest, rid)
        assert (req.status, req.first_response_at) == ("in_review", LATER)
        service.answer(_u(s.manager_a), rid, s.lab_a.id, True, "", now=LATER)
        service.confirm(_u(s.member), rid, now=LATER)
        service.withdraw(_u(s.member), rid, now=LATER)
        db.session.commit()
        assert _status(rid) == "withdrawn"


def test_messages_mail_the_other_parties_not_the_author(app, s):
    rid = _make(app, s)
    with app.test_request_context():
        service.post_message(_u(s.manager_a), rid, "<b>Hello</b> & welcome", now=NOW)
        db.session.commit()
        mails = _mails("request_message")
        assert {m.to_addr for m in mails} == {"member@small.example", "b@beta.example"}
        assert "&lt;b&gt;Hello&lt;/b&gt; &amp; welcome" in mails[0].body_html
        assert "<b>Hello</b> & welcome" in mails[0].body_text


def test_inbox_count_is_requests_waiting_for_the_managers_labs(app, s):
    rid = _make(app, s)
    _make(app, s, labs=[s.lab_a])
    with app.test_request_context():
        assert service.open_inbox_count(_u(s.manager_a)) == 2
        assert service.open_inbox_count(_u(s.manager_b)) == 1
        service.answer(_u(s.manager_a), rid, s.lab_a.id, True, "", now=NOW)
        db.session.commit()
        assert service.open_inbox_count(_u(s.manager_a)) == 1
        assert service.open_inbox_count(_u(s.outsider)) == 0


def test_demo_requests_fill_my_requests_and_the_inbox_once(app, make_lab, make_user, make_org):
    labs = {slug: make_lab(slug=slug) for slug in ("fraunhofer-ilt", "fraunhofer-ipt",
                                                    "fraunhofer-ise", "fraunhofer-iws")}
    sme = make_user(email="sme@labnet.example",
                    organisation=make_org(kind="company", size_class="small"))
    manager = make_user(email="manager@labnet.example",
                        manages=tuple(labs[s] for s in ("fraunhofer-ilt", "fraunhofer-ipt",
                                                        "fraunhofer-ise")))
    with app.app_context():
        assert service.seed_demo_requests(now=NOW) == 4
        assert service.seed_demo_requests(now=NOW) == 0
        db.session.commit()
        rows = list(db.session.scalars(select(LabRequest).order_by(LabRequest.id)))
        assert [r.status for r in rows] == ["accepted", "submitted", "in_review", "completed"]
        assert {r.organisation_id for r in rows} == {sme.organisation_id}
        # Waiting for the demo manager: IPT on the joint project, the ISE service, the ILT
        # access request.
        assert service.open_inbox_count(_u(manager)) == 3
        assert not _mails()


def test_a_joint_project_may_leave_its_terms_undecided_and_every_rule_is_named_at_once(
        app, s):
    with app.test_request_context():
        req = service.create_request(_u(s.member), service.NewRequest(
            kind="joint_project", lab_ids=[s.lab_a.id], title="Housings", summary="Tests",
            ket_code="AMT"), now=NOW)
        assert (req.duration_months, req.funding_programme, req.trl_now) == (None, "", None)
        db.session.rollback()
        with pytest.raises(RuleViolation) as exc:
            service.create_request(_u(s.member), service.NewRequest(
                kind="joint_project", lab_ids=[s.lab_a.id], title="", summary="Tests",
                ket_code="AMT", budget_min_eur=10, budget_max_eur=5, trl_now=5, trl_target=2,
                funding_programme="Lottery"), now=NOW)
        assert [v.field for v in exc.value.violations] == [
            "title", "budget_max_eur", "funding_programme", "trl_target"]
