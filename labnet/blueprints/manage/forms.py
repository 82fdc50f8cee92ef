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
from labnet.i18n import _, _l
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
        raise ValidationError(_("Remove the control characters from this text."))


NUMBER = _l("Enter a whole number.")
UNIT_CHOICES = [("hour", _l("Hour")), ("half_day", _l("Half day")), ("day", _l("Day"))]
STATUS_CHOICES = [("active", _l("Active")),
                  ("maintenance", _l("In maintenance (not bookable)")),
                  ("retired", _l("Retired (hidden, kept for past bookings)"))]


class LabProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the lab's name.")),
                                           Length(max=200), one_line], filters=[strip])
    kind_code = SelectField(_l("Kind of lab"), validate_choice=False)
    description = TextAreaField(_l("Description"), validators=[Length(max=10000), no_nul])
    capabilities = TextAreaField(_l("Capabilities and services (one per line)"),
                                 validators=[Length(max=10000), no_nul])
    contact_name = StringField(_l("Contact person"), validators=[Length(max=120), one_line],
                               filters=[strip])
    contact_email = StringField(
        _l("Contact e-mail"), filters=[strip],
        validators=[Optional(), Length(max=254),
                    Email(_l("Enter a valid e-mail address, like name@example.org."),
                          check_deliverability=False)])
    contact_phone = StringField(_l("Contact phone"), validators=[Length(max=40), one_line],
                                filters=[strip])
    website = StringField(_l("Website"), filters=[strip],
                          validators=[Optional(), Length(max=300),
                                      URL(message=_l("Enter a full address, like "
                                                     "https://lab.example.org."))])
    address = StringField(_l("Street and number"), validators=[Length(max=300), one_line],
                          filters=[strip])
    postal_code = StringField(_l("Postal code"), validators=[Length(max=20), one_line],
                              filters=[strip])
    city = StringField(_l("City"), validators=[Length(max=120), one_line], filters=[strip])
    country = SelectField(_l("Country"), validators=[DataRequired(_l("Choose the country."))])
    timezone = StringField(_l("Time zone"), filters=[strip],
                           validators=[DataRequired(_l("Enter the time zone, "
                                                       "e.g. Europe/Berlin.")),
                                       Length(max=64), one_line])
    lat = FloatField(_l("Latitude"), validators=[Optional()])
    lon = FloatField(_l("Longitude"), validators=[Optional()])
    relocate = BooleanField(_l("Place the lab from its address again (forget the "
                               "coordinates entered by hand)"))
    ket_codes = SelectMultipleField(_l("KET areas"), validate_choice=False)
    requires_approval = BooleanField(_l("Booking requests need our approval"))
    min_lead_hours = IntegerField(_l("Minimum lead time (hours)"),
                                  validators=[InputRequired(NUMBER)])
    max_advance_days = IntegerField(_l("Bookable at most this many days ahead"),
                                    validators=[InputRequired(NUMBER)])
    cancel_deadline_hours = IntegerField(_l("Free cancellation until (hours before the start)"),
                                         validators=[InputRequired(NUMBER)])
    hold_hours = IntegerField(_l("A pending request holds its slot for (hours)"),
                              validators=[InputRequired(NUMBER)])
    is_published = BooleanField(_l("Published (shown in the catalogue and on the map)"))


SPEC_ROWS_BLANK = 3


class EquipmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the equipment's "
                                                               "name.")),
                                           Length(max=200), one_line], filters=[strip])
    category_code = SelectField(_l("Category"), validate_choice=False)
    maker = StringField(_l("Maker"), validators=[Length(max=120), one_line], filters=[strip])
    model = StringField(_l("Model"), validators=[Length(max=120), one_line], filters=[strip])
    description = TextAreaField(_l("Description"), validators=[Length(max=10000), no_nul])
    booking_unit = SelectField(_l("Booked by the"), choices=choices(UNIT_CHOICES),
                               validate_choice=False)
    min_units = IntegerField(_l("Minimum booking length (units)"),
                             validators=[InputRequired(NUMBER)])
    max_units = IntegerField(_l("Maximum booking length (units)"),
                             validators=[InputRequired(NUMBER)])
    buffer_minutes = IntegerField(_l("Set-up buffer between bookings (minutes)"), default=0,
                                  validators=[InputRequired(NUMBER)])
    rate_industry = DecimalField(_l("Industry rate per unit"), places=2,
                                 validators=[InputRequired(_l("Enter the rate (0 if free)."))])
    rate_sme = DecimalField(_l("SME rate per unit"), places=2,
                            validators=[InputRequired(_l("Enter the rate (0 if free)."))])
    rate_academic = DecimalField(_l("Academic rate per unit (optional)"), places=2,
                                 validators=[Optional()])
    currency = StringField(_l("Currency"), default="EUR", filters=[strip],
                           validators=[DataRequired(_l("Enter the currency, e.g. EUR.")),
                                       Length(max=10), one_line])
    mode = SelectField(_l("Mode"), choices=choices(MODE_LABELS.items()), validate_choice=False)
    training_required = BooleanField(_l("Training is required before the first booking"))
    status = SelectField(_l("Status"), choices=choices(STATUS_CHOICES), validate_choice=False)
    ket_codes = SelectMultipleField(_l("KET areas"), validate_choice=False)
    spec_keys = FieldList(StringField(_l("Specification"), filters=[strip],
                                      validators=[Length(max=120), one_line]),
                          min_entries=SPEC_ROWS_BLANK)
    spec_values = FieldList(StringField(_l("Value"), filters=[strip],
                                        validators=[Length(max=500), one_line]),
                            min_entries=SPEC_ROWS_BLANK)


class RetireForm(FlaskForm):
    """Only the CSRF token: the equipment comes from the URL."""


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose a CSV file.")),
        FileAllowed(["csv"], _l("Choose a .csv file (save the spreadsheet as CSV).")),
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
            for end, label in (("opens", _l("Opens")), ("closes", _l("Closes"))):
                setattr(HoursForm, f"{day}_{n}_{end}",
                        TimeField(label, validators=[Optional()]))
    HoursForm.slots = slots  # type: ignore[attr-defined]
    return HoursForm
