"""The main pages, opened in each language, show no English text that has a translation:
what the catalogue translates reaches the page (nothing is rendered before the language is
known, nothing cached in another language)."""

from __future__ import annotations

from functools import cache
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from labnet.i18n import DEFAULT_LANGUAGE, LANGUAGES
from tests.fixtures.auth import login_as
from tests.i18n.marking import LABNET, READABLE_ATTRS

OTHER_LANGUAGES = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
PUBLIC = ["/", "/labs", "/map", "LAB", "EQUIPMENT", "/events", "/networks",
          "/accreditations", "/login", "/register", "/accessibility", "/privacy",
          "/open-data"]
SIGNED_IN = ["/", "/bookings", "/requests", "/account", "/manage", "/manage/bookings",
             "LAB", "BOOK"]


@cache
def translations(code: str) -> dict[str, str]:
    """English msgid → its translation, where the two differ (names and "OK" do not)."""
    path = LABNET / "translations" / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=code)
    return {m.id: m.string for m in catalogue
            if isinstance(m.id, str) and m.id and isinstance(m.string, str)
            and m.string and m.string != m.id and "%" not in m.id and "<" not in m.id}


class _Texts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if value and name in READABLE_ATTRS:
                self.texts.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


@cache
def translated_words(code: str) -> set[str]:
    """Every translation of the language (German "Filter" is the English "Filters")."""
    return set(translations(code).values())


def untranslated(html: str, code: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    known = translations(code)
    return sorted({text for text in parser.texts
                   if text in known and text not in translated_words(code)})


@pytest.fixture
def world(make_lab, make_equipment, make_user):
    lab = make_lab(name="Precision Optics Lab", country="DE", hours=((8, 17),))
    item = make_equipment(lab)
    return {"lab": lab, "equipment": item, "manager": make_user(manages=(lab,)),
            "member": make_user()}


def _paths(paths, world):
    lab, item = world["lab"], world["equipment"]
    swap = {"LAB": f"/labs/{lab.slug}", "EQUIPMENT": f"/equipment/{item.id}",
            "BOOK": f"/equipment/{item.id}/book"}
    return [swap.get(p, p) for p in paths]


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_public_pages_are_written_in_the_language(client, world, code):
    assert translations(code), f"no {code} translations"
    left = {}
    for path in _paths(PUBLIC, world):
        response = client.get(path, headers={"Accept-Language": code})
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert f'<html lang="{code}">' in html
        if found := untranslated(html, code):
            left[path] = found
    assert not left, f"English left in {code}: {left}"


@pytest.mark.parametrize("who", ["member", "manager"])
@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_signed_in_pages_are_written_in_their_language(app, client, world, code, who):
    from labnet.extensions import db
    from labnet.models import User

    member = world[who]
    with app.app_context():
        db.session.get(User, member.id).locale = code
        db.session.commit()
    login_as(client, member)
    left = {}
    for path in _paths(SIGNED_IN, world):
        response = client.get(path)
        if response.status_code != 200:  # a page this member may not open
            continue
        if found := untranslated(response.get_data(as_text=True), code):
            left[path] = found
    assert not left, f"English left in {code}: {left}"
