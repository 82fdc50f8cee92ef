"""Every model module, imported so the metadata is complete for Alembic and the tests."""

from labnet.models.audit import AuditEvent, OutboxEmail, OutboxStatus
from labnet.models.base import Base
from labnet.models.equipment import (
    BookingUnit,
    Equipment,
    EquipmentKet,
    EquipmentMode,
    EquipmentSpec,
    EquipmentStatus,
)
from labnet.models.lab import Lab, LabKet, LabManager, OpeningHours
from labnet.models.organisation import Organisation, OrgKind, SizeClass
from labnet.models.taxonomy import AccreditationScheme, EquipmentCategory, KetArea, LabKind
from labnet.models.user import LoginSession, Role, User, UserRole

__all__ = [
    "AccreditationScheme",
    "AuditEvent",
    "Base",
    "BookingUnit",
    "Equipment",
    "EquipmentCategory",
    "EquipmentKet",
    "EquipmentMode",
    "EquipmentSpec",
    "EquipmentStatus",
    "KetArea",
    "Lab",
    "LabKet",
    "LabKind",
    "LabManager",
    "LoginSession",
    "OpeningHours",
    "OrgKind",
    "Organisation",
    "OutboxEmail",
    "OutboxStatus",
    "Role",
    "SizeClass",
    "User",
    "UserRole",
]
