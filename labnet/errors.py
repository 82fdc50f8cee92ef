"""Domain errors and the HTML/JSON error handlers.

Services raise :class:`RuleViolation` with the field it concerns; views put the message on
that field. Handlers never leak a traceback and roll the session back on a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class LabNetError(Exception):
    """Base of the errors a service may raise."""


class RuleViolation(LabNetError):
    """A business rule refused the action; ``field`` names the form field concerned."""

    def __init__(self, field: str | None, message: str, code: int = 422):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


class NotFound(LabNetError):
    """The object does not exist, or the actor may not know it exists."""


class PermissionDenied(LabNetError):
    """The actor may see the object but not do this to it."""


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def register_error_handlers(app: Flask) -> None:
    from labnet.extensions import db

    def _render(code: int, title: str, message: str):
        if wants_json():
            return jsonify({"error": title, "message": message}), code
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(NotFound)
    def _not_found(_exc):
        return _render(404, "Not found", "There is nothing at this address.")

    @app.errorhandler(PermissionDenied)
    def _forbidden(_exc):
        return _render(403, "Not allowed", "You are not allowed to do this.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code == 429 and (request.endpoint or "").startswith("auth.") and not wants_json():
            # Throttled account pages answer with their form, the input and the reason.
            from labnet.blueprints.auth.routes import render_limited

            limited = render_limited()
            if limited is not None:
                return limited
        messages = {
            404: "There is nothing at this address.",
            403: "You are not allowed to do this.",
            405: "This address does not accept that kind of request.",
            413: "What you sent is too large. The limit is "
            f"{(app.config.get('MAX_CONTENT_LENGTH') or 0) // (1024 * 1024)} MB.",
            429: "Too many attempts. Please wait a minute and try again.",
        }
        return _render(exc.code or 500, exc.name, messages.get(exc.code or 0, exc.description))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        # Re-run the same view: its FlaskForm fails validation on the csrf_token field,
        # so it re-renders with everything the user typed and a message, and does nothing.
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and request.method == "POST" and not wants_json():
            response = app.make_response(app.ensure_sync(view)(**(request.view_args or {})))
            if not 300 <= response.status_code < 400:  # a redirect (e.g. to login) stays one
                response.status_code = 400
            return response
        return _render(400, "Form expired", exc.description)

    @app.errorhandler(DataError)
    def _unstorable(exc: DataError):
        # Last line of defence: input the database cannot store (a NUL byte on PostgreSQL,
        # a number out of range) that a form let through. Nothing was saved.
        log.warning("Data error on %s %s: %s", request.method, request.path, exc.orig)
        db.session.rollback()
        return _render(400, "Input not accepted",
                       "Something you sent contains characters or values that cannot be "
                       "stored. Nothing was saved; please check the form and try again.")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _render(500, "Something went wrong", "The error was logged; nothing was saved.")


class SlotTaken(RuleViolation):
    """Another booking took the slot a moment ago (the lock check or the database
    backstop). Shown as "this slot was just taken"; 409 in the API."""

    def __init__(self, message: str = "This slot was just taken by another booking. "
                                      "Please choose another time."):
        super().__init__("start_at", message, code=409)
