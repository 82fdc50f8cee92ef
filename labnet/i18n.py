"""Languages: which one a page, an e-mail or a file is written in, and the formats of its
dates, numbers and money.

The language of a request is, in this order: the one saved on the signed-in account, the
one chosen with the header's switcher (a cookie, for people without an account), the best
match of the browser's ``Accept-Language``, English. URLs never carry it: a link sent to
somebody opens in *their* language. E-mail is written in the recipient's language
(:func:`language_of` and ``force_locale`` in the outbox), whoever caused it to be sent.

Every text a person reads is marked for translation where it is written: ``_()`` in
templates and code that runs while a request is answered, ``_l()`` (lazy) where a text is
defined once at import (form labels, constant tables) and read later in somebody's
language (``_ln()``: such a text with a plural). ``make messages`` extracts them into
``labnet/translations/messages.pot`` and updates each language's catalogue;
``make translations`` compiles them. The tests in
``tests/i18n`` fail on a template text or service message that is not marked and on a
catalogue that lacks a translation (docs/TRANSLATING.md says how to add a language).

Names that are shipped data (KET areas, equipment categories, accreditation schemes, lab
kinds, the excellence label's framework) are translated as data, beside the English name
in their YAML file (:func:`data_name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import copy
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal, parse_pattern
from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request
from flask.globals import _cv_app
from flask_babel import Babel, force_locale, get_translations
from flask_babel import get_locale as _babel_get_locale
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from labnet import clock

#: The languages LabNet is translated into: code → the language's own name.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "it": "Italiano",
    "sl": "Slovenščina",
    "cs": "Čeština",
    "pl": "Polski",
    "hu": "Magyar",
}
DEFAULT_LANGUAGE = "en"
#: The switcher's cookie for people without an account (a year).
COOKIE = "labnet_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()


# --- the request's language and catalogue, cheaply -------------------------------------
#
# Flask-Babel keeps the chosen locale in ``g._flask_babel.babel_locale`` (its "context",
# one per application context), but every ``gettext`` walks ``get_domain()`` →
# ``get_translations()`` → ``get_locale()``, each through the ``g`` proxy and ``str()`` of
# the locale: 7–14 µs a text, and a list page asks for hundreds. The functions below read
# the same state directly (one context-variable look-up) and give the same answers:
# ``_locale()`` is ``get_locale()`` once the locale is chosen, and ``translations()`` is
# ``get_translations()`` remembered beside the locale and domain objects it was found for,
# so ``force_locale`` (which puts another locale object there and restores the first),
# ``refresh()`` and ``Domain.as_default()`` are followed at once.

def _babel_state() -> Any:
    """Flask-Babel's namespace of the current application context (None when there is
    none, or before Flask-Babel first looked at it)."""
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return None
    return app_ctx.g.__dict__.get("_flask_babel")


def _locale() -> Locale | None:
    """``flask_babel.get_locale()``: the chosen locale, None outside an application context."""
    state = _babel_state()
    if state is not None:
        chosen = state.__dict__.get("babel_locale")
        if chosen is not None:
            return chosen
    return _babel_get_locale()


def translations() -> NullTranslations:
    """``flask_babel.get_translations()``: the catalogue of the language being written now
    (an empty one outside an application context)."""
    state = _babel_state()
    if state is not None:
        known = state.__dict__
        memo = known.get("labnet_translations")
        if (memo is not None and memo[0] is known.get("babel_locale")
                and memo[1] is known.get("babel_domain")):
            return memo[2]
    found = get_translations()
    state = _babel_state()
    if state is not None:
        chosen = state.__dict__.get("babel_locale")
        if chosen is not None:
            state.labnet_translations = (chosen, state.__dict__.get("babel_domain"), found)
    return found


def _gettext(string: str, **variables: Any) -> str:
    """``flask_babel.gettext``: ``string`` in the current language, ``%(name)s`` filled
    from ``variables`` (none: the text as it is)."""
    text = translations().ugettext(string)
    return text if not variables else text % variables


def _ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """``flask_babel.ngettext``: the plural form for ``num`` (``%(num)s`` is ``num``)."""
    variables.setdefault("num", num)
    text = translations().ungettext(singular, plural, num)
    return text if not variables else text % variables


# The names code and templates use: ``_`` translates now, ``_l`` when the text is read.
_ = _gettext


class LazyText(LazyString):
    """A text translated when it is read. Escaped in templates like any plain text
    (Flask-Babel's ``LazyString`` declares itself safe HTML, so a form's message or label
    with an apostrophe or "&" would reach the page unescaped)."""

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables: Any) -> LazyText:
    """``gettext`` of ``string`` when the text is read (see :class:`LazyText`)."""
    return LazyText(_gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables: Any) -> LazyText:
    """``ngettext`` when the text is read (see :class:`LazyText`): a plural defined now and
    read later in somebody's language (an e-mail subject)."""
    return LazyText(_ngettext, singular, plural, num, **variables)


_l = lazy_gettext
_ln = lazy_ngettext
ngettext = _ngettext

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LazyText",
    "_",
    "_l",
    "_ln",
    "current_language",
    "data_name",
    "force_locale",
    "init_i18n",
    "language_of",
    "lazy_ngettext",
    "lazy_number",
    "localtime",
    "ngettext",
    "number",
    "valid_language",
]


def valid_language(code: str | None) -> str | None:
    """``code`` if LabNet is translated into it, else None."""
    code = (code or "").strip().lower()
    return code if code in LANGUAGES else None


def _from_account() -> str | None:
    user = current_user if has_request_context() else None
    if user is not None and getattr(user, "is_authenticated", False):
        return valid_language(getattr(user, "locale", None))
    return None


def select_language() -> str:
    """The language of the current request (module docstring: account, cookie, browser)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = _from_account() or valid_language(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    g.labnet_language_negotiated = True
    return request.accept_languages.best_match(list(LANGUAGES), DEFAULT_LANGUAGE) \
        or DEFAULT_LANGUAGE


def current_language() -> str:
    """The code of the language being written now ("en" outside any request)."""
    # _locale() written out: a list page asks some 500 times (data names, countries).
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        state = app_ctx.g.__dict__.get("_flask_babel")
        if state is not None:
            chosen = state.__dict__.get("babel_locale")
            if chosen is not None:
                return chosen.language
    locale = _babel_get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def language_of(person: Any | None) -> str:
    """The language to write to ``person`` in (an account, or None for an address without
    one): their saved choice, else LabNet's default."""
    return valid_language(getattr(person, "locale", None)) or DEFAULT_LANGUAGE


DATA_DIR = Path(__file__).resolve().parent / "data" / "i18n"
#: The kinds of shipped data translated in ``labnet/data/i18n/<lang>.yaml``, each a
#: mapping code → {field: text} (fields as in the English YAML file; the excellence
#: framework's groups, criteria and levels by their codes, a criterion's scale as
#: ``scale_0``…``scale_4``: ``services.accreditation.label_framework.shown``).
DATA_KINDS = ("ket_areas", "equipment_categories", "equipment_groups",
              "accreditation_schemes", "lab_kinds", "excellence_framework")


@cache
def data_catalogue(lang: str) -> dict[str, dict[str, dict[str, str]]]:
    """The shipped data's translations into ``lang`` ({} for English or none)."""
    path = DATA_DIR / f"{lang}.yaml"
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle) or {}
    return {kind: dict(loaded.get(kind) or {}) for kind in DATA_KINDS}


def data_name(kind: str, code: str | None, english: str | None, field: str = "name") -> str:
    """A shipped data entry's ``field`` (a KET area's, a category's, a scheme's or a lab
    kind's name or description) in the current language; English where none is given."""
    english = english or ""
    entries = data_catalogue(current_language()).get(kind) or {}
    entry = entries.get(code or "")
    if isinstance(entry, str):
        return entry if field == "name" else english
    if isinstance(entry, Mapping):
        return str(entry.get(field) or english)
    return english


# The templates' ``_``, ``gettext``, ``ngettext``, ``pgettext`` and ``npgettext``: Jinja's
# "newstyle" callables (jinja2.ext ``_make_new_gettext`` …, as Flask-Babel installs them)
# with the same formatting and escaping (the translation is Markup when autoescaping, and
# always a ``%`` format string), calling the request's catalogue directly instead of going
# through ``Context.call`` twice and Flask-Babel's look-ups. ``_`` is ``gettext`` itself
# rather than Jinja's alias that looks ``gettext`` up in the context on every call.

def _formatted(context: Context, text: str, variables: dict[str, Any]) -> str:
    # Markup when autoescaping, so that ``%`` escapes the values into it; a translation is
    # trusted as the template's own text is (Jinja's newstyle callables do the same).
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704
    return text % variables


@pass_context
def _jinja_gettext(__context: Context, __string: str, **variables: Any) -> str:
    rv = translations().ugettext(__string)
    return _formatted(__context, rv, variables)


@pass_context
def _jinja_ngettext(__context: Context, __singular: str, __plural: str, __num: int,
                    **variables: Any) -> str:
    variables.setdefault("num", __num)
    rv = translations().ungettext(__singular, __plural, __num)
    return _formatted(__context, rv, variables)


@pass_context
def _jinja_pgettext(__context: Context, __string_ctx: str, __string: str,
                    **variables: Any) -> str:
    variables.setdefault("context", __string_ctx)
    rv = translations().upgettext(__string_ctx, __string)
    return _formatted(__context, rv, variables)


@pass_context
def _jinja_npgettext(__context: Context, __string_ctx: str, __singular: str, __plural: str,
                     __num: int, **variables: Any) -> str:
    variables.setdefault("context", __string_ctx)
    variables.setdefault("num", __num)
    rv = translations().unpgettext(__string_ctx, __singular, __plural, __num)
    return _formatted(__context, rv, variables)


#: The templates' translation callables, by their names (labnet.templating installs them
#: over the ones Flask-Babel installed, which must be Jinja's "newstyle" ones).
TEMPLATE_GETTEXT: dict[str, Any] = {
    "_": _jinja_gettext, "gettext": _jinja_gettext, "ngettext": _jinja_ngettext,
    "pgettext": _jinja_pgettext, "npgettext": _jinja_npgettext,
}


def init_i18n(app: Flask) -> None:
    """Flask-Babel with LabNet's selector (it installs the i18n extension and its
    "newstyle" ``_``, ``ngettext``… in the templates; labnet.templating puts
    :data:`TEMPLATE_GETTEXT` in their place and adds the switcher's globals); ``Vary`` for
    answers whose language came from the browser's header."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=select_language)
    app.jinja_env.policies["ext.i18n.trimmed"] = True

    @app.after_request
    def _vary_language(response):
        if g.get("labnet_language_negotiated"):
            response.vary.add("Accept-Language")
        response.headers.setdefault("Content-Language", current_language())
        return response


def locale_object() -> Locale:
    """The Babel ``Locale`` of the current request (formats)."""
    return _locale() or Locale.parse(DEFAULT_LANGUAGE)


# --- formats ---------------------------------------------------------------------------

def number(value: int | float | Decimal) -> str:
    """A number as a message writes it, in the current language: ``1,024`` and ``2.5`` in
    English (a float as ``:g`` writes it, ``1000`` and not ``1,000.0``), the language's own
    grouping and decimal sign in the others (``1.024`` and ``2,5`` in German)."""
    if current_language() == DEFAULT_LANGUAGE:
        return f"{value:g}" if isinstance(value, float) else f"{value:,}"
    return str(format_decimal(value, locale=locale_object()))


def lazy_number(value: int | float | Decimal) -> LazyString:
    """:func:`number` when the text is read (a placeholder of an ``_l()`` text)."""
    return LazyString(number, value)


def money(amount: Decimal | float | None, currency: str = "EUR") -> str:
    """An amount with its currency, whole amounts without decimals, in the current
    language's format ("€1,200" in English, "1.200 €" in German)."""
    if amount is None:
        return ""
    value = Decimal(amount)
    if current_language() == "en":
        symbol = {"EUR": "€", "GBP": "£", "CHF": "CHF ", "USD": "$"}.get(currency, currency + " ")
        return f"{symbol}{value:,.2f}".replace(".00", "")
    locale = locale_object()
    pattern = copy(parse_pattern(locale.currency_formats["standard"].pattern))
    if value == value.to_integral_value():
        pattern.frac_prec = (0, 0)
    return str(pattern.apply(value, locale, currency=currency, currency_digits=False))


# The strftime formats templates ask for, and the Babel width each stands for.
_BABEL_WIDTHS = {"%Y-%m-%d %H:%M": "datetime", "%Y-%m-%d": "date", "%H:%M": "time"}
# Formats with day or month names (event and project pages, e-mails): the Babel skeleton
# of the day, and whether the time follows it. English keeps strftime's output.
_SKELETONS = {"%a %d %b %Y %H:%M": ("yMMMEd", True), "%a %d %B %Y, %H:%M": ("yMMMMEd", True),
              "%d %B %Y": ("yMMMMd", False), "%d %b %Y": ("yMMMd", False)}


def localtime(at: date | datetime | None, zone: str | None = "UTC",
              fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``at`` as the clock in ``zone`` shows it (as it is when ``zone`` is None, and a day
    is a day): ISO order in English (unambiguous across Europe), the language's own medium
    date and short time in the others. The formats with day or month names
    (``"%a %d %B %Y, %H:%M"``, ``"%d %b %Y"``… see ``_SKELETONS``) give the language's own
    names and order; English keeps ``strftime``'s output for every format."""
    if at is None:
        return ""
    local = at.astimezone(clock.zone_info(zone)) if zone and isinstance(at, datetime) else at
    width = _BABEL_WIDTHS.get(fmt)
    skeleton = _SKELETONS.get(fmt)
    if (width is None and skeleton is None) or current_language() == DEFAULT_LANGUAGE:
        return local.strftime(fmt)
    locale = locale_object()
    day_of = local.date() if isinstance(local, datetime) else local
    clock_time = (str(format_time(local.replace(tzinfo=None).time(), "short", locale=locale))
                  if isinstance(local, datetime) else "")
    if skeleton is not None:
        day = str(format_skeleton(skeleton[0], day_of, locale=locale))
        if skeleton[1] and clock_time:
            return str(locale.datetime_formats["medium"]).format(clock_time, day)
        return day
    day = str(format_date(day_of, "medium", locale=locale))
    if width == "date" or not clock_time:
        return day
    if width == "time":
        return clock_time
    return str(locale.datetime_formats["medium"]).format(clock_time, day)
