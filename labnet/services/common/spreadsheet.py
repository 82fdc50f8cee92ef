"""CSV files as spreadsheet programs read them. Cells that spreadsheets read as text (CSV
formula injection, DESIGN rule 7): every export that carries text users typed (equipment
lists, dashboard tables) writes its cells through :func:`safe_cell`; the equipment import
takes the guard off again. And the encoding: every CSV the app serves for download is
UTF-8 with a byte-order mark (:func:`csv_download_text`), without which Excel reads it as
the system's code page and garbles "Łukasiewicz"."""

from __future__ import annotations

# Spreadsheets run cells starting with these as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def unsafe_cell(value: str) -> str:
    """The text :func:`safe_cell` guarded, as typed (the import of an exported file)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value


# Spreadsheet programs take a file starting with this as UTF-8.
UTF8_BOM = "\ufeff"


def csv_download_text(text: str) -> str:
    """``text`` (a whole CSV file) as served for download: with the UTF-8 byte-order mark,
    once. Importers read it back with ``utf-8-sig``."""
    return text if text.startswith(UTF8_BOM) else UTF8_BOM + text
