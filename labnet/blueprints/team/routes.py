"""Claiming an unmanaged lab, the claims queue, a lab's managers page and invitations.

Every route loads its lab through ``permissions`` (404 for a draft the user may not see,
403 for a lab they do not manage), calls one service of ``services.catalogue.labs``
(claims, team, invitations) and commits once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required

from labnet import clock, permissions
from labnet.blueprints.auth.forms import ConfirmForm
from labnet.blueprints.helpers import commit_or_flash, commit_or_show, mail_after_response
from labnet.blueprints.team import bp
from labnet.blueprints.team.forms import (
    ClaimApprovalForm,
    ClaimDomainForm,
    ClaimRegisterForm,
    DecideClaimForm,
    InvitationRegisterForm,
    InviteForm,
)
from labnet.errors import RuleViolation
from labnet.extensions import db, limiter, target_email_key
from labnet.i18n import _
from labnet.models import ClaimMethod, ClaimStatus, Lab, LabClaim
from labnet.services.catalogue.labs import claims, invitations, team


def _limit(name: str):
    return lambda: current_app.config[name]


def _did_something(response) -> bool:
    return response.status_code < 400


# Mails to a typed address: limited per client and per address, as registration is.
_per_ip = limiter.limit(_limit("REGISTER_LIMIT_PER_IP"), methods=["POST"],
                        deduct_when=_did_something)
_per_address = limiter.limit(_limit("ACCOUNT_MAIL_LIMIT_PER_ADDRESS"),
                             key_func=target_email_key, methods=["POST"],
                             deduct_when=_did_something)


# --- claiming a lab ----------------------------------------------------------------------


def _claim_page(lab: Lab, *, domain_form: ClaimDomainForm | None = None,
                register_form: ClaimRegisterForm | None = None,
                approval_form: ClaimApprovalForm | None = None, status: int = 200):
    actor = current_user._get_current_object() if current_user.is_authenticated else None
    if domain_form is None:
        domain_form = ClaimDomainForm(formdata=None, email=actor.email if actor else "")
    open_claim = None
    if actor is not None:
        open_claim = db.session.scalar(db.select(LabClaim).where(
            LabClaim.lab_id == lab.id, LabClaim.user_id == actor.id,
            LabClaim.status == ClaimStatus.OPEN))
    return render_template(
        "team/claim.html", lab=lab, managed=team.is_managed(lab.id),
        organisation=team.lab_organisation(lab),
        org_has_members=claims.organisation_has_members(lab.organisation_id),
        domain=claims.lab_domain(lab), actor=actor, open_claim=open_claim,
        same_org=bool(actor and actor.organisation_id == lab.organisation_id),
        domain_form=domain_form,
        register_form=register_form or ClaimRegisterForm(formdata=None),
        approval_form=approval_form or ClaimApprovalForm(formdata=None),
        ClaimMethod=ClaimMethod,
    ), status


def _status(form: Any) -> int:
    return 422 if form.errors or form.form_errors else 200


@bp.get("/labs/<slug>/claim")
def claim(slug: str):
    return _claim_page(permissions.lab_for(current_user, slug))


def _claim_post(lab: Lab, form: Any, page_field: str, call: Callable[[], Any],
                done: Callable[[], Any]):
    """One claim form posted: the service call as the one transaction, then ``done()``;
    bad input or a refusal shows the claim page again with the input kept (never the
    passwords)."""
    if form.validate_on_submit() and commit_or_show(form, call):
        return done()
    if hasattr(form, "password"):
        form.password.data = form.password_confirm.data = ""
    return _claim_page(lab, status=_status(form), **{page_field: form})


@bp.post("/labs/<slug>/claim/domain")
@login_required
@_per_address
def claim_domain(slug: str):
    lab = permissions.lab_for(current_user, slug)
    form = ClaimDomainForm()
    actor = current_user._get_current_object()
    return _claim_post(
        lab, form, "domain_form",
        lambda: claims.claim_by_domain(actor, lab, form.email.data, now=clock.utcnow()),
        lambda: render_template("team/claim_sent.html", lab=lab, email=form.email.data))


@bp.post("/labs/<slug>/claim/register")
@_per_ip
@_per_address
def claim_register(slug: str):
    lab = permissions.lab_for(current_user, slug)
    if current_user.is_authenticated:
        return redirect(url_for("team.claim", slug=lab.slug))
    form = ClaimRegisterForm()
    # The same page whether the address was new or had an account (whose owner is told by
    # e-mail); the mail leaves after the answer (no timing difference).
    return _claim_post(
        lab, form, "register_form",
        lambda: claims.register_and_claim(lab, email=form.email.data,
                                          full_name=form.full_name.data,
                                          password=form.password.data,
                                          terms_version=current_app.config["TERMS_VERSION"],
                                          now=clock.utcnow()),
        lambda: mail_after_response(make_response(render_template(
            "team/claim_sent.html", lab=lab, email=form.email.data, new_account=True))))


def _asked(lab: Lab):
    flash(_("Your claim of %(name)s is on its way to the people who decide it; we will "
            "e-mail you their answer.", name=lab.name), "success")
    return redirect(url_for("team.claim", slug=lab.slug))


@bp.post("/labs/<slug>/claim/approval")
@login_required
def claim_approval(slug: str):
    lab = permissions.lab_for(current_user, slug)
    form = ClaimApprovalForm()
    actor = current_user._get_current_object()
    return _claim_post(
        lab, form, "approval_form",
        lambda: claims.ask_approval(actor, lab, form.reason.data, now=clock.utcnow()),
        lambda: _asked(lab))


@bp.get("/claims/confirm/<token>")
def confirm_claim(token: str):
    try:
        result = claims.confirm_claim(token, now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        return render_template("team/link_invalid.html", message=exc.message), 400
    db.session.commit()
    lab = result.claim.lab
    if not result.manages:
        flash(_("Your address is confirmed, but %(name)s got a manager on LabNet meanwhile: "
                "ask them to add you.", name=lab.name), "warning")
        return redirect(url_for("catalogue.lab", slug=lab.slug))
    managers_page = url_for("team.managers", slug=lab.slug)
    if current_user.is_authenticated and current_user.id == result.claim.user_id:
        flash(_("You manage %(name)s on LabNet now.", name=lab.name), "success")
        return redirect(managers_page)
    flash(_("Your claim is proved: you manage %(name)s on LabNet now. Log in to start.",
            name=lab.name), "success")
    return redirect(url_for("auth.login", next=managers_page))


# --- the claims queue (admins, coordinators) ---------------------------------------------


def _queue(failed: tuple[int, DecideClaimForm] | None = None, status: int = 200):
    actor = current_user._get_current_object()
    rows = db.session.scalars(claims.list_claims(actor)).all()
    forms = {row.id: DecideClaimForm(formdata=None) for row in rows}
    if failed is not None and failed[0] in forms:
        forms[failed[0]] = failed[1]
    return render_template("team/claims.html", claims=rows, forms=forms,
                           managed=team.managed_lab_ids(r.lab_id for r in rows)), status


@bp.get("/claims")
@login_required
def claims_queue():
    permissions.require(permissions.can_view_claims, current_user)
    return _queue()


@bp.post("/claims/<int:claim_id>/decide")
@login_required
def decide_claim(claim_id: int):
    permissions.require(permissions.can_view_claims, current_user)
    actor = current_user._get_current_object()
    permissions.claim_for(actor, claim_id)  # 404 before anything else
    form = DecideClaimForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "decline"):
        form.form_errors.append(_("Choose approve or decline."))
        return _queue((claim_id, form), 400 if form.csrf_token.errors else 422)
    approve = form.decision.data == "approve"
    outcome = commit_or_show(form, lambda: claims.decide_claim(
        actor, claim_id, approve, form.reason.data or "", now=clock.utcnow()))
    if not outcome:
        return _queue((claim_id, form), outcome.status)
    claim_row = outcome.value
    assert claim_row is not None
    if approve:
        flash(_("Claim of %(lab)s by %(name)s approved; we told them by e-mail.",
                lab=claim_row.lab.name, name=claim_row.user.full_name), "success")
    else:
        flash(_("Claim of %(lab)s by %(name)s declined; we told them by e-mail.",
                lab=claim_row.lab.name, name=claim_row.user.full_name), "success")
    return redirect(url_for("team.claims_queue"))


# --- the lab's managers ------------------------------------------------------------------


def _managers_page(lab: Lab, form: InviteForm | None = None, status: int = 200):
    actor = current_user._get_current_object()
    return render_template(
        "team/managers.html", lab=lab, managers=team.list_managers(lab.id),
        open_invitations=db.session.scalars(invitations.list_open_invitations(lab.id)).all(),
        form=form or InviteForm(formdata=None), button=ConfirmForm(),
        is_manager=permissions.manages_lab(actor, lab.id),
    ), status


@bp.get("/manage/labs/<slug>/managers")
@login_required
def managers(slug: str):
    return _managers_page(permissions.managed_lab_for(current_user, slug))


@bp.post("/manage/labs/<slug>/managers/invite")
@login_required
def invite(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    form = InviteForm()
    if form.validate_on_submit():
        actor = current_user._get_current_object()
        outcome = commit_or_show(form, lambda: invitations.invite_manager(
            actor, lab, form.email.data, form.message.data or "",
            handover=bool(form.handover.data), now=clock.utcnow()))
        if outcome:
            flash(_("Invitation sent to %(email)s. You stay a manager until they accept; "
                    "then you leave the lab.", email=form.email.data) if form.handover.data
                  else _("Invitation sent to %(email)s. They manage the lab once they accept.",
                         email=form.email.data), "success")
            return redirect(url_for("team.managers", slug=lab.slug))
        return _managers_page(lab, form, outcome.status)
    return _managers_page(lab, form, _status(form))


@bp.post("/manage/labs/<slug>/managers/<int:user_id>/remove")
@login_required
def remove(slug: str, user_id: int):
    lab = permissions.managed_lab_for(current_user, slug)
    actor = current_user._get_current_object()
    commit_or_flash(ConfirmForm(), lambda: team.remove_from_team(
        actor, lab, user_id, now=clock.utcnow()),
        done=_("The manager was removed; the lab's managers were told by e-mail."))
    return redirect(url_for("team.managers", slug=lab.slug))


@bp.post("/manage/labs/<slug>/managers/leave")
@login_required
def leave(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    actor = current_user._get_current_object()
    outcome = commit_or_flash(ConfirmForm(), lambda: team.leave_lab(
        actor, lab, now=clock.utcnow()),
        done=_("You no longer manage %(name)s.", name=lab.name))
    if outcome:
        return redirect(url_for("manage.index"))
    return redirect(url_for("team.managers", slug=lab.slug))


@bp.post("/manage/labs/<slug>/managers/invitations/<int:invitation_id>/cancel")
@login_required
def cancel_invitation(slug: str, invitation_id: int):
    lab = permissions.managed_lab_for(current_user, slug)
    actor = current_user._get_current_object()
    commit_or_flash(ConfirmForm(), lambda: invitations.cancel_invitation(
        actor, lab, invitation_id, now=clock.utcnow()), done=_("Invitation cancelled."))
    return redirect(url_for("team.managers", slug=lab.slug))


# --- answering an invitation -------------------------------------------------------------


def _invitation_page(token: str, *, form: InvitationRegisterForm | None = None,
                     status: int = 200, accept: ConfirmForm | None = None):
    invitation = invitations.invitation_for_token(token, now=clock.utcnow())
    if invitation is None:
        return render_template("team/link_invalid.html", message=invitations.INVALID), 400
    return render_template(
        "team/invitation.html", invitation=invitation, lab=invitation.lab, token=token,
        organisation=team.lab_organisation(invitation.lab),
        form=form or InvitationRegisterForm(formdata=None), accept=accept or ConfirmForm(),
    ), status


@bp.get("/team/invitation/<token>")
def invitation(token: str):
    return _invitation_page(token)


@bp.post("/team/invitation/<token>/accept")
@login_required
def accept_invitation(token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _invitation_page(token, accept=form, status=400)
    actor = current_user._get_current_object()
    outcome = commit_or_show(form, lambda: invitations.accept_invitation(
        actor, token, now=clock.utcnow()))
    if not outcome:
        message = outcome.refusal.message if outcome.refusal else invitations.INVALID
        return render_template("team/link_invalid.html", message=message), 400
    accepted = outcome.value
    assert accepted is not None
    flash(_("You manage %(name)s on LabNet now.", name=accepted.lab.name), "success")
    return redirect(url_for("team.managers", slug=accepted.lab.slug))


@bp.post("/team/invitation/<token>/register")
def register_invitation(token: str):
    if current_user.is_authenticated:
        return redirect(url_for("team.invitation", token=token))
    form = InvitationRegisterForm()
    if form.validate_on_submit():
        outcome = commit_or_show(form, lambda: invitations.register_and_accept(
            token, form.full_name.data, form.password.data,
            terms_version=current_app.config["TERMS_VERSION"], now=clock.utcnow()))
        if outcome:
            accepted = outcome.value
            assert accepted is not None
            flash(_("Your account is ready and you manage %(name)s now. Log in to start.",
                    name=accepted.lab.name), "success")
            return redirect(url_for("auth.login", next=url_for("team.managers",
                                                               slug=accepted.lab.slug)))
        if outcome.refusal is not None and outcome.refusal.field is None:
            return render_template("team/link_invalid.html",
                                   message=outcome.refusal.message), 400
    form.password.data = form.password_confirm.data = ""
    return _invitation_page(token, form=form, status=_status(form))
