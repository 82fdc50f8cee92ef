"""Accreditations in the API and the open data follow the one validity rule
(``validity.currently_valid``): one ends at the lab's own midnight, not at UTC's."""

from __future__ import annotations

from datetime import UTC, date, datetime

from labnet import clock
from labnet.extensions import db
from labnet.jobs import run_job
from labnet.models import Accreditation
from tests.api.test_open_data import get


def test_an_accreditation_leaves_the_api_at_the_labs_midnight(app, client, frozen_clock,
                                                               make_lab):
    helsinki = make_lab(name="Helsinki Lab", timezone="Europe/Helsinki", country="FI")
    with app.app_context():
        db.session.add_all([
            Accreditation(lab_id=helsinki.id, scheme_code="iso-9001", status="verified",
                          certificate_no="ENDS-TODAY", valid_from=date(2025, 1, 1),
                          valid_until=date(2026, 3, 1),
                          verified_at=datetime(2025, 1, 2, tzinfo=UTC)),
            Accreditation(lab_id=helsinki.id, scheme_code="iso-9001", status="claimed",
                          certificate_no="ONLY-CLAIMED", valid_until=date(2027, 1, 1))])
        db.session.commit()

    def listed() -> set[str]:
        items = client.get("/api/v1/accreditations").get_json()["items"]
        on_page = client.get(f"/api/v1/labs/{helsinki.slug}").get_json()["accreditations"]
        assert {a["certificate_no"] for a in on_page} == {a["certificate_no"] for a in items}
        return {a["certificate_no"] for a in items}

    frozen_clock.move_to(datetime(2026, 3, 1, 21, 30, tzinfo=UTC))  # 23:30 in Helsinki
    assert listed() == {"ENDS-TODAY"}
    # 00:30 on 2 March in Helsinki, still 1 March in UTC: it has ended there.
    frozen_clock.move_to(datetime(2026, 3, 1, 22, 30, tzinfo=UTC))
    assert listed() == set()
    with app.test_request_context():
        run_job("write-open-data", now=clock.utcnow())
    assert "ENDS-TODAY" not in get(client, "/open-data/accreditations.csv").get_data(
        as_text=True)
