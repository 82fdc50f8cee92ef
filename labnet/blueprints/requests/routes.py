"""Requests (access, service, joint project): the new-request form, "My requests", the lab
managers' inbox, and a request's page with its thread and actions.

Requests are loaded through ``permissions.request_for`` (404 for anyone but the parties
and admins); the rules and the workflow are ``services.requests.workflow``'.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labnet import clock, permissions
from labnet.blueprints.helpers import choices, commit_or_show, show_rule_refusals
from labnet.blueprints.requests import bp
from labnet.blueprints.requests.forms import ActionForm, AnswerForm, MessageForm, RequestForm
from labnet.converters import parse_id
from labnet.errors import NotFound, PermissionDenied
from labnet.extensions import db
from labnet.i18n import _, _l, current_language, data_name, locale_object
from labnet.models import Equipment, KetArea, Lab
from labnet.models.request import (
    ANSWERABLE,
    REQUEST_KIND_LABELS,
    REQUEST_STATUS_LABELS,
    THREAD_OPEN,
    LabAnswer,
    LabRequest,
    RequestKind,
)
from labnet.services.catalogue.labs import picker
from labnet.services.catalogue.taxonomy import list_ket_areas
from labnet.services.common import audit
from labnet.services.requests import workflow as service

STATUS_BADGES = {
    "submitted": "warning", "in_review": "info", "accepted": "success", "declined": "danger",
    "active": "primary", "completed": "secondary", "withdrawn": "secondary",
}
ANSWER_BADGES = {"pending": "warning", "accepted": "success", "declined": "danger"}
# A request's history as people read it, by audit action (a lab's answers: the template).
HISTORY_LABELS = {
    "request.submitted": _l("submitted"),
    "request.in_review": _l("in review"),
    "request.accepted": _l("accepted"),
    "request.declined": _l("declined"),
    "request.active": _l("active"),
    "request.withdrawn": _l("withdrawn"),
    "request.completed": _l("completed"),
}


# --- the new-request form -------------------------------------------------------------------


def _kind(raw: str | None) -> RequestKind | None:
    try:
        return RequestKind(raw or "")
    except ValueError:
        return None


def _ket_choices() -> list[tuple[str, str]]:
    return [(k.code, f"{k.code} · {data_name('ket_areas', k.code, k.name)}")
            for k in list_ket_areas()]


def _shown_labs(slugs: list[str]) -> list[tuple[str, Lab | None]]:
    """Each chosen slug with its published lab (None: no such published lab)."""
    slugs = [s for s in dict.fromkeys(s.strip() for s in slugs) if s][:20]
    found = service.get_listed_labs(slugs)
    return [(s, found.get(s)) for s in slugs]


def _equipment(raw: str | None) -> Equipment | None:
    equipment_id = parse_id(raw)
    if equipment_id is None:
        return None
    try:
        item = permissions.equipment_for(current_user, equipment_id)
    except NotFound:
        return None
    return item


def _form_page(form: RequestForm, kind: RequestKind, status: int = 200):
    labs = _shown_labs(form.lab.data or [])
    return render_template(
        "requests/new.html", form=form, kind=kind, kind_label=REQUEST_KIND_LABELS[kind],
        labs=labs, equipment=_equipment(form.equipment.data),
        kinds=REQUEST_KIND_LABELS,
    ), status


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def create():
    """``?kind=access|service|joint_project&lab=<slug>[&lab=…][&equipment=<id>]``."""
    if not permissions.can_send_request(current_user):
        return render_template("requests/not_company.html"), 403
    form = RequestForm(ket_choices=_ket_choices())
    if request.method == "GET":
        kind = _kind(request.args.get("kind"))
        lab_slugs = [s[:120] for s in request.args.getlist("lab")][:20]
        if kind is None:
            return render_template("requests/choose.html", labs=_shown_labs(lab_slugs),
                                   lab_slugs=lab_slugs, kinds=REQUEST_KIND_LABELS,
                                   equipment=request.args.get("equipment", "")[:12])
        form.kind.data = kind
        form.lab.data = lab_slugs
        item = _equipment(request.args.get("equipment"))
        if item is not None:
            form.equipment.data = str(item.id)
            if kind == RequestKind.ACCESS:
                form.title.data = item.name
        if kind == RequestKind.JOINT_PROJECT:
            form.trl_now.data = form.trl_target.data = ""
        return _form_page(form, kind)
    kind = _kind(form.kind.data)
    if kind is None:
        abort(400)
    if request.form.get("add"):
        # "Add" button: put another lab on the list and show the form again (no write).
        form.validate()
        form.lab.data = list(form.lab.data or [])
        new = (form.add_lab.data or "").strip()
        if new:
            # By name or address name (services.catalogue.labs.picker).
            found = commit_or_show(form, lambda: picker.resolve_lab(new), fields=(),
                                   fallback="add_lab")
            if not found:
                return _form_page(form, kind, status=422)
            lab = found.value
            if lab is not None and lab.slug not in form.lab.data:
                form.lab.data.append(lab.slug)
            form.add_lab.data = ""
        return _form_page(form, kind)
    shape_ok = form.validate_for(kind)

    def send() -> LabRequest:
        labs = service.resolve_labs(form.lab.data or [])
        equipment = form.equipment.data
        return service.create_request(current_user, service.NewRequest(
            kind=kind, lab_ids=[lab.id for lab in labs],
            title=form.title.data or "", summary=form.summary.data or "",
            ket_code=form.ket_code.data or None,
            equipment_id=parse_id(equipment),
            quantity=form.quantity.data or "", deadline=form.deadline.data,
            budget_min_eur=form.budget_min_eur.data, budget_max_eur=form.budget_max_eur.data,
            duration_months=form.duration_months.data,
            funding_programme=form.funding_programme.data or "",
            trl_now=form.int_or_none("trl_now"), trl_target=form.int_or_none("trl_target"),
        ), now=clock.utcnow())

    if not shape_ok:
        # Every error at once: the service's rules too, on the fields that did parse.
        show_rule_refusals(form, send)
        return _form_page(form, kind, status=422)
    sent = commit_or_show(form, send)
    if not sent:
        return _form_page(form, kind, status=sent.status)
    created = sent.value
    flash(_("Request %(ref)s sent.", ref=created.reference) + " "
          + service.receivers_note(created), "success")
    return redirect(url_for("requests.detail", key=created.reference))


# --- lists --------------------------------------------------------------------------------


def _status_filter() -> str:
    raw = request.args.get("status", "")
    return raw if raw in REQUEST_STATUS_LABELS or raw == "open" else ""


@bp.get("/requests")
@login_required
def index():
    """My requests: all of the organisation's requests, latest activity first."""
    status = _status_filter()
    rows = list(db.session.scalars(service.list_requests(current_user, status=status)))
    return render_template("requests/index.html", rows=rows, status=status,
                           statuses=REQUEST_STATUS_LABELS, badges=STATUS_BADGES,
                           answer_badges=ANSWER_BADGES, answer_labels=service.ANSWER_LABELS,
                           may_send=permissions.can_send_request(current_user))


@bp.get("/requests/inbox")
@login_required
def inbox():
    """The lab managers' inbox: requests to the labs they manage, by lab and status, with
    the open and waiting counts per lab."""
    if not permissions.can_use_request_inbox(current_user):
        raise PermissionDenied("inbox")
    labs = service.list_inbox_labs(current_user)
    lab_slug = request.args.get("lab", "")[:120]
    status = _status_filter()
    lab_id = None
    if lab_slug:
        chosen = next((lab for lab in labs if lab.slug == lab_slug), None)
        lab_id = chosen.id if chosen else -1
    rows = list(db.session.scalars(service.list_inbox(current_user, lab_id=lab_id,
                                                      status=status)))
    return render_template("requests/inbox.html", rows=rows, labs=labs, lab_slug=lab_slug,
                           status=status, statuses=REQUEST_STATUS_LABELS,
                           badges=STATUS_BADGES, answer_badges=ANSWER_BADGES,
                           answer_labels=service.ANSWER_LABELS)


# --- one request ----------------------------------------------------------------------------


def _load(key: str) -> LabRequest:
    found = permissions.request_for(current_user, key)
    return service.load_request(found.id)


def _day(day: date | None) -> str:
    """A date as the reader writes it: ISO in English (as ``localtime``), else the
    language's medium date."""
    if day is None:
        return ""
    if current_language() == "en":
        return day.isoformat()
    return str(format_date(day, "medium", locale=locale_object()))


def _detail_page(req: LabRequest, *, message_form: MessageForm | None = None,
                 answer_form: AnswerForm | None = None, action_form: ActionForm | None = None,
                 status: int = 200):
    managed = permissions.request_managed_lab_ids(current_user, req.id)
    company = permissions.is_request_company_side(current_user, req)
    names = {link.lab_id: link.lab.name for link in req.labs}
    message_form = message_form or MessageForm()
    sides = ([("", _("%(name)s (the company)", name=req.organisation.name))] if company
             else []) + [
        (str(lab_id), names[lab_id]) for lab_id in managed]
    message_form.lab.choices = choices(sides)
    answerable = [link for link in req.labs if link.lab_id in managed
                  and link.answer == LabAnswer.PENDING and req.status in ANSWERABLE]
    equipment = db.session.get(Equipment, req.equipment_id) if req.equipment_id else None
    ket = db.session.get(KetArea, req.ket_code) if req.ket_code else None
    return render_template(
        "requests/detail.html", req=req, messages=service.thread(req.id),
        history=audit.list_history("lab_request", req.id),
        managed=managed, company=company, is_party=company or bool(managed),
        message_form=message_form, answer_form=answer_form or AnswerForm(),
        action_form=action_form or ActionForm(), answerable=answerable,
        may_review=permissions.can_review_request(current_user, req, managed_lab_ids=managed),
        may_confirm=permissions.can_confirm_request(current_user, req),
        may_withdraw=permissions.can_withdraw_request(current_user, req),
        may_complete=permissions.can_complete_request(current_user, req,
                                                      managed_lab_ids=managed),
        thread_open=req.status in THREAD_OPEN, badges=STATUS_BADGES,
        answer_badges=ANSWER_BADGES, equipment=equipment, ket=ket,
        answer_labels=service.ANSWER_LABELS, history_labels=HISTORY_LABELS,
        status_word=service.StatusWord(req.status), deadline=_day(req.deadline),
    ), status


@bp.get("/requests/<key>")
@login_required
def detail(key: str):
    return _detail_page(_load(key))


def _party(req: LabRequest) -> None:
    # Admins see every request but are no party: they act on none.
    if not permissions.is_request_party(current_user, req):
        raise PermissionDenied("request party")


@bp.post("/requests/<key>/messages")
@login_required
def post_message(key: str):
    req = _load(key)
    _party(req)
    form = MessageForm()
    if not form.validate_on_submit():
        return _detail_page(req, message_form=form, status=422)
    lab = parse_id(form.lab.data)
    sent = commit_or_show(form, lambda: service.post_message(
        current_user, req.id, form.body.data or "", lab=lab, now=clock.utcnow()))
    if not sent:
        return _detail_page(_load(key), message_form=form, status=sent.status)
    flash(_("Message sent."), "success")
    return redirect(url_for("requests.detail", key=req.reference) + "#thread")


@bp.post("/requests/<key>/answer")
@login_required
def answer(key: str):
    req = _load(key)
    _party(req)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _detail_page(req, answer_form=form, status=422)
    if form.decision.data not in ("accept", "decline"):
        form.decision.errors = [*form.decision.errors, _("Choose accept or decline.")]
        return _detail_page(req, answer_form=form, status=422)
    raw = form.lab.data or ""
    managed = permissions.request_managed_lab_ids(current_user, req.id)
    lab_id = parse_id(raw) if raw.isdigit() else (managed[0] if len(managed) == 1 else None)
    if lab_id is None:
        form.decision.errors = [*form.decision.errors, _("Say which of your labs answers.")]
        return _detail_page(req, answer_form=form, status=422)
    answered = commit_or_show(
        form, lambda: service.answer(current_user, req.id, lab_id,
                                     form.decision.data == "accept",
                                     form.answer_message.data or "", now=clock.utcnow()),
        fields=("answer_message", "decision"), fallback="decision")
    if not answered:
        return _detail_page(_load(key), answer_form=form, status=answered.status)
    flash(_("Your lab's answer is recorded and the company is told."), "success")
    return redirect(url_for("requests.detail", key=req.reference))


def _action(key: str, run, done: str):
    req = _load(key)
    _party(req)
    form = ActionForm()
    if not form.validate_on_submit():
        return _detail_page(req, action_form=form, status=400)
    # The refusal is about the request's state: shown above the buttons, not on a field.
    outcome = commit_or_show(form, lambda: run(current_user, req.id, now=clock.utcnow()),
                             fields=())
    if not outcome:
        return _detail_page(_load(key), action_form=form, status=outcome.status)
    flash(done, "success")
    return redirect(url_for("requests.detail", key=req.reference))


@bp.post("/requests/<key>/review")
@login_required
def review(key: str):
    return _action(key, service.start_review, _("The request is now in review."))


@bp.post("/requests/<key>/confirm")
@login_required
def confirm(key: str):
    return _action(key, service.confirm, _("Confirmed: the request is active."))


@bp.post("/requests/<key>/withdraw")
@login_required
def withdraw(key: str):
    return _action(key, service.withdraw, _("The request is withdrawn."))


@bp.post("/requests/<key>/complete")
@login_required
def complete(key: str):
    return _action(key, service.complete, _("The request is marked completed."))
