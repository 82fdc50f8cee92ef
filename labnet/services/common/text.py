"""Text people type: the one rule for single-line and multi-line fields.

Rules owned here (DESIGN rule 5):
- single-line text (names, titles, references, addresses, phone numbers …) holds no
  control character at all: no CR or LF, no tab, no NUL, no DEL, no C1 control, no Unicode
  line or paragraph separator. Such text ends up in e-mail subjects, calendar entries,
  CSV files and log lines, where a line break splits or forges a header or a record;
- multi-line text (descriptions, messages) may hold line breaks and tabs, but no other
  control character (NUL cannot even be stored by PostgreSQL).

Every service that takes typed text calls :func:`text_problem` (collecting) or
:func:`clean_text` (raising), so forms, the API and the CSV import refuse the same input
with the same words; the import adds the line and column.
"""

from __future__ import annotations

import re

from labnet.errors import RuleViolation
from labnet.i18n import _, _l, number

_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same words as the forms' one_line validator, so a refusal reads alike everywhere.
LINE_MESSAGE = _l("Remove the control characters (tabs, line breaks and the like) from this text.")
TEXT_MESSAGE = _l("Remove the control characters from this text.")


def control_problem(value: str | None, *, one_line: bool = True) -> str | None:
    """The rule itself: why ``value`` is refused for the control characters it holds, or
    ``None``. Services with their own wording for lengths call this one directly."""
    if (_LINE_CONTROL if one_line else _TEXT_CONTROL).search(value or ""):
        return str(LINE_MESSAGE if one_line else TEXT_MESSAGE)
    return None


def text_problem(value: str, *, label: str, limit: int, one_line: bool = True) -> str | None:
    """Why ``value`` is refused, or ``None`` when it is fine: :func:`control_problem`, then
    the length. ``label`` is how the form calls the field ("The name")."""
    control = control_problem(value, one_line=one_line)
    if control:
        return control
    if len(value or "") > limit:
        return _("%(label)s is too long: at most %(num)s characters.", label=label,
                 num=number(limit))
    return None


def clean_text(value: str | None, field: str, *, label: str, limit: int,
               required: str | None = None, one_line: bool = True) -> str:
    """``value`` stripped of surrounding blanks, or a refusal on ``field``.

    :raises RuleViolation: on ``field`` when the text breaks the rule of its kind, is longer
        than ``limit``, or is empty while ``required`` (the message to show).
    """
    value = (value or "").strip()
    message = text_problem(value, label=label, limit=limit, one_line=one_line)
    if message:
        raise RuleViolation(field, message)
    if required and not value:
        raise RuleViolation(field, required)
    return value


def squashed_text(value: str | None, field: str, *, limit: int, empty: str,
                  too_long: str) -> str:
    """A short note (a booking's purpose, a blackout's reason) with its runs of blanks and
    line breaks made one space, or a refusal on ``field``.

    :raises RuleViolation: on ``field`` for control characters, an empty note (``empty``)
        or one longer than ``limit`` once squashed (``too_long``).
    """
    if problem := control_problem(value, one_line=False):
        raise RuleViolation(field, problem)
    squashed = " ".join((value or "").split())
    if not squashed:
        raise RuleViolation(field, empty)
    if len(squashed) > limit:
        raise RuleViolation(field, too_long)
    return squashed


def like_pattern(word: str) -> str:
    """``%word%`` for ``LIKE … ESCAPE '\\'``, lower-cased, its wildcards escaped."""
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
