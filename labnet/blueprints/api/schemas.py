"""The API's input and output models. They validate what comes in (unknown fields are
refused) and, through ``framework.openapi_document``, are the OpenAPI 3.1 document."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from labnet.converters import MAX_ID

Id = Field(ge=1, le=MAX_ID)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- input --------------------------------------------------------------------------------


class ListQuery(Strict):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


class LabsQuery(Strict):
    """The same filters as ``/labs`` (their rules are the catalogue search's)."""

    q: str | None = Field(default=None, max_length=200)
    ket: str | None = Field(default=None, max_length=40)
    category: str | None = Field(default=None, max_length=40)
    kind: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=2)
    accreditation: str | None = Field(default=None, max_length=40)
    bookable: Literal["1"] | None = None
    near: str | None = Field(default=None, max_length=120)
    radius_km: str | None = Field(default=None, max_length=10)
    available_from: date | None = None
    available_to: date | None = None
    hours: str | None = Field(default=None, max_length=10)
    sort: Literal["relevance", "distance", "name"] | None = None
    cursor: str | None = Field(default=None, max_length=200)


class AvailabilityQuery(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date = Field(alias="from", description="First day, in the lab's calendar")
    end: date = Field(alias="to", description="Last day (at most 31 days after 'from')")


class NewBooking(Strict):
    equipment_id: int = Id
    start_at: AwareDatetime
    end_at: AwareDatetime
    purpose: str = Field(max_length=2000)


class Reason(Strict):
    reason: str = Field(max_length=2000)


class NoBody(Strict):
    pass


class NewRequest(Strict):
    kind: Literal["access", "service", "joint_project"]
    labs: list[str] = Field(min_length=1, max_length=10,
                            description="Slugs of published labs (one unless a joint project)")
    title: str = Field(max_length=200)
    summary: str = Field(max_length=10000)
    equipment_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    quantity: str = Field(default="", max_length=200)
    deadline: date | None = None
    ket_code: str | None = Field(default=None, max_length=16)
    budget_min_eur: int | None = Field(default=None, ge=0, le=10**12)
    budget_max_eur: int | None = Field(default=None, ge=0, le=10**12)
    duration_months: int | None = Field(default=None, ge=0, le=1000)
    funding_programme: str = Field(default="", max_length=200)
    trl_now: int | None = Field(default=None, ge=0, le=100)
    trl_target: int | None = Field(default=None, ge=0, le=100)


class EquipmentChange(Strict):
    """The fields to change (those left out keep their values); the equipment form's rules."""

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    maker: str | None = Field(default=None, max_length=120)
    model: str | None = Field(default=None, max_length=120)
    status: Literal["active", "maintenance", "retired"] | None = None
    mode: str | None = Field(default=None, max_length=20)
    training_required: bool | None = None
    min_units: int | None = Field(default=None, ge=0, le=10000)
    max_units: int | None = Field(default=None, ge=0, le=10000)
    rate_industry: Decimal | None = Field(default=None, ge=0, le=10**7, decimal_places=2)
    rate_sme: Decimal | None = Field(default=None, ge=0, le=10**7, decimal_places=2)


class Answer(Strict):
    lab: str = Field(max_length=120, description="The slug of the lab you answer for")
    accept: bool
    message: str = Field(default="", max_length=10000)


class NewMessage(Strict):
    body: str = Field(max_length=10000)
    lab: str | None = Field(default=None, max_length=120,
                            description="The lab you answer for, when you manage several")


# --- output -------------------------------------------------------------------------------


class Lab(BaseModel):
    id: int
    slug: str
    name: str
    kind: str
    description: str
    capabilities: str
    website: str | None
    address: str
    postal_code: str
    city: str
    country: str
    nuts_code: str | None
    lat: float | None
    lon: float | None
    timezone: str
    ket_areas: list[str]
    equipment_count: int
    requires_approval: bool


class LabHit(Lab):
    distance_km: float | None


class LabList(BaseModel):
    items: list[LabHit]
    next: str | None
    total: int


class Equipment(BaseModel):
    id: int
    lab: str
    name: str
    category: str
    maker: str
    model: str
    description: str
    booking_unit: str
    min_units: int
    max_units: int
    mode: str
    status: str
    training_required: bool
    currency: str
    rate_industry: str
    rate_sme: str
    rate_academic: str | None


class EquipmentList(BaseModel):
    items: list[Equipment]
    next: str | None


class Accreditation(BaseModel):
    id: int
    lab: str
    scheme: str
    scheme_name: str
    certificate_no: str
    issuer: str
    scope: str
    valid_from: date | None
    valid_until: date | None


class AccreditationList(BaseModel):
    items: list[Accreditation]
    next: str | None


class LabDetail(Lab):
    accreditations: list[Accreditation]


class Slot(BaseModel):
    start: datetime
    end: datetime
    state: Literal["open", "busy", "closed", "blackout"]
    bookable: bool


class Availability(BaseModel):
    equipment: int
    zone: str
    unit: str
    slots: list[Slot]


class KetArea(BaseModel):
    code: str
    name: str
    parent: str | None


class KetAreaList(BaseModel):
    items: list[KetArea]
    next: None


class Category(BaseModel):
    code: str
    name: str
    group: str
    booking_unit: str


class CategoryList(BaseModel):
    items: list[Category]
    next: None


class Network(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    ket_area: str | None
    ecosystem: str
    visibility: str


class NetworkList(BaseModel):
    items: list[Network]
    next: str | None


class Booking(BaseModel):
    id: int
    reference: str | None
    equipment_id: int
    lab_id: int
    status: str
    start_at: datetime
    end_at: datetime
    hold_until: datetime | None
    purpose: str
    price_estimate: str
    final_price: str | None
    currency: str


class BookingList(BaseModel):
    items: list[Booking]
    next: str | None


class Request(BaseModel):
    id: int
    reference: str | None
    kind: str
    status: str
    title: str
    created_at: datetime


class RequestList(BaseModel):
    items: list[Request]
    next: str | None


class Message(BaseModel):
    id: int
    request: str | None
    created_at: datetime


# --- events -------------------------------------------------------------------------------


class EventsQuery(Strict):
    """The filters of ``/events`` (their rules are the events listing's)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date | None = Field(default=None, alias="from",
                               description="Events that end after this day starts (UTC)")
    end: date | None = Field(default=None, alias="to",
                             description="Events that start before this day ends (UTC)")
    kind: str | None = Field(default=None, max_length=40)
    ket: str | None = Field(default=None, max_length=40,
                            description="A KET area (takes its sub-areas too)")
    country: str | None = Field(default=None, max_length=2)
    organiser: str | None = Field(default=None, max_length=160,
                                  description="lab:<slug>, network:<slug> or project:<slug>")
    language: str | None = Field(default=None, max_length=2)
    mode: Literal["online", "onsite"] | None = None
    free: Literal["1"] | None = Field(default=None, description="Only events with free seats")
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


class NewRegistration(Strict):
    answers: dict[str, str] = Field(
        default_factory=dict, max_length=50,
        description="Answers to the event's questions, by question key; a refusal names "
                    "the field q_<key>, as the form does")


class Organiser(BaseModel):
    kind: Literal["lab", "network", "project"]
    slug: str
    name: str


class Event(BaseModel):
    id: int
    slug: str
    title: str
    kind: str
    status: Literal["published", "cancelled"]
    description: str
    language: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    address: str
    city: str
    country: str | None
    lat: float | None
    lon: float | None
    online: bool
    capacity: int | None
    seats_left: int | None
    registration_deadline: datetime | None
    price_sme: str | None
    price_standard: str | None
    currency: str
    ket_areas: list[str]
    organisers: list[Organiser]


class EventList(BaseModel):
    items: list[Event]
    next: str | None


class EventSession(BaseModel):
    title: str
    starts_at: datetime
    ends_at: datetime


class Question(BaseModel):
    key: str
    label: str
    kind: str
    required: bool
    choices: list[str]


class Registration(BaseModel):
    id: int
    event: str
    status: Literal["registered", "waiting", "offered", "cancelled", "lapsed"]
    waiting_position: int | None
    offer_expires_at: datetime | None
    created_at: datetime


class RegistrationList(BaseModel):
    items: list[Registration]
    next: str | None


class RegistrationState(BaseModel):
    open: bool
    closed_reason: str | None
    full: bool
    mine: Registration | None = Field(description="The token user's live registration")


class EventDetail(Event):
    prerequisites: str
    sessions: list[EventSession]
    questions: list[Question]
    registration: RegistrationState
