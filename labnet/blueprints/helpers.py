"""Small helpers shared by the views: putting a service's refusal on the right field,
the European country choices, and the one commit at the end of a request."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import Response, current_app, flash
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from labnet import clock
from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.i18n import _l
from labnet.services.common.spreadsheet import csv_download_text
from labnet.services.geo.geocoding import EUROPEAN_COUNTRIES
from labnet.services.geo.geocoding import local_country_name as country_name
from labnet.services.notifications import outbox as notifications

T = TypeVar("T")

def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def country_choices() -> list[SelectChoice]:
    return choices(sorted(((c, country_name(c)) for c in EUROPEAN_COUNTRIES),
                          key=lambda x: x[1]))


def apply_violation(form: FlaskForm, exc: RuleViolation) -> None:
    """Show a service refusal on its field (flaskbb's ``populate_errors``), or on the form.

    A refusal carrying several (``exc.violations``) shows each; ``spec_keys-2`` names entry
    2 of a list field."""
    for violation in getattr(exc, "violations", None) or [exc]:
        name, _, index = (violation.field or "").partition("-")
        entries = getattr(getattr(form, name, None), "entries", None) if index.isdigit() else None
        if entries is not None and int(index) < len(entries):
            target = getattr(form, name)
            entry = entries[int(index)]
            entry.errors = [*entry.errors, violation.message]
            target.errors = [e.errors for e in entries]  # so form.errors sees it
            continue
        field = getattr(form, violation.field, None) if violation.field else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, violation.message]
        else:
            form.form_errors.append(violation.message)


@dataclass
class Outcome(Generic[T]):
    """What :func:`commit_or_show` did: true when the service's ``value`` was committed,
    false with the ``refusal`` shown on the form."""

    value: T | None = None
    refusal: RuleViolation | None = None

    def __bool__(self) -> bool:
        return self.refusal is None

    @property
    def status(self) -> int:
        """The status of the page that shows the refusal: its code (422, or 409 for a
        conflict); 200 when nothing was refused."""
        return self.refusal.code if self.refusal is not None else 200


def _commit(call: Callable[[], T], refused: Callable[[RuleViolation], None]) -> Outcome[T]:
    """Run one service call as the request's one transaction: commit it, or roll it back
    (nothing half-written) and hand a :class:`RuleViolation` to ``refused``. Any other error
    is rolled back too before it goes on to its handler (404, 403, 500)."""
    try:
        value = call()
    except RuleViolation as exc:
        db.session.rollback()
        refused(exc)
        return Outcome(refusal=exc)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return Outcome(value)


def mail_after_response(response: Response) -> Response:
    """Deliver the e-mail this request committed only once the response has gone out
    (WSGI ``close``), instead of before it (the app's ``after_request`` delivery).

    For answers that must take the same time whether or not an address has an account
    (reset, confirmation resend, registration: no account enumeration): the
    SMTP conversation happens on one branch only, so it must not delay the answer. The
    outbox job retries whatever this misses.
    """

    ids = db.session.info.pop(notifications.COMMITTED_KEY, None)
    if ids:
        app = current_app._get_current_object()

        def deliver() -> None:
            with app.app_context():
                db.session.info[notifications.COMMITTED_KEY] = ids
                notifications.deliver_committed(app.config, now=clock.utcnow())

        response.call_on_close(deliver)
    return response


def search_client() -> str:
    """Who is searching, for counting a repeated search once (services.catalogue.demand hashes it
    with the secret key and stores only that): the client address and user agent."""
    from flask import request

    return f"{request.remote_addr or ''}|{request.user_agent.string[:200]}"


def commit_or_show(form: FlaskForm, call: Callable[[], T], *,
                   fields: Collection[str] | None = None,
                   fallback: str | None = None) -> Outcome[T]:
    """Run one service call as the request's one transaction: commit it; on a
    :class:`RuleViolation` roll back (nothing half-written) and put the refusal on the
    form's fields (what the user typed stays).

    With ``fields``, a refusal naming any other field is shown on ``fallback`` (``None``:
    on the form itself), for forms that show only some of their fields' errors."""

    def show(exc: RuleViolation) -> None:
        if fields is not None and exc.field not in fields:
            exc = RuleViolation(fallback, exc.message, exc.code)
        apply_violation(form, exc)

    return _commit(call, show)


def show_rule_refusals(form: FlaskForm, call: Callable[[], object]) -> None:
    """For a form already refused on its shape: run the service ``call`` on the fields that
    did parse and show its refusals on the fields without an error, so every error shows at
    once; then roll back whatever it did (nothing is written with a form in error)."""
    try:
        call()
    except RuleViolation as exc:
        for violation in getattr(exc, "violations", None) or [exc]:
            field = getattr(form, violation.field or "", None)
            if field is not None and not field.errors:
                apply_violation(form, violation)
    except (NotFound, PermissionDenied):
        pass
    finally:
        db.session.rollback()


FORM_EXPIRED = _l("The form had expired; nothing changed. Please try again.")


def commit_or_flash(form: FlaskForm, call: Callable[[], T], *, done: str) -> Outcome[T]:
    """The boundary of a POST button (a form of its CSRF token and hidden values): an
    expired form runs nothing; a refusal is rolled back and flashed as a warning; a success
    is committed and ``done`` flashed. The view then redirects back to the button's page."""
    if not form.validate_on_submit():
        flash(str(FORM_EXPIRED), "warning")
        return Outcome(refusal=RuleViolation(None, FORM_EXPIRED, 400))
    outcome = _commit(call, lambda exc: flash(str(exc.message), "warning"))
    if outcome:
        flash(str(done), "success")
    return outcome


def csv_download(text: str, filename: str) -> Response:
    """A CSV file for download: UTF-8 with a byte-order mark (every CSV the app serves goes
    through here), as an attachment named ``filename``, never cached."""
    response = Response(csv_download_text(text), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    response.charset = "utf-8"
    response.cache_control.no_store = True
    return response
