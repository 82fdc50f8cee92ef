"""Meet page forms: shape only; the rules (registered, slots, one meeting per slot) live in
``services.meetings.rules``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length

from labnet.blueprints.manage.forms import no_nul, one_line, strip
from labnet.i18n import _l
from labnet.services.meetings.rules import MESSAGE_LIMIT, NOTE_LIMIT, TEXT_LIMIT

TOO_LONG = _l("This text is too long: at most %(max)d characters.")


class ProfileForm(FlaskForm):
    offer = TextAreaField(_l("What you offer (skills, equipment, services, results)"),
                          filters=[strip],
                          validators=[Length(max=TEXT_LIMIT, message=TOO_LONG), no_nul])
    looking_for = TextAreaField(_l("What you look for (partners, technologies, pilots)"),
                                filters=[strip],
                                validators=[Length(max=TEXT_LIMIT, message=TOO_LONG), no_nul])
    ket_codes = SelectMultipleField(_l("KET areas (up to five)"), validate_choice=False)
    project_id = SelectField(_l("The project you come for"), validate_choice=False)


class MeetingRequestForm(FlaskForm):
    invitee = HiddenField()
    slot = SelectField(_l("Slot"), validate_choice=False)
    message = TextAreaField(_l("Message (optional)"), filters=[strip],
                            validators=[Length(max=MESSAGE_LIMIT, message=TOO_LONG), no_nul])


class AnswerForm(FlaskForm):
    answer = HiddenField()
    answer_note = StringField(_l("Note (optional)"), filters=[strip],
                              validators=[Length(max=NOTE_LIMIT, message=TOO_LONG), one_line])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""
