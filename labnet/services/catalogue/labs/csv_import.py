"""CSV import and export of a lab's equipment, in one format (an exported file, edited and
imported again, updates the same rows by ``id``).

Rules owned here:
- only a lab's managers and admins import or export its equipment (DESIGN rule 6);
- a file is at most ``CSV_MAX_BYTES`` of UTF-8 or Windows-1252 text, comma- or
  semicolon-separated, with at most ``MAX_IMPORT_ROWS`` rows; its first line names known
  columns, each once, the required ones included;
- every row passes the same rules as the equipment form (``equipment.equipment_problems``),
  and every problem of every row is listed with its line and column; a code that is not
  known names where the codes are listed (the import page, the codes file) and the
  nearest known codes;
- an import writes every row or none (DESIGN rule 5); a row with an ``id`` updates that
  piece of this lab's equipment, at most once per file;
- text cells are guarded against spreadsheet formulas on export and unguarded on import
  (``services.common.spreadsheet``).

The importer runs in stages: read the text, parse it into rows with their line numbers,
turn each row into a typed record (cells that cannot be read are problems), check each
record against the rules, and write all records in one go when there is no problem.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l, data_name, ngettext, number
from labnet.models import Equipment, EquipmentCategory, KetArea, Lab
from labnet.permissions import can_manage_lab, require
from labnet.services.catalogue.labs.equipment import (
    CURRENCIES,
    EquipmentData,
    _adjust_equipment_count,
    _apply,
    _counts,
    _data_of,
    _new_equipment,
    equipment_problems,
)
from labnet.services.common import audit
from labnet.services.common.spreadsheet import safe_cell, unsafe_cell

if TYPE_CHECKING:
    from _csv import Reader

MAX_IMPORT_ROWS = 5000
CSV_MAX_BYTES = 1024 * 1024

_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


# ---------------------------------------------------------------------------------------
# The format, and export

CSV_COLUMNS = (
    "id", "name", "category", "maker", "model", "description", "booking_unit", "min_units",
    "max_units", "buffer_minutes", "rate_industry", "rate_sme", "rate_academic", "currency",
    "mode", "training_required", "status", "ket_codes", "specs",
)
REQUIRED_COLUMNS = ("name", "category", "rate_industry", "rate_sme")
# Service field → CSV column (the others share their name).
_FIELD_COLUMN = {"category_code": "category"}
_TEXT_COLUMNS = ("name", "maker", "model", "description", "specs")
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}



@dataclass(frozen=True)
class CsvFormat:
    """An import format: its columns in template order, those a file must have, the free
    text columns (guarded against spreadsheet formulas), and what its rows are (for the
    messages). The lab import (``lab_import``) shares this machinery with its own format."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    text_columns: tuple[str, ...]
    what: str
    max_rows: int = MAX_IMPORT_ROWS


EQUIPMENT_FORMAT = CsvFormat(CSV_COLUMNS, REQUIRED_COLUMNS, _TEXT_COLUMNS, "equipment")

TEMPLATE_ROW = {
    "id": "",
    # Example data (the template's sample row), not translated.
    "name": "Scanning electron microscope (example row: replace it)",  # i18n: keep
    "category": "sem",
    "maker": "ZEISS",
    "model": "Sigma 300 VP",  # i18n: keep
    "description":
        "Imaging and EDS analysis of conductive and non-conductive samples.",  # i18n: keep
    "booking_unit": "hour",
    "min_units": "1",
    "max_units": "8",
    "buffer_minutes": "15",
    "rate_industry": "150.00",
    "rate_sme": "120.00",
    "rate_academic": "100.00",
    "currency": "EUR",
    "mode": "operator_assisted",
    "training_required": "no",
    "status": "active",
    "ket_codes": "AMN.CHR AMT.QC",
    "specs": "Resolution: 1.2 nm at 15 kV\nDetectors: SE, BSE, EDS",  # i18n: keep
}


def write_csv(rows: Iterable[Mapping[str, str]], fmt: CsvFormat = EQUIPMENT_FORMAT) -> str:
    """Rows as CSV text in ``fmt``'s column order, text cells guarded against formulas."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fmt.columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) if k in fmt.text_columns else v
                         for k, v in row.items()})
    return out.getvalue()


def equipment_csv_template() -> str:
    """The import format: the header line and one example row."""
    return write_csv([TEMPLATE_ROW])


@dataclass(frozen=True)
class CodeChoice:
    """One value a coded column accepts: the column, the code, its name and its group."""

    column: str
    code: str
    name: str
    group: str = ""


_FIXED_CHOICES: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
    ("booking_unit", (("hour", _l("By the hour")), ("half_day", _l("By the half day")),
                      ("day", _l("By the day")))),
    ("mode", (("self_service", _l("Self-service (after training)")),
              ("operator_assisted", _l("Operated by the lab's staff")),
              ("request_only", _l("On request only (not booked online)")))),
    ("status", (("active", _l("Active (bookable)")), ("maintenance", _l("In maintenance")),
                ("retired", _l("Retired (hidden from the catalogue)")))),
)


def equipment_code_choices() -> list[CodeChoice]:
    """Every code the import's coded columns accept, with its name: the equipment
    categories (by their number, with their group), the KET areas (each area followed by
    its sub-areas), the booking units, modes and statuses, and the currencies."""
    categories = db.session.execute(
        select(EquipmentCategory.code, EquipmentCategory.name, EquipmentCategory.group_name)
        .order_by(EquipmentCategory.number)).all()
    kets = db.session.execute(
        select(KetArea.code, KetArea.name, KetArea.parent_code)
        .order_by(func.coalesce(KetArea.parent_code, KetArea.code),
                  KetArea.parent_code.is_not(None), KetArea.position, KetArea.code)).all()
    # Names in the reader's language (shipped data: labnet/data/i18n).
    parents = {code: data_name("ket_areas", code, name) for code, name, parent in kets
               if parent is None}
    return [
        *(CodeChoice("category", c, data_name("equipment_categories", c, n),
                     data_name("equipment_groups", g, g)) for c, n, g in categories),
        *(CodeChoice("ket_codes", c, data_name("ket_areas", c, n), parents.get(p or c, ""))
          for c, n, p in kets),
        *(CodeChoice(column, c, str(n)) for column, pairs in _FIXED_CHOICES for c, n in pairs),
        *(CodeChoice("currency", c, c) for c in CURRENCIES),
    ]


def equipment_codes_csv() -> str:
    """The codes file offered beside the template: column, code, name, group."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["column", "code", "name", "group"])
    writer.writerows([c.column, c.code, c.name, c.group] for c in equipment_code_choices())
    return out.getvalue()


def _nearest(code: str, known: Mapping[str, str]) -> str:
    """A "Did you mean …?" naming the known codes nearest to ``code`` (by code or name)."""
    text = code.strip().lower()
    by_name = {name.lower(): c for c, name in known.items()}
    matches = difflib.get_close_matches(text, [c.lower() for c in known], n=3, cutoff=0.6)
    lowered = {c.lower(): c for c in known}
    found = [lowered[m] for m in matches]
    found += [by_name[m] for m in difflib.get_close_matches(text, list(by_name), n=2,
                                                            cutoff=0.6)
              if by_name[m] not in found]
    if not found:
        return ""
    return " " + _("Did you mean %(codes)s?",
                   codes=_(" or ").join(f"“{c}” ({known[c]})" for c in found[:3]))


def export_equipment_csv(actor: Any, lab: Lab) -> str:
    """All of the lab's equipment, retired included, in the import format (so a file
    exported, edited and imported again updates the same rows by ``id``). DESIGN rule 6.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    """
    require(can_manage_lab, actor, lab)
    items = db.session.scalars(
        select(Equipment)
        .options(selectinload(Equipment.specs), selectinload(Equipment.ket_links))
        .where(Equipment.lab_id == lab.id)
        .order_by(Equipment.id)
    )
    return write_csv({
        "id": str(item.id), "name": item.name, "category": item.category_code,
        "maker": item.maker, "model": item.model, "description": item.description,
        "booking_unit": item.booking_unit, "min_units": str(item.min_units),
        "max_units": str(item.max_units), "buffer_minutes": str(item.buffer_minutes),
        "rate_industry": f"{item.rate_industry:.2f}", "rate_sme": f"{item.rate_sme:.2f}",
        "rate_academic": ("" if item.rate_academic is None else f"{item.rate_academic:.2f}"),
        "currency": item.currency, "mode": item.mode,
        "training_required": "yes" if item.training_required else "no",
        "status": item.status, "ket_codes": " ".join(k.ket_code for k in item.ket_links),
        "specs": "\n".join(f"{s.key}: {s.value}" for s in item.specs),
    } for item in items)


# ---------------------------------------------------------------------------------------
# Import: results and problems


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the pieces of equipment added and those changed."""

    created: int
    updated: int


@dataclass(frozen=True)
class ImportProblem:
    """One problem of an import file, where a lab manager finds it in a spreadsheet."""

    line: int
    column: int | None  # 1-based; None for a problem with the whole line
    column_name: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.column is not None:
            where += f", column {self.column} ({self.column_name})"
        return f"{where}: {self.message}"


class CsvImportError(RuleViolation):
    """An import refused as a whole: ``problems`` lists each one with its line and column."""

    def __init__(self, problems: Sequence[ImportProblem]):
        count = len(problems)
        super().__init__(
            "file",
            ngettext("The file has %(num)d problem; nothing was imported. Correct them and "
                     "upload the file again.",
                     "The file has %(num)d problems; nothing was imported. Correct them and "
                     "upload the file again.", count),
        )
        self.problems = list(problems)


# ---------------------------------------------------------------------------------------
# Import, stage 1: the file's text


def _read_text(content: bytes, max_bytes: int) -> str:
    if len(content) > max_bytes:
        raise RuleViolation("file", _("The file is larger than %(size)s KB; split it into "
                                      "smaller files.", size=number(max_bytes // 1024)))
    if not content.strip():
        raise RuleViolation("file", _("The file is empty."))
    return _decode(content)


def _decode(content: bytes) -> str:
    if b"\x00" in content[:8192]:
        raise RuleViolation("file", _("This is not a CSV file. Upload a .csv file saved "
                                      "from a spreadsheet, or start from the template."))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # What older spreadsheet programs write on Western European systems.
        return content.decode("cp1252")
    except UnicodeDecodeError:
        raise RuleViolation("file", _("This file is not readable text. Save it as "
                                      "“CSV UTF-8” and upload it again.")) from None


# ---------------------------------------------------------------------------------------
# Import, stage 2: CSV text → rows with their line numbers


@dataclass(frozen=True)
class _Row:
    """One record of the file: the line it starts on and its cells by column (stripped,
    text cells unguarded)."""

    line: int
    cells: Mapping[str, str]


@dataclass(frozen=True)
class _Table:
    """The parsed file: its header (lower-case column names), its rows, and the problems of
    lines that are not rows (unreadable, wrong number of cells, over the row limit)."""

    header: list[str]
    rows: list[_Row]
    problems: list[ImportProblem]

    def position(self, column: str) -> int | None:
        """The column's 1-based position in the header (``None`` when absent)."""
        return self.header.index(column) + 1 if column in self.header else None


def read_table(content: bytes, fmt: CsvFormat, max_bytes: int = CSV_MAX_BYTES) -> _Table:
    """Stages 1 and 2 for any format: the file's text parsed into rows with their lines.

    :raises RuleViolation: on ``file`` (too large, empty, not text, not this format).
    :raises CsvImportError: listing the header's problems.
    """
    return _parse(_read_text(content, max_bytes), fmt)


def _parse(text: str, fmt: CsvFormat = EQUIPMENT_FORMAT) -> _Table:
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many European locales save with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header = _read_header(reader, fmt)
    rows, problems = _read_rows(reader, header, fmt)
    return _Table(header, rows, problems)


def _read_header(reader: Reader, fmt: CsvFormat) -> list[str]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (csv.Error, StopIteration):
        raise RuleViolation("file", _("This is not a CSV file. Start from the "
                                          "template.")) from None
    problems: list[ImportProblem] = []
    for index, name in enumerate(header, 1):
        if name not in fmt.columns:
            problems.append(ImportProblem(1, index, name[:40],
                                          _("Unknown column “%(name)s”; the columns are "
                                            "%(columns)s.", name=name[:40],
                                            columns=", ".join(fmt.columns))))
        elif header.index(name) != index - 1:
            problems.append(ImportProblem(1, index, name, _("This column appears twice.")))
    for name in fmt.required:
        if name not in header:
            problems.append(ImportProblem(1, None, name, _("The column “%(name)s” is missing.",
                                                                name=name)))
    if problems:
        if not any(h in fmt.columns for h in header):
            if fmt.what == "lab":
                raise RuleViolation("file", _("This is not a LabNet lab file: its first line "
                                              "must name the columns. Start from the "
                                              "template."))
            raise RuleViolation("file", _("This is not a LabNet equipment file: its first "
                                          "line must name the columns. Start from the "
                                          "template."))
        raise CsvImportError(problems)
    return header


def _read_rows(reader: Reader, header: list[str], fmt: CsvFormat
               ) -> tuple[list[_Row], list[ImportProblem]]:
    rows: list[_Row] = []
    problems: list[ImportProblem] = []
    while True:
        line = reader.line_num + 1  # a record may span lines: it is named by its first
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(ImportProblem(line, None, "", _("This line cannot be read (%(error)s).",
                                                             error=exc)))
            break
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= fmt.max_rows:
            problems.append(ImportProblem(line, None, "",
                                          _("At most %(max)s rows per file.",
                                            max=fmt.max_rows)))
            break
        if len(cells) != len(header):
            problems.append(ImportProblem(
                line, None, "", _("This line has %(cells)s cells, the header %(header)s.",
                                  cells=len(cells), header=len(header))))
            continue
        rows.append(_Row(line, {
            name: unsafe_cell(value.strip()) if name in fmt.text_columns else value.strip()
            for name, value in zip(header, cells, strict=True)}))
    return rows, problems


# ---------------------------------------------------------------------------------------
# Import, stage 3: each row → a typed record


def _parse_int(raw: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,9}", raw):
        raise ValueError(_("Enter a whole number."))
    return int(raw)


def _parse_decimal(raw: str) -> Decimal:
    text = raw.replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 150,50 written with a decimal comma
    if not _NUMBER_RE.fullmatch(text) or len(text) > 20:
        raise ValueError(_("Enter an amount such as 150 or 150.50."))
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(_("Enter an amount such as 150 or 150.50.")) from None


def _parse_optional_decimal(raw: str) -> Decimal | None:
    """An amount, or an empty cell: none (the academic rate: academics pay the industry
    rate)."""
    return _parse_decimal(raw) if raw.strip() else None


def _parse_bool(raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ValueError(_("Write yes or no."))


def _parse_specs(raw: str) -> tuple[tuple[str, str], ...]:
    specs = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(_("Write each specification as “name: value” on its own line "
                               "(“%(line)s” has no colon).", line=line.strip()[:40]))
        specs.append((key.strip(), value.strip()))
    return tuple(specs)


def _parse_codes(raw: str) -> tuple[str, ...]:
    return tuple(re.split(r"[\s,;]+", raw.strip())) if raw.strip() else ()


def _parse_choice(raw: str) -> str:
    return re.sub(r"[\s-]+", "_", raw.lower())  # "Half day", "operator-assisted" → half_day


def _as_text(raw: str) -> str:
    return raw


# How each column's cell becomes a value of ``EquipmentData`` (``id`` is read apart); a
# parser raises ``ValueError`` with the message the manager sees.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "name": _as_text, "category": _as_text, "maker": _as_text, "model": _as_text,
    "description": _as_text, "booking_unit": _parse_choice, "min_units": _parse_int,
    "max_units": _parse_int, "buffer_minutes": _parse_int, "rate_industry": _parse_decimal,
    "rate_sme": _parse_decimal, "rate_academic": _parse_optional_decimal,
    "currency": str.upper, "mode": _parse_choice,
    "training_required": _parse_bool, "status": _parse_choice, "ket_codes": _parse_codes,
    "specs": _parse_specs,
}
# An empty cell keeps the stored value (or the default of a new piece), except in these
# columns, where it means "none" (or "no").
_EMPTY_MEANS_NONE = frozenset({"training_required", "specs", "ket_codes", "rate_academic"})
_COLUMN_FIELD = {column: name for name, column in _FIELD_COLUMN.items()}


@dataclass(frozen=True)
class _Record:
    """A row as typed values: ``values`` maps an ``EquipmentData`` field to the value of
    each cell the row fills (an empty cell leaves its field out); ``problems`` are the cells
    that could not be read."""

    line: int
    id_given: bool  # the id cell is filled (an update, when the id is this lab's)
    equipment_id: int | None  # the id, when it is a whole number
    values: Mapping[str, Any]
    problems: tuple[ImportProblem, ...]


def _record(row: _Row, table: _Table) -> _Record:
    values: dict[str, Any] = {}
    problems: list[ImportProblem] = []
    for column, raw in row.cells.items():
        parser = _PARSERS.get(column)
        if parser is None or (raw == "" and column not in _EMPTY_MEANS_NONE):
            continue
        try:
            values[_COLUMN_FIELD.get(column, column)] = parser(raw)
        except ValueError as exc:
            problems.append(ImportProblem(row.line, table.position(column), column, str(exc)))
    equipment_id = None
    id_cell = row.cells.get("id", "")
    if id_cell:
        try:
            equipment_id = _parse_int(id_cell)
        except ValueError as exc:
            problems.append(ImportProblem(row.line, table.position("id"), "id", str(exc)))
    return _Record(row.line, bool(id_cell), equipment_id, values, tuple(problems))


# ---------------------------------------------------------------------------------------
# Import, stage 4: the rules, per record


def _column_of(field_name: str) -> str:
    if field_name.startswith("spec_"):
        return "specs"
    return _FIELD_COLUMN.get(field_name, field_name)


@dataclass
class _Checker:
    """The rules of one import: the lab's equipment (ids a row may update), the known
    codes, and the ids used so far (each at most once per file)."""

    table: _Table
    existing: Mapping[int, Equipment]
    categories: Mapping[str, str]  # code → name
    kets: Mapping[str, str]
    seen_ids: dict[int, int] = dataclasses.field(default_factory=dict)

    def check(self, record: _Record) -> tuple[EquipmentData, list[ImportProblem]]:
        """The piece of equipment the record describes, and every problem of its row."""
        problems = [*record.problems, *self._id_problems(record)]
        base = (self.existing.get(record.equipment_id) if record.equipment_id is not None
                else None)
        data = dataclasses.replace(
            _data_of(base) if base is not None else EquipmentData(
                name="", category_code="", rate_industry=None, rate_sme=None),
            **record.values)
        unreadable = {p.column_name for p in record.problems}
        for violation in equipment_problems(data, categories=set(self.categories),
                                            kets=set(self.kets)):
            column = _column_of(violation.field or "")
            if column in unreadable:
                continue  # the cell's own problem says it
            if record.id_given and base is None and (
                    _COLUMN_FIELD.get(column, column) not in record.values):
                continue  # an empty cell keeps a stored value this row's id does not find
            problems.append(ImportProblem(record.line, self.table.position(column), column,
                                          self._message(column, violation.message, data)))
        return data, problems

    def _message(self, column: str, message: str, data: EquipmentData) -> str:
        """The rule's message; for an unknown code, where the codes are listed instead of
        the form's "from the list", and the nearest known codes."""
        if column == "category":
            code = data.category_code[:40]
            if not code.strip():
                return _("Enter the equipment category's code, from the column “code” of "
                         "the category list on the import page (or "
                         "labnet-equipment-codes.csv).")
            return _("Unknown equipment category “%(code)s”. Use a code from the column "
                     "“code” of the category list on the import page (or the codes file, "
                     "labnet-equipment-codes.csv).", code=code) + _nearest(code, self.categories)
        if column == "ket_codes":
            unknown = [c for c in data.ket_codes if c not in self.kets]
            hints = "".join(_nearest(c, self.kets) for c in unknown[:2])
            return message + " " + _("The KET area codes are listed on the import page and "
                                     "in labnet-equipment-codes.csv.") + hints
        return message

    def _id_problems(self, record: _Record) -> list[ImportProblem]:
        equipment_id = record.equipment_id
        if equipment_id is None:
            return []
        position = self.table.position("id")
        if equipment_id not in self.existing:
            return [ImportProblem(
                record.line, position, "id",
                _("This lab has no equipment with id %(id)s; leave the id empty to add a new "
                  "piece.", id=equipment_id))]
        if equipment_id in self.seen_ids:
            return [ImportProblem(
                record.line, position, "id",
                _("Id %(id)s was already used on line %(line)s.", id=equipment_id,
                  line=self.seen_ids[equipment_id]))]
        self.seen_ids[equipment_id] = record.line
        return []


# ---------------------------------------------------------------------------------------
# Import, stage 5: one write, all rows or none


def _write(actor: Any, lab: Lab, planned: Sequence[tuple[int | None, EquipmentData]],
           existing: Mapping[int, Equipment], *, now: datetime) -> ImportResult:
    created = updated = delta = 0
    for equipment_id, data in planned:
        if equipment_id:
            item = existing[equipment_id]
            before = item.status
            if _apply(item, data):
                updated += 1
                delta += _counts(item.status) - _counts(before)
        else:
            item = _new_equipment(lab)
            _apply(item, data)
            db.session.add(item)
            created += 1
            delta += _counts(item.status)
    db.session.flush()
    _adjust_equipment_count(lab.id, delta)
    audit.record(actor, "equipment.imported", "lab", lab.id, now=now, created=created,
                 updated=updated)
    db.session.flush()
    return ImportResult(created=created, updated=updated)


def _code_names(model: Any) -> dict[str, str]:
    """A taxonomy's codes and names (loaded once per import)."""
    return dict(db.session.execute(select(model.code, model.name)).tuples().all())


def import_equipment_csv(actor: Any, lab: Lab, content: bytes, *, now: datetime,
                         max_bytes: int = CSV_MAX_BYTES) -> ImportResult:
    """Import equipment from CSV in the export format: a row with an ``id`` of this lab's
    equipment updates it, a row without one adds a new piece. Every row is checked before
    anything is written, so the import writes all rows or none. DESIGN rules 5 and 6.

    :raises PermissionDenied: unless the actor manages the lab or is an admin.
    :raises RuleViolation: on ``file`` when the file is too large or not a CSV file.
    :raises CsvImportError: listing every problem with its line and column.
    """
    require(can_manage_lab, actor, lab)
    table = read_table(content, EQUIPMENT_FORMAT, max_bytes)
    existing = {
        item.id: item for item in db.session.scalars(
            select(Equipment)
            .options(selectinload(Equipment.specs), selectinload(Equipment.ket_links))
            .where(Equipment.lab_id == lab.id)
        )
    }
    checker = _Checker(table, existing, _code_names(EquipmentCategory), _code_names(KetArea))
    problems = list(table.problems)
    planned: list[tuple[int | None, EquipmentData]] = []
    for row in table.rows:
        record = _record(row, table)
        data, row_problems = checker.check(record)
        problems.extend(row_problems)
        planned.append((record.equipment_id, data))
    if problems:
        # By line (stable: a row's problems keep their order).
        raise CsvImportError(sorted(problems, key=lambda p: p.line))
    if not planned:
        raise RuleViolation("file", _("The file has no equipment rows under its header."))
    return _write(actor, lab, planned, existing, now=now)
