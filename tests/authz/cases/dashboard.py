"""Matrix entries for the coordinators' dashboard (``dashboard.*``).

Coordinators and admins see everything; lab managers (``manager``, ``other_manager``) see
the figures of their own labs; other users are refused (403) and visitors are sent to log
in. A manager's view has no searches, so the unmet-demand CSV is 404 for them. The
figures themselves are checked in tests/web/test_dashboard.py.

A members-only network is, for a dashboard user who does not see it (``other_manager``),
exactly a network that does not exist: absent from the filter choices, and its slug
refused like a made-up one (422) on the page and every CSV.
"""

from __future__ import annotations

from tests.authz.cases.base import ACTORS, HIDDEN_SEERS, Case

ALLOWED = ("other_manager", "manager", "coordinator", "admin")


def dashboard(ok: int, managers: int | None = None) -> dict[str, int]:
    table = {a: (ok if a in ALLOWED else 403) for a in ACTORS}
    if managers is not None:
        table["manager"] = table["other_manager"] = managers
    table["anonymous"] = 302
    return table


def hidden_network(ok: int) -> dict[str, int]:
    """``ok`` for dashboard users who see ``mx-hidden``, 422 (no such network) for the
    other dashboard users."""
    return {a: (ok if a in HIDDEN_SEERS else 422 if v == 200 else v)
            for a, v in dashboard(200).items()}


CASES = [
    Case("dashboard.index", "GET", lambda p: "/dashboard", dashboard(200),
         shows=lambda p: "Matrix hidden", seers=HIDDEN_SEERS),
    Case("dashboard.index", "GET", lambda p: "/dashboard?network=mx-hidden",
         hidden_network(200), name="hidden-network", shows=lambda p: "Matrix hidden",
         seers=HIDDEN_SEERS),
    Case("dashboard.index", "GET", lambda p: "/dashboard?network=no-such-network",
         dashboard(422), name="missing-network"),
    Case("dashboard.index", "GET", lambda p: "/dashboard?from=2026-03-01&to=2026-01-01",
         dashboard(422), name="bad-period"),
    Case("dashboard.section_csv", "GET", lambda p: "/dashboard/flows.csv?country=DE",
         dashboard(200)),
    Case("dashboard.section_csv", "GET", lambda p: "/dashboard/unmet.csv",
         dashboard(200, managers=404), name="searches"),
    Case("dashboard.section_csv", "GET",
         lambda p: "/dashboard/supply-country.csv?network=mx-hidden", hidden_network(200),
         name="hidden-network", shows=lambda p: "Bookable hours", seers=HIDDEN_SEERS),
    Case("dashboard.section_csv", "GET",
         lambda p: "/dashboard/supply-country.csv?network=no-such-network", dashboard(422),
         name="missing-network"),
    Case("dashboard.section_csv", "GET", lambda p: "/dashboard/nothing.csv", dashboard(404),
         name="unknown-section"),
]
