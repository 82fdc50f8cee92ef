"""Small helpers shared by the views: putting a service's refusal on the right field,
the European country choices, and the one commit at the end of a request."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from labnet.errors import RuleViolation
from labnet.templating import country_name

# EU, EFTA, the UK and candidate countries: the platform's area (ISO 3166-1 alpha-2).
EUROPEAN_COUNTRIES = (
    "AL AT BA BE BG CH CY CZ DE DK EE ES FI FR GB GE GR HR HU IE IS IT LI LT LU LV MD ME MK "
    "MT NL NO PL PT RO RS SE SI SK TR UA XK"
).split()


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def country_choices() -> list[SelectChoice]:
    return choices(sorted(((c, country_name(c)) for c in EUROPEAN_COUNTRIES),
                          key=lambda x: x[1]))


def apply_violation(form: FlaskForm, exc: RuleViolation) -> None:
    """Show a service refusal on its field (flaskbb's ``populate_errors``), or on the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)
