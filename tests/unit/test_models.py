"""The vendor models: every documented limit and required field, enums, aliases, vendor bodies."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from leadhooks.models.api import (
    ContactsResponse,
    DeliveryResponse,
    ErrorBody,
    FieldError,
    field_errors_from_validation,
)
from leadhooks.vendors import model_base as common
from leadhooks.vendors.omnicasa.models import (
    ContactOnMeRequest,
    MediaLinkContactOnMeParameters,
    ReturnResultOfInt32,
)
from leadhooks.vendors.vitec import models as vitec
from leadhooks.vendors.vitec.models import (
    AddViewingParticipant,
    AreaInterestRequest,
    ContactsQuery,
    CrmCompanyContact,
    CrmDeceasedEstateContact,
    CrmPersonContact,
    EstateType,
    InterestAndContactOnArea,
    LeadType,
    MatchingWatched,
    ObtainThrough,
    PersonLeadRequest,
    PublicAdvertisingPersonLead,
    ViewingParticipantRequest,
    lead_id_adapter,
    parse_crm_contacts,
)
from pydantic import ValidationError

BODIES = Path(__file__).resolve().parents[1] / "fixtures" / "bodies"


def load(name: str) -> Any:
    return json.loads((BODIES / name).read_text(encoding="utf-8"))


def errors_of(model: Any, data: Any) -> dict[str, str]:
    """Validate and return {dotted alias path: reason} of every error."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return {e.field: e.reason for e in field_errors_from_validation(info.value)}


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def del_path(data: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[parts[-1]]
    return out


PERSON_LEAD = load("vitec_person_lead.json")
AREA = load("vitec_area_interest.json")
VIEWING = load("vitec_viewing_participant.json")
OMNICASA = load("omnicasa_contact_on_me.json")


# ---- native fixtures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fixture"),
    [
        (PersonLeadRequest, "vitec_person_lead.json"),
        (AreaInterestRequest, "vitec_area_interest.json"),
        (ViewingParticipantRequest, "vitec_viewing_participant.json"),
        (ContactOnMeRequest, "omnicasa_contact_on_me.json"),
    ],
)
def test_native_fixture_validates_and_round_trips(model: Any, fixture: str) -> None:
    data = load(fixture)
    req = model.model_validate(data)
    body = req.vendor_body()
    expected = {k: v for k, v in data.items() if k not in model.PATH_PARAMS}
    # Numbers given as ints come back as floats where the vendor type is a float; compare as JSON numbers.
    assert json.loads(json.dumps(body)) == json.loads(json.dumps(expected))
    assert model.model_validate({**body, **req.path_params()}) == req


def test_customer_id_of_every_operation() -> None:
    assert PersonLeadRequest.model_validate(PERSON_LEAD).customer_id == "M10001"
    assert AreaInterestRequest.model_validate(AREA).customer_id == "M10001"
    assert ViewingParticipantRequest.model_validate(VIEWING).customer_id == "M10001"
    assert ContactOnMeRequest.model_validate(OMNICASA).customer_id == "101"
    query = ContactsQuery.model_validate({"customerId": "M10001", "ids": "c-m10001-001"})
    assert query.customer_id == "M10001"


def test_operation_metadata() -> None:
    assert PersonLeadRequest.PATH_PARAMS == ("customerId",)
    assert PersonLeadRequest.FREE_TEXT_FIELD == "message"
    assert AreaInterestRequest.PATH_PARAMS == ()
    assert AreaInterestRequest.FREE_TEXT_FIELD == "updatePerson.note"
    assert ViewingParticipantRequest.PATH_PARAMS == ("customerId", "viewingId", "timeSlotId", "contactId")
    assert ViewingParticipantRequest.FREE_TEXT_FIELD == "contactMessage"
    assert ContactOnMeRequest.PATH_PARAMS == ()
    assert ContactOnMeRequest.FREE_TEXT_FIELD == "Content"
    for model in (PersonLeadRequest, AreaInterestRequest, ViewingParticipantRequest, ContactOnMeRequest):
        assert issubclass(model, common.OperationRequest)
    assert issubclass(ContactOnMeRequest, common.OmnicasaModel)
    assert issubclass(PersonLeadRequest, common.VitecModel)


# ---- vendor_body / path_params -----------------------------------------------------------------


def test_person_lead_vendor_body_excludes_path_params_and_none() -> None:
    req = PersonLeadRequest.model_validate(
        {
            "customerId": "M10001",
            "person": {"firstName": "Anna", "lastName": ""},
            "leadSource": {"leadType": 0, "name": "Webb"},
            "message": "  ",
        }
    )
    assert req.path_params() == {"customerId": "M10001"}
    assert req.vendor_body() == {
        "person": {"firstName": "Anna"},
        "leadSource": {"leadType": "AcceptObjectFlow", "name": "Webb"},
    }


def test_viewing_vendor_body_and_path_params() -> None:
    req = ViewingParticipantRequest.model_validate(VIEWING)
    assert req.path_params() == {
        "customerId": "M10001",
        "viewingId": "v-m10001-1",
        "timeSlotId": "t-m10001-1a",
        "contactId": "c-m10001-001",
    }
    body = req.vendor_body()
    assert not set(body) & {"customerId", "viewingId", "timeSlotId", "contactId"}
    assert body["smsReminder"] is True and body["smsConfirmation"] is True
    assert body["options"] == {"isDeadlineValidationEnabled": True, "enableBookingLimitValidation": True}


def test_area_interest_keeps_customer_id_in_body() -> None:
    body = AreaInterestRequest.model_validate(AREA).vendor_body()
    assert body["updatePerson"]["customerId"] == "M10001"
    assert body["lookingForAccommodations"][0]["specialRequset"] == "Garage eller carport önskas."
    assert body["lookingForAccommodations"][0]["polygon"][0] == {"longitud": 11.9, "latitud": 57.74}


def test_omnicasa_vendor_names() -> None:
    req = ContactOnMeRequest.model_validate({"CustomerId": "101", "GSM": "+32475123456", "IsWriteLogSQL": 0})
    assert req.vendor_body() == {
        "CustomerId": 101,
        "GSM": "+32475123456",
        "IsWriteLogSQL": False,
        "LanguageId": 1,
    }
    assert req.path_params() == {}


def test_vendor_spellings_are_kept() -> None:
    fields = {f.alias for f in vitec.LookingForAccommodation.model_fields.values()}
    assert {"countys", "specialRequset", "increasedRequirementIDs", "areaIds", "plotArea"} <= fields
    assert vitec.UpdatePerson.model_fields["tele_phone"].alias == "telePhone"
    assert {f.alias for f in vitec.Coordinate.model_fields.values()} == {"longitud", "latitud"}
    om = {f.alias for f in MediaLinkContactOnMeParameters.model_fields.values()}
    assert {"GSM", "IsWriteLogSQL", "CategorieIds", "CustomerId", "LanguageIdFromParameter"} <= om
    assert "Gsm" not in om and "IsWriteLogSql" not in om


def test_increased_requirement_ids_alias() -> None:
    loo = vitec.LookingForAccommodation.model_validate({"increasedRequirementIDs": ["a", " ", "b"]})
    assert loo.increased_requirement_ids == ["a", "b"]
    assert loo.model_dump(by_alias=True, exclude_none=True) == {"increasedRequirementIDs": ["a", "b"]}


# ---- two spellings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["smsReminder", "sMSReminder"])
def test_sms_reminder_both_spellings(key: str) -> None:
    req = ViewingParticipantRequest.model_validate({**del_path(VIEWING, "smsReminder"), key: True})
    assert req.sms_reminder is True
    assert req.vendor_body()["smsReminder"] is True
    assert "sMSReminder" not in req.vendor_body()


def test_both_spellings_at_once_is_an_error() -> None:
    errors = errors_of(ViewingParticipantRequest, {**VIEWING, "sMSReminder": False})
    assert errors == {"sMSReminder": "Extra inputs are not permitted"}


def test_sms_confirmation_both_spellings() -> None:
    body = AddViewingParticipant.model_validate({"sMSConfirmation": "true"}).model_dump(exclude_none=True)
    assert body == {"smsConfirmation": True}


@pytest.mark.parametrize("key", ["gdprApprovalDate", "gDPRApprovalDate"])
def test_gdpr_approval_date_both_spellings(key: str) -> None:
    data = set_path(del_path(AREA, "updatePerson.gdprApprovalDate"), f"updatePerson.{key}", "2025-03-14")
    body = AreaInterestRequest.model_validate(data).vendor_body()
    assert body["updatePerson"]["gdprApprovalDate"] == "2025-03-14T00:00:00"
    assert "gDPRApprovalDate" not in body["updatePerson"]


# ---- limits and required fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("customerId", 40),
        ("person.firstName", 30),
        ("person.lastName", 30),
        ("person.socialSecurityNumber", 20),
        ("receiver.agent.id", 40),
        ("receiver.agent.office.id", 40),
        ("receiver.agent.office.customerId", 40),
        ("receiver.userGroup.id", 40),
        ("receiver.office.id", 40),
        ("receiver.office.customerId", 40),
    ],
)
def test_person_lead_lengths(path: str, limit: int) -> None:
    data = set_path(
        {
            **PERSON_LEAD,
            "receiver": {
                "agent": {"id": "a1", "office": {"id": "o1"}},
                "userGroup": {"id": "g1"},
                "office": {"id": "o1"},
            },
        },
        path,
        "x" * limit,
    )
    PersonLeadRequest.model_validate(data)
    errors = errors_of(PersonLeadRequest, set_path(data, path, "x" * (limit + 1)))
    assert errors == {path: f"String should have at most {limit} characters"}


def test_lengths_count_after_stripping() -> None:
    PersonLeadRequest.model_validate(set_path(PERSON_LEAD, "person.firstName", "  " + "x" * 30 + "  "))


@pytest.mark.parametrize(
    "path", ["person", "leadSource", "customerId", "leadSource.name", "leadSource.leadType"]
)
def test_person_lead_required(path: str) -> None:
    assert errors_of(PersonLeadRequest, del_path(PERSON_LEAD, path)) == {path: "Field required"}


def test_person_lead_blank_required_string() -> None:
    errors = errors_of(PersonLeadRequest, set_path(PERSON_LEAD, "customerId", "   "))
    assert errors == {"customerId": "String should have at least 1 character"}


def test_receiver_needs_someone() -> None:
    errors = errors_of(PersonLeadRequest, {**PERSON_LEAD, "receiver": {}})
    assert errors == {"receiver": "give at least one of agent, userGroup or office"}
    for receiver in (
        {"agent": {"id": "a"}},
        {"userGroup": {"id": "g"}},
        {"office": {"id": "o"}},
        {"agent": {"email": "maklare@example.se"}},
    ):
        PersonLeadRequest.model_validate({**PERSON_LEAD, "receiver": receiver})


def test_receiver_parts_need_ids() -> None:
    assert errors_of(PersonLeadRequest, {**PERSON_LEAD, "receiver": {"agent": {"id": ""}}}) == {
        "receiver.agent": "give the agent's id or email"
    }
    assert errors_of(PersonLeadRequest, {**PERSON_LEAD, "receiver": {"office": {"customerId": "M1"}}}) == {
        "receiver.office.id": "Field required"
    }


def test_unknown_fields_are_rejected_by_alias_path() -> None:
    errors = errors_of(PersonLeadRequest, set_path(PERSON_LEAD, "person.middleName", "Maria"))
    assert errors == {"person.middleName": "Extra inputs are not permitted"}


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("updatePerson.customerId", 40),
        ("updatePerson.contactId", 40),
        ("updatePerson.userId", 40),
        ("updatePerson.firstName", 30),
        ("updatePerson.lastName", 30),
        ("updatePerson.socialSecurityNumber", 20),
    ],
)
def test_area_interest_lengths(path: str, limit: int) -> None:
    AreaInterestRequest.model_validate(set_path(AREA, path, "x" * limit))
    errors = errors_of(AreaInterestRequest, set_path(AREA, path, "x" * (limit + 1)))
    assert errors == {path: f"String should have at most {limit} characters"}


@pytest.mark.parametrize("path", ["updatePerson", "lookingForAccommodations", "updatePerson.customerId"])
def test_area_interest_required(path: str) -> None:
    assert errors_of(AreaInterestRequest, del_path(AREA, path)) == {path: "Field required"}


def test_area_interest_needs_one_search_preference() -> None:
    errors = errors_of(AreaInterestRequest, {**AREA, "lookingForAccommodations": []})
    assert list(errors) == ["lookingForAccommodations"]
    assert "at least 1 item" in errors["lookingForAccommodations"]


def test_notify_user_needs_user_or_contact() -> None:
    data = del_path(AREA, "updatePerson.contactId")
    errors = errors_of(AreaInterestRequest, data)
    assert list(errors) == ["notifyUser"]
    assert "updatePerson.userId" in errors["notifyUser"]
    AreaInterestRequest.model_validate(set_path(data, "updatePerson.userId", "u-m10001-1"))
    AreaInterestRequest.model_validate({**data, "notifyUser": False})
    AreaInterestRequest.model_validate(del_path(data, "notifyUser"))


@pytest.mark.parametrize(
    "path",
    [
        "lookingForAccommodations.0.polygon.1.latitud",
        "lookingForAccommodations.0.polygon.0.longitud",
        "presentAccommodation.coordinate.longitud",
    ],
)
def test_coordinates_need_both_axes(path: str) -> None:
    assert errors_of(AreaInterestRequest, del_path(AREA, path)) == {path: "Field required"}


@pytest.mark.parametrize("range_name", ["livingSpace", "numberOfRooms", "price", "plotArea"])
def test_ranges_min_not_above_max(range_name: str) -> None:
    path = f"lookingForAccommodations.0.{range_name}"
    errors = errors_of(AreaInterestRequest, set_path(AREA, path, {"min": 5, "max": 4}))
    assert errors == {f"{path}.max": "max must not be less than min"}
    for ok in ({"min": 4, "max": 4}, {"min": 5}, {"max": 1}, {"min": "", "max": 3}):
        AreaInterestRequest.model_validate(set_path(AREA, path, ok))


def test_range_errors_carry_the_path() -> None:
    errors = errors_of(AreaInterestRequest, set_path(AREA, "lookingForAccommodations.0.price.min", "cheap"))
    assert list(errors) == ["lookingForAccommodations.0.price.min"]
    assert "cheap" not in errors["lookingForAccommodations.0.price.min"]


@pytest.mark.parametrize("path", ["customerId", "viewingId", "timeSlotId", "contactId", "leadSourceId"])
def test_viewing_ids_at_most_40(path: str) -> None:
    ViewingParticipantRequest.model_validate({**VIEWING, path: "x" * 40})
    assert errors_of(ViewingParticipantRequest, {**VIEWING, path: "x" * 41}) == {
        path: "String should have at most 40 characters"
    }


@pytest.mark.parametrize("path", ["customerId", "viewingId", "timeSlotId", "contactId"])
def test_viewing_path_params_required(path: str) -> None:
    assert errors_of(ViewingParticipantRequest, del_path(VIEWING, path)) == {path: "Field required"}


def test_reminder_time_not_negative() -> None:
    assert errors_of(ViewingParticipantRequest, {**VIEWING, "reminderTime": -1}) == {
        "reminderTime": "Input should be greater than or equal to 0"
    }
    assert ViewingParticipantRequest.model_validate({**VIEWING, "reminderTime": "0"}).reminder_time == 0
    assert ViewingParticipantRequest.model_validate({**VIEWING, "reminderTime": ""}).reminder_time is None


def test_strings_are_stripped_and_blank_optional_is_none() -> None:
    req = PersonLeadRequest.model_validate(
        set_path(set_path(PERSON_LEAD, "person.firstName", "  Anna "), "person.lastName", "   ")
    )
    assert req.person.first_name == "Anna"
    assert req.person.last_name is None
    assert "lastName" not in req.vendor_body()["person"]


def test_numbers_are_taken_as_text() -> None:
    req = PersonLeadRequest.model_validate(set_path(PERSON_LEAD, "person.address.zipCode", 41124))
    assert req.vendor_body()["person"]["address"]["zipCode"] == "41124"


# ---- Omnicasa ----------------------------------------------------------------------------------------


def test_omnicasa_customer_id_required() -> None:
    assert errors_of(ContactOnMeRequest, del_path(OMNICASA, "CustomerId")) == {"CustomerId": "Field required"}
    errors = errors_of(ContactOnMeRequest, {**OMNICASA, "CustomerId": "abc"})
    assert list(errors) == ["CustomerId"]


@pytest.mark.parametrize(("given", "expected"), [(None, 1), ("", 1), (1, 1), (2, 2), ("3", 3)])
def test_omnicasa_language_id(given: Any, expected: int) -> None:
    data = dict(OMNICASA)
    data.pop("LanguageId")
    if given is not None:
        data["LanguageId"] = given
    req = ContactOnMeRequest.model_validate(data)
    assert req.language_id == expected
    assert req.vendor_body()["LanguageId"] == expected


@pytest.mark.parametrize("bad", [0, 4, 21, -1])
def test_omnicasa_language_id_rejected(bad: int) -> None:
    assert errors_of(ContactOnMeRequest, {**OMNICASA, "LanguageId": bad}) == {
        "LanguageId": "must be 1 (NL), 2 (FR) or 3 (EN)"
    }


def test_omnicasa_categories_list_is_joined() -> None:
    req = ContactOnMeRequest.model_validate({**OMNICASA, "CategorieIds": [1, "2", " 3 "]})
    assert req.vendor_body()["CategorieIds"] == "1,2,3"
    assert ContactOnMeRequest.model_validate({**OMNICASA, "CategorieIds": "1,2"}).categorie_ids == "1,2"


def test_omnicasa_return_result() -> None:
    result = ReturnResultOfInt32.model_validate(load("omnicasa_return_result_doc_sample.json"))
    assert (result.success, result.code, result.message, result.value) == (True, 2, "sample string 3", 4)
    failed = ReturnResultOfInt32.model_validate({"Success": False, "Code": 7, "Message": "nope", "Extra": 1})
    assert failed.success is False and failed.value is None


# ---- enums ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["AcceptObjectFlow", "acceptobjectflow", " ACCEPTOBJECTFLOW ", 0, "0"])
def test_lead_type_by_name_or_number(given: Any) -> None:
    req = PersonLeadRequest.model_validate(set_path(PERSON_LEAD, "leadSource.leadType", given))
    assert req.lead_source.lead_type is LeadType.AcceptObjectFlow
    assert req.vendor_body()["leadSource"]["leadType"] == "AcceptObjectFlow"


def test_unknown_enum_number_is_passed_through() -> None:
    req = PersonLeadRequest.model_validate(set_path(PERSON_LEAD, "leadSource.leadType", 7))
    assert req.vendor_body()["leadSource"]["leadType"] == 7


@pytest.mark.parametrize("bad", ["Sharktank", -1, True, 1.5, ""])
def test_unknown_enum_name_lists_allowed(bad: Any) -> None:
    errors = errors_of(PersonLeadRequest, set_path(PERSON_LEAD, "leadSource.leadType", bad))
    assert errors == {"leadSource.leadType": "must be one of AcceptObjectFlow (or its number)"}


@pytest.mark.parametrize(
    ("path", "given", "member"),
    [
        ("presentAccommodation.estateType", 0, EstateType.House),
        ("presentAccommodation.estateType", "house", EstateType.House),
        ("updatePerson.obtainThrough", 0, ObtainThrough.Interest),
        ("updatePerson.obtainThrough", "INTEREST", ObtainThrough.Interest),
        ("watched", 0, MatchingWatched.Yes),
        ("watched", "no", MatchingWatched.No),
        ("watched", 1, MatchingWatched.No),
    ],
)
def test_area_interest_enums(path: str, given: Any, member: Any) -> None:
    body = AreaInterestRequest.model_validate(set_path(AREA, path, given)).vendor_body()
    node: Any = body
    for part in path.split("."):
        node = node[part]
    assert node == member.name


def test_area_interest_enum_errors() -> None:
    errors = errors_of(AreaInterestRequest, set_path(AREA, "watched", "Maybe"))
    assert errors == {"watched": "must be one of Yes, No (or its number)"}
    errors = errors_of(AreaInterestRequest, set_path(AREA, "presentAccommodation.estateType", "Castle"))
    assert errors == {"presentAccommodation.estateType": "must be one of House (or its number)"}


def test_optional_enum_blank_is_none() -> None:
    req = AreaInterestRequest.model_validate(set_path(AREA, "watched", ""))
    assert req.watched is None and "watched" not in req.vendor_body()


def test_doc_curl_sample_numbers() -> None:
    curl = load("vitec_person_lead_doc_curl.json")
    lead = PersonLeadRequest.model_validate({**curl, "customerId": "M10001"})
    assert lead.vendor_body()["leadSource"]["leadType"] == "AcceptObjectFlow"
    area = InterestAndContactOnArea.model_validate(
        set_path(load("vitec_area_interest_doc_curl.json"), "updatePerson.customerId", "M10001")
    )
    assert area.present_accommodation is not None
    assert area.present_accommodation.estate_type is EstateType.House
    viewing = AddViewingParticipant.model_validate(load("vitec_viewing_participant_doc_curl.json"))
    assert viewing.sms_reminder is False
    assert viewing.model_dump(exclude_none=True) == {
        "participated": False,
        "reminderTime": 0,
        "smsReminder": False,
    }


# ---- doc samples ---------------------------------------------------------------------------------------


def test_person_lead_doc_sample() -> None:
    sample = load("vitec_person_lead_doc_sample.json")
    body = PublicAdvertisingPersonLead.model_validate(sample)
    assert body.model_dump(mode="json", exclude_none=True) == sample
    assert PersonLeadRequest.model_validate({**sample, "customerId": "sample string"}).vendor_body() == sample


def test_area_interest_doc_sample() -> None:
    sample = load("vitec_area_interest_doc_sample.json")
    req = AreaInterestRequest.model_validate(sample)
    assert req.customer_id == "sample string 8"
    body = req.vendor_body()
    assert set(body) == set(sample)
    assert set(body["updatePerson"]) == set(sample["updatePerson"])
    assert set(body["lookingForAccommodations"][0]) == set(sample["lookingForAccommodations"][0])
    assert body["lookingForAccommodations"] == sample["lookingForAccommodations"]
    assert body["presentAccommodation"] == sample["presentAccommodation"]


def test_area_interest_doc_curl_lacks_customer_id() -> None:
    # Only because leadhooks requires updatePerson.customerId (it names whose credentials are used).
    assert errors_of(AreaInterestRequest, load("vitec_area_interest_doc_curl.json")) == {
        "updatePerson.customerId": "Field required"
    }


def test_viewing_participant_doc_sample() -> None:
    sample = load("vitec_viewing_participant_doc_sample.json")
    assert AddViewingParticipant.model_validate(sample).model_dump(exclude_none=True) == sample
    path = {"customerId": "s", "viewingId": "s", "timeSlotId": "s", "contactId": "s"}
    assert ViewingParticipantRequest.model_validate({**sample, **path}).vendor_body() == sample


def test_omnicasa_doc_sample_violates_language_id() -> None:
    # The doc sample has LanguageId 21, but the same page allows only 1 (NL), 2 (FR) and 3 (EN).
    sample = load("omnicasa_contact_on_me_doc_sample.json")
    assert errors_of(ContactOnMeRequest, sample) == {"LanguageId": "must be 1 (NL), 2 (FR) or 3 (EN)"}
    fixed = {**sample, "LanguageId": 3}
    assert ContactOnMeRequest.model_validate(fixed).vendor_body() == fixed


def test_person_lead_doc_response() -> None:
    assert lead_id_adapter.validate_python(load("vitec_person_lead_doc_response.json")) == "sample string 1"
    assert lead_id_adapter.validate_python(12345) == "12345"
    with pytest.raises(ValidationError):
        lead_id_adapter.validate_python("")


def test_crm_doc_sample() -> None:
    contacts = parse_crm_contacts(load("vitec_crm_contacts_doc_sample.json"))
    assert len(contacts) == 2
    assert all(isinstance(c, CrmPersonContact) for c in contacts)
    first = contacts[0]
    assert first.id == "sample string 1" and first.customer_id == "sample string 2"
    assert first.email is not None and first.email.email_address == "sample string 1"
    assert first.categories is not None and first.categories[1].read_only is True
    assert first.created_at is not None and first.created_at.year == 2024


# ---- CRM union -----------------------------------------------------------------------------------------


def test_crm_union_picks_the_class() -> None:
    contacts = parse_crm_contacts(
        [
            {
                "id": "c-1",
                "type": "Person",
                "firstName": "Anna",
                "gDPRApprovalDate": "2024-01-01",
                "wantsToBeMatched": "Yes",
                "telephone": {"cell": "+46701234567", "fax": "x"},
            },
            {
                "id": "c-2",
                "type": "Company",
                "name": "Lindqvist Bygg AB",
                "corporateNumber": "556677-8899",
                "homePage": "https://example.se",
                "telephone": {"switchboard": "031-100 00 00"},
            },
            {
                "id": "c-3",
                "type": "DeceasedEstate",
                "name": "Dödsbo efter Karl Berg",
                "isForeignIdSocialSecurityNumber": False,
            },
            {"id": "c-4", "type": "company"},
            {"id": "c-5", "type": 2},
            {"id": "c-6", "type": "0"},
        ]
    )
    kinds = [type(c) for c in contacts]
    assert kinds == [
        CrmPersonContact,
        CrmCompanyContact,
        CrmDeceasedEstateContact,
        CrmCompanyContact,
        CrmDeceasedEstateContact,
        CrmPersonContact,
    ]
    person = contacts[0]
    assert isinstance(person, CrmPersonContact)
    assert person.gdpr_approval_date is not None
    assert person.wants_to_be_matched is MatchingWatched.Yes
    dumped = person.model_dump(mode="json", exclude_none=True)
    assert dumped["telephone"] == {"cell": "+46701234567", "fax": "x"}
    assert dumped["gdprApprovalDate"].startswith("2024-01-01")
    company = contacts[1].model_dump(mode="json", exclude_none=True)
    assert company["telephone"] == {"switchboard": "031-100 00 00"}


def test_crm_responses_are_tolerant() -> None:
    long = "x" * 200
    [person] = parse_crm_contacts(
        [
            {
                "id": "c-1",
                "type": "Person",
                "firstName": long,
                "socialSecurityNumber": long,
                "brandNew": {"a": 1},
                "wantsToBeMatched": "Sometimes",
            }
        ]
    )
    assert isinstance(person, CrmPersonContact)
    assert person.first_name == long
    assert person.wants_to_be_matched == "Sometimes"
    [company] = parse_crm_contacts([{"id": "c-2", "type": "Company", "name": long, "homePage": long}])
    assert isinstance(company, CrmCompanyContact) and company.name == long
    assert person.over_documented_limits() == ["firstName", "socialSecurityNumber"]
    assert company.over_documented_limits() == ["name", "homePage"]
    [estate] = parse_crm_contacts([{"id": "c-3", "type": "DeceasedEstate", "name": "x" * 31}])
    assert estate.over_documented_limits() == ["name"]
    [fine] = parse_crm_contacts(
        [{"id": "c-4", "type": "Company", "name": "x" * 50, "corporateNumber": "1" * 20}]
    )
    assert fine.over_documented_limits() == []


def test_crm_unknown_type_is_an_error_with_path() -> None:
    with pytest.raises(ValidationError) as info:
        parse_crm_contacts([{"id": "c-1", "type": "Robot"}])
    [error] = field_errors_from_validation(info.value)
    assert error.field == "0.type"
    assert "Robot" not in error.reason and "Person" in error.reason


# ---- contacts query ------------------------------------------------------------------------------------


def test_contacts_query_parses_a_comma_separated_string() -> None:
    query = ContactsQuery.model_validate({"customerId": "M10001", "ids": " c-1, c-2 ,c-1,c-3,c-2 "})
    assert query.ids == ["c-1", "c-2", "c-3"]


def test_contacts_query_accepts_lists_and_numbers() -> None:
    query = ContactsQuery.model_validate({"customerId": "M10001", "ids": ["c-1,c-2", "c-3", 17]})
    assert query.ids == ["c-1", "c-2", "c-3", "17"]


def test_contacts_query_chunks() -> None:
    ids = [f"c-m10001-{n:03d}" for n in range(1, 46)]
    query = ContactsQuery.model_validate({"customerId": "M10001", "ids": ",".join(ids + ids[:5])})
    assert query.ids == ids
    chunks = query.chunks(20)
    assert [len(c) for c in chunks] == [20, 20, 5]
    assert [i for c in chunks for i in c] == ids
    assert query.chunks() == chunks
    with pytest.raises(ValueError, match="between 1 and 20"):
        query.chunks(21)
    with pytest.raises(ValueError, match="between 1 and 20"):
        query.chunks(0)


NO_IDS = "List should have at least 1 item after validation, not 0"
TOO_LONG_40 = "String should have at most 40 characters"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"customerId": "M10001"}, {"ids": "Field required"}),
        ({"customerId": "M10001", "ids": ""}, {"ids": NO_IDS}),
        ({"customerId": "M10001", "ids": []}, {"ids": NO_IDS}),
        ({"customerId": "M10001", "ids": " , "}, {"ids": NO_IDS}),
        ({"customerId": "M10001", "ids": "a,,b"}, {"ids.1": "String should have at least 1 character"}),
        ({"customerId": "M10001", "ids": "a," + "x" * 41}, {"ids.1": TOO_LONG_40}),
        ({"ids": "a"}, {"customerId": "Field required"}),
        ({"customerId": "x" * 41, "ids": "a"}, {"customerId": TOO_LONG_40}),
        ({"customerId": None, "ids": None}, {"customerId": "Field required", "ids": "Field required"}),
        ({"customerId": "M10001", "ids": {"a": 1}}, {"ids": "Input should be a valid list"}),
    ],
)
def test_contacts_query_errors(data: dict[str, Any], expected: dict[str, str]) -> None:
    assert errors_of(ContactsQuery, data) == expected


# ---- leadhooks' own bodies -------------------------------------------------------------------------------


def test_error_body_json() -> None:
    body = ErrorBody(
        delivery_id="d-1",
        error="validation_error",
        message="the request does not pass validation",
        errors=[FieldError(field="person.firstName", reason="String should have at most 30 characters")],
    )
    assert body.model_dump(mode="json") == {
        "deliveryId": "d-1",
        "error": "validation_error",
        "message": "the request does not pass validation",
        "errors": [{"field": "person.firstName", "reason": "String should have at most 30 characters"}],
        "errorsOmitted": None,
        "parked": False,
        "reason": None,
        "vendorStatus": None,
        "vendorMessage": None,
    }
    assert ErrorBody(error="unauthorized", message="no key").to_body() == {
        "error": "unauthorized",
        "message": "no key",
        "errors": [],
        "parked": False,
    }
    parsed = ErrorBody.model_validate({"deliveryId": "d", "error": "e", "message": "m", "vendorStatus": 400})
    assert parsed.vendor_status == 400


def test_delivery_and_contacts_responses() -> None:
    resp = DeliveryResponse(delivery_id="d-1", status="delivered", **{"lead_id": "L-1"})
    assert resp.to_body() == {"deliveryId": "d-1", "status": "delivered", "leadId": "L-1", "parked": False}
    assert DeliveryResponse(delivery_id="d", status="delivered", person_id=5).to_body()["personId"] == 5
    with pytest.raises(ValidationError):
        DeliveryResponse(delivery_id="d", status="done")
    contacts = ContactsResponse(delivery_id="d", contacts=[{"id": "c-1"}], missing=["c-2"])
    assert contacts.to_body() == {"deliveryId": "d", "contacts": [{"id": "c-1"}], "missing": ["c-2"]}


def test_field_errors_never_echo_the_input() -> None:
    secret = "19850612-1238-and-more-than-twenty"
    data = set_path(set_path(PERSON_LEAD, "person.socialSecurityNumber", secret), "customerId", ["M10001"])
    with pytest.raises(ValidationError) as info:
        PersonLeadRequest.model_validate(data)
    for error in field_errors_from_validation(info.value):
        assert secret not in error.reason
        assert "M10001" not in error.reason


def test_field_errors_root_is_body() -> None:
    with pytest.raises(ValidationError) as info:
        PersonLeadRequest.model_validate(["not", "an", "object"])
    assert [e.field for e in field_errors_from_validation(info.value)] == ["body"]


def test_field_errors_value_error_prefix_is_dropped() -> None:
    from pydantic import BaseModel, field_validator

    class Probe(BaseModel):
        x: int

        @field_validator("x")
        @classmethod
        def _check(cls, value: int) -> int:
            raise ValueError("too odd")

    with pytest.raises(ValidationError) as info:
        Probe.model_validate({"x": 12345})
    assert field_errors_from_validation(info.value) == [FieldError(field="x", reason="too odd")]


def test_models_import_nothing_heavy() -> None:
    code = (
        "import sys; import leadhooks.vendors.vitec.models, leadhooks.vendors.omnicasa.models; "
        "import leadhooks.models.api; "
        "heavy = ('requests', 'boto3', 'botocore', 'aws_lambda_powertools', 'phonenumbers', 'stdnum', "
        "'leadhooks.settings', 'leadhooks.vendors.vitec.client'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root / "shared")},
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    "model",
    [
        PersonLeadRequest,
        AreaInterestRequest,
        ViewingParticipantRequest,
        ContactsQuery,
        ContactOnMeRequest,
        ReturnResultOfInt32,
        ErrorBody,
        DeliveryResponse,
        ContactsResponse,
        CrmPersonContact,
        CrmCompanyContact,
        CrmDeceasedEstateContact,
    ],
)
def test_deferred_schemas_build(model: Any) -> None:
    # Schemas are built on first use (cold start); make sure every one of them builds.
    assert model.model_json_schema()["type"] == "object"
