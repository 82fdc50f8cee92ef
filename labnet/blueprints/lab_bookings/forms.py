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
from labnet.i18n import _l

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
WHEN = _l("Enter a date and time.")


class ActionForm(FlaskForm):
    """Only the CSRF token: the booking or blackout comes from the URL."""


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent to the requester)"),
                           validators=[Length(max=2000), no_nul], filters=[strip])


AMOUNT = _l("Give an amount like 1250.00.")


class ApproveForm(FlaskForm):
    """The price the booking is confirmed at: empty means the estimate."""

    final_price = DecimalField(_l("Final price (excl. VAT)"), places=2, validators=[Optional()],
                               render_kw={"inputmode": "decimal"})
    price_reason = StringField(_l("Why it differs from the estimate (the customer reads it)"),
                               validators=[Length(max=500), one_line], filters=[strip])


class UsageForm(FlaskForm):
    """What a completed booking used: empty hours mean the booked length, an empty amount
    the one computed from the rate applied."""

    actual_hours = DecimalField(_l("Hours actually used"), places=2, validators=[Optional()],
                                render_kw={"inputmode": "decimal"})
    charged = DecimalField(_l("Amount charged (excl. VAT)"), places=2, validators=[Optional()],
                           render_kw={"inputmode": "decimal"})
    charge_reason = StringField(_l("Why another amount than the computed one"),
                                validators=[Length(max=500), one_line], filters=[strip])


class UsageExportForm(FlaskForm):
    """The usage export's month and customer (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    month = StringField(_l("Month"), validators=[Length(max=7)])
    organisation = SelectField(_l("Customer organisation"), validate_choice=False)


class ShortenForm(FlaskForm):
    start_at = BoundedDateTimeLocalField(_l("New start (lab time)"), format=LOCAL_FORMAT,
                                         validators=[InputRequired(WHEN)])
    end_at = BoundedDateTimeLocalField(_l("New end (lab time)"), format=LOCAL_FORMAT,
                                       validators=[InputRequired(WHEN)])


class BlackoutForm(FlaskForm):
    equipment_id = SelectField(_l("What is unavailable"), validate_choice=False)
    start_at = BoundedDateTimeLocalField(_l("From (lab time)"), format=LOCAL_FORMAT,
                                         validators=[InputRequired(WHEN)])
    end_at = BoundedDateTimeLocalField(_l("Until (lab time)"), format=LOCAL_FORMAT,
                                       validators=[InputRequired(WHEN)])
    reason = StringField(_l("Reason (bookers see it)"), validators=[Length(max=300), one_line],
                         filters=[strip])
    affected_action = RadioField(
        _l("Bookings in this period"), validate_choice=False, validators=[Optional()],
        choices=choices([("keep", _l("Keep them (the requesters are told of the blackout)")),
                         ("cancel", _l("Cancel them (the requesters are told why)"))]))
    # The bookings the manager was shown: the choice applies to exactly these.
    seen_ids = HiddenField()


class MailModeForm(FlaskForm):
    mail_mode = RadioField(
        _l("How e-mail reaches you"), validate_choice=False,
        choices=choices([("immediate", _l("At once: each message when it happens")),
                         ("digest", _l("Daily digest: one message a day with everything"))]))
