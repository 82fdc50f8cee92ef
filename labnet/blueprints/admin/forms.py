"""Admin forms: shape only; the rules live in services.accounts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from labnet.blueprints.auth.forms import printable
from labnet.blueprints.helpers import choices, country_choices
from labnet.i18n import _l
from labnet.models.organisation import ORG_KIND_LABELS, SIZE_CLASS_LABELS

ROLE_CHOICES = [
    ("lab_manager", _l("Lab manager (of the lab below)")),
    ("coordinator", _l("Network coordinator")),
    ("verifier", _l("Verifier (accreditations and the excellence label)")),
    ("admin", _l("Admin")),
]


class GrantRoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices(ROLE_CHOICES), validators=[DataRequired()])
    lab = StringField(_l("Lab (its name, or its address name such as fraunhofer-ilt)"),
                      validators=[Optional(), Length(max=200)])


class RevokeRoleForm(FlaskForm):
    role = HiddenField(validators=[DataRequired(), Length(max=20)])
    lab = HiddenField(validators=[Optional(), Length(max=200)])


class ButtonForm(FlaskForm):
    """A POST button: its CSRF token only (deactivate, resend, approve …)."""


class OrgAdminForm(FlaskForm):
    make_admin = HiddenField(validators=[DataRequired(), AnyOf(("1", "0"))])


class MoveForm(FlaskForm):
    organisation = StringField(_l("Move to organisation (its exact name)"),
                               validators=[DataRequired(
                                   _l("Enter the name of the organisation.")),
                                           Length(max=200), printable])


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the organisation's name.")), Length(max=200), printable])
    kind = SelectField(_l("Kind"), choices=choices(
        (str(k), label) for k, label in ORG_KIND_LABELS.items()), validators=[DataRequired()])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120), printable])
    size_class = SelectField(_l("EU size class (companies only)"), choices=choices(
        [("", "—"), *((str(k), label) for k, label in SIZE_CLASS_LABELS.items())]),
        validators=[Optional()])
    email_domain = StringField(
        _l("Join domain (people registering with it are pointed here)"),
                               validators=[Optional(), Length(max=200), printable])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()


class VerifySizeForm(FlaskForm):
    verified = HiddenField(validators=[DataRequired(), AnyOf(("1", "0"))])
