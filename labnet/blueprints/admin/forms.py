"""Admin forms: shape only; the rules live in services.accounts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from labnet.blueprints.auth.forms import printable
from labnet.blueprints.helpers import choices, country_choices
from labnet.models.organisation import ORG_KIND_LABELS, SIZE_CLASS_LABELS

ROLE_CHOICES = [
    ("lab_manager", "Lab manager (of the lab below)"),
    ("coordinator", "Network coordinator"),
    ("verifier", "Verifier (accreditations and the excellence label)"),
    ("admin", "Admin"),
]


class GrantRoleForm(FlaskForm):
    role = SelectField("Role", choices=choices(ROLE_CHOICES), validators=[DataRequired()])
    lab = StringField("Lab (its name, or its address name such as fraunhofer-ilt)",
                      validators=[Optional(), Length(max=200)])


class RevokeRoleForm(FlaskForm):
    role = HiddenField(validators=[DataRequired(), Length(max=20)])
    lab = HiddenField(validators=[Optional(), Length(max=200)])


class ButtonForm(FlaskForm):
    """A POST button: its CSRF token only (deactivate, resend, approve …)."""


class OrgAdminForm(FlaskForm):
    make_admin = HiddenField(validators=[DataRequired(), AnyOf(("1", "0"))])


class MoveForm(FlaskForm):
    organisation = StringField("Move to organisation (its exact name)",
                               validators=[DataRequired("Enter the name of the organisation."),
                                           Length(max=200), printable])


class OrganisationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the organisation's name."),
                                           Length(max=200), printable])
    kind = SelectField("Kind", choices=choices(
        (str(k), label) for k, label in ORG_KIND_LABELS.items()), validators=[DataRequired()])
    country = SelectField("Country", validators=[DataRequired()])
    city = StringField("City", validators=[Optional(), Length(max=120), printable])
    size_class = SelectField("EU size class (companies only)", choices=choices(
        [("", "—"), *((str(k), label) for k, label in SIZE_CLASS_LABELS.items())]),
        validators=[Optional()])
    email_domain = StringField("Join domain (people registering with it are pointed here)",
                               validators=[Optional(), Length(max=200), printable])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()


class VerifySizeForm(FlaskForm):
    verified = HiddenField(validators=[DataRequired(), AnyOf(("1", "0"))])
