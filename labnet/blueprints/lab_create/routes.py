"""Labs join the platform: a member proposes a lab of their organisation
(``/manage/propose``), who decides approves or declines it (``/manage/proposals``), admins
and coordinators create listed labs (``/manage/new-lab``), admins list every lab
(``/admin/labs``), and the lab pickers' suggestions (``/labs/suggest.json``).

Each route loads through ``permissions`` (``proposal_for``: 404 for another organisation's
proposal, 403 for its proposer deciding), calls one service of
``services.catalogue.labs.creation`` and commits once.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.helpers import choices, commit_or_flash, commit_or_show, country_choices
from labnet.blueprints.lab_create import bp
from labnet.blueprints.lab_create.forms import (
    ApproveForm,
    CreateLabForm,
    DeclineForm,
    NewLabForm,
)
from labnet.errors import PermissionDenied
from labnet.extensions import db, login_manager
from labnet.i18n import _, data_name
from labnet.models import LabProposal
from labnet.models.organisation import ORG_KIND_LABELS, OrgKind
from labnet.services.catalogue.labs import creation, picker, team
from labnet.services.catalogue.labs.profile import LabProfile, european_time_zones
from labnet.services.catalogue.taxonomy import ket_names, ket_tree, lab_kind_names


@bp.before_request
def _logged_in():
    if request.endpoint == "lab_create.suggest" or current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


def _choices(form: NewLabForm) -> None:
    form.kind_code.choices = choices((code, data_name("lab_kinds", code, name))
                                     for code, name in lab_kind_names())
    form.country.choices = country_choices()
    form.ket_codes.choices = choices((code, data_name("ket_areas", code, name))
                                     for code, name in ket_names().items())
    if isinstance(form, CreateLabForm):
        form.org_kind.choices = choices([("", "—"), *(
            (k.value, ORG_KIND_LABELS[k]) for k in OrgKind if k in permissions.LAB_SIDE_KINDS)])
        form.org_country.choices = [*choices([("", _("— the lab's country —"))]),
                                    *country_choices()]


def _profile(form: NewLabForm, **extra: Any) -> LabProfile:
    """The form's values as a profile (fields the form does not have keep their defaults)."""
    values: dict[str, Any] = {}
    for f in fields(LabProfile):
        if f.name in form:
            data = form[f.name].data
            values[f.name] = tuple(data or ()) if f.name == "ket_codes" else (
                data if data is not None or f.name in ("lat", "lon") else "")
    return LabProfile(**{**values, **extra})


def _form_page(template: str, form: NewLabForm, status: int = 200, **context: Any):
    return render_template(template, form=form, ket_tree=ket_tree(),
                           zones=european_time_zones(), **context), status


# --- proposals by members -----------------------------------------------------------------


def _propose_page(form: NewLabForm, status: int = 200):
    own = db.session.scalars(creation.list_own_proposals(current_user)).all()
    return _form_page("lab_create/propose.html", form, status, own=own,
                      reviewers=creation.reviewers_words(current_user))


@bp.route("/manage/propose", methods=["GET", "POST"])
def propose():
    permissions.require(permissions.can_propose_lab, current_user)
    form = NewLabForm()
    _choices(form)
    if request.method == "GET":
        form.country.data = form.country.data or current_user.organisation.country
        form.timezone.data = "Europe/Brussels"
        return _propose_page(form)
    if not form.validate_on_submit():
        return _propose_page(form, 422)
    done = commit_or_show(form, lambda: creation.propose_lab(
        current_user, _profile(form), now=clock.utcnow()))
    if not done:
        return _propose_page(form, done.status)
    proposal = done.value
    assert proposal is not None
    if proposal.status == "approved":
        flash(_("The lab “%(name)s” was created as a draft that you manage; complete it "
                "and publish it here.", name=proposal.lab_name), "success")
        return redirect(url_for("manage.edit_lab", slug=_slug_of(proposal)))
    flash(_("Your proposal of “%(name)s” was sent for review; you will get an e-mail when "
            "it is decided.", name=proposal.lab_name), "success")
    return redirect(url_for(".propose"))


def _slug_of(proposal: LabProposal) -> str:
    lab = creation.proposal_lab(proposal)
    return lab.slug if lab else ""


@bp.get("/manage/proposals")
def proposals():
    pending = db.session.scalars(creation.list_proposals_to_decide(current_user)).all()
    return render_template("lab_create/proposals.html", proposals=pending)


def _proposal_page(proposal: LabProposal, decline_form: DeclineForm | None = None,
                   status: int = 200):
    return render_template(
        "lab_create/proposal.html", proposal=proposal, lab=creation.proposal_lab(proposal),
        may_decide=permissions.can_decide_proposal(current_user, proposal),
        approve_form=ApproveForm(), decline_form=decline_form or DeclineForm(),
    ), status


@bp.get("/manage/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    return _proposal_page(permissions.proposal_for(current_user, proposal_id))


@bp.post("/manage/proposals/<int:proposal_id>/approve")
def approve(proposal_id: int):
    found = permissions.proposal_for(current_user, proposal_id)
    permissions.require(permissions.can_decide_proposal, current_user, found)
    commit_or_flash(ApproveForm(), lambda: creation.approve_proposal(
        current_user, found, now=clock.utcnow()),
        done=_("Approved: “%(name)s” is now managed by its proposer, who was told.",
               name=found.lab_name))
    return redirect(url_for(".proposals"))


@bp.post("/manage/proposals/<int:proposal_id>/decline")
def decline(proposal_id: int):
    found = permissions.proposal_for(current_user, proposal_id)
    permissions.require(permissions.can_decide_proposal, current_user, found)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _proposal_page(found, form, 422)
    done = commit_or_show(form, lambda: creation.decline_proposal(
        current_user, found, form.reason.data or "", now=clock.utcnow()))
    if not done:
        db.session.refresh(found)
        return _proposal_page(found, form, done.status)
    flash(_("Declined: the proposer of “%(name)s” was sent your reason.",
            name=found.lab_name), "success")
    return redirect(url_for(".proposals"))


# --- labs created by admins and coordinators ----------------------------------------------


@bp.route("/manage/new-lab", methods=["GET", "POST"])
def create():
    permissions.require(permissions.can_create_labs, current_user)
    form = CreateLabForm()
    _choices(form)
    if request.method == "GET":
        form.timezone.data = "Europe/Brussels"
        return _form_page("lab_create/create.html", form)
    if not form.validate_on_submit():
        return _form_page("lab_create/create.html", form, 422)
    choice = creation.OrganisationChoice(
        name=form.organisation.data or "", new=form.new_organisation.data,
        kind=form.org_kind.data or "", country=form.org_country.data or form.country.data or "")
    done = commit_or_show(form, lambda: creation.create_listed_lab(
        current_user, choice, _profile(form, is_published=form.is_published.data),
        now=clock.utcnow()))
    if not done:
        return _form_page("lab_create/create.html", form, done.status)
    lab = done.value
    assert lab is not None
    flash(_("The lab “%(name)s” was created without a manager; its people can claim it.",
            name=lab.name), "success")
    return redirect(url_for("catalogue.lab", slug=lab.slug))


@bp.get("/admin/labs")
def admin_labs():
    if not permissions.can_administer_users(current_user):
        raise PermissionDenied("admin")
    q = request.args.get("q", "")[:100]
    page = db.paginate(creation.list_all_labs(current_user, q), per_page=100,
                       error_out=False)
    managed = team.managed_lab_ids(lab.id for lab in page.items)
    waiting = creation.count_proposals_to_decide(current_user)
    return render_template("lab_create/admin_labs.html", page=page, q=q, managed=managed,
                           waiting=waiting)


# --- lab pickers --------------------------------------------------------------------------


@bp.get("/labs/suggest.json")
def suggest():
    found = picker.suggest_labs(request.args.get("q", "")[:picker.MAX_QUERY])
    return jsonify([{"value": s.value, "label": s.label, "slug": s.slug} for s in found])

