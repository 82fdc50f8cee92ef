"""Network forms: shape only; the rules (known codes, unique names, who may do what) live
in ``services.networks.rules`` so they read the same from every entry point."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from labnet.blueprints.manage.forms import no_nul, one_line, strip
from labnet.i18n import _l


class NetworkForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip],
                       validators=[DataRequired(_l("Enter the network's name.")), Length(max=200),
                                   one_line])
    slug = StringField(_l("Address (leave empty to derive it from the name)"), filters=[strip],
                       validators=[Length(max=120), one_line])
    description = TextAreaField(_l("Description"), validators=[Length(max=10000), no_nul])
    ket_code = SelectField(_l("KET focus"), validate_choice=False)
    ecosystem = SelectField(_l("Industrial ecosystem"), validate_choice=False)
    visibility = SelectField(_l("Who sees it"), validate_choice=False)


class StageForm(FlaskForm):
    name = StringField(_l("Stage name"), filters=[strip],
                       validators=[DataRequired(_l("Enter the stage's name.")), Length(max=200),
                                   one_line])
    description = TextAreaField(_l("What happens at this stage"), validators=[Length(max=5000),
                                                                          no_nul])
    ket_codes = SelectMultipleField(_l("KET areas it needs"), validate_choice=False)
    category_codes = SelectMultipleField(_l("Equipment categories it needs"),
                                         validate_choice=False)
    keywords = TextAreaField(_l("Capability keywords (one per line)"),
                             validators=[Length(max=2000), no_nul])


class InviteForm(FlaskForm):
    stage_id = SelectField(_l("Stage"), validate_choice=False)
    lab = StringField(_l("Lab (its name, or its address name such as fraunhofer-ise)"),
                      filters=[strip], validators=[Length(max=200), one_line])
    message = TextAreaField(_l("Message to the lab's managers"),
                            validators=[Length(max=2000), no_nul])


class CoordinatorForm(FlaskForm):
    email = StringField(_l("E-mail address of a coordinator"), filters=[strip],
                        validators=[DataRequired(_l("Enter an e-mail address.")), Length(max=254),
                                    one_line])


class AnswerForm(FlaskForm):
    answer = HiddenField()
    answer_message = TextAreaField(_l("Message to the coordinators (optional)"),
                                   validators=[Length(max=2000), no_nul])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""


class MoveForm(FlaskForm):
    direction = HiddenField()
