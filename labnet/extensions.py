"""Extension objects, created once and bound to the app in ``create_app``."""

from __future__ import annotations

from flask import request
from flask_bootstrap import Bootstrap5
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from labnet.models.base import Base

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
# Compressed answers for clients that accept them (labnet/assets.py registers it).
compress = Compress()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Shared caches and their version keys (labnet.caches): Redis with REDIS_URL, else local.
cache = Cache()


def _submitted(name: str) -> str:
    return (request.form.get(name) or "").strip().lower()[:254]


def login_email_key() -> str:
    """Rate-limit key for the per-account login ceiling: the submitted e-mail address."""
    return "login:" + _submitted("email")


def login_account_client_key() -> str:
    """Rate-limit key for failed logins of one account from one client: an attacker's
    failures throttle the attacker, not the owner logging in from elsewhere."""
    return f"login:{_submitted('email')}|{get_remote_address()}"


def target_email_key() -> str:
    """Rate-limit key for mails sent to one address (reset, confirmation, registration),
    whichever client asks: keyed on the address typed, whether or not it has an account,
    so the limit itself reveals nothing."""
    return f"{request.endpoint}:{_submitted('email')}"


def login_failed(response) -> bool:
    """Only failed logins count against the login limits: a successful login (a
    redirect) is never a reason to refuse the next one."""
    return response.status_code != 302
