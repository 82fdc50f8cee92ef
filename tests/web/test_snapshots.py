"""The answers the catalogue keeps up to date on writes (services.catalogue.snapshots): the
map of every lab and the bare catalogue's facet counts are read from ``catalogue_snapshot``,
never computed per request, and a write shows at once with every cache on (DESIGN rule 9)."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from labnet import clock
from labnet.extensions import db
from labnet.models import Accreditation, AccreditationScheme, CatalogueSnapshot, Lab
from labnet.services.catalogue import search, snapshots
from labnet.services.catalogue.search import facets
from tests.fixtures.auth import post_form
from tests.web.test_manage import lab_form

CACHES_ON = {"GEOJSON_CACHE_SECONDS": 60, "FACET_CACHE_SECONDS": 60}


def names(response) -> list[str]:
    return [f["properties"]["name"] for f in json.loads(response.get_data())["features"]]


def _no_live_answers(monkeypatch) -> None:
    """From here on, computing the map or the bare counts per request fails the test."""
    writing: list[int] = []
    real_rebuild, real_counts = snapshots.rebuild, facets._facet_counts

    def rebuild(session):
        writing.append(1)
        try:
            real_rebuild(session)
        finally:
            writing.pop()

    def counts(*a, **kw):
        assert writing, "counted per request instead of read from the snapshot"
        return real_counts(*a, **kw)

    def refuse(*_a, **_kw):
        raise AssertionError("built per request instead of read from the snapshot")

    monkeypatch.setattr(snapshots, "rebuild", rebuild)
    monkeypatch.setattr(facets, "_facet_counts", counts)
    monkeypatch.setattr(search, "map_labs", refuse)  # the map route's; the writer has its own


def _unbuild(app) -> None:
    with app.app_context():
        db.session.execute(update(CatalogueSnapshot).values(etag="", body=None, body_gz=None))
        db.session.commit()


@pytest.mark.parametrize("app_config", [CACHES_ON])
def test_a_published_lab_shows_on_the_map_and_the_list_at_once(app, client, people, login,
                                                                app_config, monkeypatch):
    assert names(client.get("/map/labs.geojson")) == ["Matrix Lab", "Other Lab"]
    assert "2 labs" in client.get("/labs").get_data(as_text=True)
    login(people.manager)
    url = f"/manage/labs/{people.draft.slug}"
    assert post_form(client, url, lab_form(name="Draft Lab")).status_code == 302  # published
    _no_live_answers(monkeypatch)
    assert names(client.get("/map/labs.geojson")) == ["Draft Lab", "Matrix Lab", "Other Lab"]
    html = client.get("/labs").get_data(as_text=True)
    assert "3 labs" in html and "Draft Lab" in html
    # Unpublished again: gone from both at once.
    assert post_form(client, url, lab_form(name="Draft Lab", is_published=None)
                     ).status_code == 302
    assert names(client.get("/map/labs.geojson")) == ["Matrix Lab", "Other Lab"]
    assert "2 labs" in client.get("/labs").get_data(as_text=True)


def test_map_snapshot_is_the_live_answer_plain_and_gzipped(app, client, make_lab, monkeypatch):
    make_lab(name="Alpha Lab", kets=("MNEP", "MNEP.PIC"))
    make_lab(name="Beta Lab", country="FR", city="Lyon")
    stored = client.get("/map/labs.geojson")
    stored_gz = client.get("/map/labs.geojson", headers={"Accept-Encoding": "gzip"})
    _unbuild(app)
    live = client.get("/map/labs.geojson")
    live_gz = client.get("/map/labs.geojson", headers={"Accept-Encoding": "gzip"})
    assert stored.get_data() == live.get_data() and names(stored) == ["Alpha Lab", "Beta Lab"]
    assert stored.headers["ETag"] == live.headers["ETag"]
    assert stored_gz.headers["ETag"] == live_gz.headers["ETag"]
    assert stored_gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(stored_gz.get_data()) == live.get_data()
    assert client.get("/map/labs.geojson", headers={"If-None-Match": stored.headers["ETag"]}
                      ).status_code == 304


def test_facet_snapshot_gives_the_live_counts(app, client, make_lab, make_equipment):
    lab = make_lab(name="Alpha Lab", kets=("MNEP", "MNEP.PIC"))
    make_equipment(lab)
    make_lab(name="Beta Lab", country="FR", city="Lyon", kind_code="kettc")
    make_lab(name="Hidden Lab", is_published=False)
    stored = _without_token(client.get("/labs").get_data(as_text=True))
    _unbuild(app)
    assert _without_token(client.get("/labs").get_data(as_text=True)) == stored
    assert "2 labs" in stored and "Hidden Lab" not in stored


def _without_token(html: str) -> str:
    # the meta tag, and the hidden inputs (the header's language menu has one)
    return re.sub(r'(name="csrf[-_]token" (?:type="hidden" )?(?:content|value))="[^"]+"',
                  r"\1", html)


def test_a_rolled_back_write_leaves_the_snapshots_as_they_were(app, client, make_lab):
    make_lab(name="Alpha Lab")
    before = client.get("/map/labs.geojson").get_data()
    with app.app_context():
        db.session.execute(update(Lab).values(name="Renamed Lab"))
        db.session.rollback()
    assert client.get("/map/labs.geojson").get_data() == before


def test_a_write_from_outside_a_request_rebuilds_with_the_apps_own_lab_links(app, client,
                                                                           make_lab):
    # make_lab writes in an app context without a request, as CLI commands and jobs do.
    lab = make_lab(name="Alpha Lab")
    with app.app_context():
        row = db.session.get(CatalogueSnapshot, "map")
        assert row is not None and row.etag and row.variant == "/labs/{slug}"
    assert json.loads(client.get("/map/labs.geojson").get_data())["features"][0][
        "properties"]["url"] == f"/labs/{lab.slug}"


@pytest.mark.parametrize("app_config", [{"APPLICATION_ROOT": "/other/"}])
def test_a_reader_with_other_lab_links_gets_the_live_answer(app, make_lab, app_config):
    make_lab(name="Alpha Lab")
    with app.app_context():
        assert snapshots.map_document("/somewhere/{slug}", gzipped=False) is None
        assert snapshots.map_document(snapshots.lab_url_template(), gzipped=False) is not None


@pytest.mark.parametrize("app_config", [CACHES_ON])
def test_an_accreditation_expiring_leaves_the_bare_counts_the_next_day(
        frozen_clock, app, client, make_lab, app_config):
    lab = make_lab(name="Alpha Lab")
    today = clock.utcnow().date()
    with app.app_context():
        scheme = db.session.scalars(select(AccreditationScheme.code)).first()
        db.session.add(Accreditation(lab_id=lab.id, scheme_code=scheme, status="verified",
                                     valid_until=today))
        db.session.commit()
    assert _counts(app, clock.utcnow())[("accreditation", scheme)] == 1
    assert "Alpha Lab" in client.get(f"/labs?accreditation={scheme}").get_data(as_text=True)
    # The next day nothing was written, yet the expired accreditation is no longer counted.
    frozen_clock.move_to(datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                          tzinfo=UTC) + timedelta(hours=1))
    assert ("accreditation", scheme) not in _counts(app, clock.utcnow())
    assert f'value="{scheme}"' not in client.get("/labs").get_data(as_text=True)


def _counts(app, now: datetime) -> dict:
    with app.app_context():
        counts = facets.bare_counts(now)
        db.session.rollback()
        return counts


def test_a_booking_rebuilds_no_snapshot_and_clears_no_cache(app, frozen_clock, make_lab,
                                                            make_equipment, make_user,
                                                            make_org, monkeypatch):
    # The booking engine's row lock (equipment.booking_seq) is bookkeeping: nothing the
    # map or the counts show changes, so a booking must not pay for a rebuild.
    from labnet import caches
    from labnet.models import User
    from labnet.services.booking import engine
    from tests.fixtures.berlin import APPROVING, NOW, berlin

    lab = make_lab(**APPROVING, name="Imaging Centre", hours=((8, 17),))
    microscope = make_equipment(lab, name="Microscope", booking_unit="hour")
    make_user(manages=(lab,))  # a managed lab takes bookings (rule 8)
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    rebuilt: list[int] = []
    monkeypatch.setattr(snapshots, "rebuild", lambda _session: rebuilt.append(1))
    generation = caches.generation()
    with app.test_request_context():
        engine.request_booking(db.session.get(User, member.id), microscope.id,
                               berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 11), "Imaging",
                               now=NOW)
        db.session.commit()
    assert rebuilt == [] and caches.generation() == generation
    make_equipment(lab, name="Second microscope")  # a catalogue write still rebuilds
    assert rebuilt == [1] and caches.generation() > generation
