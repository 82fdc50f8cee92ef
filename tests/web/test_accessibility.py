"""Accessibility and page weight from the server's side (issue 18): the skip link and the
statement page, form errors tied to their fields with a summary, HTML the Nu checker
refused (duplicate CSRF ids, placeholders on time inputs, a required select with no empty
option), chart summaries, compressed answers and fingerprinted static files.
The same pages in Chromium (axe-core, the Nu HTML Checker, keyboard, phone width) are in
tests/browser/test_accessibility.py and test_keyboard_and_phone.py."""

from __future__ import annotations

import gzip
import re

from labnet.services.analytics.figures import Table
from tests.fixtures.auth import post_form


def test_the_skip_link_comes_first_and_leads_to_the_main_content(client):
    html = client.get("/labs").get_data(as_text=True)
    body = html[html.index("<body"):]
    first_link = re.search(r"<a [^>]*>", body).group(0)
    assert 'class="skip-link"' in first_link and 'href="#main"' in first_link
    assert '<main class="container mb-5" id="main" tabindex="-1">' in html
    # The list of labs also skips its filters.
    assert 'href="#results"' in html and 'id="results"' in html


def test_the_accessibility_statement_is_linked_from_every_footer_and_names_its_limits(client):
    footer = client.get("/labs").get_data(as_text=True).split("<footer", 1)[1]
    assert 'href="/accessibility"' in footer
    page = client.get("/accessibility")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "WCAG 2.1" in html and 'id="known-limits"' in html
    assert "office@agency.test" in html  # the operator's contact from the settings


def test_a_failed_submit_ties_each_error_to_its_field_and_sums_them_up(client, people, login):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}/hours"
    response = post_form(client, url, {"thu_1_opens": "08:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    field = re.search(r'<input [^>]*name="thu_1_closes"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="thu_1_closes-error"' in field
    assert re.search(r'id="thu_1_closes-error"><div [^>]*>Enter the closing time', html)
    opening = re.search(r"<div [^>]*data-error-summary[^>]*>", html).group(0)
    assert 'role="alert"' in opening and 'tabindex="-1"' in opening
    summary = html[html.index(opening):]
    summary = summary[:summary.index("</div>")]
    assert 'href="#thu_1_closes"' in summary and "Enter the closing time" in summary
    # Fields without an error carry neither.
    other = re.search(r'<input [^>]*name="mon_1_opens"[^>]*>', html).group(0)
    assert "aria-invalid" not in other and "aria-describedby" not in other


def test_a_page_without_errors_has_no_error_summary(client, people, login):
    login(people.manager)
    html = client.get(f"/manage/labs/{people.lab.slug}/hours").get_data(as_text=True)
    assert "data-error-summary" not in html and 'aria-invalid' not in html


def test_time_inputs_carry_no_placeholder(client, people, login):
    login(people.manager)
    html = client.get(f"/manage/labs/{people.lab.slug}/hours").get_data(as_text=True)
    times = re.findall(r'<input [^>]*type="time"[^>]*>', html)
    assert times and not [t for t in times if "placeholder" in t]


def test_no_page_repeats_the_csrf_field_id(client, people, login):
    login(people.manager)
    for url in (f"/manage/labs/{people.lab.slug}", "/manage/bookings", "/labs"):
        html = client.get(url).get_data(as_text=True)
        assert 'id="csrf_token"' not in html, url
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert sorted({i for i in ids if ids.count(i) > 1}) == [], url


def test_a_required_select_starts_with_an_empty_choice(client, people, login):
    login(people.admin)
    html = client.get(f"/admin/organisations/{people.lab.organisation_id}"
                      ).get_data(as_text=True)
    select = re.search(r'<select [^>]*name="country"[^>]*>\s*<option[^>]*>[^<]*', html).group(0)
    assert "required" in select
    assert select.endswith('<option value="">Choose…')


def test_a_chart_summary_names_the_total_and_the_largest_row():
    table = Table("requests", "Requests by KET area", ["KET area", "Requests", "Labs"],
                  [["Photonics", 41, 3], ["Robotics", 12, 5], ["Nano", 41, 1]],
                  chart="bar", series=(1, 2))
    assert table.chart_summary() == (
        "Requests: 94 in all, most Photonics (41); Labs: 9 in all, most Robotics (5).")
    assert Table("t", "T", ["A", "B"], [["x", 1]], chart="").chart_summary() == ""
    assert Table("t", "T", ["A", "B"], [], chart="bar").chart_summary() == ""
    # Cells that are no numbers (an empty month) are left out, not counted as zero.
    assert Table("t", "T", ["Month", "Searches"], [["Jan", None], ["Feb", 2.5]],
                 chart="line").chart_summary() == "Searches: 2.5 in all, most Feb (2.5)."


def test_static_files_have_fingerprinted_urls_cached_for_a_year(client, app):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/labnet\.css\?v=([0-9a-f]+))"', html)
    assert css, "the stylesheet is linked without its fingerprint"
    bootstrap = re.search(r'src="(/bootstrap/static/[^"]+\?v=[0-9a-f]+)"', html)
    assert bootstrap
    for url in (css.group(1), bootstrap.group(1)):
        answer = client.get(url)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Without the fingerprint, or with a stale one, the browser asks again each time.
    for url in ("/static/css/labnet.css", "/static/css/labnet.css?v=000000000000"):
        assert "immutable" not in client.get(url).headers.get("Cache-Control", "")


def test_the_fingerprint_changes_with_the_file(app):
    from labnet.assets import _file_hash

    path = app.static_folder + "/css/labnet.css"
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="css/labnet.css").endswith("?v=" + _file_hash(path))
    assert _file_hash(path) != _file_hash(app.static_folder + "/css/map.css")


def test_pages_and_static_files_are_sent_compressed_to_who_accepts_it(client):
    for url in ("/labs", "/static/css/labnet.css"):
        plain = client.get(url)
        packed = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert "Content-Encoding" not in plain.headers
        assert packed.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in packed.headers["Vary"]
        unpacked = gzip.decompress(packed.get_data())
        assert len(packed.get_data()) < len(unpacked) / 2
        if url.startswith("/static"):
            assert unpacked == plain.get_data()
        else:  # the page's CSRF token is signed afresh on each answer
            assert unpacked.rstrip().endswith(b"</html>")


def test_the_json_api_answers_stay_uncompressed_with_their_etags(client):
    plain = client.get("/api/v1/categories")
    asked = client.get("/api/v1/categories", headers={"Accept-Encoding": "gzip, br, zstd"})
    assert asked.status_code == plain.status_code
    assert "Content-Encoding" not in asked.headers
    assert asked.headers.get("ETag") == plain.headers.get("ETag")
