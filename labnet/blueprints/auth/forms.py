"""Account forms: shape only (types, lengths, formats). Rules live in services.accounts.rules."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from labnet.blueprints.helpers import choices
from labnet.i18n import _, _l
from labnet.models.organisation import ORG_KIND_LABELS, SIZE_CLASS_LABELS

EMAIL = [DataRequired(_l("Enter your e-mail address.")), Length(max=254),
         Email(_l("Enter a valid e-mail address, like name@example.org."),
               check_deliverability=False)]


def strip(value):
    # A pasted address often carries a space at either end; it is not part of the address.
    return value.strip() if isinstance(value, str) else value


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def printable(form, field) -> None:
    """No control characters in a one-line text: PostgreSQL cannot store NUL (a 500
    otherwise), and no name needs a tab, line break or terminal escape."""
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_("Remove the control characters (tabs, line breaks and the "
                                "like) from this text."))


class LoginForm(FlaskForm):
    email = StringField(_l("E-mail address"), validators=EMAIL, filters=[strip])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=256)])
    next = HiddenField()


class RegisterForm(FlaskForm):
    full_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=120), printable])
    email = StringField(_l("Work e-mail address"), validators=EMAIL, filters=[strip])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Choose a password.")), Length(max=128)]
    )
    password_confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")),
                    EqualTo("password", _l("The two passwords do not match."))],
    )
    organisation_mode = RadioField(
        _l("Your organisation"),
        choices=choices([("new", _l("Register a new organisation")),
                         ("existing", _l("Join an organisation already on LabNet"))]),
        default="new",
        validators=[InputRequired(_l("Choose whether your organisation is new here."))],
    )
    organisation = StringField(
        _l("Organisation name"), validators=[
            DataRequired(_l("Enter your organisation's name.")), Length(max=200), printable]
    )
    org_kind = SelectField(
        _l("Kind of organisation"),
        choices=choices([("", "—")] + [(k.value, v) for k, v in ORG_KIND_LABELS.items()]),
        validators=[Optional()],
    )
    size_class = SelectField(
        _l("Company size (EU definition)"),
        choices=choices([("", "—")] + [(k.value, v) for k, v in SIZE_CLASS_LABELS.items()]),
        validators=[Optional()],
    )
    country = SelectField(_l("Country"), validators=[Optional()])
    accept_terms = BooleanField(
        _l("I accept the terms of use and have read the privacy notice"),
        validators=[DataRequired(
            _l("Accept the terms of use and the privacy notice to register."))],
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.organisation_mode.data == "new":
            if not self.org_kind.data:
                self.org_kind.errors = [*self.org_kind.errors,
                                        _("Choose the kind of organisation.")]
                ok = False
            if not self.country.data:
                self.country.errors = [*self.country.errors, _("Choose the country.")]
                ok = False
        return ok


class EmailForm(FlaskForm):
    email = StringField(_l("E-mail address"), validators=EMAIL, filters=[strip])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Choose a password.")), Length(max=128)])
    password_confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(_l("Repeat the password.")),
                    EqualTo("password", _l("The two passwords do not match."))],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"), validators=[
            DataRequired(_l("Enter your current password.")), Length(max=256)]
    )


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token: logout, log out everywhere."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[
        DataRequired(_l("Enter your password to delete the account.")), Length(max=256)])
    understood = BooleanField(
        _l("I understand that my account is deleted for good and cannot be restored"),
        validators=[DataRequired(_l("Tick the box to confirm that the deletion is final."))])
