"""Organisation: the legal entity a user belongs to and a lab belongs to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from labnet.i18n import _l
from labnet.models.base import Base, TimestampMixin


class OrgKind(StrEnum):
    COMPANY = "company"
    RTO = "rto"
    UNIVERSITY = "university"
    CLUSTER = "cluster"
    KIBS = "kibs"
    PUBLIC_BODY = "public_body"


ORG_KIND_LABELS = {
    OrgKind.COMPANY: _l("Company"),
    OrgKind.RTO: _l("Research or technology organisation"),
    OrgKind.UNIVERSITY: _l("University"),
    OrgKind.CLUSTER: _l("Cluster organisation"),
    OrgKind.KIBS: _l("Knowledge-intensive business services"),
    OrgKind.PUBLIC_BODY: _l("Public body"),
}


# Organisations that count as academic for a lab's academic rate: universities, research
# or technology organisations and public bodies (public research institutes) — the
# research organisations of the EU state-aid framework. Clusters and KIBS providers are not:
# they pay the standard (industry) rate, companies their SME or industry rate.
ACADEMIC_KINDS = (OrgKind.UNIVERSITY, OrgKind.RTO, OrgKind.PUBLIC_BODY)


class SizeClass(StrEnum):
    """EU SME definition (Recommendation 2003/361/EC): micro, small, medium are SMEs."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


SIZE_CLASS_LABELS = {
    SizeClass.MICRO: _l("Micro (fewer than 10 staff, up to €2 m turnover)"),
    SizeClass.SMALL: _l("Small (fewer than 50 staff, up to €10 m turnover)"),
    SizeClass.MEDIUM: _l("Medium (fewer than 250 staff, up to €50 m turnover)"),
    SizeClass.LARGE: _l("Large (250 staff or more)"),
}


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(m)) for m in enum)})"


class Organisation(TimestampMixin, Base):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(_in("kind", OrgKind), name="kind"),
        CheckConstraint(f"size_class IS NULL OR {_in('size_class', SizeClass)}", name="size"),
        # Only companies carry a size class, and every company has one (it decides SME rates).
        CheckConstraint("(kind = 'company') = (size_class IS NOT NULL)", name="company_size"),
        CheckConstraint("length(country) = 2", name="country"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name: one organisation per name whatever the capitals.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    size_class: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str] = mapped_column(String(2), index=True)
    nuts_code: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # New members may join only with an address at this domain (None: nobody joins by
    # registration; an admin adds them).
    email_domain: Mapped[str | None] = mapped_column(String(200))
    # A company's size class is self-declared (and gives SME rates at once) until a
    # platform admin verifies it; changing the class clears the verification.
    size_verified_at: Mapped[datetime | None]
    # The verifying admin's account id. No foreign key: user_account already refers to
    # organisation, and a cycle would make either table's rows depend on the other's; the
    # audit row "organisation.size_verified" names the admin for good.
    size_verified_by_id: Mapped[int | None]

    @property
    def is_sme(self) -> bool:
        return self.kind == OrgKind.COMPANY and self.size_class != SizeClass.LARGE

    @property
    def size_verified(self) -> bool:
        return self.size_verified_at is not None

    @property
    def is_academic(self) -> bool:
        return self.kind in ACADEMIC_KINDS

    @property
    def kind_label(self) -> str:
        return str(ORG_KIND_LABELS.get(OrgKind(self.kind), self.kind))
