"""Request forms: shape only (types, lengths, which fields a kind needs). Whether a lab
exists and is published, a budget range or TRL pair makes sense, a deadline is ahead: the
request service says so, for the form and any other caller alike."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from labnet.blueprints.fields import BoundedDateField
from labnet.blueprints.helpers import choices
from labnet.i18n import _l, lazy_number
from labnet.models.request import FUNDING_PROGRAMMES, RequestKind
from labnet.services.requests.workflow import MAX_TEXT

# The empty choice of a joint project's terms: stored as unknown and shown as such.
NOT_DECIDED = _l("Not decided yet")
TRL_CHOICES = [("", NOT_DECIDED)] + [(str(n), f"TRL {n}") for n in range(1, 10)]


def no_nul(form, field) -> None:
    if field.data and isinstance(field.data, str) and "\x00" in field.data:
        raise ValidationError(_l("Remove the control characters from this text."))


_LIMIT = lazy_number(MAX_TEXT)


def _long(message: Any):
    """The length check of a long text (``message``: lazy, naming the limit)."""
    return Length(max=MAX_TEXT, message=message)


_AMOUNT = _l("Give an amount between 0 and %(max)s.", max=lazy_number(1_000_000_000))

# Which fields each kind asks for, and the message when one is missing.
REQUIRED = {
    RequestKind.ACCESS: {"title": _l("Say which capability or facility you need access to."),
                         "summary": _l("Describe what you want to do.")},
    RequestKind.SERVICE: {"title": _l("Say what the lab should test, analyse or make."),
                          "summary": _l("Describe what you need."),
                          "quantity": _l("Say how many (samples, parts, hours…)."),
                          "deadline": _l("Give the date you need the results by.")},
    RequestKind.JOINT_PROJECT: {"title": _l("Give the project a title."),
                                "summary": _l("Summarise the project."),
                                "ket_code": _l("Choose the project's Key Enabling Technology.")},
}


class RequestForm(FlaskForm):
    kind = HiddenField()
    # The chosen labs by slug (checkboxes; several for a joint project). Existence and
    # publication are checked by the service, so the choices are not validated here.
    lab = SelectMultipleField(_l("Labs"), validate_choice=False)
    add_lab = StringField(_l("Add a lab (its name, or its address name such as fraunhofer-ilt)"),
                          validators=[Optional(), Length(max=200), no_nul])
    equipment = HiddenField()
    title = StringField(_l("Title"), validators=[Length(max=200), no_nul])
    summary = TextAreaField(_l("Summary"), validators=[
        _long(_l("Keep the summary under %(limit)s characters.", limit=_LIMIT)), no_nul])
    quantity = StringField(_l("Quantity"), validators=[Length(max=120), no_nul])
    deadline = BoundedDateField(_l("Deadline"), validators=[Optional()],
                         render_kw={"type": "date"})
    ket_code = SelectField(_l("Key Enabling Technology"), default="")
    budget_min_eur = IntegerField(_l("Budget from (EUR)"), validators=[
        Optional(), NumberRange(0, 1_000_000_000, _AMOUNT)])
    budget_max_eur = IntegerField(_l("Budget up to (EUR)"), validators=[
        Optional(), NumberRange(0, 1_000_000_000, _AMOUNT)])
    duration_months = IntegerField(_l("Duration (months)"), validators=[
        Optional(), NumberRange(1, 120, _l("Give a duration between 1 and 120 months."))])
    funding_programme = SelectField(_l("Funding programme"), default="")
    trl_now = SelectField(_l("TRL now"), default="")
    trl_target = SelectField(_l("TRL targeted"), default="")

    def __init__(self, *args, ket_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.ket_code.choices = choices([("", "—"), *ket_choices])
        self.funding_programme.choices = choices([("", NOT_DECIDED)]
                                                 + [(p, p) for p in FUNDING_PROGRAMMES])
        self.trl_now.choices = choices(TRL_CHOICES)
        self.trl_target.choices = choices(TRL_CHOICES)

    def validate_for(self, kind: RequestKind) -> bool:
        """WTForms' checks, then the fields this kind requires (all errors at once)."""
        ok = self.validate()
        for name, message in REQUIRED[kind].items():
            field = self[name]
            if field.errors:
                continue
            if field.data in (None, "") or (isinstance(field.data, str)
                                            and not field.data.strip()):
                field.errors = [*field.errors, message]
                ok = False
        return ok

    def int_or_none(self, name: str) -> int | None:
        value = self[name].data
        if value in (None, ""):
            return None
        return int(value)


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[
        InputRequired(_l("Write a message.")),
        _long(_l("Keep the message under %(limit)s characters.", limit=_LIMIT)), no_nul])
    lab = SelectField(_l("Writing for"), validate_choice=False, default="")


class AnswerForm(FlaskForm):
    lab = HiddenField()
    decision = SelectField(_l("Your lab's answer"), default="")
    answer_message = TextAreaField(_l("Message to the company (required when declining)"),
                                   validators=[_long(_l("Keep the message under %(limit)s "
                                                        "characters.", limit=_LIMIT)), no_nul])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = choices([("", "—"), ("accept", _l("Accept")),
                                         ("decline", _l("Decline"))])


class ActionForm(FlaskForm):
    """The CSRF token of the one-button actions (review, confirm, withdraw, complete)."""
