"""The explicit list of blueprints: the URL map is readable here, in one place."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from labnet.blueprints.admin import bp as admin
    from labnet.blueprints.auth import bp as auth
    from labnet.blueprints.catalogue import bp as catalogue
    from labnet.blueprints.main import bp as main

    app.register_blueprint(main)  # /, /health
    app.register_blueprint(auth)  # /login, /logout, /register, /account/…
    app.register_blueprint(catalogue)  # /labs, /labs/<slug>, /equipment/<id>
    app.register_blueprint(admin, url_prefix="/admin")  # users, roles, outbox
