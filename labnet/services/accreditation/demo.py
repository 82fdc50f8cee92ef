"""Demo accreditations for ``flask labnet seed-demo``: claims in every state
from ``labnet/data/demo/accreditations.yaml``, dated relative to the day of seeding, with
small generated PDF certificates for some open claims. Idempotent: a claim whose lab already
has that certificate number is skipped."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from pypdf import PdfWriter
from sqlalchemy import select

from labnet import data
from labnet.extensions import db
from labnet.models import Accreditation, Lab, User
from labnet.services.accreditation import evidence
from labnet.services.accreditation.claims import national_body, needs_national_body
from labnet.services.accreditation.validity import local_today

VERIFIER = "verifier@labnet.example"


def demo_pdf(title: str) -> bytes:
    """A one-page PDF carrying ``title`` in its metadata (the demo's certificates)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def seed_demo_accreditations(*, now: datetime, instance_path: str) -> int:
    """Add the demo claims (flushes; the caller commits). Returns how many were added."""
    labs = {lab.slug: lab for lab in db.session.scalars(select(Lab))}
    verifier = db.session.scalar(select(User).where(User.email == VERIFIER))
    added: dict[tuple[int, str], Accreditation] = {
        (a.lab_id, a.certificate_no): a for a in db.session.scalars(select(Accreditation))}
    count = 0
    for row in data.demo_accreditations()["claims"]:
        lab = labs.get(row["lab"])
        if lab is None or (lab.id, row["certificate"]) in added:
            continue
        acc = _claim(row, lab, now, verifier, instance_path, added)
        db.session.add(acc)
        db.session.flush()
        added[(lab.id, acc.certificate_no)] = acc
        count += 1
    return count


def _claim(row: dict[str, Any], lab: Lab, now: datetime, verifier: User | None,
           instance_path: str, added: dict[tuple[int, str], Accreditation]) -> Accreditation:
    today = local_today(lab.timezone, now)
    issuer = row.get("issuer") or (national_body(lab.country) if needs_national_body(
        row["scheme"]) else "") or ""
    state = row["state"]
    claimed_at = now - timedelta(days=row.get("waited", 30))
    acc = Accreditation(
        lab_id=lab.id, scheme_code=row["scheme"], certificate_no=row["certificate"],
        issuer=issuer, scope="\n".join(row.get("scope", [])),
        valid_from=today + timedelta(days=row["issued"]),
        valid_until=today + timedelta(days=row["until"]),
        status=state, created_at=claimed_at, updated_at=claimed_at,
        evidence_url=f"https://register.example/{row['certificate'].replace(' ', '-')}",
        reason=row.get("reason", ""))
    if state != "claimed":
        acc.verified_at = claimed_at + timedelta(days=2) if state != "rejected" else None
        acc.verified_by_id = verifier.id if verifier and state != "rejected" else None
        acc.decided_at = claimed_at + timedelta(days=2)
        acc.decided_by_id = verifier.id if verifier else None
    if state in ("suspended", "withdrawn"):
        acc.decided_at = now - timedelta(days=5)
    if row.get("renews"):
        old = added.get((lab.id, row["renews"]))
        acc.renews_id = old.id if old else None
    if row.get("pdf"):
        pdf = demo_pdf(row["certificate"])
        acc.evidence_file = evidence.store(db.session(), instance_path, "claims", pdf)
        acc.evidence_name = "certificate.pdf"
        acc.evidence_size = len(pdf)
    return acc
