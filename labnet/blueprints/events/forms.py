"""Project and event forms: shape only (types, lengths); the rules (known codes, zones,
sessions, places, prices) live in ``services.events`` so every entry point refuses alike."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, Optional

from labnet.blueprints.fields import BoundedDateField, BoundedDateTimeLocalField
from labnet.blueprints.manage.forms import no_nul, one_line, strip
from labnet.i18n import _l


class ProjectForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip],
                       validators=[DataRequired(_l("Enter the project's name.")), Length(max=200),
                                   one_line])
    acronym = StringField(_l("Acronym"), filters=[strip], validators=[Length(max=40), one_line])
    programme = StringField(_l("Funding programme (e.g. Interreg Central Europe)"),
                            filters=[strip], validators=[Length(max=200), one_line])
    starts_on = BoundedDateField(_l("Starts on"), validators=[Optional()])
    ends_on = BoundedDateField(_l("Ends on"), validators=[Optional()])
    website = StringField(_l("Website"), filters=[strip], validators=[Length(max=300), one_line])
    ket_codes = SelectMultipleField(_l("KET areas"), validate_choice=False)
    description = TextAreaField(_l("Description"), validators=[Length(max=10000), no_nul])
    slug = StringField(_l("Address (leave empty to derive it from the acronym or name)"),
                       filters=[strip], validators=[Length(max=120), one_line])


class PartnerForm(FlaskForm):
    organisation = StringField(_l("Organisation on LabNet (its name)"), filters=[strip],
                               validators=[Length(max=200), one_line])
    name = StringField(_l("…or the name of a partner not on LabNet"), filters=[strip],
                       validators=[Length(max=200), one_line])
    country = SelectField(_l("Its country"), validate_choice=False)


class ManagerForm(FlaskForm):
    email = StringField(_l("E-mail address of a LabNet member"), filters=[strip],
                        validators=[DataRequired(_l("Enter an e-mail address.")), Length(max=254),
                                    one_line])


class EventForm(FlaskForm):
    kind = SelectField(_l("Kind"), validate_choice=False)
    title = StringField(_l("Title"), filters=[strip],
                        validators=[DataRequired(_l("Enter the event's title.")), Length(max=200),
                                    one_line])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000), no_nul])
    language = SelectField(_l("Language"), validate_choice=False)
    timezone = SelectField(_l("Time zone (the times below are in it)"), validate_choice=False)
    sessions = TextAreaField(_l("Sessions"), validators=[Length(max=10000), no_nul])
    address = StringField(_l("Street address"), filters=[strip],
                          validators=[Length(max=300), one_line])
    city = StringField(_l("City"), filters=[strip], validators=[Length(max=120), one_line])
    country = SelectField(_l("Country"), validate_choice=False)
    latitude = FloatField(_l("Latitude (optional: found from the address)"),
                          validators=[Optional()])
    longitude = FloatField(_l("Longitude"), validators=[Optional()])
    online_url = StringField(_l("Online link (shown only to registered people)"),
                             filters=[strip], validators=[Length(max=500), one_line])
    capacity = IntegerField(_l("Seats (empty: no limit)"), validators=[Optional()])
    registration_deadline = BoundedDateTimeLocalField(_l("Registration deadline (optional)"),
                                                      validators=[Optional()])
    price_sme = StringField(_l("Fee for SMEs (empty: free)"), filters=[strip],
                            validators=[Length(max=20), one_line])
    price_standard = StringField(_l("Standard fee (empty: free)"), filters=[strip],
                                 validators=[Length(max=20), one_line])
    currency = SelectField(_l("Currency"), validate_choice=False)
    prerequisites = TextAreaField(_l("Prerequisites"), validators=[Length(max=5000), no_nul])
    ket_codes = SelectMultipleField(_l("KET areas"), validate_choice=False)
    questions = TextAreaField(_l("Questions to people who register"),
                              validators=[Length(max=5000), no_nul])
    offer_hours = IntegerField(_l("Hours to accept a seat offered from the waiting list"),
                               validators=[Optional()])
    meeting_slot_minutes = IntegerField(_l("Meeting slot length in minutes (empty: no meetings)"),
                                        validators=[Optional()])
    meeting_day_start = TimeField(_l("Meetings from"), validators=[Optional()])
    meeting_day_end = TimeField(_l("Meetings until"), validators=[Optional()])
    slug = StringField(_l("Address (leave empty to derive it from the title)"), filters=[strip],
                       validators=[Length(max=140), one_line])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why is the event cancelled? (the registered people are told)"),
                           validators=[Length(max=2000), no_nul])


class OrganiserForm(FlaskForm):
    organiser = StringField(_l("Co-organiser (lab:address, network:address or project:address)"),
                            filters=[strip], validators=[Length(max=160), one_line])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""

    next = HiddenField()
