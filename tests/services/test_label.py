"""The LabNet excellence label (issue 14 §2), service level: the framework file, the level
rule, every transition of the workflow with its refusals, renewal and the lab's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import func, select

from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import (
    Accreditation,
    AuditEvent,
    Booking,
    LabelApplication,
    LabelScore,
    LabelStatus,
    LabRequest,
    OutboxEmail,
    RequestLab,
    Role,
    User,
)
from labnet.services.accreditation import evidence, label, label_figures
from labnet.services.accreditation.demo import demo_pdf
from labnet.services.accreditation.label_framework import (
    SCHEME_CODE,
    framework,
    level_for,
    parse,
    problems,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CODES = framework().codes


@pytest.fixture
def rctx(app):
    with app.test_request_context():
        yield app


def _u(user) -> User:
    return db.session.get_one(User, user.id)


@pytest.fixture
def world(rctx, make_lab, make_user, make_org):
    class W:
        pass

    w = W()
    w.lab = make_lab(name="Label Lab", kind_code="kibs")
    w.manager = make_user(manages=(w.lab,), full_name="Mara Manager")
    w.v1 = make_user(roles=(Role.VERIFIER,), full_name="Vera One")
    w.v2 = make_user(roles=(Role.VERIFIER,), full_name="Vic Two")
    w.v3 = make_user(roles=(Role.VERIFIER,), full_name="Val Three")
    # A verifier who also manages the lab: never scores it.
    w.own = make_user(roles=(Role.VERIFIER,), manages=(w.lab,), full_name="Otto Own")
    return w


def _answers(**overrides: str) -> dict[str, label.AnswerInput]:
    answers = {c: label.AnswerInput(text=f"Our answer to {c}.") for c in CODES}
    for code, text in overrides.items():
        answers[code] = label.AnswerInput(text=text)
    return answers


def _submitted(w, now=NOW) -> int:
    application = label.start_application(_u(w.manager), w.lab, now=now)
    label.save_answers(_u(w.manager), application, _answers(), submit=True, now=now)
    db.session.commit()
    return application.id


def _score(user, app_id, value, now=NOW, **per_code):
    given = {c: per_code.get(c, value) for c in CODES}
    label.score_application(_u(user), app_id, given, "", now=now)
    db.session.commit()


# --- the framework ---------------------------------------------------------------------------


def test_the_shipped_framework_is_consistent():
    fw = framework()
    assert problems(fw) == []
    assert len(fw.groups) == 4 and len(fw.criteria) == 12
    assert [lv.code for lv in fw.levels] == ["bronze", "silver", "gold"]
    assert fw.validity_months == 24
    # Every level is reached by some scores, and each by the lowest scores that reach it.
    assert level_for(dict.fromkeys(CODES, 4)).level.code == "gold"
    for lv in fw.levels:
        per = lv.min_total / len(CODES)
        assert level_for(dict.fromkeys(CODES, per)).level is not None


def test_a_broken_framework_is_reported():
    import yaml

    from labnet.data import DATA_DIR

    raw = yaml.safe_load((DATA_DIR / "excellence_framework.yaml").read_text())
    del raw["groups"][0]["criteria"][0]["scale"][4]
    raw["levels"][2]["min_total"] = 99
    raw["levels"][1]["min_total"] = 10
    found = problems(parse(raw))
    assert "S1: the scale is not 0–4" in found
    assert "level gold cannot be reached" in found
    assert "level silver is not above bronze" in found


def test_level_needs_the_total_and_every_group_minimum():
    assert level_for(dict.fromkeys(CODES, 2)).level.code == "bronze"  # 24, groups of 6
    assert level_for(dict.fromkeys(CODES, 3)).level.code == "silver"  # 36 < gold's 40
    lopsided = {**dict.fromkeys(CODES, 4), "T1": 0, "T2": 1, "T3": 1}  # cooperation: 2
    outcome = level_for(lopsided)
    assert outcome.level is None and outcome.total == 38
    assert any("Trans-regional" in r for r in outcome.reasons)


# --- applying ---------------------------------------------------------------------------------


def test_submitting_with_unanswered_criteria_names_each_field_and_writes_nothing(world):
    w = world
    application = label.start_application(_u(w.manager), w.lab, now=NOW)
    db.session.commit()
    with pytest.raises(RuleViolation) as exc:
        label.save_answers(_u(w.manager), application,
                           _answers(S2="", Q3="  "), submit=True, now=NOW)
    db.session.rollback()
    fields = {v.field for v in exc.value.violations}
    assert fields == {"answer_S2", "answer_Q3"}
    assert db.session.get(LabelApplication, application.id).status == LabelStatus.DRAFT
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0


def test_a_draft_saves_partial_answers_and_refuses_bad_evidence_on_its_field(world):
    w = world
    application = label.start_application(_u(w.manager), w.lab, now=NOW)
    answers = _answers(S2="")
    answers["S1"] = label.AnswerInput(text="Mission", url="javascript:alert(1)")
    answers["C1"] = label.AnswerInput(text="Offer", file=b"GIF89a not a pdf")
    with pytest.raises(RuleViolation) as exc:
        label.save_answers(_u(w.manager), application, answers, submit=False, now=NOW)
    assert {v.field for v in exc.value.violations} == {"url_S1", "file_C1"}
    db.session.rollback()
    big = b"%PDF-1.4 " + b"0" * evidence.MAX_BYTES
    with pytest.raises(RuleViolation) as exc:
        evidence.check_pdf(big, "file_C1")
    assert exc.value.field == "file_C1" and "larger than 10 MB" in exc.value.message
    application = label.start_application(_u(w.manager), w.lab, now=NOW)
    answers = _answers(S2="")
    answers["C1"] = label.AnswerInput(text="Offer", url="https://lab.example/offer",
                                      file=demo_pdf("offer"), file_name="offer.pdf")
    label.save_answers(_u(w.manager), application, answers, submit=False, now=NOW)
    db.session.commit()
    stored = label.answers_of(application.id)
    assert stored["S2"].text == "" and stored["C1"].evidence_name == "offer.pdf"
    path = evidence.path_of(current_app.instance_path, stored["C1"].evidence_file)
    assert path.read_bytes() == demo_pdf("offer")


def test_only_the_labs_managers_apply_and_one_application_at_a_time(world):
    w = world
    with pytest.raises(PermissionDenied):
        label.start_application(_u(w.v1), w.lab, now=NOW)
    label.start_application(_u(w.manager), w.lab, now=NOW)
    db.session.commit()
    with pytest.raises(RuleViolation, match="in progress already"):
        label.start_application(_u(w.manager), w.lab, now=NOW)
    # The database holds it too (two managers clicking at once).
    db.session.add(LabelApplication(lab_id=w.lab.id, framework_version="x", created_at=NOW,
                                    updated_at=NOW))
    with pytest.raises(Exception, match=r"(?i)unique"):
        db.session.flush()
    db.session.rollback()


def test_submitting_freezes_the_figures_and_tells_the_verifiers(world):
    w = world
    app_id = _submitted(w)
    application = db.session.get_one(LabelApplication, app_id)
    assert application.status == LabelStatus.SUBMITTED and application.submitted_at == NOW
    assert application.figures["bookings_served"] == 0
    to = set(db.session.scalars(select(OutboxEmail.to_addr)
                                .where(OutboxEmail.kind == "label_submitted")))
    # Every verifier but the one who manages the lab.
    assert to == {w.v1.email, w.v2.email, w.v3.email}
    with pytest.raises(PermissionDenied):  # a submitted application is no draft any more
        label.save_answers(_u(w.manager), application, _answers(), submit=False, now=NOW)


# --- scoring ----------------------------------------------------------------------------------


def test_two_close_scores_award_the_label_as_a_verified_accreditation(world):
    w = world
    app_id = _submitted(w)
    _score(w.v1, app_id, 3, G=0)
    application = db.session.get_one(LabelApplication, app_id)
    assert application.status == LabelStatus.SUBMITTED
    assert application.id in {a.id for a in db.session.scalars(label.verifier_queue(_u(w.v2)))}
    assert application.id not in {a.id for a in db.session.scalars(label.verifier_queue(_u(w.v1)))}
    assert application.id not in {a.id for a in db.session.scalars(
        label.verifier_queue(_u(w.own)))}
    # Scores of 3 and 4 everywhere: agreed 3.5 × 12 = 42, every group 10.5: Gold.
    _score(w.v2, app_id, 4, now=NOW + timedelta(days=3))
    application = db.session.get_one(LabelApplication, app_id)
    assert application.status == LabelStatus.AWARDED and application.level == "gold"
    assert application.result["agreed"]["S1"] == 3.5
    row = db.session.get_one(Accreditation, application.accreditation_id)
    assert (row.scheme_code, row.status, row.level) == (SCHEME_CODE, "verified", "gold")
    assert row.valid_from == date(2026, 3, 5) and row.valid_until == date(2028, 3, 4)
    assert row.verified_by_id == w.v2.id and row.verified_at == NOW + timedelta(days=3)
    mail = db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "label_decided")
                              .order_by(OutboxEmail.to_addr)).all()
    assert [m.to_addr for m in mail] == sorted([w.manager.email, w.own.email])
    assert "Gold" in mail[0].subject
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.like("label.%"))) == 5  # started, submitted, scored ×2, decided


def test_scores_far_apart_need_a_third_verifier_for_those_criteria_only(world):
    w = world
    app_id = _submitted(w)
    _score(w.v1, app_id, 2, S1=4, C2=0)
    _score(w.v2, app_id, 2, S1=1, C2=3)
    application = db.session.get_one(LabelApplication, app_id)
    assert application.status == LabelStatus.THIRD
    assert label.disputed(label.scores_of(app_id)) == ["S1", "C2"]
    third_mail = set(db.session.scalars(select(OutboxEmail.to_addr)
                                        .where(OutboxEmail.kind == "label_third_needed")))
    assert third_mail == {w.v3.email}
    # The first two cannot decide, and neither can the lab's own verifier.
    with pytest.raises(RuleViolation, match="already"):
        label.score_application(_u(w.v1), app_id, {"S1": "2", "C2": "2"}, "", now=NOW)
    db.session.rollback()
    with pytest.raises(RuleViolation, match="You manage this lab"):
        label.score_application(_u(w.own), app_id, {"S1": "2", "C2": "2"}, "", now=NOW)
    db.session.rollback()
    # The third scores only S1 and C2 (others posted are ignored).
    label.score_application(_u(w.v3), app_id, {"S1": "0", "C2": "0", "Q1": "4"}, "Weak.",
                            now=NOW)
    db.session.commit()
    application = db.session.get_one(LabelApplication, app_id)
    third = db.session.scalars(select(LabelScore.criterion).where(
        LabelScore.application_id == app_id, LabelScore.seat == 3)).all()
    assert sorted(third) == ["C2", "S1"]
    # Agreed: 10 criteria at 2 plus two zeros = 20 < Bronze's 24: not awarded, reasons kept.
    assert application.status == LabelStatus.NOT_AWARDED and application.accreditation_id is None
    assert any("Bronze needs a total of 24" in r for r in application.result["reasons"])
    body = db.session.scalar(select(OutboxEmail.body_text).where(
        OutboxEmail.kind == "label_decided"))
    assert "not awarded" in body and "Bronze needs a total of 24" in body


@pytest.mark.parametrize(("value", "message"), [("5", "no score"), ("-1", "no score"),
                                                ("", "Give a score"), ("3.5", "no score"),
                                                ("four", "no score")])
def test_a_score_outside_0_to_4_is_refused_on_its_field(world, value, message):
    w = world
    app_id = _submitted(w)
    given = dict.fromkeys(CODES, "3") | {"T2": value}
    with pytest.raises(RuleViolation) as exc:
        label.score_application(_u(w.v1), app_id, given, "", now=NOW)
    db.session.rollback()
    assert [v.field for v in exc.value.violations] == ["score_T2"]
    assert message in exc.value.message
    assert db.session.scalar(select(func.count()).select_from(LabelScore)) == 0


def test_a_third_score_when_none_is_needed_is_refused(world):
    w = world
    app_id = _submitted(w)
    _score(w.v1, app_id, 2)
    _score(w.v2, app_id, 3)
    assert db.session.get_one(LabelApplication, app_id).status == LabelStatus.AWARDED
    with pytest.raises(RuleViolation, match="decided already"):
        label.score_application(_u(w.v3), app_id, dict.fromkeys(CODES, "1"), "", now=NOW)


def test_the_database_holds_one_verifier_per_seat(world):
    w = world
    app_id = _submitted(w)
    _score(w.v1, app_id, 2)
    db.session.add(LabelScore(application_id=app_id, verifier_id=w.v2.id, seat=1,
                              criterion="S1", score=2, scored_at=NOW))
    with pytest.raises(Exception, match=r"(?i)unique"):
        db.session.flush()
    db.session.rollback()


def test_a_non_verifier_cannot_score(world, make_user):
    w = world
    app_id = _submitted(w)
    with pytest.raises(PermissionDenied):
        label.score_application(_u(make_user()), app_id, dict.fromkeys(CODES, "2"), "",
                                now=NOW)


# --- renewal ----------------------------------------------------------------------------------


def test_a_renewal_takes_over_with_no_gap(world):
    w = world
    first = _submitted(w)
    _score(w.v1, first, 2)
    _score(w.v2, first, 2)
    old = db.session.get_one(Accreditation,
                             db.session.get_one(LabelApplication, first).accreditation_id)
    assert old.level == "bronze"
    later = NOW + timedelta(days=700)
    second = _submitted(w, now=later)
    assert db.session.get_one(LabelApplication, second).renews_id == old.id
    _score(w.v1, second, 3, now=later)
    _score(w.v2, second, 3, now=later)
    new = db.session.get_one(Accreditation,
                             db.session.get_one(LabelApplication, second).accreditation_id)
    old = db.session.get_one(Accreditation, old.id)
    assert new.level == "silver"
    assert old.valid_until == new.valid_from - timedelta(days=1)
    assert label.current_label(w.lab.id, new.valid_from).id == new.id
    # The old label is kept as history, superseded by the renewal (as a renewed external
    # accreditation is), linked from the new one.
    assert (old.status, new.renews_id) == ("superseded", old.id)
    assert label.current_label(w.lab.id, old.valid_until) is None


# --- figures ----------------------------------------------------------------------------------


def test_figures_count_the_last_12_months_with_sme_and_foreign_shares(world, make_org,
                                                                      make_user,
                                                                      make_equipment):
    w = world
    sme_fr = make_org(country="FR")  # a small company
    big_de = make_org(country="DE", size_class="large")
    u_fr, u_de = make_user(organisation=sme_fr), make_user(organisation=big_de)
    eq = make_equipment(w.lab)

    def booking(ref, user, org, status, start):
        db.session.add(Booking(
            reference=ref, equipment_id=eq.id, lab_id=w.lab.id, requester_id=user.id,
            organisation_id=org.id, purpose="x", start_at=start,
            end_at=start + timedelta(hours=2), blocked_start=start, status=status,
            unit="hour", units=2, rate_kind="sme", rate_applied=Decimal(1),
            price_estimate=Decimal(2), currency="EUR", created_at=start, updated_at=start))

    booking("LB-1", u_fr, sme_fr, "completed", NOW - timedelta(days=30))
    booking("LB-2", u_de, big_de, "confirmed", NOW - timedelta(days=60))
    booking("LB-3", u_de, big_de, "rejected", NOW - timedelta(days=10))  # not served
    booking("LB-4", u_fr, sme_fr, "completed", NOW - timedelta(days=400))  # too old
    r = LabRequest(reference="LR-1", kind="service", status="accepted", organisation_id=big_de.id,
                   created_by_id=u_de.id, title="t", summary="s",
                   created_at=NOW - timedelta(days=20), updated_at=NOW)
    db.session.add(r)
    db.session.flush()
    db.session.add(RequestLab(request_id=r.id, lab_id=w.lab.id, answer="accepted",
                              answered_at=NOW - timedelta(days=20) + timedelta(hours=5)))
    db.session.add(Accreditation(lab_id=w.lab.id, scheme_code="iso-9001", status="verified",
                                 valid_from=date(2025, 1, 1), valid_until=date(2027, 1, 1)))
    db.session.add(Accreditation(lab_id=w.lab.id, scheme_code="iso-9001", status="claimed"))
    db.session.commit()
    figures = label_figures.lab_figures(w.lab, now=NOW)
    assert figures["bookings_served"] == 2 and figures["requests_served"] == 1
    assert figures["sme_share"] == pytest.approx(33.3)  # 1 of 3
    assert figures["foreign_share"] == pytest.approx(33.3)
    assert 4 <= figures["median_response_hours"] <= 8
    assert figures["verified_accreditations"] == 1
    assert figures["network_memberships"] == 0
    assert label_figures.display("sme_share", figures) == "33.3 %"
