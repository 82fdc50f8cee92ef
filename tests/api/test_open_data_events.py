"""Upcoming public events in the open data: CSV, JSON and schema.org JSON-LD written by the
daily job, described in the DCAT-AP catalogue, nothing private in them."""

from __future__ import annotations

import csv
import io
import json

from labnet import clock
from labnet.extensions import db
from labnet.jobs import run_job
from labnet.models import Event
from labnet.services.training import registration
from tests.api.test_api_events import ev, make_event  # noqa: F401 (the fixture)
from tests.api.test_open_data import get


def _dump(app, ev):  # noqa: F811
    with app.app_context():
        make_event(ev.lab.id, slug="open-lab-day", title="Open lab day", city="",
                   country=None, kind="open_lab_day")
        vienna = db.session.get_one(Event, ev.vienna_id)
        registration.register(db.session.get_one(type(ev.anna), ev.anna.id), vienna.id,
                              {"q_diet": "vegan"}, now=clock.utcnow())
        db.session.commit()
    with app.test_request_context():
        return run_job("write-open-data", now=clock.utcnow())


def test_events_files_hold_upcoming_public_events_only(app, client, ev):  # noqa: F811
    outcome = _dump(app, ev)
    assert outcome.result["rows"]["events.csv"] == 4
    everything = ""
    for name in ("events.csv", "events.json", "events.jsonld"):
        r = get(client, f"/open-data/{name}")
        assert r.status_code == 200 and r.headers["ETag"], name
        everything += r.get_data(as_text=True)
    for private in ("Secret draft", "Long gone", "secret-room", "meet.example", "vegan",
                    ev.anna.email, "Diet"):
        assert private not in everything, private
    rows = list(csv.DictReader(io.StringIO(get(client, "/open-data/events.csv")
                                           .data.decode("utf-8-sig"))))
    assert [(r["slug"], r["status"]) for r in rows] == [
        ("vienna-meetup", "published"), ("graz-webinar", "published"),
        ("called-off", "cancelled"), ("open-lab-day", "published")]
    vienna = rows[0]
    assert vienna["organisers"] == f"lab:{ev.lab.slug}" and vienna["ket_areas"] == "AMT"
    assert vienna["seats_left"] == "1" and vienna["starts_at"] == "2026-03-10T09:00:00+01:00"
    records = json.loads(get(client, "/open-data/events.json").get_data())
    assert records[0]["organisers"][0]["name"] == "Vienna Lab"
    assert records[0]["price_sme"] == "50.00"


def test_events_jsonld_is_schema_org_event(app, client, ev):  # noqa: F811
    _dump(app, ev)
    graph = {n["@id"].rsplit("/", 1)[1]: n
             for n in json.loads(get(client, "/open-data/events.jsonld").get_data())["@graph"]}
    vienna = graph["vienna-meetup"]
    assert vienna["@type"] == "Event"
    assert vienna["startDate"] == "2026-03-10T09:00:00+01:00"
    assert vienna["endDate"] == "2026-03-11T17:00:00+01:00"
    assert vienna["eventStatus"] == "https://schema.org/EventScheduled"
    assert vienna["location"][0]["@type"] == "Place"  # on site in Vienna, and online
    assert vienna["location"][0]["address"]["addressLocality"] == "Vienna"
    lab_id = f"{app.config['BASE_URL'].rstrip('/')}/labs/{ev.lab.slug}"
    assert vienna["organizer"][0]["@id"] == lab_id  # the lab's node in labs.jsonld
    assert {o["price"] for o in vienna["offers"]} == {"50.00"}
    assert graph["called-off"]["eventStatus"] == "https://schema.org/EventCancelled"
    assert graph["graz-webinar"]["location"]["@type"] == "VirtualLocation"
    assert graph["open-lab-day"]["location"] == {"@type": "Place", "name": "Vienna Lab",
                                                 "url": lab_id}


def test_dcat_catalog_lists_the_events_dataset(app, client, ev):  # noqa: F811
    _dump(app, ev)
    body = get(client, "/open-data/catalog.jsonld").get_json(force=True)
    events = [ds for ds in body["dcat:dataset"] if ds["@id"].endswith("#events")]
    assert len(events) == 1
    formats = {d["dct:format"] for d in events[0]["dcat:distribution"]}
    assert formats == {"CSV", "JSON", "JSONLD"}
    assert all(d["dcat:byteSize"] > 0 for d in events[0]["dcat:distribution"])
    assert "events.jsonld" in get(client, "/open-data").get_data(as_text=True)
