"""``flask labnet …`` commands."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from labnet import data
from labnet.extensions import db
from labnet.models import (
    Accreditation,
    Equipment,
    KetArea,
    Lab,
    LabManager,
    OpeningHours,
    User,
    UserRole,
)


def test_seed_demo_loads_the_58_centres_with_equipment_and_accounts(app, runner, client):
    # The 58 centres and the accreditation demo's two KIBS providers.
    result = runner.invoke(args=["labnet", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "60 labs" in result.output
    categories = {c["code"]: c for c in data.equipment_categories()}
    with app.app_context():
        labs = db.session.scalars(select(Lab)).all()
        assert len(labs) == 60 and all(lab.is_published for lab in labs)
        assert len({(lab.lat, lab.lon) for lab in labs}) == 60  # spread: no two on one point
        assert sum(lab.kind_code == "kibs" for lab in labs) == 2
        for lab in labs:
            items = db.session.scalars(select(Equipment).where(Equipment.lab_id == lab.id)).all()
            # KIBS providers sell services; they list the odd instrument at most.
            assert (1 if lab.kind_code == "kibs" else 3) <= len(items) <= 8, lab.slug
            assert lab.equipment_count == len(items)
            for item in items:
                band = categories[item.category_code]["rate_band"]
                assert band["min"] <= item.rate_industry <= band["max"], item.name
                assert item.rate_sme <= item.rate_industry
            hours = db.session.scalar(select(func.count()).select_from(OpeningHours)
                                      .where(OpeningHours.lab_id == lab.id))
            assert hours >= 5
        states = set(db.session.scalars(select(Accreditation.status)))
        assert states == {"verified", "claimed", "rejected", "suspended", "withdrawn",
                          "expired"}
        assert db.session.scalar(select(func.count(Accreditation.id)).where(
            Accreditation.scheme_code == "iso-iec-17025", Accreditation.scope != "")) >= 4
        emails = set(db.session.scalars(select(User.email)))
        assert {"sme@labnet.example", "manager@labnet.example", "coordinator@labnet.example",
                "admin@labnet.example"} <= emails
        manager = db.session.scalar(select(User).where(User.email == "manager@labnet.example"))
        assert db.session.scalar(select(func.count()).select_from(LabManager)
                                 .where(LabManager.user_id == manager.id)) == 3
        roles = set(db.session.execute(select(User.email, UserRole.role)
                                       .join(UserRole, UserRole.user_id == User.id)))
        assert ("admin@labnet.example", "admin") in roles
        assert ("coordinator@labnet.example", "coordinator") in roles
    # The demo accounts log in with the documented password.
    from tests.fixtures.auth import post_form

    response = post_form(client, "/login", {"email": "sme@labnet.example",
                                            "password": "labnet-demo"})
    assert response.status_code == 302


def test_seed_demo_twice_adds_nothing(app, runner):
    runner.invoke(args=["labnet", "seed-demo"])
    result = runner.invoke(args=["labnet", "seed-demo"])
    assert "0 labs" in result.output
    result = runner.invoke(args=["labnet", "seed-demo", "--if-empty"])
    assert "nothing to do" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Lab.id))) == 60


def _catalogue_digest(app) -> str:
    with app.app_context():
        rows = db.session.execute(
            select(Lab.slug, Lab.name, Lab.lat, Lab.lon, Lab.equipment_count).order_by(Lab.slug)
        ).all()
        rows += db.session.execute(
            select(Equipment.name, Equipment.category_code, Equipment.rate_industry)
            .order_by(Equipment.id)
        ).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_seed_synthetic_is_deterministic_and_counts_match(app, runner, tmp_path,
                                                          database_template):
    result = runner.invoke(args=["labnet", "seed-synthetic", "--labs", "50", "--equipment",
                                 "400", "--seed", "7"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Lab.id))) == 50
        assert db.session.scalar(select(func.count(Equipment.id))) == 400
        assert db.session.scalar(select(func.sum(Lab.equipment_count))) == 400
    # The same seed on another fresh database gives the same catalogue.
    import shutil

    from labnet import create_app
    from tests.fixtures.app import TEST_CONFIG, postgres_url

    if postgres_url():
        return  # one database only on PostgreSQL; determinism is checked on SQLite
    copy = tmp_path / "second.sqlite"
    shutil.copyfile(database_template, copy)
    second = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{copy}"},
                        instance_path=str(tmp_path / "i2"))
    second.test_cli_runner().invoke(args=["labnet", "seed-synthetic", "--labs", "50",
                                          "--equipment", "400", "--seed", "7"])
    assert _catalogue_digest(app) == _catalogue_digest(second)
    with second.app_context():
        db.engine.dispose()


def test_seed_synthetic_refuses_a_seed_already_loaded(runner):
    runner.invoke(args=["labnet", "seed-synthetic", "--labs", "5", "--equipment", "5"])
    result = runner.invoke(args=["labnet", "seed-synthetic", "--labs", "5", "--equipment", "5"])
    assert result.exit_code != 0 and "exists already" in result.output


def test_users_grant_and_revoke_from_the_command_line(app, runner, people):
    result = runner.invoke(args=["labnet", "users", "grant", people.member.email,
                                 "lab_manager", "--lab", people.lab.slug])
    assert result.exit_code == 0 and "granted" in result.output
    result = runner.invoke(args=["labnet", "users", "grant", people.member.email, "coordinator"])
    assert "granted" in result.output
    listing = runner.invoke(args=["labnet", "users", "list", "--q", people.member.email])
    assert f"lab_manager:{people.lab.slug}" in listing.output and "coordinator" in listing.output
    result = runner.invoke(args=["labnet", "users", "revoke", people.member.email,
                                 "lab_manager", "--lab", people.lab.slug])
    assert "removed" in result.output
    with app.app_context():
        assert db.session.get(LabManager, (people.lab.id, people.member.id)) is None


def test_users_grant_names_the_problem(runner, people):
    result = runner.invoke(args=["labnet", "users", "grant", "ghost@example.org", "admin"])
    assert result.exit_code != 0 and "No user" in result.output
    result = runner.invoke(args=["labnet", "users", "grant", people.member.email, "lab_manager"])
    assert result.exit_code != 0 and "Choose the lab" in result.output
    result = runner.invoke(args=["labnet", "users", "grant", people.member.email, "lab_manager",
                                 "--lab", "nowhere"])
    assert result.exit_code != 0 and "No lab" in result.output


def test_sync_taxonomy_is_idempotent(app, runner):
    result = runner.invoke(args=["labnet", "sync-taxonomy"])
    assert result.exit_code == 0 and "ket_area: 63" in result.output
    runner.invoke(args=["labnet", "sync-taxonomy"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(KetArea)) == 63


def test_outbox_send_delivers_queued_mail_to_the_console(app, runner, caplog):
    from labnet import clock
    from labnet.models import OutboxEmail
    from labnet.services.notifications.outbox import enqueue_email

    with app.test_request_context():
        enqueue_email("confirm_email", "x@example.org", "Hello",
                      {"user": User(full_name="X", email="x@example.org"), "token": "abc"},
                      now=clock.utcnow())
        db.session.commit()
    result = runner.invoke(args=["labnet", "outbox", "send"])
    assert "1 message(s) delivered" in result.output
    with app.app_context():
        assert db.session.scalar(select(OutboxEmail.status)) == "logged"
