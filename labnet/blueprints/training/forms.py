"""Registration, organiser and qualification forms: shape only (the services hold the
rules: capacity, deadlines, the organiser's questions, who may grant what)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from labnet.blueprints.bookings.forms import no_nul
from labnet.blueprints.helpers import choices
from labnet.i18n import _l


class ButtonForm(FlaskForm):
    """A POST button: its CSRF token only."""


def registration_form(questions: list[dict[str, Any]], **kw: Any) -> FlaskForm:
    """A form with one field ``q_<key>`` per question of the organiser (the service checks
    required answers and choices, so the refusal names the question)."""

    class RegistrationForm(FlaskForm):
        pass

    for q in questions or []:
        key, label = str(q.get("key", "")), str(q.get("label") or q.get("key", ""))
        if q.get("required"):
            label += " *"
        if q.get("kind") == "choice":
            field: Any = SelectField(label, choices=choices([("", "—")] + [
                (str(c), str(c)) for c in q.get("choices") or []]), validate_choice=False)
        else:
            field = TextAreaField(label, validators=[Length(max=2000), no_nul])
        setattr(RegistrationForm, f"q_{key}", field)
    return RegistrationForm(**kw)


class MessageForm(FlaskForm):
    subject = StringField(_l("Subject"),
                          validators=[InputRequired(_l("Give the message a subject.")),
                                      Length(max=150)])
    body = TextAreaField(_l("Message"), validators=[InputRequired(_l("Write the message.")),
                                                    Length(max=10_000), no_nul])


class CheckInForm(FlaskForm):
    registration_id = HiddenField(validators=[InputRequired()])
    session_id = HiddenField(validators=[InputRequired()])
    present = HiddenField(validators=[InputRequired()])


class QualificationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        InputRequired(_l("Name the qualification, e.g. “SEM operation”.")), Length(max=120)])
    validity_months = IntegerField(_l("Valid for (months; empty: no expiry)"),
                                   validators=[Optional(), NumberRange(1, 240)])
    description = TextAreaField(_l("What it allows"),
                                validators=[Optional(), Length(max=2000), no_nul])


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RequiredEquipmentForm(FlaskForm):
    equipment_ids = MultiCheckboxField(_l("Equipment that requires it"), coerce=int,
                                       validate_choice=False)


class GrantForm(FlaskForm):
    email = StringField(_l("E-mail address of the person"),
                        validators=[InputRequired(_l("Give the person's e-mail address.")),
                                    Length(max=254)])


class RevokeForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[InputRequired(_l("Tell the person why.")),
                                                   Length(max=500)])


class EventGrantsForm(FlaskForm):
    qualification_ids = MultiCheckboxField(_l("Attending every session grants"), coerce=int,
                                           validate_choice=False)
    confirm = BooleanField(default=True)
