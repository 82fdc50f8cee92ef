"""The lab picker in Chromium: typing part of a lab's name fills the field's suggestion list
from /labs/suggest.json (text, never markup), and the chosen name adds the lab."""

from __future__ import annotations

import pytest

from tests.browser.test_requests import _log_in

pytestmark = pytest.mark.browser


def test_typing_a_name_suggests_labs_and_the_chosen_one_is_added(
    live_server, page, make_lab, make_user, make_org
):
    make_lab(name="Photonics Lab", slug="photonics-lab")
    make_lab(name="Coatings <b>Lab</b>", slug="coatings-lab")
    make_lab(name="Coatings Draft", slug="coatings-draft", is_published=False)
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, member)
    page.goto("/requests/new?kind=joint_project&lab=photonics-lab")
    field = page.get_by_label("Add a lab")
    field.press_sequentially("coat", delay=30)
    options = page.locator(f"datalist#{field.get_attribute('list')} option")
    options.first.wait_for(state="attached")
    assert options.count() == 1  # the draft is never suggested
    assert options.first.get_attribute("value") == "Coatings <b>Lab</b>"
    assert "Coatings <b>Lab</b>" in options.first.text_content()
    field.fill(options.first.get_attribute("value"))
    page.get_by_role("button", name="Add this lab").click()
    page.get_by_label("Coatings <b>Lab</b>").wait_for()
    assert errors == []
