"""Register, confirm, log in and out, reset and change the password, log out everywhere."""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
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
from labnet.blueprints.helpers import (
    apply_violation,
    choices,
    commit_or_show,
    country_choices,
    mail_after_response,
)
from labnet.errors import RuleViolation, http_error_response, wants_json
from labnet.extensions import (
    db,
    limiter,
    login_account_client_key,
    login_email_key,
    login_failed,
    target_email_key,
)
from labnet.i18n import _, _l, ngettext
from labnet.permissions import can_manage_members, require
from labnet.security import safe_next
from labnet.services.accounts import rules as accounts
from labnet.services.accounts.navigation import landing_endpoint
from labnet.services.catalogue.labs import watch


def _login_limit_ip() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _login_limit_account() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _login_limit_account_client() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT_CLIENT"]


def _limit(name: str):
    return lambda: current_app.config[name]


def _did_something(response) -> bool:
    # A form sent back with errors (4xx) sends no mail and creates nothing: not counted.
    return response.status_code < 400


# Per client address, and per typed address whichever client asks (target_email_key
# keys on the address typed, whether or not it has an account: the limit reveals nothing).
_per_address = limiter.limit(_limit("ACCOUNT_MAIL_LIMIT_PER_ADDRESS"), key_func=target_email_key,
                             methods=["POST"], deduct_when=_did_something)


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
@limiter.limit(_login_limit_ip, methods=["POST"], deduct_when=login_failed)
@limiter.limit(_login_limit_account_client, key_func=login_account_client_key,
               methods=["POST"], deduct_when=login_failed)
@limiter.limit(_login_limit_account, key_func=login_email_key, methods=["POST"],
               deduct_when=login_failed)
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
            flash(_("Welcome, %(name)s.", name=user.full_name), "success")
            # The page that sent them here first (an e-mail's link, a button); otherwise
            # where their work waits (services.accounts.navigation.landing_endpoint).
            return redirect(safe_next(form.next.data) or url_for(landing_endpoint(user)))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.errorhandler(429)
def _too_many_requests(exc: TooManyRequests):
    """Throttled account pages answer with their form, the input and the reason; others
    with the app's 429 page."""
    if not wants_json():
        limited = render_limited()
        if limited is not None:
            return limited
    return http_error_response(exc)


def render_login_limited():
    """The login form again with the throttling message (429), keeping the address."""
    form = LoginForm(formdata=None, email=request.form.get("email", "")[:254],
                     next=safe_next(request.form.get("next")) or "")
    form.form_errors.append(
        _("Too many login attempts. Please wait a minute before trying again.")
    )
    return render_template("auth/login.html", form=form), 429


LIMITED = _l("Too many requests from here or for this e-mail address. Nothing was sent; "
             "please wait an hour and try again.")


def render_limited():
    """The form of a throttled account page again (429) with the message and what was
    typed (never the passwords); None for pages without such a form."""
    endpoint = request.endpoint
    if endpoint == "auth.login":
        return render_login_limited()
    if endpoint == "auth.register":
        form = RegisterForm(formdata=request.form)
        form.country.choices = [*choices([("", "—")]), *country_choices()]
        form.password.data = form.password_confirm.data = ""
        template = "auth/register.html"
    elif endpoint in ("auth.reset_request", "auth.resend_confirmation"):
        form = EmailForm(formdata=None, email=request.form.get("email", "")[:254])
        template = {"auth.reset_request": "auth/reset_request.html",
                    "auth.resend_confirmation": "auth/resend.html"}[endpoint]
    else:
        return None
    form.form_errors.append(str(LIMITED))
    return render_template(template, form=form), 429


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
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_limit("REGISTER_LIMIT_PER_IP"), methods=["POST"], deduct_when=_did_something)
@_per_address
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
            terms_version=current_app.config["TERMS_VERSION"],
            now=clock.utcnow(),
        ))
        if registered:
            # The same page whether the address was new or had an account (whose owner
            # is told by e-mail): nothing here says which.
            return mail_after_response(make_response(render_template(
                "auth/registered.html", email=accounts.normalise_email(form.email.data))))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/register.html", form=form), status


@bp.get("/account/confirm/<token>")
def confirm(token: str):
    try:
        user = accounts.confirm_email(token, now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        form = EmailForm()
        form.form_errors.append(exc.message)
        return render_template("auth/resend.html", form=form), 400
    db.session.commit()
    if user.is_member:
        flash(_("Your e-mail address is confirmed. You can log in now."), "success")
    else:
        flash(_("Your e-mail address is confirmed. We asked the admins of %(organisation)s "
                "to approve your request to join; we will e-mail you when they decide.",
                organisation=user.organisation.name), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/confirm", methods=["GET", "POST"])
@limiter.limit(_limit("ACCOUNT_MAIL_LIMIT_PER_IP"), methods=["POST"], deduct_when=_did_something)
@_per_address
def resend_confirmation():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.resend_confirmation(form.email.data, now=clock.utcnow())
        db.session.commit()
        flash(_("If an unconfirmed account uses this address, a new link is on its way."),
              "info")
        return mail_after_response(redirect(url_for("auth.login")))
    return render_template("auth/resend.html", form=form), 422 if form.errors else 200


@bp.route("/account/reset", methods=["GET", "POST"])
@limiter.limit(_limit("ACCOUNT_MAIL_LIMIT_PER_IP"), methods=["POST"], deduct_when=_did_something)
@_per_address
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, now=clock.utcnow())
        db.session.commit()
        flash(_("If an account uses this address, we have sent a link to reset the "
                "password. It works for %(num)d minutes.",
                num=current_app.config["RESET_TOKEN_MAX_AGE"] // 60), "info")
        return mail_after_response(redirect(url_for("auth.login")))
    return render_template("auth/reset_request.html", form=form), 422 if form.errors else 200


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    if accounts.user_for_reset_token(token, now=clock.utcnow()) is None:
        form = EmailForm()
        form.form_errors.append(_("This reset link is invalid, expired or already used. "
                                  "Ask for a new one."))
        return render_template("auth/reset_request.html", form=form), 400
    form = NewPasswordForm()
    if form.validate_on_submit() and commit_or_show(
            form, lambda: accounts.reset_password(token, form.password.data, now=clock.utcnow())):
        logout_user()
        session.clear()
        flash(_("Your password is changed. Log in with the new one."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 422 if form.errors else 200


def _account_page(confirm_form: ConfirmForm | None = None):
    labs = db.session.scalars(accounts.managed_labs(current_user)).all()
    return render_template("auth/account.html", labs=labs, password_form=ChangePasswordForm(),
                           confirm_form=confirm_form or ConfirmForm(),
                           watches=watch.list_watches(current_user._get_current_object()))


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
            flash(_("Your password is changed. Other devices are logged out."), "success")
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
    flash(ngettext("Logged out of %(num)d session on every device.",
                   "Logged out of %(num)d sessions on every device.", count), "info")
    return redirect(url_for("auth.login"))


# Organisation members: join requests and organisation admins ------------------------------


def _members_page(form: ConfirmForm | None = None, status: int = 200):
    actor = current_user._get_current_object()
    return render_template(
        "auth/members.html",
        requests=db.session.scalars(accounts.list_join_requests(actor)).all(),
        members=db.session.scalars(accounts.list_members(actor)).all(),
        form=form or ConfirmForm(),
    ), status


@bp.get("/organisation/members")
@login_required
def members():
    return _members_page()


def _members_action(call, done):
    """One button of the members page: the service call as the one transaction, then
    back to the page; a refusal shows on the page (422), nothing written."""
    actor = current_user._get_current_object()
    # 403 before anything else for people who are not organisation admins.
    require(can_manage_members, actor, actor.organisation_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _members_page(form, 400)
    outcome = commit_or_show(form, lambda: call(actor))
    if not outcome:
        return _members_page(form, 422)
    flash(done(outcome.value), "success")
    return redirect(url_for("auth.members"))


@bp.post("/organisation/members/<int:user_id>/approve")
@login_required
def approve_member(user_id: int):
    return _members_action(
        lambda actor: accounts.approve_member(actor, user_id, now=clock.utcnow()).full_name,
        lambda name: _("%(name)s is now a member of your organisation; we told them by "
                       "e-mail.", name=name))


@bp.post("/organisation/members/<int:user_id>/decline")
@login_required
def decline_member(user_id: int):
    return _members_action(
        lambda actor: accounts.decline_member(actor, user_id, now=clock.utcnow()),
        lambda name: _("You declined the request of %(name)s; we told them by e-mail.",
                       name=name))


@bp.post("/organisation/members/<int:user_id>/grant-admin")
@login_required
def grant_org_admin(user_id: int):
    return _members_action(
        lambda actor: accounts.set_org_admin(actor, user_id, True, now=clock.utcnow()),
        lambda _value: _("Organisation admin role granted."))


@bp.post("/organisation/members/<int:user_id>/revoke-admin")
@login_required
def revoke_org_admin(user_id: int):
    return _members_action(
        lambda actor: accounts.set_org_admin(actor, user_id, False, now=clock.utcnow()),
        lambda _value: _("Organisation admin role revoked."))
