"""Network forms: shape only; the rules (known codes, unique names, who may do what) live
in ``services.networks.rules`` so they read the same from every entry point."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from labnet.blueprints.manage.forms import no_nul, one_line, strip


class NetworkForm(FlaskForm):
    name = StringField("Name", filters=[strip],
                       validators=[DataRequired("Enter the network's name."), Length(max=200),
                                   one_line])
    slug = StringField("Address (leave empty to derive it from the name)", filters=[strip],
                       validators=[Length(max=120), one_line])
    description = TextAreaField("Description", validators=[Length(max=10000), no_nul])
    ket_code = SelectField("KET focus", validate_choice=False)
    ecosystem = SelectField("Industrial ecosystem", validate_choice=False)
    visibility = SelectField("Who sees it", validate_choice=False)


class StageForm(FlaskForm):
    name = StringField("Stage name", filters=[strip],
                       validators=[DataRequired("Enter the stage's name."), Length(max=200),
                                   one_line])
    description = TextAreaField("What happens at this stage", validators=[Length(max=5000),
                                                                          no_nul])
    ket_codes = SelectMultipleField("KET areas it needs", validate_choice=False)
    category_codes = SelectMultipleField("Equipment categories it needs",
                                         validate_choice=False)
    keywords = TextAreaField("Capability keywords (one per line)",
                             validators=[Length(max=2000), no_nul])


class InviteForm(FlaskForm):
    stage_id = SelectField("Stage", validate_choice=False)
    lab = StringField("Lab (its name, or its address name such as fraunhofer-ise)",
                      filters=[strip], validators=[Length(max=200), one_line])
    message = TextAreaField("Message to the lab's managers",
                            validators=[Length(max=2000), no_nul])


class CoordinatorForm(FlaskForm):
    email = StringField("E-mail address of a coordinator", filters=[strip],
                        validators=[DataRequired("Enter an e-mail address."), Length(max=254),
                                    one_line])


class AnswerForm(FlaskForm):
    answer = HiddenField()
    answer_message = TextAreaField("Message to the coordinators (optional)",
                                   validators=[Length(max=2000), no_nul])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""


class MoveForm(FlaskForm):
    direction = HiddenField()
