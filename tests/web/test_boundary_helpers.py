"""The views' one request boundary (``commit_or_show``, ``commit_or_flash``): a success is
committed, a refusal or any other error leaves nothing written."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from labnet.blueprints.helpers import FORM_EXPIRED, commit_or_flash, commit_or_show
from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import Organisation


class _Form(FlaskForm):
    name = StringField()


def _write(name: str, then: Exception | None = None):
    """A stand-in for a write service: adds and flushes a row, then maybe raises."""

    def call() -> Organisation:
        org = Organisation(name=name, name_key=name, slug=name, kind="rto",
                           country="DE", email_domain=f"{name}.example")
        db.session.add(org)
        db.session.flush()
        if then is not None:
            raise then
        return org

    return call


def _count(name: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Organisation)
                             .where(Organisation.name == name))


@pytest.fixture
def post(app):
    with app.test_request_context("/", method="POST", data={"name": "typed"}):
        app.config["WTF_CSRF_ENABLED"] = False
        yield


def test_a_refusal_is_shown_on_its_field_and_nothing_is_written(post):
    form = _Form()
    outcome = commit_or_show(form, _write("refused", RuleViolation("name", "Taken.", 409)))
    assert not outcome and outcome.status == 409
    assert form.name.errors == ["Taken."] and form.name.data == "typed"
    assert _count("refused") == 0


def test_a_refusal_on_another_field_goes_to_the_fallback(post):
    form = _Form()
    commit_or_show(form, _write("elsewhere", RuleViolation("status", "Closed.")),
                   fields=("name",), fallback="name")
    assert form.name.errors == ["Closed."]


def test_any_other_error_is_rolled_back_before_it_is_raised(post):
    with pytest.raises(PermissionDenied):
        commit_or_show(_Form(), _write("forbidden", PermissionDenied("x")))
    assert _count("forbidden") == 0


def test_a_success_is_committed(post):
    outcome = commit_or_show(_Form(), _write("kept"))
    assert outcome and outcome.status == 200 and outcome.value.name == "kept"
    db.session.rollback()  # a commit happened: the row survives a rollback
    assert _count("kept") == 1


def test_a_button_flashes_its_refusal_or_its_success(post):
    assert not commit_or_flash(_Form(), _write("no", RuleViolation(None, "Not now.")),
                               done="Done.")
    assert commit_or_flash(_Form(), _write("yes"), done="Done.")
    assert get_flashed_messages(with_categories=True) == [("warning", "Not now."),
                                                          ("success", "Done.")]
    assert (_count("no"), _count("yes")) == (0, 1)


def test_an_expired_button_runs_nothing(app):
    with app.test_request_context("/", method="POST", data={}):
        outcome = commit_or_flash(_Form(), _write("expired"), done="Done.")
        assert not outcome and outcome.status == 400
        assert get_flashed_messages() == [FORM_EXPIRED]
        assert _count("expired") == 0
