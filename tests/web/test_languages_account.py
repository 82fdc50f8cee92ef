"""The language setting on the account page (saved through ``rules.set_language`` by the
header switcher's route, ``main.language``) and the language in the personal data export."""

from __future__ import annotations

import json
import re

from labnet.extensions import db
from labnet.models import User
from tests.fixtures.auth import login_as, post_form


def _account_form(html: str) -> str:
    start = html.rindex("<form", 0, html.index('id="account-language-form"'))
    return html[start:html.index("</form>", start)]


def _selected(form: str) -> list[str]:
    return re.findall(r'<option value="(\w+)"[^>]*\sselected>', form)


def test_the_account_page_offers_every_language_with_the_current_one_chosen(
        client, make_user):
    user = make_user()
    login_as(client, user)
    html = client.get("/account").get_data(as_text=True)
    form = _account_form(html)
    assert 'action="/language"' in form and 'name="switch_language"' in form
    assert 'name="return_to" value="/account"' in form
    assert re.findall(r'<option value="(\w+)"', form) == ["en", "de", "fr", "it", "sl", "cs",
                                                          "pl", "hu"]
    assert _selected(form) == ["en"]
    assert "Save the language" in form


def test_choosing_a_language_on_the_account_page_saves_it_and_comes_back(
        app, client, make_user):
    user = make_user()
    login_as(client, user)
    response = post_form(client, "/language", {"switch_language": "sl",
                                               "return_to": "/account"}, page="/account")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    with app.app_context():
        assert db.session.get(User, user.id).locale == "sl"
    page = client.get("/account")
    html = page.get_data(as_text=True)
    assert '<html lang="sl">' in html
    assert page.headers["Content-Language"] == "sl"
    assert _selected(_account_form(html)) == ["sl"]


def test_a_language_not_offered_changes_nothing(app, client, make_user):
    user = make_user()
    login_as(client, user)
    post_form(client, "/language", {"switch_language": "xx", "return_to": "/account"},
              page="/account")
    with app.app_context():
        assert db.session.get(User, user.id).locale == ""
    assert _selected(_account_form(client.get("/account").get_data(as_text=True))) == ["en"]


def test_the_personal_data_export_names_the_chosen_language(client, make_user):
    user = make_user()
    login_as(client, user)
    data = json.loads(client.get("/account/data.json").get_data(as_text=True))
    assert data["account"]["language"] is None  # never chosen: the browser's decides
    post_form(client, "/language", {"switch_language": "hu", "return_to": "/account"},
              page="/account")
    data = json.loads(client.get("/account/data.json").get_data(as_text=True))
    assert data["account"]["language"] == "hu"


def test_mail_to_an_account_is_written_in_the_language_chosen_for_it(app, make_user):
    # The subject is read inside the recipient's language (services.notifications.outbox):
    # a lazy text that says which language it was read in shows it without any catalogue.
    from labnet import clock
    from labnet.i18n import LazyText, current_language
    from labnet.services.notifications.outbox import enqueue_email

    chosen, default = make_user(locale="sl"), make_user()
    with app.app_context():
        for person in (chosen, default):
            row = enqueue_email("register_attempt", person.email, LazyText(current_language),
                                {"user": person}, now=clock.utcnow())
            assert row is not None
            assert row.subject == (person.locale or "en")

