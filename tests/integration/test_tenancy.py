"""Tenancy (DESIGN §4, issue 11) over real HTTP on the local stack: every credential reaches only its own
client's customers and operations, a broken client entry leaves the others working, and the bounds
(200 contact ids, 16 KB / 50-error answers) hold."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local import config
from local.make_events import typeform_body, typeform_signature
from tests.integration.conftest import Stack
from tests.integration.test_delivery import body

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics")]

KEY_A = "agency-a-key-" + "a" * 20
KEY_B = "agency-b-key-" + "b" * 20
TYPEFORM_A = "agency-a-typeform-secret"
WHSEC_A = "whsec_" + base64.b64encode(b"agency-a-signing-secret-32-bytes").decode()
OMNICASA_CUSTOMER = "101"

CLIENTS: dict[str, Any] = {
    # agencyA: one Vitec customer, person leads and contacts only.
    "agencyA": {
        "apiKeys": [KEY_A],
        "typeformSecrets": [TYPEFORM_A],
        "webhookSecrets": [WHSEC_A],
        "vitecCustomers": ["M10001"],
        "operations": ["person-leads", "contacts"],
    },
    # agencyB: the other Vitec customer and one Omnicasa customer, every operation.
    "agencyB": {"apiKeys": [KEY_B], "vitecCustomers": ["M10002"], "omnicasaCustomers": [OMNICASA_CUSTOMER]},
    # Broken entries: each is skipped (and logged once), the others keep working.
    "typo": {"apiKeys": ["typo-client-key-0123456789"], "operation": ["contacts"]},
    "placeholder": {"webhookSecrets": ["whsec_REPLACE_WITH_BASE64_SECRET"], "vitecCustomers": ["*"]},
    "tiny": {"webhookSecrets": ["whsec_" + base64.b64encode(b"x").decode()], "vitecCustomers": ["*"]},
}


def _put_inbound(stack: Stack, value: dict[str, Any]) -> None:
    from aws_lambda_powertools.utilities import parameters
    from leadhooks import secrets as product_secrets

    stack.client("secretsmanager").put_secret_value(
        SecretId=config.INBOUND_SECRET_ID, SecretString=json.dumps(value)
    )
    product_secrets.clear_cache()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@pytest.fixture
def tenants(clean: Stack) -> Iterator[Stack]:
    local = copy.deepcopy(config.SECRETS[config.INBOUND_SECRET_ID])
    _put_inbound(clean, {"clients": {**local["clients"], **CLIENTS}})
    try:
        yield clean
    finally:
        _put_inbound(clean, local)


def vendor_requests(stack: Stack) -> int | None:
    """The sandbox's request count (`GET /_sandbox/stats`), or None on a sandbox without it."""
    response = requests.get(f"{stack.sandbox}/_sandbox/stats", timeout=5)
    return int(response.json()["requests"]) if response.status_code == 200 else None


def write(stack: Stack, route: str, payload: Any, key: str, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.api}{route}",
        json=payload,
        headers={"x-api-key": key, "Idempotency-Key": str(uuid.uuid4()), **headers},
        timeout=30,
    )


def contacts(stack: Stack, key: str, customer: str, ids: str) -> requests.Response:
    return requests.get(
        f"{stack.api}/vitec/contacts",
        params={"customerId": customer, "ids": ids},
        headers={"x-api-key": key},
        timeout=30,
    )


def person_lead(customer: str) -> dict[str, Any]:
    payload = body("vitec_person_lead.json")
    payload["customerId"] = customer
    return payload


def forbidden(response: requests.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    answer = response.json()
    assert answer["error"] == "forbidden"
    assert [e["field"] for e in answer["errors"]] == [field]
    assert answer.get("deliveryId") or response.request.method == "GET"
    return dict(answer)


def parked(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in stack.messages(stack.parked_queue)]


# ---- a key cannot read or write another client's customer -----------------------------------------


def test_a_key_cannot_read_another_clients_customer(tenants: Stack) -> None:
    before = vendor_requests(tenants)
    answer = forbidden(contacts(tenants, KEY_A, "M10002", "c-m10002-001,c-m10002-002"), "customerId")
    assert "c-m10002" not in json.dumps(answer)  # nothing about which ids exist
    assert "missing" not in answer
    if before is not None:
        assert vendor_requests(tenants) == before, "a forbidden read reached the vendor"
    # Its own customer, and the other client's, each with its own key: allowed.
    assert contacts(tenants, KEY_A, "M10001", "c-m10001-001").status_code == 200
    assert contacts(tenants, KEY_B, "M10002", "c-m10002-001").status_code == 200
    forbidden(contacts(tenants, KEY_B, "M10001", "c-m10001-001"), "customerId")


def test_a_key_cannot_write_into_another_clients_customer(tenants: Stack) -> None:
    forbidden(write(tenants, "/vitec/person-leads", person_lead("M10002"), KEY_A), "customerId")
    forbidden(write(tenants, "/vitec/person-leads", person_lead("M10001"), KEY_B), "customerId")
    assert tenants.records() == [], "a forbidden write reached the vendor"
    assert parked(tenants) == []  # an API-key caller reads its 403: nothing is parked
    ok = write(tenants, "/vitec/person-leads", person_lead("M10001"), KEY_A)
    assert ok.status_code == 200, ok.text
    assert [r["customerId"] for r in tenants.records()] == ["M10001"]


def test_the_customer_is_checked_before_validation_is_answered(tenants: Stack) -> None:
    """A forbidden customer learns nothing about its body: 403, not the 422 the body would get."""
    payload = person_lead("M10002")
    del payload["person"]
    forbidden(write(tenants, "/vitec/person-leads", payload, KEY_A), "customerId")
    forbidden(write(tenants, "/vitec/person-leads?customerId=M10002", {"message": "x"}, KEY_A), "customerId")


def test_an_operation_outside_the_clients_list_is_forbidden(tenants: Stack) -> None:
    interest = body("vitec_area_interest.json")
    interest["updatePerson"]["customerId"] = "M10001"
    answer = forbidden(write(tenants, "/vitec/area-interests", interest, KEY_A), "operation")
    assert "area-interests" in answer["message"]
    assert tenants.records() == []


def test_omnicasa_customer_scope_and_an_absent_customer_id(tenants: Stack) -> None:
    lead = body("omnicasa_contact_on_me.json")
    lead["CustomerId"] = 999
    forbidden(write(tenants, "/omnicasa/contact-on-me", lead, KEY_B), "CustomerId")
    lead.pop("CustomerId")
    forbidden(write(tenants, "/omnicasa/contact-on-me", lead, KEY_B), "CustomerId")  # only "*" may omit it
    forbidden(write(tenants, "/omnicasa/contact-on-me", {**lead, "CustomerId": 101}, KEY_A), "operation")
    assert tenants.records() == []


# ---- a captured signed delivery cannot be replayed elsewhere --------------------------------------


def test_a_typeform_delivery_cannot_be_replayed_to_another_route_or_customer(tenants: Stack) -> None:
    native = person_lead("M10001")
    payload = typeform_body("vitec_person_lead", native)
    payload["event_id"] = f"tf-tenancy-{uuid.uuid4().hex[:8]}"
    raw = json.dumps(payload).encode()
    headers = {"Typeform-Signature": typeform_signature(raw, TYPEFORM_A), "Content-Type": "application/json"}
    first = requests.post(f"{tenants.api}/vitec/person-leads", data=raw, headers=headers, timeout=30)
    assert first.status_code == 200, first.text

    # The same bytes and signature, replayed to a route the client may not use.
    replayed = requests.post(f"{tenants.api}/vitec/area-interests", data=raw, headers=headers, timeout=30)
    answer = forbidden(replayed, "operation")
    assert answer["parked"] is True

    # A delivery signed with the same secret for a customer the client may not reach (?customerId=...).
    other = typeform_body("vitec_person_lead", person_lead("M10002"))
    other["event_id"] = f"tf-tenancy-{uuid.uuid4().hex[:8]}"
    raw_other = json.dumps(other).encode()
    signed = {
        "Typeform-Signature": typeform_signature(raw_other, TYPEFORM_A),
        "Content-Type": "application/json",
    }
    answer = forbidden(
        requests.post(f"{tenants.api}/vitec/person-leads", data=raw_other, headers=signed, timeout=30),
        "customerId",
    )
    assert answer["parked"] is True and answer["deliveryId"] == other["event_id"]

    assert len(tenants.records()) == 1  # only the first, allowed delivery
    reasons = sorted((e["reason"], e["operation"]) for e in parked(tenants))
    assert reasons == [("forbidden", "vitec_area_interest"), ("forbidden", "vitec_person_lead")]


def test_a_standard_webhooks_sender_is_held_to_its_client(tenants: Stack) -> None:
    import time

    from reliability.auth import webhook_signature

    raw = json.dumps(person_lead("M10002")).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    ts = int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": webhook_signature(raw, msg_id, ts, WHSEC_A),
        "Content-Type": "application/json",
    }
    answer = forbidden(
        requests.post(f"{tenants.api}/vitec/person-leads", data=raw, headers=headers, timeout=30),
        "customerId",
    )
    assert answer["parked"] is True and answer["deliveryId"] == msg_id
    assert tenants.records() == []
    assert [e["reason"] for e in parked(tenants)] == ["forbidden"]


# ---- broken entries ----------------------------------------------------------------------------------


def test_broken_client_entries_leave_every_other_client_working(tenants: Stack) -> None:
    ok = write(tenants, "/vitec/person-leads", person_lead("M10001"), config.API_KEY)  # the local client
    assert ok.status_code == 200, ok.text
    assert contacts(tenants, KEY_B, "M10002", "c-m10002-001").status_code == 200
    refused = contacts(tenants, "typo-client-key-0123456789", "M10001", "c-m10001-001")  # skipped client
    assert refused.status_code == 401 and "typo-client-key" not in refused.text


# ---- bounds --------------------------------------------------------------------------------------------


def test_1000_contact_ids_are_refused_without_a_vendor_call(tenants: Stack) -> None:
    before = vendor_requests(tenants)
    ids = ",".join(f"c-m10001-{i:04d}" for i in range(1000))
    response = contacts(tenants, config.API_KEY, "M10001", ids)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["ids"]
    if before is not None:
        assert vendor_requests(tenants) == before
    assert contacts(tenants, config.API_KEY, "M10001", ",".join(f"c-m10001-{i:03d}" for i in range(200)))
    assert contacts(tenants, config.API_KEY, "M10001", ids[: ids.index(",c-m10001-0200")]).status_code == 200


def test_a_huge_invalid_body_gets_a_bounded_answer(tenants: Stack) -> None:
    payload = person_lead("M10001")
    payload["marketing"]["utmTags"] = [{"name": {"x": i}} for i in range(12_000)]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    assert 200_000 < len(raw) < 256 * 1024
    response = requests.post(
        f"{tenants.api}/vitec/person-leads",
        data=raw,
        headers={"x-api-key": config.API_KEY, "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 422, response.text[:300]
    assert len(response.content) <= 16 * 1024
    answer = response.json()
    assert 0 < len(answer["errors"]) <= 50
    assert answer["errorsOmitted"] >= 12_000 - 50
    assert "more errors not listed" in answer["message"]


def test_an_invalid_idempotency_key_is_refused_not_echoed(tenants: Stack) -> None:
    bad = "<script>anna@example.se</script>"
    response = requests.get(
        f"{tenants.api}/vitec/contacts",
        params={"customerId": "M10001", "ids": "c-m10001-001"},
        headers={"x-api-key": config.API_KEY, "Idempotency-Key": bad},
        timeout=30,
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert "script" not in response.text and "anna" not in response.text
