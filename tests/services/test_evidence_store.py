"""The one evidence store: one layout for claims and label answers, a file kept only when
its transaction commits, names that cannot leave the store, and the migration that moves
files stored by older versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from labnet.extensions import db
from labnet.models import Accreditation, Lab, User
from labnet.services.accreditation import claims, evidence
from labnet.services.accreditation.demo import demo_pdf

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def files(app) -> set[str]:
    root = Path(app.instance_path) / "evidence"
    return {str(p.relative_to(root)) for p in root.rglob("*.pdf")} if root.exists() else set()


def _claim(app, manager, lab) -> Accreditation:
    item = claims.ClaimInput(scheme_code="iso-9001", certificate_no="C-1", issuer="TÜV",
                             valid_from=NOW.date(), evidence_pdf=demo_pdf("C-1"),
                             evidence_name="c.pdf")
    return claims.create_claim(db.session.get_one(User, manager.id),
                               db.session.get_one(Lab, lab.id), item, now=NOW,
                               instance_path=app.instance_path, today=NOW.date())


@pytest.fixture
def world(app, make_lab, make_user):
    lab = make_lab()
    return lab, make_user(manages=(lab,))


@pytest.mark.parametrize("ending", ["rollback", "close", "failed-commit"])
def test_a_file_written_in_a_transaction_that_does_not_commit_is_removed(app, world, ending):
    lab, manager = world
    before = files(app)  # the worker's app keeps its instance folder between tests
    with app.app_context():
        acc = _claim(app, manager, lab)
        assert acc.evidence_file.startswith("claims/")
        assert files(app) - before == {acc.evidence_file}
        if ending == "rollback":
            db.session.rollback()
        elif ending == "close":
            db.session.close()
        else:
            # A later write of the same request fails; its error handler rolls back.
            with pytest.raises(IntegrityError):
                db.session.execute(text(
                    "INSERT INTO accreditation_term (term, accreditation_id) "
                    "VALUES ('x', :i), ('x', :i)"), {"i": acc.id})
            db.session.rollback()
    with app.app_context():
        assert db.session.scalar(select(Accreditation.id)) is None
    assert files(app) == before


def test_a_committed_file_stays_and_a_later_rollback_does_not_touch_it(app, world):
    lab, manager = world
    before = files(app)
    with app.app_context():
        acc = _claim(app, manager, lab)
        db.session.commit()
        name = acc.evidence_file
        db.session.rollback()
    assert files(app) - before == {name}
    with app.app_context():
        assert evidence.path_of(app.instance_path, name).read_bytes() == demo_pdf("C-1")


@pytest.mark.parametrize("name", ["", "../secret_key", "claims/../../secret_key",
                                  "other/x.pdf", "claims/missing.pdf", "/etc/passwd"])
def test_a_name_outside_the_store_or_missing_is_no_file(app, name):
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    (Path(app.instance_path) / "secret_key").touch(exist_ok=True)
    assert evidence.path_of(app.instance_path, name) is None


def test_the_migration_moves_older_files_into_the_store_and_back(app, world, client,
                                                                 quick_login):
    lab, manager = world
    root = Path(app.instance_path)
    old_claim = root / "evidence" / "0123abcd.pdf"
    old_claim.parent.mkdir(parents=True, exist_ok=True)
    old_claim.write_bytes(demo_pdf(old_claim.name))
    with app.app_context():
        downgrade(revision="ac5e0a7d1f01")
        db.session.execute(text(
            "INSERT INTO accreditation (lab_id, scheme_code, certificate_no, issuer, scope, "
            "status, evidence_file, evidence_name, evidence_size, evidence_url, code, version, "
            "reason, created_at, updated_at) VALUES (:lab, 'iso-9001', 'OLD-1', '', '', "
            "'claimed', '0123abcd.pdf', 'c.pdf', 10, '', 'oldcode', 1, '', :t, :t)"),
            {"lab": lab.id, "t": NOW.replace(tzinfo=None)})
        db.session.commit()
        upgrade()
        stored = db.session.scalar(select(Accreditation.evidence_file))
    assert stored.startswith("claims/") and not old_claim.exists()
    assert (root / "evidence" / stored).read_bytes() == demo_pdf("0123abcd.pdf")
    quick_login(client, manager)
    with app.app_context():
        acc_id = db.session.scalar(select(Accreditation.id))
    page = client.get(f"/accreditations/claims/{acc_id}").get_data(as_text=True)
    assert f'href="/evidence/{stored}"' in page
    with client.get(f"/evidence/{stored}") as response:
        assert response.status_code == 200 and response.data == demo_pdf("0123abcd.pdf")
    with app.app_context():
        downgrade(revision="ac5e0a7d1f01")
        back = db.session.scalar(select(Accreditation.evidence_file))
        assert back == stored.split("/")[1] and (root / "evidence" / back).is_file()
        upgrade()
