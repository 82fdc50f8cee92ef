"""Tokens for API tests, made through the token service."""

from __future__ import annotations

from datetime import timedelta

from labnet import clock
from labnet.extensions import db
from labnet.models import User
from labnet.services.accounts import tokens


def make_token(app, user, scopes=("read",), days: int = 30) -> str:
    with app.test_request_context():
        made = tokens.create_token(db.session.get(User, user.id), tokens.NewToken(
            name="test", scopes=tuple(scopes),
            expires_on=(clock.utcnow() + timedelta(days=days)).date()), now=clock.utcnow())
        db.session.commit()
        return made.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
