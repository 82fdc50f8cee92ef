"""Pure geography: geodesic distances, radius boxes, name folding and query parsing."""

from __future__ import annotations

import pytest
from geopy.distance import geodesic

from labnet.services.geo.geocoding import (
    APPROX_ERROR,
    _strip_postal,
    approx_distance_km,
    bounding_box,
    country_code,
    distance_km,
    fold_name,
    nearest_approx_km,
    parse_query,
)


def test_distance_aachen_to_cologne_is_geodesic():
    d = distance_km(50.77664, 6.08342, 50.93333, 6.95)
    assert d == pytest.approx(geodesic((50.77664, 6.08342), (50.93333, 6.95)).km)
    assert 62 < d < 65


def test_distance_is_symmetric_and_zero_on_one_point():
    assert distance_km(48.1, 11.6, 52.5, 13.4) == pytest.approx(distance_km(52.5, 13.4, 48.1, 11.6))
    assert distance_km(48.1, 11.6, 48.1, 11.6) == 0


def test_distance_across_the_antimeridian_is_short():
    assert distance_km(65.0, 179.9, 65.0, -179.9) < 10


def _inside(box, lat, lon):
    min_lat, max_lat, min_lon, max_lon = box
    return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon


@pytest.mark.parametrize(("lat", "lon"), [(0.0, 0.0), (50.77, 6.08), (-33.9, 18.4), (70.0, 25.0),
                                      (60.0, 100.0)])
@pytest.mark.parametrize("radius", [0.5, 10.0, 100.0, 1000.0])
def test_bounding_box_contains_every_point_at_the_radius(lat, lon, radius):
    box = bounding_box(lat, lon, radius)
    for bearing in range(0, 360, 5):
        point = geodesic(kilometers=radius).destination((lat, lon), bearing)
        assert _inside(box, point.latitude, point.longitude), (bearing, point, box)


def test_bounding_box_is_tight_enough_to_prefilter():
    min_lat, max_lat, min_lon, max_lon = bounding_box(50.0, 8.0, 100.0)
    # 100 km is about 0.9° of latitude and 1.4° of longitude at 50° N.
    assert 0.85 < (max_lat - min_lat) / 2 < 0.95
    assert 1.3 < (max_lon - min_lon) / 2 < 1.5


def test_bounding_box_near_the_north_pole_takes_every_longitude():
    min_lat, max_lat, min_lon, max_lon = bounding_box(89.9, 10.0, 50.0)
    assert max_lat == 90.0 and min_lat < 89.9
    assert (min_lon, max_lon) == (-180.0, 180.0)


def test_bounding_box_near_the_south_pole_takes_every_longitude():
    min_lat, _max_lat, min_lon, max_lon = bounding_box(-89.95, -70.0, 20.0)
    assert min_lat == -90.0
    assert (min_lon, max_lon) == (-180.0, 180.0)


def test_bounding_box_reaching_the_pole_without_crossing_it_takes_every_longitude():
    # 88.5° N with 300 km: the circle covers the pole, so no longitude may be left out.
    box = bounding_box(88.5, 0.0, 300.0)
    assert box[2:] == (-180.0, 180.0)
    assert _inside(box, 89.9, 180.0)


@pytest.mark.parametrize("lon", [179.9, -179.9])
def test_bounding_box_across_the_antimeridian_takes_every_longitude(lon):
    box = bounding_box(65.0, lon, 50.0)
    assert box[2:] == (-180.0, 180.0)
    assert _inside(box, 65.0, -lon)


def test_bounding_box_of_radius_zero_is_the_point():
    assert bounding_box(50.0, 6.0, 0.0) == (50.0, 50.0, 6.0, 6.0)


def test_bounding_box_refuses_a_negative_radius():
    with pytest.raises(ValueError, match="negative"):
        bounding_box(50.0, 6.0, -1.0)


@pytest.mark.parametrize(("text", "key"), [
    ("München", "munchen"),
    ("MÜNCHEN", "munchen"),
    ("Saint-Étienne", "saint etienne"),
    ("Łódź", "lodz"),
    ("Kraków", "krakow"),
    ("Straße", "strasse"),
    ("Ærøskøbing", "aeroskobing"),
    ("İstanbul", "istanbul"),
    ("  St. Gallen ", "st gallen"),
    ("'s-Hertogenbosch", "s hertogenbosch"),
    ("", ""),
])
def test_fold_name_folds_case_accents_and_punctuation(text, key):
    assert fold_name(text) == key


@pytest.mark.parametrize(("part", "town"), [
    ("52062 Aachen", "Aachen"),
    ("D-52062 Aachen", "Aachen"),
    ("Aachen 52062", "Aachen"),
    ("1012 AB Amsterdam", "Amsterdam"),
    ("Amsterdam 1012 AB", "Amsterdam"),
    ("London SW1A 1AA", "London"),
    ("75001 Paris Cedex 01", "Paris"),
    ("Frankfurt am Main", "Frankfurt am Main"),
])
def test_strip_postal_keeps_the_town(part, town):
    assert _strip_postal(part) == town


@pytest.mark.parametrize(("text", "code"), [
    ("Germany", "DE"), ("DE", "DE"), ("de", "DE"), ("DEU", "DE"), ("Deutschland", "DE"),
    ("Belgique", "BE"), ("The Netherlands", "NL"), ("UK", "GB"), ("Österreich", "AT"),
    ("Nowhere-land", None), ("", None), (None, None),
])
def test_country_code_accepts_common_forms(text, code):
    assert country_code(text) == code


def test_parse_query_splits_town_and_country():
    assert parse_query("52062 Aachen, Germany") == (["aachen"], "DE")
    assert parse_query("Aachen, DE") == (["aachen"], "DE")
    assert parse_query("Aachen") == (["aachen"], None)
    assert parse_query("Aachen", "de") == (["aachen"], "DE")
    assert parse_query("Steinbachstraße 15, 52074 Aachen") == (
        ["aachen", "steinbachstrasse"], None)


@pytest.mark.parametrize(("a", "b"), [
    ((50.77664, 6.08342), (50.93333, 6.95)),       # Aachen – Cologne
    ((38.72, -9.14), (60.17, 24.94)),              # Lisbon – Helsinki
    ((64.15, -21.94), (35.17, 33.36)),             # Reykjavík – Nicosia
    ((0.0, 0.0), (0.0, 179.0)),                    # along the equator
])
def test_the_approximate_distance_stays_within_its_margin(a, b):
    exact = distance_km(*a, *b)
    approx = approx_distance_km(*a, *b)
    assert abs(approx - exact) <= exact * APPROX_ERROR
    antipode = (-a[0], a[1] - 180 if a[1] > 0 else a[1] + 180)  # the farthest point
    assert nearest_approx_km(*a, [antipode, b]) == pytest.approx(approx)
