"""``/api/v1``: thin routes over the same loaders, scopes and services as the HTML views.

Each route loads through ``permissions`` (404 for what the caller may not know, 403 for
what they may see but not do), calls one service, and the framework commits once.

Registering for an event takes the ``book`` scope: it reserves capacity (a seat) for the
token's user as a booking reserves equipment, and the rule behind both is the same
(``permissions.can_register`` is ``can_book``), so a token that may book may register and
a new scope would only be a second name for the same right. Cancelling someone else's
registration (an event's organisers) takes ``manage``, as deciding a booking does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app, render_template, url_for
from sqlalchemy import and_, or_, select

from labnet import clock, permissions
from labnet.blueprints.api import bp, schemas
from labnet.blueprints.api.framework import (
    ApiProblem,
    Call,
    decode_cursor,
    encode_cursor,
    json_response,
    openapi_document,
    operation,
    page,
)
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.models import Booking, Event, LabRequest
from labnet.models.training import Registration
from labnet.services.booking import availability, engine
from labnet.services.catalogue import public, search
from labnet.services.catalogue.labs import equipment as equipment_service
from labnet.services.catalogue.taxonomy import ket_names
from labnet.services.events import events as event_service
from labnet.services.events import listing
from labnet.services.requests import workflow
from labnet.services.training import registration

PER_PAGE = 20
MAX_DAYS = 31


def _keyset(stmt: Any, column: Any, query: schemas.ListQuery) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` ordered by ``column`` (an id) after the cursor's id."""
    after = decode_cursor(query.cursor, "after")
    rows = list(db.session.scalars(stmt.where(column > after).order_by(column)
                                   .limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return rows, encode_cursor({"after": rows[-1].id}) if more and rows else None


# --- catalogue ----------------------------------------------------------------------------


@operation("GET", "/v1/labs", summary="Search published labs (the /labs filters)",
           tag="catalogue", query=schemas.LabsQuery, response=schemas.LabList, paginated=True)
def labs(call: Call) -> Response:
    args = {k: str(v) for k, v in call.query.model_dump(exclude_none=True).items()
            if k != "cursor"}
    args["page"] = str(decode_cursor(call.query.cursor, "page") or 1)
    query, errors = search.parse_query(args)
    if errors:
        raise ApiProblem(422, "validation", "Invalid input",
                         "Some filters cannot be used.",
                         {name: [message] for name, message in errors.items()})
    result = search.search_labs(call.actor, query, per_page=PER_PAGE, now=clock.utcnow())
    items = [{**public.lab_record(lab, result.ket_codes.get(lab.id, [])),
              "distance_km": result.distances.get(lab.id)}
             for lab in result.items]
    return page(items, encode_cursor({"page": query.page + 1}) if result.has_next else None,
                total=result.total)


@operation("GET", "/v1/labs/<slug>", summary="One lab with its valid accreditations",
           tag="catalogue", response=schemas.LabDetail)
def lab(call: Call, slug: str) -> dict[str, Any]:
    found = permissions.lab_for(call.actor, slug[:120])
    rows = db.session.execute(public.valid_accreditations(clock.utcnow())
                              .where(public.Accreditation.lab_id == found.id)).all()
    return {**public.lab_record(found),
            "accreditations": [public.accreditation_record(*row) for row in rows]}


@operation("GET", "/v1/labs/<slug>/equipment", summary="A lab's equipment", tag="catalogue",
           query=schemas.ListQuery, response=schemas.EquipmentList, paginated=True)
def lab_equipment(call: Call, slug: str) -> Response:
    found = permissions.lab_for(call.actor, slug[:120])
    after = decode_cursor(call.query.cursor, "after")
    rows = db.session.execute(public.public_equipment(lab_id=found.id)
                              .where(public.Equipment.id > after)
                              .limit(call.query.limit + 1)).all()
    more = len(rows) > call.query.limit
    rows = rows[:call.query.limit]
    return page([public.equipment_record(item, lab_slug) for item, lab_slug in rows],
                encode_cursor({"after": rows[-1][0].id}) if more and rows else None)


@operation("GET", "/v1/equipment/<int:equipment_id>", summary="One piece of equipment",
           tag="catalogue", response=schemas.Equipment)
def equipment(call: Call, equipment_id: int) -> dict[str, Any]:
    item = permissions.equipment_for(call.actor, equipment_id)
    return public.equipment_record(item, item.lab.slug)


@operation("PATCH", "/v1/equipment/<int:equipment_id>",
           summary="Update an equipment item (its lab's managers)", tag="catalogue",
           scope="manage", body=schemas.EquipmentChange, response=schemas.Equipment)
def update_equipment(call: Call, equipment_id: int) -> dict[str, Any]:
    item = permissions.managed_equipment_for(call.actor, equipment_id)
    slug = item.lab.slug  # the service reloads the item without its lab
    current = equipment_service.data_of(item)
    changed = equipment_service.update_equipment(
        call.actor, item, replace(current, **call.body.model_dump(exclude_unset=True)),
        now=clock.utcnow())
    return public.equipment_record(changed, slug)


@operation("GET", "/v1/equipment/<int:equipment_id>/availability",
           summary="Free and busy slots of an equipment between two days (lab calendar)",
           tag="catalogue", query=schemas.AvailabilityQuery, response=schemas.Availability)
def equipment_availability(call: Call, equipment_id: int) -> dict[str, Any]:
    item = permissions.equipment_for(call.actor, equipment_id)
    item = engine.get_equipment_for_booking(item.id)
    first, last = call.query.start, call.query.end
    now = clock.utcnow()
    if last < first:
        raise RuleViolation("to", "The last day must not be before the first.")
    if (last - first).days >= MAX_DAYS:
        raise RuleViolation("to", f"Ask for at most {MAX_DAYS} days at once.")
    if abs((first - now.date()).days) > 5 * 366:
        raise RuleViolation("from", "Choose days within five years of today.")
    slots: list[dict[str, Any]] = []
    zone = unit = ""
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        view = availability.week_view(item, monday, now=now)
        zone, unit = view.zone, view.unit
        slots.extend({"start": s.start.isoformat(), "end": s.end.isoformat(),
                      "state": s.state, "bookable": s.bookable}
                     for d in view.days if first <= d.day <= last for s in d.slots)
        monday += timedelta(days=7)
    return {"equipment": item.id, "zone": zone, "unit": unit, "slots": slots}


@operation("GET", "/v1/ket-areas", summary="KET areas (two levels)", tag="taxonomy",
           response=schemas.KetAreaList)
def ket_areas(call: Call) -> dict[str, Any]:
    return {"items": public.ket_areas(), "next": None}


@operation("GET", "/v1/categories", summary="Equipment categories", tag="taxonomy",
           response=schemas.CategoryList)
def categories(call: Call) -> dict[str, Any]:
    return {"items": public.categories(), "next": None}


@operation("GET", "/v1/networks", summary="Networks: public ones, or those the caller sees",
           tag="catalogue", query=schemas.ListQuery, response=schemas.NetworkList,
           paginated=True)
def networks(call: Call) -> Response:
    stmt = select(public.Network).where(permissions.network_visible_condition(call.actor))
    rows, cursor = _keyset(stmt, public.Network.id, call.query)
    return page([public.network_record(n) for n in rows], cursor)


@operation("GET", "/v1/accreditations",
           summary="Verified, unexpired accreditations of published labs", tag="catalogue",
           query=schemas.ListQuery, response=schemas.AccreditationList, paginated=True)
def accreditations(call: Call) -> Response:
    after = decode_cursor(call.query.cursor, "after")
    rows = db.session.execute(public.valid_accreditations(clock.utcnow())
                              .where(public.Accreditation.id > after)
                              .limit(call.query.limit + 1)).all()
    more = len(rows) > call.query.limit
    rows = rows[:call.query.limit]
    return page([public.accreditation_record(*row) for row in rows],
                encode_cursor({"after": rows[-1][0].id}) if more and rows else None)


# --- bookings -----------------------------------------------------------------------------


def _booking(b: Booking) -> dict[str, Any]:
    return {"id": b.id, "reference": b.reference, "equipment_id": b.equipment_id,
            "lab_id": b.lab_id, "status": b.status, "start_at": b.start_at.isoformat(),
            "end_at": b.end_at.isoformat(),
            "hold_until": b.hold_until.isoformat() if b.hold_until else None,
            "purpose": b.purpose, "price_estimate": str(b.price_estimate),
            "final_price": None if b.final_price is None else str(b.final_price),
            "currency": b.currency}


@operation("GET", "/v1/bookings", summary="Your organisation's bookings", tag="bookings",
           scope="read", query=schemas.ListQuery, response=schemas.BookingList, paginated=True)
def bookings(call: Call) -> Response:
    rows, cursor = _keyset(permissions.visible_bookings(call.actor), Booking.id, call.query)
    return page([_booking(b) for b in rows], cursor)


@operation("POST", "/v1/bookings", summary="Book an equipment (the booking form's rules)",
           tag="bookings", scope="book", body=schemas.NewBooking, response=schemas.Booking,
           status=201)
def create_booking(call: Call) -> dict[str, Any]:
    body: schemas.NewBooking = call.body
    item = permissions.equipment_for(call.actor, body.equipment_id)
    booking = engine.request_booking(call.actor, item.id, body.start_at, body.end_at,
                                     body.purpose, now=clock.utcnow())
    return _booking(booking)


def _scope_for_booking(call: Call, booking: Booking) -> None:
    """The company side acts with ``book``, the lab side with ``manage``."""
    own = booking.organisation_id == call.actor.organisation_id
    needed = "book" if own else "manage"
    if needed not in call.scopes:
        raise ApiProblem(403, "scope", "Insufficient scope",
                         f"This needs a token with the '{needed}' scope.")


@operation("POST", "/v1/bookings/<int:booking_id>/cancel", summary="Cancel a booking",
           tag="bookings", scope=("book", "manage"), body=schemas.Reason, response=schemas.Booking)
def cancel_booking(call: Call, booking_id: int) -> dict[str, Any]:
    booking = permissions.booking_for(call.actor, booking_id)
    _scope_for_booking(call, booking)
    return _booking(engine.cancel_booking(call.actor, booking.id, call.body.reason,
                                          now=clock.utcnow()))


@operation("POST", "/v1/bookings/<int:booking_id>/approve",
           summary="Approve a pending booking (lab managers)", tag="bookings", scope="manage",
           body=schemas.NoBody, response=schemas.Booking)
def approve_booking(call: Call, booking_id: int) -> dict[str, Any]:
    booking = permissions.booking_for(call.actor, booking_id)
    return _booking(engine.approve_booking(call.actor, booking.id, now=clock.utcnow()))


@operation("POST", "/v1/bookings/<int:booking_id>/reject",
           summary="Reject a pending booking with a reason (lab managers)", tag="bookings",
           scope="manage", body=schemas.Reason, response=schemas.Booking)
def reject_booking(call: Call, booking_id: int) -> dict[str, Any]:
    booking = permissions.booking_for(call.actor, booking_id)
    return _booking(engine.reject_booking(call.actor, booking.id, call.body.reason,
                                          now=clock.utcnow()))


# --- requests -----------------------------------------------------------------------------


def _request(r: LabRequest) -> dict[str, Any]:
    return {"id": r.id, "reference": r.reference, "kind": r.kind, "status": r.status,
            "title": r.title, "created_at": r.created_at.isoformat()}


@operation("GET", "/v1/requests", summary="Requests your organisation sent", tag="requests",
           scope="read", query=schemas.ListQuery, response=schemas.RequestList, paginated=True)
def requests(call: Call) -> Response:
    rows, cursor = _keyset(permissions.visible_requests(call.actor), LabRequest.id, call.query)
    return page([_request(r) for r in rows], cursor)


@operation("POST", "/v1/requests", summary="Send an access, service or joint-project request",
           tag="requests", scope="request", body=schemas.NewRequest, response=schemas.Request,
           status=201)
def create_request(call: Call) -> dict[str, Any]:
    body: schemas.NewRequest = call.body
    labs_found = workflow.resolve_labs(body.labs)
    new = workflow.NewRequest(
        kind=body.kind, lab_ids=[lab.id for lab in labs_found], title=body.title,
        summary=body.summary, equipment_id=body.equipment_id, quantity=body.quantity,
        deadline=body.deadline, ket_code=body.ket_code, budget_min_eur=body.budget_min_eur,
        budget_max_eur=body.budget_max_eur, duration_months=body.duration_months,
        funding_programme=body.funding_programme, trl_now=body.trl_now,
        trl_target=body.trl_target)
    return _request(workflow.create_request(call.actor, new, now=clock.utcnow()))


@operation("POST", "/v1/requests/<ref>/messages", summary="Post a message on a request",
           tag="requests", scope=("request", "manage"), body=schemas.NewMessage,
           response=schemas.Message, status=201)
def post_message(call: Call, ref: str) -> dict[str, Any]:
    found = permissions.request_for(call.actor, ref)
    own = found.organisation_id == call.actor.organisation_id
    needed = "request" if own else "manage"
    if needed not in call.scopes:
        raise ApiProblem(403, "scope", "Insufficient scope",
                         f"This needs a token with the '{needed}' scope.")
    lab = None
    if call.body.lab:
        lab = permissions.lab_for(call.actor, call.body.lab)
    message = workflow.post_message(call.actor, found, call.body.body, lab=lab,
                                    now=clock.utcnow())
    return {"id": message.id, "request": found.reference,
            "created_at": message.created_at.isoformat()}


@operation("POST", "/v1/requests/<ref>/answer",
           summary="Accept or decline a request for a lab you manage", tag="requests",
           scope="manage", body=schemas.Answer, response=schemas.Request)
def answer_request(call: Call, ref: str) -> dict[str, Any]:
    found = permissions.request_for(call.actor, ref)
    lab = permissions.lab_for(call.actor, call.body.lab)
    return _request(workflow.answer(call.actor, found, lab, call.body.accept,
                                    call.body.message, now=clock.utcnow()))


# --- events -------------------------------------------------------------------------------


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@operation("GET", "/v1/events", summary="Upcoming published events (the /events filters)",
           tag="events", query=schemas.EventsQuery, response=schemas.EventList, paginated=True)
def events(call: Call) -> Response:
    q: schemas.EventsQuery = call.query
    args = {name: str(value) for name, value in q.model_dump(
        by_alias=True, exclude_none=True, exclude={"cursor", "limit"}).items()}
    query, errors = listing.parse_query(args, known_kets=set(ket_names()))
    if errors:
        raise ApiProblem(422, "validation", "Invalid input", "Some filters cannot be used.",
                         {name: [message] for name, message in errors.items()})
    stmt = listing.filtered(query, now=clock.utcnow())
    if q.cursor:  # keyset on the listing's order (start, id)
        start = datetime.fromtimestamp(decode_cursor(q.cursor, "t") / 1_000_000, UTC)
        after = decode_cursor(q.cursor, "after")
        stmt = stmt.where(or_(Event.starts_at > start,
                              and_(Event.starts_at == start, Event.id > after)))
    found = list(db.session.scalars(stmt.limit(q.limit + 1)))
    more = len(found) > q.limit
    found = found[:q.limit]
    cursor = (encode_cursor({"t": _micros(found[-1].starts_at), "after": found[-1].id})
              if more and found else None)
    return page(public.event_records(found, call.actor), cursor)


def _registration(reg: Registration, event_slug: str,
                  positions: dict[int, int] | None = None) -> dict[str, Any]:
    position = (positions.get(reg.id) if positions is not None
                else registration.waiting_position(reg))
    return {"id": reg.id, "event": event_slug, "status": reg.status,
            "waiting_position": position,
            "offer_expires_at": reg.offer_expires_at.isoformat() if reg.offer_expires_at
            else None, "created_at": reg.created_at.isoformat()}


@operation("GET", "/v1/events/<slug>",
           summary="One event: sessions, seats left, registration state", tag="events",
           response=schemas.EventDetail)
def event(call: Call, slug: str) -> dict[str, Any]:
    found = event_service.load_event(permissions.event_for(call.actor, slug[:140]).id)
    now = clock.utcnow()
    box = registration.registration_box(call.actor, found, now=now)
    zone = found.timezone
    return {
        **public.event_records([found], call.actor)[0],
        "prerequisites": found.prerequisites,
        "sessions": [{"title": s.title,
                      "starts_at": availability.utc_to_local(s.starts_at, zone).isoformat(),
                      "ends_at": availability.utc_to_local(s.ends_at, zone).isoformat()}
                     for s in found.sessions],
        "questions": [{"key": str(q.get("key", "")), "label": str(q.get("label", "")),
                       "kind": str(q.get("kind", "text")), "required": bool(q.get("required")),
                       "choices": [str(c) for c in q.get("choices") or []]}
                      for q in found.questions or []],
        "registration": {"open": box.closed is None, "closed_reason": box.closed,
                         "full": box.full,
                         "mine": _registration(box.mine, found.slug) if box.mine else None},
    }


@operation("POST", "/v1/events/<slug>/registrations",
           summary="Register for an event (a seat, or the waiting list when it is full)",
           tag="events", scope="book", body=schemas.NewRegistration,
           response=schemas.Registration, status=201)
def register(call: Call, slug: str) -> dict[str, Any]:
    found = permissions.event_for(call.actor, slug[:140])
    answers = {f"q_{key}": value for key, value in call.body.answers.items()}
    reg = registration.register(call.actor, found.id, answers, now=clock.utcnow())
    return _registration(reg, found.slug)


@operation("GET", "/v1/registrations", summary="Your event registrations", tag="events",
           scope="read", query=schemas.ListQuery, response=schemas.RegistrationList,
           paginated=True)
def registrations(call: Call) -> Response:
    stmt = select(Registration).where(Registration.user_id == call.actor.id)
    rows, cursor = _keyset(stmt, Registration.id, call.query)
    slugs = dict(db.session.execute(select(Event.id, Event.slug).where(
        Event.id.in_({r.event_id for r in rows}))).tuples().all())
    positions = registration.waiting_positions(rows)  # one query, not one per row
    return page([_registration(r, slugs[r.event_id], positions) for r in rows], cursor)


def _scope_for_registration(call: Call, reg: Registration) -> None:
    """The person acts with ``book``, the event's organisers with ``manage``."""
    needed = "book" if reg.user_id == call.actor.id else "manage"
    if needed not in call.scopes:
        raise ApiProblem(403, "scope", "Insufficient scope",
                         f"This needs a token with the '{needed}' scope.")


@operation("POST", "/v1/registrations/<int:registration_id>/cancel",
           summary="Cancel a registration, a place on the waiting list or an offered seat",
           tag="events", scope=("book", "manage"), body=schemas.NoBody,
           response=schemas.Registration)
def cancel_registration(call: Call, registration_id: int) -> dict[str, Any]:
    reg, found = registration.registration_for(call.actor, registration_id)
    _scope_for_registration(call, reg)
    reg = registration.cancel_registration(call.actor, reg.id, now=clock.utcnow())
    return _registration(reg, found.slug)


@operation("POST", "/v1/registrations/<int:registration_id>/accept",
           summary="Accept the seat offered to you from the waiting list", tag="events",
           scope="book", body=schemas.NoBody, response=schemas.Registration)
def accept_offer(call: Call, registration_id: int) -> dict[str, Any]:
    reg, found = registration.registration_for(call.actor, registration_id)
    reg = registration.accept_offer(call.actor, reg.id, now=clock.utcnow())
    return _registration(reg, found.slug)


# --- the document and its reference page --------------------------------------------------


@bp.get("/v1/openapi.json")
def openapi() -> Response:
    response = json_response(openapi_document(), public=True)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/docs")
def docs() -> str:
    return render_template("api/docs.html", spec_url=url_for("api.openapi"),
                           rate=current_app.config.get("API_RATE_LIMIT", "300/minute"))
