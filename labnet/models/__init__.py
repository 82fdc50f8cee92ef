"""Every model module, imported so the metadata is complete for Alembic and the tests."""

from labnet.models.accreditation import Accreditation, AccreditationStatus
from labnet.models.audit import AuditEvent, DemandSignal, OutboxEmail, OutboxStatus
from labnet.models.base import Base
from labnet.models.booking import ACTIVE_STATUSES, Blackout, Booking, BookingStatus
from labnet.models.equipment import (
    BookingUnit,
    Equipment,
    EquipmentKet,
    EquipmentMode,
    EquipmentSpec,
    EquipmentStatus,
)
from labnet.models.geo import GazetteerAltName, GazetteerPlace, GeocodeCache
from labnet.models.jobs import GeocodeRequest, JobLock
from labnet.models.lab import Lab, LabKet, LabManager, OpeningHours
from labnet.models.organisation import Organisation, OrgKind, SizeClass
from labnet.models.taxonomy import AccreditationScheme, EquipmentCategory, KetArea, LabKind
from labnet.models.user import CalendarFeed, LoginSession, Role, User, UserRole

__all__ = [
    "ACTIVE_STATUSES",
    "Accreditation",
    "AccreditationScheme",
    "AccreditationStatus",
    "AuditEvent",
    "Base",
    "Blackout",
    "Booking",
    "BookingStatus",
    "BookingUnit",
    "CalendarFeed",
    "DemandSignal",
    "Equipment",
    "EquipmentCategory",
    "EquipmentKet",
    "EquipmentMode",
    "EquipmentSpec",
    "EquipmentStatus",
    "GazetteerAltName",
    "GazetteerPlace",
    "GeocodeCache",
    "GeocodeRequest",
    "JobLock",
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
