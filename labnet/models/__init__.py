"""Every model module, imported so the metadata is complete for Alembic and the tests."""

from labnet.models.accreditation import (
    Accreditation,
    AccreditationQuestion,
    AccreditationReminder,
    AccreditationStatus,
    AccreditationTerm,
)
from labnet.models.analytics import ActivityDaily, ActivityMetric, ActivitySummaryState
from labnet.models.api_token import ApiToken, TokenScope
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
from labnet.models.events import (
    Event,
    EventKet,
    EventOrganiser,
    EventSession,
    Project,
    ProjectKet,
    ProjectManager,
    ProjectPartner,
)
from labnet.models.excellence import (
    LabelAnswer,
    LabelApplication,
    LabelScore,
    LabelStatus,
)
from labnet.models.geo import GazetteerAltName, GazetteerPlace, GeocodeCache
from labnet.models.jobs import GeocodeRequest, JobLock
from labnet.models.lab import Lab, LabKet, LabManager, OpeningHours
from labnet.models.lab_proposal import LabProposal, ProposalStatus
from labnet.models.lab_watch import LabWatch
from labnet.models.meetings import (
    Meeting,
    MeetingProfile,
    MeetingSlotTaken,
    MeetingStatus,
)
from labnet.models.network import (
    Network,
    NetworkCoordinator,
    NetworkMember,
    NetworkStage,
    NetworkStageCategory,
    NetworkStageKet,
)
from labnet.models.organisation import Organisation, OrgKind, SizeClass
from labnet.models.request import (
    LabAnswer,
    LabRequest,
    RequestKind,
    RequestLab,
    RequestMessage,
    RequestStatus,
)
from labnet.models.search import (
    EquipmentFreeDay,
    LabFacet,
    LabFacetSet,
    LabFreeDay,
    LabFreeWeek,
    SearchTerm,
)
from labnet.models.snapshot import CatalogueSnapshot
from labnet.models.taxonomy import AccreditationScheme, EquipmentCategory, KetArea, LabKind
from labnet.models.team import (
    ClaimMethod,
    ClaimStatus,
    InvitationStatus,
    LabClaim,
    LabInvitation,
)
from labnet.models.training import (
    Attendance,
    Certificate,
    EquipmentQualification,
    EventQualification,
    Qualification,
    QualificationGrant,
    Registration,
    RegistrationStatus,
)
from labnet.models.user import (
    CalendarFeed,
    LoginSession,
    Membership,
    OrgRole,
    Role,
    User,
    UserRole,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Accreditation",
    "AccreditationQuestion",
    "AccreditationReminder",
    "AccreditationScheme",
    "AccreditationStatus",
    "AccreditationTerm",
    "ActivityDaily",
    "ActivityMetric",
    "ActivitySummaryState",
    "ApiToken",
    "Attendance",
    "AuditEvent",
    "Base",
    "Blackout",
    "Booking",
    "BookingStatus",
    "BookingUnit",
    "CalendarFeed",
    "CatalogueSnapshot",
    "Certificate",
    "ClaimMethod",
    "ClaimStatus",
    "DemandSignal",
    "Equipment",
    "EquipmentCategory",
    "EquipmentFreeDay",
    "EquipmentKet",
    "EquipmentMode",
    "EquipmentQualification",
    "EquipmentSpec",
    "EquipmentStatus",
    "Event",
    "EventKet",
    "EventOrganiser",
    "EventQualification",
    "EventSession",
    "GazetteerAltName",
    "GazetteerPlace",
    "GeocodeCache",
    "GeocodeRequest",
    "InvitationStatus",
    "JobLock",
    "KetArea",
    "Lab",
    "LabAnswer",
    "LabClaim",
    "LabFacet",
    "LabFacetSet",
    "LabFreeDay",
    "LabFreeWeek",
    "LabInvitation",
    "LabKet",
    "LabKind",
    "LabManager",
    "LabProposal",
    "LabRequest",
    "LabWatch",
    "LabelAnswer",
    "LabelApplication",
    "LabelScore",
    "LabelStatus",
    "LoginSession",
    "Meeting",
    "MeetingProfile",
    "MeetingSlotTaken",
    "MeetingStatus",
    "Membership",
    "Network",
    "NetworkCoordinator",
    "NetworkMember",
    "NetworkStage",
    "NetworkStageCategory",
    "NetworkStageKet",
    "OpeningHours",
    "OrgKind",
    "OrgRole",
    "Organisation",
    "OutboxEmail",
    "OutboxStatus",
    "Project",
    "ProjectKet",
    "ProjectManager",
    "ProjectPartner",
    "ProposalStatus",
    "Qualification",
    "QualificationGrant",
    "Registration",
    "RegistrationStatus",
    "RequestKind",
    "RequestLab",
    "RequestMessage",
    "RequestStatus",
    "Role",
    "SearchTerm",
    "SizeClass",
    "TokenScope",
    "User",
    "UserRole",
]
