"""The navigation's badges (network invitations, request inbox) are counted once per page,
in one query, however often the page shows them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from labnet import clock
from labnet.extensions import db
from labnet.models import Lab, Role, User
from labnet.services.networks import rules as nw
from labnet.services.requests import workflow as rq


@pytest.fixture
def manager_with_work(app, make_user, make_lab, make_org):
    """A manager of a lab with one open network invitation and one request waiting."""
    lab = make_lab(name="Cell Lab", slug="cell-lab")
    manager = make_user(manages=(lab,))
    coordinator = make_user(roles=(Role.COORDINATOR,))
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    with app.test_request_context():
        now = clock.utcnow()
        network = nw.create_network(db.session.get(User, coordinator.id),
                                    nw.NetworkFields(name="Battery chain",
                                                     ecosystem="energy-renewables"), now=now)
        stage = nw.add_stage(db.session.get(User, coordinator.id), network,
                             nw.StageFields(name="Cells"), now=now)
        nw.invite(db.session.get(User, coordinator.id), network, stage.id, "cell-lab", "",
                  now=now)
        rq.create_request(db.session.get(User, member.id), rq.NewRequest(
            kind="service", lab_ids=[db.session.get(Lab, lab.id).id], title="Coating tests",
            summary="Ten samples.", quantity="10 samples",
            deadline=(now.date().replace(year=now.year + 1))), now=now)
        db.session.commit()
    return manager


def _count_statements(app):
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


def test_badges_are_counted_in_one_query(app, client, login, manager_with_work):
    login(manager_with_work)
    seen, stop = _count_statements(app)
    try:
        page = client.get("/networks").get_data(as_text=True)
    finally:
        stop()
    # The page shows the invitation badge twice (nav and the page's button) and the inbox's.
    assert re.search(r'id="nav-network-invitations".*?>1</span>', page, re.S)
    assert re.search(r'id="nav-request-inbox".*?>1</span>', page, re.S)
    assert "Invitations for my l" in page
    badge_queries = [s for s in seen if re.search(r"count\(", s, re.I)
                     and ("network_member" in s or "request_lab" in s)]
    assert len(badge_queries) == 1, badge_queries
