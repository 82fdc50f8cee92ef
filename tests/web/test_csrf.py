"""A failed CSRF check never runs the view (issue 10, item 3).

Every POST route of the URL map, sent without a token by a user who could otherwise act,
changes nothing in the database and never answers 500; what the user typed comes back in
a form that posts again to the same address with a fresh token.
"""

from __future__ import annotations

import re

import pytest

from tests.authz.cases import CASES
from tests.authz.cases.base import ACTORS
from tests.authz.test_matrix import cast, fingerprint  # noqa: F401 (fixture)
from tests.fixtures.auth import csrf_from
from tests.web.test_auth import page
from tests.web.test_feeds import (
    URL_RE,
    feed_urls,
    world,  # noqa: F401 (fixture)
)

OK = (200, 201, 302, 303)


def _acting_actor(case) -> str:
    """The first kind of user the matrix lets through, so the view would act."""
    for actor in reversed(ACTORS):
        if case.expected.get(actor) in OK:
            return actor
    return "admin"


def test_every_post_route_without_a_token_changes_nothing_and_never_answers_500(
    app, quick_login, cast  # noqa: F811
):
    posts = [c for c in CASES if c.method == "POST"]
    covered = {c.endpoint for c in posts}
    rules = {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    assert rules <= covered, f"POST routes without a case: {sorted(rules - covered)}"
    clients = {}
    failures = []
    for case in posts:
        for actor in (_acting_actor(case), "anonymous"):
            if actor not in clients:
                clients[actor] = app.test_client()
                quick_login(clients[actor], None if actor == "anonymous"
                            else getattr(cast, actor))
            with app.app_context():
                before = fingerprint()
            try:
                response = clients[actor].post(case.url(cast), data=case.data(cast))
            except Exception as exc:  # the test app re-raises what would be a 500
                failures.append(f"{case.id} as {actor}: raised {exc!r}")
                continue
            with app.app_context():
                changed = fingerprint() != before
            if changed or response.status_code >= 500:
                failures.append(f"{case.id} as {actor}: {response.status_code}"
                                f"{' changed the database' if changed else ''}")
            elif response.status_code != 400:
                failures.append(f"{case.id} as {actor}: {response.status_code}, not 400")
    assert not failures, "\n".join(failures)


def test_regenerate_calendar_feed_without_a_token_keeps_the_feed_address(app, client, login,
                                                                        world):  # noqa: F811
    login(world.member)
    [old] = feed_urls(client)
    listing = client.get("/account/calendar").text
    feed_id = re.search(r'name="feed" value="(\d+)"', listing).group(1)
    response = client.post("/account/calendar/regenerate", data={"feed": feed_id})
    assert response.status_code == 400
    assert feed_urls(client) == [old]
    assert client.get(old).status_code == 200
    # The page offers the same action again with a fresh token, and that one works.
    shown = page(response)
    assert shown.inputs["feed"] == feed_id
    again = client.post("/account/calendar/regenerate",
                        data={"csrf_token": shown.inputs["csrf_token"], "feed": feed_id})
    assert again.status_code == 302
    assert URL_RE.findall(client.get("/account/calendar").text) != [old]


def test_expired_form_page_keeps_typed_text_but_not_passwords_or_files(app, client):
    import io

    response = client.post(
        "/register?x=1",
        data={"full_name": 'Ann "<b>" Smith', "organisation": "Line one\nLine two",
              "password": "secret-typed", "password_confirm": "secret-typed",
              "tags": ["a", "b"], "upload": (io.BytesIO(b"data"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    shown = page(response)
    assert any("This form had expired" in a for a in shown.alerts)
    assert shown.inputs["full_name"] == 'Ann "<b>" Smith'
    assert "<b>" not in html  # escaped, never markup (DESIGN rule 7)
    assert "Line one\nLine two" in html  # a multi-line text comes back in a textarea
    assert html.count('name="tags"') == 2
    assert "secret-typed" not in html and 'name="password"' not in html
    assert 'name="upload"' not in html and "notes.txt" not in html
    assert 'action="/register?x=1"' in html
    assert csrf_from(html)


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"},
                                     {"Referer": "https://evil.example/page"},
                                     {"Sec-Fetch-Site": "cross-site",
                                      "Origin": "http://labnet.test"}],
                         ids=["origin", "referer", "sec-fetch-site"])
def test_cross_site_post_without_a_token_is_not_offered_for_resubmission(app, client, headers):
    response = client.post("/register", data={"full_name": "Mallory"}, headers=headers)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Mallory" not in html
    assert 'action="/register"' not in html


@pytest.mark.parametrize("url", ["/account/calendar/regenerate", "/logout", "/register"])
def test_json_client_without_a_token_gets_a_json_400(client, url):
    response = client.post(url, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.is_json


@pytest.mark.parametrize("headers", [{"Origin": "http://labnet.test"},
                                     {"Sec-Fetch-Site": "same-origin"}],
                         ids=["origin", "sec-fetch-site"])
def test_same_site_post_with_an_expired_token_keeps_the_input(client, headers):
    response = client.post("/register", data={"full_name": "Ann Smith"}, headers=headers)
    assert response.status_code == 400
    assert page(response).inputs["full_name"] == "Ann Smith"
