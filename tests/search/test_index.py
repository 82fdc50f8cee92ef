"""The word-search index stays true in the writes' transaction: after every writer (lab
profile, KET areas, equipment add/edit/retire, CSV import, demo and synthetic seeding, plain
ORM and Core writes) the rows equal a fresh rebuild, and a rollback leaves them as they were.
Also ``flask labnet search reindex``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert, select, update

from labnet.extensions import db
from labnet.models import Equipment, EquipmentSpec, Lab, SearchTerm, User
from labnet.services.catalogue import labs, search
from labnet.services.catalogue.search import index
from labnet.services.seed import seed_demo, seed_synthetic

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def stored() -> set[tuple[int, str, int]]:
    return {(r.lab_id, r.term, r.fields) for r in db.session.scalars(select(SearchTerm))}


def rebuilt() -> set[tuple[int, str, int]]:
    ids = list(db.session.scalars(select(Lab.id)))
    return {(lab_id, term, fields)
            for lab_id, terms in index.lab_terms(db.session.connection(), ids).items()
            for term, fields in terms.items()}


def assert_true() -> None:
    db.session.commit()
    assert stored() == rebuilt()


def found(q: str) -> list[str]:
    query, _ = search.parse_query({"q": q})
    return sorted(lab.name for lab in search.search_labs(None, query, per_page=100).items)


def _user(user) -> User:
    return db.session.get(User, user.id)


def _lab(lab) -> Lab:
    return db.session.get(Lab, lab.id)


def _equipment(**changes) -> labs.EquipmentData:
    base = labs.EquipmentData(
        name="Confocal Raman microscope", category_code="raman-ftir", maker="WITec",
        model="alpha300 R", rate_industry=Decimal("120"), rate_sme=Decimal("95.50"),
        booking_unit="hour", min_units=1, max_units=6, buffer_minutes=15, currency="EUR",
        mode="operator_assisted", ket_codes=("AMN.CHR",),
        specs=(("Laser", "532 nm"),),
    )
    return dataclasses.replace(base, **changes)


def test_every_catalogue_writer_keeps_the_index_in_its_transaction(ctx, people):
    manager = people.manager
    assert_true()
    lab = _lab(people.lab)
    profile = dataclasses.replace(labs.profile_of(lab), name="Kryo Werkstatt",
                                  capabilities="Battery cell testing",
                                  ket_codes=("AMN", "AMN.ENE"))
    labs.update_lab_profile(_user(manager), lab, profile, now=NOW)
    assert_true()
    assert "Kryo Werkstatt" in found("batteries")  # capabilities, stemmed
    item = labs.add_equipment(_user(manager), _lab(people.lab), _equipment(), now=NOW)
    assert_true()
    assert found("witec") == ["Kryo Werkstatt"]
    labs.update_equipment(_user(manager), db.session.get(Equipment, item.id),
                          _equipment(maker="Horiba", specs=(("Detector", "Andor CCD"),)),
                          now=NOW)
    assert_true()
    assert found("witec") == [] and found("andor") == ["Kryo Werkstatt"]
    labs.retire_equipment(_user(manager), db.session.get(Equipment, item.id), now=NOW)
    assert_true()
    assert found("horiba") == []
    csv = ",".join(labs.CSV_COLUMNS) + "\r\n" + (
        ",Tensile tester,universal-testing,ZwickRoell,Z100,,hour,1,8,0,90,70,,EUR,"
        "operator_assisted,no,active,AMT.QC,\r\n")
    labs.import_equipment_csv(_user(manager), _lab(people.lab), csv.encode(), now=NOW)
    assert_true()
    assert found("zwickroell") == ["Kryo Werkstatt"]


def test_plain_orm_and_core_writes_are_seen_and_a_rollback_forgets(ctx, make_lab):
    lab = make_lab(name="Plain Lab")
    assert_true()
    row = db.session.get(Lab, lab.id)
    row.description = "Spectroscopic ellipsometry"
    db.session.flush()
    # A search in the same transaction already sees the change.
    assert found("ellipsometer") == ["Plain Lab"]
    db.session.rollback()
    assert found("ellipsometer") == [] and stored() == rebuilt()
    eq_id = db.session.execute(insert(Equipment).values(
        lab_id=lab.id, category_code="sem", name="Bench SEM", rate_industry=1, rate_sme=1,
    ).returning(Equipment.id)).scalar_one()
    db.session.execute(insert(EquipmentSpec), [{"equipment_id": eq_id, "key": "Detector",
                                                "value": "Oxford EDS"}])
    assert_true()
    assert found("oxford") == ["Plain Lab"] and found("SEM") == ["Plain Lab"]
    db.session.execute(update(Lab).where(Lab.id == lab.id).values(city="Göteborg"))
    assert_true()
    assert found("Gothenburg") == ["Plain Lab"]
    # An update of columns the index does not hold leaves it alone.
    db.session.execute(update(Lab).where(Lab.id == lab.id).values(equipment_count=7))
    assert not db.session.info.get(index._ALL)
    assert_true()


def test_seeding_and_reindex_leave_a_complete_index(ctx, runner):
    seed_demo(now=NOW)
    seed_synthetic(labs=20, equipment=60, seed=3, now=NOW)
    assert_true()
    db.session.execute(SearchTerm.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["labnet", "search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Search index:" in result.output and "labs" in result.output
    db.session.expire_all()
    assert stored() == rebuilt() and stored()
