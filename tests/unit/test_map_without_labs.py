"""``maps.without_labs``: the map of every lab less some labs, cut out of the stored GeoJSON
body as bytes, must equal the GeoJSON written for the labs that remain."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from labnet.services.catalogue import maps

# Names that contain the separators the cut relies on: JSON escapes their quotes.
NAMES = ['Plain', 'Tricky ,{"type":"Feature","geometry":', 'Ends "],"ket_names":{',
         'Props "properties":{"id":2,', "Ünïcödé Łab"]


def _labs() -> list[SimpleNamespace]:
    return [SimpleNamespace(id=i + 1, slug=f"lab-{i + 1}", name=name, kind_name="RTO",
                            city="Gent", country="BE" if i % 2 else "DE", lat=50.0 + i,
                            lon=4.0 + i, equipment_count=i, ket_codes=("AMT",) if i else ())
            for i, name in enumerate(NAMES)]


def _build(labs: list[SimpleNamespace]) -> maps.MapData:
    return maps.build_geojson(labs, url_template="/labs/{slug}", ket_names={"AMT": "AM"})


@pytest.mark.parametrize("left_out", [set(), {1}, {2}, {5}, {2, 3}, {1, 2, 3, 4, 5}, {99}])
def test_the_cut_equals_the_features_written_for_the_rest(left_out):
    labs = _labs()
    whole = _build(labs)
    cut = maps.without_labs(whole.body, left_out)
    expected = json.loads(_build([lab for lab in labs if lab.id not in left_out]).body)
    got = json.loads(cut.body)
    assert got["features"] == expected["features"]
    assert cut.count == len(expected["features"])
    # The code tables stay the whole map's (a superset of what the features use).
    assert got["ket_names"] == json.loads(whole.body)["ket_names"]
    if not left_out & {lab.id for lab in labs}:
        assert cut.body == whole.body and cut.etag == whole.etag
    else:
        assert cut.etag != whole.etag


def test_an_empty_map_stays_empty():
    empty = _build([])
    assert json.loads(maps.without_labs(empty.body, {1}).body)["features"] == []
