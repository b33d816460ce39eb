"""Vitec Express Connect as its (Swedish) API help pages describe it.

Auth is HTTP Basic per customer; a valid login used for another customer's data is 403.
Validation errors are ASP.NET's 400 `{"message", "modelState"}` with every failing field,
keyed by the JSON path of the request body and worded like the docs.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import re
from typing import Any
from urllib.parse import unquote

from local.sandbox.store import Store, Tx, dedup_keys, now_iso
from local.sandbox.validate import Errors, JsonObj, as_bool, as_int, dig, field, text_or_none
from local.sandbox.wire import (
    BodyError,
    RejectedError,
    Reply,
    Request,
    Route,
    json_reply,
    no_content,
    route,
)

VENDOR = "vitec"
MAX_CONTACT_IDS = 20

# Docs: /work/shared/vendor-docs (person lead = vitec-person-lead.txt, area interest =
# vitec-interest-on-area.txt, viewing = vitec-viewing-participant.txt, CRM = vitec-crm-contacts.txt).
# Messages quote the doc's own wording where it has one.
MSG_PERSON_REQUIRED = "En kontaktperson måste anges"  # vitec-person-lead.txt:24
MSG_LEAD_SOURCE_REQUIRED = "En leadskälla måste anges"  # vitec-person-lead.txt:28
# vitec-person-lead.txt:26
MSG_RECEIVER = "Om en mottagare anges måste antingen handläggare, användargrupp eller kontor specificeras"
MSG_UPDATE_PERSON_REQUIRED = "Uppgift om personen krävs"  # vitec-interest-on-area.txt:16
MSG_SEARCH_PREFERENCE_REQUIRED = "Minst en sökpreferens måste anges"  # vitec-interest-on-area.txt:18
MSG_CONTACT_IDS_REQUIRED = "Kontaktidn krävs"  # vitec-crm-contacts.txt:38-39
# vitec-crm-contacts.txt:25, :38
MSG_TOO_MANY_CONTACT_IDS = f"Max {MAX_CONTACT_IDS} kontaktidn kan hämtas åt gången"
MSG_BODY_OBJECT = "Ogiltigt värde, ett objekt förväntades"

# 401 and 403 are the documented statuses, e.g. vitec-person-lead.txt:46-50 (and the same lines
# in every Vitec doc): 401 "Authorization headern är inte korrekt", 403 "Begärt data som det
# saknas åtkomst till".
UNAUTHORIZED = json_reply(
    401,
    {"message": "Authorization has been denied for this request."},
    {"WWW-Authenticate": 'Basic realm="Express Connect"'},
)
FORBIDDEN = json_reply(403, {"message": "Begärt data som det saknas åtkomst till."})

_PHONE_FIELDS = ("home", "work", "cell", "other")
_EMAIL_FIELDS = ("emailAddress", "emailAddress2")
_ADDRESS_FIELDS = ("streetAddress", "zipCode", "city")
_RANGE_FIELDS = ("livingSpace", "numberOfRooms", "price", "plotArea")
_ESTATE_KINDS = (
    "foreignProperty", "house", "rowHouse", "housingCooperative", "cottage", "premises", "plot",
    "farm", "tenancy", "otherHousing", "active",
)  # fmt: skip
# updatePerson field → CRM contact field, for the update the area-interest call performs.
_UPDATE_PHONES = {"telePhone": "home", "workPhone": "work", "cellPhone": "cell", "otherPhone": "other"}


MSG_NOTIFY_USER_NEEDS_USER_ID = "UserId krävs för nya kontakter när NotifyUser anges"


def bad_request(errors: Errors | dict[str, list[str]]) -> Reply:
    """The documented 400 with the validation errors in the result (vitec-person-lead.txt:55-58)."""
    model_state = errors.by_field if isinstance(errors, Errors) else errors
    return json_reply(400, {"message": "The request is invalid.", "modelState": model_state})


def not_found(message: str) -> Reply:
    return json_reply(404, {"message": message})


# --- validation (pure) -----------------------------------------------------------------------
# Beyond the rules that cite a doc line, only binding is checked (validate.py): a value must be
# convertible to the type the doc's sample body shows for it. No lengths: the only lengths in the
# docs (vitec-crm-contacts.txt:4-81) describe the stored contact the CRM read returns, not what
# the write operations take.
def _check_address(errors: Errors, parent: JsonObj | None, path: str, country: bool) -> None:
    address = errors.obj(parent, "address", f"{path}.address")
    for name in (*_ADDRESS_FIELDS, "countryCode") if country else _ADDRESS_FIELDS:
        errors.text(address, name, f"{path}.address.{name}")


def _check_email(errors: Errors, parent: JsonObj | None, path: str) -> None:
    email = errors.obj(parent, "email", f"{path}.email")
    for name in _EMAIL_FIELDS:
        errors.text(email, name, f"{path}.email.{name}")


def _check_office(errors: Errors, office: JsonObj | None, path: str) -> None:
    errors.text(office, "id", f"{path}.id")
    errors.text(office, "customerId", f"{path}.customerId")


def validate_person_lead(body: JsonObj) -> Errors:
    """Types from the sample body, vitec-person-lead.txt:1."""
    errors = Errors()
    # vitec-person-lead.txt:23-24: Person, "En kontaktperson måste anges".
    person = errors.obj(body, "person", "person", required=MSG_PERSON_REQUIRED)
    if person is not None:
        for name in ("firstName", "lastName", "socialSecurityNumber"):
            errors.text(person, name, f"person.{name}")
        errors.boolean(person, "isForeignSocialSecurityNumber", "person.isForeignSocialSecurityNumber")
        _check_address(errors, person, "person", country=False)
        _check_email(errors, person, "person")
        telephone = errors.obj(person, "telephone", "person.telephone")
        for name in _PHONE_FIELDS:
            errors.text(telephone, name, f"person.telephone.{name}")

    receiver = errors.obj(body, "receiver", "receiver")
    if receiver is not None:
        agent = errors.obj(receiver, "agent", "receiver.agent")
        user_group = errors.obj(receiver, "userGroup", "receiver.userGroup")
        office = errors.obj(receiver, "office", "receiver.office")
        errors.text(agent, "id", "receiver.agent.id")
        errors.text(agent, "email", "receiver.agent.email")
        _check_office(errors, errors.obj(agent, "office", "receiver.agent.office"), "receiver.agent.office")
        errors.text(user_group, "id", "receiver.userGroup.id")
        _check_office(errors, office, "receiver.office")
        # vitec-person-lead.txt:25-26: a receiver, if given, must specify an agent, a user group
        # or an office. "Specified" is read as given (not null); what it holds is the vendor's.
        if not any(field(receiver, name) is not None for name in ("agent", "userGroup", "office")):
            errors.add("receiver", MSG_RECEIVER)

    # vitec-person-lead.txt:27-28: LeadSource, "En leadskälla måste anges". Its leadType and name
    # have no rule of their own: the doc creates a lead source when none matches.
    lead_source = errors.obj(body, "leadSource", "leadSource", required=MSG_LEAD_SOURCE_REQUIRED)
    errors.enum(lead_source, "leadType", "leadSource.leadType")
    errors.text(lead_source, "name", "leadSource.name")

    marketing = errors.obj(body, "marketing", "marketing")
    errors.text(marketing, "referrer", "marketing.referrer")
    for index, tag in enumerate(errors.array(marketing, "utmTags", "marketing.utmTags") or []):
        path = f"marketing.utmTags[{index}]"
        if not isinstance(tag, dict):
            errors.add(path, MSG_BODY_OBJECT)
            continue
        errors.text(tag, "name", f"{path}.name")
        errors.text(tag, "value", f"{path}.value")
    errors.text(body, "message", "message")
    return errors


def validate_area_interest(body: JsonObj) -> Errors:
    """Types from the sample body, vitec-interest-on-area.txt:1.

    Not a rule: updatePerson.customerId (the doc's curl sample, line 24, has none). NotifyUser
    without UserId is checked in `area_interest`: it needs the duplicate check (only new contacts).
    """
    errors = Errors()
    # vitec-interest-on-area.txt:15-16: UpdatePerson, "Uppgift om personen krävs".
    update = errors.obj(body, "updatePerson", "updatePerson", required=MSG_UPDATE_PERSON_REQUIRED)
    if update is not None:
        p = "updatePerson"
        for name in (
            "customerId", "firstName", "lastName", "socialSecurityNumber", "contactId", "userId",
            *_UPDATE_PHONES, "note",
        ):  # fmt: skip
            errors.text(update, name, f"{p}.{name}")
        errors.text_list(update, "categoryIds", f"{p}.categoryIds")
        for name in ("isForeignSocialSecurityNumber", "approval", "wishAdvertising"):
            errors.boolean(update, name, f"{p}.{name}")
        for name in ("approvalDate", "gdprApprovalDate"):
            errors.date(update, name, f"{p}.{name}")
        errors.enum(update, "obtainThrough", f"{p}.obtainThrough")
        errors.integer(update, "leadScore", f"{p}.leadScore")
        _check_address(errors, update, p, country=True)
        _check_email(errors, update, p)
        errors.coordinate(update, "coordinate", f"{p}.coordinate")
        task = errors.obj(update, "task", f"{p}.task")
        for name in ("predefinedTaskId", "note", "estateId", "assignedTo"):
            errors.text(task, name, f"{p}.task.{name}")
        custom_field = errors.obj(update, "customField", f"{p}.customField")
        errors.text(custom_field, "name", f"{p}.customField.name")
        errors.text(custom_field, "value", f"{p}.customField.value")

    # vitec-interest-on-area.txt:17-18: "Minst en sökpreferens måste anges" (so [] is refused too).
    wanted = errors.array(
        body, "lookingForAccommodations", "lookingForAccommodations", required=MSG_SEARCH_PREFERENCE_REQUIRED
    )
    for index, item in enumerate(wanted or []):
        path = f"lookingForAccommodations[{index}]"
        if not isinstance(item, dict):
            errors.add(path, MSG_BODY_OBJECT)
            continue
        for name in ("id", "countryCode", "specialRequset"):
            errors.text(item, name, f"{path}.{name}")
        for name in ("areaIds", "countys", "increasedRequirementIDs"):
            errors.text_list(item, name, f"{path}.{name}")
        for name in _ESTATE_KINDS:
            errors.boolean(item, name, f"{path}.{name}")
        for name in _RANGE_FIELDS:
            limits = errors.obj(item, name, f"{path}.{name}")
            errors.number(limits, "min", f"{path}.{name}.min")
            errors.number(limits, "max", f"{path}.{name}.max")
        for point_index, point in enumerate(errors.array(item, "polygon", f"{path}.polygon") or []):
            point_path = f"{path}.polygon[{point_index}]"
            if isinstance(point, dict):
                errors.coordinate_value(point, point_path)
            else:
                errors.add(point_path, MSG_BODY_OBJECT)

    present = errors.obj(body, "presentAccommodation", "presentAccommodation")
    errors.enum(present, "estateType", "presentAccommodation.estateType")
    for name in ("livingSpace", "numberOfRooms", "price"):
        errors.number(present, name, f"presentAccommodation.{name}")
    errors.text(present, "other", "presentAccommodation.other")
    errors.coordinate(present, "coordinate", "presentAccommodation.coordinate")
    errors.boolean(body, "notifyUser", "notifyUser")  # vitec-interest-on-area.txt:20: boolean
    errors.enum(body, "watched", "watched")  # vitec-interest-on-area.txt:21: MatchingWatched
    return errors


def validate_viewing_participant(body: JsonObj) -> Errors:
    """Types from vitec-viewing-participant.txt:24-31; no field of the body is required."""
    errors = Errors()
    for name in ("participated", "smsReminder", "mailConfirmation", "smsConfirmation"):
        errors.boolean(body, name, name)  # :24, :26-28 boolean
    errors.integer(body, "reminderTime", "reminderTime")  # :25 integer
    errors.text(body, "contactMessage", "contactMessage")  # :29 string
    errors.text(body, "leadSourceId", "leadSourceId")  # :30 string
    options = errors.obj(body, "options", "options")  # :31, booleans in the sample, :1
    for name in ("isDeadlineValidationEnabled", "enableBookingLimitValidation"):
        errors.boolean(options, name, f"options.{name}")
    return errors


# --- contact building ------------------------------------------------------------------------
def _blank_person() -> JsonObj:
    return {
        "type": "Person",
        "agentId": None,
        "firstName": None,
        "lastName": None,
        "socialSecurityNumber": None,
        "isForeignSocialSecurityNumber": False,
        "address": {"streetAddress": None, "zipCode": None, "city": None, "countryCode": None},
        "telephone": dict.fromkeys(_PHONE_FIELDS),
        "email": dict.fromkeys(_EMAIL_FIELDS),
        "leadScore": 0,
        "wantsToBeMatched": "No",
        "matchingChangedAt": None,
        "isDeceased": False,
        "isCompanyPerson": False,
        "gdprApprovalDate": None,
        "advertisingEnabled": False,
        "note": None,
        "categories": [],
    }


def _person_from_lead(body: JsonObj) -> JsonObj:
    person = field(body, "person")
    contact = _blank_person()
    contact["agentId"] = text_or_none(dig(body, "receiver", "agent", "id"))
    for name in ("firstName", "lastName", "socialSecurityNumber"):
        contact[name] = text_or_none(field(person, name))
    contact["isForeignSocialSecurityNumber"] = as_bool(field(person, "isForeignSocialSecurityNumber")) is True
    for name in _ADDRESS_FIELDS:
        contact["address"][name] = text_or_none(dig(person, "address", name))
    for name in _PHONE_FIELDS:
        contact["telephone"][name] = text_or_none(dig(person, "telephone", name))
    for name in _EMAIL_FIELDS:
        contact["email"][name] = text_or_none(dig(person, "email", name))
    return contact


def _apply_update_person(contact: JsonObj, body: JsonObj) -> JsonObj:
    """UpdatePerson overwrites what it gives and leaves the rest of the contact alone."""
    update = field(body, "updatePerson")
    merged = copy.deepcopy(contact)

    def put(target: JsonObj, key: str, value: Any) -> None:
        if value is not None:
            target[key] = value

    for name in ("firstName", "lastName", "socialSecurityNumber", "note", "gdprApprovalDate"):
        put(merged, name, text_or_none(field(update, name)))
    put(merged, "agentId", text_or_none(field(update, "userId")))
    for source, target in (
        ("isForeignSocialSecurityNumber", "isForeignSocialSecurityNumber"),
        ("wishAdvertising", "advertisingEnabled"),
    ):
        put(merged, target, as_bool(field(update, source)))
    put(merged, "leadScore", as_int(field(update, "leadScore")))
    for source, target in _UPDATE_PHONES.items():
        put(merged.setdefault("telephone", {}), target, text_or_none(field(update, source)))
    for name in _EMAIL_FIELDS:
        put(merged.setdefault("email", {}), name, text_or_none(dig(update, "email", name)))
    for name in (*_ADDRESS_FIELDS, "countryCode"):
        put(merged.setdefault("address", {}), name, text_or_none(dig(update, "address", name)))
    watched = field(body, "watched")  # a member name or number, kept as given
    if watched is not None and watched != "":
        merged["wantsToBeMatched"] = watched
        merged["matchingChangedAt"] = now_iso()
    return merged


# --- the API ---------------------------------------------------------------------------------
class VitecApi:
    def __init__(self, store: Store, customers: dict[str, JsonObj]) -> None:
        self._store = store
        self._logins = {
            customer_id: (str(customer["username"]).encode(), str(customer["password"]).encode())
            for customer_id, customer in customers.items()
        }
        self._customer_in_path = [
            re.compile(pattern, re.IGNORECASE)
            for pattern in (
                r"^/PublicAdvertising/([^/]+)/",
                r"^/Viewing/([^/]+)/",
                r"^/CRM/Contact/([^/]+)/",
            )
        ]
        self._interest_path = re.compile(r"^/Interest/SendInterestAndContactOnArea/?$", re.IGNORECASE)

    def routes(self) -> list[Route]:
        segment = r"([^/]+)"
        return [
            route("POST", rf"^/PublicAdvertising/{segment}/Contact/Person/Lead/?$", self.person_lead),
            route("POST", r"^/Interest/SendInterestAndContactOnArea/?$", self.area_interest),
            route(
                "POST",
                rf"^/Viewing/{segment}/{segment}/{segment}/Participant/{segment}/?$",
                self.viewing_participant,
            ),
            route("GET", rf"^/CRM/Contact/{segment}/{segment}/?$", self.contacts),
        ]

    def _customer(self, request: Request, path_customer_id: str | None = None) -> str:
        """The customer the Basic login belongs to: 401 if none, 403 if the path names another."""
        customer_id = self._login(request.header("authorization"))
        if customer_id is None:
            raise RejectedError(UNAUTHORIZED)
        if path_customer_id is not None and path_customer_id != customer_id:
            raise RejectedError(FORBIDDEN)
        return customer_id

    def login_customer(self, request: Request) -> str | None:
        return self._login(request.header("authorization"))

    def _login(self, header: str | None) -> str | None:
        scheme, _, encoded = (header or "").strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, separator, password = decoded.partition(":")
        if not separator:
            return None
        matched = None
        for customer_id, (known_user, known_password) in self._logins.items():
            user_ok = hmac.compare_digest(known_user, username.encode())
            password_ok = hmac.compare_digest(known_password, password.encode())
            if user_ok and password_ok:
                matched = customer_id
        return matched

    @staticmethod
    def _body(request: Request) -> JsonObj:
        try:
            body = request.json_body()
        except BodyError as exc:
            if exc.unsupported_media:
                raise RejectedError(json_reply(415, {"message": str(exc)})) from None
            raise RejectedError(bad_request({"body": [str(exc)]})) from None
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise RejectedError(bad_request({"body": [MSG_BODY_OBJECT]}))
        return body

    def customer_of(self, request: Request) -> str | None:
        """The Vitec customer a request is for, before it is processed (stats, rate limit).

        The path's customerId; for the area interest the body's updatePerson.customerId, else the
        customer of the Basic login; None if it is not a Vitec request at all.
        """
        for pattern in self._customer_in_path:
            match = pattern.match(request.path)
            if match is not None:
                return unquote(match.group(1))
        if self._interest_path.match(request.path) is None:
            return None
        try:
            body = request.json_body()
        except BodyError:
            body = None
        claimed = text_or_none(dig(body, "updatePerson", "customerId"))
        return claimed or self._login(request.header("authorization"))

    def person_lead(self, request: Request, params: tuple[str, ...]) -> Reply:
        # vitec-person-lead.txt:20-21: customerId in the path (Krävs); 401/403 per :46-50.
        customer_id = self._customer(request, params[0])
        body = self._body(request)
        errors = validate_person_lead(body)
        if errors:
            return bad_request(errors)
        person = field(body, "person")
        keys = dedup_keys(
            [dig(person, "email", name) for name in _EMAIL_FIELDS],
            dig(person, "telephone", "cell"),
            field(person, "socialSecurityNumber"),
        )
        with self._store.tx() as tx:
            # vitec-person-lead.txt:4: dubblettkontroll before a new person is added; an existing
            # person is used as is. :5: the answer is the id of the lead, which is always new.
            contact_id = tx.find_person(customer_id, keys) or tx.create_contact(
                customer_id, _person_from_lead(body)
            )
            lead_id = tx.add_lead(customer_id, contact_id, body)
            tx.add_record(VENDOR, "person_lead", customer_id, body, request.path, lead_id, contact_id)
        return json_reply(200, lead_id)

    def area_interest(self, request: Request, params: tuple[str, ...]) -> Reply:
        customer_id = self._customer(request)
        body = self._body(request)
        update = field(body, "updatePerson")
        # The customer is the login's; naming another one is the documented 403
        # (vitec-interest-on-area.txt:40-41). Without updatePerson.customerId (the curl sample at
        # :24 has none) the login's customer is used.
        claimed = text_or_none(field(update, "customerId"))
        if claimed is not None and claimed != customer_id:
            return FORBIDDEN
        errors = validate_area_interest(body)
        if errors:
            return bad_request(errors)
        with self._store.tx() as tx:
            contact = self._interest_contact(tx, customer_id, body)
            if (
                contact is None
                and as_bool(field(body, "notifyUser"))
                and not text_or_none(field(update, "userId"))
            ):
                # vitec-interest-on-area.txt:20: NotifyUser "kräver UserId för nya kontakter"; the
                # duplicate check (:4) found nobody, so this is a new contact.
                return bad_request({"updatePerson.userId": [MSG_NOTIFY_USER_NEEDS_USER_ID]})
            if contact is None:
                contact_id = tx.create_contact(customer_id, _apply_update_person(_blank_person(), body))
            else:
                contact_id = str(contact["id"])
                tx.update_contact(customer_id, _apply_update_person(contact, body))
            tx.add_record(VENDOR, "area_interest", customer_id, body, request.path, None, contact_id)
        return no_content()

    @staticmethod
    def _interest_contact(tx: Tx, customer_id: str, body: JsonObj) -> JsonObj | None:
        """The person to update: the one named by contactId, else the duplicate check's match
        (vitec-interest-on-area.txt:4), else None for a new person. A contactId that names no
        person of this customer is not a documented error: the duplicate check decides instead."""
        update = field(body, "updatePerson")
        contact_id = text_or_none(field(update, "contactId"))
        if contact_id is not None:
            contact = tx.get_contact(customer_id, contact_id)
            if contact is not None and contact.get("type") == "Person":
                return contact
        keys = dedup_keys(
            [dig(update, "email", name) for name in _EMAIL_FIELDS],
            field(update, "cellPhone"),
            field(update, "socialSecurityNumber"),
        )
        found = tx.find_person(customer_id, keys)
        return None if found is None else tx.get_contact(customer_id, found)

    def viewing_participant(self, request: Request, params: tuple[str, ...]) -> Reply:
        # vitec-viewing-participant.txt:16-22: viewingId, timeSlotId, contactId (Krävs), customerId.
        path_customer_id, viewing_id, time_slot_id, contact_id = params
        customer_id = self._customer(request, path_customer_id)
        body = self._body(request)
        errors = validate_viewing_participant(body)
        if errors:
            return bad_request(errors)
        with self._store.tx() as tx:
            # vitec-viewing-participant.txt:4: adds an *existing* participant to a viewing, so the
            # viewing, its time slot and the contact must exist (404 otherwise).
            time_slots = tx.time_slot_ids(customer_id, viewing_id)
            if not time_slots:
                raise RejectedError(not_found(f"Visningen '{viewing_id}' hittades inte."))
            if time_slot_id not in time_slots:
                raise RejectedError(
                    not_found(f"Visningstillfället '{time_slot_id}' hittades inte på visningen.")
                )
            if tx.get_contact(customer_id, contact_id) is None:
                raise RejectedError(not_found(f"Kontakten '{contact_id}' hittades inte."))
            # No duplicate check here: every accepted call adds a participant, as the vendor does.
            tx.add_participant(customer_id, viewing_id, time_slot_id, contact_id, body)
            tx.add_record(VENDOR, "viewing_participant", customer_id, body, request.path, None, contact_id)
        return no_content()

    def contacts(self, request: Request, params: tuple[str, ...]) -> Reply:
        customer_id = self._customer(request, params[0])  # vitec-crm-contacts.txt:36-37
        asked = [part.strip() for part in params[1].split(",") if part.strip()]
        errors = Errors()
        if not asked:  # vitec-crm-contacts.txt:38-39: contactIds, Krävs
            errors.add("contactIds", MSG_CONTACT_IDS_REQUIRED)
        if len(asked) > MAX_CONTACT_IDS:  # vitec-crm-contacts.txt:25, :38: max 20 at a time
            errors.add("contactIds", MSG_TOO_MANY_CONTACT_IDS)
        if errors:
            return bad_request(errors)
        with self._store.tx() as tx:
            found = tx.get_contacts(customer_id, list(dict.fromkeys(asked)))
        return json_reply(200, found)
