"""The coordinators' dashboard: ``/dashboard`` and one CSV per table.

Coordinators and admins see everything, lab managers the same figures limited to their
labs (``permissions.can_view_dashboard``, ``permissions.dashboard_lab_scope``); other
users get 403 and visitors are sent to log in. The figures come from
``services.analytics``; the page draws its charts from its own tables
(``static/js/dashboard.js``), so a chart, its table and its CSV show the same rows.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.dashboard import bp
from labnet.blueprints.helpers import EUROPEAN_COUNTRIES, csv_download
from labnet.extensions import login_manager
from labnet.services import analytics
from labnet.templating import country_name


@bp.before_request
def _allowed():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    permissions.require(permissions.can_view_dashboard, current_user)
    return None


def _filters():
    now = clock.utcnow()
    f, errors, values = analytics.parse_filters(
        request.args, current_user._get_current_object(), today=now.date())
    return now, f, errors, values


def _args(values: dict[str, str], f: analytics.Filters) -> dict[str, str]:
    args = {"from": f.start.isoformat(), "to": f.end.isoformat()}
    args.update({k: values[k] for k in ("ket", "country", "kind", "network") if values.get(k)})
    return args


def _ttl() -> float:
    return float(current_app.config.get("DASHBOARD_CACHE_SECONDS") or 0)


@bp.get("/dashboard")
def index():
    now, f, errors, values = _filters()
    board = analytics.build_cached(f, now=now, ttl=_ttl())
    args = _args(values, f)
    countries = sorted(((c, country_name(c)) for c in EUROPEAN_COUNTRIES), key=lambda x: x[1])
    csv_urls = {name: url_for("dashboard.section_csv", section=name, **args)
                for name in board.tables}
    return render_template(
        "dashboard/index.html", board=board, f=f, errors=errors, values=values,
        csv_urls=csv_urls, ket_choices=analytics.ket_choices(),
        kind_choices=analytics.lab_kinds(), country_choices=countries,
        network_choices=analytics.network_choices(current_user),
        centroids=analytics.COUNTRY_CENTROIDS,
        display=analytics.display, scoped=f.lab_scope is not None,
        upcoming_args={**args, "from": now.date().isoformat(),
                       "to": (now.date() + timedelta(days=91)).isoformat()},
    ), 422 if errors else 200


@bp.get("/dashboard/<section>.csv")
def section_csv(section: str):
    if section not in analytics.SECTIONS:
        abort(404)
    now, f, errors, _values = _filters()
    if errors:
        message = "; ".join(f"{k}: {v}" for k, v in errors.items())
        return current_app.response_class(message + "\n", status=422, mimetype="text/plain")
    board = analytics.build_cached(f, now=now, ttl=_ttl(), only=section)
    table = board.tables.get(section)
    if table is None:  # searches, for a manager's view
        abort(404)
    out = io.StringIO()
    csv.writer(out).writerows(analytics.csv_rows(table))
    return csv_download(out.getvalue(),
                        f"labnet-{section}-{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv")
