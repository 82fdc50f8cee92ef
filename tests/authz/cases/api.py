"""Matrix entries for the JSON API (``api.*``), the token pages (``api_tokens.*``) and the
open data (``open_data.*``, public to all; its contents in ``tests/api/test_open_data.py``).

The API never reads the session cookie: every logged-in actor of the matrix gets the
anonymous answer (public reads 200, everything else 401, writes included, with no CSRF
token needed to be refused). Tokens of each kind of user, wrong scopes, expired and
revoked tokens are walked by ``tests/api/test_api_matrix.py``.
"""

from __future__ import annotations

from tests.authz.cases.base import ACTORS, ALL_OK, LOGGED_IN, Case

NO_TOKEN = dict.fromkeys(ACTORS, 401)

CASES = [
    Case("api.labs", "GET", lambda p: "/api/v1/labs", ALL_OK),
    Case("api.lab", "GET", lambda p: f"/api/v1/labs/{p.lab.slug}", ALL_OK),
    Case("api.lab", "GET", lambda p: f"/api/v1/labs/{p.draft.slug}",
         dict.fromkeys(ACTORS, 404), name="draft"),
    Case("api.lab_equipment", "GET", lambda p: f"/api/v1/labs/{p.lab.slug}/equipment", ALL_OK),
    Case("api.equipment", "GET", lambda p: f"/api/v1/equipment/{p.equipment.id}", ALL_OK),
    Case("api.equipment", "GET", lambda p: f"/api/v1/equipment/{p.retired.id}",
         dict.fromkeys(ACTORS, 404), name="retired"),
    # The matrix sends a PATCH without a CSRF token: a write without a bearer token is
    # checked as a form post first (400), so a session cookie gets nowhere.
    Case("api.update_equipment", "PATCH", lambda p: f"/api/v1/equipment/{p.equipment.id}",
         dict.fromkeys(ACTORS, 400)),
    Case("api.equipment_availability", "GET",
         lambda p: f"/api/v1/equipment/{p.equipment.id}/availability?from=2026-03-04&to=2026-03-05",
         ALL_OK),
    Case("api.ket_areas", "GET", lambda p: "/api/v1/ket-areas", ALL_OK),
    Case("api.categories", "GET", lambda p: "/api/v1/categories", ALL_OK),
    Case("api.networks", "GET", lambda p: "/api/v1/networks", ALL_OK,
         shows=lambda p: "mx-hidden", seers=()),
    Case("api.accreditations", "GET", lambda p: "/api/v1/accreditations", ALL_OK),
    Case("api.bookings", "GET", lambda p: "/api/v1/bookings", NO_TOKEN),
    Case("api.create_booking", "POST", lambda p: "/api/v1/bookings", NO_TOKEN),
    Case("api.cancel_booking", "POST", lambda p: f"/api/v1/bookings/{p.booking_id}/cancel",
         NO_TOKEN),
    Case("api.approve_booking", "POST", lambda p: f"/api/v1/bookings/{p.booking_id}/approve",
         NO_TOKEN),
    Case("api.reject_booking", "POST", lambda p: f"/api/v1/bookings/{p.booking_id}/reject",
         NO_TOKEN),
    Case("api.requests", "GET", lambda p: "/api/v1/requests", NO_TOKEN),
    Case("api.create_request", "POST", lambda p: "/api/v1/requests", NO_TOKEN),
    Case("api.post_message", "POST", lambda p: f"/api/v1/requests/{p.request_ref}/messages",
         NO_TOKEN),
    Case("api.answer_request", "POST", lambda p: f"/api/v1/requests/{p.request_ref}/answer",
         NO_TOKEN),
    # Events: the course and draft of the training cases' world (``cases/training.py``).
    Case("api.events", "GET", lambda p: "/api/v1/events", ALL_OK),
    Case("api.event", "GET", lambda p: f"/api/v1/events/{p.tr_event_slug}", ALL_OK),
    Case("api.event", "GET", lambda p: "/api/v1/events/matrix-draft-course",
         dict.fromkeys(ACTORS, 404), name="draft"),  # its editors too: no cookie is read
    Case("api.register", "POST", lambda p: f"/api/v1/events/{p.tr_event_slug}/registrations",
         NO_TOKEN),
    Case("api.registrations", "GET", lambda p: "/api/v1/registrations", NO_TOKEN),
    Case("api.cancel_registration", "POST",
         lambda p: f"/api/v1/registrations/{p.tr_reg_id}/cancel", NO_TOKEN),
    Case("api.accept_offer", "POST", lambda p: f"/api/v1/registrations/{p.tr_reg_id}/accept",
         NO_TOKEN),
    Case("api.openapi", "GET", lambda p: "/api/v1/openapi.json", ALL_OK),
    Case("api.docs", "GET", lambda p: "/api/docs", ALL_OK),
    Case("open_data.index", "GET", lambda p: "/open-data", ALL_OK),
    Case("open_data.catalog", "GET", lambda p: "/open-data/catalog.jsonld", ALL_OK),
    # Before the daily job has run (the matrix's world has no dump): nothing to serve.
    Case("open_data.download", "GET", lambda p: "/open-data/labs.csv",
         dict.fromkeys(ACTORS, 404), name="not-yet-written"),
    Case("api_tokens.index", "GET", lambda p: "/account/tokens", LOGGED_IN),
    Case("api_tokens.create", "POST", lambda p: "/account/tokens",
         {a: (302 if a == "anonymous" else 422) for a in ACTORS}, data=lambda p: {},
         name="empty"),
    Case("api_tokens.revoke", "POST", lambda p: "/account/tokens/999999/revoke",
         {a: (302 if a == "anonymous" else 404) for a in ACTORS}, name="not-mine"),
]
