"""``/labs?available_from=…&available_to=…&hours=…``: labs with equipment free for D hours
between two dates, as the user sees them (cards, chips, the sidebar form, bad input)."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest

from labnet.extensions import db
from labnet.models import Equipment, User
from labnet.services.booking import engine as service
from tests.fixtures.berlin import APPROVING, NOW, berlin


@pytest.fixture
def make_lab(make_managed_lab):
    """The labs here take bookings, so each has a manager (DESIGN rule 8)."""
    return make_managed_lab

FILTER = "available_from=2026-03-04&available_to=2026-03-04"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html_lib.unescape(response.get_data(as_text=True))


def windows(html: str) -> list[str]:
    """The free-equipment lines of the cards, as text."""
    return [" ".join(re.sub(r"<[^>]+>", "", li).split())
            for li in re.findall(r'<li class="free-window"[^>]*>(.*?)</li>', html, re.S)]


def listed(html: str) -> list[str]:
    return re.findall(r'class="fw-semibold lab-link"[^>]*>([^<]+)</a>', html)


def errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<li data-param="(\w+)"><code>\w+</code>: ([^<]+)</li>', html))


def book(app, user, equipment, start, end):
    with app.test_request_context():
        actor = db.session.get(User, user.id)
        service.request_booking(actor, equipment.id, start, end, "Imaging", now=NOW)
        db.session.commit()


@pytest.fixture
def catalogue(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    """Three Berlin labs open 08–17 on weekdays: the confocal microscope of "Imaging
    Centre" is booked on Wednesday 4 March except 11:00–14:00; "Bio Hall" has only
    request-only equipment; "Free Lab" (Belgium) is free all day."""
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    imaging = make_lab(**APPROVING, name="Imaging Centre", hours=((8, 17),), country="DE")
    bio = make_lab(**APPROVING, name="Bio Hall", hours=((8, 17),), country="DE")
    free_lab = make_lab(**APPROVING, name="Free Lab", hours=((8, 17),), country="BE",
                        city="Gent", lat=51.05, lon=3.72)
    confocal = make_equipment(imaging, name="Confocal microscope", booking_unit="hour")
    make_equipment(bio, name="Bioreactor", mode="request_only")
    make_equipment(free_lab, name="Tensile tester", booking_unit="hour")
    book(app, member, confocal, berlin(2026, 3, 4, 8), berlin(2026, 3, 4, 11))
    book(app, member, confocal, berlin(2026, 3, 4, 14), berlin(2026, 3, 4, 17))
    return {"imaging": imaging, "bio": bio, "free": free_lab, "confocal": confocal}


def test_labs_with_free_equipment_show_what_is_free_and_from_when(client, catalogue):
    html = page(client, f"/labs?{FILTER}&hours=3")
    assert listed(html) == ["Free Lab", "Imaging Centre"]
    assert windows(html) == [
        "Tensile tester free from Wed 4 Mar 08:00, 9 h (lab time, Europe/Berlin)",
        "Confocal microscope free from Wed 4 Mar 11:00, 3 h (lab time, Europe/Berlin)",
    ]
    assert f'href="/equipment/{catalogue["confocal"].id}"' in html
    assert not errors(html)
    # The chip names the filter and removes it alone.
    chip = re.search(r'<a [^>]*data-param="available_from" href="([^"]+)"[^>]*>([^<]+)<',
                     html)
    assert chip is not None
    assert chip.group(2).strip() == "Free 3 h between 2026-03-04 and 2026-03-04"
    assert "available" not in chip.group(1) and "hours" not in chip.group(1)
    # The sidebar form shows the values; the search form carries them along.
    assert 'id="available-from" name="available_from" value="2026-03-04"' in html
    assert 'id="available-hours" name="hours" value="3"' in html
    assert '<input type="hidden" name="available_to" value="2026-03-04">' in html


def test_pagination_links_keep_the_filter(client, catalogue, app):
    app.config["LABS_PER_PAGE"] = 1
    html = page(client, f"/labs?{FILTER}&hours=3")
    assert listed(html) == ["Free Lab"]
    second = re.findall(r'href="(/labs\?[^"]*page=2[^"]*)"', html)
    assert second and all("available_from=2026-03-04" in u and "available_to=2026-03-04" in u
                          and "hours=3" in u for u in second)
    assert listed(page(client, second[0])) == ["Imaging Centre"]


def test_four_hours_leave_only_the_lab_free_all_day(client, catalogue):
    html = page(client, f"/labs?{FILTER}&hours=4")
    assert listed(html) == ["Free Lab"]
    assert "1 lab" in html and "Confocal microscope" not in html


def test_the_filter_combines_with_the_others(client, catalogue):
    html = page(client, f"/labs?{FILTER}&hours=3&country=DE")
    assert listed(html) == ["Imaging Centre"]
    assert page(client, f"/labs?{FILTER}&hours=3&q=tensile").count("lab-link") == 1
    assert listed(page(client, f"/labs?{FILTER}&hours=2&near=Gent&radius_km=20")) == \
        ["Free Lab"]
    # Without the filter every lab shows, the request-only one too.
    assert listed(page(client, "/labs")) == ["Bio Hall", "Free Lab", "Imaging Centre"]


def test_the_map_data_takes_the_filter(client, catalogue):
    response = client.get(f"/map/labs.geojson?{FILTER}&hours=4")
    assert response.status_code == 200
    names = [f["properties"]["name"] for f in json.loads(response.get_data())["features"]]
    assert names == ["Free Lab"]


def test_the_sidebar_form_submits_the_filter_keeping_the_rest(client, catalogue):
    html = page(client, "/labs?country=DE")
    form = re.search(r'<form method="get" action="/labs" id="available-form".*?</form>', html,
                     re.S)
    assert form is not None
    assert '<input type="hidden" name="country" value="DE">' in form.group(0)
    for name in ("available_from", "available_to", "hours"):
        assert f'name="{name}"' in form.group(0)


@pytest.mark.parametrize(("query", "field", "words"), [
    ("available_from=2026-03-05&available_to=2026-03-04&hours=2", "available_to",
     "is before the first"),
    ("available_from=2026-02-20&available_to=2026-03-04&hours=2", "available_from",
     "is in the past"),
    ("available_from=2026-03-04&available_to=2026-03-04&hours=0", "hours", "above 0"),
    ("available_from=2026-03-04&available_to=2026-03-04&hours=-3", "hours", "above 0"),
    ("available_from=2026-03-04&available_to=2026-03-04&hours=lots", "hours", "“lots”"),
    ("available_from=2026-03-04&available_to=2026-03-04&hours=nan", "hours", "above 0"),
    ("available_from=2026-03-04&available_to=2026-03-04&hours=25", "hours",
     "do not fit"),
    ("available_from=2026-03-04&hours=2", "available_to", "Give the last day"),
    ("available_to=2026-03-04", "available_from", "Give the first day"),
    ("hours=2", "available_from", "Give the first day"),
    ("available_from=2026-03-04&available_to=2026-05-04&hours=2", "available_to",
     "at most 31 days"),
    ("available_from=04.03.2026&available_to=2026-03-04&hours=2", "available_from",
     "is not a date"),
    ("available_from=2026-03-04&available_to=9999-12-31&hours=2", "available_to",
     "at most 31 days"),
    ("available_from=9999-12-31&available_to=9999-12-31&hours=2", "available_to",
     "that far ahead"),
])
def test_bad_input_names_the_field_keeps_the_input_and_the_rest_still_works(
        client, catalogue, query, field, words):
    html = page(client, f"/labs?{query}&country=DE")
    found = errors(html)
    assert field in found and words in found[field], found
    assert listed(html) == ["Bio Hall", "Imaging Centre"]  # country applies, availability not
    assert 'data-param="available_from" href' not in html  # no chip for a dropped filter
    assert "is-invalid" in html
    for name, value in re.findall(r"(\w+)=([^&]*)", query):
        if name != "country":
            assert f'name="{name}" value="{value}"' in html


def test_dates_without_hours_mean_one_hour(client, catalogue):
    html = page(client, f"/labs?{FILTER}")
    assert listed(html) == ["Free Lab", "Imaging Centre"]
    assert "Free 1 h between 2026-03-04 and 2026-03-04" in html


def test_query_count_does_not_grow_with_labs_and_equipment(app, frozen_clock, count_queries,
                                                         make_lab, make_equipment, make_user,
                                                         make_org):
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    urls = [f"/labs?{FILTER}&hours=2", f"/labs?{FILTER}&hours=2&country=DE&q=lab",
            f"/map/labs.geojson?{FILTER}&hours=2"]

    def grow(n: int) -> None:
        for _ in range(n):
            lab = make_lab(**APPROVING, hours=((8, 12), (13, 17)))
            for k in range(3):
                item = make_equipment(lab, booking_unit="hour")
                if k == 0:
                    book(app, member, item, berlin(2026, 3, 4, 8), berlin(2026, 3, 4, 10))

    grow(2)
    small = {u: count_queries(u) for u in urls}
    grow(10)
    large = {u: count_queries(u) for u in urls}
    assert small == large
    assert "12 labs" in page(app.test_client(), f"/labs?{FILTER}&hours=2")



@pytest.mark.parametrize("app_config", [{"GEOJSON_CACHE_SECONDS": 60, "FACET_CACHE_SECONDS": 60}])
def test_a_booking_made_shows_in_the_filter_at_once_with_caches_on(
        app, client, catalogue, make_user, make_org, app_config):
    # Issue 13: answers that depend on bookings are never served stale, caches or not.
    url = f"/labs?{FILTER}&hours=4"
    assert listed(page(client, url)) == ["Free Lab"]
    assert names(client, f"/map/labs.geojson?{FILTER}&hours=4") == ["Free Lab"]
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    with app.app_context():
        tester = db.session.execute(db.select(Equipment).where(
            Equipment.lab_id == catalogue["free"].id)).scalar_one()
    book(app, member, tester, berlin(2026, 3, 4, 10), berlin(2026, 3, 4, 14))
    assert listed(page(client, url)) == []
    assert names(client, f"/map/labs.geojson?{FILTER}&hours=4") == []
    assert listed(page(client, f"/labs?{FILTER}&hours=3")) == ["Free Lab", "Imaging Centre"]


def names(client, url: str) -> list[str]:
    return [f["properties"]["name"] for f in json.loads(client.get(url).get_data())["features"]]



@pytest.mark.parametrize("hours", [1, 3, 4, 10])
def test_availability_alone_counts_facets_as_a_count_over_its_results_would(
        app, catalogue, hours):
    # With no other criterion the counts are the bare catalogue's minus the labs left out;
    # they must equal a count over the labs found.
    from labnet import clock
    from labnet.permissions import visible_labs
    from labnet.services.catalogue import search
    from labnet.services.catalogue.search import facets
    from labnet.services.catalogue.search.filters import _id_in
    from labnet.services.catalogue.search.query import _taxonomy

    with app.test_request_context():
        query, _ = search.parse_query({"available_from": "2026-03-02",
                                       "available_to": "2026-03-04", "hours": str(hours)})
        found = search.search_labs(None, query, per_page=20, now=clock.utcnow())
        ids = sorted(lab.id for lab in found.items)
        direct = facets._facets(query, _taxonomy(), facets._facet_counts(
            visible_labs(None).where(_id_in(ids, "ids")), clock.utcnow()))
        assert found.facets == direct
        assert found.total == len(ids)
        db.session.rollback()


def test_labs_whose_hours_never_give_the_time_are_kept_per_catalogue_version(app, client,
                                                                             catalogue):
    """The labs whose opening hours never give D hours are kept in the shared cache
    (``free_days._never``): a committed change of opening hours starts a new entry."""
    from datetime import time

    from sqlalchemy import select

    from labnet import caches
    from labnet.models import OpeningHours

    def set_hours(opens: int, closes: int) -> None:
        with app.app_context():
            for row in db.session.scalars(select(OpeningHours).where(
                    OpeningHours.lab_id == catalogue["free"].id)):
                row.opens_at, row.closes_at = time(opens), time(closes)
            db.session.commit()

    url = f"/labs?{FILTER}&hours=8"
    set_hours(8, 12)
    before = caches.versions(["catalogue"])
    assert "Free Lab" not in listed(page(client, url))  # 08–12: never 8 hours
    assert "Free Lab" not in listed(page(client, url))  # the same list, from the cache
    set_hours(8, 17)
    assert caches.versions(["catalogue"]) != before
    assert "Free Lab" in listed(page(client, url))  # a new entry: open 08–17 again


def test_the_map_says_its_free_time_is_the_summary(client, catalogue):
    # The map answers "free for D hours" from the free-time summary (no exact engine over
    # every lab): the page says so, and that the list checks every rule.
    html = page(client, f"/map?{FILTER}&hours=4")
    assert 'id="map-free-note"' in html and "the list view checks every booking rule" in html
    assert 'id="map-free-note"' not in page(client, "/map")
