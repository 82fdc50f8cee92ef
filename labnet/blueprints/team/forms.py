"""Claim and team forms: shape only. Rules live in services.catalogue.labs (claims, team,
invitations)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from labnet.blueprints.auth.forms import EMAIL, printable, strip


class ClaimDomainForm(FlaskForm):
    email = StringField("Your address at the lab's domain", validators=EMAIL, filters=[strip])


class PasswordPair(FlaskForm):
    full_name = StringField("Your name", validators=[DataRequired("Enter your name."),
                                                     Length(max=120), printable])
    password = PasswordField("Password", validators=[DataRequired("Choose a password."),
                                                     Length(max=128)])
    password_confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired("Repeat the password."),
                    EqualTo("password", "The two passwords do not match.")])
    accept_terms = BooleanField(
        "I accept the terms of use and have read the privacy notice",
        validators=[DataRequired("Accept the terms of use and the privacy notice to register.")],
    )


class ClaimRegisterForm(PasswordPair):
    email = StringField("Your work address at the lab's domain", validators=EMAIL,
                        filters=[strip])


class ClaimApprovalForm(FlaskForm):
    reason = TextAreaField("Who you are and why you manage this lab",
                           validators=[DataRequired("Say who you are and why you manage "
                                                    "this lab."), Length(max=2000)])


class DecideClaimForm(FlaskForm):
    decision = HiddenField()
    reason = TextAreaField("Reason (sent to the claimant)",
                           validators=[Optional(), Length(max=2000)])


class InviteForm(FlaskForm):
    email = StringField("E-mail address", validators=EMAIL, filters=[strip])
    message = TextAreaField("Message (optional)", validators=[Optional(), Length(max=2000)])
    handover = BooleanField("Hand the lab over: I leave once they accept")


class InvitationRegisterForm(PasswordPair):
    pass
