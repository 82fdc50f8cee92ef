"""services.catalogue.labs.creation and picker called directly, with an explicit actor and
``now``: who may propose, decide and create; each refusal names its field and writes
nothing; decisions are audited and mailed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import AuditEvent, Lab, LabManager, LabProposal, OutboxEmail, User
from labnet.services.catalogue.labs import creation, picker
from labnet.services.catalogue.labs.profile import LabProfile

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLACED = LabProfile(name="Test Bench", kind_code="rto", country="DE", city="Aachen",
                    timezone="Europe/Berlin", lat=50.77, lon=6.08)


def _user(user) -> User:
    return db.session.get(User, user.id)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def uni(make_org, make_user):
    class Uni:
        pass

    u = Uni()
    u.org = make_org(kind="university", size_class=None, name="Test University")
    u.admin = make_user(organisation=u.org, org_role="admin")
    u.member = make_user(organisation=u.org)
    u.pending = make_user(organisation=u.org, membership="pending")
    return u


def test_only_confirmed_members_of_lab_side_organisations_propose(ctx, uni, people):
    for actor in (None, _user(people.member), _user(uni.pending), _user(people.admin)):
        with pytest.raises(PermissionDenied):
            creation.propose_lab(actor, PLACED, now=NOW)
    assert _count(Lab) == 3 and _count(LabProposal) == 0  # the cast's labs only


def test_a_proposal_is_decided_once_audited_and_mailed(ctx, uni):
    proposal = creation.propose_lab(_user(uni.member), PLACED, now=NOW)
    assert [m.to_addr for m in db.session.scalars(select(OutboxEmail))] == [uni.admin.email]
    with pytest.raises(PermissionDenied):
        creation.approve_proposal(_user(uni.member), proposal, now=NOW)
    lab = creation.approve_proposal(_user(uni.admin), proposal, now=NOW)
    assert db.session.get(LabManager, (lab.id, uni.member.id)).granted_by_id == uni.admin.id
    assert not lab.is_published
    with pytest.raises(RuleViolation) as again:
        creation.decline_proposal(_user(uni.admin), proposal, "late", now=NOW)
    assert again.value.code == 409 and "already approved" in again.value.message
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    # Approving makes the manager through the one act (team.add_manager), the lab's first.
    assert actions == ["lab.proposed", "lab.manager_added", "lab.first_manager",
                       "lab.proposal_approved"]
    assert _count(OutboxEmail) == 2  # the request to decide, and the answer


def test_a_decline_needs_a_short_reason(ctx, uni):
    proposal = creation.propose_lab(_user(uni.member), PLACED, now=NOW)
    with pytest.raises(RuleViolation) as long:
        creation.decline_proposal(_user(uni.admin), proposal, "x" * 2001, now=NOW)
    assert long.value.field == "reason" and "2,000" in long.value.message


def test_reviewers_are_the_organisation_admins_else_labnet_admins(ctx, uni, make_org,
                                                                    make_user):
    assert [u.id for u in creation.proposal_reviewers(uni.org.id)] == [uni.admin.id]
    lonely = make_org(kind="cluster", size_class=None)
    admin = make_user(roles=("admin",))
    assert [u.id for u in creation.proposal_reviewers(lonely.id)] == [admin.id]


def test_only_admins_and_coordinators_create_listed_labs(ctx, people):
    choice = creation.OrganisationChoice(name="Lab Owner Institute")
    with pytest.raises(PermissionDenied):
        creation.create_listed_lab(_user(people.manager), choice, PLACED, now=NOW)
    lab = creation.create_listed_lab(_user(people.coordinator), choice, PLACED, now=NOW)
    assert lab.organisation_id == people.lab.organisation_id
    assert _count(LabManager) == 3  # the cast's own managers only: the new lab has none


def test_a_new_organisation_follows_the_accounts_rules(ctx, people):
    coordinator = _user(people.coordinator)
    for choice, field in (
        (creation.OrganisationChoice(name="X Institute", new=True, kind="company",
                                     country="DE"), "org_kind"),
        (creation.OrganisationChoice(name="X Institute", new=True, kind="rto",
                                     country="Atlantis"), "org_country"),
        (creation.OrganisationChoice(name="small co", new=True, kind="rto", country="DE"),
         "organisation"),  # taken, whatever the capitals
        (creation.OrganisationChoice(name=" ", new=True, kind="rto", country="DE"),
         "organisation"),
    ):
        with pytest.raises(RuleViolation) as refused:
            creation.create_listed_lab(coordinator, choice, PLACED, now=NOW)
        assert field in {v.field for v in refused.value.violations}
        db.session.rollback()


def test_address_names_are_unique_and_never_a_page(ctx, people):
    coordinator = _user(people.coordinator)
    choice = creation.OrganisationChoice(name="Lab Owner Institute")
    first = creation.create_listed_lab(coordinator, choice, PLACED, now=NOW)
    second = creation.create_listed_lab(coordinator, choice, PLACED, now=NOW)
    assert (first.slug, second.slug) == ("test-bench", "test-bench-2")
    assert creation.lab_slug("New") == "new-2"


def test_the_picker_resolves_names_and_address_names(ctx, people):
    assert picker.resolve_lab(people.lab.slug).id == people.lab.id
    assert picker.resolve_lab("  matrix   LAB ").id == people.lab.id
    with pytest.raises(RuleViolation) as draft:
        picker.resolve_lab("Draft Lab", field="add_lab")
    assert draft.value.field == "add_lab"
    assert picker.resolve_lab("Draft Lab", listed_only=False).id == people.draft.id
    with pytest.raises(RuleViolation) as empty:
        picker.resolve_lab("   ")
    assert "Enter the lab's name" in empty.value.message


def _mails(kind: str) -> list[str]:
    return sorted(db.session.scalars(select(OutboxEmail.to_addr)
                                     .where(OutboxEmail.kind == kind)))


def test_an_undecided_proposal_reminds_its_reviewers_once_then_asks_labnets_admins(
        ctx, uni, make_user):
    labnet_admin = make_user(roles=("admin",))
    proposal = creation.propose_lab(_user(uni.member), PLACED, now=NOW)
    day = timedelta(days=1)
    assert creation.remind_pending_proposals(now=NOW + 2 * day) == {
        "reminded": 0, "escalated": 0}
    # Day 3: the organisation's admin is reminded, once however often the job runs.
    for _ in range(2):
        creation.remind_pending_proposals(now=NOW + 3 * day)
    assert _mails("lab_proposal_reminder") == [uni.admin.email]
    # Day 7: LabNet's admins are asked too, once.
    for _ in range(2):
        creation.remind_pending_proposals(now=NOW + 8 * day)
    assert _mails("lab_proposal_reminder") == sorted([uni.admin.email, labnet_admin.email])
    body = db.session.scalar(select(OutboxEmail.body_text).where(
        OutboxEmail.to_addr == labnet_admin.email))
    assert "have not answered" in body and f"/manage/proposals/{proposal.id}" in body
    # A decided proposal is never reminded.
    decided = creation.propose_lab(_user(uni.member), PLACED, now=NOW)
    creation.approve_proposal(_user(uni.admin), decided, now=NOW)
    assert creation.remind_pending_proposals(now=NOW + 30 * day) == {
        "reminded": 0, "escalated": 0}


def test_a_proposal_labnets_admins_review_from_the_start_is_not_escalated_to_them_again(
        ctx, make_org, make_user):
    lonely = make_org(kind="cluster", size_class=None)
    member = make_user(organisation=lonely)
    admin = make_user(roles=("admin",))
    creation.propose_lab(_user(member), PLACED, now=NOW)
    assert creation.remind_pending_proposals(now=NOW + timedelta(days=8)) == {
        "reminded": 1, "escalated": 0}
    assert _mails("lab_proposal_reminder") == [admin.email]
