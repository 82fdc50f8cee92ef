"""The demo token the README's example uses (made by seed-demo, printed by demo-accounts,
never under production settings), and the person's tokens in "Your data" (never a secret)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labnet import clock
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.models import ApiToken, User
from labnet.services.accounts import privacy, tokens
from tests.api.helpers import bearer, make_token
from tests.fixtures.auth import login_as
from tests.fixtures.factories import PASSWORD

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def demo_sme(app, make_lab, make_user, make_org):
    make_lab(name="Demo Lab")  # labs exist: seed-demo --if-empty keeps the data as it is
    return make_user(email=tokens.DEMO_TOKEN_USER,
                     organisation=make_org(kind="company", size_class="small"))


def _token_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ApiToken.id)))


def test_seed_demo_makes_the_readme_token_and_demo_accounts_prints_it(app, client, runner,
                                                                      demo_sme):
    assert client.get("/api/v1/bookings", headers=bearer(tokens.DEMO_TOKEN)).status_code == 401
    result = runner.invoke(args=["labnet", "seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert tokens.DEMO_TOKEN in result.output
    r = client.get("/api/v1/bookings", headers=bearer(tokens.DEMO_TOKEN))
    assert r.status_code == 200 and r.get_json()["items"] == []
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        assert token.user_id == demo_sme.id and token.scope_set == {"read", "book"}
        assert token.token_hash != tokens.DEMO_TOKEN  # kept hashed like any token
    # A second run keeps the one token; demo-accounts prints what the README shows.
    assert runner.invoke(args=["labnet", "seed-demo", "--if-empty"]).exit_code == 0
    assert _token_rows(app) == 1
    printed = runner.invoke(args=["labnet", "demo-accounts"]).output
    assert tokens.DEMO_TOKEN in printed
    assert f"LABNET_TOKEN={tokens.DEMO_TOKEN}" in README.read_text(encoding="utf-8")


def test_a_revoked_or_expired_demo_token_is_made_anew(app, frozen_clock, demo_sme):
    with app.app_context():
        first = tokens.ensure_demo_token(production=False, now=clock.utcnow())
        tokens.revoke_token(db.session.get_one(User, demo_sme.id), first.id, now=clock.utcnow())
        again = tokens.ensure_demo_token(production=False, now=clock.utcnow())
        assert again.revoked_at is None and again.expires_at > clock.utcnow()
        db.session.commit()
    assert _token_rows(app) == 1


def test_never_under_production_settings(app, client, runner, demo_sme):
    with app.app_context():
        with pytest.raises(RuleViolation, match="production"):
            tokens.ensure_demo_token(production=True, now=clock.utcnow())
        tokens.ensure_demo_token(production=False, now=clock.utcnow())
        db.session.commit()
    # A demo database copied to production: the token opens nothing there.
    app.config["ENV_NAME"] = "production"
    assert client.get("/api/v1/bookings", headers=bearer(tokens.DEMO_TOKEN)).status_code == 401
    printed = runner.invoke(args=["labnet", "demo-accounts"]).output
    assert tokens.DEMO_TOKEN not in printed
    made = runner.invoke(args=["labnet", "seed-demo", "--if-empty"]).output
    assert tokens.DEMO_TOKEN not in made and "production" in made


def test_your_data_lists_tokens_without_their_secret(app, client, frozen_clock, make_user):
    person = make_user()
    used = make_token(app, person, ("read",))
    revoked = make_token(app, person, ("read",))
    assert client.get("/api/v1/bookings", headers=bearer(used)).status_code == 200
    with app.app_context():
        revoked_id = db.session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))
        tokens.revoke_token(db.session.get_one(User, person.id), revoked_id,
                            now=clock.utcnow())
        db.session.commit()
        stored = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        hashes, prefixes = [t.token_hash for t in stored], [t.prefix for t in stored]
    login_as(client, person)
    text = client.get("/account/data.json").get_data(as_text=True)
    listed = json.loads(text)["api_tokens"]
    assert [(t["name"], t["scopes"]) for t in listed] == [("test", ["read"])] * 2
    assert listed[0]["last_used_at"] is not None and listed[0]["revoked_at"] is None
    assert listed[1]["revoked_at"] is not None and listed[1]["expires_at"]
    assert set(listed[0]) == {"name", "scopes", "created_at", "expires_at", "last_used_at",
                              "revoked_at"}
    for secret in (used, revoked, *hashes, *prefixes):
        assert secret not in text


def test_deleting_the_account_deletes_its_tokens(app, frozen_clock, make_user):
    person = make_user()
    make_token(app, person, ("read",))
    with app.app_context():
        privacy.delete_account(db.session.get_one(User, person.id), password=PASSWORD,
                               now=clock.utcnow())
        db.session.commit()
    assert _token_rows(app) == 0
