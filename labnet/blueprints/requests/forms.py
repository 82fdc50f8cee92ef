"""Request forms: shape only (types, lengths, which fields a kind needs). Whether a lab
exists and is published, a budget range or TRL pair makes sense, a deadline is ahead: the
request service says so, for the form and any other caller alike."""

from __future__ import annotations

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
from labnet.models.request import FUNDING_PROGRAMMES, RequestKind
from labnet.services.requests.workflow import MAX_TEXT

# The empty choice of a joint project's terms: stored as unknown and shown as such.
NOT_DECIDED = "Not decided yet"
TRL_CHOICES = [("", NOT_DECIDED)] + [(str(n), f"TRL {n}") for n in range(1, 10)]


def no_nul(form, field) -> None:
    if field.data and isinstance(field.data, str) and "\x00" in field.data:
        raise ValidationError("Remove the control characters from this text.")


def _long(what: str):
    return Length(max=MAX_TEXT, message=f"Keep {what} under {MAX_TEXT:,} characters.")


# Which fields each kind asks for, and the message when one is missing.
REQUIRED = {
    RequestKind.ACCESS: {"title": "Say which capability or facility you need access to.",
                         "summary": "Describe what you want to do."},
    RequestKind.SERVICE: {"title": "Say what the lab should test, analyse or make.",
                          "summary": "Describe what you need.",
                          "quantity": "Say how many (samples, parts, hours…).",
                          "deadline": "Give the date you need the results by."},
    RequestKind.JOINT_PROJECT: {"title": "Give the project a title.",
                                "summary": "Summarise the project.",
                                "ket_code": "Choose the project's Key Enabling Technology."},
}


class RequestForm(FlaskForm):
    kind = HiddenField()
    # The chosen labs by slug (checkboxes; several for a joint project). Existence and
    # publication are checked by the service, so the choices are not validated here.
    lab = SelectMultipleField("Labs", validate_choice=False)
    add_lab = StringField("Add a lab (its name, or its address name such as fraunhofer-ilt)",
                          validators=[Optional(), Length(max=200), no_nul])
    equipment = HiddenField()
    title = StringField("Title", validators=[Length(max=200), no_nul])
    summary = TextAreaField("Summary", validators=[_long("the summary"), no_nul])
    quantity = StringField("Quantity", validators=[Length(max=120), no_nul])
    deadline = BoundedDateField("Deadline", validators=[Optional()],
                         render_kw={"type": "date"})
    ket_code = SelectField("Key Enabling Technology", default="")
    budget_min_eur = IntegerField("Budget from (EUR)", validators=[
        Optional(), NumberRange(0, 1_000_000_000, "Give an amount between 0 and 1,000,000,000.")])
    budget_max_eur = IntegerField("Budget up to (EUR)", validators=[
        Optional(), NumberRange(0, 1_000_000_000, "Give an amount between 0 and 1,000,000,000.")])
    duration_months = IntegerField("Duration (months)", validators=[
        Optional(), NumberRange(1, 120, "Give a duration between 1 and 120 months.")])
    funding_programme = SelectField("Funding programme", default="")
    trl_now = SelectField("TRL now", default="")
    trl_target = SelectField("TRL targeted", default="")

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
    body = TextAreaField("Message", validators=[
        InputRequired("Write a message."), _long("the message"), no_nul])
    lab = SelectField("Writing for", validate_choice=False, default="")


class AnswerForm(FlaskForm):
    lab = HiddenField()
    decision = SelectField("Your lab's answer", default="")
    answer_message = TextAreaField("Message to the company (required when declining)",
                                   validators=[_long("the message"), no_nul])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = choices([("", "—"), ("accept", "Accept"),
                                         ("decline", "Decline")])


class ActionForm(FlaskForm):
    """The CSRF token of the one-button actions (review, confirm, withdraw, complete)."""
