"""Open data: the daily job writes the public catalogue as files (nothing private in them),
served with ETag and Last-Modified, described in DCAT-AP."""

from __future__ import annotations

import csv
import io
import json

import pytest

from labnet import clock
from labnet.extensions import db
from labnet.jobs import run_job
from labnet.models import Role, User
from labnet.services.networks import rules as nw


@pytest.fixture
def catalogue(app, frozen_clock, make_lab, make_equipment, make_user):
    lab = make_lab(name="Open Łukasiewicz Lab", contact_email="jane.doe@lab.example",
                   contact_name="Jane Doe", lat=50.06, lon=19.94)
    make_equipment(lab, name="Open SEM")
    make_equipment(lab, name="Retired SEM", status="retired")
    draft = make_lab(name="Secret Draft Lab", is_published=False)
    make_equipment(draft, name="Draft laser")
    coordinator = make_user(roles=(Role.COORDINATOR,))
    with app.test_request_context():
        now = clock.utcnow()
        actor = db.session.get(User, coordinator.id)
        nw.create_network(actor, nw.NetworkFields(name="Open chain", slug="open-chain",
                                                  ecosystem="digital"), now=now)
        nw.create_network(actor, nw.NetworkFields(name="Hidden chain", slug="hidden-chain",
                                                  ecosystem="digital", visibility="members"),
                          now=now)
        db.session.commit()
    return lab


def get(client, url, **kw):
    """The answer, read and closed (files are streamed from disk)."""
    response = client.get(url, **kw)
    response.get_data()
    response.close()
    return response


def _run(app):
    with app.test_request_context():
        return run_job("write-open-data", now=clock.utcnow())


def test_page_says_no_files_before_the_first_dump(client, catalogue):
    assert 'id="no-dump"' in get(client, "/open-data").get_data(as_text=True)
    assert get(client, "/open-data/labs.csv").status_code == 404


def test_job_writes_public_files_only_and_once_a_day(app, client, catalogue):
    outcome = _run(app)
    assert outcome.result["written"] == 16
    assert _run(app).result == {"skipped": clock.utcnow().date().isoformat()}
    everything = ""
    for name in ("labs.csv", "labs.json", "labs.geojson", "labs.jsonld", "equipment.csv",
                 "equipment.json", "equipment.jsonld", "networks.csv", "networks.json",
                 "accreditations.csv", "ket-areas.json"):
        r = get(client, f"/open-data/{name}")
        assert r.status_code == 200, name
        everything += r.get_data(as_text=True)
    assert "Open Łukasiewicz Lab" in everything
    assert "Open SEM" in everything
    assert "Open chain" in everything
    for private in ("Secret Draft Lab", "Draft laser", "Retired SEM", "Hidden chain",
                    "jane.doe@lab.example", "Jane Doe", "@"):
        if private == "@":  # JSON-LD's own keys aside, no e-mail address anywhere
            assert "@lab.example" not in everything
            continue
        assert private not in everything, private
    labs = json.loads(get(client, "/open-data/labs.json").get_data())
    assert [lab["name"] for lab in labs] == ["Open Łukasiewicz Lab"]
    geo = json.loads(get(client, "/open-data/labs.geojson").get_data())
    assert geo["features"][0]["geometry"]["coordinates"] == [19.94, 50.06]
    ld = json.loads(get(client, "/open-data/labs.jsonld").get_data())
    assert ld["@graph"][0]["@type"] == "Organization"
    assert ld["@graph"][0]["location"]["@type"] == "Place"
    products = json.loads(get(client, "/open-data/equipment.jsonld").get_data())
    assert {p["@type"] for p in products["@graph"]} == {"Product"}


def test_csv_is_utf8_with_a_bom_and_files_are_conditional(app, client, catalogue):
    _run(app)
    r = get(client, "/open-data/labs.csv")
    assert r.data.startswith(b"\xef\xbb\xbf") and not r.data[3:].startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0]["name"] == "Open Łukasiewicz Lab"
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    again = get(client, "/open-data/labs.csv", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    since = get(client, "/open-data/labs.csv",
                       headers={"If-Modified-Since": r.headers["Last-Modified"]})
    assert since.status_code == 304
    assert get(client, "/open-data/secrets.csv").status_code == 404
    assert get(client, "/open-data/..%2Fconfig.py").status_code == 404


def test_dcat_catalog_describes_every_file_with_the_licence(app, client, catalogue):
    _run(app)
    r = get(client, "/open-data/catalog.jsonld")
    assert r.mimetype == "application/ld+json"
    body = r.get_json(force=True)
    assert body["@type"] == "dcat:Catalog"
    downloads = [d["dcat:downloadURL"]["@id"] for ds in body["dcat:dataset"]
                 for d in ds["dcat:distribution"]]
    assert any(url.endswith("/open-data/labs.geojson") for url in downloads)
    assert all(ds["dct:license"]["@id"].endswith("/by/4.0/") for ds in body["dcat:dataset"])
    page = get(client, "/open-data").get_data(as_text=True)
    assert "CC BY 4.0" in page and "labs.csv" in page
