"""Register, confirm, log in and out, reset and change the password, log out everywhere."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from labnet import clock
from labnet.blueprints.auth import bp
from labnet.blueprints.auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EmailForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
)
from labnet.blueprints.helpers import apply_violation, choices, commit_or_show, country_choices
from labnet.errors import RuleViolation, http_error_response, wants_json
from labnet.extensions import db, limiter, login_email_key
from labnet.security import safe_next
from labnet.services import accounts


def _login_limit_ip() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _login_limit_account() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _sign_in(user) -> None:
    # A fresh session on every login (no fixation), holding only the session token. The
    # session this browser had (another login, or the same account again) ends for real,
    # so a copy of the old cookie stops working too.
    previous = current_user.get_id() if current_user.is_authenticated else None
    session.clear()
    token = accounts.start_session(
        user, now=clock.utcnow(), user_agent=request.headers.get("User-Agent", ""),
        replaces=previous,
    )
    session.permanent = True
    login_user(user)
    assert user.get_id() == token


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit_ip, methods=["POST"])
@limiter.limit(_login_limit_account, key_func=login_email_key, methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data, now=clock.utcnow())
        except RuleViolation as exc:
            db.session.rollback()
            apply_violation(form, exc)
        else:
            _sign_in(user)
            db.session.commit()
            flash(f"Welcome, {user.full_name}.", "success")
            return redirect(safe_next(form.next.data) or url_for("main.index"))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.errorhandler(429)
def _too_many_requests(exc: TooManyRequests):
    """Throttled login: the form again with the message; elsewhere the app's 429 page."""
    if request.endpoint == "auth.login" and not wants_json():
        return render_login_limited()
    return http_error_response(exc)


def render_login_limited():
    """The login form again with the throttling message (429), keeping the address."""
    form = LoginForm(formdata=None, email=request.form.get("email", "")[:254],
                     next=safe_next(request.form.get("next")) or "")
    form.form_errors.append(
        "Too many login attempts. Please wait a minute before trying again."
    )
    return render_template("auth/login.html", form=form), 429


@bp.get("/logout")
def logout_page():
    if not current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("auth/logout.html", form=ConfirmForm())


@bp.post("/logout")
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("auth/logout.html", form=form), 400
    if current_user.is_authenticated:
        accounts.end_session(current_user.get_id(), now=clock.utcnow())
        db.session.commit()
        logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    form.country.choices = [*choices([("", "—")]), *country_choices()]
    if form.validate_on_submit():
        join = form.organisation_mode.data == "existing"
        registered = commit_or_show(form, lambda: accounts.register_member(
            email=form.email.data,
            full_name=form.full_name.data,
            password=form.password.data,
            join_existing=join,
            organisation_name=form.organisation.data,
            new_org=None if join else accounts.NewOrganisation(
                name=form.organisation.data, kind=form.org_kind.data,
                size_class=form.size_class.data or None, country=form.country.data,
            ),
            now=clock.utcnow(),
        ))
        if registered:
            return render_template("auth/registered.html", email=registered.value.email)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/register.html", form=form), status


@bp.get("/account/confirm/<token>")
def confirm(token: str):
    try:
        accounts.confirm_email(token, now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        form = EmailForm()
        form.form_errors.append(exc.message)
        return render_template("auth/resend.html", form=form), 400
    db.session.commit()
    flash("Your e-mail address is confirmed. You can log in now.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/confirm", methods=["GET", "POST"])
def resend_confirmation():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.resend_confirmation(form.email.data, now=clock.utcnow())
        db.session.commit()
        flash("If an unconfirmed account uses this address, a new link is on its way.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/resend.html", form=form), 422 if form.errors else 200


@bp.route("/account/reset", methods=["GET", "POST"])
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, now=clock.utcnow())
        db.session.commit()
        flash("If an account uses this address, we have sent a link to reset the password. "
              f"It works for {current_app.config['RESET_TOKEN_MAX_AGE'] // 60} minutes.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form), 422 if form.errors else 200


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    if accounts.user_for_reset_token(token, now=clock.utcnow()) is None:
        form = EmailForm()
        form.form_errors.append("This reset link is invalid, expired or already used. "
                                "Ask for a new one.")
        return render_template("auth/reset_request.html", form=form), 400
    form = NewPasswordForm()
    if form.validate_on_submit() and commit_or_show(
            form, lambda: accounts.reset_password(token, form.password.data, now=clock.utcnow())):
        logout_user()
        session.clear()
        flash("Your password is changed. Log in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 422 if form.errors else 200


def _account_page(confirm_form: ConfirmForm | None = None):
    labs = db.session.scalars(accounts.managed_labs(current_user)).all()
    return render_template("auth/account.html", labs=labs, password_form=ChangePasswordForm(),
                           confirm_form=confirm_form or ConfirmForm())


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.password.data,
                                     now=clock.utcnow())
        except RuleViolation as exc:
            db.session.rollback()
            apply_violation(form, exc)
        else:
            # Every session was revoked; this browser gets a new one.
            _sign_in(user)
            db.session.commit()
            flash("Your password is changed. Other devices are logged out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere():
    form = ConfirmForm()
    if not form.validate_on_submit():
        # A missing or expired CSRF token: the account page again with the message and a
        # fresh token, nothing ended. (A redirect here would reach the browser as a bare
        # 400 "Redirecting..." page, because the CSRF handler sets the status.)
        return _account_page(confirm_form=form), 400
    count = accounts.end_all_sessions(current_user, now=clock.utcnow())
    db.session.commit()
    logout_user()
    session.clear()
    flash(f"Logged out of {count} session{'s' if count != 1 else ''} on every device.", "info")
    return redirect(url_for("auth.login"))
