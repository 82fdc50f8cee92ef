"""Claim and team forms: shape only. Rules live in services.catalogue.labs (claims, team,
invitations)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from labnet.blueprints.auth.forms import EMAIL, printable, strip
from labnet.i18n import _l


class ClaimDomainForm(FlaskForm):
    email = StringField(_l("Your address at the lab's domain"), validators=EMAIL, filters=[strip])


class PasswordPair(FlaskForm):
    full_name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")),
                                                     Length(max=120), printable])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Choose a password.")),
                                                     Length(max=128)])
    password_confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")),
                    EqualTo("password", _l("The two passwords do not match."))])
    accept_terms = BooleanField(
        _l("I accept the terms of use and have read the privacy notice"),
        validators=[DataRequired(_l("Accept the terms of use and the privacy notice to "
                                    "register."))],
    )


class ClaimRegisterForm(PasswordPair):
    email = StringField(_l("Your work address at the lab's domain"), validators=EMAIL,
                        filters=[strip])


class ClaimApprovalForm(FlaskForm):
    reason = TextAreaField(_l("Who you are and why you manage this lab"),
                           validators=[DataRequired(_l("Say who you are and why you "
                                                       "manage this lab.")), Length(max=2000)])


class DecideClaimForm(FlaskForm):
    decision = HiddenField()
    reason = TextAreaField(_l("Reason (sent to the claimant)"),
                           validators=[Optional(), Length(max=2000)])


class InviteForm(FlaskForm):
    email = StringField(_l("E-mail address"), validators=EMAIL, filters=[strip])
    message = TextAreaField(_l("Message (optional)"), validators=[Optional(), Length(max=2000)])
    handover = BooleanField(_l("Hand the lab over: I leave once they accept"))


class InvitationRegisterForm(PasswordPair):
    pass
