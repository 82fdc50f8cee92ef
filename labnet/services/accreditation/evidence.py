"""Evidence files: PDF certificates, checked and kept under the instance folder.

Rules owned here:

- **Really a PDF**: at most :data:`MAX_BYTES` (10 MB), starting with the ``%PDF-`` magic
  bytes, and parsed by pypdf with at least one page; anything else is refused on the
  ``evidence`` field with a message naming what is wrong.
- **Never public**: stored under ``<instance>/evidence/`` with a random name (nothing the
  user typed reaches the path), never in a static folder; the blueprint serves it only
  after ``permissions.accreditation_for`` (the lab's managers, verifiers, admins).
"""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from labnet.errors import RuleViolation

MAX_BYTES = 10 * 1024 * 1024
MAGIC = b"%PDF-"
FOLDER = "evidence"

log = logging.getLogger(__name__)


def check_pdf(content: bytes, *, max_bytes: int = MAX_BYTES) -> None:
    """Refuse (field ``evidence``) anything but a readable PDF of at most ``max_bytes``."""
    if len(content) > max_bytes:
        raise RuleViolation("evidence", f"The file is larger than {max_bytes // (1024 * 1024)} "
                                        "MB; upload a smaller PDF or give the register's address.")
    if not content:
        raise RuleViolation("evidence", "The file is empty.")
    if not content.startswith(MAGIC):
        raise RuleViolation("evidence", "This file is not a PDF.")
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError) as exc:
        log.info("evidence refused: %s", exc)
        raise RuleViolation("evidence", "This PDF cannot be read; it may be damaged.") from exc
    if pages < 1:
        raise RuleViolation("evidence", "This PDF has no pages.")


def store(instance_path: str, content: bytes) -> str:
    """Write ``content`` under the instance folder; return its stored name."""
    folder = Path(instance_path) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.pdf"
    (folder / name).write_bytes(content)
    return name


def path_of(instance_path: str, stored_name: str) -> Path:
    """The file of a stored name (names are ours: hex and ``.pdf``, never a user's)."""
    if not stored_name or "/" in stored_name or "\\" in stored_name or ".." in stored_name:
        raise ValueError(stored_name)
    return Path(instance_path) / FOLDER / stored_name
