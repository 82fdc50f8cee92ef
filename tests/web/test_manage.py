"""Lab managers publish: every manage form's happy path, each refusal on its field with the
input kept and nothing written, retiring, CSV import and export, upload limits."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from labnet.extensions import db
from labnet.models import Equipment, EquipmentSpec, Lab, OpeningHours
from labnet.services.catalogue import labs
from tests.fixtures.auth import csrf_token, post_form

WATCHED = ("lab", "lab_ket", "opening_hours", "equipment", "equipment_spec", "equipment_ket",
           "audit_event")


def _snapshot(app) -> str:
    """A digest of every row a refused form must leave alone (login audit rows aside)."""
    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name not in WATCHED:
                continue
            stmt = select(table).order_by(*table.primary_key.columns)
            if table.name == "audit_event":
                stmt = stmt.where(table.c.action != "user.login")
            for row in db.session.execute(stmt):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _lab(app, lab_id) -> Lab:
    with app.app_context():
        lab = db.session.get(Lab, lab_id)
        db.session.expunge(lab)
        return lab


def _count_right(app, lab_id) -> int:
    with app.app_context():
        live = len(db.session.scalars(select(Equipment).where(
            Equipment.lab_id == lab_id, Equipment.status != "retired")).all())
        assert db.session.get(Lab, lab_id).equipment_count == live
        return live


def _refused(response, field: str, words: str, *kept: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[-2000:]
    errors = re.findall(rf'data-field="{re.escape(field)}">([^<]*)<', html)
    assert any(words in e for e in errors), (field, errors)
    for value in kept:
        assert f'value="{value}"' in html, value
    return html


# -- the labs I manage --------------------------------------------------------------------


def test_visitor_is_sent_to_log_in(client, people):
    response = client.get("/manage")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.get(f"/manage/labs/{people.lab.slug}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_manager_sees_own_labs_drafts_included(client, people, login):
    login(people.manager)
    html = client.get("/manage").get_data(as_text=True)
    assert "Matrix Lab" in html and "Draft Lab" in html and "Other Lab" not in html


def test_admin_sees_every_lab_and_a_member_none(client, people, login):
    login(people.admin)
    html = client.get("/manage").get_data(as_text=True)
    assert all(name in html for name in ("Matrix Lab", "Draft Lab", "Other Lab"))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/manage")})
    login(people.member)
    html = client.get("/manage").get_data(as_text=True)
    assert "You do not manage any lab" in html and "Matrix Lab" not in html


def test_lab_page_links_managers_to_the_edit_page(client, people, login):
    assert "Edit this lab" not in client.get(f"/labs/{people.lab.slug}").get_data(as_text=True)
    login(people.member)
    assert "Edit this lab" not in client.get(f"/labs/{people.lab.slug}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/labs")})
    login(people.manager)
    html = client.get(f"/labs/{people.lab.slug}").get_data(as_text=True)
    assert f'href="/manage/labs/{people.lab.slug}">Edit this lab' in html


# -- lab profile --------------------------------------------------------------------------


def lab_form(**changes):
    data = {
        "name": "Matrix Lab", "kind_code": "rto", "description": "A lab for tests.",
        "capabilities": "", "contact_name": "", "contact_email": "", "contact_phone": "",
        "website": "", "address": "", "postal_code": "", "city": "Aachen", "country": "DE",
        "timezone": "Europe/Berlin", "lat": "50.77", "lon": "6.08", "ket_codes": ["AMT", "AMT.ADD"],
        "requires_approval": "y", "min_lead_hours": "24", "max_advance_days": "180",
        "cancel_deadline_hours": "24", "hold_hours": "72", "is_published": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_edit_lab_page_shows_the_form_filled_and_the_map(client, people, login):
    login(people.manager)
    html = client.get(f"/manage/labs/{people.lab.slug}").get_data(as_text=True)
    assert 'value="Matrix Lab"' in html and 'value="Europe/Berlin"' in html
    assert 'value="AMT.ADD" id="ket_codes-AMT.ADD" checked' in html
    assert 'class="small-map"' in html and 'data-lat="50.77000"' in html


def test_manager_saves_profile_policy_kets_and_unpublishes(app, client, people, login):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}"
    response = post_form(client, url, lab_form(
        name="Matrix Lab <b>bold</b>", capabilities="Welding\nCutting",
        ket_codes=["MNEP", "MNEP.PIC"], requires_approval=None, min_lead_hours="48",
        hold_hours="12", is_published=None, contact_email="lab@example.org",
        website="https://lab.example.org"))
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    lab = _lab(app, people.lab.id)
    assert (lab.name, lab.requires_approval, lab.min_lead_hours, lab.hold_hours,
            lab.is_published, lab.contact_email) == (
        "Matrix Lab <b>bold</b>", False, 48, 12, False, "lab@example.org")
    html = client.get(url).get_data(as_text=True)
    assert "The lab was saved." in html and "<b>bold</b>" not in html
    # Now a draft: the public page is for its managers only.
    client.post("/logout", data={"csrf_token": csrf_token(client, url)})
    assert client.get(f"/labs/{people.lab.slug}").status_code == 404


def test_changed_address_is_placed_and_shown_on_the_map(app, client, people, login):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}"
    response = post_form(client, url, lab_form(city="Delft", country="NL", lat="50.77",
                                               lon="6.08"))
    assert response.status_code == 302
    lab = _lab(app, people.lab.id)
    assert lab.coords_source == "gazetteer" and abs(lab.lat - 52.0) < 0.1
    html = client.get(url).get_data(as_text=True)
    assert "Placed on the map at Delft, NL." in html
    assert "Europe/Amsterdam" in html  # the zone of the place is suggested, not imposed
    assert f'data-lat="{lab.lat:.5f}"' in html


def test_hand_entered_coordinates_are_kept(app, client, people, login):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}"
    assert post_form(client, url, lab_form(lat="50.7793", lon="6.0689")).status_code == 302
    assert post_form(client, url, lab_form(city="Delft", country="NL", lat="50.7793",
                                           lon="6.0689")).status_code == 302
    lab = _lab(app, people.lab.id)
    assert (lab.lat, lab.lon, lab.coords_source, lab.city) == (50.7793, 6.0689, "manual",
                                                               "Delft")
    assert "entered by hand" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize(("changes", "field", "words", "kept"), [
    ({"city": "Qwxzyville Nowhere"}, "lat",
     "No place found for this address — enter the coordinates", ("Qwxzyville Nowhere",)),
    ({"lat": "123", "lon": "6.08"}, "lat", "between -90 and 90", ("123",)),
    ({"lat": "50", "lon": "190.5"}, "lon", "between -180 and 180", ("190.5",)),
    ({"lat": "50", "lon": ""}, "lon", "both the latitude and the longitude", ()),
    ({"lat": "north"}, "lat", "Not a valid float", ("north",)),
    ({"timezone": "Europe/Atlantis"}, "timezone", "is not a time zone name",
     ("Europe/Atlantis",)),
    ({"ket_codes": ["AMT", "BOGUS.1"]}, "ket_codes", "Unknown KET area code: BOGUS.1", ()),
    ({"kind_code": "castle"}, "kind_code", "Choose one of the listed kinds", ()),
    ({"min_lead_hours": "-3"}, "min_lead_hours", "between 0", ("-3",)),
    ({"max_advance_days": "99999"}, "max_advance_days", "days ahead", ("99999",)),
    ({"hold_hours": "many"}, "hold_hours", "Not a valid integer", ("many",)),
    ({"name": ""}, "name", "Enter the lab", ()),
    ({"name": "L" * 201}, "name", "200", ("L" * 201,)),
    ({"contact_email": "not-an-address"}, "contact_email", "valid e-mail", ("not-an-address",)),
])
def test_edit_lab_refusals_show_on_their_field_keep_input_and_write_nothing(
        app, client, people, login, changes, field, words, kept):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}"
    before = _snapshot(app)
    changes = {"description": "Typed text that must survive", **changes}
    response = post_form(client, url, lab_form(**changes))
    html = _refused(response, field, words, *kept)
    assert "Typed text that must survive" in html
    assert _snapshot(app) == before


def test_coordinates_can_rescue_an_address_without_a_place(app, client, people, login):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}"
    response = post_form(client, url, lab_form(city="Qwxzyville Nowhere", lat="48.1",
                                               lon="11.5"))
    assert response.status_code == 302
    lab = _lab(app, people.lab.id)
    assert (lab.city, lab.lat, lab.lon, lab.coords_source) == ("Qwxzyville Nowhere", 48.1, 11.5,
                                                               "manual")


# -- opening hours ------------------------------------------------------------------------


def test_manager_sets_opening_hours_with_a_break_and_closed_days(app, client, people, login):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}/hours"
    response = post_form(client, url, {"mon_1_opens": "08:00", "mon_1_closes": "12:00",
                                       "mon_2_opens": "13:00", "mon_2_closes": "17:00",
                                       "fri_1_opens": "9:00", "fri_1_closes": "15:30"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    html = client.get(url).get_data(as_text=True)
    assert "Opening hours saved." in html
    assert re.search(r'name="mon_2_opens"[^>]*value="13:00"', html)
    public = client.get(f"/labs/{people.lab.slug}").get_data(as_text=True)
    assert "08:00–12:00, 13:00–17:00" in public and "09:00–15:30" in public
    assert "Saturday" not in public  # closed


@pytest.mark.parametrize(("data", "field", "words", "kept"), [
    ({"mon_1_opens": "17:00", "mon_1_closes": "08:00"}, "mon_1_closes",
     "Closes at 08:00, which is not after it opens (17:00)", ("17:00", "08:00")),
    ({"tue_1_opens": "08:00", "tue_1_closes": "12:00", "tue_2_opens": "11:00",
      "tue_2_closes": "14:00"}, "tue_2_opens", "overlaps another interval on Tuesday",
     ("11:00", "14:00")),
    ({"wed_3_opens": "25:99", "wed_3_closes": "26:00"}, "wed_3_opens", "Not a valid time",
     ("25:99",)),
    ({"thu_1_opens": "08:00"}, "thu_1_closes", "Enter the closing time", ("08:00",)),
])
def test_opening_hours_refusals_show_on_the_interval(app, client, people, login, data, field,
                                                     words, kept):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}/hours"
    before = _snapshot(app)
    response = post_form(client, url, {"sun_1_opens": "10:00", "sun_1_closes": "14:00", **data})
    _refused(response, field, words, "10:00", *kept)
    assert _snapshot(app) == before


# -- equipment ----------------------------------------------------------------------------


def equipment_form(**changes):
    data = {
        "name": "Confocal Raman microscope", "category_code": "raman-ftir", "maker": "WITec",
        "model": "alpha300 R", "description": "", "booking_unit": "hour", "min_units": "1",
        "max_units": "6", "buffer_minutes": "15", "rate_industry": "120", "rate_sme": "95.50",
        "currency": "EUR", "mode": "operator_assisted", "status": "active",
        "ket_codes": ["AMN.CHR"], "spec_keys-0": "Laser", "spec_values-0": "532 nm",
        "spec_keys-1": "", "spec_values-1": "", "spec_keys-2": "", "spec_values-2": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_manager_adds_equipment_and_it_is_counted_and_listed(app, client, people, login):
    login(people.manager)
    before = _count_right(app, people.lab.id)
    response = post_form(client, f"/manage/labs/{people.lab.slug}/equipment/new",
                         equipment_form(training_required="y"))
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert _count_right(app, people.lab.id) == before + 1
    with app.app_context():
        item = db.session.scalar(select(Equipment).where(Equipment.lab_id == people.lab.id))
        assert (item.training_required, str(item.rate_sme), item.buffer_minutes) == (
            True, "95.50", 15)
        assert [(s.key, s.value) for s in db.session.scalars(
            select(EquipmentSpec).where(EquipmentSpec.equipment_id == item.id))] == [
            ("Laser", "532 nm")]
    public = client.get(f"/labs/{people.lab.slug}").get_data(as_text=True)
    assert "Confocal Raman microscope" in public


@pytest.mark.parametrize(("changes", "field", "words", "kept"), [
    ({"rate_industry": "-5"}, "rate_industry", "cannot be negative", ("-5",)),
    ({"rate_sme": "2500000"}, "rate_sme", "not a plausible rate", ("2500000",)),
    ({"rate_industry": "cheap"}, "rate_industry", "Not a valid decimal", ("cheap",)),
    ({"min_units": "8", "max_units": "2"}, "min_units", "longer than the maximum",
     ("8", "2")),
    ({"buffer_minutes": "-1"}, "buffer_minutes", "between 0", ("-1",)),
    ({"category_code": "warp-drive"}, "category_code", "Unknown equipment category", ()),
    ({"ket_codes": ["AMN.CHR", "NOPE"]}, "ket_codes", "Unknown KET area code: NOPE", ()),
    ({"currency": "EURO"}, "currency", "three-letter currency code", ("EURO",)),
    ({"spec_keys-1": "Power", "spec_values-1": ""}, "spec_values-1", "Enter the value",
     ("Power",)),
    ({"name": ""}, "name", "Enter the equipment", ()),
])
def test_new_equipment_refusals_show_on_their_field_keep_input_and_write_nothing(
        app, client, people, login, changes, field, words, kept):
    login(people.manager)
    before = _snapshot(app)
    response = post_form(client, f"/manage/labs/{people.lab.slug}/equipment/new",
                         equipment_form(model="Kept model 7", **changes))
    _refused(response, field, words, "Kept model 7", *kept)
    assert _snapshot(app) == before


def test_manager_edits_equipment_specs_and_rates(app, client, people, login, make_equipment):
    item = make_equipment(people.lab, specs={"Resolution": "1.2 nm", "Detector": "SE"})
    login(people.manager)
    url = f"/manage/equipment/{item.id}"
    html = client.get(url).get_data(as_text=True)
    assert 'value="Resolution"' in html and 'value="1.2 nm"' in html
    assert 'name="spec_keys-4"' in html  # three blank rows after the two specifications
    response = post_form(client, url, equipment_form(
        name=item.name, category_code="sem", rate_industry="175.00",
        **{"spec_keys-0": "Resolution", "spec_values-0": "0.9 nm",
           "spec_keys-1": "Vacuum", "spec_values-1": "variable pressure"}))
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        saved = db.session.get(Equipment, item.id)
        assert str(saved.rate_industry) == "175.00"
        assert [(s.key, s.value) for s in db.session.scalars(
            select(EquipmentSpec).where(EquipmentSpec.equipment_id == item.id)
            .order_by(EquipmentSpec.position))] == [("Resolution", "0.9 nm"),
                                                    ("Vacuum", "variable pressure")]
    _count_right(app, people.lab.id)


def test_edit_equipment_refusal_keeps_input_and_writes_nothing(app, client, people, login,
                                                               make_equipment):
    item = make_equipment(people.lab)
    login(people.manager)
    before = _snapshot(app)
    response = post_form(client, f"/manage/equipment/{item.id}",
                         equipment_form(name="Renamed", min_units="5", max_units="3"))
    _refused(response, "min_units", "longer than the maximum", "Renamed", "5", "3")
    assert _snapshot(app) == before


def test_setting_status_retired_in_the_form_leaves_the_count(app, client, people, login,
                                                             make_equipment):
    item = make_equipment(people.lab)
    login(people.manager)
    before = _count_right(app, people.lab.id)
    response = post_form(client, f"/manage/equipment/{item.id}",
                         equipment_form(name=item.name, category_code="sem", status="retired"))
    assert response.status_code == 302
    assert _count_right(app, people.lab.id) == before - 1


def test_retire_keeps_the_row_and_hides_it_from_the_public_page(app, client, people, login,
                                                                make_equipment):
    item = make_equipment(people.lab, name="Retiring microscope")
    login(people.manager)
    before = _count_right(app, people.lab.id)
    page = f"/manage/labs/{people.lab.slug}"
    response = post_form(client, f"/manage/equipment/{item.id}/retire", {}, page=page)
    assert response.status_code == 302
    assert _count_right(app, people.lab.id) == before - 1
    with app.app_context():
        assert db.session.get(Equipment, item.id).status == "retired"  # kept, not deleted
    html = client.get(page).get_data(as_text=True)
    assert "was retired" in html and "Retiring microscope" in html  # managers still see it
    client.post("/logout", data={"csrf_token": csrf_token(client, page)})
    assert "Retiring microscope" not in client.get(f"/labs/{people.lab.slug}").get_data(
        as_text=True)
    assert client.get(f"/equipment/{item.id}").status_code == 404
    # Retiring twice is harmless.
    login(people.manager)
    post_form(client, f"/manage/equipment/{item.id}/retire", {}, page=page)
    assert _count_right(app, people.lab.id) == before - 1


# -- CSV ----------------------------------------------------------------------------------


def _upload(client, slug, content: bytes, filename="equipment.csv"):
    url = f"/manage/labs/{slug}/equipment/import"
    # Encoded in memory: for bodies over 500 KB the test client would spool the request to
    # a temporary file that it never closes (a ResourceWarning, an error under -W error).
    boundary, body = encode_multipart({"csrf_token": csrf_token(client, url),
                                       "file": FileStorage(io.BytesIO(content), filename)})
    return client.post(url, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_template_download(client, people, login):
    login(people.manager)
    response = client.get("/manage/equipment-template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).lstrip("\ufeff").startswith("id,name,category,")
    assert "/manage/equipment-template.csv" in client.get(
        f"/manage/labs/{people.lab.slug}/equipment/import").get_data(as_text=True)


def test_csv_round_trip_export_then_import(app, client, people, login, make_equipment):
    make_equipment(people.lab, name="Exported SEM", specs={"Resolution": "1 nm"})
    make_equipment(people.lab, name="Exported AFM", category_code="afm")
    login(people.manager)
    exported = client.get(f"/manage/labs/{people.lab.slug}/equipment.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    body = exported.get_data()
    assert b"Exported SEM" in body and b"Resolution: 1 nm" in body
    count = _count_right(app, people.lab.id)
    response = _upload(client, people.lab.slug, body)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert "0 added, 0 updated" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    # Change a name, add a row: the same file format comes back in.
    text = body.decode("utf-8-sig").replace("Exported AFM", "Renamed AFM")
    text += (",New tester,universal-testing,,,,hour,1,8,0,90,70,,EUR,operator_assisted,no,"
             "active,,\r\n")
    response = _upload(client, people.lab.slug, text.encode())
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert _count_right(app, people.lab.id) == count + 1
    with app.app_context():
        names = set(db.session.scalars(select(Equipment.name).where(
            Equipment.lab_id == people.lab.id)))
    assert {"Exported SEM", "Renamed AFM", "New tester"} <= names
    assert "Exported AFM" not in names


def test_import_with_three_bad_rows_lists_line_and_column_and_writes_nothing(
        app, client, people, login):
    header = ",".join(labs.CSV_COLUMNS)
    content = "\r\n".join([
        header,
        ",Fine,sem,,,,hour,1,8,0,100,80,,EUR,operator_assisted,no,active,,",
        ",Negative rate,sem,,,,hour,1,8,0,-5,80,,EUR,operator_assisted,no,active,,",
        ",Backwards,sem,,,,hour,9,2,0,100,80,,EUR,operator_assisted,no,active,,",
        ",Unknown,warp-drive,,,,hour,1,8,0,100,80,,EUR,operator_assisted,no,active,,",
    ]).encode()
    login(people.manager)
    before = _snapshot(app)
    response = _upload(client, people.lab.slug, content)
    html = _refused(response, "file", "3 problems; nothing was imported")
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert [(line, column) for line, column, _ in rows] == [
        ("3", "11 (rate_industry)"), ("4", "8 (min_units)"), ("5", "3 (category)")]
    assert "A rate cannot be negative." in rows[0][2]
    assert _snapshot(app) == before


def test_import_lists_every_problem_of_a_row_and_where_the_codes_are(
        app, client, people, login):
    header = ",".join(labs.CSV_COLUMNS)
    content = "\r\n".join([
        header,
        # Five problems in one row, and two in the next.
        ",Many problems,SEM microscope,,,,fortnight,9,2,0,-5,80,,XYZ,operator_assisted,no,"
        "active,AMT.NOPE,",
        ",Two problems,afmm,,,,hour,1,8,0,abc,80,,EUR,by_magic,no,active,,",
    ]).encode()
    login(people.manager)
    before = _snapshot(app)
    html = _refused(_upload(client, people.lab.slug, content), "file", "problems")
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    columns = [(line, column.split(" ")[-1]) for line, column, _ in rows]
    assert columns == [
        ("2", "(category)"), ("2", "(booking_unit)"), ("2", "(min_units)"),
        ("2", "(rate_industry)"), ("2", "(currency)"), ("2", "(ket_codes)"),
        ("3", "(rate_industry)"), ("3", "(category)"), ("3", "(mode)")]
    messages = {(line, column.split(" ")[-1]): text for line, column, text in rows}
    category = messages[("3", "(category)")]
    assert "Unknown equipment category “afmm”" in category
    assert "category list on the import page" in category and "from the list" not in category
    assert "Did you mean “afm”" in category
    assert "listed on the import page" in messages[("2", "(ket_codes)")]
    assert "EUR" in messages[("2", "(currency)")]
    # The page lists the codes with their names, and links the codes file.
    assert 'id="codes-hint"' in html and 'href="#import-codes"' in html
    assert 'id="codes-category"' in html and "<code>sem</code>" in html
    assert 'id="codes-ket_codes"' in html and "<code>AMT.ADD</code>" in html
    assert _snapshot(app) == before


def test_codes_file_lists_every_category_and_ket_code_with_its_name(app, client, people,
                                                                     login):
    import csv

    from labnet.models import EquipmentCategory, KetArea

    login(people.manager)
    page = client.get(f"/manage/labs/{people.lab.slug}/equipment/import").get_data(
        as_text=True)
    assert 'href="/manage/equipment-codes.csv"' in page
    response = client.get("/manage/equipment-codes.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    with app.app_context():
        categories = dict(db.session.execute(
            select(EquipmentCategory.code, EquipmentCategory.name)).tuples().all())
        kets = set(db.session.scalars(select(KetArea.code)))
    assert {r["code"]: r["name"] for r in rows if r["column"] == "category"} == categories
    assert {r["code"] for r in rows if r["column"] == "ket_codes"} == kets
    assert {r["code"] for r in rows if r["column"] == "mode"} == {
        "self_service", "operator_assisted", "request_only"}
    assert labs.TEMPLATE_ROW["category"] in categories


@pytest.mark.parametrize(("content", "filename", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "Choose a .csv file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "This is not a CSV file"),
    (b"Dear lab, please find attached\r\n", "letter.csv", "not a LabNet equipment file"),
])
def test_import_refuses_a_file_that_is_not_csv(app, client, people, login, content, filename,
                                               words):
    login(people.manager)
    before = _snapshot(app)
    _refused(_upload(client, people.lab.slug, content, filename), "file", words)
    assert _snapshot(app) == before


def test_import_without_a_file_asks_for_one(client, people, login):
    login(people.manager)
    url = f"/manage/labs/{people.lab.slug}/equipment/import"
    _refused(post_form(client, url, {}), "file", "Choose a CSV file")


def test_import_refuses_a_file_over_the_csv_limit_on_the_file_field(app, client, people,
                                                                    login):
    login(people.manager)
    header = ",".join(labs.CSV_COLUMNS)
    row = ",A,sem,,,,hour,1,8,0,100,80,,EUR,operator_assisted,no,active,," + "x" * 200
    content = (header + "\r\n" + "\r\n".join([row] * 6000)).encode()
    assert len(content) > app.config["CSV_MAX_BYTES"]
    before = _snapshot(app)
    _refused(_upload(client, people.lab.slug, content), "file", "larger than 1,024 KB")
    assert _snapshot(app) == before


def test_request_over_max_content_length_gets_the_friendly_413_page(app, client, people,
                                                                    login):
    login(people.manager)
    before = _snapshot(app)
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    response = _upload(client, people.lab.slug, big)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "What you sent is too large. The limit is 16 MB." in html
    assert "Traceback" not in html
    assert _snapshot(app) == before


def test_import_page_of_a_draft_lab_works_for_its_manager(client, people, login):
    login(people.manager)
    assert client.get(f"/manage/labs/{people.draft.slug}/equipment/import").status_code == 200
    assert client.get(f"/manage/labs/{people.draft.slug}/equipment.csv").status_code == 200


def test_hours_grid_grows_to_show_every_stored_interval(app, client, people, login):
    from datetime import time

    with app.app_context():
        for n in range(4):
            db.session.add(OpeningHours(lab_id=people.lab.id, weekday=0,
                                        opens_at=time(8 + 2 * n), closes_at=time(9 + 2 * n)))
        db.session.commit()
    login(people.manager)
    html = client.get(f"/manage/labs/{people.lab.slug}/hours").get_data(as_text=True)
    assert re.search(r'name="mon_4_opens"[^>]*value="14:00"', html)
