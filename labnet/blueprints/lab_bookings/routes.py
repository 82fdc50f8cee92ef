"""Lab-manager booking pages.

Bookings are loaded through ``permissions.booking_for`` (404 for a booking the user may not
see), then ``can_decide_booking`` (403 for the requesting organisation's own members, who
see it but may not decide); labs through ``permissions.managed_lab_for`` (404 for hidden
drafts, 403 for a public lab one does not manage). Each POST calls one service of
``services.booking.engine`` and commits once. Times are typed and shown in the lab's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.helpers import apply_violation, choices, commit_or_show, csv_download
from labnet.blueprints.lab_bookings import bp, mail_bp
from labnet.blueprints.lab_bookings.forms import (
    ActionForm,
    ApproveForm,
    BlackoutForm,
    MailModeForm,
    ReasonForm,
    ShortenForm,
    UsageExportForm,
    UsageForm,
)
from labnet.converters import parse_id
from labnet.dates import FIRST_YEAR, LAST_YEAR, DateOutOfRange, parse_day
from labnet.errors import RuleViolation
from labnet.extensions import db, login_manager
from labnet.i18n import _, current_language, locale_object
from labnet.models import Lab
from labnet.models.booking import Booking
from labnet.services.accounts import rules as accounts
from labnet.services.booking import engine as service
from labnet.services.booking import sme_proof, usage
from labnet.services.booking.availability import local_to_utc, utc_to_local


@bp.before_request
@mail_bp.before_request
def _logged_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _actor():
    return current_user._get_current_object()


def _decidable(booking_id: int) -> Booking:
    booking = permissions.booking_for(current_user, booking_id)
    permissions.require(permissions.can_decide_booking, current_user, booking)
    return booking


# --- the queue ---------------------------------------------------------------------------


def _queue_page(forms: dict[tuple[str, int], Any] | None = None, status: int = 200):
    now = clock.utcnow()
    actor = _actor()
    pending = db.session.scalars(service.list_pending_queue(actor)).unique().all()
    waiting = service.count_pending_for_manager(actor)
    upcoming = db.session.scalars(
        service.list_upcoming_confirmed(actor, now=now)).unique().all()
    ended = db.session.scalars(service.list_recent_ended(actor, now=now)).unique().all()
    labs = db.session.scalars(permissions.managed_labs(actor)).all()
    return render_template(
        "lab_bookings/queue.html", pending=pending, waiting=waiting, upcoming=upcoming,
        ended=ended, labs=labs, forms=forms or {}, action_form=ActionForm(),
        blank_reason=ReasonForm(formdata=None), now=now,
    ), status


@bp.get("")
def queue():
    return _queue_page()


def _done(message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".queue"))


def _refused(exc: RuleViolation):
    db.session.rollback()
    flash(exc.message, "warning")
    return redirect(url_for(".queue"))


def _expired_form():
    flash(_("The form had expired; nothing changed. Please try again."), "warning")
    return redirect(url_for(".queue"))


@bp.post("/<int:booking_id>/approve")
def approve(booking_id: int):
    """Confirm at the estimate, or at another price with a reason (the customer reads it)."""
    booking = _decidable(booking_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            return _expired_form()
        return _queue_page({("approve", booking.id): form}, 422)
    try:
        service.approve_booking(_actor(), booking.id, now=clock.utcnow(),
                                final_price=form.final_price.data,
                                price_reason=form.price_reason.data or "")
    except RuleViolation as exc:
        if exc.field not in ("final_price", "price_reason"):
            return _refused(exc)
        db.session.rollback()
        apply_violation(form, exc)
        return _queue_page({("approve", booking.id): form}, exc.code)
    return _done(_("%(ref)s is confirmed; the requester was told.", ref=booking.reference))


def _with_reason(booking_id: int, kind: str, action: Any, message: Any):
    booking = _decidable(booking_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            action(_actor(), booking.id, form.reason.data or "", now=clock.utcnow())
        except RuleViolation as exc:
            db.session.rollback()
            if exc.field != "reason":
                return _refused(exc)
            apply_violation(form, exc)
        else:
            return _done(message(booking.reference))
    return _queue_page({(kind, booking.id): form}, 422)


@bp.post("/<int:booking_id>/reject")
def reject(booking_id: int):
    return _with_reason(booking_id, "reject", service.reject_booking,
                        lambda ref: _("%(ref)s was rejected; the requester was told why.",
                                      ref=ref))


@bp.post("/<int:booking_id>/cancel")
def cancel(booking_id: int):
    return _with_reason(booking_id, "cancel", service.cancel_booking,
                        lambda ref: _("%(ref)s was cancelled; the requester was told why.",
                                      ref=ref))


@bp.post("/<int:booking_id>/no-show")
def no_show(booking_id: int):
    booking = _decidable(booking_id)
    if not ActionForm().validate_on_submit():
        return _expired_form()
    try:
        service.mark_no_show(_actor(), booking.id, now=clock.utcnow())
    except RuleViolation as exc:
        return _refused(exc)
    return _done(_("%(ref)s is recorded as a no-show.", ref=booking.reference))


@bp.post("/<int:booking_id>/ask-proof")
def ask_proof(booking_id: int):
    booking = _decidable(booking_id)
    if not ActionForm().validate_on_submit():
        return _expired_form()
    try:
        sme_proof.ask_for_sme_proof(_actor(), booking.id, now=clock.utcnow())
    except RuleViolation as exc:
        return _refused(exc)
    return _done(_("Proof of the SME size class was asked for %(ref)s: the requester and "
                   "their organisation's admins were told what to send to the LabNet admins.",
                   ref=booking.reference))


@bp.route("/<int:booking_id>/shorten", methods=["GET", "POST"])
def shorten(booking_id: int):
    booking = _decidable(booking_id)
    booking = service.get_booking(booking.id)
    zone = booking.lab.timezone
    if request.method == "POST":
        form = ShortenForm()
    else:
        form = ShortenForm(data={
            "start_at": utc_to_local(booking.start_at, zone).replace(tzinfo=None),
            "end_at": utc_to_local(booking.end_at, zone).replace(tzinfo=None)})
    if form.validate_on_submit():
        def shorten() -> None:
            start = local_to_utc(form.start_at.data, zone, field="start_at")
            end = local_to_utc(form.end_at.data, zone, field="end_at")
            service.shorten_booking(_actor(), booking.id, start, end, now=clock.utcnow())

        if commit_or_show(form, shorten):
            flash(_("%(ref)s was shortened; the requester was told.", ref=booking.reference),
                  "success")
            return redirect(url_for(".queue"))
    return render_template("lab_bookings/shorten.html", booking=booking, form=form,
                           zone=zone), (422 if form.errors else 200)


# --- usage and the invoicing export --------------------------------------------------------


@bp.route("/<int:booking_id>/usage", methods=["GET", "POST"])
def record_usage(booking_id: int):
    """A completed booking's hours used and amount charged (defaults: booked, computed)."""
    booking = service.get_booking(_decidable(booking_id).id)
    if request.method == "POST":
        form = UsageForm()
    elif booking.usage_recorded_at is not None:
        form = UsageForm(data={"actual_hours": booking.actual_hours,
                               "charged": booking.charged if booking.charge_reason else None,
                               "charge_reason": booking.charge_reason})
    else:
        form = UsageForm(data={"actual_hours": usage.booked_hours(booking)})
    if form.validate_on_submit():
        def record() -> None:
            usage.record_usage(_actor(), booking.id, form.actual_hours.data,
                               form.charged.data, form.charge_reason.data or "",
                               now=clock.utcnow())

        if commit_or_show(form, record):
            flash(_("Usage of %(ref)s is recorded.", ref=booking.reference), "success")
            return redirect(url_for(".queue"))
    return render_template(
        "lab_bookings/usage_record.html", booking=booking, form=form,
        booked_hours=usage.booked_hours(booking), agreed=usage.agreed(booking),
    ), (422 if form.errors else 200)


def _usage_export() -> tuple[UsageExportForm, date | None, int | None, list[tuple[int, str]]]:
    permissions.require(permissions.can_export_usage, current_user)
    form = UsageExportForm(request.args)
    customers = usage.customer_organisations(_actor())
    form.organisation.choices = [("", _("All customers"))] + [(str(i), n) for i, n in customers]
    today = clock.utcnow().date()
    month = organisation = None
    try:
        month = usage.parse_month(form.month.data, today=today)
    except RuleViolation as exc:
        apply_violation(form, exc)
    if form.organisation.data:
        organisation = parse_id(form.organisation.data)
        if organisation not in {i for i, _n in customers}:
            form.organisation.errors = [_("Choose a customer from the list.")]
            organisation = None
    return form, month, organisation, customers


@bp.get("/usage")
def usage_page():
    """Completed bookings of the manager's labs for a month, by customer: the invoicing
    figures, with a CSV download."""
    form, month, organisation, _customers = _usage_export()
    rows = usage.usage_rows(_actor(), month, organisation) if month and not form.errors \
        else []
    if month and not form.month.data:
        form.month.data = f"{month:%Y-%m}"
    return render_template("lab_bookings/usage.html", form=form, rows=rows, month=month,
                           organisation=organisation), (422 if form.errors else 200)


@bp.get("/usage.csv")
def usage_csv():
    form, month, organisation, _customers = _usage_export()
    if form.errors or month is None:
        return usage_page()
    text = usage.usage_csv(usage.usage_rows(_actor(), month, organisation))
    suffix = f"-org{organisation}" if organisation else ""
    return csv_download(text, f"labnet-usage-{month:%Y-%m}{suffix}.csv")


# --- calendar ----------------------------------------------------------------------------


def _week_start(value: str | None, zone: str) -> date:
    today = utc_to_local(clock.utcnow(), zone).date()
    if value:
        try:
            today = parse_day(value, message=_("Give the week as YYYY-MM-DD."))
        except DateOutOfRange:
            abort(400, _("Give the week as a date between the years %(first)s and %(last)s.",
                         first=FIRST_YEAR, last=LAST_YEAR))
        except ValueError as exc:
            abort(400, str(exc))
    return today - timedelta(days=today.weekday())


@bp.get("/labs/<slug>/calendar")
def calendar(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    zone = lab.timezone
    monday = _week_start(request.args.get("week"), zone)
    days = [monday + timedelta(days=n) for n in range(7)]
    # Local midnights (never skipped by a DST change in Europe) bound each day in UTC.
    bounds = [local_to_utc(datetime(d.year, d.month, d.day), zone)
              for d in [*days, monday + timedelta(days=7)]]
    bookings = db.session.scalars(service.list_lab_bookings(lab, bounds[0], bounds[-1])).all()
    blackouts = db.session.scalars(
        service.list_blackouts(lab).where(service.Blackout.start_at < bounds[-1],
                                          service.Blackout.end_at > bounds[0])).all()
    equipment = service.list_calendar_equipment(lab, {b.equipment_id for b in bookings})
    grid: dict[tuple[int, int], list[Any]] = {}
    for b in bookings:
        for n in range(7):
            if b.start_at < bounds[n + 1] and b.end_at > bounds[n]:
                grid.setdefault((b.equipment_id, n), []).append(b)
    closed: dict[tuple[int | None, int], list[Any]] = {}
    for bo in blackouts:
        for n in range(7):
            if bo.start_at < bounds[n + 1] and bo.end_at > bounds[n]:
                closed.setdefault((bo.equipment_id, n), []).append(bo)
    return render_template(
        "lab_bookings/calendar.html", lab=lab, days=days, equipment=equipment, grid=grid,
        week_label=_day_text(monday, "medium"), day_labels=[_day_text(d, "EEE dd MMM")
                                                            for d in days],
        closed=closed, zone=zone, previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7))


def _day_text(day: date, pattern: str) -> str:
    """A day in the current language: ISO ("2026-03-02") or "Mon 02 Mar" in English, the
    language's own medium date or weekday-day-month pattern in the others."""
    if current_language() == "en":
        return day.isoformat() if pattern == "medium" else day.strftime("%a %d %b")
    return str(format_date(day, pattern, locale=locale_object()))


# --- blackouts ---------------------------------------------------------------------------


def _equipment_choices(lab: Lab):
    rows = service.equipment_names(lab, in_service_only=True)
    return choices([("", _("The whole lab")), *((str(i), name) for i, name in rows)])


@bp.route("/labs/<slug>/blackouts", methods=["GET", "POST"])
def blackouts(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    form = BlackoutForm()
    form.equipment_id.choices = _equipment_choices(lab)
    conflict: list[Booking] = []
    status = 200
    if form.validate_on_submit():
        raw = form.equipment_id.data or ""
        equipment_id = parse_id(raw) if raw else None
        if raw and equipment_id is None:
            equipment_id = -1  # the service refuses it on its field
        try:
            start = local_to_utc(form.start_at.data, lab.timezone, field="start_at")
            end = local_to_utc(form.end_at.data, lab.timezone, field="end_at")
            seen = [i for i in map(parse_id, (form.seen_ids.data or "").split(",")) if i]
            service.add_blackout(_actor(), lab.id, equipment_id, start, end,
                                 form.reason.data or "", now=clock.utcnow(),
                                 affected_action=form.affected_action.data or None,
                                 seen_ids=seen if form.seen_ids.data else None)
        except service.BlackoutConflict as exc:
            conflict = exc.bookings
            db.session.rollback()
            form.seen_ids.data = ",".join(str(b.id) for b in conflict)
            status = 409
        except RuleViolation as exc:
            db.session.rollback()
            apply_violation(form, exc)
        else:
            db.session.commit()
            flash(_("The blackout was added."), "success")
            return redirect(url_for(".blackouts", slug=lab.slug))
    if form.errors:
        status = 422
    rows = db.session.scalars(service.list_blackouts(lab, since=clock.utcnow())).all()
    names = dict(service.equipment_names(lab, in_service_only=False))
    return render_template("lab_bookings/blackouts.html", lab=lab, form=form, rows=rows,
                           names=names, conflict=conflict, action_form=ActionForm()), status


@bp.post("/blackouts/<int:blackout_id>/delete")
def delete_blackout(blackout_id: int):
    if not ActionForm().validate_on_submit():
        return _expired_form()
    lab = service.remove_blackout(_actor(), blackout_id, now=clock.utcnow())
    slug = lab.slug
    db.session.commit()
    flash(_("The blackout was removed; the period can be booked again."), "success")
    return redirect(url_for(".blackouts", slug=slug))


# --- e-mail preference -------------------------------------------------------------------


@mail_bp.route("/account/notifications", methods=["GET", "POST"])
def notifications():
    form = MailModeForm(data=None if request.method == "POST"
                        else {"mail_mode": current_user.mail_mode})
    if form.validate_on_submit() and commit_or_show(form, lambda: accounts.set_mail_mode(
            _actor(), form.mail_mode.data or "", now=clock.utcnow())):
        flash(_("Your e-mail preference was saved."), "success")
        return redirect(url_for(".notifications"))
    return render_template("lab_bookings/notifications.html", form=form), \
        (422 if form.errors else 200)
