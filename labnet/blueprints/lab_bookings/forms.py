"""Forms of the manager's booking pages: shape only. Whether a reason is given, a period is
valid or a booking may be shortened is decided by ``services.booking.engine``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from labnet.blueprints.fields import BoundedDateTimeLocalField
from labnet.blueprints.helpers import choices
from labnet.blueprints.manage.forms import no_nul, one_line, strip

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
WHEN = "Enter a date and time."


class ActionForm(FlaskForm):
    """Only the CSRF token: the booking or blackout comes from the URL."""


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason (sent to the requester)",
                           validators=[Length(max=2000), no_nul], filters=[strip])


AMOUNT = "Give an amount like 1250.00."


class ApproveForm(FlaskForm):
    """The price the booking is confirmed at: empty means the estimate."""

    final_price = DecimalField("Final price (excl. VAT)", places=2, validators=[Optional()],
                               render_kw={"inputmode": "decimal"})
    price_reason = StringField("Why it differs from the estimate (the customer reads it)",
                               validators=[Length(max=500), one_line], filters=[strip])


class UsageForm(FlaskForm):
    """What a completed booking used: empty hours mean the booked length, an empty amount
    the one computed from the rate applied."""

    actual_hours = DecimalField("Hours actually used", places=2, validators=[Optional()],
                                render_kw={"inputmode": "decimal"})
    charged = DecimalField("Amount charged (excl. VAT)", places=2, validators=[Optional()],
                           render_kw={"inputmode": "decimal"})
    charge_reason = StringField("Why another amount than the computed one",
                                validators=[Length(max=500), one_line], filters=[strip])


class UsageExportForm(FlaskForm):
    """The usage export's month and customer (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    month = StringField("Month", validators=[Length(max=7)])
    organisation = SelectField("Customer organisation", validate_choice=False)


class ShortenForm(FlaskForm):
    start_at = BoundedDateTimeLocalField("New start (lab time)", format=LOCAL_FORMAT,
                                         validators=[InputRequired(WHEN)])
    end_at = BoundedDateTimeLocalField("New end (lab time)", format=LOCAL_FORMAT,
                                       validators=[InputRequired(WHEN)])


class BlackoutForm(FlaskForm):
    equipment_id = SelectField("What is unavailable", validate_choice=False)
    start_at = BoundedDateTimeLocalField("From (lab time)", format=LOCAL_FORMAT,
                                         validators=[InputRequired(WHEN)])
    end_at = BoundedDateTimeLocalField("Until (lab time)", format=LOCAL_FORMAT,
                                       validators=[InputRequired(WHEN)])
    reason = StringField("Reason (bookers see it)", validators=[Length(max=300), one_line],
                         filters=[strip])
    affected_action = RadioField(
        "Bookings in this period", validate_choice=False, validators=[Optional()],
        choices=choices([("keep", "Keep them (the requesters are told of the blackout)"),
                         ("cancel", "Cancel them (the requesters are told why)")]))
    # The bookings the manager was shown: the choice applies to exactly these.
    seen_ids = HiddenField()


class MailModeForm(FlaskForm):
    mail_mode = RadioField(
        "How e-mail reaches you", validate_choice=False,
        choices=choices([("immediate", "At once: each message when it happens"),
                         ("digest", "Daily digest: one message a day with everything")]))
