"""Schemathesis against the OpenAPI document: generated requests (valid and not) to every
operation find no server error and no answer that breaks the document. Bounded for CI:
a few examples per operation, no deadline."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from labnet.extensions import db
from tests.api.helpers import bearer, make_token
from tests.api.test_api_events import make_event


@pytest.fixture
def api_schema(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    lab = make_lab(name="Fuzz Lab")
    make_equipment(lab)
    with app.app_context():  # the event operations meet a real event and its questions
        make_event(lab.id, slug="fuzz-event", questions=[
            {"key": "diet", "label": "Diet", "kind": "choice", "required": True,
             "choices": ["any", "vegan"]}])
        db.session.commit()
    user = make_user(organisation=make_org(kind="company", size_class="small"))
    secret = make_token(app, user, ("read", "book", "request"))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.headers = bearer(secret)
    return schema


def test_api_conforms_to_its_document(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 21
    for operation in operations:
        # One bounded property-based run per operation (Hypothesis inside the test, so the
        # app fixture is built once for all of them).
        @given(case=operation.as_strategy())
        @settings(max_examples=4, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            # Every check but "schema-valid data is accepted": some rules cannot be written
            # in a schema (a KET code that exists, a cursor this API made, a booking that
            # fits the opening hours) and answer 422 naming the field, as documented.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        run()
