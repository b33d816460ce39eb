"""Inbound clients and their scope (DESIGN §4, issue 11): parsing, skipping, and the 403 decisions."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from leadhooks import secrets as product_secrets
from leadhooks.catalog import CATALOG, entry
from leadhooks.errors import AuthenticationError, ForbiddenError
from leadhooks.inbound.auth import AuthResult, authenticate
from leadhooks.inbound.clients import ALL, EVERYTHING, KNOWN_OPERATIONS, Reach, parse_clients
from leadhooks.inbound.scope import authorize, customer_in
from leadhooks.masking import MASK, mask_delivery_id
from leadhooks.models.api import MAX_ERROR_BYTES, MAX_ERRORS, ErrorBody, FieldError

KEY_A = "agency-a-key-0123456789"
KEY_B = "agency-b-key-0123456789"
WHSEC_A = "whsec_" + base64.b64encode(b"agency-a-signing-secret-32-bytes").decode()
WHSEC_SHORT = "whsec_" + base64.b64encode(b"only-16-bytes!!!").decode()


def secret(**clients: dict[str, Any]) -> dict[str, Any]:
    return {"clients": clients}


TWO = secret(
    agencyA={
        "apiKeys": [KEY_A],
        "webhookSecrets": [WHSEC_A],
        "vitecCustomers": ["M10001"],
        "operations": ["person-leads", "contacts"],
    },
    agencyB={"apiKeys": [KEY_B], "vitecCustomers": ["M10002"], "omnicasaCustomers": ["101"]},
)


def auth_for(reach: Reach, client: str = "c") -> AuthResult:
    return AuthResult(scheme="api_key", client=client, reach=reach)


# ---- parsing ------------------------------------------------------------------------------------


def test_each_key_authenticates_as_its_own_client() -> None:
    parsed = parse_clients(TWO)
    assert parsed.problems == ()
    a = authenticate({"x-api-key": KEY_A}, b"", parsed)
    b = authenticate({"x-api-key": KEY_B}, b"", parsed)
    assert (a.client, b.client) == ("agencyA", "agencyB")
    assert a.reach.vitec_customers == {"M10001"} and a.reach.operations == {"person-leads", "contacts"}
    assert b.reach.operations is None  # absent: every operation
    assert b.reach.omnicasa_customers == {"101"}


def test_absent_customer_lists_reach_no_customer() -> None:
    parsed = parse_clients(secret(only_key={"apiKeys": [KEY_A]}))
    reach = parsed.clients[0].reach
    assert not reach.may_reach("vitec", "M10001") and not reach.may_reach("omnicasa", "101")


@pytest.mark.parametrize(
    ("entry_value", "field"),
    [
        ({"apiKeys": [KEY_A], "operation": ["contacts"]}, "operation"),  # misspelt: would widen to all
        ({"apiKeys": KEY_A}, "apiKeys"),
        ({"apiKeys": [KEY_A], "vitecCustomers": "M10001"}, "vitecCustomers"),
        ({"apiKeys": [KEY_A], "operations": "contacts"}, "operations"),
        ({"apiKeys": [KEY_A], "vitecCustomers": [{"id": 1}]}, "vitecCustomers"),
        ("not an object", "(entry)"),
    ],
)
def test_an_entry_whose_scope_is_in_doubt_is_skipped_and_the_others_work(
    entry_value: Any, field: str
) -> None:
    parsed = parse_clients(secret(broken=entry_value, agencyB={"apiKeys": [KEY_B], "vitecCustomers": ["*"]}))
    assert [c.name for c in parsed.clients] == ["agencyB"]
    assert [(p.client, p.field) for p in parsed.problems] == [("broken", field)]
    assert authenticate({"x-api-key": KEY_B}, b"", parsed).client == "agencyB"
    with pytest.raises(AuthenticationError):
        authenticate({"x-api-key": KEY_A}, b"", parsed)


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"apiKeys": ["short-key"]}, "apiKeys[0]", "shorter than 16"),
        ({"apiKeys": ["REPLACE_WITH_A_LONG_RANDOM_KEY"]}, "apiKeys[0]", "placeholder"),
        ({"typeformSecrets": [""]}, "typeformSecrets[0]", "empty"),
        (
            {"typeformSecrets": ["REPLACE_WITH_THE_TYPEFORM_WEBHOOK_SECRET"]},
            "typeformSecrets[0]",
            "placeholder",
        ),
        ({"webhookSecrets": ["whsec_REPLACE_WITH_BASE64_SECRET"]}, "webhookSecrets[0]", "placeholder"),
        ({"webhookSecrets": ["whsec_!!not-base64!!"]}, "webhookSecrets[0]", "not a Standard Webhooks secret"),
        ({"webhookSecrets": [WHSEC_SHORT]}, "webhookSecrets[0]", "under 24 bytes"),
    ],
)
def test_a_bad_credential_is_skipped_alone_and_never_echoed(
    values: dict[str, Any], field: str, reason: str
) -> None:
    entry_value = {"apiKeys": [KEY_A], "vitecCustomers": ["M10001"]}
    for name, listed in values.items():
        entry_value[name] = [*entry_value.get(name, []), *listed]
    bad_field = field if not field.startswith("apiKeys") else "apiKeys[1]"
    parsed = parse_clients(secret(agencyA=entry_value))
    assert len(parsed.clients) == 1 and parsed.clients[0].api_keys == (KEY_A,)  # the good key still works
    (problem,) = parsed.problems
    assert (problem.client, problem.field) == ("agencyA", bad_field) and reason in problem.reason
    text = str(problem)
    for listed in values.values():
        for value in listed:
            assert not value or value not in text


def test_a_1_byte_webhook_key_is_refused() -> None:
    one_byte = "whsec_" + base64.b64encode(b"x").decode()
    parsed = parse_clients(secret(a={"webhookSecrets": [one_byte]}))
    assert parsed.clients[0].webhook_secrets == () and "under 24 bytes" in parsed.problems[0].reason


def test_a_credential_shared_by_two_clients_serves_neither() -> None:
    parsed = parse_clients(secret(a={"apiKeys": [KEY_A]}, b={"apiKeys": [KEY_A, KEY_B]}))
    with pytest.raises(AuthenticationError):
        authenticate({"x-api-key": KEY_A}, b"", parsed)
    assert authenticate({"x-api-key": KEY_B}, b"", parsed).client == "b"
    assert {p.client for p in parsed.problems} == {"a", "b"}


def test_unknown_operation_grants_nothing_and_is_reported() -> None:
    parsed = parse_clients(secret(a={"apiKeys": [KEY_A], "operations": ["person-lead", "contacts"]}))
    assert parsed.clients[0].reach.operations == {"contacts"}
    assert parsed.problems[0].field == "operations[0]"


def test_bad_client_name_is_reported_by_position() -> None:
    parsed = parse_clients(secret(**{"anna@example.se": {"apiKeys": [KEY_A]}}))
    assert parsed.clients == () and parsed.problems[0].client == "#1"
    assert "anna" not in str(parsed.problems[0])


def test_legacy_flat_format_is_one_client_reaching_everything_and_reported() -> None:
    parsed = parse_clients({"apiKeys": [KEY_A], "typeformSecrets": ["tf-secret"]})
    assert parsed.legacy and parsed.clients[0].name == "default"
    assert parsed.clients[0].reach == EVERYTHING
    assert "legacy" in parsed.problems[0].reason


@pytest.mark.parametrize("data", [[], "x", None, {"clients": []}, {}])
def test_a_secret_of_the_wrong_shape_is_a_problem_not_an_exception(data: Any) -> None:
    parsed = parse_clients(data)
    assert parsed.clients == () and parsed.problems


def test_problems_are_logged_once_per_secret_version(monkeypatch: pytest.MonkeyPatch) -> None:
    value: dict[str, Any] = secret(a={"apiKeys": [KEY_A, "sh0rtk3y"]}, b={"apiKeys": [KEY_B]})
    monkeypatch.setattr(product_secrets, "inbound_secret", lambda: value)
    logged: list[dict[str, Any]] = []
    from leadhooks.observability import logger

    monkeypatch.setattr(logger, "warning", lambda msg, extra: logged.append(extra))
    monkeypatch.setattr(
        product_secrets, "get_settings", lambda: type("S", (), {"inbound_min_api_key_chars": 16})
    )
    product_secrets._parsed_inbound.clear()
    for _ in range(5):
        product_secrets.inbound_clients()
    assert [(e["client"], e["field"]) for e in logged] == [("a", "apiKeys[1]")]
    assert "sh0rtk3y" not in json.dumps(logged)
    value = secret(a={"apiKeys": [KEY_A, "short2"]})  # a new version: logged again, once
    for _ in range(3):
        product_secrets.inbound_clients()
    assert len(logged) == 2
    product_secrets._parsed_inbound.clear()


# ---- authorize ----------------------------------------------------------------------------------


def test_operation_outside_the_clients_list_is_forbidden_naming_it() -> None:
    auth = auth_for(Reach(frozenset({ALL}), frozenset({ALL}), frozenset({"contacts"})))
    authorize(auth, entry("vitec_get_contacts"))
    with pytest.raises(ForbiddenError) as info:
        authorize(auth, entry("vitec_person_lead"))
    assert info.value.status == 403 and info.value.code == "forbidden"
    assert info.value.details == [
        {"field": "operation", "reason": "'person-leads' is not among this client's operations"}
    ]


@pytest.mark.parametrize(
    ("name", "customer", "allowed"),
    [
        ("vitec_person_lead", "M10001", True),
        ("vitec_person_lead", " M10001 ", True),
        ("vitec_person_lead", "M10002", False),
        ("vitec_person_lead", None, False),
        ("omnicasa_contact_on_me", "101", True),
        ("omnicasa_contact_on_me", "0101", True),  # the same customer number
        ("omnicasa_contact_on_me", "102", False),
        ("omnicasa_contact_on_me", None, False),  # absent CustomerId: only a "*" client may send it
    ],
)
def test_customer_decisions(name: str, customer: str | None, allowed: bool) -> None:
    auth = auth_for(Reach(frozenset({"M10001"}), frozenset({"101"}), None))
    if allowed:
        authorize(auth, entry(name), customer)
        return
    with pytest.raises(ForbiddenError) as info:
        authorize(auth, entry(name), customer)
    assert info.value.details[0]["field"] == entry(name).customer_field
    assert (customer or "").strip() not in json.dumps(info.value.details) or not customer


def test_a_star_client_reaches_every_customer_and_an_absent_one() -> None:
    auth = auth_for(EVERYTHING)
    for item in CATALOG:
        authorize(auth, item, "ANY")
        authorize(auth, item, None)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("vitec_person_lead", {"customerId": "M10001"}, "M10001"),
        ("vitec_person_lead", {"customerid": " M10001 "}, "M10001"),
        ("vitec_area_interest", {"updatePerson": {"customerId": "M10002"}}, "M10002"),
        ("vitec_viewing_participant", {"customerId": "M10001", "viewingId": "v"}, "M10001"),
        ("omnicasa_contact_on_me", {"CustomerId": 101}, "101"),
        ("omnicasa_contact_on_me", {"customerId": "0101"}, "101"),
        ("omnicasa_contact_on_me", {"Name": "x"}, None),
        ("vitec_person_lead", {"customerId": ["M10001"]}, "(not an id)"),
    ],
)
def test_customer_in_reads_the_field_the_model_reads(
    name: str, data: dict[str, Any], expected: str | None
) -> None:
    item = entry(name)
    assert customer_in(item, item.operation().model, data) == expected


def test_every_catalog_scope_is_a_known_operation() -> None:
    assert {item.scope for item in CATALOG} <= KNOWN_OPERATIONS


# ---- bounds ------------------------------------------------------------------------------------


def test_error_answers_are_bounded_and_say_how_many_were_left_out() -> None:
    errors = [FieldError(field=f"a.{'x' * 500}.{i}", reason="r" * 1000) for i in range(10_000)]
    body = ErrorBody(error="validation_error", message="the request does not pass validation", errors=errors)
    raw = json.dumps(body.to_body(), ensure_ascii=False).encode()
    assert len(raw) <= MAX_ERROR_BYTES
    assert 0 < len(body.errors) <= MAX_ERRORS
    assert body.errors_omitted == 10_000 - len(body.errors)
    assert f"{body.errors_omitted} more errors not listed" in body.message


def test_a_small_error_answer_is_unchanged() -> None:
    body = ErrorBody(error="e", message="m", errors=[FieldError(field="customerId", reason="missing")])
    assert body.to_body() == {
        "error": "e",
        "message": "m",
        "errors": [{"field": "customerId", "reason": "missing"}],
        "parked": False,
    }


@pytest.mark.parametrize(
    "value",
    [
        "anna.svensson@example.se",
        "19800101-1234",
        "8001011234",
        "+46701234567",
        "070-123 45 67",
        "lead-198001011234",
    ],
)
def test_delivery_ids_that_look_like_personal_data_are_masked(value: str) -> None:
    assert mask_delivery_id(value) == MASK


@pytest.mark.parametrize(
    "value",
    [
        "lh-" + "0123456789abcdef" * 2,
        "msg_2Kx9p",
        "01HZX8K3QW",
        "123e4567-e89b-12d3-a456-426614174000",
        "tf-0001",
    ],
)
def test_ordinary_delivery_ids_stay_readable(value: str) -> None:
    assert mask_delivery_id(value) == value


def test_log_lines_mask_the_correlation_id_and_delivery_id() -> None:
    import io
    import logging

    from leadhooks.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logger.set_correlation_id("anna.svensson@example.se")
    try:
        logger.info("delivered", extra={"deliveryId": "19800101-1234"})
    finally:
        logger.set_correlation_id(None)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["correlation_id"] == MASK and line["deliveryId"] == MASK
