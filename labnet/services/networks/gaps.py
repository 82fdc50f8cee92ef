"""The gap finder: for each active stage of a network that has no accepted member, or
accepted members in one country only, the published labs that could fill it.

Rules:

- a stage is a gap when it has no accepted member (``empty``) or its accepted members are
  all in one country (``one-country``); retired stages are never gaps;
- a lab's fit is one point per KET area of the stage it works in (an area includes its
  sub-areas), per equipment category of the stage it has live (active or maintenance)
  equipment in, and per capability keyword found in its capabilities or description;
  candidates score at least one point;
- only published labs are candidates; labs invited to or members of the network are left
  out, and for a one-country stage so are the labs of that country (they would not close
  the gap);
- candidates rank by fit, then by the geodesic distance to the network's nearest accepted
  member, then by name; each gap keeps its best :data:`GAP_TOP_N`. A stage that names no
  need is a gap without candidates;
- the whole search takes a constant number of queries, whatever the catalogue's size.

It only reads: nothing is written and nothing is locked.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all

from labnet import permissions
from labnet.extensions import db
from labnet.models import Equipment, EquipmentStatus, KetArea, Lab, LabKet
from labnet.models.network import Network, NetworkStage
from labnet.services.common.text import like_pattern
from labnet.services.geo.geocoding import APPROX_ERROR, nearest_approx_km, nearest_km
from labnet.services.networks.rules import network_page

GAP_TOP_N = 5
_LIVE_EQUIPMENT = (EquipmentStatus.ACTIVE.value, EquipmentStatus.MAINTENANCE.value)


@dataclass
class Candidate:
    """A lab that could fill a gap, with the needs of the stage it meets."""

    lab_id: int
    slug: str
    name: str
    city: str
    country: str
    ket_hits: list[str]
    category_hits: list[str]
    keyword_hits: list[str]
    distance_km: float | None  # to the nearest accepted member of the network

    @property
    def score(self) -> int:
        """The lab's fit: one point per need met."""
        return len(self.ket_hits) + len(self.category_hits) + len(self.keyword_hits)


@dataclass
class Gap:
    """A stage that needs labs, why, and its best candidates."""

    stage: NetworkStage
    reason: str  # "empty" or "one-country"
    countries: list[str]
    needs: int  # how many KET areas, categories and keywords the stage names
    candidates: list[Candidate]


def find_gaps(network: Network, *, top_n: int = GAP_TOP_N) -> list[Gap]:
    """Each active stage with no accepted member, or accepted members in a single country,
    with the published labs that could fill it.

    Fit = one point per KET area of the stage the lab works in (an area includes its
    sub-areas), per equipment category of the stage the lab has live equipment in, and
    per capability keyword found in the lab's capabilities or description. Candidates
    score at least one point; labs invited to or members of the network are left out, and
    for a one-country stage so are labs of that country (they would not close the gap).
    Ties are broken by the geodesic distance to the network's nearest accepted member, then
    by name. Queries: the network page's (stages with their needs, members, coordinators)
    and one statement that scores every lab for every gap stage and keeps, per stage, the
    rows whose score ranks within ``top_n`` (ties included) — whatever the catalogue's
    size. Distances are computed in Python for those rows only: haversine first, the
    geodesic only for the rows that can still make the top (see :func:`_best`).
    """
    page = network_page(network)  # 3 queries (stages + links, members, coordinators)
    gaps: list[Gap] = []
    for view in page.stages:
        countries = view.countries
        needs = (len(view.stage.ket_codes) + len(view.stage.category_codes)
                 + len(view.stage.keyword_list))
        if not view.members:
            gaps.append(Gap(view.stage, "empty", [], needs, []))
        elif len(countries) == 1:
            gaps.append(Gap(view.stage, "one-country", countries, needs, []))
    scorable = [g for g in gaps if g.needs]
    if not scorable:
        return gaps
    excluded = [r.lab_id for r in page.rows if r.status in ("invited", "accepted")
                and not page.is_retired_stage(r.stage_id)]
    anchors = [(m.lat, m.lon) for v in page.stages for m in v.members
               if m.lat is not None and m.lon is not None]
    rows_by_stage: dict[int, list[Any]] = defaultdict(list)
    one_country = {g.stage.id: g.countries for g in scorable if g.reason == "one-country"}
    for row in db.session.execute(_ranked(_scoring_statement(_hit_rows(scorable), excluded),
                                          top_n, one_country)):
        rows_by_stage[row.stage_id].append(row)
    approx: dict[int, float] = {}  # lab id -> haversine km to the nearest member
    exact: dict[int, float | None] = {}  # lab id -> geodesic km to the nearest member
    for gap in scorable:
        rows = [r for r in rows_by_stage.get(gap.stage.id, ())
                if not (gap.reason == "one-country" and r.country in gap.countries)]
        kept = _best(rows, top_n, anchors, approx)
        found = []
        for r in kept:
            if r.lab_id not in exact:
                exact[r.lab_id] = nearest_km(r.lat, r.lon, anchors)
            found.append(_candidate(r, gap.stage, exact[r.lab_id]))
        found.sort(key=lambda c: (-c.score, math.inf if c.distance_km is None
                                  else c.distance_km, c.name, c.lab_id))
        gap.candidates = found[:top_n]
    return gaps


def _best(rows: list[Any], top_n: int, anchors: list[tuple[float, float]],
          approx: dict[int, float]) -> list[Any]:
    """The rows that can be among the ``top_n`` by (score, distance): every row scoring
    above the ``top_n``-th score, and of those scoring just that, the ones whose haversine
    distance (within its 1 % of the geodesic one) can still place them. Distances are
    computed for these only; geodesic ones (slow) only for what this returns."""
    if len(rows) <= top_n:
        return rows
    rows = sorted(rows, key=lambda r: -r.n)
    threshold = rows[top_n - 1].n
    above = [r for r in rows if r.n > threshold]
    level = [r for r in rows if r.n == threshold]
    slots = top_n - len(above)
    if len(level) > slots:
        for r in level:
            if r.lab_id not in approx:
                approx[r.lab_id] = nearest_approx_km(r.lat, r.lon, anchors)
        level.sort(key=lambda r: approx[r.lab_id])
        cutoff = approx[level[slots - 1].lab_id] * (1 + APPROX_ERROR)
        level = [r for r in level if approx[r.lab_id] * (1 - APPROX_ERROR) <= cutoff]
    return above + level


def _candidate(row: Any, stage: NetworkStage, distance: float | None) -> Candidate:
    kinds: dict[str, set[str]] = {"k": set(), "c": set(), "w": set()}
    for item in (row.codes or "").split("|"):
        kind, _, code = item.partition(":")
        if kind in kinds and code:
            kinds[kind].add(code)
    words = stage.keyword_list
    keywords = [words[int(i)] for i in kinds["w"] if i.isdigit() and int(i) < len(words)]
    return Candidate(lab_id=row.lab_id, slug=row.slug, name=row.name, city=row.city,
                     country=row.country, ket_hits=sorted(kinds["k"]),
                     category_hits=sorted(kinds["c"]),
                     keyword_hits=sorted(keywords, key=str.lower), distance_km=distance)


def _hit_rows(gaps: list[Gap]) -> Any:
    """One UNION ALL of (stage_id, lab_id, kind, code): every need of every gap stage a
    published lab meets. Stage needs are literals here (a handful per stage)."""
    parts = []
    for gap in gaps:
        sid = gap.stage.id
        kets = gap.stage.ket_codes
        if kets:
            # lab_ket rows in the area itself or in one of its sub-areas; the code
            # reported is the stage's area the lab meets.
            lk = LabKet.__table__
            parts.append(
                select(literal(sid).label("stage_id"), lk.c.lab_id.label("lab_id"),
                       literal("k").label("kind"), lk.c.ket_code.label("code"))
                .where(lk.c.ket_code.in_(kets)))
            parts.append(
                select(literal(sid), lk.c.lab_id, literal("k"), KetArea.parent_code)
                .join(KetArea, KetArea.code == lk.c.ket_code)
                .where(KetArea.parent_code.in_(kets)))
        cats = gap.stage.category_codes
        if cats:
            parts.append(
                select(literal(sid), Equipment.lab_id, literal("c"), Equipment.category_code)
                .where(Equipment.category_code.in_(cats),
                       Equipment.status.in_(_LIVE_EQUIPMENT)))
        for index, word in enumerate(gap.stage.keyword_list):
            pattern = like_pattern(word)
            parts.append(
                select(literal(sid), Lab.id, literal("w"), literal(str(index)))
                .where(or_(func.lower(Lab.capabilities).like(pattern, escape="\\"),
                           func.lower(Lab.description).like(pattern, escape="\\"))))
    return union_all(*parts).subquery("hits")


def _scoring_statement(hits: Any, excluded: list[int]) -> Any:
    """One row per (gap stage, published lab not in the network) with its score (needs
    met), the needs as "kind:code|…" and the lab's name, place and coordinates."""
    met = select(hits.c.stage_id, hits.c.lab_id, hits.c.kind, hits.c.code).distinct() \
        .subquery("met")
    scored = (select(met.c.stage_id, met.c.lab_id, func.count().label("n"),
                     func.aggregate_strings(met.c.kind + ":" + met.c.code, "|")
                     .label("codes"))
              .group_by(met.c.stage_id, met.c.lab_id).subquery("scored"))
    stmt = (select(scored.c.stage_id, scored.c.lab_id, scored.c.n, scored.c.codes, Lab.slug,
                   Lab.name, Lab.city, Lab.country, Lab.lat, Lab.lon)
            .join(Lab, Lab.id == scored.c.lab_id)
            .where(permissions.listed_lab_condition()))
    if excluded:
        stmt = stmt.where(Lab.id.not_in(excluded))
    return stmt


def _ranked(stmt: Any, top_n: int, countries: dict[int, list[str]]) -> Any:
    """Only the rows that can make a stage's top ``top_n``: those whose score ranks within
    it (ties included: ``rank()`` gives tied rows one rank), after leaving out the labs of
    a one-country stage's country."""
    rows = stmt.subquery("candidates")
    conds = [~((rows.c.stage_id == sid) & rows.c.country.in_(codes))
             for sid, codes in countries.items() if codes]
    rank = func.rank().over(partition_by=rows.c.stage_id, order_by=rows.c.n.desc())
    inner = select(rows, rank.label("rnk")).where(*conds).subquery("ranked")
    return select(*(c for c in inner.c if c.name != "rnk")).where(inner.c.rnk <= top_n)
