"""Excellence-label forms: shape only, one field set per criterion of the shipped
framework. Rules (answers required on submit, PDFs, scores 0–4) live in
services.accreditation.label."""

from __future__ import annotations

from functools import cache

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from labnet.blueprints.auth.forms import strip
from labnet.i18n import _l
from labnet.services.accreditation.label import MAX_ANSWER, MAX_COMMENT, MAX_URL
from labnet.services.accreditation.label_framework import criterion_label, framework


@cache
def application_form() -> type[FlaskForm]:
    """The application form: per criterion an answer, an evidence address, a PDF and
    "remove the stored PDF" (``answer_S1``, ``url_S1``, ``file_S1``, ``remove_S1``)."""
    fields: dict[str, object] = {}
    for c in framework().criteria:
        fields[f"answer_{c.code}"] = TextAreaField(
            criterion_label(c), validators=[Optional(), Length(max=MAX_ANSWER)])
        fields[f"url_{c.code}"] = StringField(
            _l("Evidence address (optional)"), validators=[Optional(), Length(max=MAX_URL)],
            filters=[strip])
        fields[f"file_{c.code}"] = FileField(_l("Evidence PDF (optional, at most 10 MB)"))
        fields[f"remove_{c.code}"] = BooleanField(_l("Remove the stored PDF"))
    return type("ApplicationForm", (FlaskForm,), fields)


@cache
def score_form() -> type[FlaskForm]:
    """The scoring form: ``score_<code>`` per criterion (text, so what was typed is kept and
    the service names a bad score on its field) and a comment."""
    fields: dict[str, object] = {
        f"score_{c.code}": StringField(criterion_label(c), filters=[strip])
        for c in framework().criteria}
    fields["comment"] = TextAreaField(_l("Comment (optional, the other verifiers read it once "
                                         "both scores are in)"),
                                      validators=[Optional(), Length(max=MAX_COMMENT)])
    return type("ScoreForm", (FlaskForm,), fields)
