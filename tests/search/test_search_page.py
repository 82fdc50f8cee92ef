"""What ``/labs`` shows of the word search (issue 13): the equipment and capability lines
that matched, their words in ``<mark>`` and escaped; typo corrections named; labs matching
only some words said so; "did you mean" filters when nothing matched."""

from __future__ import annotations

import re

import pytest


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.fixture
def catalogue(make_lab, make_equipment):
    zeiss = make_lab(name="Nord Materials Lab", capabilities="Failure analysis\nPowder XRD")
    make_equipment(zeiss, name="Scanning electron microscope", maker="ZEISS", model="Sigma 300")
    make_equipment(zeiss, name="Light microscope", maker="ZEISS", model="Axio Imager")
    make_equipment(zeiss, name="Tensile tester", maker="ZwickRoell", model="Z100",
                   category_code="universal-testing")
    other = make_lab(name="Sued Analytics", capabilities="Electron microscopy services")
    make_equipment(other, name="<b>Bench</b> SEM", maker="Hitachi", model="TM4000")
    return {"zeiss": zeiss, "other": other}


def test_cards_show_the_matching_equipment_with_the_words_marked(client, catalogue):
    html = page(client, "/labs?q=zeiss")
    assert "Nord Materials Lab" in html and "Sued Analytics" not in html
    matched = re.findall(r'<li class="matched-equipment"[^>]*>(.*?)</li>', html, re.S)
    assert len(matched) == 2  # the two Zeiss instruments, not the tensile tester
    assert all("<mark>ZEISS</mark>" in m for m in matched)
    html = page(client, "/labs?q=SEM")
    assert "<mark>Scanning</mark> <mark>electron</mark> <mark>microscope</mark>" in html
    # Equipment names are text, never markup.
    assert "&lt;b&gt;Bench&lt;/b&gt; <mark>SEM</mark>" in html and "<b>Bench</b>" not in html
    assert 'class="matched-capability' in page(client, "/labs?q=electron+microscopy")


def test_a_misspelt_word_is_corrected_and_said(client, catalogue):
    html = page(client, "/labs?q=microscpe")
    assert "Nord Materials Lab" in html and "Sued Analytics" in html
    assert 'id="corrected"' in html and "“microscope” instead of “microscpe”" in html


def test_labs_matching_some_words_come_when_none_matches_all(client, catalogue):
    html = page(client, "/labs?q=zeiss+hitachi")
    assert 'id="some-words"' in html
    assert "Nord Materials Lab" in html and "Sued Analytics" in html


def test_nothing_found_offers_the_nearest_category_as_a_filter(client, catalogue):
    html = page(client, "/labs?q=rheometer+qwertyuiop")
    assert "0 labs" in html
    assert 'href="/labs?category=rheometry"' in html
    html = page(client, "/labs?q=zzzqqq")
    assert "No lab matches" in html
