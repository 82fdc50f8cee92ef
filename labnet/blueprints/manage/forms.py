"""Lab-manager forms: shape only (types, lengths, formats). The rules (known codes, rate
and length bounds, time zones, opening hours) live in ``services.catalogue.labs``, so the form
leaves choice checking to the service (``validate_choice=False``) and the refusals read
the same from the web, the CLI and the API."""

from __future__ import annotations

import re
from functools import cache

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from labnet.blueprints.helpers import choices
from labnet.models.equipment import MODE_LABELS
from labnet.services.catalogue.labs import DAY_KEYS
from labnet.services.common.text import control_problem

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def strip(value):
    return value.strip() if isinstance(value, str) else value


def one_line(form, field) -> None:
    """No control characters in a one-line text: the services' rule (services.common.text), shown
    before the service is called."""
    problem = control_problem(field.data, one_line=True) if isinstance(field.data, str) else None
    if problem:
        raise ValidationError(problem)


def no_nul(form, field) -> None:
    if field.data and "\x00" in field.data:
        raise ValidationError("Remove the control characters from this text.")


NUMBER = "Enter a whole number."
UNIT_CHOICES = [("hour", "Hour"), ("half_day", "Half day"), ("day", "Day")]
STATUS_CHOICES = [("active", "Active"), ("maintenance", "In maintenance (not bookable)"),
                  ("retired", "Retired (hidden, kept for past bookings)")]


class LabProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the lab's name."),
                                           Length(max=200), one_line], filters=[strip])
    kind_code = SelectField("Kind of lab", validate_choice=False)
    description = TextAreaField("Description", validators=[Length(max=10000), no_nul])
    capabilities = TextAreaField("Capabilities and services (one per line)",
                                 validators=[Length(max=10000), no_nul])
    contact_name = StringField("Contact person", validators=[Length(max=120), one_line],
                               filters=[strip])
    contact_email = StringField(
        "Contact e-mail", filters=[strip],
        validators=[Optional(), Length(max=254),
                    Email("Enter a valid e-mail address, like name@example.org.",
                          check_deliverability=False)])
    contact_phone = StringField("Contact phone", validators=[Length(max=40), one_line],
                                filters=[strip])
    website = StringField("Website", filters=[strip],
                          validators=[Optional(), Length(max=300),
                                      URL(message="Enter a full address, like "
                                                  "https://lab.example.org.")])
    address = StringField("Street and number", validators=[Length(max=300), one_line],
                          filters=[strip])
    postal_code = StringField("Postal code", validators=[Length(max=20), one_line],
                              filters=[strip])
    city = StringField("City", validators=[Length(max=120), one_line], filters=[strip])
    country = SelectField("Country", validators=[DataRequired("Choose the country.")])
    timezone = StringField("Time zone", filters=[strip],
                           validators=[DataRequired("Enter the time zone, e.g. Europe/Berlin."),
                                       Length(max=64), one_line])
    lat = FloatField("Latitude", validators=[Optional()])
    lon = FloatField("Longitude", validators=[Optional()])
    relocate = BooleanField("Place the lab from its address again (forget the coordinates "
                            "entered by hand)")
    ket_codes = SelectMultipleField("KET areas", validate_choice=False)
    requires_approval = BooleanField("Booking requests need our approval")
    min_lead_hours = IntegerField("Minimum lead time (hours)",
                                  validators=[InputRequired(NUMBER)])
    max_advance_days = IntegerField("Bookable at most this many days ahead",
                                    validators=[InputRequired(NUMBER)])
    cancel_deadline_hours = IntegerField("Free cancellation until (hours before the start)",
                                         validators=[InputRequired(NUMBER)])
    hold_hours = IntegerField("A pending request holds its slot for (hours)",
                              validators=[InputRequired(NUMBER)])
    is_published = BooleanField("Published (shown in the catalogue and on the map)")


SPEC_ROWS_BLANK = 3


class EquipmentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the equipment's name."),
                                           Length(max=200), one_line], filters=[strip])
    category_code = SelectField("Category", validate_choice=False)
    maker = StringField("Maker", validators=[Length(max=120), one_line], filters=[strip])
    model = StringField("Model", validators=[Length(max=120), one_line], filters=[strip])
    description = TextAreaField("Description", validators=[Length(max=10000), no_nul])
    booking_unit = SelectField("Booked by the", choices=choices(UNIT_CHOICES),
                               validate_choice=False)
    min_units = IntegerField("Minimum booking length (units)",
                             validators=[InputRequired(NUMBER)])
    max_units = IntegerField("Maximum booking length (units)",
                             validators=[InputRequired(NUMBER)])
    buffer_minutes = IntegerField("Set-up buffer between bookings (minutes)", default=0,
                                  validators=[InputRequired(NUMBER)])
    rate_industry = DecimalField("Industry rate per unit", places=2,
                                 validators=[InputRequired("Enter the rate (0 if free).")])
    rate_sme = DecimalField("SME rate per unit", places=2,
                            validators=[InputRequired("Enter the rate (0 if free).")])
    rate_academic = DecimalField("Academic rate per unit (optional)", places=2,
                                 validators=[Optional()])
    currency = StringField("Currency", default="EUR", filters=[strip],
                           validators=[DataRequired("Enter the currency, e.g. EUR."),
                                       Length(max=10), one_line])
    mode = SelectField("Mode", choices=choices(MODE_LABELS.items()), validate_choice=False)
    training_required = BooleanField("Training is required before the first booking")
    status = SelectField("Status", choices=choices(STATUS_CHOICES), validate_choice=False)
    ket_codes = SelectMultipleField("KET areas", validate_choice=False)
    spec_keys = FieldList(StringField("Specification", filters=[strip],
                                      validators=[Length(max=120), one_line]),
                          min_entries=SPEC_ROWS_BLANK)
    spec_values = FieldList(StringField("Value", filters=[strip],
                                        validators=[Length(max=500), one_line]),
                            min_entries=SPEC_ROWS_BLANK)


class RetireForm(FlaskForm):
    """Only the CSRF token: the equipment comes from the URL."""


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[
        FileRequired("Choose a CSV file."),
        FileAllowed(["csv"], "Choose a .csv file (save the spreadsheet as CSV)."),
    ])


HOURS_SLOTS = 3


@cache
def hours_form_class(slots: int = HOURS_SLOTS) -> type[FlaskForm]:
    """The weekly grid: ``mon_1_opens``, ``mon_1_closes`` … ``sun_<slots>_closes``.
    A day left empty is closed."""

    class HoursForm(FlaskForm):
        pass

    for day in DAY_KEYS:
        for n in range(1, slots + 1):
            for end, label in (("opens", "Opens"), ("closes", "Closes")):
                setattr(HoursForm, f"{day}_{n}_{end}",
                        TimeField(label, validators=[Optional()]))
    HoursForm.slots = slots  # type: ignore[attr-defined]
    return HoursForm
