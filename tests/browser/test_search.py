"""The catalogue search in Chromium: a filter narrows the list, the counts beside it were
right, and the URL holds the query."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_country_filter_narrows_the_lab_list_to_its_count(live_server, demo_data, page):
    page.goto("/labs")
    assert page.locator("#lab-list li").count() == 20  # first page of 58 demo centres
    french = page.locator("#facet-country a.facet-value[data-code='FR']")
    expected = int(french.locator(".badge").inner_text())
    assert expected == 5  # CEA-Leti, CEA-Liten, CEA-List, IRT Jules Verne, TWB
    french.click()
    page.wait_for_url(re.compile(r"country=FR"))
    assert page.locator("#lab-list li").count() == expected
    cities = page.locator("#lab-list li div.text-muted").all_inner_texts()
    assert all("France" in c for c in cities), cities
    # Words narrow further, and the URL keeps both.
    page.locator("#search-form input[name=q]").fill("Grenoble")
    page.locator("#search-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"q=Grenoble"))
    assert "country=FR" in page.url
    assert page.locator("#lab-list li").count() == 2
