"""services.catalogue.labs called directly: lab profile and placing, opening hours, equipment, CSV
import and export. Each refusal names its field and writes nothing; the lab's equipment
count stays right after every write."""

from __future__ import annotations

import dataclasses
from datetime import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import (
    AuditEvent,
    Equipment,
    EquipmentKet,
    EquipmentSpec,
    EquipmentStatus,
    Lab,
    LabKet,
    OpeningHours,
    User,
)
from labnet.services.catalogue import labs

COUNTED = (Equipment, EquipmentSpec, EquipmentKet, OpeningHours, LabKet, AuditEvent)


def _counts() -> dict[str, int]:
    counts = {m.__name__: db.session.scalar(select(func.count()).select_from(m))
              for m in COUNTED}
    counts["labs"] = repr(db.session.execute(
        select(Lab.id, Lab.name, Lab.lat, Lab.lon, Lab.coords_source, Lab.timezone,
               Lab.equipment_count, Lab.is_published).order_by(Lab.id)).all())
    return counts


def _refused(field: str | None, call, *args, **kwargs) -> RuleViolation:
    """``call`` raises a RuleViolation naming ``field`` (among all it lists) and leaves the
    database as it was."""
    db.session.commit()
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        call(*args, **kwargs)
    db.session.rollback()
    fields = [v.field for v in getattr(info.value, "violations", [info.value])]
    assert field in fields, (fields, info.value.message)
    assert _counts() == before
    return info.value


def _message(exc: RuleViolation, field: str) -> str:
    return next(v.message for v in getattr(exc, "violations", [exc]) if v.field == field)


def _lab(lab) -> Lab:
    return db.session.get(Lab, lab.id)


def _user(user) -> User:
    return db.session.get(User, user.id)


def _live_count(lab_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Equipment).where(
        Equipment.lab_id == lab_id, Equipment.status != EquipmentStatus.RETIRED))


def _assert_count_right(lab_id: int) -> None:
    db.session.expire_all()
    assert db.session.get(Lab, lab_id).equipment_count == _live_count(lab_id)


def _profile(lab: Lab, **changes) -> labs.LabProfile:
    return dataclasses.replace(labs.profile_of(lab), **changes)


def _equipment(**changes) -> labs.EquipmentData:
    base = labs.EquipmentData(
        name="Confocal Raman microscope", category_code="raman-ftir", maker="WITec",
        model="alpha300 R", rate_industry=Decimal("120"), rate_sme=Decimal("95.50"),
        booking_unit="hour", min_units=1, max_units=6, buffer_minutes=15, currency="EUR",
        mode="operator_assisted", ket_codes=("AMN.CHR", "AMN"),
        specs=(("Laser", "532 nm"), ("", ""), ("Resolution", "360 nm lateral")),
    )
    return dataclasses.replace(base, **changes)


# -- lab profile ---------------------------------------------------------------------------


def test_update_lab_profile_saves_profile_policy_kets_and_publishing(ctx, people,
                                                                     frozen_clock):
    lab = _lab(people.draft)
    saved = labs.update_lab_profile(
        _user(people.manager), lab,
        _profile(lab, name="Laser Application Lab", description="Laser processing.",
                 capabilities="Welding trials\nCutting trials", ket_codes=("AMT", "AMT.LAS"),
                 requires_approval=False, min_lead_hours=48, max_advance_days=90,
                 cancel_deadline_hours=12, hold_hours=24, is_published=True,
                 timezone="Europe/Rome"),
        now=frozen_clock.now)
    db.session.commit()
    lab = _lab(people.draft)
    assert saved.geocode is None  # the address did not change and the lab has a point
    assert (lab.name, lab.is_published, lab.requires_approval, lab.min_lead_hours,
            lab.max_advance_days, lab.cancel_deadline_hours, lab.hold_hours, lab.timezone) == (
        "Laser Application Lab", True, False, 48, 90, 12, 24, "Europe/Rome")
    assert lab.capability_list == ["Welding trials", "Cutting trials"]
    assert sorted(db.session.scalars(select(LabKet.ket_code).where(LabKet.lab_id == lab.id))
                  ) == ["AMT", "AMT.LAS"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lab.updated"))
    assert event.actor_id == people.manager.id and event.subject_id == lab.id
    assert "ket_codes" in event.data["fields"] and "is_published" in event.data["fields"]


def test_changed_address_is_placed_by_the_gazetteer_and_zone_is_suggested(ctx, people,
                                                                          frozen_clock):
    lab = _lab(people.lab)
    saved = labs.update_lab_profile(_user(people.manager), lab,
                                    _profile(lab, address="Mekelweg 2", postal_code="2628 CD",
                                             city="Delft", country="NL"),
                                    now=frozen_clock.now)
    db.session.commit()
    lab = _lab(people.lab)
    assert saved.geocode == "placed"
    assert lab.coords_source == "gazetteer"
    assert abs(lab.lat - 52.0) < 0.1 and abs(lab.lon - 4.36) < 0.1
    # The zone stays the manager's choice; the place's zone is only suggested.
    assert lab.timezone == "Europe/Berlin"
    assert saved.suggested_timezone == "Europe/Amsterdam"


def test_hand_entered_coordinates_win_over_a_later_geocode(ctx, people, frozen_clock):
    lab = _lab(people.lab)
    saved = labs.update_lab_profile(_user(people.manager), lab,
                                    _profile(lab, lat=50.7793, lon=6.0689), now=frozen_clock.now)
    db.session.commit()
    assert saved.geocode == "manual"
    lab = _lab(people.lab)
    assert (lab.lat, lab.lon, lab.coords_source) == (50.7793, 6.0689, "manual")
    # The address changes later; the hand-entered point stays.
    saved = labs.update_lab_profile(_user(people.manager), lab,
                                    _profile(lab, city="Delft", country="NL"),
                                    now=frozen_clock.now)
    db.session.commit()
    lab = _lab(people.lab)
    assert saved.geocode == "kept_manual"
    assert (lab.lat, lab.lon, lab.coords_source, lab.city) == (50.7793, 6.0689, "manual",
                                                               "Delft")


def test_coordinates_shown_back_unchanged_are_not_taken_as_entered_by_hand(ctx, people,
                                                                           frozen_clock):
    lab = _lab(people.lab)
    labs.update_lab_profile(_user(people.manager), lab,
                            _profile(lab, description="New text"), now=frozen_clock.now)
    db.session.commit()
    assert _lab(people.lab).coords_source is None


def test_relocate_forgets_hand_entered_coordinates(ctx, people, frozen_clock):
    lab = _lab(people.lab)
    labs.update_lab_profile(_user(people.manager), lab, _profile(lab, lat=10.0, lon=10.0),
                            now=frozen_clock.now)
    db.session.commit()
    lab = _lab(people.lab)
    saved = labs.update_lab_profile(_user(people.manager), lab, _profile(lab, relocate=True),
                                    now=frozen_clock.now)
    db.session.commit()
    lab = _lab(people.lab)
    assert saved.geocode == "placed" and lab.coords_source == "gazetteer"
    assert abs(lab.lat - 50.77) < 0.1  # Aachen again


def test_address_without_a_place_is_refused_on_lat_asking_for_coordinates(ctx, people,
                                                                          frozen_clock):
    lab = _lab(people.lab)
    exc = _refused("lat", labs.update_lab_profile, _user(people.manager), lab,
                   _profile(lab, city="Qwxzyville Nowhere", name="Renamed"),
                   now=frozen_clock.now)
    assert exc.message == labs.NOT_FOUND_MESSAGE
    # With coordinates the same address is accepted.
    lab = _lab(people.lab)
    labs.update_lab_profile(_user(people.manager), lab,
                            _profile(lab, city="Qwxzyville Nowhere", lat=48.1, lon=11.5),
                            now=frozen_clock.now)
    db.session.commit()
    assert (_lab(people.lab).lat, _lab(people.lab).coords_source) == (48.1, "manual")


@pytest.mark.parametrize(("changes", "field"), [
    ({"lat": 91.0, "lon": 6.0}, "lat"),
    ({"lat": 50.0, "lon": -181.0}, "lon"),
    ({"lat": 50.0, "lon": None}, "lon"),
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"kind_code": "castle"}, "kind_code"),
    ({"ket_codes": ("AMT", "XYZ.1")}, "ket_codes"),
    ({"min_lead_hours": -1}, "min_lead_hours"),
    ({"max_advance_days": 0}, "max_advance_days"),
    ({"max_advance_days": 100000}, "max_advance_days"),
    ({"cancel_deadline_hours": None}, "cancel_deadline_hours"),
    ({"hold_hours": 0}, "hold_hours"),
    ({"name": "  "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"country": "Germany"}, "country"),
    ({"description": "nul \x00 byte"}, "description"),
])
def test_update_lab_profile_refusals_name_their_field(ctx, people, frozen_clock, changes,
                                                      field):
    lab = _lab(people.lab)
    _refused(field, labs.update_lab_profile, _user(people.manager), lab,
             _profile(lab, **changes), now=frozen_clock.now)


def test_several_wrong_fields_are_all_listed(ctx, people, frozen_clock):
    lab = _lab(people.lab)
    exc = _refused("timezone", labs.update_lab_profile, _user(people.manager), lab,
                   _profile(lab, timezone="Mars/Base", hold_hours=0, ket_codes=("NOPE",)),
                   now=frozen_clock.now)
    assert {v.field for v in exc.violations} == {"timezone", "hold_hours", "ket_codes"}


@pytest.mark.parametrize("who", ["other_manager", "member", "coordinator"])
def test_only_managers_and_admins_edit_a_lab(ctx, people, frozen_clock, who):
    lab = _lab(people.lab)
    with pytest.raises(PermissionDenied):
        labs.update_lab_profile(_user(getattr(people, who)), lab, _profile(lab, name="Hijacked"),
                                now=frozen_clock.now)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        labs.set_opening_hours(_user(getattr(people, who)), lab, {0: [(time(8), time(9))]},
                               now=frozen_clock.now)
    with pytest.raises(PermissionDenied):
        labs.add_equipment(_user(getattr(people, who)), lab, _equipment(), now=frozen_clock.now)
    with pytest.raises(PermissionDenied):
        labs.import_equipment_csv(_user(getattr(people, who)), lab,
                                  labs.equipment_csv_template().encode(), now=frozen_clock.now)
    with pytest.raises(PermissionDenied):
        labs.export_equipment_csv(_user(getattr(people, who)), lab)
    with pytest.raises(PermissionDenied):
        labs.update_lab_profile(None, lab, _profile(lab), now=frozen_clock.now)


def test_admin_edits_any_lab(ctx, people, frozen_clock):
    lab = _lab(people.other_lab)
    labs.update_lab_profile(_user(people.admin), lab, _profile(lab, name="Renamed by admin"),
                            now=frozen_clock.now)
    db.session.commit()
    assert _lab(people.other_lab).name == "Renamed by admin"


# -- opening hours -------------------------------------------------------------------------


def _hours(lab_id: int) -> list[tuple[int, str, str]]:
    return [(h.weekday, h.opens_at.strftime("%H:%M"), h.closes_at.strftime("%H:%M"))
            for h in db.session.scalars(select(OpeningHours).where(OpeningHours.lab_id == lab_id)
                                        .order_by(OpeningHours.weekday, OpeningHours.opens_at))]


def test_set_opening_hours_with_breaks_and_closed_days_then_replace_them(ctx, people,
                                                                         frozen_clock):
    lab = _lab(people.lab)
    week = {0: [(time(8), time(12)), (time(13), time(17)), (None, None)],
            2: [(None, None), (time(9), time(15))], 6: []}
    labs.set_opening_hours(_user(people.manager), lab, week, now=frozen_clock.now)
    db.session.commit()
    assert _hours(lab.id) == [(0, "08:00", "12:00"), (0, "13:00", "17:00"), (2, "09:00", "15:00")]
    # Same opening time, different closing time: the unique (lab, day, opens) row is replaced.
    labs.set_opening_hours(_user(people.manager), _lab(people.lab),
                           {0: [(time(8), time(18))]}, now=frozen_clock.now)
    db.session.commit()
    assert _hours(lab.id) == [(0, "08:00", "18:00")]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "lab.hours_set")) == 2


@pytest.mark.parametrize(("week", "field", "words"), [
    ({0: [(time(17), time(8))]}, "mon_1_closes", "not after it opens"),
    ({1: [(time(9), time(9))]}, "tue_1_closes", "not after it opens"),
    ({2: [(time(8), time(12)), (time(11), time(14))]}, "wed_2_opens", "overlaps"),
    ({3: [(time(8), time(18)), (time(9), time(10)), (time(11), time(12))]}, "thu_3_opens",
     "overlaps"),
    ({4: [(None, None), (time(8), None)]}, "fri_2_closes", "closing time"),
    ({5: [(None, time(12))]}, "sat_1_opens", "opening time"),
])
def test_set_opening_hours_refusals_name_the_interval(ctx, people, frozen_clock, week, field,
                                                      words):
    labs.set_opening_hours(_user(people.manager), _lab(people.lab), {0: [(time(7), time(9))]},
                           now=frozen_clock.now)
    exc = _refused(field, labs.set_opening_hours, _user(people.manager), _lab(people.lab), week,
                   now=frozen_clock.now)
    assert words in _message(exc, field)
    assert _hours(people.lab.id) == [(0, "07:00", "09:00")]


# -- equipment -----------------------------------------------------------------------------


def test_add_equipment_writes_specs_kets_audit_and_counts_it(ctx, people, frozen_clock):
    before = _lab(people.lab).equipment_count
    item = labs.add_equipment(_user(people.manager), _lab(people.lab), _equipment(),
                              now=frozen_clock.now)
    db.session.commit()
    item = db.session.get(Equipment, item.id)
    assert (item.name, item.category_code, item.rate_industry, item.rate_sme, item.max_units,
            item.buffer_minutes) == ("Confocal Raman microscope", "raman-ftir", Decimal("120.00"),
                                     Decimal("95.50"), 6, 15)
    specs = db.session.execute(select(EquipmentSpec.position, EquipmentSpec.key,
                                      EquipmentSpec.value)
                               .where(EquipmentSpec.equipment_id == item.id)
                               .order_by(EquipmentSpec.position)).all()
    assert [tuple(s) for s in specs] == [(0, "Laser", "532 nm"),
                                         (1, "Resolution", "360 nm lateral")]
    assert sorted(db.session.scalars(select(EquipmentKet.ket_code).where(
        EquipmentKet.equipment_id == item.id))) == ["AMN", "AMN.CHR"]
    assert _lab(people.lab).equipment_count == before + 1
    _assert_count_right(people.lab.id)
    assert db.session.scalar(select(AuditEvent.subject_id).where(
        AuditEvent.action == "equipment.added")) == item.id


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"rate_industry": Decimal("-1")}, "rate_industry", "negative"),
    ({"rate_sme": Decimal("-0.01")}, "rate_sme", "negative"),
    ({"rate_industry": Decimal("1000000")}, "rate_industry", "not a plausible rate"),
    ({"rate_sme": Decimal("NaN")}, "rate_sme", "amount"),
    ({"rate_industry": Decimal("10.125")}, "rate_industry", "two decimal"),
    ({"rate_industry": None}, "rate_industry", "Enter the rate"),
    ({"min_units": 8, "max_units": 2}, "min_units", "longer than the maximum"),
    ({"min_units": 0}, "min_units", "between 1"),
    ({"max_units": 100000}, "max_units", "between 1"),
    ({"buffer_minutes": -5}, "buffer_minutes", "between 0"),
    ({"category_code": "time-machine"}, "category_code", "Unknown equipment category"),
    ({"ket_codes": ("AMN.CHR", "FAKE")}, "ket_codes", "Unknown KET"),
    ({"currency": "EURO"}, "currency", "three-letter"),
    ({"currency": "XYZ"}, "currency", "three-letter"),
    ({"booking_unit": "week"}, "booking_unit", "hour, half day or day"),
    ({"mode": "magic"}, "mode", "self-service"),
    ({"status": "gone"}, "status", "retired"),
    ({"name": ""}, "name", "name"),
    ({"specs": (("", "532 nm"),)}, "spec_keys-0", "Name this"),
    ({"specs": (("Laser", "1"), ("Power", "")), }, "spec_values-1", "Enter the value"),
    ({"specs": (("Laser", "1"), ("laser", "2"))}, "spec_keys-1", "twice"),
    ({"specs": (("Temp: max", "1"),)}, "spec_keys-0", "colon"),
])
def test_add_equipment_refusals_name_their_field_and_write_nothing(ctx, people, frozen_clock,
                                                                   changes, field, words):
    exc = _refused(field, labs.add_equipment, _user(people.manager), _lab(people.lab),
                   _equipment(**changes), now=frozen_clock.now)
    assert words in _message(exc, field)


def test_update_equipment_to_retired_and_back_keeps_the_count(ctx, people, make_equipment,
                                                              frozen_clock):
    item = make_equipment(people.lab)
    count = _lab(people.lab).equipment_count
    data = labs.data_of(db.session.get(Equipment, item.id))
    labs.update_equipment(_user(people.manager), db.session.get(Equipment, item.id),
                          dataclasses.replace(data, status="retired",
                                              specs=(("Detector", "EDS"),)),
                          now=frozen_clock.now)
    db.session.commit()
    assert _lab(people.lab).equipment_count == count - 1
    assert [s.key for s in db.session.scalars(select(EquipmentSpec).where(
        EquipmentSpec.equipment_id == item.id))] == ["Detector"]
    labs.update_equipment(_user(people.manager), db.session.get(Equipment, item.id),
                          dataclasses.replace(data, status="maintenance"), now=frozen_clock.now)
    db.session.commit()
    assert _lab(people.lab).equipment_count == count
    _assert_count_right(people.lab.id)


def test_update_equipment_without_changes_writes_no_audit(ctx, people, make_equipment,
                                                          frozen_clock):
    item = make_equipment(people.lab)
    data = labs.data_of(db.session.get(Equipment, item.id))
    labs.update_equipment(_user(people.manager), db.session.get(Equipment, item.id), data,
                          now=frozen_clock.now)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_retire_equipment_keeps_the_row_and_leaves_the_count(ctx, people, make_equipment,
                                                             frozen_clock):
    item = make_equipment(people.lab)
    count = _lab(people.lab).equipment_count
    assert labs.retire_equipment(_user(people.manager), db.session.get(Equipment, item.id),
                                 now=frozen_clock.now)
    db.session.commit()
    assert db.session.get(Equipment, item.id).status == "retired"
    assert _lab(people.lab).equipment_count == count - 1
    # Retiring twice changes nothing.
    assert not labs.retire_equipment(_user(people.manager), db.session.get(Equipment, item.id),
                                     now=frozen_clock.now)
    db.session.commit()
    assert _lab(people.lab).equipment_count == count - 1
    _assert_count_right(people.lab.id)


def test_retire_refused_to_a_manager_of_another_lab(ctx, people, make_equipment, frozen_clock):
    item = make_equipment(people.lab)
    with pytest.raises(PermissionDenied):
        labs.retire_equipment(_user(people.other_manager), db.session.get(Equipment, item.id),
                              now=frozen_clock.now)


# -- CSV -----------------------------------------------------------------------------------


def _csv(*rows: str, header: str = ",".join(labs.CSV_COLUMNS)) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def _import(people, content: bytes, now, **kw):
    return labs.import_equipment_csv(_user(people.manager), _lab(people.lab), content, now=now,
                                     **kw)


def test_export_then_import_round_trip_updates_in_place(ctx, people, make_equipment,
                                                        frozen_clock):
    make_equipment(people.lab, name="=HYPERLINK(\"http://evil.example\")",
                   specs={"Resolution": "1 nm", "Detectors": "SE, BSE"})
    make_equipment(people.lab, status="retired", name="Old SEM")
    make_equipment(people.other_lab, name="Not ours")
    exported = labs.export_equipment_csv(_user(people.manager), _lab(people.lab))
    assert "Not ours" not in exported and "Old SEM" in exported
    # Spreadsheets must not run a name as a formula.
    assert "'=HYPERLINK" in exported
    db.session.commit()
    before = _counts()
    result = _import(people, exported.encode(), frozen_clock.now)
    db.session.commit()
    assert result == labs.ImportResult(created=0, updated=0)
    assert {k: v for k, v in _counts().items() if k != "AuditEvent"} == {
        k: v for k, v in before.items() if k != "AuditEvent"}
    assert labs.export_equipment_csv(_user(people.manager), _lab(people.lab)) == exported
    # Edit one rate and add one row: one update, one creation.
    edited = exported.replace("150.00", "175.00", 1) + (
        ",Tensile tester,universal-testing,ZwickRoell,Z100,,hour,1,8,0,90,70,,EUR,"
        "operator_assisted,no,active,AMT.QC,\"Max force: 100 kN\nSpeed: 0.001–1000 mm/min\"\r\n")
    result = _import(people, edited.encode(), frozen_clock.now)
    db.session.commit()
    assert result == labs.ImportResult(created=1, updated=1)
    tester = db.session.scalar(select(Equipment).where(Equipment.name == "Tensile tester"))
    assert [(s.key, s.value) for s in db.session.scalars(
        select(EquipmentSpec).where(EquipmentSpec.equipment_id == tester.id)
        .order_by(EquipmentSpec.position))] == [("Max force", "100 kN"),
                                                ("Speed", "0.001–1000 mm/min")]
    assert db.session.scalar(select(Equipment.name).where(Equipment.name.like("=HYPER%")))
    _assert_count_right(people.lab.id)


def test_import_with_three_bad_rows_lists_each_with_line_and_column_and_writes_nothing(
        ctx, people, frozen_clock):
    content = _csv(
        ",Good one,sem,,,,hour,1,8,0,100,80,,EUR,operator_assisted,no,active,AMN.CHR,",
        ",Negative,sem,,,,hour,1,8,0,-5,80,,EUR,operator_assisted,no,active,,",
        ",\"Two\nlines\",sem,,,,hour,9,2,0,100,80,,EUR,operator_assisted,no,active,,",
        ",Unknown,warp-drive,,,,hour,1,8,0,100,80,,EUR,operator_assisted,no,active,NOPE,",
    )
    exc = _refused("file", _import, people, content, frozen_clock.now)
    problems = [(p.line, p.column, p.column_name) for p in exc.problems]
    assert problems == [
        (3, 11, "rate_industry"),
        (4, 2, "name"),  # a name is one line (services.common.text)
        (4, 8, "min_units"),  # the record starts on line 4 and spans two lines
        (6, 3, "category"),
        (6, 18, "ket_codes"),
    ]
    assert "line 3, column 11 (rate_industry): A rate cannot be negative." in [
        str(p) for p in exc.problems]
    assert "5 problems" in exc.message


def test_import_accepts_semicolons_decimal_commas_and_fewer_columns(ctx, people,
                                                                    frozen_clock):
    content = ("name;category;rate_industry;rate_sme;booking_unit;currency\r\n"
               "Pilot fermenter;bioreactors;1500,00;1200;Day;eur\r\n").encode("cp1252")
    result = _import(people, content, frozen_clock.now)
    db.session.commit()
    assert result.created == 1
    item = db.session.scalar(select(Equipment).where(Equipment.name == "Pilot fermenter"))
    assert (item.rate_industry, item.booking_unit, item.currency, item.min_units) == (
        Decimal("1500.00"), "day", "EUR", 1)
    _assert_count_right(people.lab.id)


@pytest.mark.parametrize(("content", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
    (b"hello world, this is a letter\r\nnot a table\r\n", "not a LabNet equipment file"),
    (b"", "empty"),
    (b"name,category,rate_industry,rate_sme\r\n", "no equipment rows"),
])
def test_import_refuses_files_that_are_not_equipment_csv(ctx, people, frozen_clock, content,
                                                         words):
    exc = _refused("file", _import, people, content, frozen_clock.now)
    assert words in exc.message


def test_import_refuses_a_file_over_the_size_limit(ctx, people, frozen_clock):
    content = _csv(",A,sem,,,,hour,1,8,0,100,80,,EUR,operator_assisted,no,active,,")
    exc = _refused("file", _import, people, content, frozen_clock.now, max_bytes=100)
    assert "larger than" in exc.message


def test_import_header_problems_name_the_column(ctx, people, frozen_clock):
    exc = _refused("file", _import, people, b"name,colour,rate_industry,rate_sme\r\nA,red,1,1\r\n",
                   frozen_clock.now)
    assert [(p.line, p.column, p.column_name) for p in exc.problems] == [
        (1, 2, "colour"), (1, None, "category")]


def test_import_refuses_ids_of_another_labs_equipment(ctx, people, make_equipment,
                                                      frozen_clock):
    theirs = make_equipment(people.other_lab)
    exc = _refused("file", _import, people,
                   _csv(f"{theirs.id},Taken over,sem,,,,hour,1,8,0,100,80,,EUR,"
                        "operator_assisted,no,active,,"), frozen_clock.now)
    assert [(p.line, p.column_name) for p in exc.problems] == [(2, "id")]
    assert db.session.get(Equipment, theirs.id).name != "Taken over"


def test_template_has_every_column_and_imports_cleanly(ctx, people, frozen_clock):
    template = labs.equipment_csv_template()
    assert template.splitlines()[0] == ",".join(labs.CSV_COLUMNS)
    assert _import(people, template.encode(), frozen_clock.now).created == 1


def test_import_reports_every_problem_of_a_row_not_only_the_first(ctx, people, frozen_clock):
    # An unreadable number, an unknown category and a reversed length in one row: the
    # manager sees all three at once instead of fixing them one upload at a time.
    content = _csv(
        ",Broken,warp-drive,,,,hour,9,2,0,abc,80,,EUR,operator_assisted,no,active,,",
    )
    exc = _refused("file", _import, people, content, frozen_clock.now)
    columns = sorted(p.column_name for p in exc.problems)
    assert "rate_industry" in columns and "category" in columns and "min_units" in columns
    assert all(p.line == 2 for p in exc.problems)


def test_the_academic_rate_travels_in_the_csv_and_an_empty_cell_removes_it(ctx, people,
                                                                          frozen_clock):
    content = _csv(",Glovebox,sem,,,,hour,1,8,0,100,80,65.5,EUR,operator_assisted,no,"
                   "active,,")
    assert _import(people, content, frozen_clock.now).created == 1
    db.session.commit()
    item = db.session.scalar(select(Equipment).where(Equipment.name == "Glovebox"))
    assert item.rate_academic == Decimal("65.50")
    exported = labs.export_equipment_csv(_user(people.manager), _lab(people.lab))
    assert ",100.00,80.00,65.50,EUR," in exported
    # An empty cell: academics pay the industry rate again. A file without the column
    # keeps the stored rate.
    assert _import(people, exported.replace(",65.50,", ",,").encode(),
                   frozen_clock.now).updated == 1
    db.session.commit()
    db.session.refresh(item)
    assert item.rate_academic is None
    short = ("id,name,category,rate_industry,rate_sme,rate_academic\r\n"
             f"{item.id},Glovebox,sem,100,80,-1\r\n").encode()
    exc = _refused("file", _import, people, short, frozen_clock.now)
    assert [p.column_name for p in exc.problems] == ["rate_academic"]
