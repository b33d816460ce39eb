"""What a caller sees for bad input, over real HTTP: a clear status, every bad field named, nothing sent."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from tests.integration.conftest import API_KEY_HEADERS, Stack

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "bodies"


def body(name: str) -> dict[str, Any]:
    return dict(json.loads((BODIES / name).read_text()))


def raw_post(
    stack: Stack, route: str, data: bytes, headers: dict[str, str] | None = None
) -> requests.Response:
    return requests.post(f"{stack.api}{route}", data=data, headers=headers or API_KEY_HEADERS, timeout=30)


def test_malformed_json_is_400(clean: Stack) -> None:
    response = raw_post(clean, "/vitec/person-leads", b'{"person": ')
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert clean.records() == []


def test_non_utf8_body_is_400_not_500(clean: Stack) -> None:
    response = raw_post(clean, "/vitec/person-leads", b'{"message": "\xff\xfe"}')
    assert response.status_code == 400
    assert "UTF-8" in response.json()["message"]


def test_oversized_body_is_413(clean: Stack) -> None:
    big = json.dumps({"message": "x" * (300 * 1024)}).encode()
    assert raw_post(clean, "/vitec/person-leads", big).status_code == 413


def test_every_invalid_field_is_named_and_nothing_is_sent(clean: Stack) -> None:
    payload = body("vitec_person_lead.json")
    # Only rules the docs state (DESIGN §6): types, required fields, a receiver that names someone.
    payload["person"]["firstName"] = {"given": "Anna"}
    payload["person"]["isForeignSocialSecurityNumber"] = "A" * 31
    payload["receiver"] = {}
    del payload["leadSource"]
    response = raw_post(clean, "/vitec/person-leads", json.dumps(payload).encode())
    assert response.status_code == 422, response.text
    answer = response.json()
    fields = {e["field"] for e in answer["errors"]}
    assert {"person.firstName", "person.isForeignSocialSecurityNumber", "leadSource"} <= fields
    assert any(f.startswith("receiver") for f in fields)
    assert "A" * 31 not in response.text, "the rejected value is not echoed"
    assert answer["deliveryId"]
    assert clean.records() == []


def test_missing_or_wrong_api_key_is_401(clean: Stack) -> None:
    data = json.dumps(body("vitec_person_lead.json")).encode()
    assert (
        raw_post(clean, "/vitec/person-leads", data, {"Content-Type": "application/json"}).status_code == 401
    )
    wrong = {"x-api-key": "nope", "Content-Type": "application/json"}
    response = raw_post(clean, "/vitec/person-leads", data, wrong)
    assert response.status_code == 401
    assert "nope" not in response.text
    assert clean.records() == []


def test_unknown_customer_is_a_clear_422_without_credentials(clean: Stack) -> None:
    payload = {**body("vitec_person_lead.json"), "customerId": "M99999"}
    response = raw_post(clean, "/vitec/person-leads", json.dumps(payload).encode())
    assert response.status_code == 422, response.text
    assert "customerId" in {e["field"] for e in response.json()["errors"]}
    assert "local-pass" not in response.text


def test_vendor_rejection_is_422_with_vendor_message_and_parked(clean: Stack) -> None:
    payload = {**body("vitec_viewing_participant.json"), "contactId": "c-m10001-999"}
    response = raw_post(
        clean,
        "/vitec/viewing-participants",
        json.dumps(payload).encode(),
        {**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["parked"] is True
    assert answer["vendorStatus"] == 404
    parked = clean.messages(clean.parked_queue)
    assert [json.loads(m["Body"])["reason"] for m in parked] == ["vendor_rejected"]


def test_vendor_down_means_202_queued(clean: Stack) -> None:
    clean.faults(errorRate=1.0, statuses=[503])
    response = raw_post(
        clean,
        "/vitec/person-leads",
        json.dumps(body("vitec_person_lead.json")).encode(),
        {**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    queued = clean.messages(clean.failure_queue)
    assert len(queued) == 1
    envelope = json.loads(queued[0]["Body"])
    assert envelope["operation"] == "vitec_person_lead"
    assert "local-pass" not in queued[0]["Body"]
    assert set(queued[0].get("MessageAttributes", {})) <= {"operation", "deliveryId", "reason"}


def test_unknown_route_is_404_json(clean: Stack) -> None:
    assert requests.get(f"{clean.api}/nope", timeout=5).status_code == 404


def test_vendor_that_hangs_times_out_and_the_lead_is_queued(clean: Stack) -> None:
    clean.faults(latencyMs=2500)  # beyond the stack's 2 s read timeout
    response = raw_post(
        clean,
        "/vitec/person-leads",
        json.dumps(body("vitec_person_lead.json")).encode(),
        {**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    assert len(clean.messages(clean.failure_queue)) == 1
    # The sandbox finishes the slow calls after we gave up on them: let them land before the next test.
    clean.faults(latencyMs=0)
    time.sleep(3)
