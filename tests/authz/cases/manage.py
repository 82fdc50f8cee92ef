"""Matrix entries for the lab-manager pages (``manage.*``).

Only a lab's managers and admins reach them. Visitors are sent to log in; everyone else gets
403 on a published lab or its equipment, and 404 on a draft lab or retired equipment (they
may not know those exist). A valid POST redirects (302); an invalid one answers 422 with the
form.
"""

from __future__ import annotations

import io

from tests.authz.cases.base import ACTORS, LOGGED_IN, Case

MANAGERS = ("manager", "admin")


def managed(ok: int, *, hidden: bool = False) -> dict[str, int]:
    """``ok`` for the lab's managers and admins, 302 (to log in) for visitors, and 404
    (``hidden``) or 403 for everyone else."""
    table = {a: (ok if a in MANAGERS else 404 if hidden else 403) for a in ACTORS}
    table["anonymous"] = 302
    return table


def other_lab(ok: int) -> dict[str, int]:
    """On the other lab: its manager (``other_manager``) and admins get ``ok``; the matrix
    lab's manager is refused like anybody else."""
    table = {a: (ok if a in ("other_manager", "admin") else 403) for a in ACTORS}
    table["anonymous"] = 302
    return table


def lab_form(p, **changes):
    """The matrix lab's own values (make_lab defaults): saving changes nothing risky and
    needs no geocoding."""
    data = {
        "name": "Matrix Lab", "kind_code": "rto", "description": "A lab for tests.",
        "city": "Aachen", "country": "DE", "timezone": "Europe/Berlin", "lat": "50.77",
        "lon": "6.08", "ket_codes": ["AMT", "AMT.ADD"], "requires_approval": "y",
        "min_lead_hours": "24", "max_advance_days": "180", "cancel_deadline_hours": "24",
        "hold_hours": "72", "is_published": "y",
    }
    return {**data, **changes}


def equipment_form(p, **changes):
    data = {
        "name": "Matrix microscope", "category_code": "sem", "booking_unit": "hour",
        "min_units": "1", "max_units": "8", "buffer_minutes": "0", "rate_industry": "150",
        "rate_sme": "120", "currency": "EUR", "mode": "operator_assisted", "status": "active",
        "ket_codes": ["AMN.CHR"], "spec_keys-0": "Resolution", "spec_values-0": "1 nm",
    }
    return {**data, **changes}


CSV = b"name,category,rate_industry,rate_sme\r\nMatrix tester,universal-testing,90,70\r\n"


def csv_file(p):
    return {"file": (io.BytesIO(CSV), "equipment.csv")}


def bad_csv_file(p):
    return {"file": (io.BytesIO(b"name,category,rate_industry,rate_sme\r\nX,sem,-1,1\r\n"),
                     "equipment.csv")}


def _lab(p):
    return f"/manage/labs/{p.lab.slug}"


def _drafts(p):
    return f"/manage/labs/{p.draft.slug}"


CASES = [
    Case("manage.index", "GET", lambda p: "/manage", LOGGED_IN),
    Case("manage.equipment_template", "GET", lambda p: "/manage/equipment-template.csv",
         LOGGED_IN),
    Case("manage.equipment_codes", "GET", lambda p: "/manage/equipment-codes.csv", LOGGED_IN),
    # Lab profile and policy.
    Case("manage.edit_lab", "GET", _lab, managed(200), name="published"),
    Case("manage.edit_lab", "GET", _drafts, managed(200, hidden=True), name="draft"),
    Case("manage.edit_lab", "GET", lambda p: f"/manage/labs/{p.other_lab.slug}",
         other_lab(200), name="other-lab"),
    Case("manage.edit_lab", "POST", _lab, managed(302), data=lab_form, name="published"),
    Case("manage.edit_lab", "POST", _drafts, managed(302, hidden=True),
         data=lambda p: lab_form(p, name="Draft Lab", is_published=""), name="draft"),
    Case("manage.edit_lab", "POST", _lab, managed(422),
         data=lambda p: lab_form(p, timezone="Mars/Olympus"), name="invalid"),
    Case("manage.edit_lab", "GET", lambda p: "/manage/labs/no-such-lab",
         {**dict.fromkeys(ACTORS, 404), "anonymous": 302}, name="missing"),
    # Opening hours.
    Case("manage.hours", "GET", lambda p: f"{_lab(p)}/hours", managed(200), name="published"),
    Case("manage.hours", "GET", lambda p: f"{_drafts(p)}/hours", managed(200, hidden=True),
         name="draft"),
    Case("manage.hours", "POST", lambda p: f"{_lab(p)}/hours", managed(302),
         data=lambda p: {"mon_1_opens": "08:00", "mon_1_closes": "17:00"}, name="published"),
    Case("manage.hours", "POST", lambda p: f"{_drafts(p)}/hours", managed(302, hidden=True),
         data=lambda p: {"mon_1_opens": "08:00", "mon_1_closes": "17:00"}, name="draft"),
    Case("manage.hours", "POST", lambda p: f"{_lab(p)}/hours", managed(422),
         data=lambda p: {"mon_1_opens": "17:00", "mon_1_closes": "08:00"}, name="invalid"),
    # Equipment: add, edit, retire.
    Case("manage.new_equipment", "GET", lambda p: f"{_lab(p)}/equipment/new", managed(200),
         name="published"),
    Case("manage.new_equipment", "GET", lambda p: f"{_drafts(p)}/equipment/new",
         managed(200, hidden=True), name="draft"),
    Case("manage.new_equipment", "POST", lambda p: f"{_lab(p)}/equipment/new", managed(302),
         data=equipment_form, name="published"),
    Case("manage.new_equipment", "POST", lambda p: f"{_drafts(p)}/equipment/new",
         managed(302, hidden=True), data=equipment_form, name="draft"),
    Case("manage.new_equipment", "POST", lambda p: f"{_lab(p)}/equipment/new", managed(422),
         data=lambda p: equipment_form(p, rate_industry="-10"), name="invalid"),
    Case("manage.edit_equipment", "GET", lambda p: f"/manage/equipment/{p.equipment.id}",
         managed(200), name="published"),
    Case("manage.edit_equipment", "GET", lambda p: f"/manage/equipment/{p.draft_equipment.id}",
         managed(200, hidden=True), name="draft-lab"),
    Case("manage.edit_equipment", "GET", lambda p: f"/manage/equipment/{p.retired.id}",
         managed(200, hidden=True), name="retired"),
    Case("manage.edit_equipment", "GET", lambda p: f"/manage/equipment/{p.other_equipment.id}",
         other_lab(200), name="other-lab"),
    Case("manage.edit_equipment", "POST", lambda p: f"/manage/equipment/{p.equipment.id}",
         managed(302), data=lambda p: equipment_form(p, rate_sme="99"), name="published"),
    Case("manage.edit_equipment", "POST",
         lambda p: f"/manage/equipment/{p.draft_equipment.id}", managed(302, hidden=True),
         data=equipment_form, name="draft-lab"),
    Case("manage.edit_equipment", "POST", lambda p: f"/manage/equipment/{p.equipment.id}",
         managed(422), data=lambda p: equipment_form(p, min_units="9", max_units="2"),
         name="invalid"),
    Case("manage.retire_equipment", "POST",
         lambda p: f"/manage/equipment/{p.equipment.id}/retire", managed(302),
         name="published"),
    Case("manage.retire_equipment", "POST",
         lambda p: f"/manage/equipment/{p.draft_equipment.id}/retire",
         managed(302, hidden=True), name="draft-lab"),
    Case("manage.retire_equipment", "POST",
         lambda p: f"/manage/equipment/{p.retired.id}/retire", managed(302, hidden=True),
         name="retired"),
    Case("manage.retire_equipment", "POST",
         lambda p: f"/manage/equipment/{p.other_equipment.id}/retire",
         other_lab(302), name="other-lab"),
    # CSV export and import.
    Case("manage.export_equipment", "GET", lambda p: f"{_lab(p)}/equipment.csv", managed(200),
         name="published"),
    Case("manage.export_equipment", "GET", lambda p: f"{_drafts(p)}/equipment.csv",
         managed(200, hidden=True), name="draft"),
    Case("manage.import_equipment", "GET", lambda p: f"{_lab(p)}/equipment/import",
         managed(200), name="published"),
    Case("manage.import_equipment", "GET", lambda p: f"{_drafts(p)}/equipment/import",
         managed(200, hidden=True), name="draft"),
    Case("manage.import_equipment", "POST", lambda p: f"{_lab(p)}/equipment/import",
         managed(302), data=csv_file, name="published"),
    Case("manage.import_equipment", "POST", lambda p: f"{_drafts(p)}/equipment/import",
         managed(302, hidden=True), data=csv_file, name="draft"),
    Case("manage.import_equipment", "POST", lambda p: f"{_lab(p)}/equipment/import",
         managed(422), data=bad_csv_file, name="invalid"),
]
