"""Which language a page is written in: the account's choice, the switcher's, the
browser's; the switcher itself; dates and money in the language's formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from flask_babel import force_locale

from labnet.extensions import db
from labnet.i18n import COOKIE, LANGUAGES
from labnet.models import User
from labnet.templating import localtime, money
from tests.fixtures.auth import csrf_token, login_as

LANG = re.compile(r'<html lang="([a-z]+)">')


def lang_of(response) -> str:
    match = LANG.search(response.get_data(as_text=True))
    assert match, "no <html lang>"
    return match.group(1)


def switch(client, code: str, return_to: str = "/labs", **kw):
    return client.post("/language", data={"csrf_token": csrf_token(client, "/"),
                                          "switch_language": code, "return_to": return_to},
                       **kw)


def test_the_browsers_language_is_followed_and_said(client):
    response = client.get("/", headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert lang_of(response) == "de"
    assert response.headers["Content-Language"] == "de"
    assert "Accept-Language" in response.headers["Vary"]
    assert lang_of(client.get("/", headers={"Accept-Language": "hu"})) == "hu"


def test_a_language_labnet_does_not_speak_falls_back_to_english(client):
    response = client.get("/", headers={"Accept-Language": "ja, zh;q=0.8"})
    assert lang_of(response) == "en"
    assert lang_of(client.get("/")) == "en"


def test_the_switcher_lists_every_language_in_its_own_name(client):
    html = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    for code, name in LANGUAGES.items():
        assert f'value="{code}" lang="{code}"' in html
        assert f">{name}</button>" in html
    assert 'value="fr" lang="fr" aria-current="true">Français' in html


def test_the_switcher_keeps_the_choice_in_a_cookie_over_the_browser(client):
    response = switch(client, "fr", "/labs?country=DE")
    assert response.status_code == 302
    assert response.headers["Location"] == "/labs?country=DE"
    assert f"{COOKIE}=fr" in response.headers["Set-Cookie"]
    again = client.get("/labs", headers={"Accept-Language": "de"})
    assert lang_of(again) == "fr"
    assert "Accept-Language" not in again.headers.get("Vary", "")


def test_a_wrong_choice_is_refused_by_name_and_changes_nothing(client):
    response = switch(client, "xx", follow_redirects=True)
    assert response.status_code == 200
    assert "Choose one of the languages in the list." in response.get_data(as_text=True)
    assert client.get_cookie(COOKIE) is None
    assert lang_of(client.get("/")) == "en"


def test_the_switcher_never_sends_anyone_off_the_site(client):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = switch(client, "de", target)
        assert response.status_code == 302
        assert response.headers["Location"] == "/"


def test_the_switcher_needs_the_form_token(client):
    response = client.post("/language", data={"switch_language": "de", "return_to": "/"})
    assert response.status_code == 400
    assert client.get_cookie(COOKIE) is None


def test_a_signed_in_persons_choice_is_saved_and_follows_them(app, client, make_user):
    user = make_user()
    login_as(client, user)
    assert switch(client, "cs").status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).locale == "cs"
    elsewhere = app.test_client()  # another browser: no cookie, a German browser
    login_as(elsewhere, user)
    assert lang_of(elsewhere.get("/", headers={"Accept-Language": "de"})) == "cs"


def test_the_accounts_choice_beats_an_old_cookie(app, client, make_user):
    user = make_user(locale="pl")
    switch(client, "it")
    login_as(client, user)
    assert lang_of(client.get("/")) == "pl"


def test_dates_and_money_follow_the_language(app):
    at = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    with app.test_request_context("/"):
        assert localtime(at, "Europe/Berlin") == "2026-03-04 09:00"
        assert money(Decimal("1200"), "EUR") == "€1,200"
        assert money(Decimal("1200.5"), "EUR") == "€1,200.50"
        with force_locale("de"):
            assert localtime(at, "Europe/Berlin") == "04.03.2026, 09:00"
            assert localtime(at, "Europe/Berlin", "%Y-%m-%d") == "04.03.2026"
            assert localtime(at, "Europe/Berlin", "%H:%M") == "09:00"
            assert money(Decimal("1200"), "EUR") == "1.200\xa0€"
            assert money(Decimal("1200.5"), "EUR") == "1.200,50\xa0€"
        with force_locale("fr"):
            assert money(Decimal("1200"), "EUR") == "1\u202f200\xa0€"
        with force_locale("hu"):
            assert localtime(at, "Europe/Budapest", "%Y-%m-%d") == "2026. márc. 4."
