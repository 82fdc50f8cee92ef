"""Who may do what: one predicate per decision, scoped loaders and query scopes.

Views, the API, the CLI and services all decide here (DESIGN rule 6). Predicates return
``False`` for anonymous users. Loaders raise :class:`NotFound` when the actor may not know
an object exists, and :class:`PermissionDenied` when the object is public but the action
is not allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from flask_login import AnonymousUserMixin
from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true
from sqlalchemy.orm import joinedload

from labnet.converters import parse_id
from labnet.errors import NotFound, PermissionDenied
from labnet.extensions import db
from labnet.models import (
    Accreditation,
    Equipment,
    EquipmentStatus,
    Lab,
    LabClaim,
    LabelAnswer,
    LabelApplication,
    LabelStatus,
    LabManager,
    LabProposal,
    Membership,
    Organisation,
    OrgKind,
    User,
)
from labnet.models.booking import Booking, BookingStatus
from labnet.models.events import Event, EventOrganiser, Project, ProjectManager
from labnet.models.network import Network, NetworkCoordinator, NetworkMember, NetworkStage
from labnet.models.request import (
    WITHDRAWABLE,
    LabAnswer,
    LabRequest,
    RequestLab,
    RequestStatus,
)
from labnet.models.training import Registration

# Who asks: a signed-in user, the anonymous visitor (Flask-Login's), or nobody (jobs).
Actor: TypeAlias = User | AnonymousUserMixin | None


def _user(actor: Actor) -> User | None:
    # A pending join request is no member of anything: every predicate refuses it, even
    # if it somehow held a session (login refuses it first).
    return actor if isinstance(actor, User) and actor.is_active and actor.is_member else None


def is_admin(actor: Actor) -> bool:
    """Admins may do everything."""
    user = _user(actor)
    return bool(user and user.is_admin)


def can_administer_users(actor: Actor) -> bool:
    """Only admins list users, grant and revoke roles, and read the outbox."""
    return is_admin(actor)


def manages_lab(actor: Actor, lab_id: int) -> bool:
    """Whether ``actor`` is a manager of lab ``lab_id`` (one query)."""
    user = _user(actor)
    if user is None:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(LabManager.lab_id == lab_id, LabManager.user_id == user.id)
            )
        )
    )


def manages_any_lab(actor: Actor) -> bool:
    """Whether ``actor`` manages at least one lab (shows "My labs" in the navigation)."""
    user = _user(actor)
    if user is None:
        return False
    return bool(db.session.scalar(select(exists().where(LabManager.user_id == user.id))))


def can_manage_lab(actor: Actor, lab: Lab) -> bool:
    """A lab's managers and admins edit the lab and its equipment."""
    return is_admin(actor) or manages_lab(actor, lab.id)


def is_listed_lab(lab: Lab) -> bool:
    """Whether anyone may find ``lab`` (the Python side of :func:`listed_lab_condition`)."""
    return lab.is_published


def can_view_lab(actor: Actor, lab: Lab) -> bool:
    """Published labs are public; drafts are seen by their managers and admins only."""
    return is_listed_lab(lab) or can_manage_lab(actor, lab)


def can_watch_lab(actor: Actor, lab: Lab) -> bool:
    """Any logged-in member who may see the lab may ask to hear when it gets a manager
    ("tell me when"); the service decides whether the lab still needs one."""
    return _user(actor) is not None and can_view_lab(actor, lab)


def can_view_equipment(actor: Actor, equipment: Equipment) -> bool:
    """Equipment of a visible lab; retired equipment only by those who manage the lab."""
    if not can_view_lab(actor, equipment.lab):
        return False
    return equipment.status != EquipmentStatus.RETIRED or can_manage_lab(actor, equipment.lab)


def require(predicate: Callable[..., bool], actor: Actor, *args: Any) -> None:
    """Raise :class:`PermissionDenied` unless ``predicate(actor, *args)`` holds."""
    if not predicate(actor, *args):
        raise PermissionDenied(predicate.__name__)


def listed_lab_condition() -> ColumnElement[bool]:
    """SQL condition on ``Lab``: the labs anyone may find (published ones; drafts appear
    only on their managers' own pages, never in lists, searches, requests or networks)."""
    return Lab.is_published.is_(True)


def visible_labs(actor: Actor) -> Select[tuple[Lab]]:
    """Labs the actor may see in lists (:func:`listed_lab_condition`)."""
    return select(Lab).where(listed_lab_condition())


def lab_for(actor: Actor, slug: str) -> Lab:
    """The lab with ``slug`` if the actor may see it, else :class:`NotFound`."""
    lab = db.session.scalar(select(Lab).where(Lab.slug == slug))
    if lab is None or not can_view_lab(actor, lab):
        raise NotFound(slug)
    return lab


def equipment_for(actor: Actor, equipment_id: int) -> Equipment:
    """The equipment with ``equipment_id`` if the actor may see it, else :class:`NotFound`."""
    equipment = db.session.scalar(
        select(Equipment).options(joinedload(Equipment.lab)).where(Equipment.id == equipment_id)
    )
    if equipment is None or not can_view_equipment(actor, equipment):
        raise NotFound(equipment_id)
    return equipment


def user_for_admin(actor: Actor, user_id: int) -> User:
    """A user record for the admin pages (403 for anyone who is not an admin)."""
    require(can_administer_users, actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(user_id)
    return user


# Creating labs (DESIGN rule 10) ---------------------------------------------------------

# Organisations that have labs (the supply side); companies are the demand side.
LAB_SIDE_KINDS = frozenset({OrgKind.RTO, OrgKind.UNIVERSITY, OrgKind.CLUSTER, OrgKind.KIBS,
                            OrgKind.PUBLIC_BODY})


def is_member(actor: Actor) -> bool:
    """Whether ``actor`` is a signed-in, active member of an organisation."""
    return _user(actor) is not None


def can_propose_lab(actor: Actor) -> bool:
    """Confirmed members of a lab-side organisation propose labs of their organisation."""
    user = _user(actor)
    return bool(user and user.is_confirmed and user.organisation.kind in LAB_SIDE_KINDS)


def can_create_labs(actor: Actor) -> bool:
    """Admins and network coordinators create listed labs (without a manager) of any
    lab-side organisation."""
    user = _user(actor)
    return bool(user and (user.is_admin or user.is_coordinator))


def can_decide_proposal(actor: Actor, proposal: LabProposal) -> bool:
    """A proposal is decided by the admins of its organisation, and by LabNet admins (who
    decide those of organisations without admins)."""
    user = _user(actor)
    if user is None:
        return False
    return user.is_admin or (user.is_org_admin
                             and user.organisation_id == proposal.organisation_id)


def proposal_for(actor: Actor, proposal_id: int) -> LabProposal:
    """A proposal for those who decide it and for its proposer (who sees it and gets 403 on
    deciding); :class:`NotFound` for everyone else (another organisation's plans)."""
    proposal = db.session.get(LabProposal, proposal_id)
    user = _user(actor)
    if proposal is None or user is None or not (
            can_decide_proposal(user, proposal) or proposal.proposed_by_id == user.id):
        raise NotFound(proposal_id)
    return proposal
def organisation_for_admin(actor: Actor, organisation_id: int) -> Organisation:
    """An organisation for the admin pages (403 for anyone who is not an admin)."""
    require(can_administer_users, actor)
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(organisation_id)
    return org


def join_request_for_admin(actor: Actor, user_id: int) -> User:
    """A pending, active join request for the admin queue's approve and decline (403 for
    anyone who is not an admin, 404 for anyone who is no pending request)."""
    require(can_administer_users, actor)
    person = db.session.scalar(select(User).where(
        User.id == user_id, User.membership == Membership.PENDING, User.is_active.is_(True)))
    if person is None:
        raise NotFound(user_id)
    return person


def can_contact_lab(actor: Actor, lab: Lab) -> bool:
    """Signed-in, active people write to a lab they can see through its contact form."""
    user = _user(actor)
    return bool(user and can_view_lab(user, lab))


# Organisation members -------------------------------------------------------------------


def can_manage_members(actor: Actor, organisation_id: int) -> bool:
    """An organisation's admins (and only they) approve or decline join requests and grant
    or revoke the organisation-admin role, for their own organisation only. Platform
    admins do not act inside an organisation through these pages."""
    user = _user(actor)
    return bool(user and user.is_org_admin and user.organisation_id == organisation_id)


def org_person_for(actor: Actor, user_id: int, *, pending: bool) -> User:
    """A person of the actor's organisation for the members page: a pending join request
    (``pending``) or an active member.

    :class:`PermissionDenied` unless the actor is an admin of their organisation;
    :class:`NotFound` for anyone else's people (another organisation's members and
    requests are not the actor's to know).
    """
    user = _user(actor)
    if user is None:
        raise PermissionDenied("can_manage_members")
    require(can_manage_members, user, user.organisation_id)
    wanted = Membership.PENDING if pending else Membership.ACTIVE
    person = db.session.scalar(
        select(User).where(User.id == user_id, User.organisation_id == user.organisation_id,
                           User.membership == wanted, User.is_active.is_(True))
    )
    if person is None:
        raise NotFound(user_id)
    return person


def managed_lab_for(actor: Actor, slug: str) -> Lab:
    """The lab with ``slug`` for its management pages.

    :class:`NotFound` when it does not exist or is a draft the actor may not see;
    :class:`PermissionDenied` when the actor sees it (published) but does not manage it.
    """
    lab = lab_for(actor, slug)
    require(can_manage_lab, actor, lab)
    return lab


def managed_equipment_for(actor: Actor, equipment_id: int) -> Equipment:
    """The equipment with ``equipment_id`` for its management pages.

    :class:`NotFound` when the actor may not see it (missing, of a draft lab they do not
    manage, or retired); :class:`PermissionDenied` when it is public but the actor does not
    manage its lab.
    """
    equipment = equipment_for(actor, equipment_id)
    require(can_manage_lab, actor, equipment.lab)
    return equipment


def managed_labs(actor: Actor) -> Select[tuple[Lab]]:
    """Labs the actor may edit, by name: every lab for admins, their own for managers,
    none for anyone else (drafts included: these are the actor's own pages)."""
    stmt = select(Lab).order_by(Lab.name, Lab.id)
    if is_admin(actor):
        return stmt
    user = _user(actor)
    if user is None:
        return stmt.where(Lab.id.is_(None))  # nobody's labs
    return stmt.join(LabManager, LabManager.lab_id == Lab.id).where(LabManager.user_id == user.id)


# API tokens -------------------------------------------------------------------------------


def can_hold_token_scope(actor: Actor, scope: str) -> bool:
    """A personal access token never grants more than its user has: ``read`` for any member,
    ``book`` for those who may book, ``request`` for those who may send requests, ``manage``
    for lab managers and admins. The token's scopes only narrow the user's rights; every
    action is still decided by the user's own predicates."""
    if scope == "read":
        return _user(actor) is not None
    if scope == "book":
        return can_book(actor)
    if scope == "request":
        return can_send_request(actor)
    if scope == "manage":
        return is_admin(actor) or manages_any_lab(actor)
    return False


# Bookings ---------------------------------------------------------------------------------


def can_book(actor: Actor) -> bool:
    """Any active user with a confirmed address books for their own organisation."""
    user = _user(actor)
    return bool(user and user.is_confirmed)


def can_decide_booking(actor: Actor, booking: Booking) -> bool:
    """The booking lab's managers (and admins) approve, reject, cancel and mark no-shows."""
    return is_admin(actor) or manages_lab(actor, booking.lab_id)


def can_export_usage(actor: Actor) -> bool:
    """Lab managers (and admins) export the usage of their labs' bookings for invoicing;
    the rows are ``managed_bookings``, so a manager never sees another lab's."""
    return is_admin(actor) or manages_any_lab(actor)


def can_view_booking(actor: Actor, booking: Booking) -> bool:
    """Only the requesting organisation and the lab's managers (and admins) see a booking
    (DESIGN rule 6); everyone else gets 404."""
    user = _user(actor)
    if user is None:
        return False
    return user.organisation_id == booking.organisation_id or can_decide_booking(user, booking)


def booking_cancel_deadline(booking: Booking) -> datetime:
    """Until when the requesting organisation may cancel a confirmed booking online: the
    lab's cancellation deadline before the start."""
    return booking.start_at - timedelta(hours=booking.lab.cancel_deadline_hours)


def can_cancel_booking(actor: Actor, booking: Booking, now: datetime) -> bool:
    """An active booking is cancelled by the lab's managers (and admins) at any time, and by
    its organisation while pending or until the cancellation deadline (the cancel button;
    the booking service decides again when it is pressed)."""
    if not booking.is_active:
        return False
    if can_decide_booking(actor, booking):
        return True
    user = _user(actor)
    if user is None or user.organisation_id != booking.organisation_id:
        return False
    return booking.status == BookingStatus.PENDING or now <= booking_cancel_deadline(booking)


def booking_for(actor: Actor, booking_id: int) -> Booking:
    """The booking if the actor may see it, else :class:`NotFound` (no enumeration)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view_booking(actor, booking):
        raise NotFound(booking_id)
    return booking


def visible_bookings(actor: Actor) -> Select[tuple[Booking]]:
    """Bookings of the actor's organisation (the "My bookings" list)."""
    user = _user(actor)
    if user is None:
        return select(Booking).where(Booking.id.is_(None))
    return select(Booking).where(Booking.organisation_id == user.organisation_id)


def managed_bookings(actor: Actor) -> Select[tuple[Booking]]:
    """Bookings of the labs the actor manages (every lab for admins)."""
    user = _user(actor)
    if user is None:
        return select(Booking).where(Booking.id.is_(None))
    if is_admin(user):
        return select(Booking)
    return select(Booking).join(LabManager, LabManager.lab_id == Booking.lab_id).where(
        LabManager.user_id == user.id
    )


# Networks ---------------------------------------------------------------------------------
# A public network is seen by everyone; a members-only one only by its coordinators, the
# managers of its member labs (accepted, on a stage not retired) and admins: for everyone
# else it does not exist (404, and absent from lists, the map, the catalogue filter and lab
# pages). Only a network's coordinators (and admins) change it: 403 on a network one sees
# but does not run. Invitations are answered by the invited lab's managers (and admins);
# everyone else gets 404.


def can_create_network(actor: Actor) -> bool:
    """Users with the coordinator role, and admins."""
    user = _user(actor)
    return bool(user and (user.is_coordinator or user.is_admin))


def coordinates_network(actor: Actor, network_id: int) -> bool:
    """Whether ``actor`` is one of the network's coordinators (False for visitors)."""
    user = _user(actor)
    if user is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        NetworkCoordinator.network_id == network_id, NetworkCoordinator.user_id == user.id))))


def can_run_network(actor: Actor, network: Network) -> bool:
    """The network's coordinators and admins edit it, its stages and its members."""
    return is_admin(actor) or coordinates_network(actor, network.id)


def network_visible_condition(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``Network``: the networks ``actor`` may know exist."""
    user = _user(actor)
    public = Network.visibility == "public"
    if user is None:
        return public
    if user.is_admin:
        return true()
    return or_(
        public,
        exists().where(NetworkCoordinator.network_id == Network.id,
                       NetworkCoordinator.user_id == user.id),
        exists().where(NetworkMember.network_id == Network.id,
                       NetworkMember.status == "accepted",
                       NetworkStage.id == NetworkMember.stage_id,
                       NetworkStage.retired_at.is_(None),
                       LabManager.lab_id == NetworkMember.lab_id,
                       LabManager.user_id == user.id),
    )


def visibility_scope(actor: Actor) -> frozenset[int] | None:
    """What ``actor`` may see beyond public data, as a cache key (DESIGN rule 9): the ids
    of the members-only networks they may see, or ``None`` when they see public data only
    (visitors, and everyone who sees no members-only network — they all share one cached
    answer). Drafts are never in lists, the map or the facets (:func:`visible_labs`), so
    members-only networks are the one thing there that depends on who asks. Read at each
    request (one query for a logged-in user), so a membership accepted, a coordinator
    added or a network made members-only changes the key at once."""
    if _user(actor) is None:
        return None
    ids = frozenset(db.session.scalars(select(Network.id).where(
        Network.visibility != "public", network_visible_condition(actor))))
    return ids or None


def can_view_network(actor: Actor, network: Network) -> bool:
    """Public networks to everyone, every network to admins; a members-only one to whom
    :func:`network_visible_condition` lets know it exists."""
    if network.visibility == "public" or is_admin(actor):
        return True
    return bool(db.session.scalar(select(exists().where(
        Network.id == network.id, network_visible_condition(actor)))))


def visible_networks(actor: Actor) -> Select[tuple[Network]]:
    """Networks the actor may see, by name."""
    return select(Network).where(network_visible_condition(actor)).order_by(Network.name,
                                                                           Network.id)


def network_for(actor: Actor, slug: str) -> Network:
    """The network with ``slug`` if the actor may see it, else :class:`NotFound`."""
    network = db.session.scalar(select(Network).where(Network.slug == slug))
    if network is None or not can_view_network(actor, network):
        raise NotFound(slug)
    return network


def run_network_for(actor: Actor, slug: str) -> Network:
    """The network for its coordinators' pages: 404 when hidden, 403 when seen but not run."""
    network = network_for(actor, slug)
    require(can_run_network, actor, network)
    return network


def invitation_for(actor: Actor, member_id: int) -> NetworkMember:
    """A membership row of a lab the actor manages (admins: any), else :class:`NotFound`."""
    member = db.session.get(NetworkMember, member_id)
    if member is None or not (is_admin(actor) or manages_lab(actor, member.lab_id)):
        raise NotFound(member_id)
    return member


# Requests (access, service, joint project) ------------------------------------------------
#
# Parties of a request: the requesting organisation's members (the company side) and the
# managers of the labs it addresses (the lab side). Admins may read every request (no
# actions); everyone else — coordinators included: the dashboard shows aggregates only —
# gets 404 for a request and its messages (DESIGN rule 6).


def can_send_request(actor: Actor) -> bool:
    """Confirmed members of a company or of an academic organisation (university, research
    or technology organisation, public body: ``Organisation.is_academic``) send access,
    service and joint-project requests as customers. Cluster organisations and KIBS
    providers answer requests through their labs; they do not send them."""
    user = _user(actor)
    return bool(user and user.is_confirmed and (
        user.organisation.kind == OrgKind.COMPANY or user.organisation.is_academic))


def is_request_company_side(actor: Actor, request: LabRequest) -> bool:
    """A member of the organisation that sent the request."""
    user = _user(actor)
    return bool(user and user.organisation_id == request.organisation_id)


def request_managed_lab_ids(actor: Actor, request_id: int) -> list[int]:
    """The labs of the request that ``actor`` manages, by id (one query)."""
    user = _user(actor)
    if user is None:
        return []
    return list(db.session.scalars(
        select(RequestLab.lab_id)
        .join(LabManager, LabManager.lab_id == RequestLab.lab_id)
        .where(RequestLab.request_id == request_id, LabManager.user_id == user.id)
        .order_by(RequestLab.id)
    ))


def is_request_party(actor: Actor, request: LabRequest) -> bool:
    """The company side or a manager of one of the request's labs."""
    return is_request_company_side(actor, request) or bool(
        request_managed_lab_ids(actor, request.id))


def _managed(actor: Actor, request: LabRequest, managed_lab_ids: Sequence[int] | None
             ) -> Sequence[int]:
    return (request_managed_lab_ids(actor, request.id) if managed_lab_ids is None
            else managed_lab_ids)


def can_review_request(actor: Actor, request: LabRequest, *,
                       managed_lab_ids: Sequence[int] | None = None) -> bool:
    """A manager of one of the request's labs opens a submitted request for review.
    ``managed_lab_ids`` (:func:`request_managed_lab_ids`) saves the query when known."""
    return (request.status == RequestStatus.SUBMITTED
            and bool(_managed(actor, request, managed_lab_ids)))


def can_confirm_request(actor: Actor, request: LabRequest) -> bool:
    """The company side confirms a request once a lab has accepted."""
    return (request.status == RequestStatus.ACCEPTED
            and is_request_company_side(actor, request))


def can_withdraw_request(actor: Actor, request: LabRequest) -> bool:
    """The company side withdraws a request until it is closed."""
    return request.status in WITHDRAWABLE and is_request_company_side(actor, request)


def can_complete_request(actor: Actor, request: LabRequest, *,
                         managed_lab_ids: Sequence[int] | None = None) -> bool:
    """An active request is marked completed by the company side or by a manager of a lab
    that accepted."""
    if request.status != RequestStatus.ACTIVE:
        return False
    if is_request_company_side(actor, request):
        return True
    accepted = {link.lab_id for link in request.labs if link.answer == LabAnswer.ACCEPTED}
    return bool(accepted.intersection(_managed(actor, request, managed_lab_ids)))


def can_view_request(actor: Actor, request: LabRequest) -> bool:
    """The parties, and admins (read only)."""
    return is_admin(actor) or is_request_party(actor, request)


def request_for(actor: Actor, key: str | int) -> LabRequest:
    """The request by reference (``RQ-2026-000123``) or id if the actor may see it, else
    :class:`NotFound` (no enumeration)."""
    key = str(key).strip()
    if key.isdigit():  # Unicode digits too: parse_id refuses those and ids beyond 64 bits
        request_id = parse_id(key)
        request = db.session.get(LabRequest, request_id) if request_id else None
    elif len(key) <= 20:
        request = db.session.scalar(select(LabRequest).where(LabRequest.reference == key.upper()))
    else:
        request = None
    if request is None or not can_view_request(actor, request):
        raise NotFound(key)
    return request


def can_use_request_inbox(actor: Actor) -> bool:
    """Lab managers (and admins) have a request inbox."""
    return is_admin(actor) or manages_any_lab(actor)


def visible_requests(actor: Actor) -> Select[tuple[LabRequest]]:
    """Requests of the actor's organisation ("My requests")."""
    user = _user(actor)
    if user is None:
        return select(LabRequest).where(LabRequest.id.is_(None))
    return select(LabRequest).where(LabRequest.organisation_id == user.organisation_id)


def inbox_request_labs(actor: Actor) -> Select[tuple[RequestLab]]:
    """The (request, lab) rows of the labs the actor manages (every lab for admins)."""
    user = _user(actor)
    if user is None:
        return select(RequestLab).where(RequestLab.id.is_(None))
    if is_admin(user):
        return select(RequestLab)
    return select(RequestLab).join(LabManager, LabManager.lab_id == RequestLab.lab_id).where(
        LabManager.user_id == user.id)


# Dashboard (the coordinators' dashboard) --------------------------------------------------


def can_view_dashboard(actor: Actor) -> bool:
    """Coordinators and admins see the whole dashboard; lab managers see it limited to the
    labs they manage (:func:`dashboard_lab_scope`); nobody else sees it."""
    user = _user(actor)
    if user is None:
        return False
    return user.is_admin or user.is_coordinator or manages_any_lab(user)


def dashboard_lab_scope(actor: Actor) -> Select[tuple[int]] | None:
    """The labs whose figures the actor's dashboard shows: ``None`` (every lab) for
    coordinators and admins, the ids of the labs they manage for lab managers."""
    user = _user(actor)
    if user is not None and (user.is_admin or user.is_coordinator):
        return None
    return select(LabManager.lab_id).where(LabManager.user_id == (user.id if user else None))


# Lab claims ----------------------------------------------------------------------------------
# An approval claim of a lab is decided by admins and by the coordinators of the networks
# the lab is an accepted member of (on a stage not retired); everyone else, the claimant
# included, gets 404 on it.


def claims_queue_condition(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``LabClaim``: the claims ``actor`` decides."""
    user = _user(actor)
    if user is None:
        return LabClaim.id.is_(None)
    if user.is_admin:
        return true()
    if not user.is_coordinator:
        return LabClaim.id.is_(None)
    return exists().where(NetworkMember.lab_id == LabClaim.lab_id,
                          NetworkMember.status == "accepted",
                          NetworkStage.id == NetworkMember.stage_id,
                          NetworkStage.retired_at.is_(None),
                          NetworkCoordinator.network_id == NetworkMember.network_id,
                          NetworkCoordinator.user_id == user.id)


def can_view_claims(actor: Actor) -> bool:
    """Admins and coordinators have a queue of lab claims (a coordinator's holds the labs of
    their networks)."""
    user = _user(actor)
    return bool(user and (user.is_admin or user.is_coordinator))


def can_decide_claim(actor: Actor, claim: LabClaim) -> bool:
    """Admins, and the coordinators of a network the claimed lab is a member of."""
    return bool(can_view_claims(actor) and db.session.scalar(select(exists().where(
        LabClaim.id == claim.id, claims_queue_condition(actor)))))


def claim_for(actor: Actor, claim_id: int) -> LabClaim:
    """A claim the actor decides, else :class:`NotFound` (others may not know of it)."""
    claim = db.session.get(LabClaim, claim_id)
    if claim is None or not can_decide_claim(actor, claim):
        raise NotFound(claim_id)
    return claim


# Accreditations ------------------------------------------------------------------------------
# A lab's managers claim and answer; verifiers (and admins) work the queue, but never on a
# claim of a lab they manage. Evidence is seen by the lab's managers, verifiers and admins;
# others get 404 for a claim (they may not know it exists).


def is_verifier(actor: Actor) -> bool:
    """Verifiers and admins work the accreditation queue."""
    user = _user(actor)
    return bool(user and (user.is_verifier or user.is_admin))


def can_decide_accreditation(actor: Actor, acc: Accreditation) -> bool:
    """Verify, reject, ask, suspend, withdraw: a verifier who does not manage the lab."""
    return is_verifier(actor) and not manages_lab(actor, acc.lab_id)


def can_see_accreditation(actor: Actor, acc: Accreditation) -> bool:
    """The claim page and its evidence: the lab's managers, verifiers and admins."""
    return is_verifier(actor) or manages_lab(actor, acc.lab_id)


def accreditation_for(actor: Actor, accreditation_id: int) -> Accreditation:
    """A claim the actor may see (with its evidence), else :class:`NotFound`."""
    acc = db.session.get(Accreditation, accreditation_id)
    if acc is None or not can_see_accreditation(actor, acc):
        raise NotFound(accreditation_id)
    return acc


# --- the LabNet excellence label ---------------------------------------------------------
# Verifiers (is_verifier) score applications, never of a lab they manage.


def can_apply_label(actor: Actor, lab: Lab) -> bool:
    """A lab's managers (and admins) apply for the label and write its drafts."""
    return can_manage_lab(actor, lab)


def can_edit_label_application(actor: Actor, application: LabelApplication) -> bool:
    """Only a draft is written, by the lab's managers and admins."""
    return application.status == LabelStatus.DRAFT and can_manage_lab(actor, application.lab)


def can_view_label_application(actor: Actor, application: LabelApplication) -> bool:
    """The lab's managers and admins see their application (and its evidence) in every
    state; verifiers once it is submitted. Nobody else learns it exists."""
    if can_manage_lab(actor, application.lab):
        return True
    return application.status != LabelStatus.DRAFT and is_verifier(actor)


def can_score_label(actor: Actor, application: LabelApplication) -> bool:
    """A verifier who neither manages the lab nor wrote the application (an admin may
    write one) scores a submitted application (the service decides which seat is free and
    refuses a second score)."""
    user = _user(actor)
    return (application.status in (LabelStatus.SUBMITTED, LabelStatus.THIRD)
            and user is not None and application.created_by_id != user.id
            and is_verifier(actor) and not manages_lab(actor, application.lab_id))


def label_application_for(actor: Actor, application_id: int) -> LabelApplication:
    """The application, or ``NotFound`` for anyone who may not see it."""
    application = db.session.get(LabelApplication, application_id)
    if application is None or not can_view_label_application(actor, application):
        raise NotFound("label application")
    return application


@dataclass(frozen=True)
class EvidenceFile:
    """A stored evidence PDF and the name it is sent under."""

    stored_name: str
    download_name: str
    inline: bool


def evidence_for(actor: Actor, stored_name: str) -> EvidenceFile:
    """The evidence file ``stored_name`` (``services.accreditation.evidence``) if the actor
    may read what it belongs to — a claim (:func:`can_see_accreditation`) or a label answer
    (:func:`can_view_label_application`) — else :class:`NotFound`."""
    if stored_name:
        acc = db.session.scalar(select(Accreditation)
                                .where(Accreditation.evidence_file == stored_name))
        if acc is not None and can_see_accreditation(actor, acc):
            return EvidenceFile(stored_name, f"evidence-{acc.id}.pdf", inline=True)
        answer = db.session.scalar(select(LabelAnswer)
                                   .where(LabelAnswer.evidence_file == stored_name))
        if answer is not None:
            application = db.session.get(LabelApplication, answer.application_id)
            if application is not None and can_view_label_application(actor, application):
                return EvidenceFile(stored_name,
                                    f"{application.lab.slug}-{answer.criterion}.pdf",
                                    inline=False)
    raise NotFound("evidence")


# --- Projects and events -------------------------------------------------
# Projects are public. An event is edited by whoever organises it: a manager of an
# organising lab, a coordinator of an organising network, a manager of an organising
# project, and admins. Drafts are seen by those only; published and cancelled events by all.


def manages_project(actor: Actor, project_id: int) -> bool:
    """Whether ``actor`` holds the project-manager role of project ``project_id``."""
    user = _user(actor)
    if user is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        ProjectManager.project_id == project_id, ProjectManager.user_id == user.id))))


def can_create_project(actor: Actor) -> bool:
    """Any logged-in member of an organisation registers a project (and then manages it)."""
    return is_member(actor)


def can_manage_project(actor: Actor, project: Project) -> bool:
    """A project's managers and admins edit it, its partners and its managers, and
    organise events in its name."""
    return is_admin(actor) or manages_project(actor, project.id)


def project_for(actor: Actor, slug: str) -> Project:
    """The project with ``slug`` (projects are public), else :class:`NotFound`."""
    project = db.session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise NotFound(slug)
    return project


def managed_project_for(actor: Actor, slug: str) -> Project:
    """The project for its managers' pages: 404 when unknown, 403 when not managed."""
    project = project_for(actor, slug)
    require(can_manage_project, actor, project)
    return project


def event_editor_condition(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``Event``: the events ``actor`` may edit (see the module note)."""
    user = _user(actor)
    if user is None:
        return false()
    if user.is_admin:
        return true()
    return exists().where(
        EventOrganiser.event_id == Event.id,
        or_(
            EventOrganiser.lab_id.in_(
                select(LabManager.lab_id).where(LabManager.user_id == user.id)),
            EventOrganiser.network_id.in_(
                select(NetworkCoordinator.network_id).where(
                    NetworkCoordinator.user_id == user.id)),
            EventOrganiser.project_id.in_(
                select(ProjectManager.project_id).where(ProjectManager.user_id == user.id)),
        ),
    )


def can_edit_event(actor: Actor, event: Event) -> bool:
    """May ``actor`` edit, publish or cancel ``event`` and see its attendees (one query)."""
    if _user(actor) is None:
        return False
    if is_admin(actor):
        return True
    return bool(db.session.scalar(select(exists().where(
        Event.id == event.id, event_editor_condition(actor)))))


def can_organise_for(actor: Actor, organiser: Lab | Network | Project) -> bool:
    """May ``actor`` create an event in the name of (or add as co-organiser) this lab,
    network or project."""
    if isinstance(organiser, Lab):
        return can_manage_lab(actor, organiser)
    if isinstance(organiser, Network):
        return can_run_network(actor, organiser)
    return can_manage_project(actor, organiser)


def listed_event_condition() -> ColumnElement[bool]:
    """SQL condition on ``Event``: what everyone may see (published or cancelled)."""
    return Event.status.in_(("published", "cancelled"))


def can_view_event(actor: Actor, event: Event) -> bool:
    """Published and cancelled events are public; drafts are seen by their editors."""
    return event.status != "draft" or can_edit_event(actor, event)


def event_for(actor: Actor, slug: str) -> Event:
    """The event with ``slug`` if the actor may see it, else :class:`NotFound`."""
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None or not can_view_event(actor, event):
        raise NotFound(slug)
    return event


def edited_event_for(actor: Actor, slug: str) -> Event:
    """The event for its organisers' pages: 404 when hidden, 403 when seen but not edited."""
    event = event_for(actor, slug)
    require(can_edit_event, actor, event)
    return event


def can_see_online_url(actor: Actor, event: Event) -> bool:
    """The online link goes to the event's editors and to people holding a seat
    (registered); not to those waiting, nor to visitors."""
    return holds_seat(actor, event) or can_edit_event(actor, event)


# --- Registration, training and qualifications ------------------------------------------


def can_register(actor: Actor) -> bool:
    """Any active user with a confirmed address registers for events (as for bookings)."""
    return can_book(actor)


def holds_seat(actor: Actor, event: Event) -> bool:
    """Whether ``actor`` is registered for ``event`` (a seat, not a place on the waiting
    list nor an open offer)."""
    user = _user(actor)
    if user is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        Registration.event_id == event.id, Registration.user_id == user.id,
        Registration.status == "registered"))))


# Meetings between participants of an event ------------------------------------
# The Meet page is for the people registered for a published event, and its organisers (its
# editors) see its figures; a draft event is 404 for everyone but its editors, a published
# one 403 for everyone else. A meeting is known only to its two people (404 for the rest).


def can_meet(actor: Actor, event: Event) -> bool:
    """People registered for a published (not cancelled) event publish a profile on its
    Meet page and arrange meetings there."""
    return event.status == "published" and holds_seat(actor, event)


def can_see_meeting_figures(actor: Actor, event: Event) -> bool:
    """The event's organisers (its editors, admins included) see how many meetings took
    place."""
    return can_edit_event(actor, event)


def meet_event_for(actor: Actor, slug: str) -> Event:
    """The event of a Meet page: 404 when missing or a draft the actor does not organise,
    403 when the actor may neither meet there nor see its figures."""
    event = event_for(actor, slug)
    if not (can_meet(actor, event) or can_see_meeting_figures(actor, event)):
        raise PermissionDenied(slug)
    return event
