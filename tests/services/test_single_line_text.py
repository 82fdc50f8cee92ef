"""One rule for single-line text (issue 10, item 6): names, titles and references hold no
control character, whether typed in a form, sent to a service or imported from CSV (with
the line and column); nothing is written when refused."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from labnet import clock
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.models import Equipment, Lab, User
from labnet.services.catalogue import labs
from labnet.services.common.text import LINE_MESSAGE, clean_text, control_problem, text_problem
from labnet.services.networks import rules as nw
from labnet.services.requests import workflow as requests

EVIL = "Microscope\r\nBcc: attacker@evil.example"


@pytest.mark.parametrize("value", [
    "A\nB", "A\rB", "A\tB", "A\x00B", "A\x1b[31mB", "A\x7fB", "A\x85B", "A\u2028B"])
def test_single_line_text_refuses_every_control_character(value):
    assert control_problem(value) == LINE_MESSAGE
    with pytest.raises(RuleViolation) as info:
        clean_text(value, "name", label="The name", limit=200)
    assert (info.value.field, info.value.message) == ("name", LINE_MESSAGE)


def test_multi_line_text_keeps_line_breaks_and_tabs_but_not_other_controls():
    assert control_problem("one\r\ntwo\tthree", one_line=False) is None
    assert control_problem("bell\x07", one_line=False) is not None
    assert text_problem("x" * 201, label="The name", limit=200) == (
        "The name is too long: at most 200 characters.")
    assert clean_text("  Spaced name  ", "name", label="The name", limit=200) == "Spaced name"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Equipment))


def test_csv_import_refuses_a_name_with_a_line_break_naming_line_and_column(
        ctx, people, frozen_clock):
    header = ",".join(labs.CSV_COLUMNS)
    content = (header + "\r\n"
               ",Good one,sem,,,,hour,1,8,0,100,80,,EUR,operator_assisted,no,active,,\r\n"
               f',"{EVIL}",sem,"ZEISS\tGmbH",,,hour,1,8,0,100,80,,EUR,operator_assisted,no,'
               'active,,\r\n').encode()
    before = _count()
    with pytest.raises(labs.CsvImportError) as info:
        labs.import_equipment_csv(db.session.get(User, people.manager.id),
                                  db.session.get(Lab, people.lab.id), content,
                                  now=frozen_clock.now)
    db.session.rollback()
    problems = [(p.line, p.column, p.column_name, p.message) for p in info.value.problems]
    assert problems == [(3, 2, "name", LINE_MESSAGE), (3, 4, "maker", LINE_MESSAGE)]
    assert _count() == before


def _equipment(**kw) -> labs.EquipmentData:
    return dataclasses.replace(labs.EquipmentData(
        name="Tensile tester", category_code="universal-testing",
        rate_industry=Decimal("90"), rate_sme=Decimal("70")), **kw)


@pytest.mark.parametrize("field", ["name", "maker", "model"])
def test_adding_equipment_refuses_a_control_character_in_a_one_line_field(
        ctx, people, frozen_clock, field):
    before = _count()
    with pytest.raises(RuleViolation) as info:
        labs.add_equipment(db.session.get(User, people.manager.id),
                           db.session.get(Lab, people.lab.id), _equipment(**{field: EVIL}),
                           now=frozen_clock.now)
    db.session.rollback()
    assert (field, LINE_MESSAGE) in [(v.field, v.message) for v in info.value.violations]
    assert _count() == before


def test_the_lab_profile_refuses_a_line_break_in_its_name_but_not_in_its_description(
        ctx, people, frozen_clock):
    lab = db.session.get(Lab, people.lab.id)
    profile = labs.profile_of(lab)
    with pytest.raises(RuleViolation) as info:
        labs.update_lab_profile(db.session.get(User, people.manager.id), lab,
                                dataclasses.replace(profile, name=EVIL), now=frozen_clock.now)
    db.session.rollback()
    assert [(v.field, v.message) for v in info.value.violations] == [("name", LINE_MESSAGE)]
    labs.update_lab_profile(db.session.get(User, people.manager.id), lab,
                            dataclasses.replace(profile, description="Line one\r\nLine two"),
                            now=frozen_clock.now)
    db.session.commit()
    assert db.session.get(Lab, people.lab.id).name == people.lab.name


def test_a_request_title_with_a_line_break_is_refused(ctx, people, frozen_clock):
    with pytest.raises(RuleViolation) as info:
        requests.create_request(db.session.get(User, people.member.id), requests.NewRequest(
            kind="access", lab_ids=[people.lab.id], title=EVIL, summary="Access please"),
            now=frozen_clock.now)
    db.session.rollback()
    assert (info.value.field, info.value.message) == ("title", LINE_MESSAGE)


def test_a_network_name_with_a_line_break_is_refused(ctx, people):
    with pytest.raises(RuleViolation) as info:
        nw.create_network(db.session.get(User, people.coordinator.id),
                          nw.NetworkFields(name=EVIL), now=clock.utcnow())
    db.session.rollback()
    assert (info.value.field, info.value.message) == ("name", LINE_MESSAGE)
