"""The kept pieces of /labs (labnet.fragments): the filter lists and the heads of the lab
cards are kept rendered, keyed by what they show, so an edit, a new manager, a count that
changes or another language shows at once — with the caches on."""

from __future__ import annotations

import re

import pytest

from labnet.extensions import db
from labnet.models import Lab

CACHES_ON = {"FACET_CACHE_SECONDS": 60}


def page(client, path, **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def card_of(html: str, name: str) -> str:
    """The card (list item) of the lab called ``name``."""
    card = r'<li class="list-group-item">(.*?)</li>\s*(?=<li class="list-group-item">|</ul>)'
    for item in re.findall(card, html, re.S):
        if f">{name}</a>" in item:
            return item
    raise AssertionError(f"no card for {name}")


def facet_count(html: str, param: str, code: str) -> str | None:
    found = re.search(rf'data-param="{param}" data-code="{code}".*?rounded-pill[^>]*>(\d+)<',
                      html, re.S)
    return found.group(1) if found else None


@pytest.mark.parametrize("app_config", [CACHES_ON], ids=["caches-on"])
@pytest.mark.parametrize("path", ["/labs", "/labs?q=alpha"])
def test_a_card_follows_an_edit_at_once(client, app, make_lab, app_config, path):
    lab = make_lab(name="Alpha Lab", city="Aachen", country="DE", kets=("AMT",))
    assert "Aachen, Germany" in card_of(page(client, path), "Alpha Lab")
    with app.app_context():
        stored = db.session.get(Lab, lab.id)
        stored.city, stored.country = "Lyon", "FR"
        db.session.commit()
    card = card_of(page(client, path), "Alpha Lab")
    assert "Lyon, France" in card and "Aachen" not in card


@pytest.mark.parametrize("app_config", [CACHES_ON], ids=["caches-on"])
def test_a_card_follows_a_new_manager(client, make_lab, make_user, app_config):
    lab = make_lab(name="Alpha Lab")
    assert "not yet managed on LabNet" in card_of(page(client, "/labs"), "Alpha Lab")
    make_user(manages=(lab,))
    assert "not yet managed" not in card_of(page(client, "/labs"), "Alpha Lab")


@pytest.mark.parametrize("app_config", [CACHES_ON], ids=["caches-on"])
def test_cards_and_filters_are_kept_per_language(client, make_lab, app_config):
    # No KET area: nothing on the card but the country's name differs between languages.
    make_lab(name="Alpha Lab", country="DE", kets=())
    english = page(client, "/labs?q=alpha")
    german = page(client, "/labs?q=alpha", **{"Accept-Language": "de"})
    assert "Aachen, Germany" in card_of(english, "Alpha Lab")
    assert "Aachen, Deutschland" in card_of(german, "Alpha Lab")
    assert 'id="facet-country"' in german and ">Land<" in german
    assert ">Country<" in english and ">Land<" not in english
    # And back: the English page is not the German one kept.
    assert "Aachen, Germany" in card_of(page(client, "/labs?q=alpha"), "Alpha Lab")


@pytest.mark.parametrize("app_config", [CACHES_ON], ids=["caches-on"])
@pytest.mark.parametrize("path", ["/labs", "/labs?q=lab", "/labs?country=FR"])
def test_filter_counts_follow_a_published_lab_at_once(client, make_lab, app_config, path):
    make_lab(name="Alpha Lab", country="FR")
    make_lab(name="Beta Lab", country="FR")
    assert facet_count(page(client, path), "country", "FR") == "2"
    make_lab(name="Gamma Lab", country="FR")
    assert facet_count(page(client, path), "country", "FR") == "3"


@pytest.mark.parametrize("app_config", [CACHES_ON], ids=["caches-on"])
def test_the_filter_links_keep_each_query(client, make_lab, app_config):
    # Two searches with the same counts share nothing but the counts: each page's links
    # carry its own words.
    make_lab(name="Alpha Lab", country="FR", description="laser optics")
    first = page(client, "/labs?q=laser")
    second = page(client, "/labs?q=optics")
    assert facet_count(first, "country", "FR") == facet_count(second, "country", "FR") == "1"
    assert 'href="/labs?q=laser&amp;country=FR"' in first
    assert 'href="/labs?q=optics&amp;country=FR"' in second
    assert "q=laser" not in second.split('id="facets"')[1].split("</aside>")[0]
