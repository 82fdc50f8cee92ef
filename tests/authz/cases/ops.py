"""Matrix entries for the operator's routes (issue 16): readiness, metrics, dead letters."""

from __future__ import annotations

from tests.authz.cases.base import ACTORS, ADMIN_POST, ALL_OK, Case

CASES = [
    Case("ops.ready", "GET", lambda p: "/ready", ALL_OK),
    # Off without METRICS_TOKEN, whoever asks (tests/ops: with the token, a bearer only).
    Case("ops.metrics", "GET", lambda p: "/metrics", dict.fromkeys(ACTORS, 404)),
    Case("admin.outbox_requeue", "POST", lambda p: f"/admin/outbox/{p.message_id}/requeue",
         ADMIN_POST),
]
