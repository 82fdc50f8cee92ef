"""Requests: access, service and joint-project requests from a company to labs.

Every write to a request, a lab's answer or a message goes through here. The API::

    create_request(user, NewRequest(kind=…, lab_ids=…, title=…, summary=…, …), *, now)
        -> LabRequest                     # NewRequest: the form's fields, per kind
    resolve_labs(slugs) -> list[Lab]                 # the form's ?lab=… values, published only
    start_review(user, request, *, now) -> LabRequest          # lab side: submitted → in_review
    answer(user, request, lab, accept, message, *, now) -> LabRequest   # one lab's answer
    post_message(user, request, body, *, lab=None, now) -> RequestMessage
    confirm(user, request, *, now) -> LabRequest               # company: accepted → active
    withdraw(user, request, *, now) -> LabRequest              # company, before completed
    complete(user, request, *, now) -> LabRequest              # either side: active → completed
    load_request(request_id) -> LabRequest                     # with labs, org, requester

``request`` and ``lab`` may be given as objects or ids. Callers commit; nothing is written
when a function raises.

The workflow (RequestStatus)::

    submitted ─▶ in_review ─▶ accepted ─▶ active ─▶ completed
        │            │            │          │
        └────────────┴──▶ declined (every lab declined)
        withdrawn: by the company from submitted, in_review, accepted or active

- ``in_review``: the first lab-side action — a manager opens it for review, answers, or
  writes a message. That first action also stamps ``first_response_at``.
- Each lab answers once (``request_lab.answer``: pending → accepted | declined), while the
  request is submitted, in review or accepted. The request is ``accepted`` as soon as one
  lab accepts, ``declined`` when every lab has declined. ``decided_at`` is the first
  accept, or the last decline.
- ``active`` needs at least one accept and the company's confirmation (``confirmed_at``);
  labs that had not answered by then can no longer answer.
- ``completed``: marked by the company side or by a manager of a lab that accepted, once
  active. ``closed_at`` is stamped on declined, withdrawn and completed; closed requests'
  threads are read only.

Who: the company side is every member of the requesting organisation (like bookings);
the lab side is the managers of the labs the request addresses. Admins read requests but
act on none (they are not a party). Refusals: :class:`PermissionDenied` for a non-party,
:class:`RuleViolation` naming the field for a broken rule.

Every state change takes the request's row lock first (an UPDATE of
``last_activity_at``), then moves the status compare-and-set (``UPDATE … WHERE status =
old``), so two clicks or two managers act once; it records an audit event and queues the
e-mails to the other parties in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import joinedload, selectinload

from labnet.errors import NotFound, PermissionDenied, RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, _l, current_language, number
from labnet.models import Equipment, KetArea, Lab, LabManager, User
from labnet.models.request import (
    ANSWERABLE,
    FUNDING_PROGRAMMES,
    OPEN_STATUSES,
    REQUEST_STATUS_LABELS,
    THREAD_OPEN,
    WITHDRAWABLE,
    LabAnswer,
    LabRequest,
    RequestKind,
    RequestLab,
    RequestMessage,
    RequestStatus,
)
from labnet.permissions import (
    can_send_request,
    can_view_equipment,
    can_view_request,
    inbox_request_labs,
    is_admin,
    is_request_company_side,
    listed_lab_condition,
    managed_labs,
    request_managed_lab_ids,
    require,
    visible_requests,
)
from labnet.services.catalogue.labs.reach import (
    CONTACT,
    claim_url,
    reach_of,
    require_reachable,
)
from labnet.services.catalogue.labs.team import manager_addresses
from labnet.services.common import audit
from labnet.services.common.text import control_problem
from labnet.services.notifications.outbox import enqueue_email

MAX_TEXT = 5000  # summary, message, answer: characters
MAX_TITLE = 200
MAX_QUANTITY = 120
MAX_LABS = 10
MAX_BUDGET = 1_000_000_000
MAX_DURATION_MONTHS = 120

#: A lab's answer to a request as people read it.
ANSWER_LABELS: dict[str, Any] = {
    LabAnswer.PENDING: _l("pending"),
    LabAnswer.ACCEPTED: _l("accepted"),
    LabAnswer.DECLINED: _l("declined"),
}

# The refusal of a text over its limit, by what the text is (``what`` of :func:`_text`).
_TOO_LONG = {
    "this text": _l("Keep this text under %(limit)s characters (it has %(count)s)."),
    "the title": _l("Keep the title under %(limit)s characters (it has %(count)s)."),
    "the description": _l("Keep the description under %(limit)s characters "
                          "(it has %(count)s)."),
    "the quantity": _l("Keep the quantity under %(limit)s characters (it has %(count)s)."),
    "the message": _l("Keep the message under %(limit)s characters (it has %(count)s)."),
}


class StatusWord:
    """A request status as it reads inside a sentence ("This request is in review: …"),
    written when the sentence is read, in the reader's language: the status label in
    lower case (German keeps the label's capitals; its sentences quote the label)."""

    def __init__(self, status: str) -> None:
        self.status = status

    def __str__(self) -> str:
        try:
            label = str(REQUEST_STATUS_LABELS[RequestStatus(self.status)])
        except ValueError:
            return str(self.status)
        return label if current_language() == "de" else label.lower()


def _id(obj: Any) -> int:
    return obj if isinstance(obj, int) else obj.id


def _text(value: str | None, field: str, *, required: str | None, limit: int,
          what: str = "this text", one_line: bool = False) -> str:
    value = (value or "").strip()
    control = control_problem(value, one_line=one_line)  # the one rule (services.common.text)
    if control:
        raise RuleViolation(field, control)
    if required and not value:
        raise RuleViolation(field, required)
    if len(value) > limit:
        raise RuleViolation(field, str(_TOO_LONG[what]) % {
            "limit": number(limit), "count": number(len(value))})
    return value


# --- loading -------------------------------------------------------------------------------


def load_request(request_id: int) -> LabRequest:
    """The request with its labs, organisation and requester (fresh from the database)."""
    found = db.session.scalars(
        select(LabRequest)
        .options(selectinload(LabRequest.labs).joinedload(RequestLab.lab),
                 joinedload(LabRequest.organisation), joinedload(LabRequest.created_by))
        .where(LabRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if found is None:
        raise NotFound(request_id)
    return found


def _lock(request_id: int, now: datetime) -> LabRequest:
    # The first write of the transaction: every writer of this request queues here (the
    # row lock on PostgreSQL, the write lock on SQLite), so what we read next is current.
    result = cast(CursorResult[Any], db.session.execute(
        update(LabRequest).where(LabRequest.id == request_id)
        .values(last_activity_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise NotFound(request_id)
    return load_request(request_id)


def _move(req: LabRequest, new: RequestStatus, *, now: datetime, **values: Any) -> bool:
    """Compare-and-set: ``req`` goes to ``new`` only if its status is still the one read."""
    result = cast(CursorResult[Any], db.session.execute(
        update(LabRequest)
        .where(LabRequest.id == req.id, LabRequest.status == req.status)
        .values(status=new, updated_at=now, last_activity_at=now, **values)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        return False
    db.session.refresh(req)
    return True


_CHANGED = _l("This request is %(status)s: it changed a moment ago.")


def _status_refusal(req: LabRequest, message: Any) -> RuleViolation:
    """``message``: a lazy sentence naming the request's ``%(status)s``."""
    return RuleViolation("status", str(message) % {"status": StatusWord(req.status)})


# --- who ---------------------------------------------------------------------------------


def _company_side(user: User, req: LabRequest) -> bool:
    return is_request_company_side(user, req)


def _managed(user: User, req: LabRequest) -> list[int]:
    return request_managed_lab_ids(user, req.id)


def _require_party(user: User, req: LabRequest) -> list[int]:
    """The involved labs the user manages; :class:`NotFound` for someone who may not see
    the request, :class:`PermissionDenied` for an admin who is no party."""
    managed = _managed(user, req)
    if not managed and not _company_side(user, req):
        if can_view_request(user, req):
            raise PermissionDenied("request party")
        raise NotFound(req.id)
    return managed


def _require_company(user: User, req: LabRequest, doing: str) -> None:
    _require_party(user, req)
    if not _company_side(user, req):
        raise PermissionDenied(f"Only the requesting company can {doing}.")


def _require_lab_manager(user: User, req: LabRequest, lab_id: int | None) -> int:
    """The lab (of the request) the user acts for."""
    managed = _require_party(user, req)
    if lab_id is None:
        if len(managed) != 1:
            if not managed:
                raise PermissionDenied("Only the labs' managers can do this.")
            raise RuleViolation("lab", _("Say which of your labs you act for."))
        return managed[0]
    if lab_id not in managed:
        if not managed:
            raise PermissionDenied("Only the labs' managers can do this.")
        raise RuleViolation("lab", _("You do not manage this lab of the request."))
    return lab_id


# --- e-mail ---------------------------------------------------------------------------------


def _party_addresses(req: LabRequest, *, lab_ids: Iterable[int] | None = None) -> list[str]:
    """The requester and the active managers of the request's labs (or of ``lab_ids``)."""
    ids = list(lab_ids) if lab_ids is not None else [link.lab_id for link in req.labs]
    to = set(manager_addresses(ids))
    if req.created_by.is_active:
        to.add(req.created_by.email)
    return sorted(to)


def _notify(kind: str, req: LabRequest, subject: Any, actor: User | None, *, now: datetime,
            to: list[str] | None = None, action_required: bool = False, **extra: Any) -> None:
    """E-mail every party but the actor (or ``to``), in the caller's transaction.
    ``subject`` and the texts among ``extra`` are lazy: read in each recipient's language."""
    addresses = to if to is not None else _party_addresses(req)
    for address in addresses:
        if actor is not None and address == actor.email:
            continue
        enqueue_email(kind, address, subject,
                      {"req": req, "actor": actor, **extra}, now=now,
                      action_required=action_required, why=_why(req, address))


def _why(req: LabRequest, address: str) -> Any:
    if address == req.created_by.email:
        return _l("You receive this because you sent request %(ref)s on LabNet.",
                  ref=req.reference)
    return _l("You receive this because you manage a lab that request %(ref)s is addressed "
              "to on LabNet.", ref=req.reference)


def _status_changed(req: LabRequest, actor: User | None, headline: Any, *, now: datetime,
                    note: str = "") -> None:
    _notify("request_status", req,
            _l("Request %(ref)s %(status)s: %(title)s", ref=req.reference,
               status=StatusWord(req.status), title=req.title),
            actor, now=now, headline=headline, note=note)


# --- creating ------------------------------------------------------------------------------


def resolve_labs(slugs: Sequence[str]) -> list[Lab]:
    """Published labs for the form's ``lab`` values, in the order given, without repeats.

    :raises RuleViolation: (field ``lab``) naming a value that is no published lab.
    """
    wanted: list[str] = []
    for slug in slugs:
        slug = (slug or "").strip()
        if slug and slug not in wanted:
            wanted.append(slug[:120])
    if not wanted:
        return []
    if len(wanted) > MAX_LABS:
        raise RuleViolation("lab", _("A joint project may address at most %(max)s labs.",
                                     max=MAX_LABS))
    found = get_listed_labs(wanted)
    for slug in wanted:
        if slug not in found:
            raise RuleViolation("lab", _("There is no published lab “%(slug)s”.", slug=slug))
    return [found[s] for s in wanted]


@dataclass(frozen=True)
class NewRequest:
    """What a company asks for, as the form gives it; :func:`create_request` checks it.

    Every kind has ``kind`` (``access``, ``service`` or ``joint_project``), ``lab_ids``
    (one lab, or up to :data:`MAX_LABS` for a joint project), ``title``, ``summary`` and
    optionally ``equipment_id`` (one of the chosen labs' equipment). A service request
    also names ``quantity`` and ``deadline``; a joint project its KET area, budget range,
    duration, funding programme and current and targeted TRL. The joint-project fields
    of another kind are dropped, not stored.
    """

    kind: str
    lab_ids: Sequence[int]
    title: str
    summary: str
    equipment_id: int | None = None
    # service (``quantity`` may be given for access too)
    quantity: str = ""
    deadline: date | None = None
    # joint project
    ket_code: str | None = None
    budget_min_eur: int | None = None
    budget_max_eur: int | None = None
    duration_months: int | None = None
    funding_programme: str = ""
    trl_now: int | None = None
    trl_target: int | None = None


def _project_terms(new: NewRequest, problems: list[RuleViolation]) -> dict[str, Any]:
    """The joint-project columns of ``new``; each broken rule is added to ``problems``.

    Only the KET area is required. Budget, duration, funding programme and TRLs may be
    "not decided yet": stored as unknown (NULL, or an empty funding programme) and shown
    as such. Given values must make sense: amounts and a duration in range, a budget range
    and a TRL pair in order, a funding programme from the list.
    """
    if not new.ket_code:
        problems.append(RuleViolation("ket_code",
                                      _("Choose the project's Key Enabling Technology.")))
    elif db.session.get(KetArea, new.ket_code) is None:
        problems.append(RuleViolation("ket_code",
                                      _("Choose a Key Enabling Technology from the list.")))
    budget_min_eur, budget_max_eur = new.budget_min_eur, new.budget_max_eur
    in_range = True
    for field, value in (("budget_min_eur", budget_min_eur),
                         ("budget_max_eur", budget_max_eur)):
        if value is not None and not 0 <= value <= MAX_BUDGET:
            in_range = False
            problems.append(RuleViolation(field, _("Give an amount in euros between 0 and "
                                                   "%(max)s.", max=number(MAX_BUDGET))))
    if (in_range and budget_min_eur is not None and budget_max_eur is not None
            and budget_min_eur > budget_max_eur):
        problems.append(RuleViolation("budget_max_eur",
                                      _("The maximum budget is below the minimum.")))
    duration_months = new.duration_months
    if duration_months is not None and not 1 <= duration_months <= MAX_DURATION_MONTHS:
        problems.append(RuleViolation("duration_months", _(
            "Give a duration between 1 and %(max)s months.", max=MAX_DURATION_MONTHS)))
    if new.funding_programme and new.funding_programme not in FUNDING_PROGRAMMES:
        problems.append(RuleViolation("funding_programme",
                                      _("Choose a funding programme from the list.")))
    trl_now, trl_target = new.trl_now, new.trl_target
    trls_ok = True
    for field, value, refusal in (("trl_now", trl_now, _l("Choose the current TRL, 1 to 9.")),
                                  ("trl_target", trl_target,
                                   _l("Choose the targeted TRL, 1 to 9."))):
        if value is not None and not 1 <= value <= 9:
            trls_ok = False
            problems.append(RuleViolation(field, str(refusal)))
    if trls_ok and trl_now is not None and trl_target is not None and trl_target < trl_now:
        problems.append(RuleViolation("trl_target",
                                      _("The targeted TRL is below the current one.")))
    return {"ket_code": new.ket_code, "budget_min_eur": budget_min_eur,
            "budget_max_eur": budget_max_eur, "duration_months": duration_months,
            "funding_programme": new.funding_programme, "trl_now": trl_now,
            "trl_target": trl_target}


# Fields of a joint project only; a forged form cannot store them on other kinds.
_NO_PROJECT_TERMS: dict[str, Any] = {
    "ket_code": None, "budget_min_eur": None, "budget_max_eur": None,
    "duration_months": None, "funding_programme": "", "trl_now": None, "trl_target": None}


def create_request(user: User, new: NewRequest, *, now: datetime) -> LabRequest:
    """Send a request from the user's organisation to one lab (access, service) or one or
    more labs (joint project); every lab's managers get an e-mail, the sender a receipt.

    :raises PermissionDenied: unless the user may send requests (a confirmed member of a
        company organisation).
    :raises RuleViolation: naming the field: a missing field, a lab that does not exist or
        is a draft, a budget range reversed, a TRL target below the current TRL, a deadline
        in the past, a text over the size limit — all of them at once (``RuleViolations``)
        once the kind and at least one lab are known.
    """
    require(can_send_request, user)
    try:
        kind = RequestKind(new.kind)
    except ValueError:
        raise RuleViolation("kind", _("Choose access, service or joint project.")) from None
    ids: list[int] = []
    for lab_id in new.lab_ids:
        if lab_id not in ids:
            ids.append(lab_id)
    if not ids:
        raise RuleViolation("lab", _("Choose the lab to send this request to.")
                            if kind != RequestKind.JOINT_PROJECT else
                            _("Choose at least one lab for the joint project."))
    # Every broken rule is collected and refused at once (one per field), so a person
    # mends the form in one go, not one error per submit.
    problems: list[RuleViolation] = []
    labs: dict[int, Lab] = {}
    if kind != RequestKind.JOINT_PROJECT and len(ids) > 1:
        problems.append(RuleViolation("lab", _("An access or service request goes to one "
                                               "lab; propose a joint project to work with "
                                               "several.")))
    elif len(ids) > MAX_LABS:
        problems.append(RuleViolation("lab", _("A joint project may address at most "
                                               "%(max)s labs.", max=MAX_LABS)))
    else:
        labs = {lab.id: lab for lab in db.session.scalars(
            select(Lab).where(Lab.id.in_(ids), listed_lab_condition()))}
        if len(labs) != len(ids):
            problems.append(RuleViolation("lab", _("One of the labs does not exist or is not "
                                                   "published.")))
        else:
            # DESIGN rule 8: refused before anything is written when a lab has nobody to
            # receive it.
            try:
                require_reachable(reach_of(labs[i] for i in ids).values(), field="lab",
                                  what="request")
            except RuleViolation as exc:
                problems.append(exc)
    if kind == RequestKind.ACCESS:
        title_msg = _("Say which capability or facility you need access to.")
    elif kind == RequestKind.SERVICE:
        title_msg = _("Say what the lab should test, analyse or make.")
    else:
        title_msg = _("Give the project a title.")
    title = summary = quantity = ""
    try:
        title = " ".join(_text(new.title, "title", required=title_msg, limit=MAX_TITLE,
                               what="the title", one_line=True).split())
    except RuleViolation as exc:
        problems.append(exc)
    try:
        summary = _text(new.summary, "summary", required=_("Describe what you need."),
                        limit=MAX_TEXT, what="the description")
    except RuleViolation as exc:
        problems.append(exc)
    try:
        quantity = " ".join(_text(new.quantity, "quantity", required=(
            _("Say how many (samples, parts, hours…).") if kind == RequestKind.SERVICE
            else None),
            limit=MAX_QUANTITY, what="the quantity", one_line=True).split())
    except RuleViolation as exc:
        problems.append(exc)
    deadline = new.deadline
    if kind == RequestKind.SERVICE and deadline is None:
        problems.append(RuleViolation("deadline", _("Give the date you need the results by.")))
    elif deadline is not None and deadline < now.date():
        problems.append(RuleViolation("deadline", _("The deadline is in the past.")))
    equipment = None
    if new.equipment_id is not None and labs:
        equipment = db.session.scalar(
            select(Equipment).options(joinedload(Equipment.lab))
            .where(Equipment.id == new.equipment_id))
        if (equipment is None or equipment.lab_id not in labs
                or not can_view_equipment(user, equipment)):
            problems.append(RuleViolation("equipment",
                                          _("This equipment is not one of the chosen lab's.")))
    terms = (_project_terms(new, problems) if kind == RequestKind.JOINT_PROJECT
             else _NO_PROJECT_TERMS)
    raise_all(problems)
    reach = reach_of(labs[i] for i in ids)  # who receives it, per lab (rule 8)
    assert equipment is None or equipment.lab_id in labs
    req = LabRequest(
        kind=kind, status=RequestStatus.SUBMITTED, organisation_id=user.organisation_id,
        created_by_id=user.id, title=title, summary=summary,
        equipment_id=equipment.id if equipment else None, quantity=quantity,
        deadline=deadline, **terms, created_at=now, updated_at=now, last_activity_at=now,
    )
    db.session.add(req)
    db.session.flush()
    req.reference = f"RQ-{now.year}-{req.id:06d}"
    for lab_id in ids:
        db.session.add(RequestLab(request_id=req.id, lab_id=lab_id, answer=LabAnswer.PENDING,
                                  answer_message=""))
    db.session.flush()
    audit.record(user, "request.submitted", "lab_request", req.id, now=now, kind=str(kind),
                 labs=ids)
    req = load_request(req.id)
    _notify("request_new", req, _NEW_SUBJECTS[RequestKind(req.kind)](req), user, now=now,
            to=_party_addresses(req), action_required=True, equipment=equipment)
    for lab_reach in reach.values():
        if lab_reach.kind == CONTACT:
            lab = lab_reach.lab
            enqueue_email(
                "request_to_lab_contact", lab_reach.address,
                _CONTACT_SUBJECTS[RequestKind(req.kind)](req, lab),
                {"req": req, "lab": lab, "actor": user, "claim_url": claim_url(lab)},
                now=now, action_required=True, why=_contact_why(lab_reach.address, lab))
    db.session.flush()
    return req


# The subjects of a new request, by kind (the kind's label inside the sentence).
_NEW_SUBJECTS: dict[RequestKind, Any] = {
    RequestKind.ACCESS: lambda req: _l(
        "New access to a capability or facility request %(ref)s: %(title)s",
        ref=req.reference, title=req.title),
    RequestKind.SERVICE: lambda req: _l(
        "New service (test, analysis, prototype) request %(ref)s: %(title)s",
        ref=req.reference, title=req.title),
    RequestKind.JOINT_PROJECT: lambda req: _l(
        "New joint project request %(ref)s: %(title)s", ref=req.reference, title=req.title),
}
# The subjects of a new request to a lab's public address, by kind.
_CONTACT_SUBJECTS: dict[RequestKind, Any] = {
    RequestKind.ACCESS: lambda req, lab: _l(
        "Access to a capability or facility request for %(lab)s on LabNet: %(title)s",
        lab=lab.name, title=req.title),
    RequestKind.SERVICE: lambda req, lab: _l(
        "Service (test, analysis, prototype) request for %(lab)s on LabNet: %(title)s",
        lab=lab.name, title=req.title),
    RequestKind.JOINT_PROJECT: lambda req, lab: _l(
        "Joint project request for %(lab)s on LabNet: %(title)s", lab=lab.name,
        title=req.title),
}


def _contact_why(address: str, lab: Lab) -> Any:
    """Why a lab's public address receives a request's e-mail (lazy)."""
    return _l("You receive this because %(address)s is the public contact e-mail of %(lab)s "
              "on LabNet, and nobody manages the lab there yet.", address=address,
              lab=lab.name)


def receivers_note(req: LabRequest) -> str:
    """What the sender is told once the request is sent: who received it (DESIGN rule 8)."""
    reach = reach_of(link.lab for link in req.labs)
    contacts = [r.lab.name for r in reach.values() if r.kind == CONTACT]
    note = (_("The lab answers on the request's page; you get an e-mail on every reply.")
            if len(reach) == 1 else
            _("The labs answer on the request's page; you get an e-mail on every reply."))
    if contacts:
        note += " " + _("Not yet managed on LabNet: %(labs)s. We sent it to the public e-mail "
                        "address, asking them to claim the lab on LabNet to answer.",
                        labs=", ".join(contacts))
    return note


# Requests have no deadline of their own: they stay open until a lab answers or the company
# withdraws them. So that nobody waits unseen (DESIGN rule 8), the requester hears once when
# no lab has acted on the request this long after sending it.
UNANSWERED_AFTER = timedelta(days=7)


def tell_unanswered_requesters(*, now: datetime, limit: int = 500) -> int:
    """Job: e-mail the requester of each request still ``submitted`` (no lab has opened,
    answered or written on it) :data:`UNANSWERED_AFTER` after it was sent, once per
    request: who received it, and that they may wait, write, or withdraw it.

    Exactly once: ``UPDATE lab_request SET unanswered_notice_at = :now WHERE id = :id AND
    unanswered_notice_at IS NULL AND status = 'submitted'`` decides, in the transaction of
    the e-mail. Returns how many were told.
    """
    due = list(db.session.scalars(
        select(LabRequest.id).where(LabRequest.status == RequestStatus.SUBMITTED,
                                    LabRequest.unanswered_notice_at.is_(None),
                                    LabRequest.created_at <= now - UNANSWERED_AFTER)
        .order_by(LabRequest.id).limit(limit)))
    told = 0
    for request_id in due:
        claimed = cast(CursorResult[Any], db.session.execute(
            update(LabRequest)
            .where(LabRequest.id == request_id, LabRequest.unanswered_notice_at.is_(None),
                   LabRequest.status == RequestStatus.SUBMITTED)
            .values(unanswered_notice_at=now)
            .execution_options(synchronize_session=False)))
        if claimed.rowcount != 1:
            continue
        req = load_request(request_id)
        if not req.created_by.is_active:
            continue
        reach = reach_of(link.lab for link in req.labs)
        enqueue_email("request_unanswered", req.created_by.email,
                      _l("No answer yet to request %(ref)s: %(title)s", ref=req.reference,
                         title=req.title),
                      {"req": req, "reach": list(reach.values()),
                       "days": UNANSWERED_AFTER.days}, now=now,
                      why=_why(req, req.created_by.email))
        told += 1
    db.session.flush()
    return told


# --- the lab side ----------------------------------------------------------------------------


def _first_response(req: LabRequest, now: datetime) -> None:
    if req.first_response_at is None:
        db.session.execute(
            update(LabRequest).where(LabRequest.id == req.id,
                                     LabRequest.first_response_at.is_(None))
            .values(first_response_at=now).execution_options(synchronize_session=False))
        req.first_response_at = now


def start_review(user: User, request: LabRequest | int, *, now: datetime) -> LabRequest:
    """A manager of one of the request's labs opens it for review: submitted → in_review.

    :raises PermissionDenied: for the company side; :raises RuleViolation: unless submitted.
    """
    req = _lock(_id(request), now)
    if not _require_party(user, req):
        raise PermissionDenied("Only the labs' managers can open a request for review.")
    if req.status != RequestStatus.SUBMITTED:
        raise _status_refusal(req, _l("This request is %(status)s: only a submitted request "
                                      "can be opened for review."))
    _first_response(req, now)
    if not _move(req, RequestStatus.IN_REVIEW, now=now):
        raise _status_refusal(req, _CHANGED)
    audit.record(user, "request.in_review", "lab_request", req.id, now=now)
    _status_changed(req, user, _l("%(name)s is reviewing your request.", name=user.full_name),
                    now=now)
    db.session.flush()
    return req


def answer(user: User, request: LabRequest | int, lab: Lab | int, accept: bool, message: str,
           *, now: datetime) -> LabRequest:
    """One lab accepts or declines (once). The request becomes accepted at the first accept
    and declined when every lab has declined; a decline needs a reason for the company.

    :raises PermissionDenied: unless the user manages ``lab``.
    :raises RuleViolation: ``answer`` when the lab answered already, ``status`` when the
        request no longer takes answers, ``answer_message`` when missing (decline) or too long.
    """
    req = _lock(_id(request), now)
    lab_id = _require_lab_manager(user, req, _id(lab))
    message = _text(message, "answer_message", required=None if accept else
                    _("Tell the company why your lab declines."), limit=MAX_TEXT,
                    what="the message")
    if req.status not in ANSWERABLE:
        raise _status_refusal(req, _l("This request is %(status)s: it no longer takes answers "
                                      "from labs."))
    link = next(link for link in req.labs if link.lab_id == lab_id)
    new_answer = LabAnswer.ACCEPTED if accept else LabAnswer.DECLINED
    result = cast(CursorResult[Any], db.session.execute(
        update(RequestLab)
        .where(RequestLab.id == link.id, RequestLab.answer == LabAnswer.PENDING)
        .values(answer=new_answer, answered_at=now, answered_by_id=user.id,
                answer_message=message)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise RuleViolation("answer", _("%(lab)s has already answered (%(answer)s).",
                                        lab=link.lab.name,
                                        answer=ANSWER_LABELS.get(link.answer, link.answer)))
    db.session.refresh(link)
    _first_response(req, now)
    audit.record(user, f"request.lab_{new_answer}", "lab_request", req.id, now=now,
                 lab_id=lab_id, message=message[:500])
    answers = [link.answer for link in req.labs]
    old = req.status
    if LabAnswer.ACCEPTED in answers and old != RequestStatus.ACCEPTED:
        target: RequestStatus | None = RequestStatus.ACCEPTED
        extra: dict[str, Any] = {"decided_at": req.decided_at or now}
    elif all(a == LabAnswer.DECLINED for a in answers):
        target, extra = RequestStatus.DECLINED, {"decided_at": now, "closed_at": now}
    elif old == RequestStatus.SUBMITTED:
        target, extra = RequestStatus.IN_REVIEW, {}
    else:
        target, extra = None, {}
    if target is not None:
        if not _move(req, target, now=now, **extra):
            raise _status_refusal(req, _CHANGED)
        audit.record(user, f"request.{target}", "lab_request", req.id, now=now)
    names = {"ref": req.reference, "lab": link.lab.name}
    if accept:
        subject = _l("Request %(ref)s: %(lab)s accepted", **names)
        headline = _l("%(lab)s accepted the request.", **names)
    else:
        subject = _l("Request %(ref)s: %(lab)s declined", **names)
        headline = _l("%(lab)s declined the request.", **names)
    _notify("request_status", req, subject, user, now=now, headline=headline, note=message)
    db.session.flush()
    return req


# --- the thread ------------------------------------------------------------------------------


def post_message(user: User, request: LabRequest | int, body: str, *,
                 lab: Lab | int | None = None, now: datetime) -> RequestMessage:
    """Add a message to the thread and e-mail the other parties.

    The author speaks for the company when they are of the requesting organisation and
    name no lab; otherwise for the lab they manage (``lab`` when they manage several). A
    lab's first message moves a submitted request to in review and is its first response.

    :raises RuleViolation: ``body`` empty or over :data:`MAX_TEXT` characters, or the
        request closed.
    """
    req = _lock(_id(request), now)
    managed = _require_party(user, req)
    body = _text(body, "body", required=_("Write a message."), limit=MAX_TEXT,
                 what="the message")
    lab_id: int | None
    if lab is not None:
        lab_id = _require_lab_manager(user, req, _id(lab))
    elif _company_side(user, req):
        lab_id = None
    else:
        lab_id = _require_lab_manager(user, req, managed[0] if len(managed) == 1 else None)
    if req.status not in THREAD_OPEN:
        raise _status_refusal(req, _l("This request is %(status)s: its thread is closed."))
    message = RequestMessage(request_id=req.id, author_id=user.id, lab_id=lab_id, body=body,
                             created_at=now)
    db.session.add(message)
    db.session.flush()
    speaker = req.organisation.name
    if lab_id is not None:
        speaker = next(link.lab.name for link in req.labs if link.lab_id == lab_id)
        _first_response(req, now)
        if req.status == RequestStatus.SUBMITTED and _move(req, RequestStatus.IN_REVIEW,
                                                           now=now):
            audit.record(user, "request.in_review", "lab_request", req.id, now=now)
    _notify("request_message", req,
            _l("New message on request %(ref)s: %(title)s", ref=req.reference,
               title=req.title),
            user, now=now, message=message, speaker=speaker)
    if lab_id is None:
        _tell_unmanaged_labs(req, message, user, now=now)
    db.session.flush()
    return message


def _tell_unmanaged_labs(req: LabRequest, message: RequestMessage, actor: User, *,
                         now: datetime) -> None:
    """The company's message reaches the labs of the request that nobody manages yet at
    their public address, with the claim link, as the request itself did (rule 8): until a
    lab is claimed nobody there could read it on LabNet."""
    for lab_reach in reach_of(link.lab for link in req.labs).values():
        if lab_reach.kind != CONTACT:
            continue
        lab = lab_reach.lab
        enqueue_email(
            "request_message_to_lab_contact", lab_reach.address,
            _l("New message on the request to %(lab)s on LabNet: %(title)s", lab=lab.name,
               title=req.title),
            {"req": req, "lab": lab, "actor": actor, "message": message,
             "claim_url": claim_url(lab)},
            now=now, why=_contact_why(lab_reach.address, lab))


# --- the company side ------------------------------------------------------------------------


def confirm(user: User, request: LabRequest | int, *, now: datetime) -> LabRequest:
    """The company starts the work with the labs that accepted: accepted → active."""
    req = _lock(_id(request), now)
    _require_company(user, req, "confirm the request")
    if req.status != RequestStatus.ACCEPTED:
        raise _status_refusal(req, _l("This request is %(status)s: it can be confirmed once at "
                                      "least one lab has accepted."))
    if not _move(req, RequestStatus.ACTIVE, now=now, confirmed_at=now):
        raise _status_refusal(req, _CHANGED)
    audit.record(user, "request.active", "lab_request", req.id, now=now)
    accepted = [link.lab_id for link in req.labs if link.answer == LabAnswer.ACCEPTED]
    _notify("request_status", req,
            _l("Request %(ref)s confirmed: %(title)s", ref=req.reference, title=req.title),
            user, now=now, to=_party_addresses(req, lab_ids=accepted),
            headline=_l("%(organisation)s confirmed the request: the work can start.",
                        organisation=req.organisation.name),
            note="")
    db.session.flush()
    return req


def withdraw(user: User, request: LabRequest | int, *, now: datetime) -> LabRequest:
    """The company withdraws the request, at any time before it is completed."""
    req = _lock(_id(request), now)
    _require_company(user, req, "withdraw the request")
    if req.status not in WITHDRAWABLE:
        raise _status_refusal(req, _l("This request is %(status)s: it can no longer be "
                                      "withdrawn."))
    if not _move(req, RequestStatus.WITHDRAWN, now=now, closed_at=now):
        raise _status_refusal(req, _CHANGED)
    audit.record(user, "request.withdrawn", "lab_request", req.id, now=now)
    _status_changed(req, user, _l("%(organisation)s withdrew the request.",
                                  organisation=req.organisation.name), now=now)
    db.session.flush()
    return req


def complete(user: User, request: LabRequest | int, *, now: datetime) -> LabRequest:
    """Either side marks an active request completed: the company side, or a manager of a
    lab that accepted."""
    req = _lock(_id(request), now)
    managed = _require_party(user, req)
    accepted = {link.lab_id for link in req.labs if link.answer == LabAnswer.ACCEPTED}
    if not _company_side(user, req) and not accepted.intersection(managed):
        raise RuleViolation("status", _("Only the company or a lab that accepted can mark "
                                        "the request completed."))
    if req.status != RequestStatus.ACTIVE:
        raise _status_refusal(req, _l("This request is %(status)s: only an active request can "
                                      "be marked completed."))
    if not _move(req, RequestStatus.COMPLETED, now=now, closed_at=now):
        raise _status_refusal(req, _CHANGED)
    audit.record(user, "request.completed", "lab_request", req.id, now=now)
    _status_changed(req, user, _l("%(name)s marked the request completed.",
                                  name=user.full_name), now=now)
    db.session.flush()
    return req


# --- reading -----------------------------------------------------------------------------------


def thread(request_id: int) -> list[RequestMessage]:
    """The request's messages, oldest first, with authors and labs."""
    return list(db.session.scalars(
        select(RequestMessage)
        .options(joinedload(RequestMessage.author), joinedload(RequestMessage.lab))
        .where(RequestMessage.request_id == request_id)
        .order_by(RequestMessage.created_at, RequestMessage.id)
    ))


def count_open_inbox(user_id: int) -> Select[tuple[int]]:
    """The count of requests waiting for an answer from a lab user ``user_id`` manages."""
    return (select(func.count(RequestLab.id))
            .join(LabManager, LabManager.lab_id == RequestLab.lab_id)
            .join(LabRequest, LabRequest.id == RequestLab.request_id)
            .where(LabManager.user_id == user_id, RequestLab.answer == LabAnswer.PENDING,
                   LabRequest.status.in_(ANSWERABLE)))


def open_inbox_count(user: User) -> int:
    """Requests waiting for an answer from a lab the user manages (the navigation badge)."""
    return int(db.session.scalar(count_open_inbox(user.id)) or 0)


def get_listed_labs(slugs: Sequence[str]) -> dict[str, Lab]:
    """The published labs among ``slugs``, by slug, with their organisation."""
    if not slugs:
        return {}
    return {lab.slug: lab for lab in db.session.scalars(
        select(Lab).options(joinedload(Lab.organisation))
        .where(Lab.slug.in_(slugs), listed_lab_condition()))}


def _last_activity() -> ColumnElement[datetime]:
    # Rows written in bulk (demo, benchmarks) may have no last activity: their creation.
    return func.coalesce(LabRequest.last_activity_at, LabRequest.created_at)


def _with_status(stmt: Select[Any], status: str) -> Select[Any]:
    """``status``: a request status, ``"open"`` (any of the open ones) or ``""`` (any)."""
    if status == "open":
        return stmt.where(LabRequest.status.in_([s.value for s in OPEN_STATUSES]))
    if status:
        return stmt.where(LabRequest.status == status)
    return stmt


def list_requests(actor: User, *, status: str = "", limit: int = 200
                  ) -> Select[tuple[LabRequest]]:
    """"My requests": the requests of the actor's organisation, latest activity first."""
    stmt = visible_requests(actor).options(
        selectinload(LabRequest.labs).joinedload(RequestLab.lab),
        joinedload(LabRequest.created_by))
    return _with_status(stmt, status).order_by(
        _last_activity().desc(), LabRequest.id.desc()).limit(limit)


class InboxLab(NamedTuple):
    """One lab of the inbox with its request counts."""

    id: int
    slug: str
    name: str
    open: int = 0
    waiting: int = 0
    total: int = 0


def list_inbox_labs(actor: User) -> list[InboxLab]:
    """The labs of the actor's inbox with their open, waiting (for the lab's answer) and
    total request counts, by name; a manager's labs without requests are listed too."""
    scope = inbox_request_labs(actor).subquery()
    rows = db.session.execute(
        select(Lab.id, Lab.slug, Lab.name,
               func.count().filter(LabRequest.status.in_([s.value for s in OPEN_STATUSES])),
               func.count().filter(and_(scope.c.answer == LabAnswer.PENDING,
                                        LabRequest.status.in_([s.value for s in ANSWERABLE]))),
               func.count())
        .select_from(scope)
        .join(Lab, Lab.id == scope.c.lab_id)
        .join(LabRequest, LabRequest.id == scope.c.request_id)
        .group_by(Lab.id, Lab.slug, Lab.name).order_by(Lab.name, Lab.id)
    ).all()
    by_lab = {row[0]: InboxLab(*row) for row in rows}
    if not is_admin(actor):
        for lab in db.session.scalars(managed_labs(actor)):
            by_lab.setdefault(lab.id, InboxLab(lab.id, lab.slug, lab.name))
    return sorted(by_lab.values(), key=lambda r: (r.name, r.id))


def list_inbox(actor: User, *, lab_id: int | None = None, status: str = "", limit: int = 200
               ) -> Select[tuple[RequestLab]]:
    """The (request, lab) rows of the actor's inbox, of one lab if ``lab_id``, latest
    activity first."""
    stmt = (inbox_request_labs(actor)
            .join(LabRequest, LabRequest.id == RequestLab.request_id)
            .options(joinedload(RequestLab.lab),
                     joinedload(RequestLab.request).joinedload(LabRequest.organisation)))
    if lab_id is not None:
        stmt = stmt.where(RequestLab.lab_id == lab_id)
    return _with_status(stmt, status).order_by(
        _last_activity().desc(), RequestLab.id.desc()).limit(limit)


# --- demo data -------------------------------------------------------------------------------


DEMO_FIRST_TITLE = "Laser-textured wear coatings for pump housings"  # i18n: keep (demo data)


def seed_demo_requests(*, now: datetime) -> int:
    """A few requests of the demo SME (``sme@labnet.example``) to the demo manager's labs,
    in several states, so "My requests" and the inbox are not empty. Rows are written
    directly (no e-mails to demo addresses); idempotent. Returns how many were added."""
    sme = db.session.scalar(select(User).where(User.email == "sme@labnet.example"))
    manager = db.session.scalar(select(User).where(User.email == "manager@labnet.example"))
    if sme is None or manager is None or db.session.scalar(
            select(func.count(LabRequest.id)).where(
                LabRequest.organisation_id == sme.organisation_id,
                LabRequest.title == DEMO_FIRST_TITLE)):
        return 0
    labs = {lab.slug: lab for lab in db.session.scalars(select(Lab).where(Lab.slug.in_(
        ("fraunhofer-ilt", "fraunhofer-ipt", "fraunhofer-ise", "fraunhofer-iws"))))}
    if len(labs) < 4:
        return 0
    managed = ("fraunhofer-ilt", "fraunhofer-ipt", "fraunhofer-ise")  # the demo manager's
    day = timedelta(days=1)
    plans: list[dict[str, Any]] = [
        {"kind": RequestKind.JOINT_PROJECT, "status": RequestStatus.ACCEPTED, "age": 12,
         "title": DEMO_FIRST_TITLE,
         "summary": "A two-year pilot: laser texturing at ILT, process chain at IPT, coating "
                    "trials at IWS, reaching a production-ready process.",  # i18n: keep
         "ket_code": "AMT", "budget_min_eur": 250_000, "budget_max_eur": 600_000,
         "duration_months": 24, "funding_programme": "Horizon Europe", "trl_now": 4,  # i18n: keep
         "trl_target": 7,
         "labs": [("fraunhofer-ilt", LabAnswer.ACCEPTED,
                   "We can take the texturing part."),  # i18n: keep
                  ("fraunhofer-ipt", LabAnswer.PENDING, ""),
                  ("fraunhofer-iws", LabAnswer.DECLINED, "No capacity before 2027.")],  # i18n: keep
         "messages": [(None, "Could we meet at the Aachen open lab day?"),  # i18n: keep
                      ("fraunhofer-ilt",
                       "Yes, let's meet there; bring sample parts.")]},  # i18n: keep
        {"kind": RequestKind.SERVICE, "status": RequestStatus.SUBMITTED, "age": 2,
         "title": "Efficiency measurement of 20 prototype PV cells",  # i18n: keep
         "summary": "IV curves under standard test conditions, with a short report.",  # i18n: keep
         "quantity": "20 cells", "deadline": (now + 30 * day).date(),
         "labs": [("fraunhofer-ise", LabAnswer.PENDING, "")], "messages": []},
        {"kind": RequestKind.ACCESS, "status": RequestStatus.IN_REVIEW, "age": 5,
         "title": "Ultrashort-pulse laser micromachining station",  # i18n: keep
         "summary":
             "Three days of supervised access to drill cooling holes in test parts.",  # i18n: keep
         "labs": [("fraunhofer-ilt", LabAnswer.PENDING, "")],
         "messages": [("fraunhofer-ilt",
                       "Which material and thickness are the parts?")]},  # i18n: keep
        {"kind": RequestKind.SERVICE, "status": RequestStatus.COMPLETED, "age": 60,
         "title": "Surface roughness analysis of milled aluminium parts",  # i18n: keep
         "summary": "Roughness (Ra, Rz) on 8 parts, two directions each.",  # i18n: keep
         "quantity": "8 parts", "deadline": (now - 40 * day).date(),
         "labs": [("fraunhofer-ipt", LabAnswer.ACCEPTED, "Done within two weeks.")],  # i18n: keep
         "messages": [("fraunhofer-ipt",
                       "Report attached to our e-mail; thank you.")]},  # i18n: keep
    ]
    added = 0
    for plan in plans:
        created = now - plan["age"] * day
        answered = created + day
        status = plan["status"]
        req = LabRequest(
            kind=plan["kind"], status=status, organisation_id=sme.organisation_id,
            created_by_id=sme.id, title=plan["title"], summary=plan["summary"],
            ket_code=plan.get("ket_code"), quantity=plan.get("quantity", ""),
            deadline=plan.get("deadline"), budget_min_eur=plan.get("budget_min_eur"),
            budget_max_eur=plan.get("budget_max_eur"),
            duration_months=plan.get("duration_months"),
            funding_programme=plan.get("funding_programme", ""), trl_now=plan.get("trl_now"),
            trl_target=plan.get("trl_target"), created_at=created, updated_at=answered,
            last_activity_at=created if status == RequestStatus.SUBMITTED else answered,
            first_response_at=None if status == RequestStatus.SUBMITTED else answered,
            decided_at=answered if status in (RequestStatus.ACCEPTED,
                                              RequestStatus.COMPLETED) else None,
            confirmed_at=answered if status == RequestStatus.COMPLETED else None,
            closed_at=created + 20 * day if status == RequestStatus.COMPLETED else None,
        )
        db.session.add(req)
        db.session.flush()
        req.reference = f"RQ-{created.year}-{req.id:06d}"
        for slug, lab_answer, text in plan["labs"]:
            done = lab_answer != LabAnswer.PENDING
            db.session.add(RequestLab(
                request_id=req.id, lab_id=labs[slug].id, answer=lab_answer,
                answered_at=answered if done else None,
                answered_by_id=manager.id if done and slug in managed else None,
                answer_message=text))
        for n, (slug, body) in enumerate(plan["messages"]):
            db.session.add(RequestMessage(
                request_id=req.id, author_id=manager.id if slug else sme.id,
                lab_id=labs[slug].id if slug else None, body=body,
                created_at=answered + n * timedelta(hours=2)))
        audit.record(sme, "request.submitted", "lab_request", req.id, now=created,
                     kind=str(plan["kind"]))
        added += 1
    db.session.flush()
    return added
