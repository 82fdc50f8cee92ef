"""Catalogue forms: shape only; the rules live in services.catalogue.labs.contact."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from labnet.blueprints.auth.forms import printable
from labnet.i18n import _l, lazy_number
from labnet.services.catalogue.labs.contact import MESSAGE_MAX, SUBJECT_MAX


class ContactForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")),
                                                 Length(max=SUBJECT_MAX), printable])
    message = TextAreaField(_l("Message (plain text)"), validators=[
        DataRequired(_l("Write your message.")),
        Length(max=MESSAGE_MAX, message=_l("The message is too long: at most %(num)s characters.",
                                           num=lazy_number(MESSAGE_MAX)))])
