"""The company member's side of booking: the booking form (check the price, then send),
the week calendar's data, "My bookings", a booking's page, cancelling (also by the signed
one-click link of the reminder e-mail) and the .ics download.

Bookings are loaded through ``permissions.booking_for`` (404 for anyone but the requesting
organisation and the lab's managers); the rules are the booking service's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labnet import clock, permissions
from labnet.blueprints.bookings import bp
from labnet.blueprints.bookings.forms import BookingForm, CancelForm, fold_of
from labnet.blueprints.helpers import apply_violation, commit_or_show
from labnet.dates import parse_day, parse_local_datetime
from labnet.errors import RuleViolation, SlotTaken
from labnet.extensions import db
from labnet.i18n import _
from labnet.models import Booking, BookingStatus, Equipment, User
from labnet.services.booking import availability, engine, reminders
from labnet.services.booking.availability import local_to_utc, utc_to_local
from labnet.services.common import audit
from labnet.templating import localtime

STATUS_BADGES = {
    "pending": "warning", "confirmed": "success", "rejected": "danger",
    "cancelled": "secondary", "expired": "secondary", "completed": "primary",
    "no_show": "dark",
}
# The wall-clock time the booking form's hint shows as an example (in each language's own
# format: "2026-03-04 09:00" in English).
EXAMPLE_TIME = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def _equipment(equipment_id: int) -> Equipment:
    item = permissions.equipment_for(current_user, equipment_id)
    return engine.get_equipment_for_booking(item.id)


# --- booking form ------------------------------------------------------------------------


def _book_page(item: Equipment, form: BookingForm, quote=None, status: int = 200):
    zone = item.lab.timezone
    org = current_user.organisation
    hours = [(h.weekday, h.opens_at, h.closes_at) for h in item.lab.opening_hours]
    # An autumn time that happens twice gets a choice of its two instants.
    folds = {name: availability.fold_choices(form[name].data, zone)
             for name in ("start_at", "end_at") if form[name].data}
    return render_template(
        "bookings/create.html", item=item, lab=item.lab, form=form, quote=quote, zone=zone,
        folds={name: choices for name, choices in folds.items() if choices},
        is_sme=bool(org and org.is_sme), hours_text=availability.describe_hours(hours, zone),
        example_at=EXAMPLE_TIME,
    ), status


@bp.route("/equipment/<int:equipment_id>/book", methods=["GET", "POST"])
@login_required
def create(equipment_id: int):
    """Step 1 checks the rules and shows the price; step 2 (``confirm=1``) books."""
    item = _equipment(equipment_id)
    form = BookingForm()
    if request.method == "GET":
        # Prefill from the calendar's link (?start_at=2026-03-04T09:00&end_at=…).
        for name in ("start_at", "end_at"):
            prefill = parse_local_datetime(request.args.get(name), form[name].format)
            if prefill is not None:
                form[name].data = prefill
        for name in ("start_fold", "end_fold"):
            if request.args.get(name) in ("0", "1"):
                form[name].data = request.args[name]
        return _book_page(item, form)
    if not form.validate_on_submit():
        form.confirm.data = ""
        return _book_page(item, form, status=422)
    zone = item.lab.timezone
    now = clock.utcnow()
    try:
        start_at = local_to_utc(form.start_at.data, zone, field="start_at",
                                fold=fold_of(form.start_fold.data))
        end_at = local_to_utc(form.end_at.data, zone, field="end_at",
                              fold=fold_of(form.end_fold.data))
        if form.confirm.data != "1":
            quote = engine.preview_booking(current_user, item.id, start_at, end_at,
                                                 now=now)
            form.confirm.data = "1"
            return _book_page(item, form, quote=quote)
        booking = engine.request_booking(current_user, item.id, start_at, end_at,
                                         form.purpose.data or "", now=now)
    except RuleViolation as exc:
        db.session.rollback()
        if isinstance(exc, SlotTaken) and form.confirm.data == "1":
            # Free when the price was shown, taken since: say so (409, never a 500).
            exc = SlotTaken()
        apply_violation(form, exc)
        form.confirm.data = ""
        return _book_page(item, form, status=exc.code)
    db.session.commit()
    if booking.status == BookingStatus.CONFIRMED:
        flash(_("Booking %(ref)s is confirmed.", ref=booking.reference), "success")
    elif booking.hold_until:
        flash(_("Request %(ref)s sent. It is pending until the lab decides (the slot is held "
                "until %(until)s lab time).", ref=booking.reference,
                until=localtime(booking.hold_until, zone)), "info")
    else:
        flash(_("Request %(ref)s sent. It is pending until the lab decides.",
                ref=booking.reference), "info")
    return redirect(url_for("bookings.detail", booking_id=booking.id))


@bp.get("/equipment/<int:equipment_id>/availability.json")
def availability_json(equipment_id: int):
    """The calendar's week: free/busy only, no one's bookings (public, like the page)."""
    item = permissions.equipment_for(current_user, equipment_id)
    now = clock.utcnow()
    raw = request.args.get("week", "")
    if raw:
        try:
            week = parse_day(raw[:10], message=_("Give the week as a date, like 2026-03-02."))
        except ValueError as exc:
            return jsonify({"errors": {"week": [str(exc)]}}), 422
    else:
        week = utc_to_local(now, item.lab.timezone).date()
    if abs((week - now.date()).days) > 5 * 366:
        return jsonify({"errors": {"week": [_("Choose a week within five years of today.")]}}), \
            422
    view = availability.week_view(item, week, now=now)
    return jsonify({
        "equipment": view.equipment_id, "zone": view.zone, "unit": view.unit,
        "unit_label": item.unit_label, "week": view.week_start.isoformat(),
        "prev": view.prev_week.isoformat(), "next": view.next_week.isoformat(),
        "days": [{
            "date": d.day.isoformat(), "open": d.is_open,
            "slots": [{
                "start": s.start.isoformat(), "end": s.end.isoformat(),
                "local_start": s.local_start.strftime("%Y-%m-%dT%H:%M"),
                "local_end": s.local_end.strftime("%Y-%m-%dT%H:%M"),
                "state": s.state, "bookable": s.bookable,
                # Which occurrence an autumn time that happens twice is (else null).
                "start_fold": availability.fold_at(s.start, s.local_start, view.zone),
                "end_fold": availability.fold_at(s.end, s.local_end, view.zone),
            } for s in d.slots],
        } for d in view.days],
    })


# --- my bookings -------------------------------------------------------------------------


@bp.get("/bookings")
@login_required
def index():
    now = clock.utcnow()
    rows = list(db.session.scalars(engine.list_my_bookings(current_user)))
    upcoming, closed = engine.split_my_bookings(rows, now)
    return render_template("bookings/index.html", upcoming=upcoming, closed=closed,
                           badges=STATUS_BADGES)


def _load(booking_id: int) -> Booking:
    return engine.get_booking(permissions.booking_for(current_user, booking_id).id)


def _detail_page(booking: Booking, form: CancelForm, status: int = 200):
    now = clock.utcnow()
    upcoming = engine.is_upcoming(booking, now)
    return render_template(
        "bookings/detail.html", booking=booking, history=audit.list_history("booking", booking.id),
        form=form, badges=STATUS_BADGES, upcoming=upcoming, reason_text=engine.reason_text,
        # Past and closed bookings offer no cancel button (nor a calendar file).
        may_cancel=upcoming and permissions.can_cancel_booking(current_user, booking, now),
        deadline=permissions.booking_cancel_deadline(booking),
    ), status


@bp.get("/bookings/<int:booking_id>")
@login_required
def detail(booking_id: int):
    return _detail_page(_load(booking_id), CancelForm())


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
def cancel(booking_id: int):
    booking = _load(booking_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return _detail_page(booking, form, status=422)
    cancelled = commit_or_show(form, lambda: engine.cancel_booking(
        current_user, booking.id, form.reason.data or "", now=clock.utcnow()))
    if not cancelled:
        return _detail_page(_load(booking_id), form, status=cancelled.refusal.code)
    flash(_("Booking %(ref)s is cancelled.", ref=booking.reference), "success")
    return redirect(url_for("bookings.detail", booking_id=booking.id))


@bp.route("/bookings/cancel/<token>", methods=["GET", "POST"], endpoint="cancel_link")
def cancel_link(token: str):
    """The reminder e-mail's one-click cancel: the signed token stands for the requester,
    so it works without logging in. GET only asks (mail scanners follow links); POST
    cancels."""
    booking_id = reminders.cancel_token_booking_id(token, now=clock.utcnow())
    if booking_id is None:
        return render_template("bookings/cancel_link.html", booking=None), 400
    found = db.session.get(Booking, booking_id)
    requester = db.session.get(User, found.requester_id) if found else None
    if found is None or requester is None:
        return render_template("bookings/cancel_link.html", booking=None), 400
    booking = engine.get_booking(permissions.booking_for(requester, booking_id).id)
    form = CancelForm()
    done = False
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("bookings/cancel_link.html", booking=booking, form=form,
                                   done=False), 422
        cancelled = commit_or_show(form, lambda: engine.cancel_booking(
            requester, booking.id, form.reason.data or "", now=clock.utcnow()))
        if not cancelled:
            return render_template("bookings/cancel_link.html", booking=booking, form=form,
                                   done=False), cancelled.refusal.code
        done = True
    return render_template("bookings/cancel_link.html", booking=booking, form=form, done=done)


@bp.get("/bookings/<int:booking_id>.ics")
@login_required
def ics(booking_id: int):
    """One booking as iCalendar. Text goes through icalendar's escaping (DESIGN rule 7)."""
    from icalendar import Calendar, Event

    booking = _load(booking_id)
    zone = booking.lab.timezone
    cal = Calendar()
    cal.add("prodid", "-//LabNet//Bookings//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"booking-{booking.id}@labnet")
    event.add("sequence", booking.sequence)
    event.add("dtstamp", booking.updated_at or booking.created_at)
    # DTSTART/DTEND carry the lab's TZID; the library writes the matching VTIMEZONE.
    event.add("dtstart", utc_to_local(booking.start_at, zone))
    event.add("dtend", utc_to_local(booking.end_at, zone))
    event.add("summary", f"{booking.equipment.name} ({booking.reference})")
    event.add("description", _("%(ref)s at %(lab)s\nPurpose: %(purpose)s",
                               ref=booking.reference, lab=booking.lab.name,
                               purpose=booking.purpose))
    event.add("location", booking.lab.name)
    status = {"confirmed": "CONFIRMED", "pending": "TENTATIVE",
              "completed": "CONFIRMED"}.get(booking.status, "CANCELLED")
    event.add("status", status)
    cal.add_component(event)
    cal.add_missing_timezones()
    return Response(cal.to_ical(), mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{booking.reference or booking.id}.ics"'})
