"""The LabNet excellence label: the public framework, a lab's applications, scoring and the
verifiers' work list.

Every route loads through ``permissions`` (``managed_lab_for``, ``label_application_for``:
404 for an application the user may not know of), calls one service of
``services.accreditation.label`` and commits once.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labnet import clock, permissions
from labnet.blueprints.auth.forms import ConfirmForm
from labnet.blueprints.helpers import commit_or_flash, commit_or_show
from labnet.blueprints.label import bp
from labnet.blueprints.label.forms import application_form, score_form
from labnet.extensions import db
from labnet.i18n import _
from labnet.models import LabelApplication, LabelStatus
from labnet.services.accreditation import evidence, label, label_figures
from labnet.services.accreditation.label_framework import framework, level_for, shown


def _actor() -> Any:
    return current_user._get_current_object()


@bp.get("/label")
def index():
    actor = _actor() if current_user.is_authenticated else None
    labs = db.session.scalars(permissions.managed_labs(actor)).all() if actor else []
    return render_template("label/index.html", fw=shown(), labs=labs)


@bp.get("/label/queue")
@login_required
def queue():
    permissions.require(permissions.is_verifier, current_user)
    rows = db.session.scalars(label.verifier_queue(_actor())).all()
    return render_template("label/queue.html", applications=rows)


@bp.get("/label/labs/<slug>")
@login_required
def lab(slug: str):
    the_lab = permissions.managed_lab_for(current_user, slug)
    today = clock.to_zone(clock.utcnow(), the_lab.timezone).date()
    return render_template(
        "label/lab.html", lab=the_lab, fw=shown(), form=ConfirmForm(),
        current=label.current_label(the_lab.id, today),
        open_application=label.open_application(the_lab.id),
        applications=db.session.scalars(label.list_applications(the_lab.id)).all())


@bp.post("/label/labs/<slug>/apply")
@login_required
def apply(slug: str):
    the_lab = permissions.managed_lab_for(current_user, slug)
    outcome = commit_or_flash(
        ConfirmForm(), lambda: label.start_application(_actor(), the_lab, now=clock.utcnow()),
        done=_("Your application is started: answer each criterion, save, and submit."))
    if outcome and outcome.value is not None:
        return redirect(url_for("label.application", application_id=outcome.value.id))
    return redirect(url_for("label.lab", slug=the_lab.slug))


def _page(application: LabelApplication, *, form: Any = None, scoring: Any = None,
          status: int = 200):
    actor = _actor()
    scores = label.scores_of(application.id)
    editable = permissions.can_edit_label_application(actor, application)
    answers = label.answers_of(application.id)
    if editable and form is None:
        form = application_form()(formdata=None, data={
            **{f"answer_{k}": a.text for k, a in answers.items()},
            **{f"url_{k}": a.evidence_url for k, a in answers.items()}})
    # A refusal on no field (own lab, scored already, decided) shows even without the form.
    refusals = list(scoring.form_errors) if scoring is not None else []
    can_score = (permissions.can_score_label(actor, application)
                 and not any(s.verifier_id == actor.id for s in scores))
    to_score = label.criteria_to_score(application, scores) if can_score else []
    if can_score and scoring is None:
        scoring = score_form()(formdata=None)
    # Each verifier's scores are their own until both initial scores are in; the lab's
    # managers see the agreed result once decided.
    see_all = label.can_see_all_scores(application) and permissions.is_verifier(actor)
    visible = [s for s in scores if see_all or s.verifier_id == actor.id]
    figures = application.figures if application.figures is not None else \
        label_figures.lab_figures(application.lab, now=clock.utcnow())
    return render_template(
        "label/application.html", application=application, lab=application.lab,
        fw=shown(), answers=answers, form=form if editable else None,
        # Why not higher, in the reader's language (the record keeps LabNet's own words).
        reasons=level_for(application.result["agreed"]).reasons
        if application.result and application.result.get("agreed") is not None else (),
        scoring=scoring if can_score else None, to_score=to_score, scores=visible,
        disputed=label.disputed(scores) if see_all else [], refusals=refusals,
        figures=figures, figure_labels=label_figures.LABELS,
        show_figure=label_figures.display, period=label_figures.period_text(figures),
        LabelStatus=LabelStatus,
        manages=permissions.manages_lab(actor, application.lab_id)), status


@bp.get("/label/applications/<int:application_id>")
@login_required
def application(application_id: int):
    return _page(permissions.label_application_for(current_user, application_id))


def _answers(form: Any) -> dict[str, label.AnswerInput]:
    answers = {}
    for c in framework().criteria:
        upload = form[f"file_{c.code}"].data
        data = upload.stream.read(evidence.MAX_BYTES + 1) if upload else None
        answers[c.code] = label.AnswerInput(
            text=form[f"answer_{c.code}"].data or "", url=form[f"url_{c.code}"].data or "",
            file=data or None, file_name=getattr(upload, "filename", "") or "",
            remove_file=bool(form[f"remove_{c.code}"].data))
    return answers


@bp.post("/label/applications/<int:application_id>/answers")
@login_required
def save(application_id: int):
    application = permissions.label_application_for(current_user, application_id)
    permissions.require(permissions.can_edit_label_application, current_user, application)
    form = application_form()()
    submit = request.form.get("action") == "submit"
    if form.validate_on_submit():
        outcome = commit_or_show(form, lambda: label.save_answers(
            _actor(), application, _answers(form), submit=submit, now=clock.utcnow()))
        if outcome:
            flash(_("Submitted: two LabNet verifiers will score it.") if submit
                  else _("Your answers are saved."), "success")
            return redirect(url_for("label.application", application_id=application.id))
        return _page(db.session.get_one(LabelApplication, application_id), form=form,
                     status=outcome.status)
    return _page(application, form=form, status=422)


@bp.post("/label/applications/<int:application_id>/score")
@login_required
def score(application_id: int):
    application = permissions.label_application_for(current_user, application_id)
    form = score_form()()
    if form.validate_on_submit():
        given = {c.code: form[f"score_{c.code}"].data for c in framework().criteria}
        outcome = commit_or_show(form, lambda: label.score_application(
            _actor(), application.id, given, form.comment.data or "", now=clock.utcnow()))
        if outcome:
            flash(_("Your scores are recorded."), "success")
            return redirect(url_for("label.application", application_id=application_id))
        return _page(db.session.get_one(LabelApplication, application_id), scoring=form,
                     status=outcome.status)
    return _page(application, scoring=form, status=422)
