"""Network pages.

Networks are loaded through ``permissions.network_for`` (404 for a members-only network
the user may not see — as if it did not exist) and, for the coordinators' pages,
``permissions.run_network_for`` (403 on a network the user sees but does not run).
Invitations are loaded through ``permissions.invitation_for`` (404 unless the user manages
the invited lab). The coordinators' and managers' pages send visitors to log in first.
Each POST calls one service of ``services.networks.rules`` through the shared boundary
(``commit_or_show``, ``commit_or_flash``); a refusal re-renders the form with the message
on its field and the input kept (422, or 409 for a conflict), and nothing is written.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.helpers import Outcome, choices, commit_or_flash, commit_or_show
from labnet.blueprints.networks import bp
from labnet.blueprints.networks.forms import (
    ActionForm,
    AnswerForm,
    CoordinatorForm,
    InviteForm,
    MoveForm,
    NetworkForm,
    StageForm,
)
from labnet.converters import parse_id
from labnet.errors import RuleViolation
from labnet.extensions import login_manager
from labnet.i18n import _, data_name
from labnet.models.network import ECOSYSTEMS, Network
from labnet.services.catalogue.taxonomy import category_names, ket_names
from labnet.services.networks import rules as service
from labnet.services.networks.gaps import find_gaps

LOGIN_ONLY = {"networks.create", "networks.manage", "networks.edit", "networks.add_stage",
              "networks.edit_stage", "networks.move_stage", "networks.retire_stage",
              "networks.invite", "networks.remove_member", "networks.add_coordinator",
              "networks.gaps", "networks.invitations", "networks.answer", "networks.leave"}


@bp.before_request
def _logged_in():
    if request.endpoint in LOGIN_ONLY and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _actor():
    return current_user._get_current_object()


def _status(form: Any) -> int:
    return 422 if form.errors or form.form_errors else 200


def _refusal_status(outcome: Outcome[Any]) -> int:
    return 409 if outcome.status == 409 else 422


# --- public: list, page, map data ----------------------------------------------------------

@bp.get("/networks")
def index():
    return render_template("networks/index.html", rows=service.networks_list(current_user),
                           can_create=permissions.can_create_network(current_user),
                           ecosystems=ECOSYSTEMS)


def _joint_project_url(page: service.NetworkPage) -> str | None:
    slugs = page.joint_project_slugs()
    if not slugs:
        return None
    return "/requests/new?" + urlencode([("kind", "joint_project"), *(("lab", s) for s in slugs)])


@bp.get("/networks/<slug>")
def show(slug: str):
    network = permissions.network_for(current_user, slug)
    page = service.network_page(network)
    return render_template(
        "networks/show.html", page=page, network=network, colour=service.stage_colour,
        runs=permissions.can_run_network(current_user, network), ket_names=ket_names(),
        categories=category_names(), joint_project_url=_joint_project_url(page),
        map_url=url_for(".map_json", slug=network.slug))


@bp.get("/networks/<slug>/map.json")
def map_json(slug: str):
    network = permissions.network_for(current_user, slug)
    template = url_for("catalogue.lab", slug="SLUG-PLACEHOLDER").replace("SLUG-PLACEHOLDER",
                                                                         "{slug}")
    response = jsonify(service.map_data(service.network_page(network),
                                        lab_url_template=template))
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- create and edit a network -------------------------------------------------------------

def _ket_items() -> list[tuple[str, str]]:
    """(code, name) of the KET areas, names in the reader's language."""
    return [(code, data_name("ket_areas", code, name)) for code, name in ket_names().items()]


def _network_choices(form: NetworkForm) -> None:
    form.ket_code.choices = choices([("", _("— none —")), *_ket_items()])
    form.ecosystem.choices = choices([("", _("— choose —")), *ECOSYSTEMS.items()])
    form.visibility.choices = choices([("public", _("Public: everyone sees it")),
                                       ("members", _("Members only: its coordinators and the "
                                                     "managers of member labs"))])


def _fields(form: NetworkForm) -> service.NetworkFields:
    return service.NetworkFields(
        name=form.name.data or "", slug=form.slug.data or "",
        description=form.description.data or "", ket_code=form.ket_code.data or "",
        ecosystem=form.ecosystem.data or "", visibility=form.visibility.data or "")


@bp.route("/networks/new", methods=["GET", "POST"])
def create():
    permissions.require(permissions.can_create_network, current_user)
    form = NetworkForm()
    _network_choices(form)
    if request.method == "GET":
        form.visibility.data = "public"
    if form.validate_on_submit() and (created := commit_or_show(form, lambda: (
            service.create_network(_actor(), _fields(form), now=clock.utcnow())))):
        network = created.value
        flash(_("The network “%(name)s” was created. Add its stages next.", name=network.name),
              "success")
        return redirect(url_for(".manage", slug=network.slug))
    return render_template("networks/edit.html", form=form, network=None), _status(form)


@bp.route("/networks/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    network = permissions.run_network_for(current_user, slug)
    if request.method == "POST":
        form = NetworkForm()
    else:
        form = NetworkForm(data={
            "name": network.name, "slug": network.slug, "description": network.description,
            "ket_code": network.ket_code or "", "ecosystem": network.ecosystem,
            "visibility": network.visibility})
    _network_choices(form)
    if form.validate_on_submit() and commit_or_show(form, lambda: service.update_network(
            _actor(), network, _fields(form), now=clock.utcnow())):
        flash(_("The network was saved."), "success")
        return redirect(url_for(".manage", slug=network.slug))
    return render_template("networks/edit.html", form=form, network=network), _status(form)


# --- the coordinators' page: stages, invitations, coordinators -----------------------------

def _stage_choices(form: StageForm) -> None:
    form.ket_codes.choices = choices(_ket_items())
    form.category_codes.choices = choices(sorted(
        ((code, data_name("equipment_categories", code, name))
         for code, name in category_names().items()), key=lambda kv: kv[1].casefold()))


def _invite_choices(form: InviteForm, page: service.NetworkPage) -> None:
    form.stage_id.choices = choices(
        [("", _("— choose —")), *((str(v.stage.id), f"{i}. {v.stage.name}")
                               for i, v in enumerate(page.stages, start=1))])


def _manage_page(network: Network, *, stage_form: StageForm | None = None,
                 invite_form: InviteForm | None = None,
                 coordinator_form: CoordinatorForm | None = None, status: int = 200):
    page = service.network_page(network)
    if stage_form is None:
        stage_form = StageForm(formdata=None)
    _stage_choices(stage_form)
    if invite_form is None:
        invite_form = InviteForm(formdata=None)
    _invite_choices(invite_form, page)
    return render_template(
        "networks/manage.html", page=page, network=network, stage_form=stage_form,
        invite_form=invite_form, coordinator_form=coordinator_form or CoordinatorForm(
            formdata=None), action_form=ActionForm(), colour=service.stage_colour,
        unmanaged=service.unmanaged_members(page), member_labels=service.MEMBER_STATUS_LABELS,
        ket_names=ket_names(), categories=category_names(),
    ), status


@bp.get("/networks/<slug>/manage")
def manage(slug: str):
    return _manage_page(permissions.run_network_for(current_user, slug))


def _form_action(network: Network, form: Any, action: Any, success: str, key: str,
                 after: str | None = None):
    """Validate ``form``, run ``action()``, commit and redirect; else re-render the
    coordinators' page with the form (its input kept and its errors shown)."""
    status = 422
    if form.validate_on_submit():
        outcome = commit_or_show(form, action)
        if outcome:
            flash(success, "success")
            return redirect(after or url_for(".manage", slug=network.slug))
        status = _refusal_status(outcome)
    elif form.csrf_token.errors:
        status = 400
    return _manage_page(network, **{key: form}, status=status)


@bp.post("/networks/<slug>/stages")
def add_stage(slug: str):
    network = permissions.run_network_for(current_user, slug)
    form = StageForm()
    _stage_choices(form)
    return _form_action(
        network, form,
        lambda: service.add_stage(_actor(), network, _stage_fields(form), now=clock.utcnow()),
        _("The stage was added."), "stage_form")


def _stage_fields(form: StageForm) -> service.StageFields:
    return service.StageFields(
        name=form.name.data or "", description=form.description.data or "",
        ket_codes=tuple(form.ket_codes.data or ()),
        category_codes=tuple(form.category_codes.data or ()), keywords=form.keywords.data or "")


@bp.route("/networks/<slug>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
def edit_stage(slug: str, stage_id: int):
    network = permissions.run_network_for(current_user, slug)
    stage = service.get_stage(network, stage_id, with_needs=request.method == "GET")
    if request.method == "POST":
        form = StageForm()
    else:
        form = StageForm(data={"name": stage.name, "description": stage.description,
                               "ket_codes": stage.ket_codes,
                               "category_codes": stage.category_codes,
                               "keywords": stage.keywords})
    _stage_choices(form)
    status = 200
    if form.validate_on_submit():
        outcome = commit_or_show(form, lambda: service.update_stage(
            _actor(), network, stage.id, _stage_fields(form), now=clock.utcnow()))
        if outcome:
            flash(_("The stage was saved."), "success")
            return redirect(url_for(".manage", slug=network.slug))
        status = _refusal_status(outcome)
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("networks/stage.html", form=form, network=network,
                           stage=stage), status


def _button(network: Network, action: Any, success: str, form: Any | None = None):
    form = form or ActionForm()
    commit_or_flash(form, lambda: action(form), done=success)
    return redirect(url_for(".manage", slug=network.slug))


@bp.post("/networks/<slug>/stages/<int:stage_id>/move")
def move_stage(slug: str, stage_id: int):
    network = permissions.run_network_for(current_user, slug)
    stage = service.get_stage(network, stage_id)
    return _button(network, lambda f: service.move_stage(
        _actor(), network, stage.id, f.direction.data or "", now=clock.utcnow()),
        _("The stages were reordered."), MoveForm())


@bp.post("/networks/<slug>/stages/<int:stage_id>/retire")
def retire_stage(slug: str, stage_id: int):
    network = permissions.run_network_for(current_user, slug)
    stage = service.get_stage(network, stage_id)
    return _button(network, lambda f: service.retire_stage(
        _actor(), network, stage.id, now=clock.utcnow()),
        _("The stage “%(name)s” was retired; it stays listed with its past members.",
          name=stage.name))


@bp.post("/networks/<slug>/invite")
def invite(slug: str):
    network = permissions.run_network_for(current_user, slug)
    form = InviteForm()
    form.stage_id.choices = []
    back = request.form.get("back") == "gaps"

    def act():
        raw = form.stage_id.data or ""
        stage_id = parse_id(raw)
        if stage_id is None:
            raise RuleViolation("stage_id", _("Choose a stage of this network."))
        service.invite(_actor(), network, stage_id, form.lab.data or "",
                       form.message.data or "", now=clock.utcnow())

    done = _("The lab “%(lab)s” was invited; its managers were told, or, for a lab not yet "
             "managed on LabNet, its public e-mail address, with a link to claim it.",
             lab=form.lab.data)
    if back:
        # The gap finder's one-click button: its refusals come back as a message there.
        commit_or_flash(form, act, done=done)
        return redirect(url_for(".gaps", slug=network.slug))
    return _form_action(network, form, act, done, "invite_form")


@bp.post("/networks/<slug>/members/<int:member_id>/remove")
def remove_member(slug: str, member_id: int):
    network = permissions.run_network_for(current_user, slug)
    return _button(network, lambda f: service.remove_member(
        _actor(), network, member_id, now=clock.utcnow()),
        _("The lab was removed from the network (kept in the history)."))


@bp.post("/networks/<slug>/coordinators")
def add_coordinator(slug: str):
    network = permissions.run_network_for(current_user, slug)
    form = CoordinatorForm()
    return _form_action(
        network, form,
        lambda: service.add_coordinator(_actor(), network, form.email.data or "",
                                        now=clock.utcnow()),
        _("The coordinator was added."), "coordinator_form")


# --- the gap finder ------------------------------------------------------------------------

@bp.get("/networks/<slug>/gaps")
def gaps(slug: str):
    network = permissions.run_network_for(current_user, slug)
    return render_template("networks/gaps.html", network=network,
                           gaps=find_gaps(network), action_form=ActionForm(),
                           ket_names=ket_names(), categories=category_names())


# --- lab managers: invitations, answers, leaving -------------------------------------------

def _invitations_page(forms: dict[int, AnswerForm] | None = None, status: int = 200):
    rows = service.invitations_for(_actor())
    return render_template("networks/invitations.html", rows=rows, forms=forms or {},
                           action_form=ActionForm(),
                           member_labels=service.MEMBER_STATUS_LABELS), status


@bp.get("/networks/invitations")
def invitations():
    return _invitations_page()


@bp.post("/networks/invitations/<int:member_id>/answer")
def answer(member_id: int):
    member = permissions.invitation_for(current_user, member_id)
    form = AnswerForm()
    status = 422
    if form.validate_on_submit():
        if form.answer.data not in ("accept", "decline"):
            form.answer_message.errors = [*form.answer_message.errors,
                                          _("Choose accept or decline.")]
        else:
            accept = form.answer.data == "accept"
            outcome = commit_or_show(form, lambda: service.answer_invitation(
                _actor(), member.id, accept, form.answer_message.data or "",
                now=clock.utcnow()))
            if outcome:
                flash(_("You accepted the invitation; the coordinators were told.") if accept
                      else _("You declined the invitation; the coordinators were told."),
                      "success")
                return redirect(url_for(".invitations"))
            status = _refusal_status(outcome)
    elif form.csrf_token.errors:
        status = 400
    return _invitations_page({member.id: form}, status)


@bp.post("/networks/memberships/<int:member_id>/leave")
def leave(member_id: int):
    member = permissions.invitation_for(current_user, member_id)
    commit_or_flash(ActionForm(), lambda: service.leave_network(
        _actor(), member.id, now=clock.utcnow()),
        done=_("The lab left the network; the coordinators were told."))
    return redirect(url_for(".invitations"))
