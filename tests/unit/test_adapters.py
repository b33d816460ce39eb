"""Inbound format adapters (DESIGN §3): parse_body, to_native (native/Typeform/flat), model paths."""

from __future__ import annotations

import copy
import json
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Optional

import pytest
from leadhooks.errors import BadRequestError, ConfigurationError, InputValidationError
from leadhooks.inbound import typeform as typeform_module
from leadhooks.inbound.adapters import (
    MAX_DEPTH,
    AdaptedInput,
    FormData,
    field_annotation,
    model_path_exists,
    parse_body,
    to_native,
)
from leadhooks.vendors.normalise import normalise_phones
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

FORM = "application/x-www-form-urlencoded"
VALID_PNR = "811228-9874"  # the python-stdnum documentation's example number
VALID_PNR_12 = "198112289874"
INVALID_PNR = "811228-9875"


# ---- small models of our own (the adapters must work for any pydantic v2 model) ---------------


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Phones(Camel):
    home: str | None = None
    work: str | None = None
    cell: str | None = None
    other: str | None = None


class Who(Camel):
    first_name: Annotated[str, Field(max_length=30)]
    last_name: str | None = None
    social_security_number: str | None = None
    is_foreign_social_security_number: bool | None = None
    telephone: Optional[Phones] = None  # noqa: UP045 - Optional on purpose


class Tag(Camel):
    name: str
    value: str | None = None


class Tracking(Camel):
    referrer: str | None = None
    utm_tags: list[Tag] | None = None


class Kind(StrEnum):
    HOUSE = "House"
    FLAT = "Flat"


class Range(Camel):
    min: float | None = None
    max: float | None = None


class Wish(Camel):
    area_ids: list[str] | None = None
    rooms: Range | None = None
    kind: Kind | None = None


class Lead(Camel):
    """A person-lead-like model: path parameter, nested objects, lists, a free-text field."""

    FREE_TEXT_FIELD: ClassVar[str | None] = "message"

    customer_id: str
    person: Who
    marketing: Tracking | None = None
    wishes: list[Wish] = []
    newsletter: bool | None = None
    budget: int | None = None
    score: float | None = None
    source: Literal["web", "phone"] | None = None
    visit_date: str | None = None
    message: str | None = None
    sms_reminder: bool | None = Field(
        None, alias="smsReminder", validation_alias=AliasChoices("smsReminder", "sMSReminder")
    )


class Note(Camel):
    note: str | None = None
    tele_phone: str | None = None


class NestedNote(Camel):
    """Free text nested in an object, as in the area interest (`updatePerson.note`)."""

    FREE_TEXT_FIELD: ClassVar[str | None] = "updatePerson.note"

    update_person: Note
    tags: list[str] | None = None


class Pascal(BaseModel):
    """Omnicasa-like: PascalCase aliases, integers, one alias set by hand."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    FREE_TEXT_FIELD: ClassVar[str | None] = "Content"

    customer_id: int = Field(alias="CustomerId")
    name: str | None = Field(None, alias="Name")
    gsm: str | None = Field(None, alias="GSM")
    phone_number: str | None = Field(None, alias="PhoneNumber")
    content: str | None = Field(None, alias="Content")
    is_received_email: bool | None = Field(None, alias="IsReceivedEmail")


class NoFreeText(Camel):
    customer_id: str
    name: str | None = None


class Either(Camel):
    """Unions of models and scalars."""

    payload: Who | Tag | None = None
    number: int | str | None = None


# ---- a realistic Typeform webhook (shape of Typeform's "example webhook payload") -------------


def typeform_payload(
    answers: list[dict[str, Any]] | None = None,
    hidden: dict[str, Any] | None = None,
    fields: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    default_fields = [
        {
            "id": "Fn4kq1",
            "title": "What is your first name?",
            "type": "short_text",
            "ref": "person.firstName",
        },
        {"id": "Ln8zz2", "title": "And your last name?", "type": "short_text", "ref": "person__lastName"},
        {
            "id": "Ph2aa3",
            "title": "Your mobile number",
            "type": "phone_number",
            "ref": "person.telephone.cell",
        },
        {"id": "Ss9bb4", "title": "Personnummer", "type": "short_text", "ref": "person.socialSecurityNumber"},
        {"id": "Nl1cc5", "title": "Send me the newsletter?", "type": "yes_no", "ref": "newsletter"},
        {"id": "Bu3dd6", "title": "Budget (SEK)", "type": "number", "ref": "budget"},
        {"id": "Dt5ee7", "title": "When can you visit?", "type": "date", "ref": "visitDate"},
        {"id": "Ms6ff8", "title": "Anything else?", "type": "long_text", "ref": "message"},
        {
            "id": "Hw7gg9",
            "title": "How did you hear about us?",
            "type": "multiple_choice",
            "ref": "7f1c2d3e-0000-4f4f-9a9a-123456789abc",
        },
        {"id": "Rm8hh0", "title": "Which rooms matter?", "type": "multiple_choice", "ref": "rooms_wanted"},
        {"id": "Em9ii1", "title": "Email", "type": "email", "ref": None},
    ]
    default_answers = [
        {
            "type": "text",
            "text": "Anna",
            "field": {"id": "Fn4kq1", "type": "short_text", "ref": "person.firstName"},
        },
        {
            "type": "text",
            "text": "Svensson",
            "field": {"id": "Ln8zz2", "type": "short_text", "ref": "person__lastName"},
        },
        {
            "type": "phone_number",
            "phone_number": "+46701234567",
            "field": {"id": "Ph2aa3", "type": "phone_number", "ref": "person.telephone.cell"},
        },
        {
            "type": "text",
            "text": VALID_PNR_12,
            "field": {"id": "Ss9bb4", "type": "short_text", "ref": "person.socialSecurityNumber"},
        },
        {
            "type": "boolean",
            "boolean": True,
            "field": {"id": "Nl1cc5", "type": "yes_no", "ref": "newsletter"},
        },
        {"type": "number", "number": 4500000, "field": {"id": "Bu3dd6", "type": "number", "ref": "budget"}},
        {"type": "date", "date": "2025-06-01", "field": {"id": "Dt5ee7", "type": "date", "ref": "visitDate"}},
        {
            "type": "text",
            "text": "Please call after five.",
            "field": {"id": "Ms6ff8", "type": "long_text", "ref": "message"},
        },
        {
            "type": "choice",
            "choice": {"label": "A friend"},
            "field": {
                "id": "Hw7gg9",
                "type": "multiple_choice",
                "ref": "7f1c2d3e-0000-4f4f-9a9a-123456789abc",
            },
        },
        {
            "type": "choices",
            "choices": {"labels": ["Kitchen", "Garden"], "other": "Garage"},
            "field": {"id": "Rm8hh0", "type": "multiple_choice", "ref": "rooms_wanted"},
        },
        {"type": "email", "email": "anna@example.com", "field": {"id": "Em9ii1", "type": "email"}},
    ]
    return {
        "event_id": "01HZXB3Q7K2TYPEFORMEVENT",
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": "a3a12ec67a1365927098a606107fac15",
            "landed_at": "2025-05-20T09:00:02Z",
            "submitted_at": "2025-05-20T09:01:44Z",
            "hidden": {"customerid": "M10001", "utm_source": "instagram"} if hidden is None else hidden,
            "calculated": {"score": 0},
            "definition": {
                "id": "lT4Z3j",
                "title": "Book a valuation",
                "fields": default_fields if fields is None else fields,
            },
            "answers": default_answers if answers is None else answers,
        },
    }


def answer(
    kind: str, value: Any, ref: str | None, field_type: str = "short_text", fid: str = "Xx1"
) -> dict[str, Any]:
    item: dict[str, Any] = {"type": kind, "field": {"id": fid, "type": field_type}}
    if ref is not None:
        item["field"]["ref"] = ref
    if kind != "none":
        item[kind] = value
    return item


def single(kind: str, value: Any, ref: str | None, **kw: Any) -> dict[str, Any]:
    title = kw.pop("title", "The question")
    fid = kw.pop("fid", "Xx1")
    return typeform_payload(
        answers=[answer(kind, value, ref, fid=fid, **kw)],
        hidden={"customerId": "M1", "person.firstName": "Anna"},
        fields=[{"id": fid, "title": title, "type": "short_text", "ref": ref}],
    )


@pytest.fixture(autouse=True)
def _no_mapping_file(monkeypatch):
    monkeypatch.delenv(typeform_module.MAPPINGS_ENV, raising=False)
    typeform_module.clear_form_mappings_cache()
    yield
    typeform_module.clear_form_mappings_cache()


def errors_of(exc: pytest.ExceptionInfo[Any]) -> dict[str, str]:
    return {d["field"]: d["reason"] for d in exc.value.details}


# ---- model path introspection ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "customerId",
        "customer_id",
        "person.firstName",
        "person.first_name",
        "person__firstName",
        "person.telephone.cell",
        "marketing.utmTags.0.name",
        "marketing__utmTags__12__value",
        "marketing.utm_tags.0",
        "wishes.0.areaIds.3",
        "wishes.0.rooms.min",
        "smsReminder",
        "sMSReminder",
        "customerid",  # case-insensitive (Typeform lower-cases hidden field names)
        "PERSON.FIRSTNAME",
    ],
)
def test_model_path_exists(path):
    assert model_path_exists(Lead, path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "nope",
        "person.nope",
        "person.firstName.more",
        "marketing.utmTags.name",  # a list needs an index
        "marketing.utmTags.x.name",
        "person..firstName",
        "customerId.0",
        "wishes.-1.rooms",
    ],
)
def test_model_path_does_not_exist(path):
    assert not model_path_exists(Lead, path)


def test_field_annotation():
    assert field_annotation(Lead, "newsletter") == (bool | None)
    assert field_annotation(Lead, "marketing.utmTags.0") is Tag
    assert field_annotation(Lead, "wishes.0.areaIds.1") is str
    assert field_annotation(Lead, "person.nope") is None


def test_unions_of_models_and_scalars():
    assert model_path_exists(Either, "payload.firstName")
    assert model_path_exists(Either, "payload.name")  # the Tag branch
    assert not model_path_exists(Either, "number.x")


def test_alias_that_differs_only_in_case_is_still_one_field():
    assert model_path_exists(Pascal, "gsm") and model_path_exists(Pascal, "GSM")
    assert model_path_exists(Pascal, "customerid") and model_path_exists(Pascal, "customer_id")


# ---- parse_body ------------------------------------------------------------------------------


def test_parse_json_object():
    assert parse_body(b'{"a": {"b": [1, 2]}}', "application/json; charset=utf-8") == {"a": {"b": [1, 2]}}


@pytest.mark.parametrize("ctype", ["application/vnd.api+json", "text/json", None, "text/plain"])
def test_parse_json_other_content_types(ctype):
    assert parse_body(b' {"a": 1}', ctype) == {"a": 1}


def test_parse_json_with_bom():
    assert parse_body('\ufeff{"a": "å"}'.encode(), "application/json") == {"a": "å"}


def test_parse_form_encoded():
    parsed = parse_body(
        b"person.firstName=Anna+Maria&message=&tag=a&tag=b&x=%C3%A5", FORM + "; charset=UTF-8"
    )
    assert isinstance(parsed, FormData)
    assert parsed == {"person.firstName": "Anna Maria", "message": "", "tag": ["a", "b"], "x": "å"}


@pytest.mark.parametrize("body", [b"", b"   \n", None])
def test_empty_body(body):
    with pytest.raises(BadRequestError, match="empty body"):
        parse_body(body or b"", "application/json")


def test_empty_form():
    with pytest.raises(BadRequestError, match="empty body"):
        parse_body(b"&&", FORM)


def test_invalid_utf8():
    with pytest.raises(BadRequestError) as info:
        parse_body(b'{"name": "\xff\xfe"}', "application/json")
    assert info.value.message == "body is not valid UTF-8"
    assert info.value.status == 400


def test_malformed_json_says_where_and_never_echoes():
    body = b'{\n  "person": {"firstName": "Secret Person Name",\n  "lastName" "Doe"}}'
    with pytest.raises(BadRequestError) as info:
        parse_body(body, "application/json")
    assert "line 3 column" in info.value.message
    assert "Secret Person Name" not in info.value.message and "Doe" not in info.value.message


def test_duplicate_keys_are_rejected_with_their_path():
    with pytest.raises(BadRequestError) as info:
        parse_body(b'{"person": {"firstName": "A", "firstName": "B"}}', "application/json")
    assert info.value.message == "duplicate key 'person.firstName'"
    with pytest.raises(BadRequestError, match="duplicate key 'customerId'"):
        parse_body(b'{"customerId": "1", "customerId": "2"}', "application/json")
    with pytest.raises(BadRequestError, match=r"duplicate key 'marketing.utmTags.1.name'"):
        parse_body(b'{"marketing": {"utmTags": [{"name": "a"}, {"name": "b", "name": "c"}]}}', None)


def test_nesting_limit():
    ok = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert parse_body(f'{{"a": {ok}}}'.encode(), "application/json")
    too_deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    with pytest.raises(BadRequestError, match="deeper than 32"):
        parse_body(f'{{"a": {too_deep}}}'.encode(), "application/json")
    with pytest.raises(BadRequestError, match="deeper than 32"):
        parse_body(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_top_level_must_be_an_object(body):
    with pytest.raises(BadRequestError, match="must be a JSON object"):
        parse_body(body, "application/json")


def test_nan_is_rejected():
    with pytest.raises(BadRequestError, match="NaN"):
        parse_body(b'{"score": NaN}', "application/json")


def test_unsupported_content_type():
    with pytest.raises(BadRequestError, match="unsupported content type 'multipart/form-data'"):
        parse_body(b"--boundary\r\n", "multipart/form-data; boundary=boundary")


# ---- native ----------------------------------------------------------------------------------


def test_native_is_passed_through_untouched():
    # Formats only: phone countries are the vendor package's (leadhooks.vendors.normalise, after validation).
    body = {"customerId": "M1", "person": {"firstName": "Anna", "telephone": {"cell": "070-123 45 67"}}}
    original = copy.deepcopy(body)
    adapted = to_native(body, Lead)
    assert adapted == AdaptedInput(format="native", data=original)
    assert body == original  # the caller's dict is not modified


def test_native_personnummer_is_not_checked():
    body = {"customerId": "M1", "person": {"firstName": "A", "socialSecurityNumber": INVALID_PNR}}
    assert to_native(body, Lead).data["person"]["socialSecurityNumber"] == INVALID_PNR


def test_native_with_python_names_keeps_them():
    body = {"customer_id": "M1", "person": {"first_name": "A", "telephone": {"home": "08-123 456 78"}}}
    adapted = to_native(body, Lead)
    assert adapted.data == body
    Lead.model_validate(adapted.data)


# ---- query parameters ------------------------------------------------------------------------


def test_query_fills_missing_path_parameter_and_ignores_others():
    adapted = to_native(
        {"person": {"firstName": "A"}}, Lead, query={"customerId": "M10001", "dryRun": "true"}
    )
    assert adapted.data == {"person": {"firstName": "A"}, "customerId": "M10001"}


def test_query_never_overrides_the_body():
    adapted = to_native({"customerId": "M1", "person": {"firstName": "A"}}, Lead, query={"customerId": "M2"})
    assert adapted.data["customerId"] == "M1"
    adapted = to_native({"customer_id": "M1", "person": {"firstName": "A"}}, Lead, query={"customerId": "M2"})
    assert adapted.data == {"customer_id": "M1", "person": {"firstName": "A"}}


def test_query_fills_a_blank_body_value():
    adapted = to_native({"customerId": "", "person": {"firstName": "A"}}, Lead, query={"customerId": "M2"})
    assert adapted.data["customerId"] == "M2"


def test_query_can_name_a_nested_field_and_is_typed():
    adapted = to_native(
        {"updatePerson": {"note": "x"}}, NestedNote, query={"updatePerson.telePhone": "0701234567"}
    )
    assert adapted.data == {"updatePerson": {"note": "x", "telePhone": "0701234567"}}
    adapted = to_native({"Name": "A"}, Pascal, query={"CustomerId": "101", "dryRun": "1"})
    assert adapted.data == {"Name": "A", "CustomerId": 101}


def test_query_merges_into_typeform_and_flat():
    adapted = to_native(typeform_payload(hidden={}), Lead, query={"customerId": "M10001"})
    assert adapted.data["customerId"] == "M10001"
    adapted = to_native(
        FormData({"person.firstName": "A"}), Lead, query={"customerId": "M10001", "dryRun": "true"}
    )
    assert adapted.data == {"person": {"firstName": "A"}, "customerId": "M10001"}
    adapted = to_native({"person.firstName": "A", "customerId": "M1"}, Lead, query={"customerId": "M2"})
    assert adapted.data["customerId"] == "M1"


# ---- Typeform --------------------------------------------------------------------------------


def test_typeform_realistic_payload_into_a_small_model():
    adapted = to_native(typeform_payload(), Lead)
    assert adapted.format == "typeform"
    assert adapted.delivery_id == "01HZXB3Q7K2TYPEFORMEVENT"
    assert adapted.data == {
        "person": {
            "firstName": "Anna",
            "lastName": "Svensson",
            "telephone": {"cell": "+46701234567"},
            "socialSecurityNumber": VALID_PNR_12,  # as given: the docs ask for no personnummer check
        },
        "newsletter": True,
        "budget": 4500000,
        "visitDate": "2025-06-01",
        "message": (
            "Please call after five.\n\n"
            "How did you hear about us?: A friend\n"
            "Which rooms matter?: Kitchen, Garden, Garage\n"
            "Email: anna@example.com\n"
            "utm_source: instagram"
        ),
        "customerId": "M10001",
    }
    assert adapted.sources["person.firstName"] == "What is your first name?"
    assert adapted.sources["person.lastName"] == "And your last name?"
    assert adapted.sources["customerId"] == "customerid"
    lead = Lead.model_validate(adapted.data)
    assert lead.person.telephone is not None and lead.person.telephone.cell == "+46701234567"


def test_typeform_unmapped_answers_are_lines_in_the_free_text_field_even_without_other_text():
    payload = single("text", "Blue", "favourite_colour", title="Favourite colour?")
    adapted = to_native(payload, Lead)
    assert adapted.data["message"] == "Favourite colour?: Blue"


def test_typeform_answer_without_ref_uses_the_title_or_the_field_id():
    payload = single("text", "Blue", None, title="Colour")
    assert to_native(payload, Lead).data["message"] == "Colour: Blue"
    payload = typeform_payload(answers=[answer("text", "Blue", None, fid="AbC")], hidden={}, fields=[])
    assert to_native(payload, Lead).data["message"] == "AbC: Blue"


def test_typeform_free_text_field_nested_in_an_object():
    payload = typeform_payload(
        answers=[answer("text", "First", "updatePerson.note"), answer("text", "Blue", "colour", fid="C1")],
        hidden={},
        fields=[{"id": "C1", "title": "Colour", "ref": "colour"}],
    )
    assert to_native(payload, NestedNote).data == {"updatePerson": {"note": "First\n\nColour: Blue"}}


def test_typeform_without_a_free_text_field_refuses_to_drop_answers():
    payload = typeform_payload(
        answers=[answer("text", "Blue", "colour", fid="C1")],
        hidden={"customerId": "M1"},
        fields=[{"id": "C1", "title": "Colour", "ref": "colour"}],
    )
    with pytest.raises(InputValidationError) as info:
        to_native(payload, NoFreeText)
    assert "colour" in errors_of(info)
    assert "Blue" not in str(info.value.details)


@pytest.mark.parametrize(
    ("kind", "value", "ref", "expected"),
    [
        (
            "choice",
            {"label": "Phone", "ref": "c1"},
            "source",
            "phone",
        ),  # matches the literal case-insensitively
        ("choice", {"other": "Carrier pigeon"}, "person.lastName", "Carrier pigeon"),
        ("choices", {"labels": ["a1", "a2"]}, "wishes.0.areaIds", ["a1", "a2"]),
        (
            "choices",
            {"labels": ["Kitchen", "Garden"], "other": "Attic"},
            "person.lastName",
            "Kitchen, Garden, Attic",
        ),
        ("boolean", False, "newsletter", False),
        ("boolean", True, "smsReminder", True),
        ("number", 7, "budget", 7),
        ("number", 3.5, "score", 3.5),
        ("number", 12345, "person.lastName", "12345"),  # a number into a text field becomes text
        ("date", "2025-06-01", "visitDate", "2025-06-01"),
        ("date", "2025-06-01T00:00:00Z", "visitDate", "2025-06-01"),
        ("email", "a@example.com", "person.lastName", "a@example.com"),
        ("url", "https://example.com", "marketing.referrer", "https://example.com"),
        (
            "file_url",
            "https://files.example.com/x.pdf",
            "marketing.referrer",
            "https://files.example.com/x.pdf",
        ),
        ("text", "House", "wishes.0.kind", "House"),
        ("text", "flat", "wishes.0.kind", "Flat"),  # enum value, any case
        ("choice", {"label": "3"}, "wishes.0.rooms.min", 3.0),
        ("text", "Ny", "marketing.utmTags.0.name", "Ny"),
    ],
)
def test_typeform_answer_types(kind, value, ref, expected):
    adapted = to_native(single(kind, value, ref), Lead)
    node: Any = adapted.data
    for segment in ref.split("."):
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    assert node == expected
    Lead.model_validate(adapted.data)


@pytest.mark.parametrize(
    ("kind", "value", "line"),
    [
        ("boolean", True, "Q: yes"),
        ("number", 4.0, "Q: 4"),
        ("choices", {"labels": ["a", "b"]}, "Q: a, b"),
        ("date", "2025-06-01T00:00:00Z", "Q: 2025-06-01"),
        (
            "payment",
            {"amount": "100.00", "last4": "4242", "name": "Card Holder", "success": True},
            "Q: 100.00 (paid)",
        ),
        (
            "multi_format",
            {"url": "https://x.example/v.mp4", "kind": "video"},
            "Q: url: https://x.example/v.mp4, kind: video",
        ),
        ("ranking_v9", ["b", "a"], "Q: b, a"),  # an answer type that does not exist yet
    ],
)
def test_typeform_answer_types_as_free_text(kind, value, line):
    adapted = to_native(single(kind, value, "not_a_path", title="Q"), Lead)
    assert adapted.data["message"] == line
    assert "Card Holder" not in adapted.data["message"] and "4242" not in adapted.data["message"]


def test_typeform_answer_without_a_type_never_crashes():
    payload = typeform_payload(
        answers=[{"field": {"id": "Q1", "ref": "x"}, "mystery": 5}], hidden={}, fields=[]
    )
    assert to_native(payload, Lead).data["message"] == "x: 5"


def test_typeform_wrong_type_is_left_for_the_model_and_sources_name_the_question():
    adapted = to_native(single("text", "lots", "budget", title="Budget?"), Lead)
    assert adapted.data["budget"] == "lots"
    assert adapted.sources["budget"] == "Budget?"


def test_typeform_hidden_fields_are_paths_and_strings_are_typed():
    payload = typeform_payload(
        answers=[],
        hidden={
            "customerid": "M1",
            "person__firstname": "Anna",
            "newsletter": "true",
            "budget": "1 500 000",
            "score": "2,5",
            "gclid": "abc",
            "empty": "",
        },
    )
    adapted = to_native(payload, Lead)
    assert adapted.data == {
        "customerId": "M1",
        "person": {"firstName": "Anna"},
        "newsletter": True,
        "budget": 1500000,
        "score": 2.5,
        "message": "gclid: abc",
    }


def test_typeform_mapping_file(tmp_path, monkeypatch):
    mapping = {"lT4Z3j": {"7f1c2d3e-0000-4f4f-9a9a-123456789abc": "marketing.referrer"}, "other": {}}
    path = tmp_path / "forms.json"
    path.write_text(json.dumps(mapping), encoding="utf-8")
    monkeypatch.setenv(typeform_module.MAPPINGS_ENV, str(path))
    adapted = to_native(typeform_payload(), Lead)
    assert adapted.data["marketing"] == {"referrer": "A friend"}
    assert "How did you hear" not in adapted.data["message"]
    assert adapted.sources["marketing.referrer"] == "How did you hear about us?"


def test_typeform_mapping_onto_a_path_already_answered_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "forms.json"
    path.write_text(json.dumps({"lT4Z3j": {"Em9ii1": "person.lastName"}}), encoding="utf-8")
    monkeypatch.setenv(typeform_module.MAPPINGS_ENV, str(path))
    with pytest.raises(InputValidationError) as info:
        to_native(typeform_payload(), Lead)
    assert "Email" in errors_of(info)["person.lastName"]


def test_typeform_mapping_by_field_id(tmp_path, monkeypatch):
    path = tmp_path / "forms.json"
    path.write_text(json.dumps({"lT4Z3j": {"Em9ii1": "marketing.referrer"}}), encoding="utf-8")
    monkeypatch.setenv(typeform_module.MAPPINGS_ENV, str(path))
    adapted = to_native(typeform_payload(), Lead)
    assert adapted.data["marketing"] == {"referrer": "anna@example.com"}
    assert "Email:" not in adapted.data["message"]


def test_typeform_mapping_file_is_read_once(tmp_path, monkeypatch):
    path = tmp_path / "forms.json"
    path.write_text(json.dumps({"lT4Z3j": {"Em9ii1": "marketing.referrer"}}), encoding="utf-8")
    monkeypatch.setenv(typeform_module.MAPPINGS_ENV, str(path))
    to_native(typeform_payload(), Lead)
    path.write_text("{broken", encoding="utf-8")
    assert to_native(typeform_payload(), Lead).data["marketing"] == {"referrer": "anna@example.com"}


@pytest.mark.parametrize("content", ["{broken", "[]", '{"form": {"ref": 5}}', '{"form": []}'])
def test_typeform_bad_mapping_file_is_a_configuration_error(tmp_path, monkeypatch, content):
    path = tmp_path / "forms.json"
    path.write_text(content, encoding="utf-8")
    monkeypatch.setenv(typeform_module.MAPPINGS_ENV, str(path))
    with pytest.raises(ConfigurationError):
        to_native(typeform_payload(), Lead)


def test_typeform_missing_mapping_file(monkeypatch, tmp_path):
    monkeypatch.setenv(typeform_module.MAPPINGS_ENV, str(tmp_path / "nope.json"))
    with pytest.raises(ConfigurationError, match="LEADHOOKS_FORM_MAPPINGS"):
        to_native(typeform_payload(), Lead)


def test_typeform_form_response_must_be_an_object():
    with pytest.raises(BadRequestError, match="form_response"):
        to_native({"event_id": "x", "form_response": "nope"}, Lead)


def test_typeform_two_answers_for_one_field_are_reported():
    payload = typeform_payload(
        answers=[
            answer("text", "Anna", "person.firstName", fid="A"),
            answer("text", "Bo", "person__firstName", fid="B"),
        ],
        hidden={"customerId": "M1"},
        fields=[],
    )
    with pytest.raises(InputValidationError) as info:
        to_native(payload, Lead)
    assert "person.firstName" in errors_of(info)
    assert "Anna" not in str(info.value.details) and "Bo'" not in str(info.value.details)


# ---- flat ------------------------------------------------------------------------------------


def test_flat_dotted_json():
    body = {
        "customerId": "M1",
        "person.firstName": "Anna",
        "person.telephone.cell": "0701234567",
        "marketing.utmTags.0.name": "utm_source",
        "marketing.utmTags.0.value": "google",
        "marketing.utmTags.1.name": "utm_medium",
        "wishes.0.areaIds": ["a1", "a2"],
        "wishes.0.rooms.min": 3,
    }
    adapted = to_native(body, Lead)
    assert adapted.format == "flat"
    assert adapted.data == {
        "customerId": "M1",
        "person": {"firstName": "Anna", "telephone": {"cell": "0701234567"}},
        "marketing": {"utmTags": [{"name": "utm_source", "value": "google"}, {"name": "utm_medium"}]},
        "wishes": [{"areaIds": ["a1", "a2"], "rooms": {"min": 3}}],
    }
    assert adapted.delivery_id is None
    Lead.model_validate(adapted.data)


def test_flat_zapier_double_underscore():
    body = {
        "customer_id": "M1",
        "person__firstName": "Anna",
        "marketing__utmTags__1__name": "b",
        "marketing__utmTags__0__name": "a",
    }
    adapted = to_native(body, Lead)
    assert adapted.data == {
        "customerId": "M1",
        "person": {"firstName": "Anna"},
        "marketing": {"utmTags": [{"name": "a"}, {"name": "b"}]},
    }
    assert adapted.sources["person.firstName"] == "person__firstName"


def test_flat_form_encoded_with_list_indices_and_typed_values():
    raw = (
        b"customerId=M1&person.firstName=Anna&person__lastName=&newsletter=true&budget=2500000&score=4.5"
        b"&smsReminder=false&marketing.utmTags.0.name=src&marketing.utmTags.0.value=fb"
        b"&wishes.0.areaIds.0=x&wishes.0.areaIds.1=y&source=web&visitDate=2025-06-01"
    )
    adapted = to_native(parse_body(raw, FORM), Lead)
    assert adapted.data == {
        "customerId": "M1",
        "person": {"firstName": "Anna"},
        "newsletter": True,
        "budget": 2500000,
        "score": 4.5,
        "smsReminder": False,
        "marketing": {"utmTags": [{"name": "src", "value": "fb"}]},
        "wishes": [{"areaIds": ["x", "y"]}],
        "source": "web",
        "visitDate": "2025-06-01",
    }
    lead = Lead.model_validate(adapted.data)
    assert lead.newsletter is True and lead.budget == 2500000


def test_flat_strings_stay_strings_unless_the_field_is_bool_int_or_float():
    adapted = to_native(
        FormData({"customerId": "123", "person.firstName": "true", "person.lastName": "42"}), Lead
    )
    assert adapted.data == {"customerId": "123", "person": {"firstName": "true", "lastName": "42"}}


def test_flat_unconvertible_values_are_left_for_the_model():
    adapted = to_native(FormData({"budget": "a lot", "newsletter": "maybe", "score": "1,500"}), Lead)
    assert adapted.data == {"budget": "a lot", "newsletter": "maybe", "score": "1,500"}


def test_flat_repeated_form_keys_fill_a_list():
    adapted = to_native(parse_body(b"tags=a&tags=b&updatePerson.note=x", FORM), NestedNote)
    assert adapted.data == {"tags": ["a", "b"], "updatePerson": {"note": "x"}}
    adapted = to_native(parse_body(b"tags=a&updatePerson.note=x", FORM), NestedNote)
    assert adapted.data["tags"] == ["a"]  # one value for a list field is a one-item list


def test_flat_unknown_keys_go_to_the_free_text_field():
    adapted = to_native(
        FormData(
            {"customerId": "M1", "person.firstName": "A", "message": "Hi", "zap_id": "123", "page": "/x"}
        ),
        Lead,
    )
    assert adapted.data["message"] == "Hi\n\nzap_id: 123\npage: /x"
    adapted = to_native(FormData({"CustomerId": "101", "Name": "A", "Referrer": "portal"}), Pascal)
    assert adapted.data == {"CustomerId": 101, "Name": "A", "Content": "Referrer: portal"}


def test_flat_nested_values_under_a_flat_key():
    body = {
        "customerId": "M1",
        "person.firstName": "A",
        "marketing": {"referrer": "x", "utmTags": [{"name": "n"}]},
    }
    adapted = to_native(body, Lead)
    assert adapted.data["marketing"] == {"referrer": "x", "utmTags": [{"name": "n"}]}


def test_flat_gap_in_list_indices_is_an_error_naming_the_key():
    body = FormData(
        {"marketing.utmTags.0.name": "a", "marketing.utmTags.2.name": "c", "person.firstName": "A"}
    )
    with pytest.raises(InputValidationError) as info:
        to_native(body, Lead)
    reason = errors_of(info)["marketing.utmTags"]
    assert "'marketing.utmTags.2.name'" in reason and "1" in reason


def test_flat_huge_index_is_an_error_not_a_huge_list():
    with pytest.raises(InputValidationError):
        to_native(FormData({"marketing.utmTags.999999.name": "a"}), Lead)


def test_flat_value_and_object_at_one_path_is_reported():
    with pytest.raises(InputValidationError) as info:
        to_native({"person": "Anna", "person.firstName": "Anna"}, Lead)
    assert "person" in errors_of(info)


def test_flat_no_free_text_field():
    with pytest.raises(InputValidationError) as info:
        to_native(FormData({"customerId": "M1", "colour": "blue"}), NoFreeText)
    assert list(errors_of(info)) == ["colour"]


def test_flat_empty_values_are_omitted():
    adapted = to_native(
        FormData({"customerId": "M1", "person.firstName": "A", "person.lastName": " ", "message": ""}), Lead
    )
    assert adapted.data == {"customerId": "M1", "person": {"firstName": "A"}}


# ---- phones and personnummer: formats only, values as given --------------------------------------


@pytest.mark.parametrize("raw", ["070-123 45 67", "0046701234567", "not a phone", "12"])
def test_phone_fields_are_left_as_given(raw):
    # What a phone number means (its country) is the vendor package's: tests/unit/test_normalise.py.
    adapted = to_native(FormData({"person.telephone.other": raw, "person.telephone.work": raw}), Lead)
    assert adapted.data["person"]["telephone"] == {"other": raw, "work": raw}


@pytest.mark.parametrize("number", [VALID_PNR, VALID_PNR_12, INVALID_PNR, "12345", "AB123456"])
def test_personnummer_is_sent_as_given(number):
    # The docs ask for no check (isForeignSocialSecurityNumber allows any format): none is made.
    adapted = to_native(FormData({"person.socialSecurityNumber": number}), Lead)
    assert adapted.data["person"]["socialSecurityNumber"] == number
    typeform = typeform_payload()
    for item in typeform["form_response"]["answers"]:
        if item["field"].get("ref") == "person.socialSecurityNumber":
            item["text"] = number
    adapted = to_native(typeform, Lead)
    assert adapted.data["person"]["socialSecurityNumber"] == number


def test_foreign_social_security_number_flag_is_typed():
    body = FormData(
        {"person.socialSecurityNumber": "AB123456", "person.isForeignSocialSecurityNumber": "true"}
    )
    adapted = to_native(body, Lead)
    assert adapted.data["person"] == {
        "socialSecurityNumber": "AB123456",
        "isForeignSocialSecurityNumber": True,
    }


# ---- detection and robustness ----------------------------------------------------------------


def test_detection():
    assert to_native({"customerId": "M1", "person": {"firstName": "A"}}, Lead).format == "native"
    assert to_native({"person.firstName": "A"}, Lead).format == "flat"
    assert to_native({"person__firstName": "A"}, Lead).format == "flat"
    assert to_native(FormData({"customerId": "M1"}), Lead).format == "flat"
    assert to_native(typeform_payload(), Lead).format == "typeform"


def test_payload_must_be_an_object():
    with pytest.raises(BadRequestError):
        to_native([1, 2], Lead)


def test_free_text_field_that_is_not_a_model_path_is_a_configuration_error():
    class Broken(Camel):
        FREE_TEXT_FIELD: ClassVar[str | None] = "nowhere"
        name: str | None = None

    with pytest.raises(ConfigurationError):
        to_native(FormData({"colour": "blue"}), Broken)


def test_end_to_end_from_bytes():
    raw = json.dumps(typeform_payload()).encode()
    adapted = to_native(parse_body(raw, "application/json"), Lead, query={"dryRun": "true"})
    assert Lead.model_validate(adapted.data).customer_id == "M10001"


# ---- the real operation models ---------------------------------------------------------------

vitec = pytest.importorskip("leadhooks.vendors.vitec.models")
omnicasa = pytest.importorskip("leadhooks.vendors.omnicasa.models")


def test_typeform_into_person_lead_request():
    payload = typeform_payload(
        hidden={
            "customerid": "M10001",
            "leadsource__leadtype": "AcceptObjectFlow",
            "leadsource__name": "Typeform",
        }
    )
    adapted = to_native(payload, vitec.PersonLeadRequest)
    lead = vitec.PersonLeadRequest.model_validate(adapted.data)
    body = lead.vendor_body()
    assert lead.path_params() == {"customerId": "M10001"}
    assert body["person"] == {
        "firstName": "Anna",
        "lastName": "Svensson",
        "socialSecurityNumber": VALID_PNR_12,
        "telephone": {"cell": "+46701234567"},
    }
    assert body["leadSource"]["name"] == "Typeform"
    # newsletter / budget / visitDate are not person-lead fields: they join the message as lines
    assert body["message"].startswith("Please call after five.\n\n")
    for line in (
        "Send me the newsletter?: yes",
        "Budget (SEK): 4500000",
        "When can you visit?: 2025-06-01",
        "How did you hear about us?: A friend",
        "Which rooms matter?: Kitchen, Garden, Garage",
        "Email: anna@example.com",
    ):
        assert line in body["message"].splitlines()


def test_person_lead_query_customer_id_and_flat_marketing():
    body = FormData(
        {
            "person.firstName": "Anna",
            "person__email__emailAddress": "anna@example.com",
            "leadSource.leadType": "AcceptObjectFlow",
            "leadSource.name": "Zapier",
            "marketing.utmTags.0.name": "utm_source",
            "marketing.utmTags.0.value": "facebook",
            "person.isForeignSocialSecurityNumber": "false",
        }
    )
    adapted = to_native(body, vitec.PersonLeadRequest, query={"customerId": "M10001", "dryRun": "true"})
    lead = vitec.PersonLeadRequest.model_validate(adapted.data)
    assert lead.path_params() == {"customerId": "M10001"}
    assert lead.vendor_body()["marketing"] == {"utmTags": [{"name": "utm_source", "value": "facebook"}]}
    assert lead.vendor_body()["person"]["isForeignSocialSecurityNumber"] is False


def test_person_lead_personnummer_without_checksum_is_sent():
    body = FormData({"person.socialSecurityNumber": INVALID_PNR, "customerId": "M1", "leadSource.name": "x"})
    lead = vitec.PersonLeadRequest.model_validate(to_native(body, vitec.PersonLeadRequest).data)
    assert lead.vendor_body()["person"] == {"socialSecurityNumber": INVALID_PNR}


def test_area_interest_flat_with_nested_free_text():
    body = {
        "updatePerson.customerId": "M10001",
        "updatePerson.firstName": "Anna",
        "updatePerson.cellPhone": "0701234567",
        "updatePerson.note": "Wants a view",
        "lookingForAccommodations.0.areaIds.0": "area-1",
        "lookingForAccommodations.0.house": "true",
        "lookingForAccommodations.0.price.max": "3 000 000",
        "notifyUser": "false",
        "budget_note": "flexible",
    }
    adapted = to_native(body, vitec.AreaInterestRequest)
    model = vitec.AreaInterestRequest.model_validate(adapted.data)
    normalise_phones(model, lambda: "SE")  # the pipeline's next step
    sent = model.vendor_body()
    assert sent["updatePerson"]["cellPhone"] == "+46701234567"
    assert sent["updatePerson"]["note"] == "Wants a view\n\nbudget_note: flexible"
    assert sent["lookingForAccommodations"] == [
        {"areaIds": ["area-1"], "house": True, "price": {"max": 3000000.0}}
    ]


def test_viewing_participant_path_parameters_from_the_query():
    query = {
        "customerId": "M10001",
        "viewingId": "v-m10001-1",
        "timeSlotId": "t-m10001-1a",
        "contactId": "c-m10001-001",
    }
    payload = single("boolean", True, "smsReminder")
    payload["form_response"]["hidden"] = {}
    adapted = to_native(payload, vitec.ViewingParticipantRequest, query={**query, "dryRun": "true"})
    model = vitec.ViewingParticipantRequest.model_validate(adapted.data)
    assert model.path_params() == query
    assert model.vendor_body() == {"smsReminder": True}


def test_contact_on_me_form_encoded():
    raw = (
        b"CustomerId=101&Name=Peeters&FirstName=Jan&GSM=0475+12+34+56&IsReceivedEmail=true"
        b"&Content=Hello&Ref=portal"
    )
    adapted = to_native(parse_body(raw, FORM), omnicasa.ContactOnMeRequest)
    model = omnicasa.ContactOnMeRequest.model_validate(adapted.data)
    normalise_phones(model, lambda: "BE")  # the pipeline's next step, in Omnicasa's default country
    body = model.vendor_body()
    assert body["GSM"] == "+32475123456"
    assert body["IsReceivedEmail"] is True
    assert body["Content"] == "Hello\n\nRef: portal"
    assert model.customer_id == "101"


def test_real_model_paths():
    assert model_path_exists(vitec.PersonLeadRequest, "person.telephone.cell")
    assert model_path_exists(vitec.PersonLeadRequest, "marketing.utmTags.0.value")
    assert model_path_exists(vitec.AreaInterestRequest, "lookingForAccommodations.0.polygon.2.latitud")
    assert model_path_exists(vitec.AreaInterestRequest, "updatePerson.gDPRApprovalDate")
    assert model_path_exists(vitec.ViewingParticipantRequest, "sMSReminder")
    assert model_path_exists(omnicasa.ContactOnMeRequest, "gsm")
    assert not model_path_exists(vitec.PersonLeadRequest, "person.telephone.fax")


def test_docs_worked_example_person_lead():
    """The table in docs/inbound.md, end to end."""
    fields = [
        {"id": "f1", "title": "What is your first name?", "ref": "person.firstName"},
        {"id": "f2", "title": "And your last name?", "ref": "person__lastName"},
        {"id": "f3", "title": "Your e-mail", "ref": "person.email.emailAddress"},
        {"id": "f4", "title": "Mobile", "ref": "person.telephone.cell"},
        {"id": "f5", "title": "Personnummer", "ref": "person.socialSecurityNumber"},
        {"id": "f6", "title": "Anything else?", "ref": "message"},
        {"id": "f7", "title": "How did you hear about us?", "ref": "0b5e2a8c-auto-generated"},
    ]
    answers = [
        answer("text", "Anna", "person.firstName", fid="f1"),
        answer("text", "Svensson", "person__lastName", fid="f2"),
        answer("email", "anna@example.com", "person.email.emailAddress", fid="f3"),
        answer("phone_number", "070-123 45 67", "person.telephone.cell", fid="f4"),
        answer("text", "8112289874", "person.socialSecurityNumber", fid="f5"),
        answer("text", "Please call after five.", "message", fid="f6"),
        answer("choice", {"label": "A friend"}, "0b5e2a8c-auto-generated", fid="f7"),
    ]
    hidden = {"leadsource__leadtype": "AcceptObjectFlow", "leadsource__name": "Typeform"}
    payload = typeform_payload(answers=answers, hidden=hidden, fields=fields)
    adapted = to_native(payload, vitec.PersonLeadRequest, query={"customerId": "M10001"})
    lead = vitec.PersonLeadRequest.model_validate(adapted.data)
    normalise_phones(lead, lambda: "SE")  # the pipeline's next step
    assert lead.path_params() == {"customerId": "M10001"}
    assert lead.vendor_body() == {
        "person": {
            "firstName": "Anna",
            "lastName": "Svensson",
            "socialSecurityNumber": "8112289874",
            "email": {"emailAddress": "anna@example.com"},
            "telephone": {"cell": "+46701234567"},
        },
        "leadSource": {"leadType": "AcceptObjectFlow", "name": "Typeform"},
        "message": "Please call after five.\n\nHow did you hear about us?: A friend",
    }
