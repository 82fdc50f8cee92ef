"""What ``/labs`` says when words of the page's language were read as an English concept
(issues 13 and 18): "Searched for “zugversuch” as “universal testing machine”." on pages not
in English, nothing on English ones."""

from __future__ import annotations

import pytest

from tests.search.test_search_page import page


@pytest.fixture
def catalogue(make_lab, make_equipment):
    lab = make_lab(name="Nord Materials Lab")
    make_equipment(lab, name="Tensile tester", maker="ZwickRoell", model="Z100",
                   category_code="universal-testing")
    make_equipment(lab, name="Scanning electron microscope", maker="ZEISS", model="Sigma 300")
    return lab


def test_a_foreign_word_read_as_an_english_concept_is_said(client, catalogue):
    response = client.get("/labs?q=Zugversuch", headers={"Accept-Language": "de"})
    html = response.get_data(as_text=True)
    assert "Nord Materials Lab" in html
    assert 'id="translated"' in html and "universal testing machine" in html
    assert "zugversuch" in html
    # Marked on the card: the English words of the concept.
    assert "<mark>Tensile</mark>" in html


def test_english_pages_say_nothing(client, catalogue):
    html = page(client, "/labs?q=Zugversuch")
    assert "Nord Materials Lab" in html and 'id="translated"' not in html
    html = client.get("/labs?q=tensile", headers={"Accept-Language": "de"}).get_data(
        as_text=True)
    assert 'id="translated"' not in html  # an English word is not another language's
