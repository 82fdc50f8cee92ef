"""The dashboard's period and filters: the query string parsed into :class:`Filters` with an
error per bad field and no 500 (DESIGN rule 5); the lab scope of a manager and a network
filter that only names networks the viewer may see (DESIGN rules 6 and 9); the choices the
form offers; and the filters as SQL conditions on labs, summary rows and requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from labnet import permissions
from labnet.dates import parse_day
from labnet.extensions import db
from labnet.i18n import _, data_name
from labnet.models import (
    ActivityDaily,
    KetArea,
    Lab,
    LabKet,
    LabKind,
)
from labnet.models.network import Network, NetworkMember
from labnet.models.request import LabRequest, RequestLab
from labnet.services.analytics.sql import _at, _month_after, _months_and_days

MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class Filters:
    """A period (``start`` … ``end``, both included, UTC days) and the dashboard's filters.

    ``lab_scope`` limits every lab-side figure to those labs (a select of lab ids: the labs
    a manager manages); ``None`` for coordinators and admins, who see everything."""

    start: date
    end: date
    ket: str = ""
    country: str = ""
    kind: str = ""
    network_id: int | None = None
    lab_scope: Any = None

    @property
    def days(self) -> int:
        """Days in the period."""
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        """Weeks in the period (a fraction)."""
        return self.days / 7.0

    @property
    def start_at(self) -> datetime:
        """The period's first instant (UTC midnight of its first day)."""
        return _at(self.start)

    @property
    def end_at(self) -> datetime:
        """The instant after the period (exclusive)."""
        return _at(self.end + timedelta(days=1))

    @property
    def bucket(self) -> str:
        """How the figures over time are grouped: by ``month`` past 92 days, else ``week``."""
        return "month" if self.days > 92 else "week"

    @property
    def has_lab_filter(self) -> bool:
        """Whether any filter narrows the labs (a manager's lab scope included)."""
        return bool(self.country or self.kind or self.ket or self.network_id is not None
                    or self.lab_scope is not None)

    @property
    def searches_visible(self) -> bool:
        """Searches have no lab: a manager's view (their labs only) has none."""
        return self.lab_scope is None


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months up to today."""
    return today - timedelta(days=364), today


def _ket_codes(ket: str) -> Any:
    """The area and its sub-areas (a select of codes)."""
    return select(KetArea.code).where(or_(KetArea.code == ket, KetArea.parent_code == ket))


def _lab_conditions(f: Filters, *, ket: bool = True) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.country:
        conds.append(Lab.country == f.country)
    if f.kind:
        conds.append(Lab.kind_code == f.kind)
    if ket and f.ket:
        conds.append(exists().where(LabKet.lab_id == Lab.id,
                                    LabKet.ket_code.in_(_ket_codes(f.ket))))
    if f.network_id is not None:

        conds.append(exists().where(NetworkMember.lab_id == Lab.id,
                                    NetworkMember.network_id == f.network_id,
                                    NetworkMember.status == "accepted"))
    if f.lab_scope is not None:
        conds.append(Lab.id.in_(f.lab_scope))
    return conds


def _lab_ids(f: Filters) -> Any | None:
    conds = _lab_conditions(f)
    return select(Lab.id).where(*conds) if conds else None


def _period(f: Filters) -> ColumnElement[bool]:
    """The period over the summary: month rows for the whole months inside it (when the
    dashboard goes by month), day rows for the days before and after them."""
    day_rows = and_(ActivityDaily.grain == "day", ActivityDaily.day >= f.start,
                    ActivityDaily.day <= f.end)
    if f.bucket != "month":
        return day_rows
    first = f.start if f.start.day == 1 else _month_after(f.start)
    after = f.end.replace(day=1) if _month_after(f.end) - timedelta(days=1) != f.end \
        else _month_after(f.end)
    if first >= after:
        return day_rows
    return _months_and_days(ActivityDaily, f.start, first, after, f.end + timedelta(days=1))


# Metrics without a lab: the lab's country is a dimension (``supply_country``).
LABLESS = ("flow", "cat_hours", "req_flow")


def _labless(f: Filters) -> bool:
    """Whether the lab-less rows answer these filters: no lab filter but the country."""
    return not (f.kind or f.ket or f.network_id is not None or f.lab_scope is not None)


def _summary(metric: str, f: Filters) -> list[ColumnElement[bool]]:
    conds = [ActivityDaily.metric == metric, _period(f)]
    if metric in LABLESS:
        if f.country:
            conds.append(ActivityDaily.supply_country == f.country)
    elif metric != "search":
        ids = _lab_ids(f)
        if ids is not None:
            conds.append(ActivityDaily.lab_id.in_(ids))
    else:
        if f.ket:
            conds.append(ActivityDaily.ket_code.in_(_ket_codes(f.ket)))
        if f.country:
            conds.append(ActivityDaily.supply_country == f.country)
        if not f.searches_visible:
            conds.append(false())
    return conds


def _request_conditions(f: Filters) -> list[ColumnElement[bool]]:
    """Requests made in the period, narrowed through their labs and KET area."""
    conds: list[ColumnElement[bool]] = [LabRequest.created_at >= f.start_at,
                                        LabRequest.created_at < f.end_at]
    lab_conds = _lab_conditions(f, ket=False)
    if lab_conds:
        # A semi-join from the labs' side: a manager's three labs find their requests
        # through request_lab's lab index instead of probing every request of the period.
        conds.append(LabRequest.id.in_(
            select(RequestLab.request_id).join(Lab, Lab.id == RequestLab.lab_id)
            .where(*lab_conds)))
    if f.ket:
        conds.append(or_(
            LabRequest.ket_code.in_(_ket_codes(f.ket)),
            and_(LabRequest.ket_code.is_(None), exists().where(
                RequestLab.request_id == LabRequest.id, LabKet.lab_id == RequestLab.lab_id,
                LabKet.ket_code.in_(_ket_codes(f.ket))))))
    return conds


def lab_kinds() -> list[tuple[str, str]]:
    """The kinds of lab the filter offers (code, name), by name."""
    kinds = db.session.execute(select(LabKind.code, LabKind.name)).tuples()
    return sorted(((code, data_name("lab_kinds", code, name)) for code, name in kinds),
                  key=lambda pair: pair[1].casefold())


def ket_choices() -> list[tuple[str, str]]:
    """The KET areas the filter offers (code, name), each followed by its sub-areas."""
    rows = db.session.execute(
        select(KetArea.code, KetArea.name, KetArea.parent_code)
        .order_by(func.coalesce(KetArea.parent_code, KetArea.code),
                  KetArea.parent_code.is_not(None), KetArea.position, KetArea.code)).all()
    return [(c, ("— " if p else "") + data_name("ket_areas", c, n)) for c, n, p in rows]


def _length(column: Any) -> int:
    """The length of a ``String`` column."""
    return int(column.property.columns[0].type.length)


def network_choices(actor: Any) -> list[tuple[str, str]]:
    """The networks the dashboard's filter offers: those ``actor`` may see
    (``permissions.visible_networks``, as on /networks and the catalogue's filter)."""
    return [(n.slug, n.name) for n in db.session.scalars(permissions.visible_networks(actor))]


def network_id(actor: Any, slug: str) -> int | None:
    """The id of the network ``slug`` if ``actor`` may see it; ``None`` for a network that
    does not exist and, alike, for a members-only one they do not see."""

    return db.session.scalar(select(Network.id).where(
        Network.slug == slug, permissions.network_visible_condition(actor)))


# How long each filter value may be: a day, the taxonomy codes and a network's slug.
_VALUE_LENGTHS = {"from": 40, "to": 40, "ket": _length(KetArea.code),
                  "country": 40, "kind": _length(LabKind.code),
                  "network": _length(Network.slug)}


def parse_filters(args: Any, actor: Any, *, today: date
                  ) -> tuple[Filters, dict[str, str], dict[str, str]]:
    """The dashboard's query string (``from``, ``to``, ``ket``, ``country``, ``kind``,
    ``network``) as :class:`Filters`, the errors per field (a bad value falls back to its
    default) and the values to put back in the form."""
    errors: dict[str, str] = {}
    # Each value is cut at the longest its field can hold (a network's slug at the
    # column's length, not at 40), so every choice the form offers comes back whole.
    values = {k: (args.get(k) or "").strip()[:limit] for k, limit in _VALUE_LENGTHS.items()}
    start, end = default_period(today)

    def day(name: str, fallback: date) -> date:
        if not values[name]:
            return fallback
        try:
            return parse_day(values[name])  # bounded: year 9999 would overflow the period
        except ValueError as exc:
            errors[name] = str(exc)
            return fallback

    start, end = day("from", start), day("to", end)
    if start > end:
        errors["to"] = _("The end must not be before the start.")
        start, end = default_period(today)
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        errors["from"] = _("Choose a period of at most three years.")
        start, end = default_period(today)
    ket = values["ket"].upper()
    if ket and not db.session.scalar(select(exists().where(KetArea.code == ket))):
        errors["ket"] = _("Choose a KET area from the list.")
        ket = ""
    country = values["country"].upper()
    if country and (len(country) != 2 or not country.isalpha()):
        errors["country"] = _("Choose a country from the list.")
        country = ""
    kind = values["kind"]
    if kind and not db.session.scalar(select(exists().where(LabKind.code == kind))):
        errors["kind"] = _("Choose a kind of lab from the list.")
        kind = ""
    net_id = None
    if values["network"]:
        net_id = network_id(actor, values["network"])
        if net_id is None:
            errors["network"] = _("Choose a network from the list.")
    values.update(ket=ket, country=country)
    return (Filters(start=start, end=end, ket=ket, country=country, kind=kind,
                    network_id=net_id, lab_scope=permissions.dashboard_lab_scope(actor)),
            errors, values)
