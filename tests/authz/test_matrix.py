"""Every route × every kind of user: the expected status, and nothing written on refusal.

DESIGN rule 6 / STYLE §10. ``test_route_coverage.py`` fails when a route of the URL map is
missing here.

Visibility cases (``Case.shows``) also check what the answer shows, and run a second time
with the per-process caches on (the test configuration turns them off): one app process,
every kind of user in turn, those who see the data first and then the others, and the
other way round (DESIGN rule 9: a cached answer is keyed by what the asker may see).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import select

from labnet import clock
from labnet.extensions import db
from labnet.models import (
    User,
)
from labnet.services.notifications.outbox import enqueue_email
from tests.authz.cases import CASES
from tests.authz.cases.base import ACTORS, Case
from tests.authz.cases.bookings import add_member_booking
from tests.authz.cases.lab_bookings import seed as seed_lab_bookings
from tests.fixtures.worlds import reuse_world

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


# Sessions the test opens itself, and shipped data no request writes (the gazetteer alone
# is 130,000 rows: hashing it would cost a second per case).
SHIPPED_TABLES = {"login_session", "gazetteer_place", "gazetteer_alt_name", "ket_area",
                  "equipment_category", "accreditation_scheme", "lab_kind"}


def fingerprint() -> str:
    """A digest of every row a refused request must not touch: all tables but the login
    sessions the test itself opens, and audit rows of logins."""
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        if table.name in SHIPPED_TABLES:
            continue
        stmt = select(table).order_by(*table.primary_key.columns)
        if table.name == "audit_event":
            stmt = stmt.where(table.c.action != "user.login")
        for row in db.session.execute(stmt):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def cast(app, request):
    """The matrix's cast, built once per worker through the services and restored per case."""
    return reuse_world(app, "authz-cast", lambda: _build_cast(app, request))


def _build_cast(app, request):
    people = request.getfixturevalue("people")
    make_equipment = request.getfixturevalue("make_equipment")
    people.equipment = make_equipment(people.lab)
    people.draft_equipment = make_equipment(people.draft)
    people.retired = make_equipment(people.lab, status="retired", name="Old microscope")
    people.other_equipment = make_equipment(people.other_lab)
    with app.test_request_context():
        row = enqueue_email("confirm_email", "someone@example.org", "Hello",
                            {"user": db.session.get(User, people.member.id), "token": "t"},
                            now=clock.utcnow())
        people.message_id = row.id
        db.session.commit()
    # --- lab bookings (manager side): people.lb_* rows; first, so the member side's
    # service-made booking picks a slot around them ---
    seed_lab_bookings(app, people)
    # --- end lab bookings (manager side) ---
    # --- bookings (company member's side): people.booking_id, people.cancel_token ---
    add_member_booking(app, people)
    # --- end bookings (member side) ---
    # --- requests: people.request_ref, people.request_id (a joint project to people.lab) ---
    from tests.authz.cases.requests import seed as seed_requests

    seed_requests(app, people)
    # --- end requests ---
    # --- networks: people.nw_* (two networks of the matrix coordinator, see cases/networks) ---
    from tests.authz.cases.networks import seed as seed_networks

    seed_networks(app, people)
    # --- end networks ---
    # --- organisation members: people.org_* (see cases/organisation) ---
    from tests.authz.cases.organisation import seed as seed_organisation

    seed_organisation(app, people)
    # --- end organisation members ---
    # --- claims and lab teams: people.team_* (see cases/team) ---
    from tests.authz.cases.team import seed as seed_team

    seed_team(app, people)
    # --- end claims and lab teams ---
    # --- creating labs: people.lc_proposal_id (see cases/lab_create) ---
    from tests.authz.cases.lab_create import seed as seed_lab_create

    seed_lab_create(app, people)
    # --- end creating labs ---
    # --- accreditations: people.acc_* (see cases/accreditations) ---
    from tests.authz.cases.accreditations import seed as seed_accreditations

    seed_accreditations(app, people)
    # --- end accreditations ---
    # --- the excellence label: people.lb_* (see cases/label) ---
    from tests.authz.cases.label import seed as seed_label

    seed_label(app, people)
    # --- end the excellence label ---
    # --- projects and events: people.ev_* (see cases/events) ---
    from tests.authz.cases.events import seed as seed_events

    seed_events(app, people)
    # --- end projects and events ---
    # --- meetings at an event: people.mt_* (see cases/meetings) ---
    from tests.authz.cases.meetings import seed as seed_meetings

    seed_meetings(app, people)
    # --- end meetings ---
    # --- registration and training: people.tr_* (see cases/training) ---
    from tests.authz.cases.training import seed as seed_training

    seed_training(app, people)
    # --- end registration and training ---
    return people


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_route_answers_each_kind_of_user(app, client, quick_login, cast, case: Case, actor):
    quick_login(client, None if actor == "anonymous" else getattr(cast, actor))
    page = client.get("/labs").get_data(as_text=True)
    token = META_CSRF.search(page).group(1)
    with app.app_context():
        before = fingerprint()
    kwargs: dict[str, Any] = {}
    if case.method == "POST":
        kwargs["data"] = {"csrf_token": token, **case.data(cast)}
    response = client.open(case.url(cast), method=case.method, **kwargs)
    body = response.get_data().decode("utf-8", "replace")  # PDFs and CSVs too
    response.close()  # a file sent as a stream is closed with its response
    expected = case.expected[actor]
    assert response.status_code == expected, (case.id, actor, response.status_code)
    if expected in (401, 403, 404) or (expected == 302 and actor == "anonymous"
                                       and case.endpoint.startswith("admin.")):
        with app.app_context():
            assert fingerprint() == before, "a refused request changed the database"
    if case.shows is not None:
        marker = case.shows(cast)
        assert (marker in body) == (actor in case.seers), (
            case.id, actor, marker)
    if expected == 302 and actor == "anonymous" and case.endpoint.startswith(("admin.",
                                                                            "auth.account",
                                                                            "auth.change")):
        assert "/login" in response.headers["Location"]


CACHES_ON = {"GEOJSON_CACHE_SECONDS": 60, "FACET_CACHE_SECONDS": 60,
             "DASHBOARD_CACHE_SECONDS": 300}
VISIBILITY_CASES = [c for c in CASES if c.shows is not None]


@pytest.mark.parametrize("app_config", [CACHES_ON], ids=["caches-on"])
@pytest.mark.parametrize("order", ["seers-first", "others-first"])
@pytest.mark.parametrize("case", VISIBILITY_CASES, ids=lambda c: c.id)
def test_visibility_holds_with_caches_on(app, quick_login, cast, case: Case, order: str,
                                         app_config):
    seers = [a for a in ACTORS if a in case.seers]
    others = [a for a in ACTORS if a not in case.seers]
    sequence = seers + others if order == "seers-first" else others + seers
    # Every session is opened before the first request, so no write happens between the
    # requests: whatever one user's request put in a cache is there for the next one.
    clients = {}
    for actor in sequence:
        clients[actor] = app.test_client()
        quick_login(clients[actor], None if actor == "anonymous" else getattr(cast, actor))
    marker = case.shows(cast)
    previous: tuple[str, str] | None = None  # (ETag, body) of the last answer
    for actor in sequence:
        # Each request revalidates the previous user's answer: a 304 would hand this
        # user that answer, so an ETag must differ wherever the answers do.
        headers = {"If-None-Match": previous[0]} if previous and previous[0] else {}
        response = clients[actor].get(case.url(cast), headers=headers)
        status, body = response.status_code, response.get_data(as_text=True)
        if status == 304 and previous is not None:
            status, body = 200, previous[1]
        assert status == case.expected[actor], (case.id, order, actor, status)
        assert (marker in body) == (actor in case.seers), (case.id, order, actor, marker)
        previous = (response.headers.get("ETag", ""), body)
