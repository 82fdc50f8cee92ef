from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from labnet.blueprints.helpers import choices

ROLE_CHOICES = [
    ("lab_manager", "Lab manager (of the lab below)"),
    ("coordinator", "Network coordinator"),
    ("admin", "Admin"),
]


class GrantRoleForm(FlaskForm):
    role = SelectField("Role", choices=choices(ROLE_CHOICES), validators=[DataRequired()])
    lab = StringField("Lab (its name, or its address name such as fraunhofer-ilt)",
                      validators=[Optional(), Length(max=200)])


class RevokeRoleForm(FlaskForm):
    role = HiddenField(validators=[DataRequired(), Length(max=20)])
    lab = HiddenField(validators=[Optional(), Length(max=200)])
