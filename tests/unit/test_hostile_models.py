"""Hostile input against every operation model and the inbound adapters (issue #6, item 3).

Properties: whatever arrives, the models raise nothing but pydantic `ValidationError` and the adapters
nothing but `BadRequestError` / `InputValidationError`; every error names a field path and never
repeats a submitted value; whatever passes can be hashed for its deliveryId and sent (strict JSON,
UTF-8) to a vendor path that keeps its shape.

Profiles: `HYPOTHESIS_PROFILE=reliability` runs thousands of examples per property (`make
reliability`); the default keeps `make test` quick (about 100 per property).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from leadhooks.catalog import write_operation
from leadhooks.errors import BadRequestError, InputValidationError, LeadhooksError
from leadhooks.inbound.adapters import parse_body, to_native
from leadhooks.models.api import field_errors_from_validation
from leadhooks.vendors.normalise import normalise_phones
from leadhooks.vendors.omnicasa.models import ContactOnMeRequest
from leadhooks.vendors.vitec.models import (
    AreaInterestRequest,
    ContactsQuery,
    PersonLeadRequest,
    ViewingParticipantRequest,
)
from leadhooks.vendors.vitec.operations import contacts_request
from pydantic import BaseModel, ValidationError

# No deadline (the first validation builds the deferred models), no example database left behind.
_BASE = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("leadhooks-default", _BASE, max_examples=100)
settings.register_profile("reliability", _BASE, max_examples=1_000)
PROFILE = settings.get_profile(
    "reliability" if os.environ.get("HYPOTHESIS_PROFILE") == "reliability" else "leadhooks-default"
)

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "bodies"
ECHO = "qz7echo"  # marks submitted values: no error message or reason may contain it
WRITE_MODELS: dict[str, type[BaseModel]] = {
    "vitec_person_lead": PersonLeadRequest,
    "vitec_area_interest": AreaInterestRequest,
    "vitec_viewing_participant": ViewingParticipantRequest,
    "omnicasa_contact_on_me": ContactOnMeRequest,
}
FIXTURES = {name: json.loads((BODIES / f"{name}.json").read_text()) for name in WRITE_MODELS}
FORM = "application/x-www-form-urlencoded"
ADAPTER_ERRORS = (BadRequestError, InputValidationError)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}.{index}"))
        return out
    return {prefix: value}


def _branches(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    paths: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _branches(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _branches(item, (*prefix, index))
    return paths


FLAT_PATHS = sorted({path for body in FIXTURES.values() for path in _flatten(body)})

# ---- strategies ------------------------------------------------------------------------------------

# Text that real forms send and breaks naive code: RTL, combining marks, emoji, controls, null bytes.
TRICKY = (
    "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd", "\u202egnp.exe", "e\u0301\u0301",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\u200b\ufeff", "\u0000", "a\u0000b", "\x1b[0m",
    "\u2028", "\ufffd", "\U0010ffff", "..", ".", "../../CRM", "%2e%2e/", "?x=1", "' OR 1=1 --",
    "<script>", " ", "", "1,5", "1e400", "NaN", "inf", "-0", "0x10", "٣",
)  # fmt: skip
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(lambda t: t + ECHO),
    # past each documented limit (200 KB strings: test_200_kb_in_every_string)
    st.sampled_from([21, 31, 41, 61, 5_000]).map(lambda n: ECHO + "x" * n),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63, 1e308, -0.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
keys = st.one_of(st.text(max_size=20), st.sampled_from(FLAT_PATHS), st.sampled_from(TRICKY))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=6), st.dictionaries(keys, children, max_size=6)),
    max_leaves=40,
)


@st.composite
def mutated_fixture(draw: st.DrawFn, name: str) -> Any:
    """A valid body with one to three values replaced by anything JSON (mostly of the wrong type)."""
    body = json.loads(json.dumps(FIXTURES[name]))
    paths = _branches(body)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths))
        node: Any = body
        for step in path[:-1]:
            node = _child(node, step)
        last = path[-1]
        # Only where the parent is still the container the path expects (JSON has no integer keys).
        if _settable(node, last):
            node[last] = draw(json_values)
    return body


def _child(node: Any, step: str | int) -> Any:
    """`node[step]` if it is there, else None (an earlier mutation replaced a parent)."""
    if isinstance(node, dict) and isinstance(step, str):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and _has(node, step):
        return node[step]
    return None


def _has(node: list[Any], index: int) -> bool:
    return 0 <= index < len(node)


def _settable(node: Any, step: str | int) -> bool:
    """A key of an object, or an existing index of a list."""
    if isinstance(node, dict):
        return isinstance(step, str)
    return isinstance(node, list) and isinstance(step, int) and _has(node, step)


def deep_json(levels: int, kind: str) -> bytes:
    if kind == "object":
        return b'{"a":' * levels + b"1" + b"}" * levels
    return b'{"a":' + b"[" * levels + b"]" * levels + b"}"


@st.composite
def raw_json(draw: st.DrawFn) -> bytes:
    """JSON text the json module would not write: duplicate keys, NaN, huge numbers, lone surrogates."""
    choice = draw(st.integers(min_value=0, max_value=6))
    if choice == 0:
        key = draw(st.sampled_from(["customerId", "person", "a.b", "form_response", "Name"]))
        return f'{{"{key}": {draw(st.integers())}, "x": 1, "{key}": "again"}}'.encode()
    if choice == 1:
        constant = draw(
            st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "1" * 5000, "-" + "9" * 4400])
        )
        return f'{{"customerId": "M1", "price": {constant}}}'.encode()
    if choice == 2:
        surrogate = draw(st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "a\\udc00b"]))
        where = draw(st.sampled_from(["value", "key"]))
        return (f'{{"{surrogate}": 1}}' if where == "key" else f'{{"message": "{surrogate}"}}').encode()
    if choice == 3:
        return deep_json(
            draw(st.integers(min_value=30, max_value=1200)), draw(st.sampled_from(["object", "list"]))
        )
    if choice == 4:
        return draw(st.binary(max_size=200))
    if choice == 5:
        return json.dumps(draw(json_values)).encode()
    pairs = draw(st.lists(st.tuples(keys, texts), max_size=8))
    return json.dumps(dict(pairs)).encode()[:-1] + b', "dup": 1, "dup": 2}' if pairs else b'{"d": 1, "d": 2}'


@st.composite
def form_body(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(keys, st.one_of(texts, numbers.map(str))), max_size=10))
    raw = urlencode(pairs).encode()
    garbage = draw(st.sampled_from([b"", b"&&==&%zz", b"&a", b"&%ff%fe=%00", b"&" + b"x=1&" * 1001]))
    return raw + garbage


@st.composite
def typeform_payload(draw: st.DrawFn) -> dict[str, Any]:
    answer_types = ["text", "email", "choice", "choices", "boolean", "number", "date", "payment", "url",
                    "phone_number", "matrix", "ranking", "multi_format", "hologram", "file_url"]  # fmt: skip
    answers = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        kind = draw(st.one_of(st.sampled_from(answer_types), st.text(max_size=8), st.integers()))
        ref = draw(st.one_of(st.sampled_from(FLAT_PATHS), st.text(max_size=20), st.none(), st.integers()))
        answer: Any = {"type": kind, "field": {"ref": ref, "id": draw(st.text(max_size=5))}}
        if isinstance(kind, str):
            answer[kind] = draw(json_values)
        if draw(st.booleans()):
            answer = draw(json_values)  # not even an object
        answers.append(answer)
    response: dict[str, Any] = {"answers": answers}
    if draw(st.booleans()):
        response["hidden"] = draw(st.dictionaries(keys, json_values, max_size=5))
    if draw(st.booleans()):
        response["definition"] = {"fields": draw(st.lists(json_values, max_size=4))}
    payload: dict[str, Any] = {"form_response": response if draw(st.integers(0, 9)) else draw(json_values)}
    if draw(st.booleans()):
        payload["event_id"] = draw(st.one_of(texts, st.integers()))
    return payload


QUERY_NAMES = ["customerId", "viewingId", "timeSlotId", "contactId", "updatePerson.customerId", "dryRun",
               "person.firstName", "marketing.utmTags.0.name"]  # fmt: skip
queries = st.dictionaries(
    st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=10)),
    st.one_of(st.text(max_size=40), st.sampled_from(TRICKY)),
    max_size=4,
)  # fmt: skip

# ---- checks ----------------------------------------------------------------------------------------


def _names_fields_without_echo(exc: BaseException) -> None:
    """Every error names a field path (or header, or `body`) and repeats no marked submitted value."""
    if isinstance(exc, ValidationError):
        errors = [e.model_dump() for e in field_errors_from_validation(exc)]
        message = ""
    else:
        assert isinstance(exc, LeadhooksError)
        errors, message = list(exc.details), exc.message
    assert errors, f"{type(exc).__name__} without details: {message[:200]}"
    for error in errors:
        assert isinstance(error.get("field"), str) and error["field"], error
        assert isinstance(error.get("reason"), str) and error["reason"], error
        assert ECHO not in str(error["reason"]), "a reason repeats a submitted value"
    assert ECHO not in message, "the message repeats a submitted value"


def _sendable(model: BaseModel, operation: str | None) -> None:
    """A model that validated can go to the vendor: strict JSON, UTF-8, and a path that keeps its shape."""
    if operation is None:
        assert isinstance(model, ContactsQuery)
        paths = [contacts_request(model.customer_id, chunk).path for chunk in model.chunks()]
    else:
        spec = write_operation(operation)
        assert spec is not None
        vendor_request = spec.describe(model)
        json.dumps(vendor_request.body, allow_nan=False).encode("utf-8")
        paths = [vendor_request.path]
    for path in paths:
        path = path.replace("{secretKey}", "secret")  # Omnicasa's key, filled in by the client
        sent = requests.Request("POST", "http://vendor.invalid/" + path).prepare().path_url
        assert sent == "/" + path, f"the HTTP client would turn {path!r} into {sent!r}"


def _validate(model_cls: type[BaseModel], data: Any, operation: str | None) -> None:
    try:
        model = model_cls.model_validate(data)
    except ValidationError as exc:
        _names_fields_without_echo(exc)
        return
    normalise_phones(model, lambda: "SE")  # what the pipeline does next, on hostile phone text too
    _sendable(model, operation)


def _adapt(payload: Any, model_cls: type[BaseModel], query: dict[str, str], operation: str) -> None:
    try:
        adapted = to_native(payload, model_cls, query=query)
    except ADAPTER_ERRORS as exc:
        _names_fields_without_echo(exc)
        return
    # The deliveryId hash and the failure envelope need the adapted body as UTF-8 JSON.
    json.dumps(adapted.data, sort_keys=True, ensure_ascii=False).encode("utf-8")
    _validate(model_cls, adapted.data, operation)


# ---- properties ------------------------------------------------------------------------------------

MODEL_CASES = [*WRITE_MODELS.items()]


@PROFILE
@pytest.mark.parametrize(("operation", "model_cls"), MODEL_CASES, ids=list(WRITE_MODELS))
@given(data=json_values)
def test_models_take_any_json_value(operation: str, model_cls: type[BaseModel], data: Any) -> None:
    _validate(model_cls, data, operation)


@PROFILE
@pytest.mark.parametrize(("operation", "model_cls"), MODEL_CASES, ids=list(WRITE_MODELS))
@given(st.data())
def test_models_take_wrong_types_in_valid_bodies(
    operation: str, model_cls: type[BaseModel], data: st.DataObject
) -> None:
    _validate(model_cls, data.draw(mutated_fixture(operation)), operation)


@pytest.mark.parametrize("operation", list(WRITE_MODELS))
def test_200_kb_in_every_string(operation: str) -> None:
    """Huge strings: one at a time in every field of a valid body, native and flat."""
    huge = ECHO + "x" * 200_000
    body = FIXTURES[operation]
    flat = _flatten(body)
    for key, value in flat.items():
        if isinstance(value, str):
            _adapt({**flat, key: huge}, WRITE_MODELS[operation], {}, operation)
    for path in _branches(body):
        mutated = json.loads(json.dumps(body))
        node: Any = mutated
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = huge
        _validate(WRITE_MODELS[operation], mutated, operation)


@PROFILE
@given(
    customer=st.one_of(texts, numbers, st.none()), ids=st.one_of(json_values, st.lists(texts, max_size=50))
)
@example(customer="M10001", ids="..")
@example(customer=".", ids="c-1")
@example(customer="M10001", ids="c-1,.,..")
def test_contacts_query_takes_anything(customer: Any, ids: Any) -> None:
    _validate(ContactsQuery, {"customerId": customer, "ids": ids}, None)


CONTENT_TYPES = [None, "application/json", FORM, "text/plain", "application/xml", "application/vnd.x+json",
                 "multipart/form-data", ";;", "APPLICATION/JSON"]  # fmt: skip


@PROFILE
@given(
    raw=st.one_of(raw_json(), form_body(), st.binary(max_size=300)),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_parse_body_only_raises_bad_request(raw: bytes, content_type: str | None) -> None:
    try:
        parsed = parse_body(raw, content_type)
    except BadRequestError as exc:
        _names_fields_without_echo(exc)
        return
    assert isinstance(parsed, dict)


@PROFILE
@pytest.mark.parametrize(("operation", "model_cls"), MODEL_CASES, ids=list(WRITE_MODELS))
@given(st.data())
def test_to_native_takes_any_format(operation: str, model_cls: type[BaseModel], data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["native", "mutated", "typeform", "flat", "form", "raw"]))
    query = data.draw(queries)
    payload: Any
    if kind == "native":
        payload = data.draw(json_values)
    elif kind == "mutated":
        payload = data.draw(mutated_fixture(operation))
    elif kind == "typeform":
        payload = data.draw(typeform_payload())
    elif kind == "flat":
        flat = _flatten(FIXTURES[operation])
        extra = data.draw(
            st.dictionaries(st.one_of(st.sampled_from(FLAT_PATHS), keys), json_values, max_size=6)
        )
        payload = {**flat, **extra, "x.y": data.draw(texts)}
    else:
        raw = data.draw(form_body()) if kind == "form" else data.draw(raw_json())
        try:
            payload = parse_body(raw, FORM if kind == "form" else "application/json")
        except BadRequestError as exc:
            _names_fields_without_echo(exc)
            return
    _adapt(payload, model_cls, {str(k): str(v) for k, v in query.items()}, operation)


# ---- the bugs this suite found, as plain regressions -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"message": "\\ud800"}', "message"),
        (b'{"person": {"firstName": "a\\udfffb"}}', "person.firstName"),
        (b'{"person": {"\\ud83d": 1}}', "person"),
        (b'{"\\ud800": 1}', "body"),
        (b'{"form_response": {"answers": [{"text": "\\udc00"}]}}', "form_response.answers.0.text"),
    ],
)
def test_lone_surrogate_escape_is_a_400_naming_where(raw: bytes, field: str) -> None:
    """Was a 500: the deliveryId hash encodes the body as UTF-8, which a lone surrogate cannot be."""
    with pytest.raises(BadRequestError) as info:
        parse_body(raw, "application/json")
    assert [d["field"] for d in info.value.details] == [field]


def test_integer_beyond_the_digit_limit_is_a_400() -> None:
    """Was a 500: json.loads raises a plain ValueError for integers over 4,300 digits."""
    with pytest.raises(BadRequestError) as info:
        parse_body(b'{"CustomerId": ' + b"1" * 5000 + b"}", "application/json")
    assert info.value.details == [{"field": "body", "reason": "number too long"}]


def test_form_integer_beyond_the_digit_limit_is_a_field_error() -> None:
    """Was a 500: the flat adapter converted the digits with int() outside pydantic."""
    payload = parse_body(b"updatePerson.customerId=M10001&updatePerson.leadScore=" + b"9" * 5000, FORM)
    adapted = to_native(payload, AreaInterestRequest)
    with pytest.raises(ValidationError) as info:
        AreaInterestRequest.model_validate(adapted.data)
    assert "updatePerson.leadScore" in {e.field for e in field_errors_from_validation(info.value)}


@pytest.mark.parametrize("number", ["1e400", "-1e400", "Infinity", "inf", "nan", "1" * 400])
def test_non_finite_numbers_are_rejected_not_queued(number: str) -> None:
    """Was a 202 `queued`: inf passed the model, then could never be sent as JSON (retried forever)."""
    body = (
        f"updatePerson.customerId=M1&lookingForAccommodations.0.house=1&presentAccommodation.price={number}"
    )
    adapted = to_native(parse_body(body.encode(), FORM), AreaInterestRequest)
    with pytest.raises(ValidationError) as info:
        AreaInterestRequest.model_validate(adapted.data)
    assert "presentAccommodation.price" in {e.field for e in field_errors_from_validation(info.value)}


def test_non_finite_json_number_in_a_coordinate_is_rejected() -> None:
    body = json.loads(json.dumps(FIXTURES["vitec_area_interest"]))
    body["lookingForAccommodations"][0]["polygon"][0]["latitud"] = float("inf")
    with pytest.raises(ValidationError) as info:
        AreaInterestRequest.model_validate(body)
    fields = {e.field for e in field_errors_from_validation(info.value)}
    assert fields == {"lookingForAccommodations.0.polygon.0.latitud"}


@pytest.mark.parametrize("hostile", [".", "..", " .. "])
@pytest.mark.parametrize(
    ("model_cls", "operation", "field"),
    [
        (PersonLeadRequest, "vitec_person_lead", "customerId"),
        (ViewingParticipantRequest, "vitec_viewing_participant", "viewingId"),
        (ViewingParticipantRequest, "vitec_viewing_participant", "timeSlotId"),
        (ViewingParticipantRequest, "vitec_viewing_participant", "contactId"),
    ],
)
def test_dot_segment_ids_are_rejected(
    model_cls: type[BaseModel], operation: str, field: str, hostile: str
) -> None:
    """Was a changed vendor path: `Viewing/M1/../..` is resolved by the HTTP client to another path."""
    body = {**FIXTURES[operation], field: hostile}
    with pytest.raises(ValidationError) as info:
        model_cls.model_validate(body)
    assert {e.field for e in field_errors_from_validation(info.value)} == {field}


def test_dot_segment_contact_ids_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        ContactsQuery.model_validate({"customerId": "M10001", "ids": "c-1,..,."})
    assert {e.field for e in field_errors_from_validation(info.value)} == {"ids.1", "ids.2"}
