"""Vitec Express Connect bodies, field for field from the (Swedish) API help pages in vendor-docs/.

Python attributes are snake_case; the JSON names (aliases) are the vendor's own, typos included
(`countys`, `specialRequset`, `telePhone`, `longitud`, `latitud`, `increasedRequirementIDs`).
The fields of the nested types come from each page's JSON sample (line 1), which is also where their
types come from; the tables name the top-level fields and every rule.

The rules, each with its doc line (DESIGN §6: the docs, nothing more):

- person lead: `customerId` (vitec-person-lead.txt:20), `person` (vitec-person-lead.txt:24) and
  `leadSource` (vitec-person-lead.txt:28) are required; a `receiver` names an agent, a user group or an
  office (vitec-person-lead.txt:26);
- area interest: `updatePerson` (vitec-interest-on-area.txt:16) and at least one
  `lookingForAccommodations` (vitec-interest-on-area.txt:18) are required;
- viewing participant: `viewingId` (vitec-viewing-participant.txt:16), `timeSlotId`
  (vitec-viewing-participant.txt:18) and `contactId` (vitec-viewing-participant.txt:20) are required;
- CRM contacts: `customerId` (vitec-crm-contacts.txt:36) and 1-20 `contactIds`
  (vitec-crm-contacts.txt:38) per call.

Not enforced, on purpose: the CRM contact's lengths (names 30, ids 40, personnummer 20:
vitec-crm-contacts.txt:45) describe the contact the *read* returns, not the writes; `notifyUser`
"needs UserId for new contacts" (vitec-interest-on-area.txt:20), but Vitec's duplicate check decides who
is new, so Vitec, not leadhooks, refuses it; enum values beyond the samples are sent as given; a
personnummer is text (the docs ask for no check, and `isForeignSocialSecurityNumber` allows any format).

Inbound operation models (`PersonLeadRequest`, `AreaInterestRequest`, `ViewingParticipantRequest`,
`ContactsQuery`) are the vendor body plus the vendor path parameters as body fields.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from leadhooks.vendors.model_base import (
    Bool,
    EnumValue,
    Float,
    Int,
    IsoDate,
    OperationRequest,
    PathId,
    Phone,
    Text,
    TextList,
    VendorEnum,
    VitecModel,
    VitecResponseModel,
    field_error,
    not_a_dot_segment,
    number_to_str,
)

MAX_CONTACT_IDS_PER_CALL = 20  # vitec-crm-contacts.txt:38 ("max 20 stycken")
# leadhooks' own bound per GET /vitec/contacts request (DESIGN §2): 10 vendor calls at most.
MAX_CONTACT_IDS_PER_REQUEST = 200

# Validators are built on first use, not on import: each Lambda function pays (cold start) only for
# the models of its own operation.
_DEFERRED = ConfigDict(defer_build=True)


class _Body(VitecModel):
    """A Vitec request body (VitecModel: camelCase names in any case, unknown keys passed on)."""

    model_config = _DEFERRED


class _Answer(VitecResponseModel):
    """A Vitec answer: every field kept, none refused."""

    model_config = _DEFERRED


# ---- enums: the documented names; anything else is passed through -----------------------------------

LeadType = Annotated[EnumValue, VendorEnum("AcceptObjectFlow")]  # vitec-person-lead.txt:1 (leadType)
EstateType = Annotated[EnumValue, VendorEnum("House")]  # vitec-interest-on-area.txt:1 (estateType)
ObtainThrough = Annotated[EnumValue, VendorEnum("Interest")]  # vitec-interest-on-area.txt:1 (obtainThrough)
MatchingWatched = Annotated[EnumValue, VendorEnum("Yes")]  # vitec-interest-on-area.txt:1 (watched)
CONTACT_TYPES = ("Person", "Company", "DeceasedEstate")  # vitec-crm-contacts.txt:2 (Type)

# ---- shared request parts ------------------------------------------------------------------------


class Email(_Body):
    email_address: Text = None
    email_address2: Text = None


class Address(_Body):
    """Address with country (`updatePerson.address`, vitec-interest-on-area.txt:1)."""

    street_address: Text = None
    zip_code: Text = None
    city: Text = None
    country_code: Text = None


class PersonLeadAddress(_Body):
    """Address of a person lead: the lead's sample has no countryCode (vitec-person-lead.txt:1)."""

    street_address: Text = None
    zip_code: Text = None
    city: Text = None


class Telephone(_Body):
    home: Phone = None
    work: Phone = None
    cell: Phone = None
    other: Phone = None


class Coordinate(_Body):
    """A point; the vendor spells the axes `longitud` and `latitud`."""

    longitud: Float = None
    latitud: Float = None


class MinMax(_Body):
    """A wanted range (livingSpace, numberOfRooms, price, plotArea)."""

    min: Float = None
    max: Float = None


# ---- POST PublicAdvertising/{customerId}/Contact/Person/Lead ---------------------------------------


class Person(_Body):
    """Kontaktperson som leadet avser."""

    first_name: Text = None
    last_name: Text = None
    social_security_number: Text = None
    is_foreign_social_security_number: Bool = None
    address: PersonLeadAddress | None = None
    email: Email | None = None
    telephone: Telephone | None = None


class Office(_Body):
    id: Text = None
    customer_id: Text = None


class UserGroup(_Body):
    id: Text = None


class Agent(_Body):
    """Handläggare."""

    id: Text = None
    email: Text = None
    office: Office | None = None


def _names_someone(part: _Body | None) -> bool:
    """A receiver part "specifies" someone when it carries any value at all."""
    return part is not None and bool(part.model_dump(exclude_none=True))


class Receiver(_Body):
    """Mottagare: an agent, a user group or an office."""

    agent: Agent | None = None
    user_group: UserGroup | None = None
    office: Office | None = None

    # vitec-person-lead.txt:26 "Om en mottagare anges måste antingen handläggare, användargrupp eller
    # kontor specificeras"
    @model_validator(mode="after")
    def _someone(self) -> Receiver:
        if not any(_names_someone(part) for part in (self.agent, self.user_group, self.office)):
            raise PydanticCustomError("missing_receiver", "give at least one of agent, userGroup or office")
        return self


class LeadSource(_Body):
    """Leadskälla: workflow and name identify it (Vitec adds the marketplace name itself)."""

    lead_type: LeadType = None
    name: Text = None


class UtmTag(_Body):
    name: Text = None
    value: Text = None


class FormMarketing(_Body):
    referrer: Text = None
    utm_tags: list[UtmTag] | None = None


class PublicAdvertisingPersonLead(_Body):
    """Body of the person lead call; Vitec answers with the new lead's id (a JSON string)."""

    person: Person  # vitec-person-lead.txt:24 "En kontaktperson måste anges"
    receiver: Receiver | None = None
    lead_source: LeadSource  # vitec-person-lead.txt:28 "En leadskälla måste anges"
    marketing: FormMarketing | None = None
    message: Text = None


class PersonLeadRequest(OperationRequest, PublicAdvertisingPersonLead):
    """Inbound person lead: the vendor body plus the `customerId` path parameter."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ("customerId",)
    FREE_TEXT_FIELD: ClassVar[str | None] = "message"

    customer_id: PathId  # vitec-person-lead.txt:20 customerId "Krävs"


# The person lead's answer: the id of the lead that was created.
lead_id_adapter: TypeAdapter[str] = TypeAdapter(
    Annotated[Annotated[str, Field(min_length=1)], BeforeValidator(number_to_str)], config=_DEFERRED
)

# ---- POST Interest/SendInterestAndContactOnArea --------------------------------------------------


class PersonTask(_Body):
    predefined_task_id: Text = None
    note: Text = None
    estate_id: Text = None
    assigned_to: Text = None


class CustomField(_Body):
    name: Text = None
    value: Text = None


class UpdatePerson(_Body):
    """The person behind an area interest (fields and types: vitec-interest-on-area.txt:1)."""

    first_name: Text = None
    last_name: Text = None
    social_security_number: Text = None
    is_foreign_social_security_number: Bool = None
    tele_phone: Phone = None
    work_phone: Phone = None
    cell_phone: Phone = None
    approval: Bool = None
    approval_date: IsoDate = None
    gdpr_approval_date: IsoDate = None
    obtain_through: ObtainThrough = None
    contact_id: Text = None
    customer_id: Text = None
    category_ids: TextList = None
    address: Address | None = None
    email: Email | None = None
    user_id: Text = None
    other_phone: Phone = None
    wish_advertising: Bool = None
    note: Text = None
    coordinate: Coordinate | None = None
    task: PersonTask | None = None
    custom_field: CustomField | None = None
    lead_score: Int = None


class LookingForAccommodation(_Body):
    """Sökpreferens."""

    id: Text = None
    area_ids: TextList = None
    countys: TextList = None
    country_code: Text = None
    polygon: list[Coordinate] | None = None
    foreign_property: Bool = None
    house: Bool = None
    row_house: Bool = None
    housing_cooperative: Bool = None
    cottage: Bool = None
    premises: Bool = None
    plot: Bool = None
    farm: Bool = None
    tenancy: Bool = None
    other_housing: Bool = None
    living_space: MinMax | None = None
    number_of_rooms: MinMax | None = None
    price: MinMax | None = None
    plot_area: MinMax | None = None
    special_requset: Text = None
    increased_requirement_ids: TextList = Field(default=None, alias="increasedRequirementIDs")
    active: Bool = None


class PresentAccommodation(_Body):
    """Nuvarande boende."""

    estate_type: EstateType = None
    living_space: Float = None
    number_of_rooms: Float = None
    price: Float = None
    other: Text = None
    coordinate: Coordinate | None = None


class InterestAndContactOnArea(_Body):
    """Body of the area interest call (Vitec answers with no content)."""

    update_person: UpdatePerson  # vitec-interest-on-area.txt:16 "Uppgift om personen krävs"
    # vitec-interest-on-area.txt:18 "Minst en sökpreferens måste anges"
    looking_for_accommodations: list[LookingForAccommodation] = Field(min_length=1)
    present_accommodation: PresentAccommodation | None = None
    notify_user: Bool = None
    watched: MatchingWatched = None


class AreaInterestRequest(OperationRequest, InterestAndContactOnArea):
    """Inbound area interest. The call has no path parameter: the customer whose credentials are used is
    `updatePerson.customerId`, or `customerId` (a routing field, from the body or the query string, sent
    nowhere) when the body does not name one, as in the doc's own curl sample."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ()
    ROUTING_PARAMS: ClassVar[tuple[str, ...]] = ("customerId",)
    FREE_TEXT_FIELD: ClassVar[str | None] = "updatePerson.note"

    routing_customer_id: Annotated[Text, Field(alias="customerId")] = None

    # leadhooks, not a vendor rule: Vitec's credentials are per customer (DESIGN §7), so a customer is
    # needed to send anything at all, and two different ones would be a lead sent on another's login.
    @model_validator(mode="after")
    def _one_customer(self) -> AreaInterestRequest:
        named = {c for c in (self.update_person.customer_id, self.routing_customer_id) if c}
        if not named:
            raise field_error(
                type(self).__name__,
                ("updatePerson", "customerId"),
                "missing_customer",
                "give updatePerson.customerId or customerId (the Vitec customer whose credentials are used)",
            )
        if len(named) > 1:
            raise field_error(
                type(self).__name__,
                ("customerId",),
                "customer_mismatch",
                "customerId and updatePerson.customerId name different customers",
            )
        return self

    @property
    def customer_id(self) -> str:
        return self.update_person.customer_id or self.routing_customer_id or ""


# ---- POST Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant/{contactId} --------------------


class ViewingParticipantBookingOptions(_Body):
    is_deadline_validation_enabled: Bool = None
    enable_booking_limit_validation: Bool = None


class AddViewingParticipant(_Body):
    """Body of the viewing participant call (Vitec answers with no content).

    The JSON sample spells `smsReminder`, the table `SMSReminder` and the curl sample `sMSReminder`: all
    one field (names match in any case), sent on spelled as given.
    """

    participated: Bool = None
    reminder_time: Int = None
    sms_reminder: Bool = None
    mail_confirmation: Bool = None
    sms_confirmation: Bool = None
    contact_message: Text = None
    lead_source_id: Text = None
    options: ViewingParticipantBookingOptions | None = None


class ViewingParticipantRequest(OperationRequest, AddViewingParticipant):
    """Inbound viewing participant: the vendor body plus its four path parameters."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ("customerId", "viewingId", "timeSlotId", "contactId")
    FREE_TEXT_FIELD: ClassVar[str | None] = "contactMessage"

    # leadhooks, not a vendor rule: the docs do not mark customerId "Krävs"
    # (vitec-viewing-participant.txt:22), but it is a URL segment and names the credentials (DESIGN §7).
    customer_id: PathId
    viewing_id: PathId  # vitec-viewing-participant.txt:16 "Krävs"
    time_slot_id: PathId  # vitec-viewing-participant.txt:18 "Krävs"
    contact_id: PathId  # vitec-viewing-participant.txt:20 "Krävs"


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


# The read asks for stored contacts, whose ids and customer ids are at most 40 characters
# (vitec-crm-contacts.txt:59 Kontaktid, vitec-crm-contacts.txt:61 Kund-id).
ReadId = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)],
    BeforeValidator(number_to_str),
    AfterValidator(not_a_dot_segment),
]


class ContactsQuery(OperationRequest, _Body):
    """Inbound contacts query: up to 200 ids, asked for in chunks of at most 20 (the vendor limit)."""

    customer_id: ReadId  # vitec-crm-contacts.txt:36 customerId "Krävs"
    # vitec-crm-contacts.txt:38 contactIds "Krävs"; chunks of at most 20 per call (`chunks`); at most 200
    # per request is leadhooks' own bound (DESIGN §2), not the vendor's
    ids: Annotated[
        Annotated[list[ReadId], Field(min_length=1, max_length=MAX_CONTACT_IDS_PER_REQUEST)],
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


# ---- CRM contact answers (tolerant: every field kept, no length limits, unknown types kept) -----------


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

    home: str | None = None
    work: str | None = None
    cell: str | None = None
    other: str | None = None


class CompanyTelephoneNumbers(_Answer):
    """The docs do not list its fields: everything the vendor sends is kept."""


class Category(_Answer):
    id: str | None = None
    name: str | None = None
    read_only: bool | None = None


# Dates in an answer: kept as the vendor wrote them (a date-time with 7 fractional digits, as in the
# doc sample, would lose one in a `datetime`).
AnswerDate = Annotated[
    str | None, BeforeValidator(lambda v: v if v is None or isinstance(v, str) else str(v))
]
AnswerEnum = Annotated[str | int | None, BeforeValidator(lambda v: v)]


class CrmContactBase(_Answer):
    """Fields every CRM contact has.

    The documented lengths are Vitec's own constraints on what it stores; an answer that breaks one is
    still accepted (`over_documented_limits()` names the fields, e.g. for a log line).
    """

    DOC_LIMITS: ClassVar[dict[str, int]] = {
        "id": 40,  # vitec-crm-contacts.txt:13
        "customerId": 40,  # vitec-crm-contacts.txt:15
    }

    id: str
    type: str | int
    customer_id: str | None = None
    agent_id: str | None = None
    address: CrmContactAddress | None = None
    email: CrmEmail | None = None
    advertising_enabled: bool | None = None
    note: str | None = None
    categories: list[Category] | None = None
    created_at: AnswerDate = None
    changed_at: AnswerDate = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return number_to_str(value)

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
        "firstName": 30,  # vitec-crm-contacts.txt:45
        "lastName": 30,  # vitec-crm-contacts.txt:47
        "socialSecurityNumber": 20,  # vitec-crm-contacts.txt:49
    }

    first_name: str | None = None
    last_name: str | None = None
    social_security_number: str | None = None
    is_foreign_social_security_number: bool | None = None
    telephone: PersonTelephoneNumbers | None = None
    lead_score: int | None = None
    wants_to_be_matched: AnswerEnum = None
    matching_changed_at: AnswerDate = None
    is_deceased: bool | None = None
    is_company_person: bool | None = None
    gdpr_approval_date: AnswerDate = None


class CrmCompanyContact(CrmContactBase):
    DOC_LIMITS: ClassVar[dict[str, int]] = {
        **CrmContactBase.DOC_LIMITS,
        "name": 50,  # vitec-crm-contacts.txt:4
        "corporateNumber": 20,  # vitec-crm-contacts.txt:6
        "homePage": 60,  # vitec-crm-contacts.txt:9
    }

    name: str | None = None
    corporate_number: str | None = None
    is_foreign_corporate_number: bool | None = None
    home_page: str | None = None
    telephone: CompanyTelephoneNumbers | None = None
    lead_score: int | None = None


class CrmDeceasedEstateContact(CrmContactBase):
    DOC_LIMITS: ClassVar[dict[str, int]] = {
        **CrmContactBase.DOC_LIMITS,
        "name": 30,  # vitec-crm-contacts.txt:73
        "socialSecurityNumber": 20,  # vitec-crm-contacts.txt:75
    }

    name: str | None = None
    social_security_number: str | None = None
    is_foreign_id_social_security_number: bool | None = None
    telephone: PersonTelephoneNumbers | None = None


class CrmOtherContact(CrmContactBase):
    """A contact type the docs do not list: kept whole, so one new type never fails a whole read."""


_TYPE_NUMBERS = dict(enumerate(CONTACT_TYPES))  # numbers follow the order the docs list them in
_TYPE_NAMES = {name.casefold(): name for name in CONTACT_TYPES}


def _contact_kind(value: Any) -> str:
    """The contact class's tag: the documented type (by name in any case, or by number), else `Other`."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(kind, str) and kind.strip().isascii() and kind.strip().isdigit():
        kind = int(kind)
    if isinstance(kind, int) and not isinstance(kind, bool):
        return _TYPE_NUMBERS.get(kind, "Other")
    if isinstance(kind, str):
        return _TYPE_NAMES.get(kind.strip().casefold(), "Other")
    return "Other"


def _normalise_contact_types(value: Any) -> Any:
    """A documented type given in another case or as its number is written as the documented name."""
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        if isinstance(item, dict) and "type" in item and _contact_kind(item) != "Other":
            item = {**item, "type": _contact_kind(item)}
        out.append(item)
    return out


CrmContact = Annotated[
    Annotated[CrmPersonContact, Tag("Person")]
    | Annotated[CrmCompanyContact, Tag("Company")]
    | Annotated[CrmDeceasedEstateContact, Tag("DeceasedEstate")]
    | Annotated[CrmOtherContact, Tag("Other")],
    Discriminator(_contact_kind),
]

crm_contacts_adapter: TypeAdapter[list[CrmContact]] = TypeAdapter(
    Annotated[list[CrmContact], BeforeValidator(_normalise_contact_types)], config=_DEFERRED
)


def parse_crm_contacts(payload: Any) -> list[CrmContact]:
    """Vitec's `GET CRM/Contact/...` answer as typed contacts (raises pydantic.ValidationError)."""
    return crm_contacts_adapter.validate_python(payload)
