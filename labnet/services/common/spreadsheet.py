"""CSV cells that spreadsheets read as text (CSV formula injection, DESIGN rule 7): every
export that carries text users typed (equipment lists, dashboard tables) writes its cells
through :func:`safe_cell`; the equipment import takes the guard off again."""

from __future__ import annotations

# Spreadsheets run cells starting with these as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def unsafe_cell(value: str) -> str:
    """The text :func:`safe_cell` guarded, as typed (the import of an exported file)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value
