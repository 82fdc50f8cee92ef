"""Admin pages: users, their roles and accounts; organisations; join requests that no
organisation admin decides; the e-mail outbox."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.admin import bp
from labnet.blueprints.admin.forms import (
    ButtonForm,
    GrantRoleForm,
    MoveForm,
    OrgAdminForm,
    OrganisationForm,
    RevokeRoleForm,
    VerifySizeForm,
)
from labnet.blueprints.helpers import commit_or_flash, commit_or_show
from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db, login_manager
from labnet.i18n import _
from labnet.models import OutboxEmail, OutboxStatus, User
from labnet.services.accounts import administration, joins
from labnet.services.accounts import rules as accounts
from labnet.services.notifications import outbox as notifications


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not permissions.can_administer_users(current_user):
        raise PermissionDenied("admin")
    return None


@bp.get("/users")
def users():
    q = request.args.get("q", "")[:100]
    role = request.args.get("role", "")[:20]
    if role not in administration.ROLE_FILTERS:
        role = ""
    page = db.paginate(administration.list_users(q, role), per_page=50, error_out=False)
    return render_template("admin/users.html", page=page, q=q, role=role,
                           role_filters=administration.ROLE_FILTERS,
                           roles=administration.roles_of([u.id for u in page.items]))


def _user_page(user, grant_form=None, status=200, move_form=None):
    roles = administration.roles_of([user.id])[user.id]
    return render_template(
        "admin/user.html", user=user, labs=roles.labs, networks=roles.networks,
        grant_form=grant_form or GrantRoleForm(), revoke_form=RevokeRoleForm(),
        move_form=move_form or MoveForm(formdata=None), button=ButtonForm(),
        org_admin_form=OrgAdminForm(),
    ), status


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    return _user_page(permissions.user_for_admin(current_user, user_id))


@bp.post("/users/<int:user_id>/roles")
def grant(user_id: int):
    target = permissions.user_for_admin(current_user, user_id)
    form = GrantRoleForm()
    if not form.validate_on_submit():
        return _user_page(target, form, 422)
    granted = commit_or_show(form, lambda: accounts.grant_role(
        current_user, target, form.role.data, lab=accounts.lab_by_slug(form.lab.data),
        now=clock.utcnow()))
    if not granted:
        return _user_page(target, form, 422)
    flash(_("Role granted.") if granted.value else _("This person already had that role."),
          "success")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/roles/revoke")
def revoke(user_id: int):
    target = permissions.user_for_admin(current_user, user_id)
    form = RevokeRoleForm()
    if not form.validate_on_submit():
        flash(_("The request was incomplete; nothing changed."), "warning")
        return redirect(url_for("admin.user", user_id=target.id))
    try:
        changed = accounts.revoke_role(current_user, target, form.role.data,
                                       lab=accounts.lab_by_slug(form.lab.data), now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.user", user_id=target.id))
    db.session.commit()
    flash(_("Role removed.") if changed else _("This person did not have that role."), "info")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/move")
def move(user_id: int):
    target = permissions.user_for_admin(current_user, user_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return _user_page(target, move_form=form, status=422)
    old_name = target.organisation.name
    moved = commit_or_show(form, lambda: administration.move_user(
        current_user, target, administration.organisation_by_name(form.organisation.data),
        now=clock.utcnow()), fields=("organisation",))
    if not moved:
        db.session.refresh(target)
        return _user_page(target, move_form=form, status=moved.status)
    flash(_("%(name)s moved from %(old)s to %(new)s; they were told by e-mail.",
            name=target.full_name, old=old_name, new=target.organisation.name), "success")
    return redirect(url_for("admin.user", user_id=target.id))


def _account_button(user_id: int, call, done):
    target = permissions.user_for_admin(current_user, user_id)
    commit_or_flash(ButtonForm(), lambda: call(target), done=done(target.full_name))
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    return _account_button(user_id, lambda t: administration.set_active(
        current_user, t, False, now=clock.utcnow()),
        lambda name: _("%(name)s's account is deactivated: logged out everywhere, no login, "
                       "no e-mail.", name=name))


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    return _account_button(user_id, lambda t: administration.set_active(
        current_user, t, True, now=clock.utcnow()),
        lambda name: _("%(name)s's account is active again.", name=name))


@bp.post("/users/<int:user_id>/resend-confirmation")
def resend_confirmation(user_id: int):
    return _account_button(user_id, lambda t: administration.resend_confirmation(
        current_user, t, now=clock.utcnow()),
        lambda name: _("A new confirmation link was sent to %(name)s.", name=name))


@bp.post("/users/<int:user_id>/org-admin")
def org_admin(user_id: int):
    target = permissions.user_for_admin(current_user, user_id)
    form = OrgAdminForm()
    make = form.make_admin.data == "1"
    commit_or_flash(form, lambda: administration.set_org_admin(
        current_user, target, make, now=clock.utcnow()),
        done=_("%(name)s is now an organisation admin of %(organisation)s.",
               name=target.full_name, organisation=target.organisation.name) if make else
        _("%(name)s is no longer an organisation admin of %(organisation)s.",
          name=target.full_name, organisation=target.organisation.name))
    return redirect(url_for("admin.user", user_id=target.id))


# Organisations ----------------------------------------------------------------------------


@bp.get("/organisations")
def organisations():
    q = request.args.get("q", "")[:100]
    unverified = request.args.get("unverified") == "1"
    page = db.paginate(administration.list_organisations(q, unverified_only=unverified),
                       per_page=50, error_out=False)
    return render_template(
        "admin/organisations.html", page=page, q=q, unverified=unverified,
        members=administration.member_counts([org.id for org in page.items]))


def _organisation_page(org, form=None, status=200):
    people = db.session.scalars(administration.organisation_people(org.id)).all()
    verifier = db.session.get(User, org.size_verified_by_id) if org.size_verified_by_id else None
    return render_template(
        "admin/organisation.html", org=org, people=people, verifier=verifier,
        form=form or OrganisationForm(obj=org, formdata=None), verify_form=VerifySizeForm(),
    ), status


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
def organisation(organisation_id: int):
    org = permissions.organisation_for_admin(current_user, organisation_id)
    if request.method == "GET":
        return _organisation_page(org)
    form = OrganisationForm()
    if not form.validate_on_submit():
        return _organisation_page(org, form, 422)
    data = administration.OrganisationEdit(
        name=form.name.data or "", kind=form.kind.data or "", country=form.country.data or "",
        city=form.city.data or "", size_class=form.size_class.data or None,
        email_domain=form.email_domain.data or None)
    saved = commit_or_show(form, lambda: administration.update_organisation(
        current_user, org, data, now=clock.utcnow()))
    if not saved:
        db.session.refresh(org)
        return _organisation_page(org, form, saved.status)
    flash(_("Organisation saved."), "success")
    return redirect(url_for("admin.organisation", organisation_id=org.id))


@bp.post("/organisations/<int:organisation_id>/verify-size")
def verify_size(organisation_id: int):
    org = permissions.organisation_for_admin(current_user, organisation_id)
    form = VerifySizeForm()
    verified = form.verified.data == "1"
    commit_or_flash(form, lambda: administration.set_size_verified(
        current_user, org, verified, now=clock.utcnow()),
        done=_("%(name)s's size class is verified.", name=org.name) if verified else
        _("%(name)s's size class is self-declared again.", name=org.name))
    return redirect(url_for("admin.organisation", organisation_id=org.id))


# Join requests of organisations without organisation admins ------------------------------


@bp.get("/join-requests")
def join_requests():
    people = db.session.scalars(joins.list_admin_queue(current_user)).all()
    return render_template("admin/join_requests.html", people=people, button=ButtonForm(),
                           expire_days=joins.EXPIRE_AFTER.days)


@bp.post("/join-requests/<int:user_id>/approve")
def approve_join(user_id: int):
    person = permissions.join_request_for_admin(current_user, user_id)
    commit_or_flash(ButtonForm(), lambda: accounts.accept_join(
        current_user, person, now=clock.utcnow()),
        done=_("%(name)s is now a member of %(organisation)s; they were told.",
               name=person.full_name, organisation=person.organisation.name))
    return redirect(url_for("admin.join_requests"))


@bp.post("/join-requests/<int:user_id>/decline")
def decline_join(user_id: int):
    person = permissions.join_request_for_admin(current_user, user_id)
    name, org_name = person.full_name, person.organisation.name
    commit_or_flash(ButtonForm(), lambda: accounts.refuse_join(
        current_user, person, now=clock.utcnow()),
        done=_("%(name)s's request to join %(organisation)s was declined; they were told.",
               name=name, organisation=org_name))
    return redirect(url_for("admin.join_requests"))


OUTBOX_STATUSES = ("", *(s.value for s in OutboxStatus))


@bp.get("/outbox")
def outbox():
    to = request.args.get("to", "")[:254].strip().lower()
    status = request.args.get("status", "")
    if status not in OUTBOX_STATUSES:
        status = ""
    stmt = notifications.list_outbox(to, status)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("admin/outbox.html", page=page, to=to, status=status,
                           statuses=OUTBOX_STATUSES, health=notifications.outbox_health(
                               now=clock.utcnow()), form=ButtonForm())


@bp.post("/outbox/<int:message_id>/requeue")
def outbox_requeue(message_id: int):
    message = db.session.get(OutboxEmail, message_id)
    if message is None:
        raise NotFound(message_id)
    commit_or_flash(ButtonForm(), lambda: notifications.requeue(
        message, actor=current_user, now=clock.utcnow()),
        done=_("The message to %(address)s is queued again.", address=message.to_addr))
    return redirect(url_for("admin.outbox", status="failed"))


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    message = db.session.get(OutboxEmail, message_id)
    if message is None:
        raise NotFound(message_id)
    # Secret links only where notifications.outbox_message allows.
    shown = notifications.outbox_message(message, config=current_app.config)
    return render_template("admin/outbox_message.html", message=shown)
