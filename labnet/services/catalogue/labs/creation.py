"""Labs join the platform: a member proposes a lab of their organisation, someone who may
decide approves or declines it, and admins and network coordinators create labs that their
people claim later ("listed" labs, without a manager).

Rules owned here (DESIGN rule 10, "every lab can join"; with rules 5, 6 and 8):

- one function makes a lab (:func:`build_lab`), for the proposal form, the admins' and
  coordinators' form, ``flask labnet labs create`` and the CSV import alike: the profile's
  rules and messages are those of ``profile`` (not copied), the address is placed through
  the geocoding service (coordinates typed by hand win), the address name (slug) is unique,
  and a new lab is always a draft or, when made by an admin or coordinator, published;
- labs belong to lab-side organisations (:data:`permissions.LAB_SIDE_KINDS`: research or
  technology organisations, universities, clusters, KIBS providers, public bodies), never
  to companies, which are the demand side;
- a confirmed member of a lab-side organisation proposes labs of their own organisation
  only; the lab is a draft, invisible in the catalogue, until decided;
- who decides (:func:`proposal_reviewers`): the organisation's admins; a proposer who is one
  needs nobody's approval; an organisation without admins is decided by LabNet admins, who
  may decide any proposal. Every pending proposal is mailed to whoever decides it, with a
  link to the approval page ("nothing goes to nobody");
- approving makes the proposer the lab's manager (they publish it from the edit page);
  declining needs a reason, which the proposer receives; the draft lab is removed and the
  proposal row keeps the name and the reason;
- admins and coordinators create labs of an existing lab-side organisation or of a new one
  (the accounts service's organisation rules); such labs have no manager.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from labnet import permissions
from labnet.errors import RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, _l, number
from labnet.models import (
    Lab,
    LabKet,
    LabProposal,
    Organisation,
    OrgKind,
    ProposalStatus,
    User,
)
from labnet.models.organisation import ORG_KIND_LABELS
from labnet.permissions import (
    LAB_SIDE_KINDS,
    can_create_labs,
    can_decide_proposal,
    can_propose_lab,
    require,
)
from labnet.services.accounts.rules import (
    NewOrganisation,
    create_organisation,
    organisation_admins,
    platform_admins,
    slugify,
)
from labnet.services.catalogue.labs import team
from labnet.services.catalogue.labs._checks import MULTI_LINE_FIELDS
from labnet.services.catalogue.labs.profile import (
    NOT_FOUND_MESSAGE,
    LabProfile,
    _profile_problems,
)
from labnet.services.common import audit
from labnet.services.geo import geocoding as geo
from labnet.services.notifications.outbox import enqueue_email

MAX_REASON = 2000
# LabProfile fields that are no column of their own.
_NOT_COLUMNS = ("ket_codes", "lat", "lon", "relocate")
# Words that are pages, not labs, under /labs/ and /manage/labs/.
RESERVED_SLUGS = frozenset({"new", "propose", "create", "suggest", "import", "template"})
LAB_SIDE_WORDS = _l("research or technology organisations, universities, cluster "
                     "organisations, KIBS providers and public bodies")


# ---------------------------------------------------------------------------------------
# One way to make a lab


def lab_slug(name: str, taken: Collection[str] = ()) -> str:
    """A free address name for a lab called ``name`` (``fraunhofer-ipt``, ``…-2``).
    ``taken`` adds names reserved by the same operation (an import's earlier rows)."""
    base = slugify(name) or "lab"
    slug, n = base, 1
    while (slug in RESERVED_SLUGS or slug in taken
           or db.session.scalar(select(Lab.id).where(Lab.slug == slug))):
        n += 1
        slug = f"{base}-{n}"
    return slug


def organisation_problem(organisation: Organisation, field: str = "organisation"
                         ) -> RuleViolation | None:
    """The refusal when ``organisation`` may not have labs (a company), else ``None``."""
    if organisation.kind in LAB_SIDE_KINDS:
        return None
    if organisation.kind == OrgKind.COMPANY:
        return RuleViolation(field, _("%(name)s is a company: labs belong to %(kinds)s.",
                                      name=organisation.name, kinds=LAB_SIDE_WORDS))
    return RuleViolation(field, _("%(name)s is a %(kind)s: labs belong to %(kinds)s.",
                                  name=organisation.name,
                                  kind=str(ORG_KIND_LABELS[OrgKind(organisation.kind)]).lower(),
                                  kinds=LAB_SIDE_WORDS))


def build_lab(organisation: Organisation, profile: LabProfile, *, now: datetime,
              taken_slugs: Collection[str] = (), extra: list[RuleViolation] | None = None
              ) -> Lab:
    """Make a lab of ``organisation`` from ``profile`` and place it: the one way a lab is
    created. Published or draft as the profile says; the booking policy at its defaults
    unless the profile sets it.
    No permission check: the public functions below decide who may call it.

    :raises RuleViolations: every wrong field of the profile at once (with ``extra``,
        refusals the caller found on its own fields), nothing written.
    :raises RuleViolation: on ``lat`` when no place is found for the address and no
        coordinates were typed (:data:`NOT_FOUND_MESSAGE`).
    """
    problems = [*(extra or []), *_profile_problems(profile)]
    wrong_org = organisation_problem(organisation)
    if wrong_org is not None:
        problems.append(wrong_org)
    raise_all(problems)
    # The profile's fields are the lab's columns (as update_lab_profile saves them): one-line
    # text stripped, unset policy numbers left to the column defaults.
    values = {f.name: getattr(profile, f.name) for f in fields(LabProfile)
              if f.name not in _NOT_COLUMNS and getattr(profile, f.name) is not None}
    values = {name: v.strip() if isinstance(v, str) and name not in MULTI_LINE_FIELDS else v
              for name, v in values.items()}
    lab = Lab(organisation_id=organisation.id, slug=lab_slug(profile.name, taken_slugs),
              ket_links=[LabKet(ket_code=c) for c in dict.fromkeys(profile.ket_codes)],
              **values)
    db.session.add(lab)
    if profile.lat is not None and profile.lon is not None:
        geo.set_manual_coordinates(lab, profile.lat, profile.lon)
    elif geo.locate_lab(lab, now=now).status == "not_found":
        db.session.expunge(lab)  # nothing of a refused lab stays in the session
        raise RuleViolation("lat", str(NOT_FOUND_MESSAGE))
    db.session.flush()
    return lab


# ---------------------------------------------------------------------------------------
# Proposals by members


def proposal_reviewers(organisation_id: int) -> list[User]:
    """Who decides the organisation's proposals: its active organisation admins, or, when
    it has none, LabNet's admins (so a proposal always reaches someone, DESIGN rule 8)."""
    return organisation_admins(organisation_id) or platform_admins()


def reviewers_words(actor: Any) -> str:
    """Who will review ``actor``'s proposal, as the form says it."""
    if not isinstance(actor, User):
        return ""
    if actor.is_org_admin:
        return _("You are an admin of your organisation: the lab is created at once, as a "
                 "draft that you manage and publish when ready.")
    admins = organisation_admins(actor.organisation_id)
    if admins:
        names = ", ".join(a.full_name for a in admins[:3]) + (" …" if len(admins) > 3 else "")
        return _("An admin of %(organisation)s (%(names)s) reviews your proposal; you "
                 "become the lab's manager once it is approved.",
                 organisation=actor.organisation.name, names=names)
    return _("%(organisation)s has no organisation admin on LabNet, so LabNet's admins review "
             "your proposal; you become the lab's manager once it is approved.",
             organisation=actor.organisation.name)


def propose_lab(actor: Any, profile: LabProfile, *, now: datetime) -> LabProposal:
    """Propose a new lab of the actor's own organisation: a draft lab and a pending
    proposal, mailed to :func:`proposal_reviewers`. An organisation admin's proposal is
    approved at once (they manage the new draft). DESIGN rules 5, 6, 8 and 10.

    :raises PermissionDenied: unless the actor is a confirmed member of a lab-side
        organisation (not a company).
    :raises RuleViolations: the profile's refusals, on their fields; nothing written.
    """
    require(can_propose_lab, actor)
    lab = build_lab(actor.organisation, replace(profile, is_published=False), now=now)
    proposal = LabProposal(lab_id=lab.id, organisation_id=actor.organisation_id,
                           proposed_by_id=actor.id, lab_name=lab.name,
                           status=ProposalStatus.PENDING, created_at=now, updated_at=now)
    db.session.add(proposal)
    db.session.flush()
    audit.record(actor, "lab.proposed", "lab", lab.id, now=now, proposal_id=proposal.id,
                 organisation_id=actor.organisation_id)
    if actor.is_org_admin:
        _approve(actor, proposal, lab, now=now, tell=False)
        return proposal
    for reviewer in proposal_reviewers(actor.organisation_id):
        enqueue_email(
            "lab_proposed", reviewer.email,
            _l("%(name)s proposes the lab “%(lab)s” on LabNet", name=actor.full_name,
               lab=lab.name),
            {"reviewer": reviewer, "proposal": proposal, "lab": lab, "proposer": actor,
             "organisation": actor.organisation,
             "as_platform_admin": reviewer.organisation_id != actor.organisation_id},
            now=now, action_required=True,
            why=_l("You receive this as a LabNet admin because %(organisation)s has no "
                   "organisation admin to decide it.", organisation=actor.organisation.name)
            if reviewer.organisation_id != actor.organisation_id else
            _l("You receive this because you are an organisation admin of %(organisation)s.",
               organisation=actor.organisation.name))
    db.session.flush()
    return proposal


PROPOSAL_REMIND_AFTER = timedelta(days=3)
PROPOSAL_ESCALATE_AFTER = timedelta(days=7)
_REMIND_BATCH = 200


def remind_pending_proposals(*, now: datetime) -> dict[str, int]:
    """The job (DESIGN rule 8: what happens when nobody answers): a proposal still pending
    after :data:`PROPOSAL_REMIND_AFTER` reminds its reviewers once; after
    :data:`PROPOSAL_ESCALATE_AFTER` LabNet's admins, who may decide every proposal, are
    asked once too (when they were not the reviewers already). Returns the counts."""
    pending = (select(LabProposal).where(LabProposal.status == ProposalStatus.PENDING)
               .order_by(LabProposal.id).limit(_REMIND_BATCH))
    reminded = escalated = 0
    for proposal in db.session.scalars(pending.where(
            LabProposal.created_at <= now - PROPOSAL_REMIND_AFTER,
            LabProposal.reminded_at.is_(None))):
        _remind(proposal, proposal_reviewers(proposal.organisation_id), now=now,
                escalated=False)
        proposal.reminded_at = now
        reminded += 1
    for proposal in db.session.scalars(pending.where(
            LabProposal.created_at <= now - PROPOSAL_ESCALATE_AFTER,
            LabProposal.escalated_at.is_(None))):
        proposal.escalated_at = now
        if not organisation_admins(proposal.organisation_id):
            continue  # the platform admins were its reviewers from the start
        _remind(proposal, platform_admins(), now=now, escalated=True)
        escalated += 1
    db.session.flush()
    return {"reminded": reminded, "escalated": escalated}


def _remind(proposal: LabProposal, reviewers: list[User], *, now: datetime,
            escalated: bool) -> None:
    organisation = proposal.organisation
    platform = escalated or not organisation_admins(proposal.organisation_id)
    for reviewer in reviewers:
        enqueue_email(
            "lab_proposal_reminder", reviewer.email,
            _l("Reminder: the lab “%(lab)s” waits for a decision on LabNet",
               lab=proposal.lab_name),
            {"reviewer": reviewer, "proposal": proposal, "organisation": organisation,
             "days": (now - proposal.created_at).days, "escalated": escalated},
            now=now, action_required=True,
            why=(_l("You receive this as a LabNet admin because nobody at %(organisation)s "
                    "has decided this proposal in %(days)s days.",
                    organisation=organisation.name, days=PROPOSAL_ESCALATE_AFTER.days)
                 if escalated else
                 _l("You receive this as a LabNet admin because %(organisation)s has no "
                    "organisation admin to decide it.", organisation=organisation.name)
                 if platform else
                 _l("You receive this because you are an organisation admin of "
                    "%(organisation)s.", organisation=organisation.name)))
    audit.record(None, "lab.proposal_escalated" if escalated else "lab.proposal_reminded",
                 "lab_proposal", proposal.id, now=now, reviewers=len(reviewers))


def list_proposals_to_decide(actor: Any) -> Select[tuple[LabProposal]]:
    """Pending proposals the actor decides, oldest first: their organisation's for an
    organisation admin, every one for LabNet admins (who thus see those nobody else can
    decide), none for anyone else."""
    stmt = (select(LabProposal).options(selectinload(LabProposal.lab))
            .where(LabProposal.status == ProposalStatus.PENDING)
            .order_by(LabProposal.created_at, LabProposal.id))
    if permissions.is_admin(actor):
        return stmt
    if isinstance(actor, User) and actor.is_org_admin and permissions.is_member(actor):
        return stmt.where(LabProposal.organisation_id == actor.organisation_id)
    return stmt.where(LabProposal.id.is_(None))


def count_proposals_to_decide(actor: Any) -> int:
    """How many proposals wait for the actor's decision (one query)."""
    stmt = list_proposals_to_decide(actor)
    return db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).subquery())) or 0


def list_own_proposals(actor: Any) -> Select[tuple[LabProposal]]:
    """The proposals the actor made, newest first (their status, and a decline's reason)."""
    user_id = actor.id if permissions.is_member(actor) else None
    return (select(LabProposal).options(selectinload(LabProposal.lab))
            .where(LabProposal.proposed_by_id == user_id)
            .order_by(LabProposal.created_at.desc(), LabProposal.id.desc()))


def _decided_proposal(actor: Any, proposal: LabProposal) -> Lab:
    require(can_decide_proposal, actor, proposal)
    if not proposal.is_pending or proposal.lab_id is None:
        raise RuleViolation(None, {
            "approved": _("This proposal was already approved."),
            "declined": _("This proposal was already declined."),
        }.get(proposal.status, _("This proposal was already %(status)s.",
                                 status=proposal.status)), 409)
    lab = db.session.get(Lab, proposal.lab_id)
    assert lab is not None  # a pending proposal keeps its lab (CHECK lab)
    return lab


def _approve(actor: User, proposal: LabProposal, lab: Lab, *, now: datetime,
             tell: bool) -> None:
    proposal.status = ProposalStatus.APPROVED
    proposal.decided_by_id, proposal.decided_at, proposal.updated_at = actor.id, now, now
    proposer = (db.session.get(User, proposal.proposed_by_id)
                if proposal.proposed_by_id is not None else None)
    if proposer is not None:
        # The one act (rule 10); the proposer hears of it in the decision's own mail.
        team.add_manager(lab, proposer, by=actor, now=now, tell=False)
    audit.record(actor, "lab.proposal_approved", "lab", lab.id, now=now,
                 proposal_id=proposal.id, manager_id=proposal.proposed_by_id)
    if tell:
        _tell_proposer(proposal, lab, approved=True, now=now)
    db.session.flush()


def _tell_proposer(proposal: LabProposal, lab: Lab | None, *, approved: bool,
                   now: datetime) -> None:
    proposer = proposal.proposed_by
    if proposer is None or not proposer.is_active:
        return
    enqueue_email(
        "lab_proposal_decided", proposer.email,
        _l("Your proposal of the lab “%(lab)s” was approved", lab=proposal.lab_name)
        if approved else
        _l("Your proposal of the lab “%(lab)s” was declined", lab=proposal.lab_name),
        {"proposer": proposer, "proposal": proposal, "lab": lab, "approved": approved},
        now=now, action_required=True,
        why=_l("You receive this because you proposed the lab “%(lab)s” on LabNet.",
               lab=proposal.lab_name))


def approve_proposal(actor: Any, proposal: LabProposal, *, now: datetime) -> Lab:
    """Approve a pending proposal: the proposer becomes the draft lab's manager and is
    mailed a link to its edit page, where they publish it. DESIGN rules 6, 8 and 10.

    :raises PermissionDenied: unless the actor decides this proposal
        (:func:`permissions.can_decide_proposal`).
    :raises RuleViolation: (409) when it was decided already.
    """
    lab = _decided_proposal(actor, proposal)
    _approve(actor, proposal, lab, now=now, tell=True)
    return lab


def decline_proposal(actor: Any, proposal: LabProposal, reason: str, *, now: datetime
                     ) -> None:
    """Decline a pending proposal with a reason the proposer receives; the draft lab is
    removed (its name may be proposed again). DESIGN rules 6, 8 and 10.

    :raises PermissionDenied: unless the actor decides this proposal.
    :raises RuleViolation: on ``reason`` when it is empty or too long; (409) when the
        proposal was decided already.
    """
    lab = _decided_proposal(actor, proposal)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason", _("Say why, so the proposer knows what to do next."))
    if len(reason) > MAX_REASON:
        raise RuleViolation("reason", _("At most %(max)s characters (this has %(length)s).",
                                        max=number(MAX_REASON), length=number(len(reason))))
    proposal.status = ProposalStatus.DECLINED
    proposal.reason = reason
    proposal.decided_by_id, proposal.decided_at, proposal.updated_at = actor.id, now, now
    proposal.lab_id = None
    audit.record(actor, "lab.proposal_declined", "lab", lab.id, now=now,
                 proposal_id=proposal.id, name=lab.name)
    db.session.delete(lab)
    _tell_proposer(proposal, None, approved=False, now=now)
    db.session.flush()


# ---------------------------------------------------------------------------------------
# Labs created by admins and coordinators (listed, without a manager)


@dataclass(frozen=True)
class OrganisationChoice:
    """The organisation of a lab an admin or coordinator creates: an existing one by
    ``name`` (any capitals), or, with ``new``, one made with ``kind`` and ``country``."""

    name: str
    new: bool = False
    kind: str = ""
    country: str = ""


def find_organisation(name: str) -> Organisation | None:
    """The organisation named ``name`` (spaces and capitals ignored), if any."""
    key = " ".join((name or "").split()).lower()
    if not key:
        return None
    return db.session.scalar(select(Organisation).where(Organisation.name_key == key))


def organisation_for(choice: OrganisationChoice) -> tuple[Organisation, bool]:
    """The chosen organisation, made through the accounts service's organisation rules when
    ``choice.new``; with whether it was made.

    :raises RuleViolation: ``organisation`` (empty, unknown, taken, a company), ``org_kind``,
        ``org_country``.
    """
    if not " ".join(choice.name.split()):
        raise RuleViolation("organisation", _("Enter the organisation's name."))
    if not choice.new:
        org = find_organisation(choice.name)
        if org is None:
            raise RuleViolation("organisation", _("No organisation named “%(name)s” is "
                                                  "registered; tick “create it” to add it.",
                                                  name=choice.name[:80]))
        problem = organisation_problem(org)
        if problem is not None:
            raise problem
        return org, False
    if choice.kind not in LAB_SIDE_KINDS:
        raise RuleViolation("org_kind", _("Choose the kind of organisation; labs belong to "
                                          "%(kinds)s.", kinds=LAB_SIDE_WORDS))
    country = geo.country_code(choice.country)
    if country is None:
        raise RuleViolation("org_country", _("Choose the organisation's country from the "
                                             "list."))
    org = create_organisation(NewOrganisation(name=choice.name, kind=choice.kind,
                                              size_class=None, country=country),
                              email_domain=None)
    db.session.flush()
    return org, True


def create_listed_lab(actor: Any, choice: OrganisationChoice, profile: LabProfile, *,
                      now: datetime) -> Lab:
    """Create a published lab without a manager (a "listed" lab its people claim later)
    for an existing or new organisation. DESIGN rules 5, 6 and 10.

    :raises PermissionDenied: unless the actor is an admin or a network coordinator.
    :raises RuleViolations: the organisation's and the profile's refusals, on their fields.
    """
    require(can_create_labs, actor)
    try:
        organisation, made = organisation_for(choice)
    except RuleViolation as exc:
        # Show the profile's problems together with the organisation's.
        raise_all([exc, *_profile_problems(profile)])
        raise
    lab = build_lab(organisation, profile, now=now)
    audit.record(actor, "lab.created", "lab", lab.id, now=now, organisation_id=organisation.id,
                 organisation_created=made, source="web")
    db.session.flush()
    return lab


def create_lab_cli(choice: OrganisationChoice, profile: LabProfile, *, now: datetime
                   ) -> tuple[Lab, bool]:
    """``flask labnet labs create``: as :func:`create_listed_lab`, by the operator of the
    command line (trusted); with whether the organisation was made."""
    organisation, made = organisation_for(choice)
    lab = build_lab(organisation, profile, now=now)
    audit.record(None, "lab.created", "lab", lab.id, now=now, organisation_id=organisation.id,
                 organisation_created=made, source="cli")
    db.session.flush()
    return lab, made


def list_all_labs(actor: Any, q: str = "") -> Select[tuple[Lab]]:
    """Every lab, drafts included, with its organisation, by name; filtered by the lab's or
    the organisation's name or the address name (the admins' list).

    :raises PermissionDenied: unless the actor is an admin.
    """
    require(permissions.can_administer_users, actor)
    stmt = (select(Lab).join(Organisation, Organisation.id == Lab.organisation_id)
            .options(contains_eager(Lab.organisation)).order_by(Lab.name, Lab.id))
    words = " ".join((q or "").split()).lower()[:100]
    if words:
        like = f"%{words.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(func.lower(Lab.name).like(like), Lab.slug.like(like),
                              Organisation.name_key.like(like)))
    return stmt


def proposal_lab(proposal: LabProposal) -> Lab | None:
    """The draft (or approved) lab of a proposal; ``None`` once declined."""
    return db.session.get(Lab, proposal.lab_id) if proposal.lab_id is not None else None
