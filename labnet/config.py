"""Settings: defaults, then ``instance/config.py``, then ``LABNET_*`` variables, then overrides.

Nothing here reads the environment at import time; :func:`load_config` runs inside
``create_app``. The secret key is generated into the instance folder on first run in
development; in production a missing key fails loudly (no literal fallback).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "ENV_NAME": "development",  # development | production | testing
    "DATABASE_URL": None,  # None: SQLite file instance/labnet.sqlite
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SQLALCHEMY_RECORD_QUERIES": False,
    # SQLite only: write-ahead logging (readers never wait for the writer).
    "SQLITE_WAL": True,
    "SQLITE_TEST_PRAGMAS": False,  # the test suite's no-fsync setting; never in production
    # Map data is rebuilt at most this often per process (clients may reuse it as long).
    "GEOJSON_CACHE_SECONDS": 60,
    # Facet counts of the bare /labs page (every published lab), and a words-or-place
    # search's matched set with its counts (shared cache), are reused this long at most.
    "FACET_CACHE_SECONDS": 60,
    # "Free for D hours": the labs whose opening hours never give D hours on the span's
    # weekdays (services.booking.free_days), kept in the shared cache per catalogue
    # version, so any committed catalogue write starts a new entry; 0 reads it every time.
    "FREE_WEEK_CACHE_SECONDS": 3600,
    # The coordinators' dashboard's figures (per filters and lab scope) are reused this
    # long in each process (services.analytics.build_cached); 0 computes every load.
    "DASHBOARD_CACHE_SECONDS": 300,
    # Every link that leaves the site (e-mail, calendar feeds, map export) starts with this
    # origin, never with the request's Host header (labnet.links). Required in production
    # (https://…), where it also decides TRUSTED_HOSTS; in development it defaults to
    # DEV_BASE_URL (`make run` passes http://127.0.0.1:$PORT).
    "BASE_URL": None,
    # The API's per-token limit (per client address without a token), Flask-Limiter syntax.
    "API_RATE_LIMIT": "300/minute",
    # Where the daily job writes the open-data files (None: instance/open-data).
    "OPEN_DATA_DIR": None,
    # Extra host names production accepts besides BASE_URL's (e.g. an internal health-check
    # name); every other Host header gets 400.
    "TRUSTED_HOSTS": None,
    "SERVER_NAME": None,
    "PREFERRED_URL_SCHEME": "http",
    # Sessions (RELIABILITY §4.3.3): server-side session tokens, 12 h at most.
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_DURATION": timedelta(days=14),
    # CSRF: the token lives as long as the session, so a form left open over lunch still posts.
    "WTF_CSRF_TIME_LIMIT": None,
    # Requests up to 16 MB are parsed, so an over-long field gets a field error with the
    # input kept rather than a bare 413; above that a friendly 413 page answers.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 16 * 1024 * 1024,
    # Equipment CSV imports: a smaller limit, checked by the import (a field error, not 413).
    "CSV_MAX_BYTES": 1024 * 1024,
    # Argon2id parameters (OWASP minimum: m=19 MiB, t=2, p=1).
    "ARGON2_TIME_COST": 2,
    "ARGON2_MEMORY_COST": 19 * 1024,
    "ARGON2_PARALLELISM": 1,
    # Token lifetimes for e-mailed links.
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "RESET_TOKEN_MAX_AGE": 3600,
    # Redis (redis://redis.internal/0): shared caches and their version keys (labnet.caches),
    # rate limits (unless RATELIMIT_STORAGE_URI names another store) and /ready. Without it
    # (development, `make run`) caches are per process (Flask-Caching's SimpleCache) and
    # limits in memory. Production with more than one process needs it.
    "REDIS_URL": None,
    # Backups (flask labnet backup; the daily "backup" job): the folder (default
    # instance/backups), every backup of the last BACKUP_KEEP_DAYS days, and always the
    # BACKUP_KEEP_MIN newest.
    "BACKUP_DIR": None,
    "BACKUP_KEEP_DAYS": 14,
    "BACKUP_KEEP_MIN": 3,
    # /metrics answers only a scraper sending "Authorization: Bearer <METRICS_TOKEN>";
    # unset, /metrics is off (404).
    "METRICS_TOKEN": None,
    # One JSON object per log line, with the request id (X-Request-ID); None: on in
    # production, plain lines elsewhere.
    "LOG_JSON": None,
    "ALLOW_NO_REDIS": False,  # production on one process only: caches and limits local
    # Seconds a cache entry lives at most (writes end it sooner through version keys).
    "CACHE_DEFAULT_TIMEOUT": 300,
    # Rate limits: in memory by default; REDIS_URL (or LABNET_RATELIMIT_STORAGE_URI) in production.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": False,
    # Login limits count failed attempts only (a successful login is never refused for
    # others' failures): per client address, per account from one client, and a higher
    # ceiling per account over every client (a distributed guesser).
    "LOGIN_LIMIT_PER_IP": "20/minute;100/hour",
    "LOGIN_LIMIT_PER_ACCOUNT_CLIENT": "5/minute;20/hour",
    "LOGIN_LIMIT_PER_ACCOUNT": "50/hour",
    # Pages that send e-mail to a typed address: registrations per client (also
    # against squatting organisation names), reset and confirmation requests per client,
    # and mails to one address from any client. Only requests that did something count.
    "REGISTER_LIMIT_PER_IP": "5/hour;20/day",
    "ACCOUNT_MAIL_LIMIT_PER_IP": "10/hour;50/day",
    "ACCOUNT_MAIL_LIMIT_PER_ADDRESS": "3/hour;10/day",
    # A lab page's contact form, per signed-in account (messages actually sent).
    "LAB_CONTACT_LIMIT_PER_USER": "5/hour;20/day",
    # E-mail: without MAIL_SERVER (development only: production refuses to start), the
    # recipient and subject go to the log and the message stays in the outbox.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "LabNet <no-reply@labnet.example>",
    "MAIL_TIMEOUT": 10,
    # Behind exactly one reverse proxy set PROXY_FIX_X_FOR=1 so rate limits see client IPs.
    "PROXY_FIX_X_FOR": 0,
    "LABS_PER_PAGE": 20,
    "BOOTSTRAP_SERVE_LOCAL": True,
    # Page weight (labnet/assets.py): static files are linked as <file>?v=<hash of the file>
    # and such URLs are cached this many seconds (a changed file gets a new URL); responses
    # are compressed (Flask-Compress: zstd, br, gzip or deflate, whichever the client takes).
    "STATIC_MAX_AGE": 365 * 24 * 3600,
    # Streamed answers (file downloads, exports) stay as they are: Flask-Compress would not
    # close their files when a client leaves early. Static files are read whole first.
    "COMPRESS_STREAMS": False,
    "COMPRESS_REGISTER": False,  # labnet/assets.py calls it, the JSON API aside
    "TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "TILE_ATTRIBUTION": "&copy; OpenStreetMap contributors",
    # Geocoding (services/geo/geocoding.py): the offline gazetteer, or Nominatim called only
    # from the geocode-pending job. Nominatim needs a user agent naming the deployment and a
    # contact.
    "GEOCODER": "gazetteer",  # gazetteer | nominatim
    "NOMINATIM_USER_AGENT": None,  # e.g. "LabNet/1.0 (ops@example.org)"; required for nominatim
    "NOMINATIM_DOMAIN": None,  # None: nominatim.openstreetmap.org
    # The operator named on the imprint, privacy and terms pages (labnet/legal.py). Production
    # refuses to start without OPERATOR_NAME, OPERATOR_ADDRESS and OPERATOR_EMAIL; development
    # shows these placeholders, marked as such on the pages.
    "OPERATOR_NAME": None,
    "OPERATOR_ADDRESS": None,  # postal address; lines separated by "\n" or ";"
    "OPERATOR_EMAIL": None,
    "OPERATOR_PHONE": "",
    "OPERATOR_REPRESENTATIVE": "",  # the person legally responsible
    "OPERATOR_REGISTER": "",  # e.g. "Amtsgericht Berlin HRB 12345"
    "OPERATOR_VAT_ID": "",
    "PRIVACY_CONTACT_EMAIL": None,  # the data-protection contact; default OPERATOR_EMAIL
    "PRIVACY_AUTHORITY": "",  # the supervisory authority people may complain to
    # The version of the terms and privacy notice people accept at registration; change it
    # when their text changes (the account page then shows which version a person accepted).
    "TERMS_VERSION": "2026-12-03",
    "GEOCODE_TIMEOUT": 5,  # seconds per online request (geopy's default of 1 s is too short)
    "GEOCODE_MIN_DELAY": 1.0,  # seconds between online requests; never below 1 on the public server
    "GEOCODE_NEGATIVE_TTL_DAYS": 30,  # "not found" answers are asked again after this
}

# LABNET_* values are parsed as JSON by from_prefixed_env (true, 587, …); a plain word stays
# a string. Under ENV_NAME=production these cookie settings are forced on.
_PRODUCTION = {
    "SESSION_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_SECURE": True,
    "SESSION_COOKIE_NAME": "__Host-session",
    "PREFERRED_URL_SCHEME": "https",
}


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` in the documented order and validate it."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LABNET")
    if overrides:
        app.config.from_mapping(overrides)
    if app.config["ENV_NAME"] == "production":
        # The production cookie baseline is not optional.
        app.config.update(_PRODUCTION)
    _database_uri(app)
    _secret_key(app)
    _base_url(app)
    if app.config["ENV_NAME"] == "production" and not app.config.get("MAIL_SERVER"):
        # Without it mail would only be logged: reset and cancel links must not end up there.
        raise RuntimeError(
            "MAIL_SERVER is not set: production needs an SMTP server; set LABNET_MAIL_SERVER "
            "(and LABNET_MAIL_PORT, LABNET_MAIL_USE_TLS, … as needed)")
    _operator(app)
    _redis(app)
    if app.config.get("LOG_JSON") is None:
        app.config["LOG_JSON"] = app.config["ENV_NAME"] == "production"
    if app.config["ENV_NAME"] == "production" and app.debug:
        raise RuntimeError("DEBUG must never be on under the production configuration")


DEV_BASE_URL = "http://127.0.0.1:5000"
# Shown in development, marked as placeholders, until the operator's details are set.
DEV_OPERATOR = {
    "OPERATOR_NAME": "LabNet development installation",
    "OPERATOR_ADDRESS": "Not a real operator: set LABNET_OPERATOR_ADDRESS",
    "OPERATOR_EMAIL": "operator@labnet.example",
}


def _operator(app: Flask) -> None:
    missing = [name for name in DEV_OPERATOR if not (app.config.get(name) or "").strip()]
    app.config["OPERATOR_PLACEHOLDERS"] = bool(missing)
    if missing and app.config["ENV_NAME"] == "production":
        raise RuntimeError(
            f"{', '.join(missing)} not set: production names its operator on the imprint, "
            "privacy and terms pages; set " + ", ".join(f"LABNET_{m}" for m in missing))
    for name in missing:
        app.config[name] = DEV_OPERATOR[name]
    if not app.config.get("PRIVACY_CONTACT_EMAIL"):
        app.config["PRIVACY_CONTACT_EMAIL"] = app.config["OPERATOR_EMAIL"]


def _base_url(app: Flask) -> None:
    production = app.config["ENV_NAME"] == "production"
    raw = (app.config.get("BASE_URL") or "").strip()
    if not raw:
        if production:
            raise RuntimeError(
                "BASE_URL is not set: production needs the public address of the site for "
                "the links in e-mails; set LABNET_BASE_URL=https://labnet.example.org")
        raw = DEV_BASE_URL
    parts = urlsplit(raw)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or parts.username or parts.password):
        raise RuntimeError(f"BASE_URL must be an origin such as https://labnet.example.org "
                           f"(optionally with a path), not {raw!r}; set LABNET_BASE_URL")
    if production and parts.scheme != "https":
        raise RuntimeError("BASE_URL must start with https:// in production (the session "
                           "cookie is Secure); set LABNET_BASE_URL")
    app.config["BASE_URL"] = raw.rstrip("/")
    if production:
        # Flask answers 400 to a request whose Host is not listed (nothing
        # host-dependent is then reachable with a forged Host).
        extra = app.config.get("TRUSTED_HOSTS") or []
        if isinstance(extra, str):
            extra = [h.strip() for h in extra.split(",") if h.strip()]
        app.config["TRUSTED_HOSTS"] = list(dict.fromkeys([parts.hostname, *extra]))


def _redis(app: Flask) -> None:
    """Flask-Caching and Flask-Limiter on Redis when ``REDIS_URL`` is set; in production it
    is required (several workers must share limits, caches and their version keys)."""
    url = (app.config.get("REDIS_URL") or "").strip() or None
    app.config["REDIS_URL"] = url
    if url is None:
        if app.config["ENV_NAME"] == "production" and not app.config.get("ALLOW_NO_REDIS"):
            raise RuntimeError(
                "REDIS_URL is not set: production shares caches, rate limits and their "
                "version keys between workers and hosts through Redis; set "
                "LABNET_REDIS_URL=redis://redis.internal/0 (or LABNET_ALLOW_NO_REDIS=true for "
                "a single-process installation)")
        app.config.setdefault("CACHE_TYPE", "SimpleCache")
        return
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RuntimeError(f"REDIS_URL must be a redis:// URL, not {url!r}; set LABNET_REDIS_URL")
    app.config.setdefault("CACHE_TYPE", "RedisCache")
    app.config.setdefault("CACHE_REDIS_URL", url)
    app.config.setdefault("CACHE_KEY_PREFIX", "labnet:")
    if app.config.get("RATELIMIT_STORAGE_URI") in (None, "", "memory://"):
        app.config["RATELIMIT_STORAGE_URI"] = url
    # While Redis is away, limits count in each process's memory instead of refusing
    # every request (Flask-Limiter goes back to Redis once it answers again).
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)


def _database_uri(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + str(Path(app.instance_path) / "labnet.sqlite")
    # psycopg 3 is the driver we ship; accept the common postgres:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if not url.startswith("sqlite"):
        # A connection the server closed (a restart, a failover, an idle timeout) is
        # noticed when it is taken from the pool, not by the request that uses it.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_pre_ping", True)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV_NAME"] == "production":
        raise RuntimeError(
            "SECRET_KEY is not set: set LABNET_SECRET_KEY or SECRET_KEY in instance/config.py"
        )
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # Written once with owner-only permissions; never committed (instance/ is ignored).
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    app.config["SECRET_KEY"] = key_file.read_text().strip()
