"""The writes of the Meet page: a participant's profile, a meeting request, its answer, and
taking it back.

Rules owned here (DESIGN rules 3, 5, 7, 8):
- only people registered for a published, not cancelled event (``permissions.can_meet``)
  publish a profile there and ask for meetings, until the event ends; both people of a
  meeting are registered and have a profile on the event's page;
- a meeting is asked for in one of the event's slots (:mod:`.slots`, in the event's zone)
  that has not started, with someone else, and not twice for one slot;
- only the invitee answers, once (a conditional UPDATE on the meeting's row: two clicks,
  two tabs or two processes answer it once); an accepted meeting writes one
  ``meeting_slot_taken`` row per person, and the unique key (event, person, slot start)
  refuses the second accepted meeting of anyone in one slot, whichever process commits
  first (:class:`~labnet.errors.SlotTaken`, 409);
- the requester withdraws an unanswered request; either person cancels an accepted
  meeting before its slot starts (its rows go, the slot is free again);
- a person whose registration is cancelled (by them or the organiser) leaves every open
  meeting of that event: accepted ones whose slot has not begun are cancelled (the slot
  rows go), unanswered requests are withdrawn (theirs) or declined (to them)
  (:func:`call_off_meetings_of_leaver`);
- each step tells the other person by e-mail with a link to the Meet page, and is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flask_babel import LazyString
from sqlalchemy import CursorResult, delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from labnet import permissions
from labnet.errors import NotFound, RuleViolation, SlotTaken, raise_all
from labnet.extensions import db
from labnet.i18n import _, _l, ngettext
from labnet.models import KetArea, User
from labnet.models.events import Event, ProjectPartner
from labnet.models.meetings import (
    Meeting,
    MeetingProfile,
    MeetingSlotTaken,
    MeetingStatus,
)
from labnet.services.common.audit import record
from labnet.services.common.text import clean_text
from labnet.services.meetings.pages import event_slots, slot_label
from labnet.services.meetings.slots import Slot
from labnet.services.notifications.outbox import enqueue_email

TEXT_LIMIT = 600
MESSAGE_LIMIT = 500
NOTE_LIMIT = 300
MAX_KETS = 5
OPEN = (MeetingStatus.REQUESTED.value, MeetingStatus.ACCEPTED.value)


@dataclass(frozen=True)
class ProfileFields:
    """What a participant says about themselves on the Meet page."""

    offer: str = ""
    looking_for: str = ""
    ket_codes: tuple[str, ...] = ()
    project_id: int | None = None


def _require_meeting_open(actor: User, event: Event, now: datetime, field: str | None) -> None:
    permissions.require(permissions.can_meet, actor, event)
    if now >= event.ends_at:
        raise RuleViolation(field, _("The event is over: meetings can no longer be arranged."))


def partner_projects(organisation_id: int) -> list[tuple[int, str]]:
    """The projects an organisation is a partner of (id, label), for the profile's choice."""
    from labnet.models.events import Project

    rows = db.session.execute(
        select(Project.id, Project.acronym, Project.name)
        .join(ProjectPartner, ProjectPartner.project_id == Project.id)
        .where(ProjectPartner.organisation_id == organisation_id)
        .order_by(Project.name)).all()
    return [(pid, f"{acronym} – {name}" if acronym else name) for pid, acronym, name in rows]


def save_profile(actor: User, event: Event, fields: ProfileFields, *,
                 now: datetime) -> MeetingProfile:
    """Publish or update ``actor``'s profile on ``event``'s Meet page.

    :raises PermissionDenied: unless ``actor`` is registered for the event.
    :raises RuleViolations: per field: texts too long or with control characters, neither
        an offer nor a wish, an unknown or too many KET areas, a project the person's
        organisation is no partner of; or the event is over.
    """
    _require_meeting_open(actor, event, now, "offer")
    problems: list[RuleViolation] = []
    texts: dict[str, str] = {}
    for name, label in (("offer", _("What you offer")),
                        ("looking_for", _("What you look for"))):
        try:
            texts[name] = clean_text(getattr(fields, name), name, label=label,
                                     limit=TEXT_LIMIT, one_line=False)
        except RuleViolation as exc:
            problems.append(exc)
    if not problems and not (texts["offer"] or texts["looking_for"]):
        problems.append(RuleViolation("offer", _("Say what you offer or what you look for, "
                                                 "so others know why to meet you.")))
    codes = tuple(dict.fromkeys(c.strip().upper() for c in fields.ket_codes if c.strip()))
    if len(codes) > MAX_KETS:
        problems.append(RuleViolation("ket_codes", ngettext(
            "Choose at most %(num)d KET area.", "Choose at most %(num)d KET areas.",
            MAX_KETS)))
    elif codes:
        known = set(db.session.scalars(select(KetArea.code).where(KetArea.code.in_(codes))))
        if set(codes) - known:
            problems.append(RuleViolation("ket_codes", _("Choose KET areas from the list.")))
    if fields.project_id is not None and fields.project_id not in {
            pid for pid, _label in partner_projects(actor.organisation_id)}:
        problems.append(RuleViolation(
            "project_id", _("Choose one of the projects your organisation is a partner of.")))
    raise_all(problems)
    profile = db.session.scalar(select(MeetingProfile).where(
        MeetingProfile.event_id == event.id, MeetingProfile.user_id == actor.id))
    created = profile is None
    if profile is None:
        profile = MeetingProfile(event_id=event.id, user_id=actor.id, created_at=now)
        db.session.add(profile)
    profile.offer, profile.looking_for = texts["offer"], texts["looking_for"]
    profile.ket_codes = list(codes)
    profile.project_id = fields.project_id
    profile.updated_at = now
    db.session.flush()
    record(actor, "meeting_profile.published" if created else "meeting_profile.updated",
           "event", event.id, now=now)
    return profile


def _profile_of(event_id: int, user_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        MeetingProfile.event_id == event_id, MeetingProfile.user_id == user_id))))


def _slot_busy(event_id: int, user_id: int, slot_start: datetime) -> bool:
    return bool(db.session.scalar(select(exists().where(
        MeetingSlotTaken.event_id == event_id, MeetingSlotTaken.user_id == user_id,
        MeetingSlotTaken.slot_start_at == slot_start))))


def _find_slot(event: Event, start: datetime | None) -> Slot | None:
    if start is None:
        return None
    return next((s for s in event_slots(event) if s.start == start), None)


def _why(event: Event) -> Any:
    return _l("You receive this because you are registered for %(event)s and take part in "
              "its meetings between participants.", event=event.title)


def _slot(event: Event, meeting: Meeting) -> Any:
    """The meeting's slot for an e-mail's context: written when the e-mail is, in the
    recipient's language (:func:`slot_label`)."""
    return LazyString(slot_label, event, meeting)


def request_meeting(actor: User, event: Event, invitee_id: int, slot_start: datetime | None,
                    message: str, *, now: datetime) -> Meeting:
    """Ask ``invitee_id`` for a 1:1 meeting at ``event`` in the slot starting ``slot_start``
    (UTC; one of the event's slots). The invitee is told by e-mail.

    :raises PermissionDenied: unless ``actor`` is registered for the event.
    :raises NotFound: when the invitee has no profile on the event's Meet page (or is not
        registered for it any more).
    :raises RuleViolation: on ``slot`` (not one of the event's slots, already begun, one of
        the two people already meets someone then, or already asked for), on ``message``
        (too long, control characters), or when the requester has no profile yet.
    """
    _require_meeting_open(actor, event, now, "slot")
    invitee = db.session.get(User, invitee_id)
    if invitee is None or invitee.id == actor.id or not _profile_of(event.id, invitee.id) \
            or not permissions.can_meet(invitee, event):
        raise NotFound(invitee_id)
    if not _profile_of(event.id, actor.id):
        raise RuleViolation("slot", _("Publish your own profile first, so the person you ask "
                                      "knows who you are."))
    text = clean_text(message, "message", label=_("The message"), limit=MESSAGE_LIMIT,
                      one_line=False)
    slot = _find_slot(event, slot_start)
    if slot is None:
        raise RuleViolation("slot", _("Choose one of the event's meeting slots."))
    if slot.start <= now:
        raise RuleViolation("slot", _("That slot has begun; choose a later one."))
    if _slot_busy(event.id, actor.id, slot.start):
        raise RuleViolation("slot", _("You already have a meeting in that slot."))
    if _slot_busy(event.id, invitee.id, slot.start):
        raise RuleViolation("slot", _("%(name)s already has a meeting in that slot; choose "
                                      "another one.", name=invitee.full_name))
    if db.session.scalar(select(exists().where(
            Meeting.event_id == event.id, Meeting.slot_start_at == slot.start,
            Meeting.status == MeetingStatus.REQUESTED.value,
            ((Meeting.requester_id == actor.id) & (Meeting.invitee_id == invitee.id))
            | ((Meeting.requester_id == invitee.id) & (Meeting.invitee_id == actor.id))))):
        raise RuleViolation("slot", _("A request between you two for that slot is already "
                                      "waiting for an answer."))
    meeting = Meeting(event_id=event.id, requester_id=actor.id, invitee_id=invitee.id,
                      slot_start_at=slot.start, slot_end_at=slot.end, message=text,
                      status=MeetingStatus.REQUESTED.value, created_at=now)
    db.session.add(meeting)
    db.session.flush()
    record(actor, "meeting.requested", "meeting", meeting.id, now=now, event_id=event.id,
           invitee_id=invitee.id)
    enqueue_email("meeting_requested", invitee.email,
                  _l("%(name)s asks to meet you at %(event)s", name=actor.full_name,
                     event=event.title),
                  {"event": event, "meeting": meeting, "requester": actor,
                   "slot": _slot(event, meeting)},
                  now=now, action_required=True, why=_why(event))
    return meeting


def _meeting(event: Event, meeting_id: int) -> Meeting:
    meeting = db.session.scalar(select(Meeting).where(Meeting.id == meeting_id,
                                                      Meeting.event_id == event.id)
                                .execution_options(populate_existing=True))
    if meeting is None:
        raise NotFound(meeting_id)
    return meeting


def _move(meeting: Meeting, before: str, after: str, now: datetime, note: str = "") -> None:
    """Move the meeting's status from ``before`` to ``after`` as the transaction's first
    write: a conditional UPDATE that a second click (or process) finds already moved."""
    result = cast(CursorResult[Any], db.session.execute(
        update(Meeting).where(Meeting.id == meeting.id, Meeting.status == before)
        .values(status=after, answered_at=now, answer_note=note)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise RuleViolation(None, _("This meeting request was answered or taken back "
                                    "meanwhile; the page shows where it stands."), code=409)
    db.session.refresh(meeting)


def answer_meeting(actor: User, event: Event, meeting_id: int, accept: bool, note: str, *,
                   now: datetime) -> Meeting:
    """The invitee accepts or declines a meeting request; the requester is told.

    Accepting holds the slot for both people (``meeting_slot_taken``, unique per event,
    person and slot start: the database refuses a second accepted meeting of either).

    :raises NotFound: unless ``actor`` is the invitee of that meeting of ``event``.
    :raises RuleViolation: on ``answer_note`` (too long, control characters); 409 when it
        was answered or withdrawn meanwhile; on accepting, when its slot has begun or the
        requester no longer holds a seat.
    :raises SlotTaken: when either person already has an accepted meeting in that slot.
    """
    meeting = _meeting(event, meeting_id)
    if meeting.invitee_id != actor.id:
        raise NotFound(meeting_id)
    _require_meeting_open(actor, event, now, "answer_note")
    text = clean_text(note, "answer_note", label=_("The note"), limit=NOTE_LIMIT)
    if accept and meeting.slot_start_at <= now:
        raise RuleViolation("answer_note", _("That slot has begun; it can only be declined."))
    requester = db.session.get_one(User, meeting.requester_id)
    if accept and not permissions.can_meet(requester, event):
        raise RuleViolation("answer_note", _("%(name)s no longer takes part in the event; "
                                             "decline the request.", name=requester.full_name))
    after = MeetingStatus.ACCEPTED if accept else MeetingStatus.DECLINED
    _move(meeting, MeetingStatus.REQUESTED.value, after.value, now, text)
    if accept:
        _hold_slot(meeting, actor, requester)
    record(actor, f"meeting.{after.value}", "meeting", meeting.id, now=now,
           event_id=event.id)
    enqueue_email("meeting_answered", requester.email,
                  _l("%(name)s accepted your meeting at %(event)s", name=actor.full_name,
                     event=event.title) if accept else
                  _l("%(name)s declined your meeting at %(event)s", name=actor.full_name,
                     event=event.title),
                  {"event": event, "meeting": meeting, "invitee": actor, "accepted": accept,
                   "slot": _slot(event, meeting)},
                  now=now, why=_why(event))
    return meeting


def _hold_slot(meeting: Meeting, invitee: User, requester: User) -> None:
    """Write the slot rows of both people; a clash (checked first for its message, held
    by the unique key whatever commits meanwhile) refuses the whole answer."""
    if _slot_busy(meeting.event_id, invitee.id, meeting.slot_start_at):
        raise SlotTaken(_("You already have a meeting in that slot; decline this one or "
                          "cancel the other first."))
    if _slot_busy(meeting.event_id, requester.id, meeting.slot_start_at):
        raise SlotTaken(_("%(name)s has meanwhile agreed to another meeting in that slot; "
                          "decline this one.", name=requester.full_name))
    try:
        with db.session.begin_nested():
            db.session.add_all([
                MeetingSlotTaken(event_id=meeting.event_id, user_id=person.id,
                                 slot_start_at=meeting.slot_start_at, meeting_id=meeting.id)
                for person in (invitee, requester)])
    except IntegrityError:
        raise SlotTaken(_("That slot was just taken by another meeting of one of you; "
                          "decline this one or choose another slot.")) from None


def take_back_meeting(actor: User, event: Event, meeting_id: int, *,
                      now: datetime) -> Meeting:
    """The requester withdraws an unanswered request, or either person cancels an accepted
    meeting before its slot begins (the slot is free again); the other person is told.

    :raises NotFound: unless ``actor`` is one of the two people of that meeting.
    :raises RuleViolation: 409 when it is no longer open (answered, taken back); when an
        accepted meeting's slot has begun; when the invitee tries to withdraw a request
        (they decline it instead).
    """
    meeting = _meeting(event, meeting_id)
    if actor.id not in (meeting.requester_id, meeting.invitee_id):
        raise NotFound(meeting_id)
    if meeting.status == MeetingStatus.REQUESTED.value:
        if actor.id != meeting.requester_id:
            raise RuleViolation(None, _("Decline the request instead."))
        after = MeetingStatus.WITHDRAWN
    elif meeting.status == MeetingStatus.ACCEPTED.value:
        if meeting.slot_start_at <= now:
            raise RuleViolation(None, _("The meeting's slot has begun; it can no longer be "
                                        "cancelled."))
        after = MeetingStatus.CANCELLED
    else:
        raise RuleViolation(None, _("This meeting is no longer open."), code=409)
    before = meeting.status
    _move(meeting, before, after.value, now, meeting.answer_note)
    db.session.execute(delete(MeetingSlotTaken).where(MeetingSlotTaken.meeting_id == meeting.id))
    other = db.session.get_one(User, meeting.invitee_id if actor.id == meeting.requester_id
                               else meeting.requester_id)
    record(actor, f"meeting.{after.value}", "meeting", meeting.id, now=now, event_id=event.id)
    enqueue_email("meeting_cancelled", other.email,
                  _l("%(name)s called off the meeting at %(event)s", name=actor.full_name,
                     event=event.title),
                  {"event": event, "meeting": meeting, "by": actor, "withdrawn":
                   after is MeetingStatus.WITHDRAWN,
                   "slot": _slot(event, meeting)},
                  now=now, why=_why(event))
    db.session.flush()
    return meeting


def call_off_meetings_of_leaver(actor: User | None, event: Event, person: User, *,
                                now: datetime) -> int:
    """``person``'s registration for ``event`` was just cancelled (called in that
    transaction, after the event's row lock): their open meetings there end and the other
    person of each is told. Accepted meetings whose slot has not begun are cancelled and
    their slot rows deleted; requests not yet answered are withdrawn (asked by them) or
    declined (asked of them). Meetings whose slot has begun stay as they are (they took
    place or not; attendance says). Returns how many ended.
    """
    meetings = list(db.session.scalars(
        select(Meeting).where(
            Meeting.event_id == event.id,
            (Meeting.requester_id == person.id) | (Meeting.invitee_id == person.id),
            ((Meeting.status == MeetingStatus.REQUESTED.value)
             | ((Meeting.status == MeetingStatus.ACCEPTED.value)
                & (Meeting.slot_start_at > now))))
        .order_by(Meeting.id).execution_options(populate_existing=True)))
    ended = 0
    for meeting in meetings:
        if meeting.status == MeetingStatus.ACCEPTED.value:
            after = MeetingStatus.CANCELLED
        elif meeting.requester_id == person.id:
            after = MeetingStatus.WITHDRAWN
        else:
            after = MeetingStatus.DECLINED
        # Conditional, like every move: one the other person answered or called off a
        # moment ago is left as they left it.
        moved = cast(CursorResult[Any], db.session.execute(
            update(Meeting).where(Meeting.id == meeting.id, Meeting.status == meeting.status)
            .values(status=after.value, answered_at=now)
            .execution_options(synchronize_session=False)))
        if moved.rowcount != 1:
            continue
        db.session.execute(delete(MeetingSlotTaken)
                           .where(MeetingSlotTaken.meeting_id == meeting.id))
        db.session.refresh(meeting)
        other = db.session.get_one(User, meeting.invitee_id
                                   if meeting.requester_id == person.id
                                   else meeting.requester_id)
        record(actor, f"meeting.{after.value}", "meeting", meeting.id, now=now,
               event_id=event.id, reason="registration_cancelled")
        enqueue_email("meeting_cancelled", other.email,
                      _l("Your meeting with %(name)s at %(event)s is off",
                         name=person.full_name, event=event.title),
                      {"event": event, "meeting": meeting, "by": person, "withdrawn": False,
                       "left_event": True, "slot": _slot(event, meeting)},
                      now=now, why=_why(event))
        ended += 1
    db.session.flush()
    return ended
