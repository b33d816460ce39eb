"""Each operation's sample body, sent over real HTTP to the local API, arrives at the vendor sandbox."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.conftest import API_KEY_HEADERS, Stack

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "bodies"

WRITES = [
    ("/vitec/person-leads", "vitec_person_lead.json", "person_lead"),
    ("/vitec/area-interests", "vitec_area_interest.json", "area_interest"),
    ("/vitec/viewing-participants", "vitec_viewing_participant.json", "viewing_participant"),
    ("/omnicasa/contact-on-me", "omnicasa_contact_on_me.json", "contact_on_me"),
]


def body(name: str) -> dict[str, Any]:
    return dict(json.loads((BODIES / name).read_text()))


def post(stack: Stack, route: str, payload: Any, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.api}{route}", json=payload, headers={**API_KEY_HEADERS, **headers}, timeout=30
    )


@pytest.mark.parametrize(("route", "sample", "operation"), WRITES)
def test_sample_body_is_delivered_once(clean: Stack, route: str, sample: str, operation: str) -> None:
    response = post(clean, route, body(sample), **{"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "delivered"
    records = clean.records(operation=operation)
    assert len(records) == 1
    if operation == "person_lead":
        assert answer["leadId"] == records[0]["result"]
    if operation == "contact_on_me":
        assert answer["personId"] == records[0]["result"]


def test_repeated_delivery_id_reaches_the_vendor_once(clean: Stack) -> None:
    key = str(uuid.uuid4())
    first = post(clean, "/vitec/person-leads", body("vitec_person_lead.json"), **{"Idempotency-Key": key})
    second = post(clean, "/vitec/person-leads", body("vitec_person_lead.json"), **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["deliveryId"] == key
    assert len(clean.records(operation="person_lead")) == 1


def test_same_body_without_key_is_deduplicated_by_hash(clean: Stack) -> None:
    payload = body("vitec_area_interest.json")
    payload["updatePerson"]["note"] = f"hash test {uuid.uuid4()}"
    first = post(clean, "/vitec/area-interests", payload)
    second = post(clean, "/vitec/area-interests", payload)
    assert first.json()["deliveryId"] == second.json()["deliveryId"]
    assert len(clean.records(operation="area_interest")) == 1


def test_customer_id_may_come_from_the_query_string(clean: Stack) -> None:
    payload = body("vitec_person_lead.json")
    customer = payload.pop("customerId")
    response = requests.post(
        f"{clean.api}/vitec/person-leads?customerId={customer}",
        json=payload,
        headers={**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert clean.records(operation="person_lead")[0]["customerId"] == customer


def test_dry_run_calls_nothing_and_masks_the_omnicasa_key(clean: Stack) -> None:
    response = requests.post(
        f"{clean.api}/omnicasa/contact-on-me?dryRun=true",
        json=body("omnicasa_contact_on_me.json"),
        headers=API_KEY_HEADERS,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "dry_run"
    assert "local-omnicasa-secret-key" not in response.text
    assert answer["vendorRequest"]["path"].startswith("techworks/contactonme/")
    assert answer["vendorRequest"]["body"]["CustomerId"] == 101
    assert clean.records() == []


def test_contacts_merge_chunks_in_request_order(clean: Stack) -> None:
    fixtures = requests.get(f"{clean.sandbox}/_sandbox/fixtures", timeout=5).json()
    ids = [*list(reversed(fixtures["vitec"]["M10001"]["contactIds"]))[:45], "no-such-contact"]
    response = requests.get(
        f"{clean.api}/vitec/contacts",
        params={"customerId": "M10001", "ids": ",".join(ids)},
        headers={"x-api-key": API_KEY_HEADERS["x-api-key"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [c["id"] for c in answer["contacts"]] == ids[:45]
    assert answer["missing"] == ["no-such-contact"]
    assert {c["type"] for c in answer["contacts"]} >= {"Person", "Company", "DeceasedEstate"}
