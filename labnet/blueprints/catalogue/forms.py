"""Catalogue forms: shape only; the rules live in services.catalogue.labs.contact."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from labnet.blueprints.auth.forms import printable
from labnet.services.catalogue.labs.contact import MESSAGE_MAX, SUBJECT_MAX


class ContactForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired("Enter a subject."),
                                                 Length(max=SUBJECT_MAX), printable])
    message = TextAreaField("Message (plain text)", validators=[
        DataRequired("Write your message."),
        Length(max=MESSAGE_MAX, message=f"The message is too long: at most {MESSAGE_MAX:,} "
               "characters.")])
