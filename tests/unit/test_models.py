"""The vendor models against their docs: the samples go through unchanged, the rules the docs state are
enforced (naming the field), and nothing else is (DESIGN §6). Doc lines are in docs/vendor-fidelity.md."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from leadhooks.catalog import BY_NAME
from leadhooks.inbound.adapters import to_native
from leadhooks.models.api import (
    ContactsResponse,
    DeliveryResponse,
    ErrorBody,
    FieldError,
    FieldWarning,
    field_errors_from_validation,
)
from leadhooks.vendors import model_base as common
from leadhooks.vendors.normalise import normalise_phones
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
    CrmOtherContact,
    CrmPersonContact,
    PersonLeadRequest,
    PublicAdvertisingPersonLead,
    ViewingParticipantRequest,
    lead_id_adapter,
    parse_crm_contacts,
)
from pydantic import ValidationError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BODIES = FIXTURES / "bodies"
CASES = sorted((FIXTURES / "cases").glob("*.json"))


def load(name: str) -> Any:
    return json.loads((BODIES / name).read_text(encoding="utf-8"))


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON text: key order aside, every value and number type (1 is not 1.0) the same."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


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
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
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
VIEWING_PATH = {"customerId": "M1", "viewingId": "v-1", "timeSlotId": "t-1", "contactId": "c-1"}

# ---- every doc sample goes through unchanged -------------------------------------------------------

# (fixture, model, path parameters added for the URL, keys the vendor body leaves out)
DOC_SAMPLES = [
    ("vitec_person_lead_doc_sample.json", PersonLeadRequest, {"customerId": "sample string"}, ()),
    ("vitec_person_lead_doc_curl.json", PersonLeadRequest, {"customerId": "StringValue"}, ()),
    ("vitec_area_interest_doc_sample.json", AreaInterestRequest, {}, ()),
    # The doc's curl sample names no customer in the body: the routing `customerId` chooses the login.
    ("vitec_area_interest_doc_curl.json", AreaInterestRequest, {"customerId": "StringValue"}, ()),
    ("vitec_viewing_participant_doc_sample.json", ViewingParticipantRequest, VIEWING_PATH, ()),
    ("vitec_viewing_participant_doc_curl.json", ViewingParticipantRequest, VIEWING_PATH, ()),
    # DESIGN §6: IsWriteLogSQL and Password are Omnicasa's plumbing, never taken from a caller.
    ("omnicasa_contact_on_me_doc_sample.json", ContactOnMeRequest, {}, ("Password", "IsWriteLogSQL")),
]


@pytest.mark.parametrize(
    ("fixture", "model", "path", "left_out"), DOC_SAMPLES, ids=[d[0] for d in DOC_SAMPLES]
)
def test_doc_sample_goes_through_unchanged(
    fixture: str, model: Any, path: dict[str, str], left_out: Any
) -> None:
    sample = load(fixture)
    request = model.model_validate({**sample, **path})
    # Byte for byte: same keys (as spelled), same values, same JSON number types.
    expected = {k: v for k, v in sample.items() if k not in left_out}
    assert json.dumps(request.vendor_body()) == json.dumps(expected)
    assert request.path_params() == {k: v for k, v in path.items() if k in model.PATH_PARAMS}
    assert [field for field, _ in request.warnings()] == list(left_out)


def test_every_doc_fixture_is_checked() -> None:
    checked = {d[0] for d in DOC_SAMPLES} | {
        "vitec_person_lead_doc_response.json",
        "vitec_crm_contacts_doc_sample.json",
        "omnicasa_return_result_doc_sample.json",
    }
    assert {p.name for p in BODIES.glob("*doc*")} == checked


def test_person_lead_doc_response() -> None:
    assert lead_id_adapter.validate_python(load("vitec_person_lead_doc_response.json")) == "sample string 1"
    assert lead_id_adapter.validate_python(12345) == "12345"
    with pytest.raises(ValidationError):
        lead_id_adapter.validate_python("")


def test_omnicasa_return_result_doc_sample() -> None:
    result = ReturnResultOfInt32.model_validate(load("omnicasa_return_result_doc_sample.json"))
    assert (result.success, result.code, result.message, result.value) == (True, 2, "sample string 3", 4)
    failed = ReturnResultOfInt32.model_validate({"Success": False, "Code": 7, "Message": "nope", "Extra": 1})
    assert failed.success is False and failed.value is None


def test_crm_doc_sample_is_kept_whole() -> None:
    sample = load("vitec_crm_contacts_doc_sample.json")
    contacts = parse_crm_contacts(sample)
    assert all(isinstance(c, CrmPersonContact) for c in contacts)
    # Dates as the vendor wrote them (seven fractional digits), every field and value kept.
    assert [c.model_dump(mode="json", exclude_none=True) for c in contacts] == sample


# ---- the cases (tests/fixtures/cases/*.json; the integration tests send the same files) ------


def _native_model(case: dict[str, Any]) -> Any:
    spec = BY_NAME[case["operation"]].operation()
    adapted = to_native(case["body"], spec.model, query=case["query"])
    return spec, spec.model.model_validate(adapted.data)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    if "errors" in case:
        with pytest.raises(ValidationError) as info:
            _native_model(case)
        assert sorted(e.field for e in field_errors_from_validation(info.value)) == sorted(case["errors"])
        return
    spec, model = _native_model(case)
    normalise_phones(model, lambda: spec.phone_region)  # the pipeline's next step (default country)
    assert same_json(spec.describe(model).body, case["vendorBody"])
    warnings = [FieldWarning(field=f, reason=r).to_body() for f, r in model.warnings()]
    assert warnings == case["warnings"]


# ---- the rules the docs state are enforced, naming the field ------------------------------------------


@pytest.mark.parametrize("path", ["person", "leadSource", "customerId"])
def test_person_lead_required(path: str) -> None:
    # vitec-person-lead.txt:20 customerId, :24 person, :28 leadSource
    assert errors_of(PersonLeadRequest, del_path(PERSON_LEAD, path)) == {path: "Field required"}


def test_person_lead_blank_customer_is_missing() -> None:
    errors = errors_of(PersonLeadRequest, set_path(PERSON_LEAD, "customerId", "   "))
    assert errors == {"customerId": "String should have at least 1 character"}


def test_receiver_names_someone() -> None:
    # vitec-person-lead.txt:26
    for receiver in ({}, {"agent": {}}, {"agent": {"id": " "}, "office": None}):
        errors = errors_of(PersonLeadRequest, {**PERSON_LEAD, "receiver": receiver})
        assert errors == {"receiver": "give at least one of agent, userGroup or office"}
    for receiver in (
        {"agent": {"id": "a"}},
        {"agent": {"email": "maklare@example.se"}},
        {"userGroup": {"id": "g"}},
        {"office": {"customerId": "M1"}},  # which of the office's fields name it is Vitec's to judge
    ):
        PersonLeadRequest.model_validate({**PERSON_LEAD, "receiver": receiver})


@pytest.mark.parametrize("path", ["updatePerson", "lookingForAccommodations"])
def test_area_interest_required(path: str) -> None:
    # vitec-interest-on-area.txt:16 updatePerson, :18 lookingForAccommodations
    assert errors_of(AreaInterestRequest, del_path(AREA, path)) == {path: "Field required"}


def test_area_interest_needs_one_search_preference() -> None:
    # vitec-interest-on-area.txt:18 "Minst en sökpreferens måste anges"
    errors = errors_of(AreaInterestRequest, {**AREA, "lookingForAccommodations": []})
    assert list(errors) == ["lookingForAccommodations"]
    assert "at least 1 item" in errors["lookingForAccommodations"]


def test_area_interest_customer_from_body_or_routing_field() -> None:
    without = del_path(AREA, "updatePerson.customerId")
    assert list(errors_of(AreaInterestRequest, without)) == ["updatePerson.customerId"]
    routed = AreaInterestRequest.model_validate({**without, "customerId": "M10001"})
    assert routed.customer_id == "M10001"
    assert (
        "customerId" not in routed.vendor_body() and "customerId" not in routed.vendor_body()["updatePerson"]
    )
    assert AreaInterestRequest.model_validate({**AREA, "customerId": "M10001"}).customer_id == "M10001"
    assert errors_of(AreaInterestRequest, {**AREA, "customerId": "M10002"}) == {
        "customerId": "customerId and updatePerson.customerId name different customers"
    }


@pytest.mark.parametrize("path", ["customerId", "viewingId", "timeSlotId", "contactId"])
def test_viewing_path_params_required(path: str) -> None:
    # vitec-viewing-participant.txt:16/18/20 "Krävs"; customerId: the URL and the login (DESIGN §7)
    assert errors_of(ViewingParticipantRequest, del_path(VIEWING, path)) == {path: "Field required"}


@pytest.mark.parametrize("path", ["customerId", "viewingId", "timeSlotId", "contactId"])
def test_path_ids_cannot_be_dot_segments(path: str) -> None:
    for dots in (".", ".."):
        errors = errors_of(ViewingParticipantRequest, {**VIEWING, path: dots})
        assert errors == {path: "must not be '.' or '..' (part of the vendor URL path)"}


@pytest.mark.parametrize(
    ("model", "data", "path"),
    [
        (PersonLeadRequest, PERSON_LEAD, "person.isForeignSocialSecurityNumber"),
        (AreaInterestRequest, AREA, "lookingForAccommodations.0.house"),
        (ViewingParticipantRequest, VIEWING, "reminderTime"),
        (AreaInterestRequest, AREA, "presentAccommodation.livingSpace"),
        (ContactOnMeRequest, OMNICASA, "PropertyId"),
        (ContactOnMeRequest, OMNICASA, "IsReceivedEmail"),
    ],
)
def test_documented_types_are_checked(model: Any, data: dict[str, Any], path: str) -> None:
    errors = errors_of(model, set_path(data, path, {"not": "a scalar"}))
    assert list(errors) == [path]


# ---- rules the docs do not state are gone ----------------------------------------------------------------

LONG = "x" * 200


@pytest.mark.parametrize(
    ("model", "data", "path"),
    [
        # The CRM read model's lengths (vitec-crm-contacts.txt:45/47/49/59/61) are not write limits.
        (PersonLeadRequest, PERSON_LEAD, "person.firstName"),
        (PersonLeadRequest, PERSON_LEAD, "person.lastName"),
        (PersonLeadRequest, PERSON_LEAD, "person.socialSecurityNumber"),
        (PersonLeadRequest, PERSON_LEAD, "customerId"),
        (PersonLeadRequest, {**PERSON_LEAD, "receiver": {"agent": {"id": "a"}}}, "receiver.agent.id"),
        (AreaInterestRequest, AREA, "updatePerson.lastName"),
        (AreaInterestRequest, AREA, "updatePerson.customerId"),
        (AreaInterestRequest, AREA, "updatePerson.contactId"),
        (AreaInterestRequest, AREA, "updatePerson.userId"),
        (AreaInterestRequest, AREA, "updatePerson.socialSecurityNumber"),
        (ViewingParticipantRequest, VIEWING, "leadSourceId"),
        (ViewingParticipantRequest, VIEWING, "viewingId"),
        (ContactOnMeRequest, OMNICASA, "Name"),
    ],
)
def test_no_lengths_on_writes(model: Any, data: dict[str, Any], path: str) -> None:
    request = model.model_validate(set_path(data, path, LONG))
    assert LONG in json.dumps(request.model_dump(mode="json"))


@pytest.mark.parametrize(
    ("model", "data"),
    [
        # notifyUser without userId/contactId: Vitec's duplicate check decides who is new (…txt:20).
        (AreaInterestRequest, del_path(AREA, "updatePerson.contactId")),
        # Coordinates, ranges and reminder times: the docs give types, not bounds or pairs.
        (AreaInterestRequest, del_path(AREA, "lookingForAccommodations.0.polygon.0.latitud")),
        (AreaInterestRequest, set_path(AREA, "lookingForAccommodations.0.price", {"min": 5, "max": 4})),
        (ViewingParticipantRequest, {**VIEWING, "reminderTime": -1}),
        # leadSource's parts, the agent's id or e-mail, an office's id: no rule in the docs.
        (PersonLeadRequest, {**PERSON_LEAD, "leadSource": {"name": "Webb"}}),
        (PersonLeadRequest, {**PERSON_LEAD, "leadSource": {"leadType": "AcceptObjectFlow"}}),
        (PersonLeadRequest, {**PERSON_LEAD, "receiver": {"agent": {"office": {"id": "o"}}}}),
        # A personnummer is text: no checksum (the docs ask for none).
        (PersonLeadRequest, set_path(PERSON_LEAD, "person.socialSecurityNumber", "811228-9875")),
        # Omnicasa: no field is required, LanguageId is any integer (the doc's own sample sends 21).
        (ContactOnMeRequest, {"Name": "Peeters"}),
        (ContactOnMeRequest, {**OMNICASA, "LanguageId": 21}),
    ],
)
def test_undocumented_rules_are_not_enforced(model: Any, data: dict[str, Any]) -> None:
    request = model.model_validate(data)
    assert json.loads(json.dumps(request.vendor_body()))  # and it can be sent


def test_omnicasa_customer_is_optional_and_typed() -> None:
    request = ContactOnMeRequest.model_validate({"Name": "Peeters"})
    assert request.customer_id == "" and "CustomerId" not in request.vendor_body()
    assert ContactOnMeRequest.model_validate({"CustomerId": "101"}).vendor_body() == {"CustomerId": 101}
    assert list(errors_of(ContactOnMeRequest, {**OMNICASA, "CustomerId": "abc"})) == ["CustomerId"]


def test_omnicasa_language_is_not_defaulted_by_leadhooks() -> None:
    # "Default value = 1" (omnicasa-contactonme.txt:218) is Omnicasa's own default: nothing is added.
    assert (
        "LanguageId" not in ContactOnMeRequest.model_validate(del_path(OMNICASA, "LanguageId")).vendor_body()
    )


def test_omnicasa_categories_list_is_joined() -> None:
    request = ContactOnMeRequest.model_validate({**OMNICASA, "CategorieIds": [1, "2", " 3 "]})
    assert request.vendor_body()["CategorieIds"] == "1,2,3"
    assert ContactOnMeRequest.model_validate({**OMNICASA, "CategorieIds": "1,2"}).categorie_ids == "1,2"


@pytest.mark.parametrize("key", ["Password", "password", "IsWriteLogSQL", "iswritelogsql", "IsWriteLogSql"])
def test_omnicasa_plumbing_is_never_taken_from_a_caller(key: str) -> None:
    request = ContactOnMeRequest.model_validate({**OMNICASA, key: "secret-ish"})
    assert key not in request.vendor_body() and "secret-ish" not in json.dumps(request.vendor_body())
    assert request.warnings() == [(key, "not the caller's to set (vendor plumbing); dropped")]


# ---- names in any case; the caller's spelling kept -------------------------------------------------------


@pytest.mark.parametrize("key", ["smsReminder", "sMSReminder", "SMSReminder", "smsreminder", "sms_reminder"])
def test_vendor_names_match_in_any_case(key: str) -> None:
    request = ViewingParticipantRequest.model_validate({**del_path(VIEWING, "smsReminder"), key: False})
    assert request.sms_reminder is False
    sent = "smsReminder" if key == "sms_reminder" else key  # a Python name is sent as the vendor's
    assert request.vendor_body()[sent] is False
    assert request.warnings() == []


def test_one_field_in_two_spellings_is_an_error() -> None:
    errors = errors_of(ViewingParticipantRequest, {**VIEWING, "SMSReminder": False})
    assert errors == {"SMSReminder": "given twice, also as 'smsReminder'"}
    nested = set_path(AREA, "updatePerson.FIRSTNAME", "Erika")
    assert list(errors_of(AreaInterestRequest, nested)) == ["updatePerson.FIRSTNAME"]


def test_pascal_case_for_vitec_and_camel_case_for_omnicasa() -> None:
    lead = PersonLeadRequest.model_validate(
        {"CustomerId": "M1", "Person": {"FirstName": "Anna"}, "LeadSource": {"Name": "Webb"}}
    )
    assert lead.customer_id == "M1" and lead.person.first_name == "Anna"
    assert lead.vendor_body() == {"Person": {"FirstName": "Anna"}, "LeadSource": {"Name": "Webb"}}
    omni = ContactOnMeRequest.model_validate({"customerId": 101, "gsm": "+32475123456"})
    assert omni.customer_id == "101" and omni.vendor_body() == {"customerId": 101, "gsm": "+32475123456"}


# ---- unknown fields: passed on, reported ----------------------------------------------------------------


def test_unknown_fields_are_passed_on_and_reported_by_path() -> None:
    data = set_path(AREA, "lookingForAccommodations.0.garage", True)
    data = set_path(data, "updatePerson.address.floor", 3)
    data = {**data, "source": {"portal": "hemnet"}}
    request = AreaInterestRequest.model_validate(data)
    body = request.vendor_body()
    assert body["lookingForAccommodations"][0]["garage"] is True
    assert body["updatePerson"]["address"]["floor"] == 3
    assert body["source"] == {"portal": "hemnet"}
    assert sorted(path for path, _ in request.warnings()) == [
        "lookingForAccommodations.0.garage",
        "source",
        "updatePerson.address.floor",
    ]


def test_known_fields_give_no_warnings() -> None:
    for model, data in (
        (PersonLeadRequest, PERSON_LEAD),
        (AreaInterestRequest, AREA),
        (ViewingParticipantRequest, VIEWING),
        (ContactOnMeRequest, OMNICASA),
    ):
        assert model.model_validate(data).warnings() == []


# ---- values keep their meaning ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "2024-11-21",
        "2024-11-21T10:31",
        "2024-11-21T10:31:03",
        "2024-11-21T10:31:03Z",
        "2024-11-21T10:31:03.6983026+01:00",
        "2024-11-21 10:31:03+01:00",
    ],
)
def test_iso_dates_are_kept_as_given(given: str) -> None:
    request = AreaInterestRequest.model_validate(set_path(AREA, "updatePerson.gdprApprovalDate", given))
    assert request.vendor_body()["updatePerson"]["gdprApprovalDate"] == given


@pytest.mark.parametrize(
    "given",
    ["20241121", 20241121, 1732147200, "1732147200", "21/11/2024", "2024-02-30", "2024-11-21T25:00", True],
)
def test_other_dates_are_refused_never_converted(given: Any) -> None:
    errors = errors_of(AreaInterestRequest, set_path(AREA, "updatePerson.approvalDate", given))
    assert list(errors) == ["updatePerson.approvalDate"]
    assert errors["updatePerson.approvalDate"].startswith("must be an ISO 8601 date")


@pytest.mark.parametrize(
    ("path", "given", "sent"),
    [
        ("presentAccommodation.estateType", "house", "House"),
        ("presentAccommodation.estateType", "Apartment", "Apartment"),
        ("presentAccommodation.estateType", 0, 0),
        ("presentAccommodation.estateType", 7, 7),
        ("updatePerson.obtainThrough", "INTEREST", "Interest"),
        ("updatePerson.obtainThrough", "Recommendation", "Recommendation"),
        ("watched", 1, 1),
        ("watched", "No", "No"),
        ("watched", "yes", "Yes"),
    ],
)
def test_enums_pass_through_and_are_never_renamed_from_numbers(path: str, given: Any, sent: Any) -> None:
    body = AreaInterestRequest.model_validate(set_path(AREA, path, given)).vendor_body()
    node: Any = body
    for part in path.split("."):
        node = node[part]
    assert node == sent and type(node) is type(sent)


@pytest.mark.parametrize("bad", [True, 1.5, ["House"], {"name": "House"}])
def test_enum_of_the_wrong_type_is_refused(bad: Any) -> None:
    errors = errors_of(PersonLeadRequest, set_path(PERSON_LEAD, "leadSource.leadType", bad))
    assert errors == {"leadSource.leadType": "must be a name (such as AcceptObjectFlow) or a number"}


def test_blank_optional_values_are_not_sent() -> None:
    request = PersonLeadRequest.model_validate(
        set_path(set_path(PERSON_LEAD, "person.firstName", "  Anna "), "person.lastName", "   ")
    )
    assert request.person.first_name == "Anna"
    assert "lastName" not in request.vendor_body()["person"]
    assert "watched" not in AreaInterestRequest.model_validate({**AREA, "watched": ""}).vendor_body()


def test_numbers_are_taken_as_text_where_the_docs_say_string() -> None:
    request = PersonLeadRequest.model_validate(set_path(PERSON_LEAD, "person.address.zipCode", 41124))
    assert request.vendor_body()["person"]["address"]["zipCode"] == "41124"


def test_vendor_spellings_are_kept() -> None:
    fields = {f.alias for f in vitec.LookingForAccommodation.model_fields.values()}
    assert {"countys", "specialRequset", "increasedRequirementIDs", "areaIds", "plotArea"} <= fields
    assert vitec.UpdatePerson.model_fields["tele_phone"].alias == "telePhone"
    assert {f.alias for f in vitec.Coordinate.model_fields.values()} == {"longitud", "latitud"}
    om = {f.alias for f in MediaLinkContactOnMeParameters.model_fields.values()}
    assert {"GSM", "CategorieIds", "CustomerId", "LanguageIdFromParameter"} <= om


def test_operation_metadata() -> None:
    assert PersonLeadRequest.PATH_PARAMS == ("customerId",)
    assert AreaInterestRequest.PATH_PARAMS == () and AreaInterestRequest.ROUTING_PARAMS == ("customerId",)
    assert ViewingParticipantRequest.PATH_PARAMS == ("customerId", "viewingId", "timeSlotId", "contactId")
    assert ContactOnMeRequest.PATH_PARAMS == ()
    assert PersonLeadRequest.FREE_TEXT_FIELD == "message"
    assert AreaInterestRequest.FREE_TEXT_FIELD == "updatePerson.note"
    assert ViewingParticipantRequest.FREE_TEXT_FIELD == "contactMessage"
    assert ContactOnMeRequest.FREE_TEXT_FIELD == "Content"
    for model in (PersonLeadRequest, AreaInterestRequest, ViewingParticipantRequest, ContactOnMeRequest):
        assert issubclass(model, common.OperationRequest) and issubclass(model, common.VendorModel)


def test_native_fixtures_round_trip() -> None:
    for model, data in (
        (PersonLeadRequest, PERSON_LEAD),
        (AreaInterestRequest, AREA),
        (ViewingParticipantRequest, VIEWING),
        (ContactOnMeRequest, OMNICASA),
    ):
        request = model.model_validate(data)
        expected = {k: v for k, v in data.items() if k not in model.PATH_PARAMS}
        assert json.loads(json.dumps(request.vendor_body())) == json.loads(json.dumps(expected))
        assert model.model_validate({**request.vendor_body(), **request.path_params()}) == request


def test_body_models_without_path_parameters() -> None:
    sample = load("vitec_person_lead_doc_sample.json")
    assert (
        PublicAdvertisingPersonLead.model_validate(sample).model_dump(mode="json", exclude_none=True)
        == sample
    )
    curl = load("vitec_viewing_participant_doc_curl.json")
    assert AddViewingParticipant.model_validate(curl).model_dump(mode="json", exclude_none=True) == curl


# ---- CRM contacts (the read): tolerant, unknown types kept ----------------------------------------------


def test_crm_union_picks_the_class() -> None:
    contacts = parse_crm_contacts(
        [
            {"id": "c-1", "type": "Person", "firstName": "Anna", "gDPRApprovalDate": "2024-01-01"},
            {
                "id": "c-2",
                "type": "Company",
                "name": "Lindqvist Bygg AB",
                "telephone": {"switchboard": "031"},
            },
            {"id": "c-3", "type": "DeceasedEstate", "name": "Dödsbo efter Karl Berg"},
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
    assert [c.type for c in contacts] == [
        "Person",
        "Company",
        "DeceasedEstate",
        "Company",
        "DeceasedEstate",
        "Person",
    ]
    person = contacts[0].model_dump(mode="json", exclude_none=True)
    assert person["gDPRApprovalDate"] == "2024-01-01"  # as Vitec wrote it
    assert contacts[1].model_dump(mode="json", exclude_none=True)["telephone"] == {"switchboard": "031"}


def test_crm_unknown_type_is_passed_through_whole() -> None:
    robot = {"id": "c-9", "type": "Robot", "name": "R2", "brandNew": {"a": 1}}
    contacts = parse_crm_contacts([robot, {"id": "c-1", "type": "Person"}, {"id": "c-8", "type": 7}])
    assert [type(c) for c in contacts] == [CrmOtherContact, CrmPersonContact, CrmOtherContact]
    assert contacts[0].model_dump(mode="json", exclude_none=True) == robot
    assert contacts[2].type == 7


def test_crm_answers_are_tolerant_and_report_documented_limits() -> None:
    [person] = parse_crm_contacts(
        [
            {
                "id": "c-1",
                "type": "Person",
                "firstName": LONG,
                "socialSecurityNumber": LONG,
                "wantsToBeMatched": 1,
            }
        ]
    )
    assert isinstance(person, CrmPersonContact)
    assert person.first_name == LONG and person.wants_to_be_matched == 1
    assert person.over_documented_limits() == ["firstName", "socialSecurityNumber"]
    [company] = parse_crm_contacts([{"id": "c-2", "type": "Company", "name": LONG, "homePage": LONG}])
    assert company.over_documented_limits() == ["name", "homePage"]
    [estate] = parse_crm_contacts([{"id": "c-3", "type": "DeceasedEstate", "name": "x" * 31}])
    assert estate.over_documented_limits() == ["name"]
    [fine] = parse_crm_contacts(
        [{"id": "c-4", "type": "Company", "name": "x" * 50, "corporateNumber": "1" * 20}]
    )
    assert fine.over_documented_limits() == []


def test_crm_contact_without_id_is_an_error_with_path() -> None:
    with pytest.raises(ValidationError) as info:
        parse_crm_contacts([{"id": "c-1", "type": "Person"}, {"type": "Person"}])
    assert [e.field for e in field_errors_from_validation(info.value)] == ["1.Person.id"]


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
        "warnings": None,
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
        "import leadhooks.vendors.normalise; "
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
