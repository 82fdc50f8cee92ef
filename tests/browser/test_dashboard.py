"""The coordinators' dashboard in Chromium: a coordinator reaches it from the menu, every
chart is drawn from its table by the app's own Chart.js, the flow map draws its lines, and
a hostile lab name stays text (no dialog, no script run). Nothing leaves 127.0.0.1."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.browser import nav_click

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror=alert(1)><script>window.__xss=1</script>'
SCREENSHOT = "/tmp/labnet-dashboard.png"


def test_coordinator_sees_charts_tables_and_the_flow_map(live_server, demo_data, page):
    from labnet.extensions import db
    from labnet.models import Booking, Lab

    with live_server.app.app_context():
        # The lab with the most confirmed hours gets a hostile name: it heads the
        # utilisation table and its chart.
        busiest = db.session.scalar(select(Booking.lab_id).where(Booking.status == "completed")
                                    .group_by(Booking.lab_id)
                                    .order_by(db.func.count().desc()).limit(1))
        db.session.get(Lab, busiest).name = HOSTILE
        db.session.commit()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto("/login")
    page.fill("input[name=email]", "coordinator@labnet.example")
    page.fill("input[name=password]", "labnet-demo")
    page.click("main button[type=submit]")
    nav_click(page, "Dashboard")
    page.locator('#flow-map[data-state="ready"]').wait_for()
    tables_with_charts = page.locator("table[data-chart]:not([data-chart=''])").count()
    drawn = page.locator('canvas[data-state="ready"]').count()
    assert drawn >= 6 and drawn == page.locator("canvas[data-chart-for]").count()
    assert tables_with_charts >= drawn
    assert int(page.locator("#flow-map").get_attribute("data-lines")) > 0
    assert page.locator(".leaflet-interactive").count() > 0
    first_lab = page.locator("#table-utilisation-labs tbody tr").first.locator("td").first
    assert first_lab.inner_text() == HOSTILE
    # Long axis names (KET areas) are wrapped onto short lines, never cut off at the edge;
    # the tooltip and the table keep the whole name.
    ket = page.evaluate("""() => {
      const c = Chart.getChart(document.querySelector('canvas[data-chart-for="table-supply-ket"]'));
      const scale = c.scales[c.options.indexAxis === 'y' ? 'y' : 'x'];
      const title = c.options.plugins.tooltip.callbacks.title;
      return {ticks: scale.ticks.map(t => [].concat(t.label)), names: c.data.labels,
              titles: c.data.labels.map((_, i) => title.call(c, [{dataIndex: i}])),
              left: scale.left, right: scale.right, width: c.width};
    }""")
    table_names = page.locator("#table-supply-ket tbody tr td:first-child").all_inner_texts()
    assert ket["names"] == table_names[:len(ket["names"])] and ket["titles"] == ket["names"]
    assert any(len(name) > 22 for name in ket["names"])
    assert all(len(line) <= 22 for lines in ket["ticks"] for line in lines), ket["ticks"]
    assert ket["left"] >= 0 and ket["right"] <= ket["width"]
    # The month counted to date is marked in the table and drawn dashed.
    assert page.locator("#table-demand tbody tr").last.get_attribute("data-partial") == "1"
    dash = page.evaluate("""() => {
      const c = Chart.getChart(document.querySelector('canvas[data-chart-for="table-demand"]'));
      const n = c.data.labels.length, seg = c.data.datasets[0].segment.borderDash;
      return [seg({p0DataIndex: n - 2, p1DataIndex: n - 1}) || null,
              seg({p0DataIndex: n - 3, p1DataIndex: n - 2}) || null];
    }""")
    assert dash == [[6, 4], None]
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert errors == []
