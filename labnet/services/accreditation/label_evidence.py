"""Evidence PDFs of excellence-label answers.

Rules owned here: an evidence file is a real PDF (it starts with ``%PDF-``) of at most
:data:`MAX_BYTES`; it is stored under the instance folder (``label-evidence/``, never a
static folder) under a random name, so only the application's page links to it and only
``permissions.can_view_label_application`` lets it out (the lab's managers, verifiers once
submitted, admins).

accred-claims builds the same kind of store for claim certificates; the two can become one
at merge.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app

from labnet.errors import RuleViolation

MAX_BYTES = 10 * 1024 * 1024
FOLDER = "label-evidence"


def _root() -> Path:
    return Path(current_app.instance_path) / FOLDER


def check_pdf(data: bytes, field: str) -> None:
    """Refuse on ``field`` what is not a PDF of at most 10 MB.

    :raises RuleViolation: on ``field``.
    """
    if len(data) > MAX_BYTES:
        raise RuleViolation(field, f"The file is {len(data) / 1024 / 1024:.1f} MB; evidence "
                            "files may be at most 10 MB.")
    if not data.startswith(b"%PDF-"):
        raise RuleViolation(field, "This file is not a PDF: upload the evidence as a PDF.")


def store(application_id: int, criterion: str, data: bytes, field: str) -> str:
    """Check and write the file; its stored name (``<application>/<criterion>-<random>.pdf``).

    :raises RuleViolation: on ``field`` (see :func:`check_pdf`).
    """
    check_pdf(data, field)
    name = f"{application_id}/{criterion}-{secrets.token_hex(12)}.pdf"
    path = _root() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return name


def path_of(name: str) -> Path | None:
    """The stored file of ``name``, or None when it is missing or the name leaves the
    folder."""
    root = _root().resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path
