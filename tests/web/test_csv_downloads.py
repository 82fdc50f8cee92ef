"""Every CSV the app serves for download is UTF-8 with a byte-order mark, so spreadsheet
programs read "Łukasiewicz" as written (issue 12 §4). The list below names a request for
each ``.csv`` route; a new CSV route fails here until it is added (and so checked)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from labnet.extensions import db
from labnet.models import Lab
from tests.fixtures.dashboard import PERIOD

NAME = "Łukasiewicz – Instytut Mikroelektroniki i Fotoniki"

# endpoint → the URL to fetch (as an admin, in dash_world)
DOWNLOADS = {
    "dashboard.section_csv": lambda w: "/dashboard/utilisation-labs.csv?" + urlencode(PERIOD),
    "manage.export_equipment": lambda w: f"/manage/labs/{w.aachen.slug}/equipment.csv",
    "manage.equipment_template": lambda w: "/manage/equipment-template.csv",
    "manage.equipment_codes": lambda w: "/manage/equipment-codes.csv",
    "lab_bookings.usage_csv": lambda w: "/manage/bookings/usage.csv?month=2026-02",
    "accreditations.registry_csv": lambda w: "/accreditations.csv",
    "training.participants_csv": lambda w: "/events/csv-course/registrations.csv",
}


def _add_course(app, world) -> None:
    """An event of the Aachen lab for the registrations CSV (its organisers' download)."""
    from datetime import UTC, datetime, timedelta

    from labnet.models.events import Event, EventOrganiser

    start = datetime(2026, 3, 20, 9, tzinfo=UTC)
    with app.app_context():
        event = Event(slug="csv-course", kind="training_course", title=NAME, status="published",
                      starts_at=start, ends_at=start + timedelta(hours=3), questions=[])
        db.session.add(event)
        db.session.flush()
        db.session.add(EventOrganiser(event_id=event.id, lab_id=world.aachen.id))
        db.session.commit()


def test_every_csv_route_is_listed(app):
    csv_routes = {rule.endpoint for rule in app.url_map.iter_rules() if ".csv" in rule.rule}
    assert csv_routes == set(DOWNLOADS)


@pytest.mark.parametrize("endpoint", sorted(DOWNLOADS))
def test_csv_download_is_utf8_with_a_byte_order_mark(app, client, dash_world, quick_login,
                                                     endpoint):
    from tests.fixtures.dashboard import summarise

    with app.app_context():
        db.session.get(Lab, dash_world.aachen.id).name = NAME
        db.session.commit()
    summarise(app)
    if endpoint == "training.participants_csv":
        _add_course(app, dash_world)
    quick_login(client, dash_world.admin)
    response = client.get(DOWNLOADS[endpoint](dash_world))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert not response.data[3:].startswith(b"\xef\xbb\xbf")  # once
    assert "attachment" in response.headers["Content-Disposition"]
    if endpoint == "dashboard.section_csv":
        assert NAME in response.data.decode("utf-8-sig")


# Data sets keep stable snake_case keys as their header in every language (scripts read
# them); reports for people have headers in the reader's language (docs/TRANSLATING.md).
DATA_SETS = {"manage.export_equipment", "manage.equipment_template", "manage.equipment_codes",
             "accreditations.registry_csv"}


@pytest.mark.parametrize("endpoint", sorted(DOWNLOADS))
def test_data_sets_keep_their_keys_and_reports_follow_the_language(app, client, dash_world,
                                                                   quick_login, endpoint):
    from tests.fixtures.dashboard import summarise

    summarise(app)
    if endpoint == "training.participants_csv":
        _add_course(app, dash_world)
    quick_login(client, dash_world.admin)

    def header(language: str) -> str:
        response = client.get(DOWNLOADS[endpoint](dash_world),
                              headers={"Accept-Language": language})
        assert response.status_code == 200
        return response.data.decode("utf-8-sig").splitlines()[0]

    english, german = header("en"), header("de")
    if endpoint in DATA_SETS:
        assert german == english
        assert english == english.lower() and " " not in english
    else:
        assert german != english
