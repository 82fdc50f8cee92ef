"""Booking forms: shape only. Whether a time is open, free, aligned or in time is the
booking service's to say, so the CLI and the API get the same refusals."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, ValidationError

from labnet.blueprints.fields import BoundedDateTimeLocalField
from labnet.i18n import _l

# The browser's datetime-local value first; the spaced form for people typing by hand
# (browsers without the picker show a plain text box).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
FOLDS = ["", "0", "1"]
FOLD_MESSAGE = _l("Choose the first or the second occurrence of this time.")


def fold_of(value: str | None) -> int | None:
    """The form's fold choice as ``local_to_utc`` takes it (None: not chosen)."""
    return int(value) if value in ("0", "1") else None


def no_nul(form, field) -> None:
    if field.data and "\x00" in field.data:
        raise ValidationError(_l("Remove the control characters from this text."))


class BookingForm(FlaskForm):
    # Bounded to the years 2000..2100: far-off years would overflow the conversion to UTC.
    start_at = BoundedDateTimeLocalField(
        _l("Start (lab time)"), format=LOCAL_FORMATS,
        validators=[InputRequired(_l("Enter the start, like 2026-03-04 09:00."))])
    end_at = BoundedDateTimeLocalField(
        _l("End (lab time)"), format=LOCAL_FORMATS,
        validators=[InputRequired(_l("Enter the end, like 2026-03-04 11:00."))])
    # Which occurrence of an ambiguous autumn time was meant: "0" the first, "1" the second,
    # "" not chosen (then an ambiguous time is refused with both instants named).
    start_fold = HiddenField(validators=[AnyOf(FOLDS, message=FOLD_MESSAGE)],
                             filters=[lambda v: v or ""])
    end_fold = HiddenField(validators=[AnyOf(FOLDS, message=FOLD_MESSAGE)],
                           filters=[lambda v: v or ""])
    purpose = TextAreaField(_l("Purpose"), validators=[Length(max=2000), no_nul])
    # "1" once the user has seen the price: the second submit books.
    confirm = HiddenField()


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Length(max=2000), no_nul])
