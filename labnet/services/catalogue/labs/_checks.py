"""Field checks shared by the lab profile and equipment rules: several refusals raised at
once, text length and one-line checks (``services.common.text``), whole numbers within bounds, and
codes known to the taxonomy tables.

Rules owned here: a form is refused with every wrong field at once
(``labnet.errors.RuleViolations``), never only the first; a text field is one line unless
it is free text (description, capabilities).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _
from labnet.services.common.text import text_problem

# Free text that may span lines; every other text field of a lab or equipment is one line.
MULTI_LINE_FIELDS = frozenset({"description", "capabilities"})


def known_codes(model: Any) -> set[str]:
    """The codes of a taxonomy table (``EquipmentCategory``, ``KetArea``, ``LabKind``)."""
    return set(db.session.scalars(select(model.code)))


def check_length(problems: list[RuleViolation], name: str, value: str, limit: int,
                 label: str) -> None:
    """Add a refusal on ``name`` when ``value`` is too long, or spans lines where it may not."""
    # One line unless the field is free text (services.common.text: names reach mail subjects).
    message = text_problem(value, label=label, limit=limit,
                           one_line=name not in MULTI_LINE_FIELDS)
    if message:
        problems.append(RuleViolation(name, message))


def check_int(problems: list[RuleViolation], name: str, value: int | None, low: int, high: int,
              message: str) -> None:
    """Add a refusal on ``name`` when ``value`` is missing or not within ``low``..``high``."""
    if value is None:
        problems.append(RuleViolation(name, _("Enter a whole number.")))
    elif not low <= value <= high:
        problems.append(RuleViolation(name, message))


def unknown_codes(codes: Iterable[str], known: set[str]) -> list[str]:
    """The ``codes`` not in ``known``, in their order."""
    return [c for c in codes if c not in known]
