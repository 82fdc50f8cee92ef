"""The one store of evidence PDFs: accreditation claims' certificates and excellence-label
answers' evidence.

Rules owned here:

- **Really a PDF**: at most :data:`MAX_BYTES` (10 MB), starting with the ``%PDF-`` magic
  bytes, and parsed by pypdf with at least one page; anything else is refused on the
  caller's field with a message naming what is wrong.
- **One layout, never public**: ``<instance>/evidence/<kind>/<random>.pdf`` (kinds
  :data:`KINDS`: ``claims``, ``label``); the stored name is ``<kind>/<random>.pdf``,
  nothing the user typed reaches the path, never a static folder. One route serves it
  (``accreditations.evidence``) after ``permissions.evidence_for`` (the owner's readers).
- **Nothing left behind by a failed write**: a file is written when its row is, and
  forgotten only when that transaction commits; if it rolls back or the session closes
  without a commit, the files written in it are removed (:func:`_clean_up`).
- **Moving old files**: claims kept ``<instance>/evidence/<name>.pdf`` and labels
  ``<instance>/label-evidence/<application>/<criterion>-<random>.pdf``;
  :func:`adopt_legacy` moves them into the layout and rewrites the stored names (the
  migration that introduced the layout runs it; its downgrade, :func:`restore_legacy`,
  moves them back).
"""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from sqlalchemy import Connection, event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from labnet.errors import RuleViolation
from labnet.i18n import _

MAX_BYTES = 10 * 1024 * 1024
MAGIC = b"%PDF-"
FOLDER = "evidence"
KINDS = ("claims", "label")
LEGACY_LABEL_FOLDER = "label-evidence"
_WRITTEN = "labnet.evidence.written"

log = logging.getLogger(__name__)


def check_pdf(content: bytes, field: str = "evidence", *, max_bytes: int = MAX_BYTES) -> None:
    """Refuse (on ``field``) anything but a readable PDF of at most ``max_bytes``.

    :raises RuleViolation: on ``field``.
    """
    if len(content) > max_bytes:
        raise RuleViolation(field, _("The file is larger than %(size)s MB; upload a smaller "
                                     "PDF or give the register's address.",
                                     size=max_bytes // (1024 * 1024)))
    if not content:
        raise RuleViolation(field, _("The file is empty."))
    if not content.startswith(MAGIC):
        raise RuleViolation(field, _("This file is not a PDF."))
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError) as exc:
        log.info("evidence refused: %s", exc)
        raise RuleViolation(field, _("This PDF cannot be read; it may be damaged.")) from exc
    if pages < 1:
        raise RuleViolation(field, _("This PDF has no pages."))


def store(session: Session, instance_path: str, kind: str, content: bytes) -> str:
    """Write ``content`` (already checked) into the ``kind`` folder; its stored name. The
    file belongs to ``session``'s transaction: it is removed unless that commits."""
    if kind not in KINDS:
        raise ValueError(kind)
    name = f"{kind}/{secrets.token_hex(16)}.pdf"
    path = Path(instance_path) / FOLDER / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    session.info.setdefault(_WRITTEN, []).append(path)
    return name


def path_of(instance_path: str, stored_name: str | None) -> Path | None:
    """The file of a stored name, or None when there is none, it is missing, or the name
    would leave the store (names are ours, but a row is data: check it)."""
    if not stored_name:
        return None
    root = (Path(instance_path) / FOLDER).resolve()
    path = (root / stored_name).resolve()
    if root not in path.parents or path.parent.name not in KINDS or not path.is_file():
        return None
    return path


# --- nothing left behind: the session's transaction decides ------------------------------

@event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_transaction_end")
def _clean_up(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without after_commit having claimed its files: it
    # rolled back, failed, or the session closed. Its rows are gone, so are its files.
    if transaction.parent is not None or transaction.nested:
        return
    for path in session.info.pop(_WRITTEN, []):
        path.unlink(missing_ok=True)


# --- the layout of older versions ---------------------------------------------------------

def adopt_legacy(conn: Connection, instance_path: str) -> int:
    """Move files stored by older versions into the layout and rewrite their names
    (idempotent: a name already in the layout is left alone). Returns files moved."""
    from labnet.models import Accreditation, LabelAnswer

    root = Path(instance_path)
    moved = 0
    for model, kind, old_root in ((Accreditation, "claims", root / FOLDER),
                                  (LabelAnswer, "label", root / LEGACY_LABEL_FOLDER)):
        names = conn.scalars(select(model.evidence_file).distinct().where(
            model.evidence_file.is_not(None), model.evidence_file != "")).all()
        for name in names:
            if not name or name.split("/", 1)[0] in KINDS:
                continue
            new = f"{kind}/{secrets.token_hex(16)}.pdf"
            source = old_root / name
            if source.is_file():
                target = root / FOLDER / new
                target.parent.mkdir(parents=True, exist_ok=True)
                source.replace(target)
                moved += 1
            else:  # the row points at nothing: say so in its name, serve nothing
                log.warning("evidence %s of a %s is missing", name, model.__name__)
            conn.execute(update(model).where(model.evidence_file == name)
                         .values(evidence_file=new))
    return moved



def restore_legacy(conn: Connection, instance_path: str) -> int:
    """The reverse of :func:`adopt_legacy` (the migration's downgrade): each file back to
    the folder older versions read, its name without the kind. Returns files moved."""
    from labnet.models import Accreditation, LabelAnswer

    root = Path(instance_path)
    moved = 0
    for model, kind, old_root in ((Accreditation, "claims", root / FOLDER),
                                  (LabelAnswer, "label", root / LEGACY_LABEL_FOLDER)):
        names = conn.scalars(select(model.evidence_file).distinct().where(
            model.evidence_file.like(f"{kind}/%"))).all()
        for name in names:
            if not name:
                continue
            old = name.split("/", 1)[1]
            source = root / FOLDER / name
            if source.is_file():
                old_root.mkdir(parents=True, exist_ok=True)
                source.replace(old_root / old)
                moved += 1
            conn.execute(update(model).where(model.evidence_file == name)
                         .values(evidence_file=old))
    return moved
