"""Ids in the path beyond what the database can hold are 404, never 500 (issue 10, item 8).

SQLite and PostgreSQL integers are signed 64-bit: the app-wide ``int`` converter only
matches 1..2**63-1, so no view ever sees an id the database driver cannot bind.
"""

from __future__ import annotations

import re

import pytest

from labnet.converters import MAX_ID
from tests.authz.test_matrix import META_CSRF, cast  # noqa: F401 (fixture)

HUGE = (2**63, 10**30)
PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _url(rule: str, value: int) -> str:
    def fill(match: re.Match) -> str:
        converter = match.group(1) or "default"
        return str(value) if converter == "int" else "mx-public"

    return PARAM.sub(fill, rule)


def test_every_int_route_answers_404_for_ids_beyond_64_bits(app, quick_login, cast):  # noqa: F811
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) >= 20
    failures = []
    for actor in ("anonymous", "admin"):
        client = app.test_client()
        quick_login(client, None if actor == "anonymous" else cast.admin)
        token = META_CSRF.search(client.get("/labs").get_data(as_text=True)).group(1)
        for rule in rules:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                for value in HUGE:
                    url = _url(rule.rule, value)
                    data = {"csrf_token": token} if method == "POST" else None
                    try:
                        status = client.open(url, method=method, data=data).status_code
                    except Exception as exc:  # the test app re-raises what would be a 500
                        status = repr(exc)[:80]
                    if status != 404:
                        failures.append(f"{actor} {method} {url}: {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("value", [0, MAX_ID + 1, 2**64, 10**30])
def test_equipment_page_out_of_range_id_is_404(client, value):
    assert client.get(f"/equipment/{value}").status_code == 404


def test_largest_64_bit_id_reaches_the_view_and_is_a_plain_404(client):
    assert client.get(f"/equipment/{MAX_ID}").status_code == 404


@pytest.mark.parametrize("feed", [str(2**63), str(10**30), "-1", "0", "x"])
def test_regenerate_feed_with_an_out_of_range_id_is_404(app, client, login, make_user, feed):
    from tests.fixtures.auth import csrf_token

    login(make_user())
    token = csrf_token(client, "/account/calendar")
    response = client.post("/account/calendar/regenerate",
                           data={"csrf_token": token, "feed": feed})
    assert response.status_code == 404
