"""Admin pages: users and their roles, the e-mail outbox."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.admin import bp
from labnet.blueprints.admin.forms import GrantRoleForm, RevokeRoleForm
from labnet.blueprints.helpers import commit_or_show
from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db, login_manager
from labnet.models import OutboxEmail
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
    page = db.paginate(accounts.list_users(q), per_page=50, error_out=False)
    return render_template("admin/users.html", page=page, q=q)


def _user_page(user, grant_form=None, status=200):
    labs = db.session.scalars(accounts.managed_labs(user)).all()
    return render_template(
        "admin/user.html", user=user, labs=labs, grant_form=grant_form or GrantRoleForm(),
        revoke_form=RevokeRoleForm(),
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
    flash("Role granted." if granted.value else "This person already had that role.", "success")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/roles/revoke")
def revoke(user_id: int):
    target = permissions.user_for_admin(current_user, user_id)
    form = RevokeRoleForm()
    if not form.validate_on_submit():
        flash("The request was incomplete; nothing changed.", "warning")
        return redirect(url_for("admin.user", user_id=target.id))
    try:
        changed = accounts.revoke_role(current_user, target, form.role.data,
                                       lab=accounts.lab_by_slug(form.lab.data), now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.user", user_id=target.id))
    db.session.commit()
    flash("Role removed." if changed else "This person did not have that role.", "info")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.get("/outbox")
def outbox():
    to = request.args.get("to", "")[:254].strip().lower()
    stmt = notifications.list_outbox(to)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("admin/outbox.html", page=page, to=to)


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    message = db.session.get(OutboxEmail, message_id)
    if message is None:
        raise NotFound(message_id)
    # Secret links only where notifications.outbox_message allows.
    shown = notifications.outbox_message(message, config=current_app.config)
    return render_template("admin/outbox_message.html", message=shown)
