"""The navbar in Chromium (issue 12 §4): for every demo role it stays on one line at
1280 px with no entry clipped, collapses behind its toggler at 390 px, and its dropdowns
open and move from the keyboard."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

ROLES = {
    None: ["Labs", "Map", "Networks", "Log in", "Register"],
    "sme@labnet.example": ["My bookings", "My requests", "Sofia Meyer"],
    "manager@labnet.example": ["My bookings", "My requests", "Manage", "Marco Rossi"],
    "coordinator@labnet.example": ["My bookings", "My requests", "Manage", "Claire Dubois"],
    "admin@labnet.example": ["My bookings", "My requests", "Manage", "Admin", "Anna Nowak"],
    "verifier@labnet.example": ["My bookings", "My requests", "Verify", "Viktor Horvat"],
}

# Each top-level entry's box, whether its text overflows it, and the search box's room for
# its placeholder (measured with the input's own font).
MEASURE = """() => {
  const nav = document.querySelector('nav.navbar');
  const inner = nav.querySelector('.container-fluid');
  const limit = inner.getBoundingClientRect();
  const items = [nav.querySelector('.navbar-brand'),
                 ...nav.querySelectorAll('#nav > .navbar-nav > .nav-item > .nav-link'),
                 nav.querySelector('#nav input[type=search]')];
  const box = el => { const r = el.getBoundingClientRect();
                      return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const input = nav.querySelector('#nav input[type=search]');
  const style = getComputedStyle(input);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = style.font;
  return {
    height: nav.getBoundingClientRect().height,
    bounds: {left: limit.left, right: limit.right},
    items: items.map(el => ({text: (el.innerText || el.placeholder || '').trim(), ...box(el),
                             overflows: el.scrollWidth > el.clientWidth + 1})),
    placeholder: ctx.measureText(input.placeholder).width,
    inputRoom: input.clientWidth - parseFloat(style.paddingLeft) -
               parseFloat(style.paddingRight),
  };
}"""


def _log_in(page, email: str | None) -> None:
    page.goto("/login")
    if email is None:
        return
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "labnet-demo")
    page.click("main button[type=submit]")
    page.locator("nav.navbar form[action$='/logout']").wait_for(state="attached")
    # Measure the page once its stylesheets apply (the landing page after login may still be
    # loading them when its navbar is in the DOM).
    page.wait_for_load_state("load")


@pytest.mark.parametrize("email", list(ROLES), ids=lambda e: (e or "visitor").split("@")[0])
def test_navbar_is_one_line_at_1280_px_and_collapses_at_390_px(live_server, demo_data, page,
                                                                email):
    page.set_viewport_size({"width": 1280, "height": 800})
    _log_in(page, email)
    m = page.evaluate(MEASURE)
    texts = [i["text"] for i in m["items"]]
    for expected in ROLES[email]:
        assert any(t.startswith(expected) for t in texts), (expected, texts)
    tops = [i["top"] for i in m["items"]]
    bottoms = [i["bottom"] for i in m["items"]]
    tallest = max(b - t for t, b in zip(tops, bottoms, strict=True))
    # One line: every entry sits in the same row, and the bar is one entry high (+ padding).
    assert max(bottoms) - min(tops) <= tallest + 4, m["items"]
    assert m["height"] <= tallest + 24, m["height"]
    for item in m["items"]:
        assert not item["overflows"], item  # no text cut ("Searcl", "Request / inbox")
        assert m["bounds"]["left"] - 1 <= item["left"] and item["right"] <= \
            m["bounds"]["right"] + 1, item
    assert m["placeholder"] <= m["inputRoom"], m

    # 390 px: the entries hide behind the toggler, which opens them (stacked).
    page.set_viewport_size({"width": 390, "height": 800})
    toggler = page.locator("nav.navbar .navbar-toggler")
    assert toggler.is_visible()
    assert not page.locator("#nav").is_visible()
    toggler.click()
    page.locator("#nav.show").wait_for()
    labs = page.locator("nav.navbar").get_by_role("link", name="Labs", exact=True)
    labs.wait_for()
    assert page.locator("#nav input[type=search]").is_visible()
    if email is not None:
        account = page.locator("#nav-account-toggle")
        account.click()
        page.locator("#nav-logout").wait_for()
        assert page.evaluate("innerWidth >= document.documentElement.scrollWidth")


def test_dropdowns_open_and_move_from_the_keyboard(live_server, demo_data, page):
    page.set_viewport_size({"width": 1280, "height": 800})
    _log_in(page, "admin@labnet.example")
    toggle = page.locator("#nav-manage-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    page.locator("#nav-manage .dropdown-menu.show").wait_for()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "nav-my-labs"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "nav-booking-queue"
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.id") == "nav-manage-toggle"
    # Tab reaches the Admin menu next; Enter then the first entry opens the users' list.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "nav-admin-toggle"
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/users**")
