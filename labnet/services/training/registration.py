"""Registration for events and the waiting list that hands freed seats on.

Rules owned here:
- DESIGN rule 4: registrations never exceed capacity, under concurrency too. Every writer
  first locks the event's row (a no-op ``UPDATE event SET seats_taken = seats_taken``: the
  row lock on PostgreSQL, the write lock on SQLite), then takes a seat with the conditional
  ``UPDATE event SET seats_taken = seats_taken + 1 WHERE id = :id AND (capacity IS NULL OR
  seats_taken < capacity)``; the event's CHECK ``seats_taken <= capacity`` refuses any write
  past it whatever the code does. ``seats_taken`` counts registered people and seats held
  by an open offer.
- Whoever waits goes first: while someone is on the waiting list a newcomer joins it too,
  and a freed seat (a cancellation, a capacity increase, a lapsed offer) is offered to the
  first person waiting, by e-mail, for the event's ``offer_hours`` (never past its start).
  An offer not accepted in time lapses and passes to the next person, exactly once: every
  change is a compare-and-set on the registration's status under the event's lock, so two
  job runners (or a runner and a person clicking "accept") act once.
- Registration is for logged-in people with a confirmed address, for published events
  that have not started, until the registration deadline; drafts are unknown (404),
  cancelled events refuse. The organiser's questions are answered (required ones, choices
  among the offered ones), each refusal naming its question.
- The online link reaches only registered people and the event's editors
  (:func:`can_see_online_url`); organisers message registered people; registered people
  get a reminder the day before (24 h before the start) and are told when the event is
  cancelled, as are those waiting.
- Every change is audited and mailed in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from labnet.errors import NotFound, RuleViolation, RuleViolations
from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.links import external_url
from labnet.models import Organisation, User
from labnet.models.events import Event
from labnet.models.training import (
    LIVE_STATUSES,
    SEAT_HOLDING,
    Registration,
    RegistrationStatus,
)
from labnet.permissions import can_edit_event, can_register, can_view_event, require
from labnet.services.booking.availability import utc_to_local
from labnet.services.common import audit
from labnet.services.common.text import clean_text, text_problem
from labnet.services.meetings.rules import call_off_meetings_of_leaver
from labnet.services.notifications.outbox import enqueue_email

REMIND_BEFORE = timedelta(hours=24)
ANSWER_LIMIT = 2000
STATUS_LABELS = {
    "registered": _l("Registered"), "waiting": _l("On the waiting list"),
    "offered": _l("Seat offered"), "cancelled": _l("Cancelled"), "lapsed": _l("Offer lapsed"),
}
# A registration that cannot be cancelled (again), by its status: whole sentences.
ALREADY = {
    "registered": _l("This registration is registered already."),
    "waiting": _l("This registration is on the waiting list already."),
    "offered": _l("This registration is seat offered already."),
    "cancelled": _l("This registration is cancelled already."),
    "lapsed": _l("This registration is offer lapsed already."),
}


# --- locks and seats ------------------------------------------------------------------------


def _exec(stmt: Any) -> int:
    # An UPDATE answers a CursorResult (its rowcount); Session.execute is typed as any Result.
    return cast(CursorResult[Any], db.session.execute(
        stmt.execution_options(synchronize_session=False))).rowcount


def lock_event(event_id: int) -> Event:
    """The event, read after taking its row lock (the first write of the transaction), so
    every check below sees every committed registration (as the booking engine's
    ``equipment.booking_seq``). ``updated_at`` is kept: a lock is no edit."""
    if _exec(update(Event).where(Event.id == event_id)
             .values(seats_taken=Event.seats_taken, updated_at=Event.updated_at)) != 1:
        raise NotFound(event_id)
    return db.session.scalars(select(Event).where(Event.id == event_id)
                              .execution_options(populate_existing=True)).one()


def _take_seat(event_id: int) -> bool:
    # The guard of DESIGN rule 4: the database decides, the CHECK backs it.
    return _exec(update(Event)
                 .where(Event.id == event_id,
                        or_(Event.capacity.is_(None), Event.seats_taken < Event.capacity))
                 .values(seats_taken=Event.seats_taken + 1,
                         updated_at=Event.updated_at)) == 1


def _release_seat(event_id: int) -> None:
    _exec(update(Event).where(Event.id == event_id, Event.seats_taken > 0)
          .values(seats_taken=Event.seats_taken - 1, updated_at=Event.updated_at))


def _set_status(reg: Registration, allowed: tuple[str, ...], new: str, *, now: datetime,
                **values: Any) -> bool:
    """Compare-and-set: move ``reg`` to ``new`` only if still in ``allowed``."""
    done = _exec(update(Registration)
                 .where(Registration.id == reg.id, Registration.status.in_(allowed))
                 .values(status=new, updated_at=now, sequence=Registration.sequence + 1,
                         **values)) == 1
    if done:
        db.session.refresh(reg)
    return done


def _first_waiting(event_id: int) -> Registration | None:
    return db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event_id,
               Registration.status == RegistrationStatus.WAITING)
        .order_by(Registration.waiting_since, Registration.id).limit(1)
        .execution_options(populate_existing=True)).first()


def _offer(event: Event, reg: Registration, *, now: datetime) -> bool:
    """Offer ``reg`` (waiting) the seat its caller holds for it; False when the event has
    started (no offer can run)."""
    until = min(now + timedelta(hours=event.offer_hours), event.starts_at)
    if until <= now:
        return False
    if not _set_status(reg, (RegistrationStatus.WAITING,), RegistrationStatus.OFFERED,
                       now=now, offered_at=now, offer_expires_at=until):
        return False
    audit.record(None, "registration.offered", "registration", reg.id, now=now,
                 event_id=event.id, until=until.isoformat())
    _mail("event_seat_offered", reg, event,
          _l("A seat is free for you: %(title)s", title=event.title),
          now=now, action_required=True, until=until)
    return True


def _hand_on(event: Event, *, now: datetime) -> None:
    """A seat was freed: offer it to the first person waiting (the seat stays taken for the
    offer), or give it back. Runs under the event's lock."""
    if event.status == "published":
        while (reg := _first_waiting(event.id)) is not None:
            if _offer(event, reg, now=now):
                return
            if event.starts_at <= now:
                break
    _release_seat(event.id)


def fill_free_seats(event_id: int, *, now: datetime) -> int:
    """Offer every free seat of the event to the people waiting, in order (after a capacity
    increase, or a registration that found seats free behind a waiting list). Returns how
    many offers were made. Takes the event's lock; the caller commits."""
    event = lock_event(event_id)
    made = 0
    if event.status != "published" or event.starts_at <= now:
        return 0
    while (reg := _first_waiting(event.id)) is not None and _take_seat(event.id):
        if not _offer(event, reg, now=now):
            _release_seat(event.id)
            break
        made += 1
    db.session.flush()
    return made


# --- mail ---------------------------------------------------------------------------------


def _mail(kind: str, reg: Registration, event: Event, subject: Any, *, now: datetime,
          action_required: bool = False, **extra: Any) -> None:
    user = db.session.get_one(User, reg.user_id)
    enqueue_email(kind, user.email, subject,
                  {"event": event, "registration": reg, "user": user,
                   "when": event_when(event), **extra},
                  now=now, action_required=action_required,
                  why=_l("You receive this because you registered for “%(title)s” on "
                         "LabNet.", title=event.title))


def event_when(event: Event) -> str:
    """The event's span in its own zone, for pages and e-mails ("2026-03-30 09:00 – 17:00
    CEST" or across days)."""
    a, b = utc_to_local(event.starts_at, event.timezone), utc_to_local(event.ends_at,
                                                                       event.timezone)
    end = f"{b:%H:%M %Z}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M %Z}"
    return f"{a:%Y-%m-%d %H:%M} – {end} ({event.timezone})"


# --- the person's side ----------------------------------------------------------------------


def clean_answers(questions: list[dict[str, Any]], raw: Mapping[str, str]) -> dict[str, str]:
    """The answers to the organiser's questions, each refusal on its field ``q_<key>``.

    :raises RuleViolations: one per question answered wrongly.
    """
    answers: dict[str, str] = {}
    problems: list[RuleViolation] = []
    for q in questions or []:
        key = str(q.get("key", ""))
        field = f"q_{key}"
        value = (raw.get(field) or "").strip()
        label = str(q.get("label") or key)
        if q.get("kind") == "choice":
            options = [str(c) for c in q.get("choices") or []]
            if value and value not in options:
                problems.append(RuleViolation(field, _("Choose one of the answers offered "
                                                       "for “%(label)s”.", label=label)))
                continue
        elif problem := text_problem(value, label=_("The answer"), limit=ANSWER_LIMIT,
                                     one_line=False):
            problems.append(RuleViolation(field, problem))
            continue
        if q.get("required") and not value:
            problems.append(RuleViolation(field, _("Please answer “%(label)s”.", label=label)))
            continue
        answers[key] = value
    if problems:
        raise RuleViolations(problems)
    return answers


def registration_problem(event: Event, *, now: datetime) -> str | None:
    """Why nobody can register for ``event`` now, in words, or None."""
    if event.status == "cancelled":
        return _("This event was cancelled: registration is closed.")
    if event.status != "published":
        return _("This event is not published yet.")
    if event.starts_at <= now:
        return _("This event has started: registration is closed.")
    if event.registration_deadline is not None and now > event.registration_deadline:
        local = utc_to_local(event.registration_deadline, event.timezone)
        return _("Registration closed on %(when)s.", when=local.strftime("%Y-%m-%d %H:%M %Z"))
    return None


def live_registration(user_id: int | None, event_id: int) -> Registration | None:
    """The person's registration or place on the waiting list for the event, if any."""
    if user_id is None:
        return None
    return db.session.scalars(select(Registration).where(
        Registration.event_id == event_id, Registration.user_id == user_id,
        Registration.status.in_(LIVE_STATUSES)).execution_options(populate_existing=True)
    ).first()


def register(actor: User, event_id: int, raw_answers: Mapping[str, str], *,
             now: datetime) -> Registration:
    """Register the actor for the event, or put them on its waiting list when it is full (or
    others wait already). DESIGN rule 4 (module docstring).

    :raises PermissionDenied: when the actor may not register (not logged in, unconfirmed).
    :raises NotFound: for an event the actor may not see (a draft).
    :raises RuleViolation: ``event`` when registration is closed or the actor is registered
        already; ``q_<key>`` for an answer refused (:func:`clean_answers`).
    """
    require(can_register, actor)
    event = db.session.get(Event, event_id)
    if event is None or not can_view_event(actor, event):
        raise NotFound(event_id)
    if problem := registration_problem(event, now=now):
        raise RuleViolation("event", problem)
    answers = clean_answers(event.questions, raw_answers)
    event = lock_event(event_id)
    if problem := registration_problem(event, now=now):  # changed while we waited
        raise RuleViolation("event", problem)
    if (mine := live_registration(actor.id, event.id)) is not None:
        raise RuleViolation("event", _("You are on the waiting list already.")
                            if mine.status == RegistrationStatus.WAITING
                            else _("You are registered for this event already."))
    someone_waits = db.session.scalar(select(exists().where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.WAITING)))
    seated = not someone_waits and _take_seat(event.id)
    reg = Registration(
        event_id=event.id, user_id=actor.id, answers=answers, created_at=now, updated_at=now,
        status=RegistrationStatus.REGISTERED if seated else RegistrationStatus.WAITING,
        registered_at=now if seated else None, waiting_since=None if seated else now,
        # Registered within a day of the start: the confirmation is the reminder.
        reminder_sent_at=now if seated and event.starts_at - now <= REMIND_BEFORE else None)
    db.session.add(reg)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the partial unique index: a double submit
        raise RuleViolation("event", _("You are registered for this event already.")) from exc
    audit.record(actor, "registration.registered" if seated else "registration.waiting",
                 "registration", reg.id, now=now, event_id=event.id)
    if seated:
        _mail("event_registered", reg, event,
              _l("You are registered: %(title)s", title=event.title), now=now)
    else:
        _mail("event_waiting", reg, event,
              _l("You are on the waiting list: %(title)s", title=event.title),
              now=now, position=waiting_position(reg))
        if someone_waits:
            fill_free_seats(event.id, now=now)  # seats free behind a waiting list
    db.session.flush()
    return reg


def waiting_position(reg: Registration) -> int | None:
    """1 for the first person waiting; None when not waiting."""
    if reg.status != RegistrationStatus.WAITING or reg.waiting_since is None:
        return None
    ahead = db.session.scalar(select(func.count(Registration.id)).where(
        Registration.event_id == reg.event_id,
        Registration.status == RegistrationStatus.WAITING,
        or_(Registration.waiting_since < reg.waiting_since,
            (Registration.waiting_since == reg.waiting_since) & (Registration.id < reg.id))))
    return int(ahead or 0) + 1


def waiting_positions(regs: list[Registration]) -> dict[int, int]:
    """:func:`waiting_position` of each waiting registration among ``regs`` (id →
    position), in one query for a list however long."""
    waiting = [r for r in regs if r.status == RegistrationStatus.WAITING
               and r.waiting_since is not None]
    if not waiting:
        return {}
    place = func.row_number().over(partition_by=Registration.event_id,
                                   order_by=(Registration.waiting_since, Registration.id))
    ranked = select(Registration.id.label("id"), place.label("place")).where(
        Registration.event_id.in_({r.event_id for r in waiting}),
        Registration.status == RegistrationStatus.WAITING,
        Registration.waiting_since.is_not(None)).subquery()
    wanted = {r.id for r in waiting}
    rows = db.session.execute(select(ranked.c.id, ranked.c.place).where(
        ranked.c.id.in_(wanted))).tuples().all()
    return {int(reg_id): int(position) for reg_id, position in rows}


def _load_for(actor: User, registration_id: int) -> Registration:
    reg = db.session.get(Registration, registration_id)
    if reg is None:
        raise NotFound(registration_id)
    return reg


def cancel_registration(actor: User, registration_id: int, *, now: datetime) -> Registration:
    """The person (or an editor of the event) cancels a registration, a place on the
    waiting list, or declines an offered seat; a seat it held goes to the next person
    waiting (:func:`_hand_on`).

    :raises NotFound: unless the actor is the person or edits the event.
    :raises RuleViolation: ``status`` when nothing is left to cancel.
    """
    reg = _load_for(actor, registration_id)
    event = lock_event(reg.event_id)
    own = reg.user_id == getattr(actor, "id", None)
    if not own and not can_edit_event(actor, event):
        raise NotFound(registration_id)
    held = reg.status in SEAT_HOLDING
    was = reg.status
    if not _set_status(reg, tuple(LIVE_STATUSES), RegistrationStatus.CANCELLED, now=now,
                       cancelled_at=now, offer_expires_at=None):
        raise RuleViolation("status", str(ALREADY.get(reg.status, ALREADY["cancelled"])))
    audit.record(actor, "registration.cancelled", "registration", reg.id, now=now,
                 event_id=event.id, was=was, by_organiser=not own)
    if reg.user_id is not None:
        # Their Meet profile is hidden with the registration; their meetings end too.
        call_off_meetings_of_leaver(actor, event, db.session.get_one(User, reg.user_id),
                                    now=now)
    _mail("event_registration_cancelled", reg, event,
          _l("Registration cancelled: %(title)s", title=event.title), now=now,
          by_organiser=not own, was=was)
    if held:
        _hand_on(event, now=now)
    db.session.flush()
    return reg


def accept_offer(actor: User, registration_id: int, *, now: datetime) -> Registration:
    """The person accepts the seat offered to them, while the offer runs.

    :raises NotFound: unless it is the actor's registration.
    :raises RuleViolation: ``status`` when there is no open offer (lapsed, cancelled).
    """
    reg = _load_for(actor, registration_id)
    if reg.user_id != getattr(actor, "id", None):
        raise NotFound(registration_id)
    event = lock_event(reg.event_id)
    db.session.refresh(reg)
    if event.status != "published":
        raise RuleViolation("status", _("This event is no longer open."))
    done = _exec(update(Registration).where(
        Registration.id == reg.id, Registration.status == RegistrationStatus.OFFERED,
        Registration.offer_expires_at > now)
        .values(status=RegistrationStatus.REGISTERED, registered_at=now, updated_at=now,
                sequence=Registration.sequence + 1,
                reminder_sent_at=now if event.starts_at - now <= REMIND_BEFORE else None)) == 1
    if not done:
        raise RuleViolation("status", _("This offer has lapsed: the seat went to the next "
                                        "person waiting.")
                            if reg.status == RegistrationStatus.LAPSED
                            or reg.status == RegistrationStatus.OFFERED
                            else _("There is no seat offer open for you."))
    db.session.refresh(reg)
    audit.record(actor, "registration.accepted", "registration", reg.id, now=now,
                 event_id=event.id)
    _mail("event_registered", reg, event,
          _l("You are registered: %(title)s", title=event.title), now=now)
    db.session.flush()
    return reg


# --- jobs -----------------------------------------------------------------------------------


def hand_on_offers(*, now: datetime, limit: int = 500) -> dict[str, int]:
    """Job: offers not accepted in time lapse and pass to the next person waiting; seats
    free behind a waiting list (a capacity increase) are offered.

    Exactly once: each lapse is a compare-and-set (``offered`` → ``lapsed`` while the offer
    has run out) under the event's lock, so a second runner finds nothing left to do and
    sends nothing.
    """
    due = list(db.session.execute(
        select(Registration.id, Registration.event_id)
        .where(Registration.status == RegistrationStatus.OFFERED,
               Registration.offer_expires_at <= now)
        .order_by(Registration.offer_expires_at, Registration.id).limit(limit)).tuples())
    lapsed = 0
    for reg_id, event_id in due:
        event = lock_event(event_id)
        reg = db.session.get_one(Registration, reg_id, populate_existing=True)
        if _exec(update(Registration).where(
                Registration.id == reg_id, Registration.status == RegistrationStatus.OFFERED,
                Registration.offer_expires_at <= now)
                .values(status=RegistrationStatus.LAPSED, updated_at=now,
                        sequence=Registration.sequence + 1)) != 1:
            continue  # accepted, cancelled, or handed on by another runner
        db.session.refresh(reg)
        lapsed += 1
        audit.record(None, "registration.lapsed", "registration", reg_id, now=now,
                     event_id=event_id)
        _mail("event_offer_lapsed", reg, event,
              _l("Your seat offer lapsed: %(title)s", title=event.title),
              now=now)
        _hand_on(event, now=now)
    # Seats free while people wait: a capacity increase (or a seat given back).
    behind = list(db.session.scalars(
        select(Event.id).where(
            Event.status == "published", Event.starts_at > now, Event.capacity.is_not(None),
            Event.seats_taken < Event.capacity,
            exists().where(Registration.event_id == Event.id,
                           Registration.status == RegistrationStatus.WAITING))
        .order_by(Event.id).limit(limit)))
    offered = sum(fill_free_seats(event_id, now=now) for event_id in behind)
    db.session.flush()
    return {"lapsed": lapsed, "offered": offered}


def send_event_reminders(*, now: datetime, limit: int = 1000) -> dict[str, int]:
    """Job: registered people get a reminder the day before (within 24 h of the start),
    once (``reminder_sent_at`` compare-and-set), with the event's calendar file."""
    due = list(db.session.scalars(
        select(Registration).join(Event, Event.id == Registration.event_id)
        .where(Registration.status == RegistrationStatus.REGISTERED,
               Registration.reminder_sent_at.is_(None), Event.status == "published",
               Event.starts_at > now, Event.starts_at <= now + REMIND_BEFORE)
        .order_by(Event.starts_at, Registration.id).limit(limit)))
    sent = 0
    for reg in due:
        if _exec(update(Registration).where(Registration.id == reg.id,
                                            Registration.reminder_sent_at.is_(None))
                 .values(reminder_sent_at=now)) != 1:
            continue
        event = db.session.get_one(Event, reg.event_id)
        _mail("event_reminder", reg, event, _l("Tomorrow: %(title)s", title=event.title),
              now=now)
        sent += 1
    db.session.flush()
    return {"reminded": sent}


# --- the organisers' side -------------------------------------------------------------------


def tell_event_cancelled(event: Event, *, now: datetime) -> list[str]:
    """The event was cancelled: everyone registered, offered a seat or waiting is told
    (``services.events.notify.event_cancelled``, in the cancelling transaction); their
    registrations stay as they were (the event's status says it all), and the job offers
    no seat of a cancelled event. Returns the addresses written to."""
    rows = db.session.execute(select(Registration, User.email)
                              .join(User, User.id == Registration.user_id)
                              .where(Registration.event_id == event.id,
                                     Registration.status.in_(LIVE_STATUSES))
                              .order_by(Registration.id)).tuples().all()
    for reg, _email in rows:
        _mail("event_cancelled", reg, event, _l("Cancelled: %(title)s", title=event.title),
              now=now)
    return [email for _reg, email in rows]


def message_participants(actor: User, event_id: int, subject: str, body: str, *,
                         now: datetime) -> int:
    """An editor of the event e-mails every registered person (answers go to the editor).

    :raises PermissionDenied: unless the actor edits the event.
    :raises RuleViolation: ``subject``/``body`` missing or refused; ``body`` when nobody is
        registered (nothing goes to nobody).
    """
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(event_id)
    require(can_edit_event, actor, event)
    problems: list[RuleViolation] = []
    try:
        subject = clean_text(subject, "subject", label=_("The subject"), limit=150,
                             required=_("Give the message a subject."))
    except RuleViolation as exc:
        problems.append(exc)
    try:
        body = clean_text(body, "body", label=_("The message"), limit=10_000, one_line=False,
                          required=_("Write the message."))
    except RuleViolation as exc:
        problems.append(exc)
    if problems:
        raise RuleViolations(problems)
    regs = list(db.session.scalars(select(Registration).where(
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.REGISTERED).order_by(Registration.id)))
    if not regs:
        raise RuleViolation("body", _("Nobody is registered yet: the message would reach no "
                                      "one."))
    for reg in regs:
        user = db.session.get_one(User, reg.user_id)
        enqueue_email("event_message", user.email, f"{event.title}: {subject}",
                      {"event": event, "registration": reg, "user": user, "body": body,
                       "sender": actor, "when": event_when(event)},
                      now=now, reply_to=actor.email,
                      why=_l("You receive this because you registered for “%(title)s” on "
                             "LabNet; its organisers wrote to everyone registered.",
                             title=event.title))
    audit.record(actor, "event.messaged", "event", event.id, now=now, subject=subject,
                 recipients=len(regs))
    db.session.flush()
    return len(regs)


@dataclass(frozen=True)
class Participant:
    """One row of the organisers' list."""

    registration: Registration
    name: str
    email: str
    organisation: str
    position: int | None  # on the waiting list
    attended: int  # sessions marked


def list_participants(event: Event) -> list[Participant]:
    """Every registration of the event, seat holders first (by when they got the seat),
    then the waiting list in its order, then cancelled and lapsed ones (one query, plus
    one for the attendance counts)."""
    from labnet.models.training import Attendance

    rows = db.session.execute(
        select(Registration, User.full_name, User.email, Organisation.name)
        .join(User, User.id == Registration.user_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Registration.event_id == event.id)).tuples().all()
    counts = dict(db.session.execute(
        select(Attendance.registration_id, func.count())
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(Registration.event_id == event.id)
        .group_by(Attendance.registration_id)).tuples().all())
    order = {"registered": 0, "offered": 1, "waiting": 2, "lapsed": 3, "cancelled": 4}

    def key(row: tuple[Registration, str, str, str | None]) -> tuple[Any, ...]:
        reg = row[0]
        return (order.get(reg.status, 9), reg.registered_at or reg.waiting_since
                or reg.created_at, reg.id)

    out, place = [], 0
    for reg, name, email, org in sorted(rows, key=key):
        position = None
        if reg.status == RegistrationStatus.WAITING:
            place += 1
            position = place
        out.append(Participant(reg, name, email, org or "", position, counts.get(reg.id, 0)))
    return out


def list_my_registrations(actor: User) -> Select[tuple[Registration, Event]]:
    """The actor's registrations with their events, soonest event first."""
    return (select(Registration, Event).join(Event, Event.id == Registration.event_id)
            .where(Registration.user_id == actor.id)
            .order_by(Event.starts_at, Registration.id))


def registration_for(actor: Any, registration_id: int) -> tuple[Registration, Event]:
    """The registration and its event for its own person (and the event's editors); 404 for
    everyone else (DESIGN rule 6)."""
    reg = db.session.get(Registration, registration_id)
    if reg is None:
        raise NotFound(registration_id)
    event = db.session.get_one(Event, reg.event_id)
    if reg.user_id != getattr(actor, "id", None) and not can_edit_event(actor, event):
        raise NotFound(registration_id)
    return reg, event


@dataclass(frozen=True)
class RegistrationBox:
    """What the event page's registration block shows a viewer."""

    mine: Registration | None
    label: str
    closed: str | None
    full: bool
    grants: list[Any]


def registration_box(actor: Any, event: Event, *, now: datetime) -> RegistrationBox:
    """The viewer's registration (if any), why registration is closed (if it is), whether
    the event is full, and the qualifications it grants."""
    from labnet.services.training.qualifications import event_grants

    mine = live_registration(getattr(actor, "id", None), event.id)
    return RegistrationBox(mine, str(STATUS_LABELS[mine.status]) if mine else "",
                           registration_problem(event, now=now),
                           event.capacity is not None and event.seats_taken >= event.capacity,
                           event_grants(event.id))


def registration_link(reg: Registration) -> str:
    """The absolute address of the person's registration page (e-mails)."""
    return external_url("training.registration", registration_id=reg.id)

