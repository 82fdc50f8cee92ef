"""Password hashing (Argon2id), signed e-mail tokens, login-session tokens, safe redirects."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from labnet import clock


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    c = current_app.config
    return _hasher(c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_COST"], c["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt,
                                  signer=_ClockSigner)


class _ClockSigner(TimestampSigner):
    """Stamps tokens with LabNet's clock, so a frozen clock in tests stamps frozen times."""

    def get_timestamp(self) -> int:
        return int(clock.utcnow().timestamp())


def make_token(salt: str, payload: dict[str, Any]) -> str:
    return _serializer(salt).dumps(payload)


def read_token(salt: str, token: str, max_age: int, *, now: datetime) -> dict[str, Any] | None:
    """The payload of a valid token signed at most ``max_age`` seconds before ``now``.

    The age is measured against the injected clock rather than the system time, so tests
    can step past the expiry.
    """
    try:
        data, signed_at = _serializer(salt).loads(token, return_timestamp=True)
    except BadSignature:
        return None
    age = (now - signed_at).total_seconds()
    if age > max_age or age < -300:  # from the future (beyond clock skew): not ours
        return None
    return data if isinstance(data, dict) else None


def new_session_token() -> tuple[str, str]:
    """A random token for the cookie and its sha256 for the database."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path of this app reachable by GET, else ``None``.

    RELIABILITY §4.3.2: no control characters, spaces or backslashes (Werkzeug strips a
    tab, turning ``/\\t/evil`` into ``//evil``; a newline gives a 500), exactly one leading
    slash, and the path must match a GET route of this app.
    """
    if not target or len(target) > 500:
        return None
    if any(ord(ch) < 33 or ch in "\\\x7f" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    path = target.split("?", 1)[0].split("#", 1)[0]
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except Exception:  # NotFound, MethodNotAllowed, RequestRedirect: not a page we serve
        return None
    return target
