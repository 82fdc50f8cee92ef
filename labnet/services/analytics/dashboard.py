"""The whole dashboard: :func:`build` runs the sections, :func:`build_cached` keeps the result
per process, keyed by the filters and the ids of the viewer's lab scope and renewed by
catalogue or network writes (DESIGN rule 9), and :func:`csv_rows` writes a section as CSV
with formula-like text cells neutralised (DESIGN rule 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    literal,
    null,
    select,
)

from labnet import caches
from labnet.extensions import db
from labnet.i18n import current_language, data_name
from labnet.models import (
    ActivitySummaryState,
    EquipmentCategory,
    KetArea,
)
from labnet.services.analytics.events import (
    EVENT_SECTIONS,
    events_by_country,
    events_by_ket,
    meetings_by_event,
)
from labnet.services.analytics.figures import (
    Table,
    demand,
    demand_against_supply,
    display,
    flows,
    matching,
    supply_by_country,
    supply_by_ket,
    unmet,
    utilisation_by_category,
    utilisation_by_lab,
)
from labnet.services.analytics.filters import Filters
from labnet.services.analytics.request_figures import RequestFigures, request_stats
from labnet.services.analytics.summary import SUMMARY_JOB
from labnet.services.common.spreadsheet import safe_cell

SECTIONS = ("demand", "supply-ket", "supply-country", "matching", "utilisation-labs",
            "utilisation-categories", "flows", "unmet", "demand-supply", *EVENT_SECTIONS)


@dataclass
class Dashboard:
    """One view of the dashboard: its tables, headline figures and summary time."""

    filters: Filters
    tables: dict[str, Table]
    matching: dict[str, Any]
    flows: dict[str, Any]
    totals: dict[str, Any]
    summarised_until: datetime | None
    # The training and events section's meeting totals (requested, accepted, held,
    # cross_project).
    meetings: dict[str, int] = field(default_factory=dict)


def _names() -> tuple[dict[str, str], dict[str, str], dict[str, str | None]]:
    rows = db.session.execute(
        select(literal("ket"), KetArea.code, KetArea.name, KetArea.parent_code)
        .union_all(select(literal("cat"), EquipmentCategory.code, EquipmentCategory.name,
                          null()))).all()
    # In the reader's language (shipped data, labnet.i18n.data_name).
    kets = {c: data_name("ket_areas", c, n) for fam, c, n, _p in rows if fam == "ket"}
    parents = {c: p for fam, c, _n, p in rows if fam == "ket"}
    cats = {c: data_name("equipment_categories", c, n) for fam, c, n, _p in rows
            if fam == "cat"}
    return kets, cats, parents


def build(f: Filters, *, now: datetime, only: str | None = None) -> Dashboard:
    """Every table of the dashboard (or only the section ``only``, for its CSV)."""
    kets, cats, parents = _names()
    tables: dict[str, Table] = {}
    match: dict[str, Any] = {}
    flow: dict[str, Any] = {}

    def want(name: str) -> bool:
        return only is None or only == name

    figures = request_stats(f, now=now) \
        if want("demand") or want("matching") or want("demand-supply") \
        else RequestFigures([], {"first": {}, "decision": {}})
    stats = figures.stats
    if want("demand"):
        tables["demand"] = demand(f, stats, now.date())
    if want("supply-ket") or want("demand-supply"):
        tables["supply-ket"] = supply_by_ket(f, kets)
    if want("supply-country"):
        tables["supply-country"] = supply_by_country(f)
    if want("matching"):
        tables["matching"], match = matching(f, figures)
    if want("utilisation-labs"):
        tables["utilisation-labs"] = utilisation_by_lab(f)
    if want("utilisation-categories"):
        tables["utilisation-categories"] = utilisation_by_category(f)
    if want("flows"):
        tables["flows"], flow = flows(f)
    if want("unmet") and f.searches_visible:
        tables["unmet"] = unmet(f, kets, cats)
    if want("demand-supply"):
        tables["demand-supply"] = demand_against_supply(f, stats, tables["supply-ket"], kets,
                                                        parents)
    meetings: dict[str, int] = {}
    if want("events-ket"):
        tables["events-ket"] = events_by_ket(f, kets, now=now)
    if want("events-country"):
        tables["events-country"] = events_by_country(f, now=now)
    if want("meetings"):
        tables["meetings"], meetings = meetings_by_event(f, now=now)
    totals: dict[str, Any] = {}
    if "demand" in tables:
        cols = tables["demand"].columns
        for i, col in enumerate(cols[1:], start=1):
            totals[col] = sum(row[i] for row in tables["demand"].rows)
    state = db.session.get(ActivitySummaryState, SUMMARY_JOB) if only is None else None
    return Dashboard(f, tables, match, flow, totals, state.until if state else None,
                     meetings)


# --- the shared cache (labnet.caches) ------------------------------------------------------


def _cache_key(f: Filters) -> tuple[Any, ...]:
    """The filters, the language (the tables' titles, headers and notes are written in
    it), and the labs of the viewer's scope (their ids, read now: a manager who gains or
    loses a lab gets a view of their own at once); ``None`` for everything."""
    scope = None if f.lab_scope is None else tuple(sorted(db.session.scalars(f.lab_scope)))
    # ``network_id`` is only ever a network the viewer may see (:func:`parse_filters`), and
    # a network's figures are the same for everyone who sees it. The versions start new
    # entries after a catalogue or network write (a membership accepted) or a summary run,
    # on any host.
    scopes = ["catalogue", "dashboard"]
    if f.network_id is not None:
        scopes.append(f"network:{f.network_id}")
    return (f.start, f.end, f.ket, f.country, f.kind, f.network_id, scope,
            current_language(), caches.versions(scopes))


def build_cached(f: Filters, *, now: datetime, ttl: float, only: str | None = None
                 ) -> Dashboard:
    """:func:`build`, reusing a result computed less than ``ttl`` seconds ago (by ``now``)
    for the same filters and lab scope, by any process (the shared cache); ``ttl`` 0
    computes every time.

    The whole dashboard is cached per (filters, scope); a section's CSV reuses it when
    present (so a CSV shows what the page showed) and otherwise caches its own section.
    Figures are then at most ``ttl`` seconds old (``DASHBOARD_CACHE_SECONDS``)."""
    if not ttl or ttl <= 0:
        return build(f, now=now, only=only)
    base = _cache_key(f)

    def fresh(key: Any) -> Dashboard | None:
        hit = caches.peek("dashboard", key)
        if hit is not None and timedelta(0) <= now - hit[0] < timedelta(seconds=ttl):
            return replace(hit[1], filters=f)
        return None

    board = fresh((base, None))
    if board is None and only is not None:
        board = fresh((base, only))
    caches.count("dashboard", board is not None)
    if board is not None:
        return board
    board = build(f, now=now, only=only)
    # The filters' lab scope is a statement: the cached copy keeps the figures only.
    caches.store("dashboard", (base, only), (now, replace(board, filters=replace(
        f, lab_scope=None))), ttl)
    return board


def csv_rows(table: Table) -> list[list[str]]:
    """The table as CSV rows: the header, then each row as the page shows it; a text cell
    (a lab's name) that a spreadsheet would run as a formula gets a leading apostrophe."""

    def cell(value: Any) -> str:
        text = display(value)
        return safe_cell(text) if isinstance(value, str) else text

    return [list(table.columns), *([cell(v) for v in row] for row in table.rows)]
