"""Registration, the waiting list, the organisers' lists, check-in and certificates, and
qualifications.

Events are loaded through ``permissions.event_for`` (drafts 404 for all but their editors)
and ``edited_event_for`` (403 for people who see the event but do not organise it); a
registration only by its own person and the event's editors (404 for everyone else); a
certificate by its unguessable code (public, like ``/verify/<code>``). The rules are the
training services'.
"""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from labnet import clock, permissions
from labnet.blueprints.helpers import choices, commit_or_flash, commit_or_show, csv_download
from labnet.blueprints.training import bp
from labnet.blueprints.training.forms import (
    ButtonForm,
    CheckInForm,
    EventGrantsForm,
    GrantForm,
    MessageForm,
    QualificationForm,
    RequiredEquipmentForm,
    RevokeForm,
    registration_form,
)
from labnet.converters import parse_id
from labnet.errors import NotFound
from labnet.extensions import db
from labnet.i18n import _, ngettext
from labnet.links import external_url
from labnet.models import Equipment, Lab
from labnet.models.events import Event
from labnet.models.training import RegistrationStatus
from labnet.services.common.spreadsheet import safe_cell
from labnet.services.training import attendance, qualifications, registration
from labnet.services.training.calendar import registration_ics

BADGES = {"registered": "success", "waiting": "warning", "offered": "info",
          "cancelled": "secondary", "lapsed": "secondary"}


def _event_page_url(event: Event) -> str:
    return qualifications.event_page_url(event, external=False)


# --- the person's side ----------------------------------------------------------------------


def _register_page(event: Event, form, status: int = 200):
    now = clock.utcnow()
    mine = registration.live_registration(getattr(current_user, "id", None), event.id)
    return render_template(
        "training/register.html", event=event, form=form, mine=mine, now=now,
        closed=registration.registration_problem(event, now=now),
        when=registration.event_when(event), labels=registration.STATUS_LABELS,
        grants=qualifications.event_grants(event.id), event_url=_event_page_url(event),
    ), status


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@login_required
def register(slug: str):
    """The organiser's questions, then a seat or a place on the waiting list."""
    event = permissions.event_for(current_user, slug)
    form = registration_form(event.questions)
    if request.method == "GET":
        return _register_page(event, form)
    if not form.validate_on_submit():
        return _register_page(event, form, 422)
    answers = {name: str(field.data or "") for name, field in form._fields.items()
               if name.startswith("q_")}
    done = commit_or_show(form, lambda: registration.register(
        current_user, event.id, answers, now=clock.utcnow()))
    if not done:
        return _register_page(event, form, done.status)
    reg = done.value
    assert reg is not None
    flash(_("You are registered.") if reg.status == RegistrationStatus.REGISTERED
          else _("The event is full: you are on the waiting list. We e-mail you when a seat "
                 "is free for you."), "success" if reg.status == RegistrationStatus.REGISTERED
          else "info")
    return redirect(url_for("training.registration", registration_id=reg.id))


@bp.get("/registrations/<int:registration_id>", endpoint="registration")
@login_required
def registration_page(registration_id: int):
    reg, event = registration.registration_for(current_user, registration_id)
    return render_template(
        "training/registration.html", reg=reg, event=event, form=ButtonForm(),
        when=registration.event_when(event), labels=registration.STATUS_LABELS, badges=BADGES,
        position=registration.waiting_position(reg), now=clock.utcnow(),
        online=permissions.can_see_online_url(current_user, event),
        own=reg.user_id == current_user.id, event_url=_event_page_url(event),
        certificate=next((c for c in attendance.certificates_of(reg.user_id)
                          if c.registration_id == reg.id), None))


@bp.post("/registrations/<int:registration_id>/cancel")
@login_required
def cancel(registration_id: int):
    reg, _event = registration.registration_for(current_user, registration_id)
    commit_or_flash(ButtonForm(), lambda: registration.cancel_registration(
        current_user, reg.id, now=clock.utcnow()), done=_("Cancelled."))
    return redirect(url_for("training.registration", registration_id=reg.id))


@bp.post("/registrations/<int:registration_id>/accept")
@login_required
def accept(registration_id: int):
    reg, _event = registration.registration_for(current_user, registration_id)
    if reg.user_id != current_user.id:
        raise NotFound(registration_id)
    commit_or_flash(ButtonForm(), lambda: registration.accept_offer(
        current_user, reg.id, now=clock.utcnow()), done=_("The seat is yours: you are registered."))
    return redirect(url_for("training.registration", registration_id=reg.id))


@bp.get("/registrations/<int:registration_id>.ics")
@login_required
def ics(registration_id: int):
    reg, event = registration.registration_for(current_user, registration_id)
    body = registration_ics(reg, event, now=clock.utcnow())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


@bp.get("/account/training")
@login_required
def mine():
    """My training: registrations, certificates, qualifications with expiry dates."""
    now = clock.utcnow()
    rows = db.session.execute(registration.list_my_registrations(current_user)).tuples().all()
    return render_template(
        "training/mine.html", rows=rows, now=now, labels=registration.STATUS_LABELS,
        badges=BADGES, certificates=attendance.certificates_of(current_user.id),
        holdings=qualifications.list_holdings(current_user.id))


# --- the organisers' side -------------------------------------------------------------------


@bp.get("/events/<slug>/registrations")
@login_required
def participants(slug: str):
    event = permissions.edited_event_for(current_user, slug)
    return render_template(
        "training/participants.html", event=event, rows=registration.list_participants(event),
        labels=registration.STATUS_LABELS, badges=BADGES, form=ButtonForm(),
        sessions=attendance.list_sessions(event.id), when=registration.event_when(event),
        event_url=_event_page_url(event))


@bp.get("/events/<slug>/registrations.csv")
@login_required
def participants_csv(slug: str):
    event = permissions.edited_event_for(current_user, slug)
    questions = [q for q in event.questions or [] if q.get("key")]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("status"), _("waiting position"), _("name"), _("email"),
                     _("organisation"), _("registered at (UTC)"), _("sessions attended"),
                     *[str(q.get("label") or q["key"]) for q in questions]])
    for row in registration.list_participants(event):
        reg = row.registration
        writer.writerow([safe_cell(str(v)) for v in (
            reg.status, row.position or "", row.name, row.email, row.organisation,
            reg.registered_at.isoformat() if reg.registered_at else "", row.attended,
            *[str(reg.answers.get(q["key"], "")) for q in questions])])
    return csv_download(out.getvalue(), f"{event.slug}-registrations.csv")


@bp.route("/events/<slug>/message", methods=["GET", "POST"])
@login_required
def message(slug: str):
    event = permissions.edited_event_for(current_user, slug)
    form = MessageForm()
    count = sum(1 for r in registration.list_participants(event)
                if r.registration.status == RegistrationStatus.REGISTERED)
    if request.method == "POST":
        if form.validate_on_submit():
            sent = commit_or_show(form, lambda: registration.message_participants(
                current_user, event.id, form.subject.data or "", form.body.data or "",
                now=clock.utcnow()))
            if sent:
                flash(ngettext("Message sent to %(num)d registered person.",
                               "Message sent to %(num)d registered people.", sent.value),
                      "success")
                return redirect(url_for("training.participants", slug=event.slug))
            status = sent.status
        else:
            status = 422
        return render_template("training/message.html", event=event, form=form,
                               count=count), status
    return render_template("training/message.html", event=event, form=form, count=count)


@bp.route("/events/<slug>/check-in", methods=["GET", "POST"])
@login_required
def check_in(slug: str):
    """The phone-friendly check-in list of one session (``?session=<id>``)."""
    event = permissions.edited_event_for(current_user, slug)
    sessions = attendance.list_sessions(event.id)
    if request.method == "POST":
        form = CheckInForm()
        session_id = parse_id(form.session_id.data)
        registration_id = parse_id(form.registration_id.data)
        if session_id is None or registration_id is None:
            abort(404)
        commit_or_flash(form, lambda: attendance.mark_attendance(
            current_user, event.id, registration_id, session_id, form.present.data == "1",
            now=clock.utcnow()), done=_("Saved."))
        return redirect(url_for("training.check_in", slug=event.slug, session=session_id,
                                _anchor=f"reg-{registration_id}"))
    chosen = parse_id(request.args.get("session")) if request.args.get("session") else None
    now = clock.utcnow()
    session = next((s for s in sessions if s.id == chosen), None)
    if session is None and sessions:
        # Today's (or the next) session by default, else the last one.
        session = next((s for s in sessions if s.ends_at > now), sessions[-1])
    rows = attendance.check_in_list(event, session.id) if session else []
    return render_template(
        "training/check_in.html", event=event, sessions=sessions, session=session, rows=rows,
        form=ButtonForm(), label=lambda s: attendance.session_label(s, event.timezone))


@bp.post("/events/<slug>/certificates")
@login_required
def issue_certificates(slug: str):
    event = permissions.edited_event_for(current_user, slug)
    done = commit_or_flash(ButtonForm(), lambda: attendance.issue_certificates(
        current_user, event.id, now=clock.utcnow()), done=_("Certificates issued."))
    if done and done.value == 0:
        flash(_("Everyone marked present has a certificate already."), "info")
    return redirect(url_for("training.participants", slug=event.slug))


@bp.route("/events/<slug>/qualifications", methods=["GET", "POST"])
@login_required
def event_qualifications(slug: str):
    """Which qualifications attending every session of the course grants."""
    event = permissions.edited_event_for(current_user, slug)
    grantable = qualifications.grantable_for_event(current_user, event)
    form = EventGrantsForm()
    form.qualification_ids.choices = choices((q.id, q.name) for q in grantable)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            saved = commit_or_show(form, lambda: qualifications.set_event_grants(
                current_user, event.id, form.qualification_ids.data or [], now=clock.utcnow()))
            if saved:
                flash(_("Saved."), "success")
                return redirect(url_for("training.event_qualifications", slug=event.slug))
            status = saved.status
        else:
            status = 422
    else:
        form.qualification_ids.data = [q.id for q in qualifications.event_grants(event.id)]
    return render_template("training/event_qualifications.html", event=event, form=form,
                           grantable=grantable, event_url=_event_page_url(event)), status


# --- certificates (public by their code) ----------------------------------------------------


@bp.get("/certificates/<code>")
def certificate(code: str):
    cert = attendance.certificate_by_code(code)
    return render_template("training/certificate.html", cert=cert,
                           verify_url=external_url("training.certificate", code=cert.code))


@bp.get("/certificates/<code>.pdf")
def certificate_pdf(code: str):
    cert = attendance.certificate_by_code(code)
    body = attendance.certificate_pdf(cert, external_url("training.certificate", code=cert.code))
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="certificate-{cert.code}.pdf"'
    return response


# --- qualifications (lab managers) ----------------------------------------------------------


@bp.route("/manage/labs/<slug>/qualifications", methods=["GET", "POST"])
@login_required
def lab_qualifications(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    form = QualificationForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            made = commit_or_show(form, lambda: qualifications.create_qualification(
                current_user, lab.id, form.name.data or "", form.validity_months.data,
                form.description.data or "", now=clock.utcnow()))
            if made:
                assert made.value is not None
                flash(_("Qualification “%(name)s” created: choose the equipment that "
                        "requires it.", name=made.value.name), "success")
                return redirect(url_for("training.qualification", qualification_id=made.value.id))
            status = made.status
        else:
            status = 422
    return render_template("training/lab_qualifications.html", lab=lab, form=form,
                           items=qualifications.list_lab_qualifications(lab.id)), status


def _qualification_page(q, lab: Lab, *, equipment_form=None, grant_form=None,
                        status: int = 200):
    items = list(db.session.scalars(select(Equipment).where(
        Equipment.lab_id == lab.id, Equipment.status != "retired").order_by(Equipment.name)))
    if equipment_form is None:
        equipment_form = RequiredEquipmentForm(prefix="eq")
        equipment_form.equipment_ids.data = sorted(qualifications.required_equipment_ids(q.id))
    equipment_form.equipment_ids.choices = choices(
        (e.id, e.name + (" (operator-assisted: no qualification needed)"
                         if e.mode == "operator_assisted" else "")) for e in items)
    now = clock.utcnow()
    return render_template(
        "training/qualification.html", q=q, lab=lab, equipment_form=equipment_form,
        grant_form=grant_form or GrantForm(prefix="grant"), revoke_form=RevokeForm(),
        holders=db.session.execute(qualifications.list_holders(q.id)).tuples().all(), now=now,
        course=qualifications.next_course(q.id, now=now)), status


@bp.route("/manage/qualifications/<int:qualification_id>", methods=["GET", "POST"])
@login_required
def qualification(qualification_id: int):
    """A qualification: the equipment requiring it, its holders, grant and revoke."""
    q = qualifications.qualification_for_manager(current_user, qualification_id)
    lab = db.session.get_one(Lab, q.lab_id)
    if request.method == "GET":
        return _qualification_page(q, lab)
    if "eq-submit" in request.form or any(k.startswith("eq-") for k in request.form):
        form = RequiredEquipmentForm(prefix="eq")
        form.equipment_ids.choices = []
        if not form.validate_on_submit():
            return _qualification_page(q, lab, equipment_form=form, status=422)
        saved = commit_or_show(form, lambda: qualifications.set_required_equipment(
            current_user, q.id, form.equipment_ids.data or [], now=clock.utcnow()))
        if not saved:
            return _qualification_page(q, lab, equipment_form=form, status=saved.status)
        flash(_("Saved: the equipment chosen requires this qualification."), "success")
        return redirect(url_for("training.qualification", qualification_id=q.id))
    grant = GrantForm(prefix="grant")
    if not grant.validate_on_submit():
        return _qualification_page(q, lab, grant_form=grant, status=422)
    done = commit_or_show(grant, lambda: qualifications.grant_by_hand(
        current_user, q.id, grant.email.data or "", now=clock.utcnow()))
    if not done:
        return _qualification_page(q, lab, grant_form=grant, status=done.status)
    flash(_("Granted; the person is told by e-mail."), "success")
    return redirect(url_for("training.qualification", qualification_id=q.id))


@bp.post("/manage/qualifications/grants/<int:grant_id>/revoke")
@login_required
def revoke(grant_id: int):
    from labnet.models.training import QualificationGrant

    grant = db.session.get(QualificationGrant, grant_id)
    if grant is None:
        raise NotFound(grant_id)
    q = qualifications.qualification_for_manager(current_user, grant.qualification_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("Give a reason to revoke the qualification."), "warning")
    else:
        commit_or_flash(form, lambda: qualifications.revoke_grant(
            current_user, grant.id, form.reason.data or "", now=clock.utcnow()),
            done=_("Revoked; the person is told by e-mail."))
    return redirect(url_for("training.qualification", qualification_id=q.id))
