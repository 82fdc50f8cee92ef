"""The organisation-admin migration on existing data (SQLite and PostgreSQL): the earliest
active member of each organisation becomes its admin; free-mail join domains are dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from labnet.extensions import db

REVISION = "f1a6b7c8d906"


def test_earliest_active_member_becomes_admin_and_free_mail_domains_go(app):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        downgrade(revision=f"{REVISION}-1")
        db.session.execute(text(
            "INSERT INTO organisation (id, name, name_key, slug, kind, size_class, country, "
            "city, address, email_domain, created_at, updated_at) VALUES "
            "(1, 'Acme', 'acme', 'acme', 'company', 'small', 'DE', '', '', 'gmail.com', :t, :t),"
            "(2, 'Beta', 'beta', 'beta', 'rto', NULL, 'IT', '', '', 'beta.example', :t, :t),"
            "(3, 'Empty', 'empty', 'empty', 'rto', NULL, 'IT', '', '', NULL, :t, :t)"),
            {"t": t0.replace(tzinfo=None)})
        users = [  # id, organisation, created, active
            (1, 1, t0 + timedelta(days=2), True),
            (2, 1, t0 + timedelta(days=1), False),  # earliest, but deactivated
            (3, 1, t0 + timedelta(days=1, hours=1), True),  # earliest active member
            (4, 2, t0 + timedelta(days=5), True),
            (5, 2, t0 + timedelta(days=5), True),  # same instant: the lower id wins
        ]
        for uid, org, created, active in users:
            db.session.execute(text(
                "INSERT INTO user_account (id, email, full_name, password_hash, "
                "organisation_id, is_active, mail_mode, created_at, updated_at) VALUES "
                "(:id, :email, 'X', 'h', :org, :active, 'immediate', :c, :c)"),
                {"id": uid, "email": f"u{uid}@x.example", "org": org, "active": active,
                 "c": created.replace(tzinfo=None)})
        db.session.commit()
        upgrade()
        roles = dict(db.session.execute(
            text("SELECT id, org_role FROM user_account ORDER BY id")).all())
        domains = dict(db.session.execute(
            text("SELECT id, email_domain FROM organisation ORDER BY id")).all())
        members = {m for (m,) in db.session.execute(text("SELECT membership FROM user_account"))}
        db.session.commit()
    assert roles == {1: "member", 2: "member", 3: "admin", 4: "admin", 5: "member"}
    assert domains == {1: None, 2: "beta.example", 3: None}
    assert members == {"active"}
