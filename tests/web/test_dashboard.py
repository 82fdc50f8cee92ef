"""The coordinators' dashboard as its users see it: the figures of a hand-counted dash_world
(tests/fixtures/dashboard.py), filters that narrow them, a CSV per table equal to the table,
a manager's view limited to their labs, who may open it, bad filters, and a query count
that does not grow with the data."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest

from labnet.extensions import db
from labnet.models import Booking, DemandSignal
from labnet.models.request import LabRequest, RequestLab
from tests.fixtures.a11y import assert_refused_input
from tests.fixtures.dashboard import (
    NOW,
    PERIOD,
    PERIOD_DAYS,
    as_dicts,
    csv_table,
    page_tables,
    summarise,
)

SECTIONS = ("demand", "supply-ket", "supply-country", "matching", "utilisation-labs",
            "utilisation-categories", "flows", "unmet", "demand-supply")
AACHEN_OPEN = round(45 * PERIOD_DAYS / 7)  # 45 h a week, one bookable machine
GRENOBLE_OPEN = round(40 * PERIOD_DAYS / 7)


def url(**filters: str) -> str:
    return "/dashboard?" + urlencode({**PERIOD, **filters})


def tables_for(client, **filters: str) -> dict[str, list[list[str]]]:
    response = client.get(url(**filters))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return page_tables(response.get_data(as_text=True))


@pytest.fixture
def seen(app, client, dash_world, quick_login):
    summarise(app)
    quick_login(client, dash_world.coordinator)
    return dash_world


def test_coordinator_sees_the_hand_counted_figures(client, seen):
    t = tables_for(client)
    demand = {r["Month"]: r for r in as_dicts(t["demand"])}
    # March is counted to date (2 of its 31 days): marked, not mistaken for a collapse.
    assert list(demand) == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03 (to date)"]
    assert demand["2026-01"] == {"Month": "2026-01", "Searches": "1", "Unmet searches": "0",
                                 "Booking requests": "1", "Access requests": "0",
                                 "Service requests": "0", "Joint project requests": "0"}
    assert demand["2026-02"] == {"Month": "2026-02", "Searches": "2", "Unmet searches": "1",
                                 "Booking requests": "3", "Access requests": "1",
                                 "Service requests": "1", "Joint project requests": "1"}
    assert all(v == "0" for k, v in demand["2025-12"].items() if k != "Month")

    supply = {r["Code"]: r for r in as_dicts(t["supply-ket"])}
    assert set(supply) == {"AMT", "MNEP"}  # the draft lab is no supply
    assert (supply["AMT"]["Labs"], supply["AMT"]["Equipment"],
            supply["AMT"]["Bookable hours"]) == ("1", "2", str(AACHEN_OPEN))
    assert (supply["MNEP"]["Labs"], supply["MNEP"]["Equipment"],
            supply["MNEP"]["Bookable hours"]) == ("1", "1", str(GRENOBLE_OPEN))
    countries = {r["Code"]: (r["Country"], r["Labs"]) for r in as_dicts(t["supply-country"])}
    assert countries == {"DE": ("Germany", "1"), "FR": ("France", "1")}

    matching = {r["Figure"]: r["Value"] for r in as_dicts(t["matching"])}
    assert matching == {
        "Requests made": "3", "Answered by a lab": "2", "Accepted": "1", "Declined": "1",
        "Acceptance rate (%)": "50",
        # R1 answered after 72 h, R3 after 24 h; decided after 96 h and 48 h. Medians are
        # interpolated from hour buckets (analytics.HOUR_BUCKETS): N = 2, so the middle is
        # N/2 = 1 request in. First response: 24 h lies in bucket [24, 36), which holds
        # that 1 request, so 24 + (1 - 0) / 1 × 12 = 36 (the exact median is 48).
        # Decision: 48 h lies in [48, 72): 48 + 1 / 1 × 24 = 72 (exact: 72).
        # R1 and R2 come from the summary rows (days more than a week old), R3 live.
        "Median time to first response": "≈ 36 h",
        "Median time to decision": "≈ 72 h",
        # R1 and R2 are a week old; R2 (8 days, no answer) is unanswered; R1 answered in 3 days.
        "Requests at least a week old": "2", "Unanswered for more than a week": "1",
        "Share unanswered for more than a week (%)": "50",
    }

    labs = {r["Lab"]: r for r in as_dicts(t["utilisation-labs"])}
    assert (labs["Aachen Lab"]["Confirmed hours"], labs["Aachen Lab"]["Open hours"]) == (
        "6", str(AACHEN_OPEN))  # b1 4 h confirmed + b2 2 h completed; b3 rejected
    assert labs["Aachen Lab"]["Utilisation (%)"] == str(round(600 / (45 * PERIOD_DAYS / 7), 1))
    assert (labs["Grenoble Lab"]["Confirmed hours"], labs["Grenoble Lab"]["Open hours"]) == (
        "5", str(GRENOBLE_OPEN))
    assert "Draft Lab" not in labs
    cats = {r["Code"]: (r["Confirmed hours"], r["Open hours"])
            for r in as_dicts(t["utilisation-categories"])}
    assert cats == {"sem": ("6", str(AACHEN_OPEN)), "afm": ("5", str(GRENOBLE_OPEN))}

    flows = [(r["From code"], r["To code"], r["Booking requests"], r["Requests"],
              r["Interactions"], r["Cross-border"]) for r in as_dicts(t["flows"])]
    assert flows == [("DE", "DE", "2", "1", "3", "no"),
                     ("DE", "FR", "1", "1", "2", "yes"),
                     ("FR", "DE", "1", "1", "2", "yes"),
                     ("FR", "FR", "0", "1", "1", "no")]

    unmet = as_dicts(t["unmet"])
    category = unmet[0]["Equipment category"]
    assert unmet == [{"Searched for": f"Life-science technologies · {category} · Portugal",
                      "Words": "", "KET area": "Life-science technologies",
                      "Equipment category": category, "Country": "Portugal",
                      "Searches": "1"}]
    assert "TEM" in category or "transmission" in category.lower()

    # 3 requests over 2 labs: 1.5 a lab on average. AMT: 2 for 1 lab (2 ÷ 1.5 = 1.33 ×
    # the average); MNEP: 1 for 1 lab (0.67 ×).
    ds = [(r["Code"], r["Requests"], r["Labs"], r["Requests per lab"],
           r["Against the average (×)"]) for r in as_dicts(t["demand-supply"])]
    assert ds == [("AMT", "2", "1", "2", "1.33"), ("MNEP", "1", "1", "1", "0.67")]


def test_totals_cross_border_share_and_the_flow_map_data(client, seen):
    html = client.get(url()).get_data(as_text=True)
    assert 'id="cross-border-share">50 %' in html
    assert 'id="acceptance-rate">50 %' in html
    assert "8 interactions" in html and "of which 4 cross a border" in html
    # Each flow row carries the two countries' centroids for the map.
    assert 'data-from="51.17,10.45" data-to="46.23,2.21" data-count="2"' in html
    assert 'src="/static/vendor/chartjs/chart.umd.min.js?v=' in html  # fingerprinted
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html)  # no CDN


@pytest.mark.parametrize("section", SECTIONS)
def test_each_csv_equals_its_table(client, seen, section):
    for filters in ({}, {"country": "FR"}, {"ket": "AMT"}):
        page = tables_for(client, **filters)
        response = client.get(f"/dashboard/{section}.csv?" + urlencode({**PERIOD, **filters}))
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        assert csv_table(response.get_data(as_text=True)) == page[section], (section, filters)
        assert len(page[section]) >= 2 or section == "unmet"  # header + rows


def test_country_filter_narrows_to_labs_of_that_country(client, seen):
    t = tables_for(client, country="FR")
    demand = {r["Month"]: r for r in as_dicts(t["demand"])}
    # Only b4 was booked in France; R2 and R3 went to Grenoble; no search asked for France.
    assert demand["2026-01"]["Booking requests"] == "1"
    assert demand["2026-02"]["Booking requests"] == "0"
    assert (demand["2026-02"]["Access requests"], demand["2026-02"]["Service requests"],
            demand["2026-02"]["Joint project requests"]) == ("1", "0", "1")
    assert sum(int(r["Searches"]) for r in demand.values()) == 0
    assert [r["Code"] for r in as_dicts(t["supply-country"])] == ["FR"]
    flows = [(r["From code"], r["To code"], r["Interactions"]) for r in as_dicts(t["flows"])]
    assert flows == [("DE", "FR", "2"), ("FR", "FR", "1")]
    assert [r["Lab"] for r in as_dicts(t["utilisation-labs"])] == ["Grenoble Lab"]


def test_ket_filter_includes_sub_areas(client, seen):
    t = tables_for(client, ket="AMT")
    demand = {r["Month"]: r for r in as_dicts(t["demand"])}
    # Aachen (AMT) had b1–b3; R1 (AMT.ADD, a sub-area) and R3 (AMT); search S1 asked AMT.
    assert demand["2026-02"]["Booking requests"] == "3"
    assert demand["2026-01"]["Booking requests"] == "0"
    assert (demand["2026-02"]["Service requests"], demand["2026-02"]["Joint project requests"],
            demand["2026-02"]["Access requests"]) == ("1", "1", "0")
    assert demand["2026-02"]["Searches"] == "1"
    # The chosen area's supply is shown by its sub-areas.
    assert [r["Code"] for r in as_dicts(t["supply-ket"])] == ["AMT.ADD"]
    matching = {r["Figure"]: r["Value"] for r in as_dicts(t["matching"])}
    assert matching["Requests made"] == "2"


def test_kind_filter_and_a_sub_area(client, seen):
    t = tables_for(client, kind="ri")
    assert [r["Lab"] for r in as_dicts(t["utilisation-labs"])] == ["Grenoble Lab"]
    t = tables_for(client, ket="AMT.ADD")
    matching = {r["Figure"]: r["Value"] for r in as_dicts(t["matching"])}
    assert matching["Requests made"] == "1"  # R1 only


def test_manager_sees_only_their_labs_and_no_searches(app, client, dash_world, quick_login):
    summarise(app)
    quick_login(client, dash_world.manager)
    response = client.get(url())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Figures limited to the labs you manage" in html
    t = page_tables(html)
    assert "unmet" not in t
    demand = as_dicts(t["demand"])
    assert "Searches" not in demand[0]
    assert sum(int(r["Booking requests"]) for r in demand) == 3  # b1–b3, not b4
    assert [r["Lab"] for r in as_dicts(t["utilisation-labs"])] == ["Aachen Lab"]
    flows = [(r["From code"], r["To code"], r["Booking requests"], r["Requests"])
             for r in as_dicts(t["flows"])]
    # R3's pair to Grenoble is not one of the manager's.
    assert flows == [("DE", "DE", "2", "1"), ("FR", "DE", "1", "1")]
    matching = {r["Figure"]: r["Value"] for r in as_dicts(t["matching"])}
    assert matching["Requests made"] == "2"  # R1 and R3 named Aachen
    assert client.get("/dashboard/unmet.csv").status_code == 404
    csv_rows = csv_table(client.get("/dashboard/flows.csv?" + urlencode(PERIOD))
                         .get_data(as_text=True))
    assert csv_rows == t["flows"]


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("admin", 200),
                                             ("coordinator", 200), ("manager", 200)])
def test_who_may_open_the_dashboard(client, dash_world, quick_login, who, status):
    quick_login(client, getattr(dash_world, who))
    assert client.get("/dashboard").status_code == status
    assert client.get("/dashboard/flows.csv").status_code == status
    nav = client.get("/labs").get_data(as_text=True)
    assert ('href="/dashboard"' in nav) == (status == 200)


def test_visitors_are_sent_to_log_in(client, dash_world):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get("/dashboard/demand.csv").status_code == 302


@pytest.mark.parametrize(("filters", "field"), [
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-03-01", "to": "2026-01-01"}, "to"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
    ({"ket": "NOPE"}, "ket"),
    ({"kind": "castle"}, "kind"),
    ({"country": "X1"}, "country"),
    ({"network": "no-such-network"}, "network"),
])
def test_bad_filters_name_the_field_and_keep_the_input(client, seen, filters, field):
    response = client.get("/dashboard?" + urlencode(filters))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-field="{field}"' in html
    if field in ("from", "to"):
        assert f'value="{filters[field]}"' in html
    csv_response = client.get("/dashboard/demand.csv?" + urlencode(filters))
    assert csv_response.status_code == 422
    assert field in csv_response.get_data(as_text=True)


def test_unknown_section_is_404(client, seen):
    assert client.get("/dashboard/nothing.csv").status_code == 404


def test_default_period_is_the_last_twelve_months(client, seen):
    html = client.get("/dashboard").get_data(as_text=True)
    assert "2025-03-03 to 2026-03-02" in html
    t = page_tables(html)
    months = [r[0] for r in t["demand"][1:]]
    # The period starts on 3 March 2025 and ends today: both ends are months in part.
    assert months[0] == "2025-03 (partial)" and months[-1] == "2026-03 (to date)"
    assert [m for m in months if "(" in m] == [months[0], months[-1]]
    assert "2025-03 (partial): 29 of 31 days; 2026-03 (to date): 2 of 31 days" in html
    assert html.count('data-partial="1"') == 2
    # b0 (June 2025) now falls inside the period.
    assert {r["Month"]: r for r in as_dicts(t["demand"])}["2025-06"]["Booking requests"] == "1"


def test_short_periods_go_by_week(client, seen):
    t = tables_for(client, **{"from": "2026-02-02", "to": "2026-02-15"})
    weeks = {r["Week of"]: r["Booking requests"] for r in as_dicts(t["demand"])}
    assert weeks == {"2026-02-02": "2", "2026-02-09": "0"}  # b2, b3 (b1 on Sunday 1st)


def _grow(app, w, n: int) -> None:
    """n more bookings, requests and searches of every kind, spread over the period."""
    with app.app_context():
        for i in range(n):
            when = NOW - timedelta(days=3 + i)
            db.session.add(Booking(
                reference=f"LN-G-{i}", equipment_id=w.afm.id, lab_id=w.grenoble.id,
                requester_id=w.fr_user.id, organisation_id=w.fr_org.id, purpose="",
                start_at=when, end_at=when + timedelta(hours=1), blocked_start=when,
                status="completed", unit="hour", units=1, rate_kind="sme",
                rate_applied=Decimal(1), price_estimate=Decimal(1), currency="EUR",
                created_at=when, updated_at=when))
            r = LabRequest(reference=f"RQ-G-{i}", kind="service", status="accepted",
                           organisation_id=w.fr_org.id, created_by_id=w.fr_user.id,
                           title="More", summary="More", ket_code="MNEP.SEM", created_at=when,
                           updated_at=when, first_response_at=when + timedelta(hours=i + 1),
                           decided_at=when + timedelta(hours=2 * i + 2))
            db.session.add(r)
            db.session.flush()
            db.session.add(RequestLab(request_id=r.id, lab_id=w.grenoble.id))
            db.session.add(DemandSignal(at=when, source="labs", filters={}, query_text="",
                                        ket_code="AI", category_code=None,
                                        country_filter="ES", result_count=i % 3,
                                        searcher_country="IT"))
        db.session.commit()


def test_query_count_does_not_grow_with_the_data(app, client, dash_world, quick_login,
                                                 count_queries):
    summarise(app)
    quick_login(client, dash_world.coordinator)
    small = count_queries(url())
    filtered_small = count_queries(url(ket="AMT", country="DE", kind="rto"))
    _grow(app, dash_world, 40)
    summarise(app, full=True)
    assert count_queries(url()) == small
    assert count_queries(url(ket="AMT", country="DE", kind="rto")) == filtered_small
    assert small <= 25


def test_network_filter_narrows_to_its_accepted_members(app, client, seen):
    from labnet.models.network import Network, NetworkMember, NetworkStage

    with app.app_context():
        net = Network(slug="photonics-chain", name="Photonics chain", name_key="photonics chain",
                      ecosystem="photonics", created_at=NOW, updated_at=NOW)
        db.session.add(net)
        db.session.flush()
        stage = NetworkStage(network_id=net.id, name="Testing", created_at=NOW)
        db.session.add(stage)
        db.session.flush()
        db.session.add_all([
            NetworkMember(network_id=net.id, stage_id=stage.id, lab_id=seen.grenoble.id,
                          status="accepted", invited_at=NOW),
            NetworkMember(network_id=net.id, stage_id=stage.id, lab_id=seen.aachen.id,
                          status="invited", invited_at=NOW),  # not (yet) a member
        ])
        db.session.commit()
    html = client.get(url()).get_data(as_text=True)
    assert '<option value="photonics-chain">Photonics chain</option>' in html
    t = tables_for(client, network="photonics-chain")
    assert [r["Lab"] for r in as_dicts(t["utilisation-labs"])] == ["Grenoble Lab"]
    assert [r["Code"] for r in as_dicts(t["supply-country"])] == ["FR"]
    response = client.get("/dashboard/utilisation-labs.csv?" + urlencode(
        {**PERIOD, "network": "photonics-chain"}))
    assert csv_table(response.get_data(as_text=True)) == t["utilisation-labs"]


def test_csv_defuses_a_lab_name_a_spreadsheet_would_run(app, client, seen):
    from labnet.models import Lab

    with app.app_context():
        db.session.get(Lab, seen.aachen.id).name = "=HYPERLINK(\"http://evil\")"
        db.session.commit()
    page = tables_for(client)
    assert page["utilisation-labs"][1][0] == '=HYPERLINK("http://evil")'  # text on the page
    rows = csv_table(client.get("/dashboard/utilisation-labs.csv?" + urlencode(PERIOD))
                     .get_data(as_text=True))
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\")"
    assert rows[2:] == page["utilisation-labs"][2:]


# --- the per-process cache (DASHBOARD_CACHE_SECONDS) ----------------------------------------

def _requests_made(client) -> str:
    return {r["Figure"]: r["Value"]
            for r in as_dicts(tables_for(client)["matching"])}["Requests made"]


def _one_more_request(app, w) -> None:
    with app.app_context():
        when = NOW - timedelta(hours=1)
        r = LabRequest(reference="RQ-C-1", kind="access", status="submitted",
                       organisation_id=w.fr_org.id, created_by_id=w.fr_user.id,
                       title="Cached?", summary="Cached?", created_at=when, updated_at=when)
        db.session.add(r)
        db.session.flush()
        db.session.add(RequestLab(request_id=r.id, lab_id=w.aachen.id))
        db.session.commit()


def test_cached_figures_are_reused_until_they_expire(app, client, seen, frozen_clock):
    app.config["DASHBOARD_CACHE_SECONDS"] = 300
    assert _requests_made(client) == "3"
    _one_more_request(app, seen)
    # Within five minutes the page (and its CSV) shows the figures it computed before.
    frozen_clock.move_to(NOW + timedelta(seconds=299))
    assert _requests_made(client) == "3"
    rows = csv_table(client.get("/dashboard/matching.csv?" + urlencode(PERIOD))
                     .get_data(as_text=True))
    assert ["Requests made", "3"] in rows
    # Once they are five minutes old, the new request is counted.
    frozen_clock.move_to(NOW + timedelta(seconds=300))
    assert _requests_made(client) == "4"


def test_a_cache_time_of_zero_computes_every_load(app, client, seen):
    assert app.config["DASHBOARD_CACHE_SECONDS"] == 0
    assert _requests_made(client) == "3"
    _one_more_request(app, seen)
    assert _requests_made(client) == "4"
    assert "labnet.dashboard" not in app.extensions or not app.extensions["labnet.dashboard"]


def test_cached_figures_are_kept_apart_per_lab_scope(app, client, seen, quick_login):
    app.config["DASHBOARD_CACHE_SECONDS"] = 300
    coordinator = tables_for(client)
    assert {r["Lab"] for r in as_dicts(coordinator["utilisation-labs"])} == {
        "Aachen Lab", "Grenoble Lab"}
    quick_login(client, seen.manager)  # manages Aachen only
    manager = tables_for(client)
    assert [r["Lab"] for r in as_dicts(manager["utilisation-labs"])] == ["Aachen Lab"]
    assert "unmet" not in manager
    quick_login(client, seen.coordinator)
    assert tables_for(client) == coordinator


# --- members-only networks (security review, issue 10 item 4) -------------------------------

def _members_only_network(app, w, *, coordinator) -> None:
    """``hidden-chain``, members-only, run by ``coordinator``, Grenoble Lab accepted."""
    from labnet.models.network import Network, NetworkCoordinator, NetworkMember, NetworkStage

    with app.app_context():
        net = Network(slug="hidden-chain", name="Hidden chain", name_key="hidden chain",
                      ecosystem="photonics", visibility="members", created_at=NOW,
                      updated_at=NOW)
        db.session.add(net)
        db.session.flush()
        stage = NetworkStage(network_id=net.id, name="Testing", created_at=NOW)
        db.session.add(stage)
        db.session.flush()
        db.session.add_all([
            NetworkCoordinator(network_id=net.id, user_id=coordinator.id, added_at=NOW),
            NetworkMember(network_id=net.id, stage_id=stage.id, lab_id=w.grenoble.id,
                          status="accepted", invited_at=NOW),
        ])
        db.session.commit()


CSRF_TOKEN = re.compile(r'(name="csrf[-_]token"[^>]*(?:content|value)=")[^"]+"')


def _answer(client, path: str, network: str) -> tuple[int, str]:
    # The CSRF token is signed with the current second: two answers a second apart differ
    # there and nowhere else.
    response = client.get(path + "?" + urlencode({**PERIOD, "network": network}))
    body = CSRF_TOKEN.sub(r'\1TOKEN"', response.get_data(as_text=True))
    return response.status_code, body.replace(network, "SLUG")


@pytest.mark.parametrize("app_config", [{}, {"DASHBOARD_CACHE_SECONDS": 300}],
                         ids=["caches-off", "caches-on"])
def test_members_only_network_is_like_a_missing_one_for_a_coordinator_who_does_not_see_it(
        app, client, dash_world, quick_login, make_user, app_config):
    from labnet.models import Role

    summarise(app)
    runner = make_user(roles=(Role.COORDINATOR,))
    _members_only_network(app, dash_world, coordinator=runner)
    # The network's coordinator sees it, its figures, and fills the caches first.
    quick_login(client, runner)
    assert '<option value="hidden-chain">Hidden chain</option>' in client.get(url()).get_data(
        as_text=True)
    t = tables_for(client, network="hidden-chain")
    assert [r["Code"] for r in as_dicts(t["supply-country"])] == ["FR"]
    for section in SECTIONS:
        status, _ = _answer(client, f"/dashboard/{section}.csv", "hidden-chain")
        assert status == 200, section

    quick_login(client, dash_world.coordinator)  # a coordinator who does not run it
    html = client.get(url()).get_data(as_text=True)
    assert "hidden-chain" not in html and "Hidden chain" not in html
    hidden = _answer(client, "/dashboard", "hidden-chain")
    missing = _answer(client, "/dashboard", "no-such-chain")
    assert hidden[0] == 422
    assert "Hidden chain" not in hidden[1]
    assert hidden == missing
    for section in SECTIONS:
        hidden = _answer(client, f"/dashboard/{section}.csv", "hidden-chain")
        assert hidden[0] == 422, section
        assert hidden == _answer(client, f"/dashboard/{section}.csv", "no-such-chain"), section


def test_members_only_network_is_offered_to_the_managers_of_its_member_labs(
        app, client, dash_world, quick_login, make_user):
    from labnet.models import Role

    summarise(app)
    _members_only_network(app, dash_world, coordinator=make_user(roles=(Role.COORDINATOR,)))
    grenoble_manager = make_user(manages=(dash_world.grenoble,))
    quick_login(client, grenoble_manager)
    assert '<option value="hidden-chain">Hidden chain</option>' in client.get(url()).get_data(
        as_text=True)
    assert tables_for(client, network="hidden-chain")["supply-country"]
    quick_login(client, dash_world.manager)  # manages Aachen, not a member
    assert _answer(client, "/dashboard", "hidden-chain") == _answer(
        client, "/dashboard", "no-such-chain")


# --- every choice the page offers is accepted; the words of unmet searches (issue 12 §4) ----

class _Selects(HTMLParser):
    """Every <select> of the filter form and its options' values."""

    def __init__(self) -> None:
        super().__init__()
        self.selects: dict[str, list[str]] = {}
        self._name: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "select":
            self._name = a["name"]
            self.selects[self._name] = []
        elif tag == "option" and self._name:
            self.selects[self._name].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._name = None


def test_every_option_of_every_filter_is_accepted_a_100_character_network_slug_too(
        app, client, seen):
    from labnet.models.network import Network

    long_slug = "n" + "-very-long-network-name" * 4 + "x" * 7  # 100 characters
    assert len(long_slug) == 100
    with app.app_context():
        db.session.add(Network(slug=long_slug, name="A network with a long address",
                               name_key="a network with a long address",
                               ecosystem="photonics", created_at=NOW, updated_at=NOW))
        db.session.commit()
    parser = _Selects()
    parser.feed(client.get(url()).get_data(as_text=True))
    assert set(parser.selects) == {"ket", "country", "kind", "network"}
    assert long_slug in parser.selects["network"]
    for name, options in parser.selects.items():
        assert len(options) > 1, name
        for value in options:
            response = client.get(url(**{name: value}))
            assert response.status_code == 200, (name, value)
            if value:
                assert f'<option value="{value}" selected>' in response.get_data(as_text=True)
    response = client.get("/dashboard/supply-country.csv?" + urlencode(
        {**PERIOD, "network": long_slug}))
    assert response.status_code == 200
    # One character more than a slug can hold is still refused, naming the field.
    response = client.get(url(network=long_slug + "y" * 30))
    assert response.status_code == 422 and 'data-field="network"' in response.get_data(
        as_text=True)


def test_unmet_demand_shows_the_words_searched_grouped_without_case(app, client, seen):
    def signal(words, results, **filters):
        db.session.add(DemandSignal(at=NOW - timedelta(days=3), source="labs", filters={},
                                    query_text=words, result_count=results, **filters))

    with app.app_context():
        signal("Cryo TEM ", 0)
        signal("cryo tem", 1)
        signal("cryo TEM", 2, country_filter="PT")
        signal("cryo tem", 7)  # found enough labs: no unmet demand
        signal("<b>laser</b> welding", 0, ket_code="AMT")
        db.session.commit()
    rows = as_dicts(tables_for(client)["unmet"])
    searched = {r["Searched for"]: r["Searches"] for r in rows}
    assert searched["“cryo tem”"] == "2"
    assert searched["“cryo tem” · Portugal"] == "1"
    assert rows[0]["Searched for"] == "“cryo tem”"  # the most frequent first
    welding = next(r for r in rows if r["Words"] == "<b>laser</b> welding")
    assert welding["KET area"] == "Advanced manufacturing technologies"
    assert "<b>laser" not in client.get(url()).get_data(as_text=True)  # escaped, as text
    # The KET filter narrows unmet searches to the area searched for.
    narrowed = as_dicts(tables_for(client, ket="AMT")["unmet"])
    assert [r["Words"] for r in narrowed] == ["<b>laser</b> welding"]
    body = client.get("/dashboard/unmet.csv?" + urlencode(PERIOD)).get_data(as_text=True)
    assert csv_table(body)[1:3] == [
        r for r in tables_for(client)["unmet"][1:3]]


def test_refused_filters_are_tied_to_their_inputs_and_summed_up(client, seen):
    response = client.get("/dashboard?" + urlencode({"from": "yesterday", "kind": "castle"}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert_refused_input(html, "f-from", "")
    assert_refused_input(html, "f-kind", "Choose a kind of lab from the list.")
