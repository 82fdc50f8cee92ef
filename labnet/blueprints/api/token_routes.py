"""``/account/tokens``: make, list and revoke personal access tokens (rules in
``services.accounts.tokens``)."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectMultipleField, StringField, widgets
from wtforms.validators import Length

from labnet import clock
from labnet.blueprints.api import tokens_bp as bp
from labnet.blueprints.helpers import apply_violation, choices
from labnet.errors import NotFound, RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.services.accounts import tokens


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=80)])
    scopes = SelectMultipleField(
        _l("Scopes"), choices=choices((s.value, label) for s, label in tokens.SCOPE_LABELS.items()),
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False),
        validate_choice=False)
    expires_on = DateField(_l("Expires on"))


def _page(form: TokenForm, secret: str | None = None, status: int = 200):
    rows = list(db.session.scalars(tokens.list_tokens(current_user)))
    return render_template("api/tokens.html", form=form, tokens=rows, secret=secret,
                           now=clock.utcnow()), status


@bp.get("/account/tokens")
@login_required
def index():
    form = TokenForm()
    if not form.expires_on.data:
        form.expires_on.data = (clock.utcnow() + tokens.DEFAULT_LIFETIME).date()
    return _page(form)


@bp.post("/account/tokens")
@login_required
def create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        made = tokens.create_token(current_user, tokens.NewToken(
            name=form.name.data, scopes=tuple(form.scopes.data or ()),
            expires_on=form.expires_on.data), now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        apply_violation(form, exc)
        return _page(form, status=exc.code)
    db.session.commit()
    # Shown once: the page is never stored by any cache and the secret never in the database.
    body, status = _page(TokenForm(formdata=None), secret=made.secret, status=201)
    response = make_response(body, status)
    response.cache_control.no_store = True
    return response


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    try:
        tokens.revoke_token(current_user, token_id, now=clock.utcnow())
    except RuleViolation:
        db.session.rollback()
        raise NotFound(token_id) from None
    db.session.commit()
    flash(_("Token revoked: it no longer works."), "success")
    return redirect(url_for("api_tokens.index"))
