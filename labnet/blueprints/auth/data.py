"""A person's own data: download it as JSON, and delete the account."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, logout_user

from labnet import clock
from labnet.blueprints.auth import bp
from labnet.blueprints.auth.forms import DeleteAccountForm
from labnet.blueprints.helpers import commit_or_show
from labnet.i18n import _
from labnet.services.accounts import privacy


@bp.get("/account/data")
@login_required
def my_data():
    user = current_user._get_current_object()
    return render_template("auth/data.html", form=DeleteAccountForm(),
                           blockers=privacy.deletion_blockers(user, now=clock.utcnow()))


@bp.get("/account/data.json")
@login_required
def my_data_download():
    now = clock.utcnow()
    document = privacy.personal_data(current_user._get_current_object(), now=now)
    response = Response(json.dumps(document, ensure_ascii=False, indent=2),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="labnet-my-data-{now:%Y-%m-%d}.json"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/delete")
@login_required
def delete_account():
    form = DeleteAccountForm()
    user = current_user._get_current_object()
    now = clock.utcnow()
    if form.validate_on_submit() and commit_or_show(form, lambda: privacy.delete_account(
            user, password=form.password.data, now=now)):
        logout_user()
        session.clear()
        flash(_("Your account is deleted. The bookings and requests you made stay with "
                "your organisation without your name."), "info")
        return redirect(url_for("main.index"))
    return render_template("auth/data.html", form=form,
                           blockers=privacy.deletion_blockers(user, now=now)), 422
