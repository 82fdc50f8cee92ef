"""Value-chain networks: coordinators create networks of ordered stages, invite
labs onto stages, and find the gaps; lab managers answer invitations and leave.

Rules (each refusal is a :class:`RuleViolation` naming its field):

- only a network's coordinators and admins change it (``permissions.run_network_for`` at
  the boundary, ``_require_run`` here again);
- a network's slug and its name (case-insensitive) are unique; the ecosystem is one of the
  EU's 14; the KET focus a known KET area;
- stages are ordered by ``position`` and retired, never deleted: a retired stage and its
  past members stay listed as retired;
- a lab holds at most one invitation or membership (``invited``/``accepted``) per network
  at a time, on a stage that is not retired; only published labs are invited. Every
  membership write first bumps ``network.lock_seq`` (the network's row lock), so two
  coordinators inviting one lab at once cannot both succeed;
- an invitation is answered once, by the lab's managers: the answer is a compare-and-set
  on ``status = 'invited'``, a second answer is refused;
- audit events and e-mail (invitations to the lab's managers, answers and departures to
  the coordinators) are written in the caller's transaction.

The gap finder, which reads a network's page (:func:`network_page`) to find the stages
that need labs, is :mod:`labnet.services.networks.gaps`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import selectinload

from labnet import permissions
from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l, number
from labnet.models import EquipmentCategory, KetArea, Lab, LabManager, User
from labnet.models.network import (
    ECOSYSTEMS,
    VISIBILITIES,
    Network,
    NetworkCoordinator,
    NetworkMember,
    NetworkStage,
    NetworkStageCategory,
    NetworkStageKet,
)
from labnet.services.accounts.rules import slugify
from labnet.services.catalogue.labs.picker import resolve_lab
from labnet.services.catalogue.labs.reach import (
    CONTACT,
    Reach,
    claim_url,
    reach_of,
    require_reachable,
)
from labnet.services.catalogue.labs.team import managed_lab_ids, manager_addresses
from labnet.services.common import audit
from labnet.services.common.text import control_problem
from labnet.services.notifications.outbox import enqueue_email

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Addresses under /networks/ that are pages, not networks.
RESERVED_SLUGS = frozenset({"new", "invitations", "memberships"})
MAX_STAGES = 20
MAX_KEYWORDS = 20
MAX_MESSAGE = 2000

#: A membership's status as people read it.
MEMBER_STATUS_LABELS = {
    "invited": _l("invited"),
    "accepted": _l("accepted"),
    "declined": _l("declined"),
    "left": _l("left"),
    "removed": _l("removed"),
}


# --- input --------------------------------------------------------------------------------

@dataclass(frozen=True)
class NetworkFields:
    """A network's editable fields as the form gives them (checked by the services)."""

    name: str
    description: str = ""
    ket_code: str = ""
    ecosystem: str = ""
    visibility: str = "public"
    slug: str = ""


@dataclass(frozen=True)
class StageFields:
    """A stage's name, description and needs (KET areas, equipment categories, keywords,
    one keyword a line) as the form gives them."""

    name: str
    description: str = ""
    ket_codes: tuple[str, ...] = ()
    category_codes: tuple[str, ...] = ()
    keywords: str = ""


def _text(value: str, field_name: str, *, max_len: int, required: str | None = None,
          one_line: bool = True) -> str:
    value = (value or "").strip()
    control = control_problem(value, one_line=one_line)  # the one rule (services.common.text)
    if control:
        raise RuleViolation(field_name, control)
    if required and not value:
        raise RuleViolation(field_name, required)
    if len(value) > max_len:
        raise RuleViolation(field_name, _("Use at most %(max)s characters.",
                                            max=number(max_len)))
    return value


def _known_kets(codes: list[str]) -> set[str]:
    if not codes:
        return set()
    return set(db.session.scalars(select(KetArea.code).where(KetArea.code.in_(codes))))


def _known_categories(codes: list[str]) -> set[str]:
    if not codes:
        return set()
    return set(db.session.scalars(
        select(EquipmentCategory.code).where(EquipmentCategory.code.in_(codes))))


def _check_network(fields: NetworkFields, *, network_id: int | None) -> dict[str, Any]:
    name = _text(fields.name, "name", max_len=200, required=_("Enter the network's name."))
    description = _text(fields.description, "description", max_len=10000, one_line=False)
    slug = (fields.slug or "").strip().lower()
    if slug:
        if len(slug) > 120 or not SLUG_RE.match(slug):
            raise RuleViolation("slug", _("Use lower-case letters, digits and single hyphens "
                                          "(for example battery-value-chain), at most 120."))
    else:
        slug = slugify(name, max_len=100)
        if slug == "org":
            slug = "network"
    ket = (fields.ket_code or "").strip().upper()
    if ket and ket not in _known_kets([ket]):
        raise RuleViolation("ket_code", _("Choose a KET area from the list."))
    if fields.ecosystem not in ECOSYSTEMS:
        raise RuleViolation("ecosystem", _("Choose one of the 14 industrial ecosystems."))
    if fields.visibility not in VISIBILITIES:
        raise RuleViolation("visibility", _("Choose public or members only."))
    if slug in RESERVED_SLUGS:
        raise RuleViolation("slug", _("The address “%(slug)s” is reserved; choose another.",
                                      slug=slug))
    others = select(Network.id).where(Network.id != (network_id or -1))
    if db.session.scalar(others.where(Network.name_key == name.lower())) is not None:
        raise RuleViolation("name", _("Another network already has this name."))
    if db.session.scalar(others.where(Network.slug == slug)) is not None:
        raise RuleViolation("slug", _("The address “%(slug)s” is taken by another network; "
                                      "choose another.", slug=slug))
    return {"name": name, "name_key": name.lower(), "slug": slug, "description": description,
            "ket_code": ket or None, "ecosystem": fields.ecosystem,
            "visibility": fields.visibility}


def _check_stage(fields: StageFields) -> dict[str, Any]:
    name = _text(fields.name, "name", max_len=200, required=_("Enter the stage's name."))
    description = _text(fields.description, "description", max_len=5000, one_line=False)
    kets = sorted({c.strip().upper() for c in fields.ket_codes if c.strip()})
    unknown = set(kets) - _known_kets(kets)
    if unknown:
        raise RuleViolation("ket_codes", _("Unknown KET area: %(codes)s.",
                                             codes=", ".join(sorted(unknown))))
    cats = sorted({c.strip().lower() for c in fields.category_codes if c.strip()})
    unknown = set(cats) - _known_categories(cats)
    if unknown:
        raise RuleViolation("category_codes",
                            _("Unknown equipment category: %(codes)s.",
                              codes=", ".join(sorted(unknown))))
    raw = _text(fields.keywords, "keywords", max_len=2000, one_line=False)
    keywords: list[str] = []
    for line in raw.splitlines():
        word = " ".join(line.split())
        if not word or word.lower() in (k.lower() for k in keywords):
            continue
        if len(word) > 60:
            raise RuleViolation("keywords", _("Each keyword has at most 60 characters."))
        keywords.append(word)
    if len(keywords) > MAX_KEYWORDS:
        raise RuleViolation("keywords", _("Use at most %(max)s keywords.", max=MAX_KEYWORDS))
    return {"name": name, "description": description, "kets": kets, "cats": cats,
            "keywords": "\n".join(keywords)}


def _require_run(actor: Any, network: Network) -> None:
    if not permissions.can_run_network(actor, network):
        raise PermissionDenied("can_run_network")


def _lock(network: Network) -> None:
    """First write of a membership change: takes the network's row lock."""
    db.session.execute(update(Network).where(Network.id == network.id)
                       .values(lock_seq=Network.lock_seq + 1))


# --- networks and coordinators -------------------------------------------------------------

def create_network(actor: User, fields: NetworkFields, *, now: datetime) -> Network:
    """A new network, with the actor as its first coordinator.

    :raises PermissionDenied: unless the actor is a coordinator or an admin.
    :raises RuleViolation: naming the field: a missing or over-long name, a name or slug
        another network has, a reserved or malformed slug, an unknown KET area, ecosystem or
        visibility.
    """
    if not permissions.can_create_network(actor):
        raise PermissionDenied("can_create_network")
    values = _check_network(fields, network_id=None)
    network = Network(**values, created_at=now, updated_at=now, created_by_id=actor.id,
                      lock_seq=0)
    db.session.add(network)
    db.session.flush()
    db.session.add(NetworkCoordinator(network_id=network.id, user_id=actor.id, added_at=now,
                                      added_by_id=actor.id))
    audit.record(actor, "network.created", "network", network.id, now=now,
                 name=network.name, visibility=network.visibility)
    db.session.flush()
    return network


def update_network(actor: User, network: Network, fields: NetworkFields, *,
                   now: datetime) -> Network:
    """Change a network's fields (the audit event names the fields that changed).

    :raises PermissionDenied: unless the actor runs the network.
    :raises RuleViolation: as :func:`create_network`.
    """
    _require_run(actor, network)
    values = _check_network(fields, network_id=network.id)
    changed = {k: v for k, v in values.items() if getattr(network, k) != v}
    for key, value in values.items():
        setattr(network, key, value)
    network.updated_at = now
    audit.record(actor, "network.updated", "network", network.id, now=now,
                 changed=sorted(changed))
    db.session.flush()
    return network


def coordinators_of(network_id: int) -> list[User]:
    """The network's coordinators, by name."""
    return list(db.session.scalars(
        select(User).join(NetworkCoordinator, NetworkCoordinator.user_id == User.id)
        .where(NetworkCoordinator.network_id == network_id).order_by(User.full_name, User.id)))


def add_coordinator(actor: User, network: Network, email: str, *, now: datetime) -> User:
    """Make the active user with this e-mail address a coordinator of the network.

    :raises PermissionDenied: unless the actor runs the network.
    :raises RuleViolation: (field ``email``) for no such active account, a user without
        the coordinator (or admin) role, or one who already coordinates the network.
    """
    _require_run(actor, network)
    address = (email or "").strip().lower()
    if not address:
        raise RuleViolation("email", _("Enter the e-mail address of the coordinator to add."))
    user = db.session.scalar(select(User).where(User.email == address))
    if user is None or not user.is_active:
        raise RuleViolation("email", _("Nobody with this e-mail address has an account."))
    if not (user.is_coordinator or user.is_admin):
        raise RuleViolation("email", _("This person is not a network coordinator; an admin "
                                       "grants the coordinator role first."))
    if permissions.coordinates_network(user, network.id):
        raise RuleViolation("email", _("This person already coordinates the network."))
    db.session.add(NetworkCoordinator(network_id=network.id, user_id=user.id, added_at=now,
                                      added_by_id=actor.id))
    audit.record(actor, "network.coordinator_added", "network", network.id, now=now,
                 user_id=user.id)
    db.session.flush()
    return user


# --- stages --------------------------------------------------------------------------------

def _stage_of(network: Network, stage_id: int | None, field_name: str = "stage_id"
              ) -> NetworkStage:
    stage = db.session.get(NetworkStage, stage_id) if stage_id else None
    if stage is None or stage.network_id != network.id:
        raise RuleViolation(field_name, _("Choose a stage of this network."), code=404)
    return stage


def get_stage(network: Network, stage_id: int, *, with_needs: bool = False) -> NetworkStage:
    """Stage ``stage_id`` of ``network`` (with its KET and category links loaded when
    ``with_needs``); :class:`NotFound` for a stage of another network or none."""
    stmt = select(NetworkStage).where(NetworkStage.id == stage_id,
                                      NetworkStage.network_id == network.id)
    if with_needs:
        stmt = stmt.options(selectinload(NetworkStage.ket_links),
                            selectinload(NetworkStage.category_links))
    stage = db.session.scalar(stmt)
    if stage is None:
        raise NotFound(stage_id)
    return stage


def _set_needs(stage: NetworkStage, values: dict[str, Any]) -> None:
    stage.name = values["name"]
    stage.description = values["description"]
    stage.keywords = values["keywords"]
    db.session.execute(NetworkStageKet.__table__.delete()
                       .where(NetworkStageKet.stage_id == stage.id))
    db.session.execute(NetworkStageCategory.__table__.delete()
                       .where(NetworkStageCategory.stage_id == stage.id))
    db.session.add_all([NetworkStageKet(stage_id=stage.id, ket_code=c) for c in values["kets"]])
    db.session.add_all([NetworkStageCategory(stage_id=stage.id, category_code=c)
                        for c in values["cats"]])


def add_stage(actor: User, network: Network, fields: StageFields, *,
              now: datetime) -> NetworkStage:
    """A new stage at the end of the chain, with its needs.

    :raises PermissionDenied: unless the actor runs the network.
    :raises RuleViolation: naming the field: a missing name, an unknown KET area or
        category, too many or over-long keywords, or :data:`MAX_STAGES` active stages
        already.
    """
    _require_run(actor, network)
    values = _check_stage(fields)
    active = db.session.scalar(select(func.count(NetworkStage.id)).where(
        NetworkStage.network_id == network.id, NetworkStage.retired_at.is_(None))) or 0
    if active >= MAX_STAGES:
        raise RuleViolation("name", _("A network has at most %(max)s active stages.",
                                      max=MAX_STAGES))
    last = db.session.scalar(select(func.max(NetworkStage.position))
                             .where(NetworkStage.network_id == network.id))
    stage = NetworkStage(network_id=network.id, position=(last or 0) + 1, name=values["name"],
                         created_at=now)
    db.session.add(stage)
    db.session.flush()
    _set_needs(stage, values)
    network.updated_at = now
    audit.record(actor, "network.stage_added", "network", network.id, now=now,
                 stage_id=stage.id, name=stage.name)
    db.session.flush()
    return stage


def update_stage(actor: User, network: Network, stage_id: int, fields: StageFields, *,
                 now: datetime) -> NetworkStage:
    """Change an active stage's name, description and needs.

    :raises PermissionDenied: unless the actor runs the network.
    :raises RuleViolation: for a stage of another network (404), a retired stage, or the
        refusals of :func:`add_stage`.
    """
    _require_run(actor, network)
    stage = _stage_of(network, stage_id)
    if stage.is_retired:
        raise RuleViolation("name", _("This stage is retired; it is kept as history and "
                                      "cannot be changed."))
    values = _check_stage(fields)
    _set_needs(stage, values)
    network.updated_at = now
    audit.record(actor, "network.stage_updated", "network", network.id, now=now,
                 stage_id=stage.id)
    db.session.flush()
    return stage


def move_stage(actor: User, network: Network, stage_id: int, direction: str, *,
               now: datetime) -> None:
    """Swap an active stage with its active neighbour (``up`` or ``down``)."""
    _require_run(actor, network)
    stage = _stage_of(network, stage_id)
    if direction not in ("up", "down"):
        raise RuleViolation("direction", _("Move a stage up or down."))
    if stage.is_retired:
        raise RuleViolation("direction", _("A retired stage keeps its place."))
    active = list(db.session.scalars(
        select(NetworkStage).where(NetworkStage.network_id == network.id,
                                   NetworkStage.retired_at.is_(None))
        .order_by(NetworkStage.position, NetworkStage.id)))
    # Renumber first so equal positions cannot make a swap a no-op.
    for i, s in enumerate(active, start=1):
        s.position = i
    i = active.index(stage)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(active):
        raise RuleViolation("direction", _("This stage is already first.") if direction == "up"
                            else _("This stage is already last."))
    active[i].position, active[j].position = active[j].position, active[i].position
    network.updated_at = now
    audit.record(actor, "network.stage_moved", "network", network.id, now=now,
                 stage_id=stage.id, direction=direction)
    db.session.flush()


def retire_stage(actor: User, network: Network, stage_id: int, *, now: datetime) -> None:
    """Retire a stage: it and its members stay listed as retired; its open invitations
    can no longer be answered (they read as history)."""
    _require_run(actor, network)
    stage = _stage_of(network, stage_id)
    if stage.is_retired:
        raise RuleViolation("stage_id", _("This stage is already retired."))
    _lock(network)
    stage.retired_at = now
    network.updated_at = now
    audit.record(actor, "network.stage_retired", "network", network.id, now=now,
                 stage_id=stage.id)
    db.session.flush()


# --- invitations and membership --------------------------------------------------------------

def _coordinator_addresses(network_id: int) -> list[str]:
    return list(db.session.scalars(
        select(User.email).join(NetworkCoordinator, NetworkCoordinator.user_id == User.id)
        .where(NetworkCoordinator.network_id == network_id, User.is_active.is_(True))
        .order_by(User.email)))


def _active_row(network_id: int, lab_id: int) -> NetworkMember | None:
    return db.session.scalar(
        select(NetworkMember).join(NetworkStage, NetworkStage.id == NetworkMember.stage_id)
        .where(NetworkMember.network_id == network_id, NetworkMember.lab_id == lab_id,
               NetworkMember.status.in_(("invited", "accepted")),
               NetworkStage.retired_at.is_(None)))


def invite(actor: User, network: Network, stage_id: int | None, lab_slug: str, message: str,
           *, now: datetime) -> NetworkMember:
    """Invite a published lab onto an active stage; its managers get an e-mail. Takes the
    network's lock first, so one lab is invited or a member at most once at a time.

    :raises PermissionDenied: unless the actor runs the network.
    :raises RuleViolation: naming the field: a stage of another network (404) or a
        retired one, no published lab with this slug, a lab already invited or a member
        (409), an over-long message.
    """
    _require_run(actor, network)
    message = _text(message, "message", max_len=MAX_MESSAGE, one_line=False)
    stage = _stage_of(network, stage_id)
    if stage.is_retired:
        raise RuleViolation("stage_id", _("This stage is retired; invite to an active stage."))
    if not (lab_slug or "").strip():
        raise RuleViolation("lab", _("Enter the lab to invite (its name, or its address name "
                                     "such as fraunhofer-ise)."))
    # A published lab by its name or address name (services.catalogue.labs.picker).
    lab = resolve_lab(lab_slug)
    # DESIGN rule 8, as for requests: refused before writing when nobody would receive it.
    lab_reach = reach_of([lab])[lab.id]
    require_reachable([lab_reach], field="lab", what="invitation")
    _lock(network)
    existing = _active_row(network.id, lab.id)
    if existing is not None:
        refusal = (_("%(lab)s is already invited to this network.", lab=lab.name)
                   if existing.status == "invited" else
                   _("%(lab)s is already a member of this network.", lab=lab.name))
        raise RuleViolation("lab", refusal, code=409)
    member = NetworkMember(network_id=network.id, stage_id=stage.id, lab_id=lab.id,
                           status="invited", invited_by_id=actor.id, invited_at=now,
                           message=message, answer_message="")
    db.session.add(member)
    db.session.flush()
    audit.record(actor, "network.invited", "network_member", member.id, now=now,
                 network_id=network.id, stage_id=stage.id, lab_id=lab.id)
    for address in manager_addresses(lab.id):
        enqueue_email("network_invitation", address,
                      _l("Invitation: %(lab)s in the network %(network)s", lab=lab.name,
                         network=network.name),
                      {"network": network, "stage": stage, "lab": lab, "member": member,
                       "inviter": actor}, now=now, action_required=True,
                      why=_manager_why(lab))
    if lab_reach.kind == CONTACT:
        enqueue_email("network_invitation_to_contact", lab_reach.address,
                      _l("Invitation: %(lab)s in the network %(network)s on LabNet",
                         lab=lab.name, network=network.name),
                      {"network": network, "stage": stage, "lab": lab, "member": member,
                       "inviter": actor, "claim_url": claim_url(lab)}, now=now,
                      action_required=True,
                      why=_l("You receive this because %(address)s is the public contact "
                             "e-mail of %(lab)s on LabNet, and nobody manages the lab there "
                             "yet.", address=lab_reach.address, lab=lab.name))
    return member


def unmanaged_members(page: NetworkPage) -> list[tuple[MemberView, Reach]]:
    """The network's invited and accepted labs that have no active manager, each with how
    it is reached (the coordinators' page marks them; DESIGN rule 8). One query."""
    rows = [r for r in page.rows if r.status in ("invited", "accepted")]
    managed = managed_lab_ids({r.lab_id for r in rows})
    missing = [r for r in rows if r.lab_id not in managed]
    labs = {lab.id: lab for lab in db.session.scalars(
        select(Lab).where(Lab.id.in_({r.lab_id for r in missing})))} if missing else {}
    reach = reach_of(labs.values())
    return [(r, reach[r.lab_id]) for r in missing]


def _coordinator_why(network: Network) -> Any:
    """Why a coordinator receives a network's e-mail (lazy: read in their language)."""
    return _l("You receive this because you coordinate the network %(network)s on LabNet.",
              network=network.name)


def _manager_why(lab: Lab) -> Any:
    """Why a lab's manager receives a network's e-mail (lazy: read in their language)."""
    return _l("You receive this because you manage %(lab)s on LabNet.", lab=lab.name)


def answer_invitation(actor: User, member_id: int, accept: bool, message: str, *,
                      now: datetime) -> NetworkMember:
    """Accept or decline once. A compare-and-set on ``status = 'invited'``: of two answers
    only the first counts; the second is refused and says what the first was."""
    member = permissions.invitation_for(actor, member_id)
    message = _text(message, "answer_message", max_len=MAX_MESSAGE, one_line=False)
    stage = db.session.get(NetworkStage, member.stage_id)
    if member.status == "invited" and stage is not None and stage.is_retired:
        raise RuleViolation("answer_message", _("This stage was retired; the invitation can "
                                                "no longer be answered."), code=409)
    status = "accepted" if accept else "declined"
    result = cast(CursorResult[Any], db.session.execute(
        update(NetworkMember)
        .where(NetworkMember.id == member.id, NetworkMember.status == "invited")
        .values(status=status, answered_at=now, answered_by_id=actor.id,
                answer_message=message)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        db.session.refresh(member)
        raise RuleViolation("answer_message", _(
            "This invitation was already answered (%(status)s); an invitation is answered "
            "once.", status=MEMBER_STATUS_LABELS.get(member.status, member.status)), code=409)
    db.session.refresh(member)
    network = db.session.get_one(Network, member.network_id)
    lab = db.session.get_one(Lab, member.lab_id)
    audit.record(actor, f"network.invitation_{status}", "network_member", member.id, now=now,
                 network_id=member.network_id, lab_id=member.lab_id)
    for address in _coordinator_addresses(member.network_id):
        enqueue_email("network_answer", address,
                      (_l("%(lab)s accepted the invitation to %(network)s", lab=lab.name,
                          network=network.name) if accept else
                       _l("%(lab)s declined the invitation to %(network)s", lab=lab.name,
                          network=network.name)),
                      {"network": network, "stage": stage, "lab": lab, "member": member,
                       "accepted": accept}, now=now, why=_coordinator_why(network))
    return member


def _end(actor: User, member: NetworkMember, status: str, *, now: datetime,
         allowed: tuple[str, ...], refusal: str) -> None:
    result = cast(CursorResult[Any], db.session.execute(
        update(NetworkMember)
        .where(NetworkMember.id == member.id, NetworkMember.status.in_(allowed))
        .values(status=status, ended_at=now, ended_by_id=actor.id)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise RuleViolation("member_id", refusal, code=409)
    db.session.refresh(member)


def remove_member(actor: User, network: Network, member_id: int, *,
                  now: datetime) -> NetworkMember:
    """A coordinator withdraws an invitation or removes a member (kept as ``removed``)."""
    _require_run(actor, network)
    member = db.session.get(NetworkMember, member_id)
    if member is None or member.network_id != network.id:
        raise RuleViolation("member_id", _("No such member of this network."), code=404)
    _lock(network)
    _end(actor, member, "removed", now=now, allowed=("invited", "accepted"),
         refusal=_("This lab is no longer invited or a member."))
    lab = db.session.get_one(Lab, member.lab_id)
    audit.record(actor, "network.member_removed", "network_member", member.id, now=now,
                 network_id=network.id, lab_id=member.lab_id)
    for address in manager_addresses(member.lab_id):
        enqueue_email("network_ended", address,
                      _l("%(lab)s was removed from %(network)s", lab=lab.name,
                         network=network.name),
                      {"network": network, "lab": lab, "member": member, "left": False},
                      now=now, why=_manager_why(lab))
    return member


def leave_network(actor: User, member_id: int, *, now: datetime) -> NetworkMember:
    """A lab's manager ends the lab's accepted membership (kept as ``left``)."""
    member = permissions.invitation_for(actor, member_id)
    network = db.session.get_one(Network, member.network_id)
    _lock(network)
    _end(actor, member, "left", now=now, allowed=("accepted",),
         refusal=_("The lab is not a member of this network."))
    lab = db.session.get_one(Lab, member.lab_id)
    audit.record(actor, "network.member_left", "network_member", member.id, now=now,
                 network_id=network.id, lab_id=member.lab_id)
    for address in _coordinator_addresses(network.id):
        enqueue_email("network_ended", address,
                      _l("%(lab)s left %(network)s", lab=lab.name, network=network.name),
                      {"network": network, "lab": lab, "member": member, "left": True},
                      now=now, why=_coordinator_why(network))
    return member


# --- reads ---------------------------------------------------------------------------------

@dataclass
class MemberView:
    """One membership row with its lab's name, place and coordinates."""

    id: int
    stage_id: int
    lab_id: int
    lab_slug: str
    lab_name: str
    city: str
    country: str
    lat: float | None
    lon: float | None
    status: str
    invited_at: datetime
    message: str
    answered_at: datetime | None
    answer_message: str
    ended_at: datetime | None


@dataclass
class StageView:
    """A stage with its accepted members (past members, for a retired stage)."""

    stage: NetworkStage
    members: list[MemberView] = field(default_factory=list)  # accepted

    @property
    def countries(self) -> list[str]:
        """The members' countries, sorted, each once."""
        return sorted({m.country for m in self.members})


@dataclass
class NetworkPage:
    """Everything a network's pages show: :func:`network_page` builds it."""

    network: Network
    stages: list[StageView]  # active, in order
    retired: list[StageView]  # retired stages with their past members (any status)
    rows: list[MemberView]  # every membership row, newest first (coordinators' view)
    coordinators: list[User]

    @property
    def member_count(self) -> int:
        """Accepted members on active stages."""
        return sum(len(s.members) for s in self.stages)

    @property
    def countries(self) -> list[str]:
        """The countries of the accepted members on active stages, sorted, each once."""
        return sorted({m.country for s in self.stages for m in s.members})

    def by_status(self, status: str) -> list[MemberView]:
        """The membership rows with this status, newest first."""
        return [r for r in self.rows if r.status == status]

    def stage_name(self, stage_id: int) -> str:
        """The name of the network's stage ``stage_id`` (active or retired); "" if none."""
        for view in (*self.stages, *self.retired):
            if view.stage.id == stage_id:
                return view.stage.name
        return ""

    def is_retired_stage(self, stage_id: int) -> bool:
        """Whether ``stage_id`` is one of the network's retired stages."""
        return any(v.stage.id == stage_id for v in self.retired)

    def joint_project_slugs(self, per_stage: int = 2) -> list[str]:
        """Member labs along the chain (up to ``per_stage`` per stage, in stage order)."""
        slugs: list[str] = []
        for view in self.stages:
            for m in view.members[:per_stage]:
                if m.lab_slug not in slugs:
                    slugs.append(m.lab_slug)
        return slugs


def network_page(network: Network) -> NetworkPage:
    """The chain: stages with their needs, every membership row with its lab. Three
    queries (stages with KET and category links, members with labs, coordinators)."""
    stages = list(db.session.scalars(
        select(NetworkStage).where(NetworkStage.network_id == network.id)
        .options(selectinload(NetworkStage.ket_links), selectinload(NetworkStage.category_links))
        .order_by(NetworkStage.position, NetworkStage.id)))
    rows = [MemberView(*r) for r in db.session.execute(
        select(NetworkMember.id, NetworkMember.stage_id, Lab.id, Lab.slug, Lab.name, Lab.city,
               Lab.country, Lab.lat, Lab.lon, NetworkMember.status, NetworkMember.invited_at,
               NetworkMember.message, NetworkMember.answered_at, NetworkMember.answer_message,
               NetworkMember.ended_at)
        .join(Lab, Lab.id == NetworkMember.lab_id)
        .where(NetworkMember.network_id == network.id)
        .order_by(NetworkMember.invited_at.desc(), NetworkMember.id.desc()))]
    views = {s.id: StageView(s) for s in stages}
    for r in sorted(rows, key=lambda r: (r.lab_name, r.id)):
        view = views.get(r.stage_id)
        if view is None:
            continue
        if view.stage.is_retired:
            if r.status in ("accepted", "left", "removed") and r.answered_at is not None:
                view.members.append(r)  # past members of a retired stage
        elif r.status == "accepted":
            view.members.append(r)
    return NetworkPage(
        network=network,
        stages=[v for v in views.values() if not v.stage.is_retired],
        retired=[v for v in views.values() if v.stage.is_retired],
        rows=rows, coordinators=coordinators_of(network.id))


# Stage colours for the diagram and the map (colour-blind-friendly, Okabe–Ito order).
STAGE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                 "#F0E442", "#000000")


def stage_colour(index: int) -> str:
    """The colour of the ``index``-th active stage (0-based), repeating after eight."""
    return STAGE_COLOURS[index % len(STAGE_COLOURS)]


def map_data(page: NetworkPage, *, lab_url_template: str) -> dict[str, Any]:
    """JSON for network_map.js: active stages in order, each with its colour and its
    accepted member labs that have coordinates. Names travel as data, shown as text."""
    stages = []
    for i, view in enumerate(page.stages):
        stages.append({
            "position": i + 1, "name": view.stage.name, "colour": stage_colour(i),
            "labs": [{"name": m.lab_name, "city": m.city, "country": m.country,
                      "lat": m.lat, "lon": m.lon,
                      "url": lab_url_template.replace("{slug}", m.lab_slug)}
                     for m in view.members if m.lat is not None and m.lon is not None],
        })
    return {"network": page.network.name, "stages": stages}


def networks_list(actor: Any) -> list[tuple[Network, int, int, list[str]]]:
    """Visible networks with (active stages, accepted members, countries); two queries."""
    networks = list(db.session.scalars(permissions.visible_networks(actor)))
    if not networks:
        return []
    ids = [n.id for n in networks]
    stage_counts: dict[int, int] = dict(db.session.execute(
        select(NetworkStage.network_id, func.count(NetworkStage.id))
        .where(NetworkStage.network_id.in_(ids), NetworkStage.retired_at.is_(None))
        .group_by(NetworkStage.network_id)).tuples().all())
    members: dict[int, list[str]] = defaultdict(list)
    for network_id, country in db.session.execute(
            select(NetworkMember.network_id, Lab.country)
            .join(Lab, Lab.id == NetworkMember.lab_id)
            .join(NetworkStage, NetworkStage.id == NetworkMember.stage_id)
            .where(NetworkMember.network_id.in_(ids), NetworkMember.status == "accepted",
                   NetworkStage.retired_at.is_(None))):
        members[network_id].append(country)
    return [(n, stage_counts.get(n.id, 0), len(members[n.id]), sorted(set(members[n.id])))
            for n in networks]


def list_network_choices(actor: Any) -> list[tuple[str, str]]:
    """(slug, name) of the networks the actor may see: the catalogue's network filter."""
    signed_in = bool(getattr(actor, "is_authenticated", False))
    stmt = _choices_statement(actor) if signed_in else _public_choices_statement()
    return [(slug, name) for slug, name in db.session.execute(stmt)]


def _choices_statement(actor: Any) -> Any:
    return permissions.visible_networks(actor).with_only_columns(Network.slug, Network.name)


@cache
def _public_choices_statement() -> Any:
    # A visitor's choices (every catalogue page shows them): built once, as the permission
    # module words it for nobody signed in.
    return _choices_statement(None)


def networks_of_lab(actor: Any, lab_id: int) -> list[tuple[Network, str]]:
    """(network, stage name) for the lab's accepted memberships the actor may see."""
    return [(n, stage) for n, stage in db.session.execute(
        permissions.visible_networks(actor)
        .add_columns(NetworkStage.name)
        .join(NetworkMember, NetworkMember.network_id == Network.id)
        .join(NetworkStage, NetworkStage.id == NetworkMember.stage_id)
        .where(NetworkMember.lab_id == lab_id, NetworkMember.status == "accepted",
               NetworkStage.retired_at.is_(None)))]


@dataclass
class Invitation:
    """A membership row of a lab the actor manages, with its network, stage and lab."""

    member: NetworkMember
    network: Network
    stage: NetworkStage
    lab: Lab

    @property
    def answerable(self) -> bool:
        """Still open: invited, on a stage that is not retired."""
        return self.member.status == "invited" and not self.stage.is_retired


def invitations_for(actor: Any) -> list[Invitation]:
    """Membership rows of the labs the actor manages (admins: their own labs only, not
    every lab's), newest first; one query."""
    user = permissions._user(actor)
    if user is None:
        return []
    rows = db.session.execute(
        select(NetworkMember, Network, NetworkStage, Lab)
        .join(Network, Network.id == NetworkMember.network_id)
        .join(NetworkStage, NetworkStage.id == NetworkMember.stage_id)
        .join(Lab, Lab.id == NetworkMember.lab_id)
        .join(LabManager, LabManager.lab_id == Lab.id)
        .where(LabManager.user_id == user.id)
        .order_by(NetworkMember.invited_at.desc(), NetworkMember.id.desc())).all()
    return [Invitation(*r) for r in rows]


def count_pending_invitations(user_id: int) -> Select[tuple[int]]:
    """The count of open invitations (active stages) for the labs user ``user_id`` manages."""
    return (select(func.count(NetworkMember.id))
            .join(LabManager, LabManager.lab_id == NetworkMember.lab_id)
            .join(NetworkStage, NetworkStage.id == NetworkMember.stage_id)
            .where(LabManager.user_id == user_id, NetworkMember.status == "invited",
                   NetworkStage.retired_at.is_(None)))


def pending_invitation_count(actor: Any) -> int:
    """Open invitations for the labs the actor manages; 0 for an anonymous actor."""
    user = permissions._user(actor)
    if user is None:
        return 0
    return db.session.scalar(count_pending_invitations(user.id)) or 0


def member_lab_ids(actor: Any, slug: str) -> Any:
    """Subquery of the lab ids that are accepted members (active stages) of the network
    ``slug``, if the actor may see it (the catalogue's ``network`` filter); empty else."""
    return (select(NetworkMember.lab_id)
            .join(Network, Network.id == NetworkMember.network_id)
            .join(NetworkStage, NetworkStage.id == NetworkMember.stage_id)
            .where(Network.slug == slug, NetworkMember.status == "accepted",
                   NetworkStage.retired_at.is_(None),
                   permissions.network_visible_condition(actor)))
