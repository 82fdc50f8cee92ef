"""LabNet: labs, their equipment and KET areas on a map; book capacity; meet demand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property


class LabNetRequest(Request):
    """Query strings without NUL characters: no page can search for one, and PostgreSQL
    refuses to compare against one (a 500 in any list filter otherwise)."""

    @cached_property
    def args(self):
        raw = super().args
        return self.parameter_storage_class(
            (key, value.replace("\x00", "")) for key, value in raw.items(multi=True)
        )


def create_app(config: Mapping[str, Any] | None = None, *, instance_path: str | None = None
               ) -> Flask:
    """Build the app: config, extensions, blueprints, CLI, error handlers.

    No migrations, no seeding, no scheduler and no network here (STYLE §11.8).
    """
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.request_class = LabNetRequest
    from labnet.converters import BoundedIntConverter

    # Before any blueprint adds a rule: every <int:…> in the app is the bounded one.
    app.url_map.converters["int"] = BoundedIntConverter
    from labnet.config import load_config

    load_config(app, config)
    _init_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_hooks(app)
    from labnet.errors import register_error_handlers

    register_error_handlers(app)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]))  # type: ignore[method-assign]
    return app


def _init_logging(app: Flask) -> None:
    from labnet.logs import configure

    configure(bool(app.config["LOG_JSON"]))


def _init_extensions(app: Flask) -> None:
    from labnet import clock
    from labnet.extensions import (
        bootstrap,
        cache,
        compress,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )
    from labnet.i18n import _l

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    bootstrap.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    from labnet.i18n import init_i18n

    init_i18n(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine, wal=bool(app.config["SQLITE_WAL"]),
                         test=bool(app.config["SQLITE_TEST_PRAGMAS"]))

    @login_manager.user_loader
    def _load_user(token: str):
        from labnet.services.accounts.rules import load_session_user

        return load_session_user(token, now=clock.utcnow())


def _tune_sqlite(engine, *, wal: bool, test: bool = False) -> None:
    """Connection settings for the embedded database (RELIABILITY §1.4.3).

    Writers wait up to 30 s for the write lock instead of failing with "database is
    locked"; a 64 MB page cache keeps the catalogue in memory; WAL lets readers go on while
    one process writes, and with it synchronous=NORMAL is still crash-safe. ``test``
    (the test suite only) skips fsync and keeps the rollback journal in memory: a test
    database need not survive a crash, and each commit then costs microseconds, not ~5 ms.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA cache_size = -65536")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        elif test:
            cursor.execute("PRAGMA journal_mode = MEMORY")
            cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    from labnet.blueprints import register_blueprints

    register_blueprints(app)


def _register_cli(app: Flask) -> None:
    from labnet.cli import labnet_cli
    from labnet.cli_labs import labs_cli

    labnet_cli.add_command(labs_cli)  # flask labnet labs create|import|template
    from labnet.cli_ops import backup_cmd, restore_cmd

    labnet_cli.add_command(backup_cmd)  # flask labnet backup
    labnet_cli.add_command(restore_cmd)  # flask labnet restore ARCHIVE
    app.cli.add_command(labnet_cli)


def _register_hooks(app: Flask) -> None:
    import labnet.caches  # noqa: F401  (its write listeners give the caches' generations)
    from labnet import clock
    from labnet.services.notifications.outbox import deliver_committed
    from labnet.templating import register_template_helpers

    register_template_helpers(app)

    @app.errorhandler(SecurityError)
    def _untrusted_host(_exc):
        # A Host header outside TRUSTED_HOSTS (production: BASE_URL's host). Nothing is
        # routed for it, so the error page (which builds URLs) cannot render: plain text.
        # Plain text for no reader in particular (the host is unknown): English.
        return ("Bad Request: unknown host.\n",  # i18n: keep
                400, {"Content-Type": "text/plain; charset=utf-8"})

    @app.after_request
    def _deliver_mail(response):
        # E-mail queued by the request's (committed) transaction goes out now; the outbox
        # job retries anything that fails.
        deliver_committed(app.config, now=clock.utcnow())
        return response

    @app.after_request
    def _private_by_default(response):
        # DESIGN rule 9: an answer that sets no caching policy of its own may depend on who
        # asks (the navigation, a manager's labs, a members-only network): no shared cache
        # may keep it for somebody else. Answers the same for everybody say so themselves
        # (the map data without a network filter, the vendored assets, static files).
        if "Cache-Control" not in response.headers:
            response.cache_control.private = True
            response.vary.add("Cookie")
        return response

    @app.after_request
    def _security_headers(response):
        # Map tiles are the one third-party source a page may load (DESIGN, "Parts").
        tiles = urlsplit(app.config.get("TILE_URL") or "")
        tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src 'self' data:{tile_origin}; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["ENV_NAME"] == "production":
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

    from labnet.assets import init_assets

    init_assets(app)  # fingerprinted static URLs, cached for a year
