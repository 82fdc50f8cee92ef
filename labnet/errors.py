"""Domain errors and the HTML/JSON error handlers.

Services raise :class:`RuleViolation` with the field it concerns; views put the message on
that field. Handlers never leak a traceback and roll the session back on a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from labnet.extensions import db
from labnet.i18n import _l, force_locale

log = logging.getLogger(__name__)


class LabNetError(Exception):
    """Base of the errors a service may raise."""


class RuleViolation(LabNetError):
    """A business rule refused the action; ``field`` names the form field concerned."""

    def __init__(self, field: str | None, message: Any, code: int = 422):
        if message is not None and not isinstance(message, str):
            message = str(message)  # a lazy text (_l) is read now, in the reader's language
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


class RuleViolations(RuleViolation):
    """Several refusals at once (one per field), so a form shows every error in one go.

    ``field`` and ``message`` are those of the first; ``violations`` holds them all.
    """

    def __init__(self, violations: Sequence[RuleViolation]):
        first = violations[0]
        super().__init__(first.field, first.message)
        self.violations = list(violations)


def raise_all(violations: list[RuleViolation]) -> None:
    """Raise ``RuleViolations`` listing ``violations``, if there are any."""
    if violations:
        raise RuleViolations(violations)


class NotFound(LabNetError):
    """The object does not exist, or the actor may not know it exists."""


class PermissionDenied(LabNetError):
    """The actor may see the object but not do this to it."""


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


# Posted fields never offered back: secrets stay with the user, the token is replaced.
_NOT_RESUBMITTED = ("csrf_token",)


def _same_origin(req: Request) -> bool:
    """Whether the browser says the POST came from one of our own pages.

    A cross-site POST without a token must not come back as a filled-in form one click away
    from being sent with a valid token (that would turn CSRF into a one-click attack).
    Modern browsers say it in Sec-Fetch-Site, which a proxy rewriting Host does not change;
    otherwise Origin (sent on POST) or Referer must name this host or SERVER_NAME; neither
    (test clients, privacy settings) counts as ours, as before.
    """
    fetch_site = req.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site in ("same-origin", "none")
    source = req.headers.get("Origin") or req.headers.get("Referer")
    if not source:
        return True
    return urlsplit(source).netloc in {req.host, current_app.config.get("SERVER_NAME")}


def resubmission(req: Request) -> dict[str, Any]:
    """What the "form expired" page shows: the posted fields (name, label, values) to post
    again to the same address, without password fields, the old token and file uploads."""
    action = req.script_root + req.path
    if req.query_string:
        action += "?" + req.query_string.decode("latin-1")
    if not _same_origin(req):
        return {"action": None, "fields": [], "dropped_secret": False, "dropped_files": False}
    fields = []
    dropped_secret = False
    for name, values in req.form.lists():
        if name in _NOT_RESUBMITTED or name in req.files:
            continue
        if "password" in name.lower():
            dropped_secret = True
            continue
        label = name.replace("_", " ").replace("-", " ").strip().capitalize() or name
        fields.append({"name": name, "label": label, "values": values,
                       "long": any("\n" in v or len(v) > 120 for v in values)})
    return {"action": action, "fields": fields, "dropped_secret": dropped_secret,
            "dropped_files": bool(req.files)}


def render_error(code: int, title: Any, message: Any | None):
    """The error page, or its JSON form for the API and JSON clients."""
    if request.path.startswith("/api/v1/") or wants_json():
        # Machine answers stay in English (the API's problem types are keyed by the title);
        # the texts given here are lazy, so they are read in English now.
        with force_locale("en"):
            title = str(title)
            message = None if message is None else str(message)
    if request.path.startswith("/api/v1/"):
        # The API answers every error, its own or the app's (404, 405, 500), in RFC 9457.
        slug = title.lower().replace(" ", "-")
        body = {"type": f"/api/docs#problem-{slug}", "title": title, "status": code,
                "detail": message}
        return current_app.response_class(json.dumps(body), status=code,
                                          mimetype="application/problem+json")
    if wants_json():
        return jsonify({"error": title, "message": message}), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def _no_such_address(exc: HTTPException) -> bool:
    """A 405 whose address names no resource with any method: werkzeug picks the methods
    of a rule whose path matched before its converters refused the value (an id the
    database cannot hold), so the honest answer is 404."""
    if exc.code != 405:
        return False
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in getattr(exc, "valid_methods", None) or ():
        try:
            adapter.match(request.path, method=method)
            return False
        except HTTPException:
            continue
    return True


def http_error_response(exc: HTTPException):
    """The page for an HTTP error (404, 405, 413, 429 …), in words a user understands."""
    if _no_such_address(exc):
        return render_error(404, _l("Not Found"), _l("There is nothing at this address."))
    messages = {
        404: _l("There is nothing at this address."),
        403: _l("You are not allowed to do this."),
        405: _l("This address does not accept that kind of request."),
        413: _l("What you sent is too large. The limit is %(size)s MB.",
               size=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)),
        429: _l("Too many attempts. Please wait a minute and try again."),
    }
    titles = {
        400: _l("Bad Request"),
        403: _l("Forbidden"),
        404: _l("Not Found"),
        405: _l("Method Not Allowed"),
        413: _l("Request Entity Too Large"),
        429: _l("Too Many Requests"),
    }
    return render_error(exc.code or 500, titles.get(exc.code or 0, exc.name),
                        messages.get(exc.code or 0, exc.description))


def register_error_handlers(app: Flask) -> None:
    """App-wide handlers. A blueprint with its own page for an error (auth's 429 on the
    login form) registers it on the blueprint, so this module imports no blueprint."""

    _render = render_error

    @app.teardown_appcontext
    def _release_session(_exc: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier, run later). A
        # database restarted mid-request makes the closing rollback fail; outside any
        # handler that would be a bare 500 from gunicorn after the answer was decided.
        try:
            db.session.close()
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("Connection lost while closing the session: %s", type(exc).__name__)
            try:
                db.session().invalidate()
            except Exception:  # already gone: the pool drops it on the next checkout
                log.debug("session invalidate failed", exc_info=True)

    @app.errorhandler(NotFound)
    def _not_found(_exc):
        return _render(404, _l("Not found"), _l("There is nothing at this address."))

    @app.errorhandler(PermissionDenied)
    def _forbidden(_exc):
        return _render(403, _l("Not allowed"), _l("You are not allowed to do this."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        # An outage met inside another error handler (the form-expired page loads the
        # signed-in user) reaches Flask as a 500 wrapping it: still a 503, not a 500 page.
        original = getattr(exc, "original_exception", None)
        if exc.code == 500 and original is not None and is_outage(original):
            return outage_response(original)
        return http_error_response(exc)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        # Never run the view here: a view that acts without validating a form would act
        # without a token, and the blueprint's before_request guards have not run (the
        # check fails in the app's before_request). The input is kept by re-rendering the
        # posted fields into a form that posts to the same address with a fresh token.
        if request.path.startswith("/api/v1/"):
            # The API's own answer: English, like every API problem text.
            return _render(400, "Missing token",  # i18n: keep
                           "Send a personal access token as "
                           "'Authorization: Bearer …'.")  # i18n: keep
        if request.method != "POST" or wants_json():
            return _render(400, _l("Form expired"), exc.description)
        return render_template("errors/form_expired.html", **resubmission(request)), 400

    @app.errorhandler(DataError)
    def _unstorable(exc: DataError):
        # Last line of defence: input the database cannot store (a NUL byte on PostgreSQL,
        # a number out of range) that a form let through. Nothing was saved.
        log.warning("Data error on %s %s: %s", request.method, request.path, exc.orig)
        db.session.rollback()
        return _render(400, _l("Input not accepted"),
                       _l("Something you sent contains characters or values that cannot be "
                         "stored. Nothing was saved; please check the form and try again."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if is_outage(exc):
            return outage_response(exc)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _render(500, _l("Something went wrong"),
                       _l("The error was logged; nothing was saved."))


# Seconds a client is told to wait when the database or Redis is away for a moment.
OUTAGE_RETRY_AFTER = 5


def is_outage(exc: BaseException) -> bool:
    """The database or Redis cannot be reached now (a restart, a failover, a full pool):
    the request did nothing durable, and the same request a few seconds later may work."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        from redis.exceptions import ConnectionError as RedisDown
        from redis.exceptions import TimeoutError as RedisSlow
    except ImportError:  # pragma: no cover - redis is a dependency of the app
        return False
    return isinstance(exc, RedisDown | RedisSlow)


def outage_response(exc: BaseException):
    """503 with Retry-After, never a traceback: the transaction was rolled back (a write
    that failed here was not made), and a client may send the request again."""
    log.warning("Service unavailable on %s %s: %s: %s", request.method, request.path,
                type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the pool replaces it on the next checkout
        db.session.close()
    title, message = (_l("Temporarily unavailable"),
                      _l("LabNet cannot reach its database for a moment. Nothing was saved; "
                        "please try again in a few seconds."))
    try:
        response = current_app.make_response(render_error(503, title, message))
    except Exception:  # the error page needs the database too (the signed-in user)
        db.session.close()
        response = current_app.response_class(
            f"<!doctype html><html lang=\"en\"><title>{title} – LabNet</title>"
            f"<h1>{title}</h1><p>{message}</p></html>", status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


#: Read in the reader's language when a SlotTaken is raised.
SLOT_TAKEN = _l("This slot was just taken by another booking. Please choose another time.")


class SlotTaken(RuleViolation):
    """Another booking took the slot a moment ago (the lock check or the database
    backstop). Shown as "this slot was just taken"; 409 in the API."""

    def __init__(self, message: Any = None):
        super().__init__("start_at", message or SLOT_TAKEN, code=409)
