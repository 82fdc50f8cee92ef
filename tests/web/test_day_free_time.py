"""Day-booked equipment in the catalogue's "free for D hours" results: free time is told in
days from the lab's opening time ("free from Mon 9 Mar 07:30, 5 days"), never "00:00,
120 h"; hourly equipment keeps its hours."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, time

from labnet.extensions import db
from labnet.models import OpeningHours
from labnet.services.booking.availability import FreeWindow


def _windows(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    html = html_lib.unescape(response.get_data(as_text=True))
    return [" ".join(re.sub(r"<[^>]+>", "", li).split())
            for li in re.findall(r'<li class="free-window"[^>]*>(.*?)</li>', html, re.S)]


def test_day_booked_equipment_is_free_in_days_from_opening_time(app, client, frozen_clock,
                                                               make_lab, make_equipment):
    lab = make_lab(name="Furnace Hall", timezone="Europe/Berlin", requires_approval=True,
                   min_lead_hours=24, max_advance_days=60)
    with app.app_context():
        for weekday in range(5):  # Monday to Friday 07:30–16:30
            db.session.add(OpeningHours(lab_id=lab.id, weekday=weekday, opens_at=time(7, 30),
                                        closes_at=time(16, 30)))
        db.session.commit()
    make_equipment(lab, name="Annealing furnace", booking_unit="day", min_units=1,
                   max_units=5)
    lines = _windows(client, "/labs?available_from=2026-03-09&available_to=2026-03-13"
                             "&hours=100")
    assert lines == ["Annealing furnace free from Mon 9 Mar 07:30, 5 days "
                     "(lab time, Europe/Berlin)"]
    assert not any("00:00" in line or " h " in line for line in lines)


def test_the_label_of_each_unit():
    common = {"equipment_id": 1, "lab_id": 1, "name": "x", "zone": "Europe/Berlin"}
    hourly = FreeWindow(**common, unit="hour", units=3,
                        start=datetime(2026, 3, 4, 10, tzinfo=UTC),
                        booking_end=datetime(2026, 3, 4, 13, tzinfo=UTC),
                        end=datetime(2026, 3, 4, 16, tzinfo=UTC))
    assert hourly.label == "Wed 4 Mar 11:00, 6 h"
    one_day = FreeWindow(**common, unit="day", units=1, opens=time(8),
                         start=datetime(2026, 3, 28, 23, tzinfo=UTC),  # Sun 29 Mar 00:00
                         booking_end=datetime(2026, 3, 29, 22, tzinfo=UTC),
                         end=datetime(2026, 3, 29, 22, tzinfo=UTC))  # the 23-hour day
    assert one_day.label == "Sun 29 Mar 08:00, 1 day"
    half_days = FreeWindow(**common, unit="half_day", units=3, opens=time(8),
                           start=datetime(2026, 3, 4, 11, tzinfo=UTC),  # Wed 12:00
                           booking_end=datetime(2026, 3, 5, 23, tzinfo=UTC),
                           end=datetime(2026, 3, 5, 23, tzinfo=UTC))  # Fri 00:00
    assert half_days.label == "Wed 4 Mar 12:00, 1.5 days"
