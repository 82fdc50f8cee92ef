"""Forms of the accreditation pages: the claim, a decision, a question, an answer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from labnet.blueprints.fields import BoundedDateField


class ClaimForm(FlaskForm):
    scheme_code = SelectField("Scheme", choices=[], validate_choice=False)
    certificate_no = StringField("Certificate number")
    issuer = StringField("Issuer")
    scope = TextAreaField("Scope", description="For ISO/IEC 17025: the accredited methods or "
                                               "standards, one per line.")
    valid_from = BoundedDateField("Issued on", validators=[Optional()])
    valid_until = BoundedDateField("Valid until", validators=[Optional()],
                                   description="Left empty: issued on plus the scheme's "
                                               "usual validity.")
    evidence = FileField("Certificate (PDF, at most 10 MB)")
    evidence_url = StringField("Address of the entry in the issuer's public register")
    renews_id = HiddenField()


class DecisionForm(FlaskForm):
    action = HiddenField()
    version = IntegerField(validators=[Optional()])
    reason = TextAreaField("Reason")


class QuestionForm(FlaskForm):
    question = TextAreaField("Question to the lab")


class AnswerForm(FlaskForm):
    answer = TextAreaField("Your answer")
