"""DESIGN rule 8, "every e-mail leads somewhere": one walk through the app sends every kind
of e-mail it has a template for, and each message greets its reader (by the account's name,
or neutrally for an address without one), links to a page of the app about what it says,
and ends with why the reader receives it (never the generic fallback)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from labnet import security
from labnet.extensions import db
from labnet.models import Lab, Organisation, OutboxEmail, Role, User
from labnet.services.accounts import administration, joins
from labnet.services.accounts import rules as accounts
from labnet.services.accreditation import claims as acc_claims
from labnet.services.accreditation import label
from labnet.services.accreditation import reminders as acc_reminders
from labnet.services.accreditation.label_framework import framework
from labnet.services.analytics.digest import send_coordinator_digest
from labnet.services.booking import engine, reminders, sme_proof
from labnet.services.catalogue.labs import claims, contact, creation, invitations, watch
from labnet.services.catalogue.labs.profile import LabProfile
from labnet.services.meetings import rules as meet
from labnet.services.meetings.slots import parse_slot
from labnet.services.networks import rules as nw
from labnet.services.notifications.outbox import DEFAULT_WHY, send_digests
from labnet.services.requests import workflow
from tests.fixtures.berlin import APPROVING, NOW, SPLIT_DAY, berlin
from tests.fixtures.meetings import SLOT1, make_event
from tests.fixtures.meetings import register as register_for_event

TEMPLATES = Path(__file__).parents[2] / "labnet" / "templates" / "email"
# Every e-mail kind: a template pair whose name is no partial (``_…``, ``…_facts``).
KINDS = sorted(p.stem for p in TEMPLATES.glob("*.txt")
               if not p.stem.startswith("_") and not p.stem.endswith("_facts"))
H = timedelta(hours=1)
TERMS = "2026-12-03"
# A link to a page of the app (the notification settings link does not count: it is
# about the mail, not about what the mail says).
APP_LINK = re.compile(r"http://labnet\.test/(?!account/notifications)\S+")


def _u(user_id: int) -> User:
    return db.session.get_one(User, user_id)


def _walk(make_org, make_user, make_lab, make_equipment) -> dict[str, str]:
    """Everything that sends mail, once (services called as the views and jobs do).
    Returns the names of the accounts the walk deletes, by address (they were greeted
    by name while they existed)."""
    lab = make_lab(**APPROVING, hours=SPLIT_DAY, hold_hours=48, name="Walk Lab")
    sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4)
    contact_lab = make_lab(name="Contact Lab", contact_email="info@contact.example")
    manager = make_user(manages=(lab,), full_name="Max Manager")
    member_id = make_user(organisation=make_org(kind="company", size_class="small"),
                          full_name="Mia Member").id
    coordinator_id = make_user(roles=(Role.COORDINATOR,), full_name="Cora Coordinator").id
    researcher_id = make_user(organisation=make_org(kind="rto", size_class=None),
                              full_name="Rita Researcher").id
    m = lambda: _u(member_id)  # noqa: E731 - the member, fresh after each commit
    boss = lambda: _u(manager.id)  # noqa: E731

    def book(day: int, hour: int, hours: int = 2) -> int:
        b = engine.request_booking(m(), sem.id, berlin(2026, 3, day, hour),
                                   berlin(2026, 3, day, hour + hours), "Imaging", now=NOW)
        db.session.commit()
        return b.id

    # Bookings: requested + received, confirmed, rejected, cancelled, shortened, blackout,
    # reminder, hold warning, expired, no-show.
    first = book(11, 9)
    engine.approve_booking(boss(), first, now=NOW)
    engine.reject_booking(boss(), book(11, 13), "Busy", now=NOW)
    engine.cancel_booking(m(), book(12, 9), "", now=NOW)
    engine.shorten_booking(boss(), first, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 10),
                           now=NOW)
    kept = book(13, 9)
    engine.approve_booking(boss(), kept, now=NOW)
    engine.add_blackout(boss(), lab.id, None, berlin(2026, 3, 13, 8), berlin(2026, 3, 13, 12),
                        "Service visit", now=NOW, affected_action="keep")
    db.session.commit()
    reminders.send_reminders(now=berlin(2026, 3, 9, 10))  # reminds the 11th
    db.session.commit()
    held = book(20, 9)
    hold_until = engine.get_booking(held).hold_until
    reminders.send_reminders(now=hold_until - 11 * H)
    db.session.commit()
    engine.expire_holds(now=hold_until + H)
    db.session.commit()
    engine.mark_no_show(boss(), first, now=berlin(2026, 3, 11, 11))
    db.session.commit()

    # Requests: new, message, status, to a lab's public address, unanswered.
    req = workflow.create_request(m(), workflow.NewRequest(
        kind="service", lab_ids=[lab.id], title="Tensile tests", summary="12 samples",
        quantity="12", deadline=(NOW + 30 * 24 * H).date()), now=NOW)
    db.session.commit()
    workflow.post_message(boss(), req.id, "Which standard?", now=NOW)
    workflow.answer(boss(), req.id, lab.id, True, "Yes", now=NOW)
    db.session.commit()
    to_contact = workflow.create_request(m(), workflow.NewRequest(
        kind="access", lab_ids=[contact_lab.id], title="Clean room", summary="Two days"),
        now=NOW)
    db.session.commit()
    workflow.post_message(m(), to_contact.id, "Could it be in April?", now=NOW)
    db.session.commit()
    workflow.tell_unanswered_requesters(now=NOW + 8 * 24 * H)
    db.session.commit()

    # Networks: invitation, to a public address, answer, end.
    network = nw.create_network(_u(coordinator_id), nw.NetworkFields(
        name="Walk chain", ket_code="AMN", ecosystem="energy-renewables"), now=NOW)
    stage = nw.add_stage(_u(coordinator_id), network, nw.StageFields(
        name="Testing", ket_codes=(), category_codes=(), keywords=""), now=NOW)
    member = nw.invite(_u(coordinator_id), network, stage.id, lab.slug, "Join", now=NOW)
    nw.invite(_u(coordinator_id), network, stage.id, contact_lab.slug, "Join", now=NOW)
    nw.answer_invitation(boss(), member.id, True, "", now=NOW)
    nw.leave_network(boss(), member.id, now=NOW)
    db.session.commit()

    # "Tell me when": the first manager of the contact lab.
    watch.watch_lab(m(), db.session.get_one(Lab, contact_lab.id), now=NOW)
    accounts.grant_role(None, _u(researcher_id), Role.LAB_MANAGER,
                        lab=db.session.get_one(Lab, contact_lab.id), now=NOW)
    db.session.commit()

    # Accounts: confirmation, a second registration, reset, join request and decision.
    org = make_org(name="Acme Instruments", email_domain="acme.example")
    make_user(organisation=org, email="founder@acme.example", org_role="admin",
              full_name="Fay Founder")

    def ask_to_join(email: str, full_name: str) -> User:
        joiner = accounts.register_member(
            email=email, full_name=full_name, password="a long pass phrase 42",
            join_existing=True, organisation_name="Acme Instruments", new_org=None,
            terms_version=TERMS, now=NOW)
        db.session.commit()
        accounts.confirm_email(security.make_token(accounts.CONFIRM_SALT,
                                                   {"u": joiner.id, "e": joiner.email}),
                               now=NOW)
        db.session.commit()
        return joiner

    joiner = ask_to_join("ann@gmail.com", "Ann Joiner")
    founder = db.session.scalar(select(User).where(User.email == "founder@acme.example"))
    accounts.approve_member(founder, joiner.id, now=NOW)
    db.session.commit()
    accounts.register_member(
        email="ann@gmail.com", full_name="Ann Again", password="a long pass phrase 42",
        join_existing=False, organisation_name="Ann Co",
        new_org=accounts.NewOrganisation(name="Ann Co", kind="company", size_class="micro",
                                         country="DE"), terms_version=TERMS, now=NOW)
    accounts.request_password_reset("ann@gmail.com", now=NOW)
    db.session.commit()

    # Digests: the member's daily digest, the coordinators' weekly one.
    accounts.set_mail_mode(m(), "digest", now=NOW)
    engine.cancel_booking(boss(), kept, "Machine broken", now=NOW)
    db.session.commit()
    send_digests(now=NOW + 24 * H)
    send_coordinator_digest(now=NOW + 7 * 24 * H)
    db.session.commit()

    # Lab claims and teams: a proof link to a new account, an approval asked of the
    # admins (no network coordinates the lab) and declined, an invitation to the team.
    admin_id = make_user(roles=(Role.ADMIN,), full_name="Ada Admin").id
    admin = lambda: _u(admin_id)  # noqa: E731
    claim_lab = make_lab(name="Claim Lab", website="https://www.claim.example")
    claims.register_and_claim(db.session.get_one(Lab, claim_lab.id),
                              email="cleo@claim.example", full_name="Cleo Claimer",
                              password="a long pass phrase 42", terms_version=TERMS, now=NOW)
    asked = claims.ask_approval(m(), db.session.get_one(Lab, claim_lab.id), "I run it.",
                                now=NOW)
    db.session.commit()
    claims.decide_claim(admin(), asked.id, False, "Not convinced", now=NOW)
    invitations.invite_manager(boss(), db.session.get_one(Lab, lab.id), "nina@walk.example",
                               "Welcome", handover=False, now=NOW)
    db.session.commit()

    # A message to a lab; proof of a self-declared SME class asked on a booking.
    contact.send_contact_message(m(), db.session.get_one(Lab, lab.id), "Tensile tests",
                                 "Could you test twelve samples in May?", now=NOW)
    sme_proof.ask_for_sme_proof(boss(), first, now=NOW)
    db.session.commit()

    # A lab proposed by a member of an organisation without admins, declined by LabNet's.
    proposal = creation.propose_lab(_u(researcher_id), LabProfile(
        name="Walk Bench", kind_code="rto", country="DE", city="Aachen",
        timezone="Europe/Berlin", lat=50.77, lon=6.08), now=NOW)
    db.session.commit()
    creation.remind_pending_proposals(now=NOW + 3 * 24 * H)  # nobody decided in 3 days
    db.session.commit()
    creation.decline_proposal(admin(), proposal, "It is the Walk Lab.", now=NOW)
    db.session.commit()

    # Administration: a member moved; a join request reminded, then expired.
    administration.move_user(admin(), _u(make_user(full_name="Moe Mover").id),
                            db.session.get_one(Organisation, org.id), now=NOW)
    ask_to_join("bob@gmail.com", "Bob Waiting")
    joins.remind_and_expire_join_requests(now=NOW + 3 * 24 * H)
    db.session.commit()
    joins.remind_and_expire_join_requests(now=NOW + 14 * 24 * H)
    db.session.commit()

    # Accreditations: a claim (to verifiers), a question and its answer, the decision; the
    # daily job's reminder before the end, the expiry, a claim left waiting.
    _accreditation_walk(make_user, boss, db.session.get_one(Lab, lab.id),
                        current_app.instance_path)
    # The excellence label: submitted (verifiers told), scores far apart (a third verifier
    # told), decided by the third (the lab's managers told).
    label_lab = make_lab(name="Label Lab")
    label_boss = make_user(manages=(label_lab,), full_name="Lena Label").id
    verifiers = [make_user(roles=(Role.VERIFIER,), full_name=f"Vera {n}").id
                 for n in ("One", "Two", "Three")]
    application = label.start_application(_u(label_boss), db.session.get_one(Lab, label_lab.id),
                                          now=NOW)
    label.save_answers(_u(label_boss), application,
                       {c: label.AnswerInput(text="Our answer") for c in framework().codes},
                       submit=True, now=NOW)
    db.session.commit()
    for verifier, score in zip(verifiers, ("4", "1", "3"), strict=True):
        label.score_application(_u(verifier), application.id,
                                dict.fromkeys(framework().codes, score), "", now=NOW)
        db.session.commit()
    # Meetings at an event: asked for, answered, called off.
    event = make_event(lab.id, slug="walk-meet")
    db.session.commit()
    for person in (m(), _u(researcher_id)):
        register_for_event(event.id, person.id)
        meet.save_profile(_u(person.id), event, meet.ProfileFields(offer="Tests"), now=NOW)
    asked = meet.request_meeting(m(), event, researcher_id, parse_slot(SLOT1), "Coffee?",
                                 now=NOW)
    meet.answer_meeting(_u(researcher_id), event, asked.id, True, "Yes", now=NOW)
    meet.take_back_meeting(m(), event, asked.id, now=NOW)
    db.session.commit()
    return {"bob@gmail.com": "Bob Waiting"}


def _accreditation_walk(make_user, boss, lab: Lab, instance: str) -> None:
    verifier_id = make_user(roles=(Role.VERIFIER,), full_name="Vera Verifier").id
    today = NOW.date()
    item = acc_claims.ClaimInput(scheme_code="iso-9001", certificate_no="Q-1",
                                 issuer="TÜV Walk", valid_from=today,
                                 evidence_url="https://register.example/q-1")
    acc = acc_claims.create_claim(boss(), lab, item, now=NOW, instance_path=instance,
                                  today=today)
    q = acc_claims.ask(_u(verifier_id), acc, "Which sites?", now=NOW)
    acc_claims.answer(boss(), acc, q.id, "Aachen only.", now=NOW)
    acc_claims.decide(_u(verifier_id), acc, "verify", seen_version=acc.version, reason="",
                      now=NOW)
    db.session.commit()
    acc.valid_until = today + timedelta(days=20)
    db.session.commit()
    acc_reminders.run_daily(now=NOW)
    acc_reminders.run_daily(now=NOW + 22 * 24 * H)
    acc_claims.create_claim(boss(), lab, item, now=NOW, instance_path=instance, today=today)
    acc_reminders.run_daily(now=NOW + 10 * 24 * H)
    db.session.commit()


def _walk_training(make_user, make_lab, make_course) -> None:
    """Registration, the waiting list, reminders, messages, certificates, qualifications."""
    from labnet.models.events import Event
    from labnet.models.training import Qualification
    from labnet.services.training import attendance, qualifications
    from labnet.services.training import registration as reg

    lab = make_lab(name="Course Lab")
    boss_id = make_user(manages=(lab,), full_name="Cole Course").id
    boss = lambda: _u(boss_id)  # noqa: E731
    course = make_course(lab, [(berlin(2026, 3, 10, 9), berlin(2026, 3, 10, 12))], capacity=1,
                         title="Walk course")
    a, b, c = (make_user(full_name=f"Trainee {n}").id for n in "ABC")
    first = reg.register(_u(a), course.id, {}, now=NOW)
    second = reg.register(_u(b), course.id, {}, now=NOW)
    reg.register(_u(c), course.id, {}, now=NOW)
    db.session.commit()
    reg.cancel_registration(_u(a), first.id, now=NOW)  # offered to B
    db.session.commit()
    reg.hand_on_offers(now=NOW + 49 * H)  # B's offer lapses, C is offered
    db.session.commit()
    third = db.session.scalar(select(reg.Registration).where(
        reg.Registration.user_id == c, reg.Registration.status == "offered"))
    reg.accept_offer(_u(c), third.id, now=NOW + 50 * H)
    reg.send_event_reminders(now=berlin(2026, 3, 9, 10))
    reg.message_participants(boss(), course.id, "Bring your samples", "Up to 5 each.",
                             now=NOW + 50 * H)
    db.session.commit()
    q = Qualification(lab_id=lab.id, name="SEM operation", validity_months=24, created_at=NOW)
    db.session.add(q)
    db.session.commit()
    qualifications.set_event_grants(boss(), course.id, [q.id], now=NOW)
    session = attendance.list_sessions(course.id)[0]
    attendance.mark_attendance(boss(), course.id, third.id, session.id, True, now=NOW)
    attendance.issue_certificates(boss(), course.id, now=NOW)
    db.session.commit()
    grant = db.session.scalar(select(qualifications.QualificationGrant))
    qualifications.revoke_grant(boss(), grant.id, "Incident", now=NOW)
    reg.tell_event_cancelled(db.session.get_one(Event, course.id), now=NOW)
    db.session.commit()
    del second


def test_every_kind_of_email_greets_links_and_says_why(ctx, frozen_clock, make_org, make_user,
                                                        make_lab,
                                                        make_equipment, make_course):
    gone = _walk(make_org, make_user, make_lab, make_equipment)
    _walk_training(make_user, make_lab, make_course)
    rows = list(db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))
    names = {**gone, **dict(db.session.execute(select(User.email, User.full_name)).all())}
    sent = {row.kind for row in rows}
    assert sorted(sent) == KINDS, f"kinds not sent by the walk: {set(KINDS) - sent}"
    for row in rows:
        text, html = row.body_text, row.body_html
        name = names.get(row.to_addr)
        greeting = f"Hello {name}," if name else "Hello,"
        assert text.startswith(greeting + "\n"), (row.kind, row.to_addr, text[:80])
        assert f"<p>{greeting}</p>" in html, row.kind
        assert APP_LINK.search(text), (row.kind, "no link to a page of the app")
        assert re.search(r'href="http://labnet\.test/(?!account/notifications)', html), row.kind
        assert "You receive this" in text and "You receive this" in html, row.kind
        assert str(DEFAULT_WHY) not in text, (row.kind, "says no reason of its own")
