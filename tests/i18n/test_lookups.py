"""The request's language and catalogue are looked up cheaply (labnet.i18n ``translations``,
``_locale``, the templates' own ``_``/``ngettext``…) and give exactly what Flask-Babel's
own look-ups and Jinja's "newstyle" callables give: the same text, formatting and
escaping in every language, ``force_locale`` followed inside a request and undone after it,
and the countries' names as CLDR writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel import Locale
from flask import render_template_string
from flask_babel import get_locale, get_translations, refresh
from jinja2 import Environment

from labnet.extensions import db
from labnet.i18n import (
    LANGUAGES,
    _,
    _l,
    current_language,
    data_name,
    force_locale,
    locale_object,
    ngettext,
    translations,
)
from labnet.models import OutboxEmail
from labnet.services.geo.geocoding import country_names, local_country_name
from labnet.services.notifications.outbox import enqueue_email

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Texts the catalogues translate (and one they do not), with values to escape.
SOURCES = [
    "{{ _('Labs') }}|{{ _('No such text in any catalogue') }}",
    "{{ _('Hello %(name)s,', name='<b>Ann & Bob</b>') }}",
    "{{ _('Hello %(name)s,', name=safe_name) }}",
    "{{ gettext('Hello,') }}{{ _('100%% sure') }}",
    "{% for n in (0, 1, 2, 5, 21) %}{{ ngettext('%(num)d member lab', "
    "'%(num)d member labs', n) }};{% endfor %}",
    "{{ ngettext('%(num)d member lab in %(countries)s', '%(num)d member labs in "
    "%(countries)s', 3, countries='A & B') }}",
    "{{ pgettext('event', 'Cancelled') }}|{{ npgettext('x', '%(num)d a', '%(num)d b', 2) }}",
    "{% trans who='<i>x</i>' %}Hello {{ who }}{% endtrans %}|"
    "{% trans count=4 %}{{ count }} lab{% pluralize %}{{ count }} labs{% endtrans %}",
    "{% autoescape false %}{{ _('Hello %(name)s,', name='<b>') }}"
    "{{ ngettext('%(num)d member lab', '%(num)d member labs', 2) }}{% endautoescape %}",
]


def _reference() -> Environment:
    """A Jinja environment with the callables exactly as Flask-Babel installs them."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: get_translations().ugettext(s),
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n))
    return env


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_templates_callables_write_what_flask_babels_wrote(app, lang):
    from markupsafe import Markup

    reference = _reference()
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert current_language() == lang
        for source in SOURCES:
            values = {"safe_name": Markup("<em>Eve</em>")}
            ours = render_template_string(source, **values)
            assert ours == reference.from_string(source).render(**values), source
        with pytest.raises(KeyError):
            render_template_string("{{ _('Hello %(name)s,') }}")


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_code_translates_as_flask_babel_does(app, lang):
    import flask_babel

    with app.test_request_context(headers={"Accept-Language": lang}):
        assert translations() is get_translations()
        assert locale_object() is get_locale()
        assert _("Labs") == flask_babel.gettext("Labs")
        assert _("Hello %(name)s,", name="Ann") == flask_babel.gettext("Hello %(name)s,",
                                                                        name="Ann")
        assert _("100%% sure") == "100%% sure"  # no values: the text as it is
        for n in (0, 1, 2, 5, 21):
            assert ngettext("%(num)d member lab", "%(num)d member labs", n) \
                == flask_babel.ngettext("%(num)d member lab", "%(num)d member labs", n)
        assert str(_l("Labs")) == flask_babel.gettext("Labs")


def test_outside_a_request_english_and_the_empty_catalogue(app):
    assert current_language() == "en"
    assert _("Labs") == "Labs"
    with app.app_context():
        assert current_language() == "en"
        assert _("Labs") == "Labs"
        assert local_country_name("de") == "Germany"


def test_an_email_in_german_inside_an_english_request_then_the_page_goes_on_in_english(
        app, make_user):
    reader = make_user(full_name="Dora Deutsch", locale="de")
    page = "{{ _('Labs') }}|{{ _('Hello,') }}|{{ 'DE' | country_name }}|{{ current_language() }}"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        before = render_template_string(page)
        assert before == "Labs|Hello,|Germany|en"
        assert _("Hello,") == "Hello,"
        row = enqueue_email("confirm_email", reader.email, _l("Hello,"), {"token": "t"},
                            now=NOW, action_required=True)
        db.session.commit()
        assert row is not None and row.body_text.startswith("Guten Tag Dora Deutsch,")
        assert row.subject == "Guten Tag,"
        # The page goes on in English: the forced locale and its catalogue are gone.
        assert render_template_string(page) == before
        assert _("Hello,") == "Hello," and current_language() == "en"
        assert local_country_name("DE") == "Germany"
        with force_locale("de"):
            assert render_template_string(page) == "Labore|Guten Tag,|Deutschland|de"
            with force_locale("fr"):
                assert current_language() == "fr" and local_country_name("DE") == "Allemagne"
            assert _("Hello,") == "Guten Tag," and local_country_name("DE") == "Deutschland"
        assert render_template_string(page) == before
        assert db.session.query(OutboxEmail).count() == 1


def test_refresh_follows_a_changed_choice(app):
    with app.test_request_context(headers={"Accept-Language": "en"}) as ctx:
        assert _("Hello,") == "Hello,"
        ctx.request.environ["HTTP_ACCEPT_LANGUAGE"] = "de"
        ctx.request.__dict__.pop("accept_languages", None)
        assert _("Hello,") == "Hello,"  # chosen once per request …
        refresh()
        assert _("Hello,") == "Guten Tag," and current_language() == "de"  # … until refresh


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_country_names_are_cldrs_with_english_for_the_rest(app, lang):
    codes = [*sorted(country_names()), "de", "Gb", "XX", "EU", "001", "zz"]
    with app.test_request_context(headers={"Accept-Language": lang}):
        territories = Locale.parse(lang).territories
        for code in codes:
            upper = code.upper()
            expected = country_names().get(upper, upper)
            if lang != "en" and territories.get(upper):
                expected = str(territories[upper])
            assert local_country_name(code) == expected, code
        assert local_country_name("") == "" and local_country_name(None) == ""
        assert data_name("ket_areas", "nope", "English") == "English"
