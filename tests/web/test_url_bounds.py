"""Ids in the path beyond what the database can hold are 404, never 500 (issue 10, item 8).

SQLite's driver binds signed 64-bit integers, PostgreSQL's id columns are 32-bit: the
app-wide ``int`` converter only matches 1..2**31-1 (``MAX_ID``), so no view ever sees an id
the database cannot hold, on either database.
"""

from __future__ import annotations

import re

import pytest

from labnet.converters import MAX_ID
from tests.authz.test_matrix import META_CSRF, cast  # noqa: F401 (fixture)

HUGE = (2**31, 2**63, 10**30)
PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _url(rule: str, value: int) -> str:
    def fill(match: re.Match) -> str:
        converter = match.group(1) or "default"
        return str(value) if converter == "int" else "mx-public"

    return PARAM.sub(fill, rule)


def test_every_int_route_answers_404_for_ids_the_database_cannot_hold(app, quick_login, cast):  # noqa: F811
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


@pytest.mark.parametrize("value", [0, MAX_ID + 1, 2**63 - 1, 2**63, 2**64, 10**30])
def test_equipment_page_out_of_range_id_is_404(client, value):
    assert client.get(f"/equipment/{value}").status_code == 404


def test_largest_storable_id_reaches_the_view_and_is_a_plain_404(client):
    assert client.get(f"/equipment/{MAX_ID}").status_code == 404


@pytest.mark.parametrize("feed", [str(2**63), str(10**30), "-1", "0", "x"])
def test_regenerate_feed_with_an_out_of_range_id_is_404(app, client, login, make_user, feed):
    from tests.fixtures.auth import csrf_token

    login(make_user())
    token = csrf_token(client, "/account/calendar")
    response = client.post("/account/calendar/regenerate",
                           data={"csrf_token": token, "feed": feed})
    assert response.status_code == 404


BAD_IDS = ("²", "١٢", str(2**31), str(10**30), str(2**63))


def test_posted_ids_out_of_range_or_not_ascii_never_answer_500(app, quick_login, cast):  # noqa: F811
    """Every id a form posts (hidden fields, selects, lists like ``seen_ids``), replaced by
    superscript or Arabic-Indic digits (``str.isdigit`` says yes, ``int`` may refuse) or by
    numbers beyond what an id column holds: a refusal, never a 500."""
    from tests.authz.cases import CASES
    from tests.web.test_csrf import _acting_actor

    failures = []
    clients = {}
    for case in (c for c in CASES if c.method == "POST"):
        data = case.data(cast)
        numeric = [k for k, v in data.items() if isinstance(v, str)
                   and v.replace(",", "").isdigit()]
        actor = _acting_actor(case)
        if actor not in clients:
            clients[actor] = app.test_client()
            quick_login(clients[actor], None if actor == "anonymous" else getattr(cast, actor))
        client = clients[actor]
        for name in numeric:
            for bad in BAD_IDS:
                token = META_CSRF.search(client.get("/labs").get_data(as_text=True)).group(1)
                try:
                    status = client.post(case.url(cast), data={
                        **data, name: bad, "csrf_token": token}).status_code
                except Exception as exc:  # the test app re-raises what would be a 500
                    status = repr(exc)[:80]
                if not isinstance(status, int) or status >= 500:
                    failures.append(f"{case.id} {name}={bad!r}: {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("url", ["/requests/new?kind=access&equipment=%C2%B2",
                                 "/requests/%C2%B2", f"/requests/{10**11}",
                                 f"/requests/{2**31}"])
def test_id_like_query_and_path_text_never_answers_500(client, quick_login, make_user, url):
    quick_login(client, make_user())
    assert client.get(url).status_code in (200, 404)
