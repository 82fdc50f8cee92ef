"""Many labs at once from a CSV file (``flask labnet labs import``): a network operator
seeding a region's catalogue.

Rules owned here (DESIGN rules 5 and 10):
- the file's format is :data:`LAB_FORMAT` (``flask labnet labs template`` prints it); it is
  read by the equipment import's machinery (``csv_import``: size, encodings, separators,
  header, line numbers, formula guards), not a copy of it;
- every row passes the rules of a lab made anywhere else (``creation.build_lab``, hence the
  profile's rules and messages), and every problem of every row is listed with its line and
  column; the address of a row without coordinates is placed through the geocoding service;
- a row names its organisation: an existing lab-side organisation, or one the import
  creates with the row's ``org_kind`` and country (the summary names them); a lab already
  on LabNet under the same organisation and name, or twice in the file, is a problem (so a
  file imported twice adds nothing);
- an import writes every row or none: the caller rolls back on :class:`CsvImportError`,
  and a dry run checks everything, then the caller rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from labnet.errors import RuleViolation, RuleViolations
from labnet.extensions import db
from labnet.i18n import _
from labnet.models import Lab, Organisation
from labnet.permissions import LAB_SIDE_KINDS
from labnet.services.accounts.rules import NewOrganisation, create_organisation
from labnet.services.catalogue.labs.creation import (
    LAB_SIDE_WORDS,
    build_lab,
    find_organisation,
    organisation_problem,
)
from labnet.services.catalogue.labs.csv_import import (
    CSV_MAX_BYTES,
    CsvFormat,
    CsvImportError,
    ImportProblem,
    _parse_bool,
    _parse_codes,
    _Row,
    _Table,
    read_table,
    write_csv,
)
from labnet.services.catalogue.labs.profile import LabProfile, _profile_problems
from labnet.services.common import audit
from labnet.services.geo import geocoding as geo

MAX_LAB_ROWS = 2000

LAB_COLUMNS = (
    "name", "organisation", "org_kind", "kind", "country", "city", "postal_code", "address",
    "website", "email", "phone", "contact_name", "ket", "description", "capabilities",
    "timezone", "lat", "lon", "published",
)
LAB_REQUIRED = ("name", "organisation", "kind", "country")
LAB_FORMAT = CsvFormat(
    columns=LAB_COLUMNS, required=LAB_REQUIRED,
    text_columns=("name", "organisation", "contact_name", "description", "capabilities",
                  "address", "city"),
    what="lab", max_rows=MAX_LAB_ROWS)

# What each column holds, for the template's help and the README.
LAB_COLUMN_HELP = {
    "name": "the lab's name (required)",
    "organisation": "the organisation it belongs to (required); created when not registered",
    "org_kind": "kind of a new organisation: rto, university, cluster, kibs or public_body",
    "kind": "kind of lab (required): a code of `flask labnet sync-taxonomy`'s lab kinds",
    "country": "two-letter code (DE) or English name (required)",
    "city": "city or town", "postal_code": "postal code", "address": "street and number",
    "website": "https://…", "email": "contact e-mail", "phone": "contact phone",
    "contact_name": "contact person",
    "ket": "KET area codes separated by spaces (AMT AMT.ADD)",
    "description": "free text", "capabilities": "one per line",
    "timezone": "IANA zone (Europe/Berlin); empty: the zone of the place found",
    "lat": "latitude (with lon: placed by hand)", "lon": "longitude",
    "published": "yes (default) or no (a draft nobody sees yet)",
}

TEMPLATE_LAB = {
    # Example data (the template's sample row), not translated.
    "name": "Laser Applications Lab (example row: replace it)",  # i18n: keep
    "organisation": "Example Institute of Technology",  # i18n: keep
    "org_kind": "rto", "kind": "rto",
    "country": "DE", "city": "Aachen", "postal_code": "52074",
    "address": "Steinbachstr. 15",  # i18n: keep
    "website": "https://lab.example.org", "email": "lab@example.org", "phone": "",
    "contact_name": "", "ket": "AMT.LAS AMT.ADD",
    "description":
        "Laser cutting, welding and additive manufacturing of metal parts.",  # i18n: keep
    "capabilities": "Laser welding\nMetal 3D printing",  # i18n: keep
    "timezone": "", "lat": "", "lon": "",
    "published": "yes",
}

# Profile field → column, where the names differ.
_FIELD_COLUMN = {"kind_code": "kind", "ket_codes": "ket", "contact_email": "email",
                 "contact_phone": "phone"}


def lab_csv_template() -> str:
    """The import format: the header line and one example row."""
    return write_csv([TEMPLATE_LAB], LAB_FORMAT)


@dataclass
class LabImportResult:
    """What an import wrote (or, in a dry run, would write)."""

    labs: list[tuple[int, str]] = field(default_factory=list)  # (line, slug)
    organisations_created: list[str] = field(default_factory=list)
    placed_by_hand: int = 0


@dataclass
class _Planned:
    row: _Row
    profile: LabProfile
    organisation: str  # as typed
    org_kind: str


def _number(raw: str) -> float:
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        raise ValueError(_("Enter a number in decimal degrees, like 50.7793.")) from None


def _profile(row: _Row, table: _Table, problems: list[ImportProblem]) -> LabProfile:
    cells = row.cells

    def cell(name: str) -> str:
        return cells.get(name, "")

    def problem(column: str, message: str) -> None:
        problems.append(ImportProblem(row.line, table.position(column), column, message))

    country = geo.country_code(cell("country")) if cell("country") else None
    if cell("country") and country is None:
        problem("country", _("“%(country)s” is no country; write its two-letter code (DE) "
                             "or its English name.", country=cell("country")[:40]))
    coords: dict[str, float | None] = {"lat": None, "lon": None}
    for name in coords:
        if cell(name):
            try:
                coords[name] = _number(cell(name))
            except ValueError as exc:
                problem(name, str(exc))
    published = True
    if cell("published"):
        try:
            published = _parse_bool(cell("published"))
        except ValueError as exc:
            problem("published", str(exc))
    return LabProfile(
        name=cell("name"), kind_code=cell("kind").lower(), country=country or "",
        description=cell("description"), capabilities=cell("capabilities"),
        contact_name=cell("contact_name"), contact_email=cell("email"),
        contact_phone=cell("phone"), website=cell("website"), address=cell("address"),
        postal_code=cell("postal_code"), city=cell("city"),
        timezone=cell("timezone") or "Europe/Brussels",
        ket_codes=tuple(c.upper() for c in _parse_codes(cell("ket"))),
        is_published=published, lat=coords["lat"], lon=coords["lon"],
    )


def _violations(exc: RuleViolation) -> list[RuleViolation]:
    return list(getattr(exc, "violations", None) or [exc])


def _row_problems(row: _Row, table: _Table, violations: list[RuleViolation]
                  ) -> list[ImportProblem]:
    found = []
    for violation in violations:
        name = violation.field or ""
        column = _FIELD_COLUMN.get(name, name)
        if column == "lat" and not row.cells.get("lat"):
            column = "city"  # no place found for the address: the address is what to fix
        found.append(ImportProblem(row.line, table.position(column), column,
                                   violation.message))
    return found


def import_labs_csv(content: bytes, *, now: datetime,
                    progress: Callable[[str, int, int], None] | None = None,
                    max_bytes: int = CSV_MAX_BYTES) -> LabImportResult:
    """Create the labs of a CSV file in :data:`LAB_FORMAT`, with the organisations it names
    that are not registered. Every row is checked, every problem listed; the caller commits
    when this returns and rolls back when it raises (or for a dry run). DESIGN rule 5.

    :raises RuleViolation: on ``file`` when the file is too large, empty or not this format.
    :raises CsvImportError: listing every problem with its line and column.
    """
    table = read_table(content, LAB_FORMAT, max_bytes)
    problems = list(table.problems)
    planned: list[_Planned] = []
    seen: dict[tuple[str, str], int] = {}
    new_orgs: dict[str, tuple[int, str, str]] = {}  # name key → (line, kind, country)
    for row in table.rows:
        row_problems: list[ImportProblem] = []
        profile = _profile(row, table, row_problems)
        org_name = " ".join(row.cells.get("organisation", "").split())
        org_kind = row.cells.get("org_kind", "").strip().lower()
        key = (org_name.lower(), " ".join(profile.name.split()).lower())
        if key in seen:
            row_problems.append(ImportProblem(
                row.line, table.position("name"), "name",
                _("The same lab as on line %(line)s (same organisation and name).",
                  line=seen[key])))
        seen.setdefault(key, row.line)
        org = find_organisation(org_name)
        if org is not None:
            wrong = organisation_problem(org)
            if wrong is not None:
                row_problems.append(ImportProblem(row.line, table.position("organisation"),
                                                  "organisation", wrong.message))
            elif db.session.scalar(select(Lab.id).where(
                    Lab.organisation_id == org.id,
                    func.lower(Lab.name) == key[1])):
                row_problems.append(ImportProblem(
                    row.line, table.position("name"), "name",
                    _("%(organisation)s already has a lab called “%(name)s” on LabNet.",
                      organisation=org.name, name=profile.name[:80])))
        elif org_name and org_name.lower() not in new_orgs:
            if org_kind not in LAB_SIDE_KINDS:
                row_problems.append(ImportProblem(
                    row.line, table.position("org_kind") or table.position("organisation"),
                    "org_kind",
                    _("“%(name)s” is not registered: give its kind in org_kind to create it "
                      "(%(codes)s); labs belong to %(kinds)s.", name=org_name[:80],
                      codes=", ".join(sorted(LAB_SIDE_KINDS)), kinds=LAB_SIDE_WORDS)))
            else:
                new_orgs[org_name.lower()] = (row.line, org_kind, profile.country)
        # The profile's own rules, on every row (a cell already refused is not repeated).
        unreadable = {p.column_name for p in row_problems}
        row_problems.extend(p for p in _row_problems(row, table, _profile_problems(profile))
                            if p.column_name not in unreadable)
        problems.extend(row_problems)
        planned.append(_Planned(row, profile, org_name, org_kind))
    if not planned and not problems:
        raise RuleViolation("file", _("The file has no lab rows under its header."))

    result = LabImportResult()
    organisations: dict[str, Organisation] = {}
    for name_key, (line, kind, country) in new_orgs.items():
        name = next(p.organisation for p in planned if p.organisation.lower() == name_key)
        if not country:
            continue  # the row's country problem is listed already
        try:
            organisations[name_key] = create_organisation(
                NewOrganisation(name=name, kind=kind, size_class=None, country=country),
                email_domain=None)
            db.session.flush()
            result.organisations_created.append(name)
        except RuleViolation as exc:
            problems.append(ImportProblem(line, table.position("organisation"),
                                          "organisation", exc.message))

    taken: set[str] = set()
    for done, plan in enumerate(planned, 1):
        if progress:
            progress("labs", done, len(planned))
        if any(p.line == plan.row.line for p in problems):
            continue  # its problems are listed; building it would only repeat them
        org = organisations.get(plan.organisation.lower()) or find_organisation(
            plan.organisation)
        missing = [] if plan.organisation else [RuleViolation(
            "organisation", _("Enter the organisation's name."))]
        try:
            if org is None:
                raise RuleViolations(missing or [RuleViolation(
                    "organisation", _("The organisation could not be created."))])
            lab = build_lab(org, plan.profile, now=now, taken_slugs=taken, extra=missing)
        except RuleViolation as exc:
            problems.extend(_row_problems(plan.row, table, _violations(exc)))
            continue
        taken.add(lab.slug)
        result.labs.append((plan.row.line, lab.slug))
        if lab.coords_source == "manual":
            result.placed_by_hand += 1
    if problems:
        raise CsvImportError(sorted(problems, key=lambda p: (p.line, p.column or 0)))
    audit.record(None, "lab.imported", "lab", None, now=now, created=len(result.labs),
                 organisations_created=result.organisations_created)
    db.session.flush()
    return result
