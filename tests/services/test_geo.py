"""services.geo.geocoding: the real gazetteer (built by the migration), locating labs, hand-entered
coordinates, and the online path with a fake geopy geocoder (never the network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeocoderServiceError, GeocoderUnavailable
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point
from sqlalchemy import func, select

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.jobs import run_job
from labnet.models import GazetteerPlace, GeocodeCache, GeocodeRequest, Lab
from labnet.services.geo import geocoding as geo

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# --- the gazetteer ---------------------------------------------------------------------

@pytest.mark.parametrize("query", ["Aachen", "Aachen, Germany", "Aachen, DE", "52062 Aachen",
                                   "aachen", "AACHEN, Deutschland", "Aachen Germany"])
def test_gazetteer_finds_aachen_in_every_common_form(ctx, query):
    place = geo.geocode(query)
    assert place is not None
    assert (place.name, place.country, place.source) == ("Aachen", "DE", "gazetteer")
    assert place.lat == pytest.approx(50.776, abs=0.01)
    assert place.lon == pytest.approx(6.083, abs=0.01)
    assert place.timezone == "Europe/Berlin"


@pytest.mark.parametrize(("query", "name", "country"), [
    ("München", "Munich", "DE"), ("Munich", "Munich", "DE"), ("Muenchen", "Munich", "DE"),
    ("Gent", "Gent", "BE"), ("Ghent", "Gent", "BE"), ("Gand", "Gent", "BE"),
    ("Köln", "Köln", "DE"), ("Cologne", "Köln", "DE"),
    ("1012 AB Amsterdam", "Amsterdam", "NL"), ("Steinbachstraße 15, 52074 Aachen", "Aachen", "DE"),
])
def test_gazetteer_knows_local_and_english_names(ctx, query, name, country):
    place = geo.geocode(query)
    assert place is not None and (place.name, place.country) == (name, country)


def test_gazetteer_country_restricts_the_answer(ctx):
    assert geo.geocode("Cologne", country="IT").country == "IT"
    assert geo.geocode("Cologne, Italy").country == "IT"
    assert geo.geocode("Aachen", country="FR") is None


def test_gazetteer_returns_none_for_an_unknown_place(ctx):
    assert geo.geocode("Xyzzyville") is None
    assert geo.geocode("Xyzzyville, Germany") is None
    assert geo.geocode("   ") is None


def test_gazetteer_suggests_the_time_zone(ctx):
    assert geo.geocode("Lisboa").timezone == "Europe/Lisbon"
    assert geo.geocode("Gent").timezone == "Europe/Brussels"
    assert geo.geocode("Helsinki").timezone == "Europe/Helsinki"


def test_gazetteer_is_a_geopy_geocoder_that_never_uses_the_network(ctx):
    geocoder = geo.GazetteerGeocoder()
    location = geocoder.geocode("Ghent, Belgium")
    assert location.address == "Gent, BE"
    assert location.raw["timezone"] == "Europe/Brussels"
    several = geocoder.geocode("Frankfurt", exactly_one=False)
    assert len(several) >= 2 and several[0].raw["name"] == "Frankfurt am Main"
    with pytest.raises(GeocoderServiceError):
        geocoder.adapter.get_json("https://example.org", timeout=1, headers={})


def test_gazetteer_places_every_demo_centre_city_with_its_time_zone(ctx):
    from labnet import data

    for centre in data.demo_centres():
        place = geo.geocode(centre["city"], country=centre["country"])
        assert place is not None, centre["city"]
        assert geo.distance_km(centre["lat"], centre["lon"], place.lat, place.lon) < 20
        assert place.timezone == centre["timezone"], centre["city"]


def test_gazetteer_holds_europe_with_alternate_names(ctx):
    count = db.session.scalar(select(func.count()).select_from(GazetteerPlace))
    assert count > 70_000
    countries = set(db.session.scalars(select(GazetteerPlace.country).distinct()))
    assert {"DE", "FR", "IT", "ES", "PL", "BE", "NL", "IS", "CY", "TR"} <= countries
    assert "US" not in countries


def test_nearest_place_and_radius_prefilter(ctx):
    near = geo.nearest_place(50.78, 6.09)
    assert near.name == "Aachen"
    rows = db.session.scalars(select(GazetteerPlace).where(
        geo.bbox_condition(GazetteerPlace.lat, GazetteerPlace.lon, 50.776, 6.083, 30))).all()
    within = [r for r in rows if geo.distance_km(50.776, 6.083, r.lat, r.lon) <= 30]
    assert any(r.name == "Eschweiler" for r in within)
    assert all(r.name != "Köln" for r in within)  # 63 km away
    assert len(rows) < 1000  # a box, not the whole table


# --- labs ------------------------------------------------------------------------------

def _lab(make_lab, **kw) -> Lab:
    kw.setdefault("lat", None)
    kw.setdefault("lon", None)
    made = make_lab(**kw)
    return db.session.get(Lab, made.id)


def test_locate_lab_places_it_from_its_city(ctx, make_lab):
    lab = _lab(make_lab, city="Gent", country="BE", postal_code="9000", timezone="")
    result = geo.locate_lab(lab, now=NOW)
    assert result.status == "placed"
    assert (lab.lat, lab.lon) == (result.place.lat, result.place.lon)
    assert lab.coords_source == "gazetteer"
    assert lab.timezone == "Europe/Brussels"  # the empty zone took the suggestion


def test_locate_lab_uses_the_country_of_the_lab(ctx, make_lab):
    lab = _lab(make_lab, city="Cologne", country="IT")
    assert geo.locate_lab(lab, now=NOW).place.country == "IT"


def test_locate_lab_never_overwrites_manual_coordinates(ctx, make_lab):
    lab = _lab(make_lab, city="Aachen", country="DE")
    geo.set_manual_coordinates(lab, 50.7800, 6.0500)
    result = geo.locate_lab(lab, now=NOW)
    assert result.status == "kept_manual" and result.place is None
    assert (lab.lat, lab.lon, lab.coords_source) == (50.78, 6.05, "manual")


def test_locate_lab_not_found_leaves_the_coordinates(ctx, make_lab):
    lab = _lab(make_lab, city="Xyzzyville", country="DE", lat=50.0, lon=6.0,
               coords_source="seed")
    result = geo.locate_lab(lab, now=NOW)
    assert result == geo.LocateResult("not_found", None)
    assert (lab.lat, lab.lon, lab.coords_source) == (50.0, 6.0, "seed")


def test_locate_lab_without_any_address_is_not_found(ctx, make_lab):
    lab = _lab(make_lab, city="", address="", country="DE")
    assert geo.locate_lab(lab, now=NOW).status == "not_found"


def test_existing_lab_keeps_its_chosen_time_zone(ctx, make_lab):
    lab = _lab(make_lab, city="München", country="DE", timezone="Europe/Brussels")
    result = geo.locate_lab(lab, now=NOW)
    assert result.place.timezone == "Europe/Berlin"  # offered to the form
    assert lab.timezone == "Europe/Brussels"


@pytest.mark.parametrize("timezone", [None, "", "Europe/Brussels"])
def test_new_lab_takes_the_suggested_time_zone(ctx, timezone):
    lab = Lab(name="New", slug="new", city="München", country="DE", timezone=timezone)
    assert geo.locate_lab(lab, now=NOW).status == "placed"
    assert lab.timezone == "Europe/Berlin"
    assert lab not in db.session  # locating a new lab does not save it


def test_new_lab_keeps_an_explicit_time_zone(ctx):
    lab = Lab(name="New", slug="new", city="München", country="DE", timezone="Europe/Vienna")
    geo.locate_lab(lab, now=NOW)
    assert lab.timezone == "Europe/Vienna"


@pytest.mark.parametrize(("lat", "lon", "field"), [
    (90.5, 6.0, "lat"), (-91, 6.0, "lat"), (50.0, 180.01, "lon"), (50.0, -200, "lon"),
    ("abc", 6.0, "lat"), (50.0, None, "lon"), (float("nan"), 6.0, "lat"),
])
def test_set_manual_coordinates_refuses_out_of_range_on_the_right_field(ctx, make_lab, lat,
                                                                         lon, field):
    lab = _lab(make_lab, lat=50.0, lon=6.0, coords_source="gazetteer")
    with pytest.raises(RuleViolation) as refused:
        geo.set_manual_coordinates(lab, lat, lon)
    assert refused.value.field == field
    limit = "90" if field == "lat" else "180"
    assert f"between -{limit} and {limit}" in refused.value.message
    assert (lab.lat, lab.lon, lab.coords_source) == (50.0, 6.0, "gazetteer")


def test_set_manual_coordinates_accepts_the_edges_and_marks_them_manual(ctx, make_lab):
    lab = _lab(make_lab)
    geo.set_manual_coordinates(lab, -90, 180)
    assert (lab.lat, lab.lon, lab.coords_source) == (-90.0, 180.0, "manual")
    geo.set_manual_coordinates(lab, "50.5", "6.25")  # form strings are fine
    assert (lab.lat, lab.lon) == (50.5, 6.25)
    geo.clear_manual_coordinates(lab)
    assert geo.locate_lab(lab, now=NOW).status == "placed"


# --- the online provider, faked --------------------------------------------------------

class _NoNetwork(BaseSyncAdapter):
    def get_json(self, url, *, timeout, headers):
        raise AssertionError("a test touched the network")

    get_text = get_json


class FakeOnlineGeocoder(Geocoder):
    """Stands in for Nominatim: answers from a dict and counts the calls."""

    def __init__(self, answers: dict[str, tuple[str, float, float]], fail: bool = False):
        super().__init__(adapter_factory=_NoNetwork)
        self.answers = answers
        self.fail = fail
        self.calls: list[tuple[str, str | None]] = []

    def geocode(self, query, *, exactly_one=True, country_codes=None, **_kw):
        self.calls.append((query, country_codes))
        if self.fail:
            raise GeocoderUnavailable("service down")
        hit = self.answers.get(query)
        return Location(hit[0], Point(hit[1], hit[2]), {}) if hit else None


ONLINE = {
    "Steinbachstraße 15, 52074 Aachen": ("Fraunhofer ILT, Steinbachstraße 15, Aachen",
                                         50.7795, 6.0459),
    "Aachen, Germany": ("Aachen, Nordrhein-Westfalen, Deutschland", 50.7760, 6.0838),
}


class TestOnlineProvider:
    @pytest.fixture
    def app_config(self):
        return {"GEOCODER": "nominatim", "NOMINATIM_USER_AGENT": "LabNet-tests/1.0 (t@x.test)",
                "NOMINATIM_DOMAIN": "nominatim.test", "GEOCODE_MIN_DELAY": 0}

    @pytest.fixture
    def fake(self, monkeypatch):
        fake = FakeOnlineGeocoder(dict(ONLINE))
        monkeypatch.setattr(geo, "make_online_geocoder", lambda config: fake)
        return fake

    def test_answers_are_cached_so_each_query_is_asked_once(self, ctx, fake):
        with geo.online_geocoding():
            first = geo.geocode("Aachen, Germany", now=NOW)
            second = geo.geocode("Aachen, Germany", now=NOW)
            missing = geo.geocode("Xyzzyville", now=NOW)
            again = geo.geocode("xyzzyville", now=NOW)
        assert first.source == "online" and second.source == "cache"
        assert (first.lat, first.lon) == (50.7760, 6.0838)
        assert first.timezone == "Europe/Berlin" and first.country == "DE"  # nearest place
        assert missing is None and again is None
        assert fake.calls == [("Aachen, Germany", None), ("Xyzzyville", None)]
        rows = {r.query_key: r.found for r in db.session.scalars(select(GeocodeCache))}
        assert rows == {"aachen germany|": True, "xyzzyville|": False}

    def test_a_cached_not_found_is_asked_again_after_its_ttl(self, ctx, fake):
        with geo.online_geocoding():
            geo.geocode("Xyzzyville", now=NOW)
            geo.geocode("Xyzzyville", now=NOW + timedelta(days=31))
        assert len(fake.calls) == 2

    def test_a_request_never_calls_it_but_queues_the_miss(self, app, fake):
        with app.test_request_context("/"):
            place = geo.geocode("Aachen, Germany", now=NOW)
            assert place.source == "gazetteer"  # the offline answer meanwhile
            geo.geocode("Aachen, Germany", now=NOW)  # queued once only
            db.session.commit()
            assert fake.calls == []
            assert db.session.scalar(select(func.count()).select_from(GeocodeRequest)) == 1

    def test_lab_saved_in_a_request_is_queued_then_placed_by_the_job(self, app, make_lab,
                                                                     fake):
        made = make_lab(address="Steinbachstraße 15", postal_code="52074", city="Aachen",
                        country="DE", lat=None, lon=None)
        with app.test_request_context("/"):
            lab = db.session.get(Lab, made.id)
            result = geo.locate_lab(lab, now=NOW)
            assert result.status == "queued"
            assert result.place.source == "gazetteer"
            assert lab.coords_source == "gazetteer"  # on the map at once, city-level
            db.session.commit()
        assert fake.calls == []
        with app.app_context():
            outcome = run_job("geocode-pending", now=NOW)
            assert outcome.status == "ran" and outcome.result["placed"] == 1
            lab = db.session.get(Lab, made.id)
            assert (lab.lat, lab.lon, lab.coords_source) == (50.7795, 6.0459, "online")
            assert db.session.scalar(select(func.count()).select_from(GeocodeRequest)) == 0
            run_job("geocode-pending", now=NOW)
        assert fake.calls == [("Steinbachstraße 15, 52074 Aachen", "de")]

    def test_a_new_lab_is_queued_without_being_flushed_half_made(self, app, ctx, fake):
        with app.test_request_context("/"):
            lab = Lab(name="New", slug="new", city="Aachen", country="DE")  # no organisation
            result = geo.locate_lab(lab, now=NOW)
            assert result.status == "queued" and lab.timezone == "Europe/Berlin"
            assert lab in db.session.new  # saved with its request by the creator's commit
            db.session.rollback()

    def test_the_job_leaves_coordinates_entered_meanwhile(self, app, make_lab, fake):
        made = make_lab(address="Steinbachstraße 15", postal_code="52074", city="Aachen",
                        country="DE", lat=None, lon=None)
        with app.app_context():
            lab = db.session.get(Lab, made.id)
            assert geo.locate_lab(lab, now=NOW).status == "queued"
            geo.set_manual_coordinates(lab, 50.1, 6.1)
            db.session.commit()
            assert run_job("geocode-pending", now=NOW).result["kept_manual"] == 1
            lab = db.session.get(Lab, made.id)
            assert (lab.lat, lab.lon, lab.coords_source) == (50.1, 6.1, "manual")

    def test_a_failing_service_keeps_the_request_for_the_next_run(self, app, make_lab, fake):
        fake.fail = True
        made = make_lab(city="Aachen", country="DE", lat=None, lon=None)
        with app.app_context():
            geo.locate_lab(db.session.get(Lab, made.id), now=NOW)
            db.session.commit()
            assert run_job("geocode-pending", now=NOW).result["failed"] == 1
            request = db.session.scalar(select(GeocodeRequest))
            assert request.attempts == 1
            assert db.session.get(Lab, made.id).coords_source == "gazetteer"

    def test_nominatim_without_a_user_agent_fails_loudly(self, app, ctx):
        app.config["NOMINATIM_USER_AGENT"] = None
        with pytest.raises(geo.GeocoderConfigError, match="NOMINATIM_USER_AGENT"):
            geo.geocode("Aachen")

    def test_the_real_nominatim_is_built_from_config(self, app, ctx):
        from geopy.geocoders import Nominatim

        app.config["GEOCODE_TIMEOUT"] = 7
        geocoder = geo.make_online_geocoder(app.config)
        assert isinstance(geocoder, Nominatim)
        assert geocoder.headers["User-Agent"] == "LabNet-tests/1.0 (t@x.test)"
        assert geocoder.domain == "nominatim.test" and geocoder.timeout == 7


def test_an_unknown_geocoder_setting_fails_loudly(app, ctx):
    app.config["GEOCODER"] = "google"
    with pytest.raises(geo.GeocoderConfigError, match="GEOCODER"):
        geo.geocode("Aachen")


def test_the_migration_s_frozen_gazetteer_keys_agree_with_fold_name(ctx):
    # The migration folds names with its own frozen copy; lookups fold with the live
    # function. Every stored key must be what the live function makes of its name.
    rows = db.session.execute(select(GazetteerPlace.name, GazetteerPlace.name_key)).all()
    assert len(rows) > 70_000
    differing = [(name, key) for name, key in rows if geo.fold_name(name)[:200] != key]
    assert differing == []
