"""Accreditation pages.

- a lab's managers: ``/manage/labs/<slug>/accreditations`` (the lab's claims and history),
  ``…/new`` (claim or renew), and the claim page ``/accreditations/claims/<id>`` where they
  answer questions;
- verifiers (and admins): ``/accreditations/queue``, the same claim page with its
  decisions and questions;
- evidence PDFs of claims and label answers at ``/evidence/<stored name>`` (the one
  store, ``services.accreditation.evidence``), served to whoever may read their claim or
  application only (404 for anyone else);
- everyone: the registry ``/accreditations`` (+ ``.csv``, ``.json``) and ``/verify/<code>``.

Each route loads through ``permissions``, calls one service and commits once.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from labnet import clock, data, permissions
from labnet.blueprints.accreditations import bp
from labnet.blueprints.accreditations.forms import (
    AnswerForm,
    ClaimForm,
    DecisionForm,
    QuestionForm,
)
from labnet.blueprints.helpers import choices, commit_or_show, csv_download
from labnet.extensions import db, login_manager
from labnet.i18n import _, data_name
from labnet.models import Accreditation, AccreditationScheme, Lab
from labnet.services.accreditation import claims, evidence, registry
from labnet.services.accreditation.validity import local_today, shown_state
from labnet.services.catalogue.taxonomy import ket_names, lab_kind_names
from labnet.templating import country_name

# A larger body than the app's limit reaches the claim form, so a 40 MB "PDF" is refused
# on its field (evidence.MAX_BYTES) with what was typed kept, not by a bare 413.
CLAIM_BODY_LIMIT = 64 * 1024 * 1024


def _raise_claim_limit() -> None:
    # First of the app's before-request hooks: CSRF protection reads the form before any
    # blueprint hook runs, and the limit must be raised before the body is parsed.
    if request.endpoint == "accreditations.new_claim" and request.method == "POST":
        request.max_content_length = CLAIM_BODY_LIMIT


@bp.record_once
def _install_limit(state: Any) -> None:
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_claim_limit)


def _signed_in() -> Any:
    return None if current_user.is_authenticated else login_manager.unauthorized()


def _schemes() -> list[AccreditationScheme]:
    return list(db.session.scalars(
        db.select(AccreditationScheme).order_by(AccreditationScheme.name)))


# --- a lab's managers ---------------------------------------------------------------------


@bp.get("/manage/labs/<slug>/accreditations")
def lab_list(slug: str):
    if (login := _signed_in()) is not None:
        return login
    lab = permissions.managed_lab_for(current_user, slug)
    now = clock.utcnow()
    rows = [(a, shown_state(a, lab.timezone, now)) for a in claims.of_lab(lab)]
    return render_template("accreditations/lab_list.html", lab=lab, rows=rows,
                           scheme_names=dict(_scheme_pairs()), level_names=registry.LEVEL_NAMES)


def _scheme_pairs() -> list[tuple[str, str]]:
    return [(s.code, s.name) for s in _schemes()]


def _claim_input(form: ClaimForm, lab: Lab) -> claims.ClaimInput:
    upload = form.evidence.data
    content: bytes | None = None
    name = ""
    if upload is not None and getattr(upload, "filename", ""):
        content = upload.stream.read(evidence.MAX_BYTES + 1)
        name = upload.filename or ""
    scheme = form.scheme_code.data or ""
    issuer = form.issuer.data or ""
    if claims.needs_national_body(scheme) and not issuer.strip():
        issuer = claims.national_body(lab.country) or ""
    renews = form.renews_id.data or ""
    return claims.ClaimInput(
        scheme_code=scheme, certificate_no=form.certificate_no.data or "", issuer=issuer,
        scope=form.scope.data or "", valid_from=form.valid_from.data,
        valid_until=form.valid_until.data, evidence_url=(form.evidence_url.data or "").strip(),
        evidence_pdf=content, evidence_name=name,
        renews_id=int(renews) if renews.isdigit() else (-1 if renews else None))


@bp.route("/manage/labs/<slug>/accreditations/new", methods=["GET", "POST"])
def new_claim(slug: str):
    if (login := _signed_in()) is not None:
        return login
    lab = permissions.managed_lab_for(current_user, slug)
    form = ClaimForm()
    schemes = _schemes()
    form.scheme_code.choices = choices([
        ("", _("Choose a scheme…")),
        *((s.code, data_name("accreditation_schemes", s.code, s.name)) for s in schemes)])
    renews: Accreditation | None = None
    if request.method == "GET" and request.args.get("renews", "").isdigit():
        renews = db.session.get(Accreditation, int(request.args["renews"]))
        if renews is None or renews.lab_id != lab.id:
            abort(404)
        form.renews_id.data = str(renews.id)
        form.scheme_code.data = renews.scheme_code
        form.issuer.data = renews.issuer
        form.scope.data = renews.scope
    elif form.renews_id.data and form.renews_id.data.isdigit():
        renews = db.session.get(Accreditation, int(form.renews_id.data))
    status = 200
    if form.validate_on_submit():
        now = clock.utcnow()
        item = _claim_input(form, lab)
        done = commit_or_show(form, lambda: claims.create_claim(
            current_user, lab, item, now=now, instance_path=current_app.instance_path,
            today=local_today(lab.timezone, now)))
        if done:
            flash(_("Your claim was sent to LabNet's verifiers."), "success")
            return redirect(url_for(".claim", accreditation_id=done.value.id))
        status = done.status
    elif form.errors:
        status = 422
    return render_template(
        "accreditations/new_claim.html", lab=lab, form=form, renews=renews,
        validity={s.code: s.default_validity_months for s in schemes},
        national=sorted(data.NATIONAL_BODY_SCHEMES), body=claims.national_body(lab.country),
        bodies=sorted(data.accreditation_bodies().values()),
        country=country_name(lab.country) if lab.country else ""), status


# --- one claim: managers, verifiers, admins ---------------------------------------------


def _claim_page(acc: Accreditation, *, decision: DecisionForm | None = None,
                question: QuestionForm | None = None, answer: AnswerForm | None = None,
                answering: int | None = None, status: int = 200):
    now = clock.utcnow()
    lab = acc.lab
    scheme = db.session.get_one(AccreditationScheme, acc.scheme_code)
    can_decide = permissions.can_decide_accreditation(current_user, acc)
    manages = permissions.manages_lab(current_user, acc.lab_id)
    history = db.session.scalars(db.select(Accreditation).where(
        Accreditation.lab_id == acc.lab_id, Accreditation.scheme_code == acc.scheme_code,
        Accreditation.id != acc.id).order_by(Accreditation.created_at.desc())).all()
    return render_template(
        "accreditations/claim.html", acc=acc, lab=lab, scheme=scheme,
        state=shown_state(acc, lab.timezone, now), questions=claims.questions_of(acc),
        can_decide=can_decide, manages=manages, transitions=claims.TRANSITIONS,
        decision=decision or DecisionForm(formdata=None), question=question
        or QuestionForm(formdata=None), answer=answer or AnswerForm(formdata=None),
        answering=answering, history=history, action_word=claims.action_word,
        state_labels=claims.STATE_LABELS, action_labels=claims.ACTION_LABELS,
        decided_on=claims.DECIDED_ON, level_names=registry.LEVEL_NAMES,
        scope_lines=claims.scope_lines(acc.scope)), status


@bp.get("/accreditations/claims/<int:accreditation_id>")
def claim(accreditation_id: int):
    if (login := _signed_in()) is not None:
        return login
    return _claim_page(permissions.accreditation_for(current_user, accreditation_id))


@bp.get("/evidence/<path:stored_name>")
def evidence_file(stored_name: str):
    """Every evidence PDF (claims' certificates, label answers' evidence): one route, one
    permission decision (``permissions.evidence_for``), 404 for anyone else."""
    if (login := _signed_in()) is not None:
        return login
    found = permissions.evidence_for(current_user, stored_name)
    path = evidence.path_of(current_app.instance_path, found.stored_name)
    if path is None:
        abort(404)
    # Read whole (at most 10 MB): no open file outlives the request.
    disposition = "inline" if found.inline else "attachment"
    response = Response(path.read_bytes(), mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{found.download_name}"',
        "X-Content-Type-Options": "nosniff"})
    response.cache_control.no_store = True
    response.cache_control.private = True
    return response


@bp.post("/accreditations/claims/<int:accreditation_id>/decide")
def decide(accreditation_id: int):
    if (login := _signed_in()) is not None:
        return login
    acc = permissions.accreditation_for(current_user, accreditation_id)
    permissions.require(permissions.can_decide_accreditation, current_user, acc)
    form = DecisionForm()
    if form.validate_on_submit():
        action = form.action.data or ""
        done = commit_or_show(form, lambda: claims.decide(
            current_user, acc, action, seen_version=form.version.data or 0,
            reason=form.reason.data or "", now=clock.utcnow()),
            fields=("reason", "action"), fallback=None)
        if done:
            flash(str(claims.ACTION_DONE[action]), "success")
            return redirect(url_for(".queue") if action in ("verify", "reject")
                            else url_for(".claim", accreditation_id=acc.id))
        return _claim_page(acc, decision=form, status=done.status)
    return _claim_page(acc, decision=form, status=422)


@bp.post("/accreditations/claims/<int:accreditation_id>/ask")
def ask(accreditation_id: int):
    if (login := _signed_in()) is not None:
        return login
    acc = permissions.accreditation_for(current_user, accreditation_id)
    permissions.require(permissions.can_decide_accreditation, current_user, acc)
    form = QuestionForm()
    if form.validate_on_submit():
        done = commit_or_show(form, lambda: claims.ask(
            current_user, acc, form.question.data or "", now=clock.utcnow()))
        if done:
            flash(_("Your question was sent to the lab."), "success")
            return redirect(url_for(".claim", accreditation_id=acc.id))
        return _claim_page(acc, question=form, status=done.status)
    return _claim_page(acc, question=form, status=422)


@bp.post("/accreditations/claims/<int:accreditation_id>/questions/<int:question_id>/answer")
def answer(accreditation_id: int, question_id: int):
    if (login := _signed_in()) is not None:
        return login
    acc = permissions.accreditation_for(current_user, accreditation_id)
    if not permissions.manages_lab(current_user, acc.lab_id):
        abort(403)
    form = AnswerForm()
    if form.validate_on_submit():
        done = commit_or_show(form, lambda: claims.answer(
            current_user, acc, question_id, form.answer.data or "", now=clock.utcnow()))
        if done:
            flash(_("Your answer was sent to the verifier."), "success")
            return redirect(url_for(".claim", accreditation_id=acc.id))
        return _claim_page(acc, answer=form, answering=question_id, status=done.status)
    return _claim_page(acc, answer=form, answering=question_id, status=422)


@bp.get("/accreditations/queue")
def queue():
    if (login := _signed_in()) is not None:
        return login
    if not permissions.is_verifier(current_user):
        abort(403)
    now = clock.utcnow()
    rows = claims.queue(current_user)
    return render_template("accreditations/queue.html", rows=rows, now=now,
                           scheme_names=dict(_scheme_pairs()))


# --- public: registry and verification --------------------------------------------------


def _registry_query() -> registry.RegistryQuery:
    return registry.RegistryQuery.from_args(request.args)


def _verify_url_template() -> str:
    return url_for(".verify", code="CODE", _external=True)


@bp.get("/accreditations")
def registry_page():
    query = _registry_query()
    page = registry.search(query, clock.utcnow())
    return render_template(
        "accreditations/registry.html", page=page, rows=page.rows, query=query,
        scheme_pairs=_scheme_pairs(), levels=registry.LEVELS, level_names=registry.LEVEL_NAMES,
        ket_names=ket_names(), kind_names=lab_kind_names(),
        countries=sorted(data.accreditation_bodies()))


@bp.get("/accreditations.csv")
def registry_csv() -> Response:
    rows = registry.all_rows(_registry_query(), clock.utcnow())
    return csv_download(registry.as_csv(rows, _verify_url_template()), "accreditations.csv")


@bp.get("/accreditations.json")
def registry_json() -> Response:
    rows = registry.all_rows(_registry_query(), clock.utcnow())
    return jsonify({"accreditations": registry.as_json(rows, _verify_url_template())})


@bp.get("/verify/<code>")
def verify(code: str):
    found = registry.verification(code, clock.utcnow())
    if found is None:
        abort(404)
    return render_template("accreditations/verify.html", v=found, level_names=registry.LEVEL_NAMES,
                           scope_lines=claims.scope_lines(found.acc.scope))
