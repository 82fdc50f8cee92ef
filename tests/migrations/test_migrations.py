"""The migrations build the schema from nothing, and the models have not drifted."""

from __future__ import annotations

from sqlalchemy import inspect

from labnet.extensions import db


def test_upgrade_builds_every_table_and_check_finds_no_drift(app, runner):
    # The app's database was built by `flask db upgrade` (the template of every test).
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_taxonomies_are_loaded_by_the_migration(app):
    from sqlalchemy import func, select

    from labnet.models import AccreditationScheme, EquipmentCategory, KetArea, LabKind

    with app.app_context():
        count = lambda m: db.session.scalar(select(func.count()).select_from(m))  # noqa: E731
        assert count(KetArea) == 63
        assert count(EquipmentCategory) == 55
        assert count(LabKind) == 9
        assert count(AccreditationScheme) >= 20
        assert db.session.get(KetArea, "AMT.ADD").parent_code == "AMT"
