"""Forms of the accreditation pages: the claim, a decision, a question, an answer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from labnet.blueprints.fields import BoundedDateField
from labnet.i18n import _l


class ClaimForm(FlaskForm):
    scheme_code = SelectField(_l("Scheme"), choices=[], validate_choice=False)
    certificate_no = StringField(_l("Certificate number"))
    issuer = StringField(_l("Issuer"))
    scope = TextAreaField(_l("Scope"), description=_l("For ISO/IEC 17025: the accredited "
                                                      "methods or standards, one per line."))
    valid_from = BoundedDateField(_l("Issued on"), validators=[Optional()])
    valid_until = BoundedDateField(_l("Valid until"), validators=[Optional()],
                                   description=_l("Left empty: issued on plus the scheme's "
                                                  "usual validity."))
    evidence = FileField(_l("Certificate (PDF, at most 10 MB)"))
    evidence_url = StringField(_l("Address of the entry in the issuer's public register"))
    renews_id = HiddenField()


class DecisionForm(FlaskForm):
    action = HiddenField()
    version = IntegerField(validators=[Optional()])
    reason = TextAreaField(_l("Reason"))


class QuestionForm(FlaskForm):
    question = TextAreaField(_l("Question to the lab"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"))
