"""Personal access tokens for the JSON API.

Rules owned here:
- a token has a name, one or more scopes (``read``, ``book``, ``request``, ``manage``) and
  an expiry between one day and one year ahead; it never grants more than its user has
  (``permissions.can_hold_token_scope``), and every API action is still decided by the
  user's own permission predicates (DESIGN rule 6);
- the token is shown once; only its sha256 is stored; a revoked or expired token, or one of
  a user who can no longer log in, opens nothing;
- each use records the last-use instant (at most once a minute per token, so reads do not
  turn into writes on every request);
- the demo token (:data:`DEMO_TOKEN`, printed by ``flask labnet demo-accounts``) is a fixed,
  documented secret so the README's example works at once after ``make run``: it is made
  only for the demo SME account, only outside production, stored hashed like any other, and
  refused by :func:`authenticate` under production settings even if a demo database was
  copied there.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select, update

from labnet import security
from labnet.errors import RuleViolation, raise_all
from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.models import ApiToken, TokenScope, User
from labnet.permissions import can_hold_token_scope
from labnet.services.common import audit
from labnet.services.common.text import clean_text

# Tokens start with this, so secret scanners (and people) recognise a leaked one.
TOKEN_PREFIX = "lnpat_"  # noqa: S105 (a marker, not a secret)
MAX_TOKEN_DAYS = 366
MAX_ACTIVE_TOKENS = 20
DEFAULT_LIFETIME = timedelta(days=90)
SCOPE_LABELS = {
    TokenScope.READ: _l("read: your bookings, requests, event registrations and the "
                        "networks you see"),
    TokenScope.BOOK: _l("book: make and cancel bookings, register for events"),
    TokenScope.REQUEST: _l("request: send requests and post messages on them"),
    TokenScope.MANAGE: _l("manage: decide bookings, update equipment, answer requests, "
                          "cancel registrations for events you organise"),
}
# The demo token: documented in the README, made for the demo SME outside production only.
DEMO_TOKEN = TOKEN_PREFIX + "demo-read-book-never-in-production"
DEMO_TOKEN_USER = "sme@labnet.example"  # noqa: S105 (an e-mail address)
DEMO_TOKEN_SCOPES = (TokenScope.READ.value, TokenScope.BOOK.value)
DEMO_TOKEN_NAME = "Demo token (the README's example)"  # noqa: S105 # i18n: keep (stored)
# How often a token's last use is written: reads should not each become a write.
LAST_USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """What the form (or a test) asks for."""

    name: str | None
    scopes: tuple[str, ...]
    expires_on: date | None


@dataclass(frozen=True)
class MadeToken:
    """A token just made, and its secret (returned once, never stored)."""

    token: ApiToken
    secret: str  # shown once, never stored


def _problems(actor: User, new: NewToken, *, now: datetime) -> tuple[str, list[RuleViolation]]:
    problems: list[RuleViolation] = []
    name = ""
    try:
        name = clean_text(new.name, "name", label=_("The name"), limit=80,
                          required=_("Give the token a name, so you can tell it apart "
                                     "later."))
    except RuleViolation as exc:
        problems.append(exc)
    known = {s.value for s in TokenScope}
    if not new.scopes:
        problems.append(RuleViolation("scopes", _("Choose at least one scope.")))
    for scope in new.scopes:
        if scope not in known:
            problems.append(RuleViolation("scopes", _("There is no scope called %(scope)s.",
                                                       scope=repr(scope))))
        elif not can_hold_token_scope(actor, scope):
            problems.append(RuleViolation(
                "scopes", _("Your account cannot %(scope)s: a token never grants more than "
                            "its user has.", scope=scope)))
    today = now.date()
    if new.expires_on is None:
        problems.append(RuleViolation("expires_on", _("Choose the day the token expires.")))
    elif new.expires_on <= today:
        problems.append(RuleViolation("expires_on", _("The expiry must be after today.")))
    elif new.expires_on > today + timedelta(days=MAX_TOKEN_DAYS):
        problems.append(RuleViolation(
            "expires_on", _("A token lasts at most %(num)d days; choose an earlier day.",
                            num=MAX_TOKEN_DAYS)))
    active = db.session.scalar(select(db.func.count()).select_from(ApiToken).where(
        ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > now)) or 0
    if active >= MAX_ACTIVE_TOKENS:
        problems.append(RuleViolation(
            "name", _("You already have %(num)d tokens; revoke one first.",
                      num=MAX_ACTIVE_TOKENS)))
    return name, problems


def create_token(actor: User, new: NewToken, *, now: datetime) -> MadeToken:
    """Make a token for ``actor``; the secret is returned once and only its hash is kept.

    :raises RuleViolations: on ``name``, ``scopes`` or ``expires_on``: an empty or over-long
        name, an unknown scope or one the user does not hold, an expiry not in the next year.
    """
    return _make(actor, new, TOKEN_PREFIX + secrets.token_urlsafe(32), now=now)


def _make(actor: User, new: NewToken, secret: str, *, now: datetime) -> MadeToken:
    name, problems = _problems(actor, new, now=now)
    raise_all(problems)
    assert new.expires_on is not None
    scopes = " ".join(s.value for s in TokenScope if s.value in set(new.scopes))
    # The token lasts to the end of the chosen day (UTC): an expiry is a day people choose.
    expires_at = datetime.combine(new.expires_on, time.max, tzinfo=now.tzinfo)
    token = ApiToken(user_id=actor.id, name=name, token_hash=security.token_hash(secret),
                     prefix=secret[:12], scopes=scopes, created_at=now, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.create", "api_token", token.id, now=now, scopes=scopes)
    return MadeToken(token=token, secret=secret)


def is_demo_token(secret: str) -> bool:
    """Whether ``secret`` is :data:`DEMO_TOKEN` (compared in constant time)."""
    return hmac.compare_digest(secret.encode(), DEMO_TOKEN.encode())


def ensure_demo_token(*, production: bool, now: datetime) -> ApiToken:
    """The demo SME's :data:`DEMO_TOKEN` (read and book, a year), made when missing, expired
    or revoked; the one in place otherwise.

    :raises RuleViolation: on ``token`` under production settings, or without the demo
        SME account (``flask labnet seed-demo`` makes it).
    """
    if production:
        raise RuleViolation("token", "The demo token is never made under production "
                                     "settings.")  # i18n: keep (the command line's)
    user = db.session.scalar(select(User).where(User.email == DEMO_TOKEN_USER))
    if user is None:
        raise RuleViolation("token", f"There is no demo account {DEMO_TOKEN_USER}: run "
                                     "'flask labnet seed-demo' first.")  # i18n: keep
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.token_hash == security.token_hash(DEMO_TOKEN)))
    if token is not None and token.revoked_at is None and token.expires_at > now:
        return token
    if token is not None:  # an old one: the hash is unique, so it makes way
        db.session.delete(token)
        db.session.flush()
    new = NewToken(DEMO_TOKEN_NAME, DEMO_TOKEN_SCOPES,
                   (now + timedelta(days=MAX_TOKEN_DAYS - 2)).date())
    return _make(user, new, DEMO_TOKEN, now=now).token


def list_tokens(actor: User) -> Select[tuple[ApiToken]]:
    """The actor's own tokens, newest first (revoked ones too, marked)."""
    return (select(ApiToken).where(ApiToken.user_id == actor.id)
            .order_by(ApiToken.id.desc()))


def revoke_token(actor: User, token_id: int, *, now: datetime) -> ApiToken:
    """Revoke one of the actor's own tokens at once.

    :raises RuleViolation: (404) when the token is not the actor's or is already revoked.
    """
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.user_id == actor.id,
        ApiToken.revoked_at.is_(None)))
    if token is None:
        raise RuleViolation("token", _("There is no such token of yours to revoke."), code=404)
    token.revoked_at = now
    db.session.flush()
    audit.record(actor, "api_token.revoke", "api_token", token.id, now=now)
    return token


@dataclass(frozen=True)
class Bearer:
    """Who a valid token speaks for, and what it may do."""

    user: User
    token_id: int
    scopes: frozenset[str]


def authenticate(secret: str, *, now: datetime, production: bool = False) -> Bearer | None:
    """The user and scopes of a valid token, or ``None`` (unknown, revoked, expired, or a user
    who can no longer log in; the demo token under production settings). Records the last
    use, at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    if production and is_demo_token(secret):
        return None
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.token_hash == security.token_hash(secret)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.is_active or not user.is_member:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=now))
    return Bearer(user=user, token_id=token.id, scopes=token.scope_set)
