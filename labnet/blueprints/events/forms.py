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


class ProjectForm(FlaskForm):
    name = StringField("Name", filters=[strip],
                       validators=[DataRequired("Enter the project's name."), Length(max=200),
                                   one_line])
    acronym = StringField("Acronym", filters=[strip], validators=[Length(max=40), one_line])
    programme = StringField("Funding programme (e.g. Interreg Central Europe)",
                            filters=[strip], validators=[Length(max=200), one_line])
    starts_on = BoundedDateField("Starts on", validators=[Optional()])
    ends_on = BoundedDateField("Ends on", validators=[Optional()])
    website = StringField("Website", filters=[strip], validators=[Length(max=300), one_line])
    ket_codes = SelectMultipleField("KET areas", validate_choice=False)
    description = TextAreaField("Description", validators=[Length(max=10000), no_nul])
    slug = StringField("Address (leave empty to derive it from the acronym or name)",
                       filters=[strip], validators=[Length(max=120), one_line])


class PartnerForm(FlaskForm):
    organisation = StringField("Organisation on LabNet (its name)", filters=[strip],
                               validators=[Length(max=200), one_line])
    name = StringField("…or the name of a partner not on LabNet", filters=[strip],
                       validators=[Length(max=200), one_line])
    country = SelectField("Its country", validate_choice=False)


class ManagerForm(FlaskForm):
    email = StringField("E-mail address of a LabNet member", filters=[strip],
                        validators=[DataRequired("Enter an e-mail address."), Length(max=254),
                                    one_line])


class EventForm(FlaskForm):
    kind = SelectField("Kind", validate_choice=False)
    title = StringField("Title", filters=[strip],
                        validators=[DataRequired("Enter the event's title."), Length(max=200),
                                    one_line])
    description = TextAreaField("Description", validators=[Length(max=20000), no_nul])
    language = SelectField("Language", validate_choice=False)
    timezone = SelectField("Time zone (the times below are in it)", validate_choice=False)
    sessions = TextAreaField("Sessions", validators=[Length(max=10000), no_nul])
    address = StringField("Street address", filters=[strip],
                          validators=[Length(max=300), one_line])
    city = StringField("City", filters=[strip], validators=[Length(max=120), one_line])
    country = SelectField("Country", validate_choice=False)
    latitude = FloatField("Latitude (optional: found from the address)",
                          validators=[Optional()])
    longitude = FloatField("Longitude", validators=[Optional()])
    online_url = StringField("Online link (shown only to registered people)",
                             filters=[strip], validators=[Length(max=500), one_line])
    capacity = IntegerField("Seats (empty: no limit)", validators=[Optional()])
    registration_deadline = BoundedDateTimeLocalField("Registration deadline (optional)",
                                                      validators=[Optional()])
    price_sme = StringField("Fee for SMEs (empty: free)", filters=[strip],
                            validators=[Length(max=20), one_line])
    price_standard = StringField("Standard fee (empty: free)", filters=[strip],
                                 validators=[Length(max=20), one_line])
    currency = SelectField("Currency", validate_choice=False)
    prerequisites = TextAreaField("Prerequisites", validators=[Length(max=5000), no_nul])
    ket_codes = SelectMultipleField("KET areas", validate_choice=False)
    questions = TextAreaField("Questions to people who register",
                              validators=[Length(max=5000), no_nul])
    offer_hours = IntegerField("Hours to accept a seat offered from the waiting list",
                               validators=[Optional()])
    meeting_slot_minutes = IntegerField("Meeting slot length in minutes (empty: no meetings)",
                                        validators=[Optional()])
    meeting_day_start = TimeField("Meetings from", validators=[Optional()])
    meeting_day_end = TimeField("Meetings until", validators=[Optional()])
    slug = StringField("Address (leave empty to derive it from the title)", filters=[strip],
                       validators=[Length(max=140), one_line])


class CancelForm(FlaskForm):
    reason = TextAreaField("Why is the event cancelled? (the registered people are told)",
                           validators=[Length(max=2000), no_nul])


class OrganiserForm(FlaskForm):
    organiser = StringField("Co-organiser (lab:address, network:address or project:address)",
                            filters=[strip], validators=[Length(max=160), one_line])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""

    next = HiddenField()
