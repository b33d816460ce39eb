"""Vitec Express Connect bodies, field for field from the (Swedish) API help pages in vendor-docs/.

Python attributes are snake_case; the JSON names (aliases) are the vendor's own, typos included
(`countys`, `specialRequset`, `telePhone`, `longitud`, `latitud`, `increasedRequirementIDs`).
Every documented limit is enforced here, before anything is sent:

- names (firstName, lastName) at most 30 characters, socialSecurityNumber at most 20,
- ids (customer, contact, agent, office, user group, user, lead source, viewing, time slot) at most 40,
- required fields (person, leadSource, updatePerson, at least one lookingForAccommodations, path ids),
- at most 20 contact ids per CRM call (`ContactsQuery.chunks`).

The CRM contact answers are tolerant: their documented limits (names 30, company name 50,
corporateNumber 20, homePage 60, ids 40) are Vitec's constraints on what it stores, so an answer
breaking one is accepted and `over_documented_limits()` names the fields.

Inbound operation models (`PersonLeadRequest`, `AreaInterestRequest`, `ViewingParticipantRequest`,
`ContactsQuery`) are the vendor body plus the vendor path parameters as body fields.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from leadhooks.vendors.model_base import (
    OperationRequest,
    OptBool,
    OptDateTime,
    OptFloat,
    OptInt,
    OptStr,
    OptStr20,
    OptStr30,
    OptStr40,
    PathId40,
    ReqStr,
    ReqStr40,
    VitecModel,
    VitecResponseModel,
    blank_scalar_to_none,
    enum_name,
    enum_validator,
    number_to_str,
)

MAX_CONTACT_IDS_PER_CALL = 20  # "Hämta lista utav kontakter, max 20 stycken åt gången."
# leadhooks' own bound per GET /vitec/contacts request (DESIGN §2): 10 vendor calls at most.
MAX_CONTACT_IDS_PER_REQUEST = 200

# Validators are built on first use, not on import: each Lambda function pays (cold start) only for
# the models of its own operation.
_DEFERRED = ConfigDict(defer_build=True)


class _Body(VitecModel):
    """A Vitec request body (VitecModel: camelCase aliases, unknown keys rejected)."""

    model_config = _DEFERRED


class _Answer(VitecResponseModel):
    """A Vitec answer (VitecResponseModel: tolerant, extra fields ignored)."""

    model_config = _DEFERRED


# ---- enums ---------------------------------------------------------------------------------------
# Only the members the documentation shows. Each is accepted by name (any case) or number and sent
# by name; an unknown number is passed through to Vitec unchanged (Vitec is the authority on its
# enums), an unknown name is rejected with the list of allowed names.


class LeadType(IntEnum):
    """Lead source workflow (`leadSource.leadType`)."""

    AcceptObjectFlow = 0


class EstateType(IntEnum):
    """Present accommodation type (`presentAccommodation.estateType`)."""

    House = 0


class ObtainThrough(IntEnum):
    """How the contact was obtained (`updatePerson.obtainThrough`)."""

    Interest = 0


class MatchingWatched(IntEnum):
    """Ska matchas/bevakas (`watched`, `wantsToBeMatched`). The docs show Yes; No is its pair."""

    Yes = 0
    No = 1


class ContactType(IntEnum):
    """Kontakttyp: person, företag (company) or dödsbo (deceased estate). Numbers follow the listed order."""

    Person = 0
    Company = 1
    DeceasedEstate = 2


_enum_out = PlainSerializer(enum_name)

LeadTypeValue = Annotated[LeadType | int, PlainValidator(enum_validator(LeadType)), _enum_out]
EstateTypeValue = Annotated[EstateType | int, PlainValidator(enum_validator(EstateType)), _enum_out]
ObtainThroughValue = Annotated[ObtainThrough | int, PlainValidator(enum_validator(ObtainThrough)), _enum_out]
MatchingWatchedValue = Annotated[
    MatchingWatched | int, PlainValidator(enum_validator(MatchingWatched)), _enum_out
]
# Responses: an unknown name is kept as text rather than failing the whole answer.
MatchingWatchedAnswer = Annotated[
    MatchingWatched | int | str, PlainValidator(enum_validator(MatchingWatched, lenient=True)), _enum_out
]

OptEstateType = Annotated[EstateTypeValue | None, BeforeValidator(blank_scalar_to_none)]
OptObtainThrough = Annotated[ObtainThroughValue | None, BeforeValidator(blank_scalar_to_none)]
OptMatchingWatched = Annotated[MatchingWatchedValue | None, BeforeValidator(blank_scalar_to_none)]

# ---- lists ---------------------------------------------------------------------------------------


def _str_list(value: Any) -> Any:
    """A list of ids/names: one string counts as a one-item list; blank items are dropped; [] -> None."""
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list | tuple):
        items = [number_to_str(v) for v in value]
        items = [v.strip() if isinstance(v, str) else v for v in items]
        items = [v for v in items if v != ""]
        return items or None
    return value


OptStrList = Annotated[list[str] | None, BeforeValidator(_str_list)]


def _two_spellings(sample: str, other: str) -> Any:
    """An optional field the docs spell two ways: both accepted, the JSON sample's spelling sent.

    The JSON samples camel-case acronyms as a word (`smsReminder`, `gdprApprovalDate`); the generated
    curl samples lower only the first letter (`sMSReminder`, and so `gDPRApprovalDate`).
    """
    return Field(default=None, alias=sample, validation_alias=AliasChoices(sample, other))


# ---- shared request parts ------------------------------------------------------------------------


class Email(_Body):
    email_address: OptStr = None
    email_address2: OptStr = None


class Address(_Body):
    """Address with country (`updatePerson.address`)."""

    street_address: OptStr = None
    zip_code: OptStr = None
    city: OptStr = None
    country_code: OptStr = None


class PersonLeadAddress(_Body):
    """Address of a person lead: the lead's schema has no countryCode."""

    street_address: OptStr = None
    zip_code: OptStr = None
    city: OptStr = None


class Telephone(_Body):
    home: OptStr = None
    work: OptStr = None
    cell: OptStr = None
    other: OptStr = None


class Coordinate(_Body):
    """A point; the vendor spells the axes `longitud` and `latitud`."""

    longitud: float
    latitud: float


class MinMax(_Body):
    """A wanted range (livingSpace, numberOfRooms, price, plotArea): min ≤ max when both are given."""

    min: OptFloat = None
    max: OptFloat = None

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("min")
        if value is not None and low is not None and value < low:
            raise PydanticCustomError("range", "max must not be less than min")
        return value


# ---- POST PublicAdvertising/{customerId}/Contact/Person/Lead ---------------------------------------


class Person(_Body):
    """Kontaktperson som leadet avser."""

    first_name: OptStr30 = None
    last_name: OptStr30 = None
    social_security_number: OptStr20 = None
    is_foreign_social_security_number: OptBool = None
    address: PersonLeadAddress | None = None
    email: Email | None = None
    telephone: Telephone | None = None


class Office(_Body):
    id: ReqStr40
    customer_id: OptStr40 = None


class UserGroup(_Body):
    id: ReqStr40


class Agent(_Body):
    """Handläggare: named by id or by e-mail."""

    id: OptStr40 = None
    email: OptStr = None
    office: Office | None = None

    @model_validator(mode="after")
    def _identified(self) -> Agent:
        if self.id is None and self.email is None:
            raise PydanticCustomError("missing_agent_identity", "give the agent's id or email")
        return self


class Receiver(_Body):
    """Mottagare: an agent, a user group or an office (at least one when a receiver is given)."""

    agent: Agent | None = None
    user_group: UserGroup | None = None
    office: Office | None = None

    @model_validator(mode="after")
    def _someone(self) -> Receiver:
        if self.agent is None and self.user_group is None and self.office is None:
            raise PydanticCustomError("missing_receiver", "give at least one of agent, userGroup or office")
        return self


class LeadSource(_Body):
    """Leadskälla: workflow and name identify it (Vitec adds the marketplace name itself)."""

    lead_type: LeadTypeValue
    name: ReqStr


class UtmTag(_Body):
    name: OptStr = None
    value: OptStr = None


class FormMarketing(_Body):
    referrer: OptStr = None
    utm_tags: list[UtmTag] | None = None


class PublicAdvertisingPersonLead(_Body):
    """Body of the person lead call; Vitec answers with the new lead's id (a JSON string)."""

    person: Person
    receiver: Receiver | None = None
    lead_source: LeadSource
    marketing: FormMarketing | None = None
    message: OptStr = None


class PersonLeadRequest(OperationRequest, PublicAdvertisingPersonLead):
    """Inbound person lead: the vendor body plus the `customerId` path parameter."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ("customerId",)
    FREE_TEXT_FIELD: ClassVar[str | None] = "message"

    customer_id: PathId40


# The person lead's answer: the id of the lead that was created.
lead_id_adapter: TypeAdapter[str] = TypeAdapter(
    Annotated[Annotated[str, Field(min_length=1)], BeforeValidator(number_to_str)], config=_DEFERRED
)

# ---- POST Interest/SendInterestAndContactOnArea --------------------------------------------------


class PersonTask(_Body):
    predefined_task_id: OptStr = None
    note: OptStr = None
    estate_id: OptStr = None
    assigned_to: OptStr = None


class CustomField(_Body):
    name: OptStr = None
    value: OptStr = None


class UpdatePerson(_Body):
    """The person behind an area interest; `customerId` names the Vitec customer (required)."""

    first_name: OptStr30 = None
    last_name: OptStr30 = None
    social_security_number: OptStr20 = None
    is_foreign_social_security_number: OptBool = None
    tele_phone: OptStr = None
    work_phone: OptStr = None
    cell_phone: OptStr = None
    approval: OptBool = None
    approval_date: OptDateTime = None
    gdpr_approval_date: OptDateTime = _two_spellings("gdprApprovalDate", "gDPRApprovalDate")
    obtain_through: OptObtainThrough = None
    contact_id: OptStr40 = None
    customer_id: ReqStr40
    category_ids: OptStrList = None
    address: Address | None = None
    email: Email | None = None
    user_id: OptStr40 = None
    other_phone: OptStr = None
    wish_advertising: OptBool = None
    note: OptStr = None
    coordinate: Coordinate | None = None
    task: PersonTask | None = None
    custom_field: CustomField | None = None
    lead_score: OptInt = None


class LookingForAccommodation(_Body):
    """Sökpreferens."""

    id: OptStr = None
    area_ids: OptStrList = None
    countys: OptStrList = None
    country_code: OptStr = None
    polygon: list[Coordinate] | None = None
    foreign_property: OptBool = None
    house: OptBool = None
    row_house: OptBool = None
    housing_cooperative: OptBool = None
    cottage: OptBool = None
    premises: OptBool = None
    plot: OptBool = None
    farm: OptBool = None
    tenancy: OptBool = None
    other_housing: OptBool = None
    living_space: MinMax | None = None
    number_of_rooms: MinMax | None = None
    price: MinMax | None = None
    plot_area: MinMax | None = None
    special_requset: OptStr = None
    increased_requirement_ids: OptStrList = Field(default=None, alias="increasedRequirementIDs")
    active: OptBool = None


class PresentAccommodation(_Body):
    """Nuvarande boende."""

    estate_type: OptEstateType = None
    living_space: OptFloat = None
    number_of_rooms: OptFloat = None
    price: OptFloat = None
    other: OptStr = None
    coordinate: Coordinate | None = None


class InterestAndContactOnArea(_Body):
    """Body of the area interest call (Vitec answers with no content)."""

    update_person: UpdatePerson
    looking_for_accommodations: list[LookingForAccommodation] = Field(min_length=1)
    present_accommodation: PresentAccommodation | None = None
    notify_user: OptBool = None
    watched: OptMatchingWatched = None

    @field_validator("notify_user")
    @classmethod
    def _notify_needs_user(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        person = info.data.get("update_person")
        known = isinstance(person, UpdatePerson) and (person.user_id or person.contact_id)
        if value and isinstance(person, UpdatePerson) and not known:
            raise PydanticCustomError(
                "notify_needs_user",
                "notifyUser needs updatePerson.userId (required for new contacts) or updatePerson.contactId",
            )
        return value


class AreaInterestRequest(OperationRequest, InterestAndContactOnArea):
    """Inbound area interest: no path parameters; the customer is `updatePerson.customerId`."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ()
    FREE_TEXT_FIELD: ClassVar[str | None] = "updatePerson.note"

    @property
    def customer_id(self) -> str:
        return self.update_person.customer_id


# ---- POST Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant/{contactId} --------------------


class ViewingParticipantBookingOptions(_Body):
    is_deadline_validation_enabled: OptBool = None
    enable_booking_limit_validation: OptBool = None


class AddViewingParticipant(_Body):
    """Body of the viewing participant call (Vitec answers with no content).

    The JSON sample spells `smsReminder`/`smsConfirmation`, the curl sample `sMSReminder`: both are
    accepted, the JSON sample's spelling is sent.
    """

    participated: OptBool = None
    reminder_time: Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(blank_scalar_to_none)] = None
    sms_reminder: OptBool = _two_spellings("smsReminder", "sMSReminder")
    mail_confirmation: OptBool = None
    sms_confirmation: OptBool = _two_spellings("smsConfirmation", "sMSConfirmation")
    contact_message: OptStr = None
    lead_source_id: OptStr40 = None
    options: ViewingParticipantBookingOptions | None = None


class ViewingParticipantRequest(OperationRequest, AddViewingParticipant):
    """Inbound viewing participant: the vendor body plus its four path parameters."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ("customerId", "viewingId", "timeSlotId", "contactId")
    FREE_TEXT_FIELD: ClassVar[str | None] = "contactMessage"

    customer_id: PathId40
    viewing_id: PathId40
    time_slot_id: PathId40
    contact_id: PathId40


# ---- GET CRM/Contact/{customerId}/{contactIds} -----------------------------------------------------


def _split_ids(value: Any) -> Any:
    """`"a,b , c"` or `["a,b", "c"]` → `["a", "b", "c"]`; an empty item among others is an error."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple):
        return value
    ids: list[Any] = []
    for item in value:
        item = number_to_str(item)
        if isinstance(item, str):
            ids.extend(part.strip() for part in item.split(","))
        else:
            ids.append(item)
    if all(i == "" for i in ids):  # "", " , ": no ids at all (reported as such, not as empty items)
        return []
    return ids


class ContactsQuery(OperationRequest, _Body):
    """Inbound contacts query: up to 200 ids, asked for in chunks of at most 20 (the vendor limit)."""

    customer_id: PathId40
    ids: Annotated[
        Annotated[list[PathId40], Field(min_length=1, max_length=MAX_CONTACT_IDS_PER_REQUEST)],
        BeforeValidator(_split_ids),
    ]

    @model_validator(mode="before")
    @classmethod
    def _absent_is_missing(cls, data: Any) -> Any:
        """Query parameters arrive as None when absent: report them as missing, not as the wrong type."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @field_validator("ids")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def chunks(self, size: int = MAX_CONTACT_IDS_PER_CALL) -> list[list[str]]:
        """The ids in request order, `size` (1-20) per vendor call."""
        if not 1 <= size <= MAX_CONTACT_IDS_PER_CALL:
            raise ValueError(f"chunk size must be between 1 and {MAX_CONTACT_IDS_PER_CALL}")
        return [self.ids[i : i + size] for i in range(0, len(self.ids), size)]


# ---- CRM contact answers (tolerant: extra fields ignored, no length limits) -----------------------


class CrmContactAddress(_Answer):
    street_address: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country_code: str | None = None


class CrmEmail(_Answer):
    email_address: str | None = None
    email_address2: str | None = None


class PersonTelephoneNumbers(_Answer):
    """The docs do not list its fields: the person lead's ones are declared, anything else is kept."""

    model_config = ConfigDict(extra="allow")

    home: str | None = None
    work: str | None = None
    cell: str | None = None
    other: str | None = None


class CompanyTelephoneNumbers(_Answer):
    """The docs do not list its fields: everything the vendor sends is kept."""

    model_config = ConfigDict(extra="allow")


class Category(_Answer):
    id: str | None = None
    name: str | None = None
    read_only: bool | None = None


class CrmContactBase(_Answer):
    """Fields every CRM contact has.

    The documented lengths are Vitec's own constraints on what it stores; an answer that breaks one is
    still accepted (`over_documented_limits()` names the fields, e.g. for a log line).
    """

    DOC_LIMITS: ClassVar[dict[str, int]] = {"id": 40, "customerId": 40}

    id: str
    customer_id: str | None = None
    agent_id: str | None = None
    address: CrmContactAddress | None = None
    email: CrmEmail | None = None
    advertising_enabled: bool | None = None
    note: str | None = None
    categories: list[Category] | None = None
    created_at: datetime | None = None
    changed_at: datetime | None = None

    def over_documented_limits(self) -> list[str]:
        """Vendor names of the text fields longer than the docs allow (reported, never rejected)."""
        by_alias = {(info.alias or name): name for name, info in type(self).model_fields.items()}
        over: list[str] = []
        for alias, limit in self.DOC_LIMITS.items():
            value = getattr(self, by_alias[alias], None)
            if isinstance(value, str) and len(value) > limit:
                over.append(alias)
        return over


class CrmPersonContact(CrmContactBase):
    DOC_LIMITS: ClassVar[dict[str, int]] = {
        **CrmContactBase.DOC_LIMITS,
        "firstName": 30,
        "lastName": 30,
        "socialSecurityNumber": 20,
    }

    type: Literal["Person"]
    first_name: str | None = None
    last_name: str | None = None
    social_security_number: str | None = None
    is_foreign_social_security_number: bool | None = None
    telephone: PersonTelephoneNumbers | None = None
    lead_score: int | None = None
    wants_to_be_matched: MatchingWatchedAnswer | None = None
    matching_changed_at: datetime | None = None
    is_deceased: bool | None = None
    is_company_person: bool | None = None
    gdpr_approval_date: datetime | None = _two_spellings("gdprApprovalDate", "gDPRApprovalDate")


class CrmCompanyContact(CrmContactBase):
    DOC_LIMITS: ClassVar[dict[str, int]] = {
        **CrmContactBase.DOC_LIMITS,
        "name": 50,
        "corporateNumber": 20,
        "homePage": 60,
    }

    type: Literal["Company"]
    name: str | None = None
    corporate_number: str | None = None
    is_foreign_corporate_number: bool | None = None
    home_page: str | None = None
    telephone: CompanyTelephoneNumbers | None = None
    lead_score: int | None = None


class CrmDeceasedEstateContact(CrmContactBase):
    DOC_LIMITS: ClassVar[dict[str, int]] = {
        **CrmContactBase.DOC_LIMITS,
        "name": 30,
        "socialSecurityNumber": 20,
    }

    type: Literal["DeceasedEstate"]
    name: str | None = None
    social_security_number: str | None = None
    is_foreign_id_social_security_number: bool | None = None
    telephone: PersonTelephoneNumbers | None = None


CrmContact = Annotated[
    CrmPersonContact | CrmCompanyContact | CrmDeceasedEstateContact, Field(discriminator="type")
]

_CONTACT_TYPES = {t.name.lower(): t.name for t in ContactType}
_CONTACT_NUMBERS = {t.value: t.name for t in ContactType}


def _normalise_contact_types(value: Any) -> Any:
    """Accept `type` in any case or as its number before the union picks a class."""
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        if isinstance(item, dict) and "type" in item:
            kind = item["type"]
            name: str | None = None
            if isinstance(kind, str) and kind.strip().isascii() and kind.strip().isdigit():
                kind = int(kind)
            if isinstance(kind, int) and not isinstance(kind, bool):
                name = _CONTACT_NUMBERS.get(kind)
            elif isinstance(kind, str):
                name = _CONTACT_TYPES.get(kind.strip().lower())
            if name is not None and name != item["type"]:
                item = {**item, "type": name}
        out.append(item)
    return out


crm_contacts_adapter: TypeAdapter[list[CrmContact]] = TypeAdapter(
    Annotated[list[CrmContact], BeforeValidator(_normalise_contact_types)], config=_DEFERRED
)


def parse_crm_contacts(payload: Any) -> list[CrmContact]:
    """Vitec's `GET CRM/Contact/...` answer as typed contacts (raises pydantic.ValidationError)."""
    return crm_contacts_adapter.validate_python(payload)
