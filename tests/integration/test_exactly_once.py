"""Exactly once that holds (DESIGN §5, §6): the delivery record and the write bound, over real HTTP.

Every test counts what the vendor sandbox holds per delivery (`GET /_sandbox/records`: one record per
vendor write) while the sandbox loses answers, answers 502/504/503, or the record store fails. The
bound: at most 2 writes per deliveryId across the API, the replay worker and the ops CLI, at most 1 for
a viewing registration.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
import requests
from leadhooks import deliveries, secrets
from leadhooks.deliveries import DeliveryKey, get_store
from leadhooks.errors import IdempotencyStoreError
from leadhooks.settings import get_settings
from leadhooks_ops.cli import main as ops

from local import config
from local.make_events import typeform_body, typeform_signature
from local.replay_worker import drain_once
from tests.integration.conftest import API_KEY_HEADERS, Stack
from tests.integration.test_delivery import WRITES, body, post

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics")]

FUNCTION = {
    "person_lead": "vitec_person_lead",
    "area_interest": "vitec_area_interest",
    "viewing_participant": "vitec_viewing_participant",
    "contact_on_me": "omnicasa_contact_on_me",
}
BOUND = {"viewing_participant": 1}  # every other write: 2


def send(stack: Stack, route: str, payload: Any, key: str) -> requests.Response:
    return post(stack, route, payload, **{"Idempotency-Key": key})


def status_of(stack: Stack, delivery_id: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(
        f"{stack.api}/deliveries/{delivery_id}", headers=headers or {"x-api-key": config.API_KEY}, timeout=30
    )


def parked(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in stack.messages(stack.parked_queue)]


def drain_all(rounds: int = 10) -> int:
    """Run the replay worker until nothing is left to hand it (REPLAY_BACKOFF_S is all zeros here)."""
    handled = 0
    for _ in range(rounds):
        done = drain_once()
        handled += done
        if not done:
            break
    return handled


def signed_typeform(function: str, native: dict[str, Any], event_id: str) -> tuple[bytes, dict[str, str]]:
    event = typeform_body(function, native)
    event["event_id"] = event_id
    raw = json.dumps(event).encode()
    return raw, {"Content-Type": "application/json", "Typeform-Signature": typeform_signature(raw)}


# ---- lost answers: the bound ------------------------------------------------------------------


@pytest.mark.parametrize(("route", "sample", "operation"), WRITES)
def test_a_lost_answer_on_every_write_stays_within_the_bound(
    clean: Stack, route: str, sample: str, operation: str
) -> None:
    clean.faults(lostAnswerRate=1.0)
    key = f"lost-{uuid.uuid4()}"
    first = send(clean, route, body(sample), key)
    assert first.status_code == 202, first.text
    bound = BOUND.get(operation, 2)
    # The replay worker re-sends what may be re-sent (answer lost again), then parks it.
    drain_all()
    again = send(clean, route, body(sample), key)  # the caller retries: the first answer, nothing sent
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    drain_all()
    writes = clean.records(operation=operation)
    assert len(writes) == bound, writes
    [parked_one] = [e for e in parked(clean) if e["deliveryId"] == key]
    assert parked_one["reason"] == "answer_lost"
    state = status_of(clean, key).json()
    assert (state["status"], state["reason"]) == ("parked", "answer_lost")
    if operation == "viewing_participant":
        assert first.json()["parked"] is True and first.json()["reason"] == "answer_lost"
    else:
        assert first.json()["status"] == "queued"
    # An operator's replay goes through the same record: the bound still holds.
    code, out = ops_cli("parked", "replay", key)
    assert code == 0, out
    drain_all()
    assert len(clean.records(operation=operation)) == bound
    assert [e["reason"] for e in parked(clean) if e["deliveryId"] == key] == ["answer_lost"]


def ops_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return ops(list(argv), out=out), out.getvalue()


@pytest.mark.parametrize("gateway_status", [502, 504])
def test_gateway_error_on_a_viewing_registration_is_parked_answer_lost(
    clean: Stack, gateway_status: int
) -> None:
    clean.faults(errorRate=1.0, statuses=[gateway_status])
    key = f"gw-{uuid.uuid4()}"
    response = send(clean, "/vitec/viewing-participants", body("vitec_viewing_participant.json"), key)
    assert response.status_code == 202, response.text
    assert (response.json()["parked"], response.json()["reason"]) == (True, "answer_lost")
    clean.faults(errorRate=0.0)
    drain_all()
    assert len(clean.records(operation="viewing_participant")) <= 1
    assert [e["reason"] for e in parked(clean)] == ["answer_lost"]
    assert clean.messages(clean.failure_queue) == []


def test_gateway_error_on_a_person_lead_is_queued_and_resent_once(clean: Stack) -> None:
    clean.faults(errorRate=1.0, statuses=[504])
    key = f"gw-{uuid.uuid4()}"
    response = send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key)
    assert (response.status_code, response.json()["status"]) == (202, "queued")
    clean.faults(errorRate=0.0)
    drain_all()
    assert len(clean.records(operation="person_lead")) == 1
    state = status_of(clean, key).json()
    assert state["status"] == "delivered" and state["result"]["leadId"]


def test_503_then_recovery_is_exactly_one_write(clean: Stack) -> None:
    clean.faults(failNext=2, statuses=[503])  # in-request retries reach the third try
    key = f"503-{uuid.uuid4()}"
    response = send(clean, "/vitec/viewing-participants", body("vitec_viewing_participant.json"), key)
    assert response.status_code == 200, response.text
    assert len(clean.records(operation="viewing_participant")) == 1
    state = status_of(clean, key).json()
    assert (state["status"], state["attempts"]) == ("delivered", 1)


def test_503_throughout_the_request_then_recovery_is_one_write_by_the_replay(clean: Stack) -> None:
    clean.faults(errorRate=1.0, statuses=[503])
    key = f"503-{uuid.uuid4()}"
    response = send(clean, "/vitec/viewing-participants", body("vitec_viewing_participant.json"), key)
    assert (response.status_code, response.json()["status"]) == (202, "queued")
    queued = status_of(clean, key).json()
    assert queued["status"] == "queued" and queued["nextAttemptAt"]
    clean.faults(errorRate=0.0)
    drain_all()
    assert len(clean.records(operation="viewing_participant")) == 1
    assert status_of(clean, key).json()["status"] == "delivered"


# ---- the record: repeats and reuse ------------------------------------------------------------


def test_same_key_with_another_payload_is_422_and_sends_nothing(clean: Stack) -> None:
    key = f"reuse-{uuid.uuid4()}"
    assert send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key).status_code == 200
    other = body("vitec_person_lead.json")
    other["message"] = "another lead entirely"
    response = send(clean, "/vitec/person-leads", other, key)
    assert response.status_code == 422, response.text
    assert (response.json()["error"], response.json()["deliveryId"]) == ("idempotency_key_reused", key)
    assert len(clean.records(operation="person_lead")) == 1


def test_a_repeated_delivery_gets_the_first_answer_and_writes_once(clean: Stack) -> None:
    key = f"repeat-{uuid.uuid4()}"
    answers = [
        send(clean, "/omnicasa/contact-on-me", body("omnicasa_contact_on_me.json"), key) for _ in range(3)
    ]
    assert {a.status_code for a in answers} == {200}
    assert all(a.json() == answers[0].json() for a in answers)
    assert len(clean.records(operation="contact_on_me")) == 1
    state = status_of(clean, key).json()
    assert state == {
        "deliveryId": key,
        "operation": "omnicasa_contact_on_me",
        "status": "delivered",
        "attempts": 1,
        "result": {"personId": answers[0].json()["personId"]},
    }


# ---- nothing lost, parked once --------------------------------------------------------------


def test_signed_lead_for_a_customer_without_credentials_is_parked_once(clean: Stack) -> None:
    native = {**body("vitec_person_lead.json"), "customerId": "M99999"}
    event_id = f"tf-{uuid.uuid4().hex}"
    raw, headers = signed_typeform("vitec_person_lead", native, event_id)
    answers = [
        requests.post(f"{clean.api}/vitec/person-leads", data=raw, headers=headers, timeout=30)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202], answers[0].text
    assert answers[0].json()["parked"] is True and answers[0].json()["reason"] == "no_credentials"
    assert [(e["deliveryId"], e["reason"]) for e in parked(clean)] == [(event_id, "no_credentials")]
    assert clean.records() == []


def test_api_key_lead_for_a_customer_without_credentials_is_422_naming_customer_id(clean: Stack) -> None:
    key = f"nocred-{uuid.uuid4()}"
    payload = {**body("vitec_person_lead.json"), "customerId": "M99999"}
    response = send(clean, "/vitec/person-leads", payload, key)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "no_credentials"
    assert "customerId" in {e["field"] for e in response.json()["errors"]}
    assert parked(clean) == [] and clean.messages(clean.failure_queue) == []
    assert status_of(clean, key).status_code == 404  # nothing kept: a retry once configured is fresh


def test_a_missing_omnicasa_key_is_not_a_500(clean: Stack) -> None:
    client = clean.client("secretsmanager")
    client.put_secret_value(SecretId=config.OMNICASA_SECRET_ID, SecretString="{}")
    secrets.clear_cache()
    try:
        key = f"nokey-{uuid.uuid4()}"
        response = send(clean, "/omnicasa/contact-on-me", body("omnicasa_contact_on_me.json"), key)
        assert (response.status_code, response.json()["error"]) == (422, "no_credentials")
        raw = json.dumps(body("omnicasa_contact_on_me.json")).encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        from tests.integration.test_inbound import webhook_headers

        signed = requests.post(
            f"{clean.api}/omnicasa/contact-on-me", data=raw, headers=webhook_headers(raw, msg_id), timeout=30
        )
        assert signed.status_code == 202, signed.text
        assert (signed.json()["parked"], signed.json()["reason"]) == (True, "no_credentials")
        assert [e["deliveryId"] for e in parked(clean)] == [msg_id]
    finally:
        client.put_secret_value(
            SecretId=config.OMNICASA_SECRET_ID,
            SecretString=json.dumps(config.SECRETS[config.OMNICASA_SECRET_ID]),
        )
        secrets.clear_cache()
    assert clean.records() == []


def test_an_invalid_signed_delivery_is_parked_once(clean: Stack) -> None:
    native = body("vitec_person_lead.json")
    del native["person"]
    event_id = f"tf-{uuid.uuid4().hex}"
    raw, headers = signed_typeform("vitec_person_lead", native, event_id)
    answers = [
        requests.post(f"{clean.api}/vitec/person-leads", data=raw, headers=headers, timeout=30)
        for _ in range(6)
    ]
    assert {a.status_code for a in answers} == {422}
    assert all(a.json()["parked"] is True for a in answers)
    assert [(e["deliveryId"], e["reason"]) for e in parked(clean)] == [(event_id, "invalid_input")]


def test_dry_run_parks_queues_and_keeps_nothing(clean: Stack) -> None:
    native = body("vitec_person_lead.json")
    del native["person"]
    raw, headers = signed_typeform("vitec_person_lead", native, f"tf-{uuid.uuid4().hex}")
    invalid = requests.post(
        f"{clean.api}/vitec/person-leads?dryRun=true", data=raw, headers=headers, timeout=30
    )
    assert invalid.status_code == 422 and invalid.json()["parked"] is False
    key = f"dry-{uuid.uuid4()}"
    valid = requests.post(
        f"{clean.api}/vitec/person-leads?dryRun=true",
        json=body("vitec_person_lead.json"),
        headers={**API_KEY_HEADERS, "Idempotency-Key": key},
        timeout=30,
    )
    assert (valid.status_code, valid.json()["status"]) == (200, "dry_run")
    assert parked(clean) == [] and clean.messages(clean.failure_queue) == []
    assert status_of(clean, key).status_code == 404
    assert clean.records() == []


# ---- GET /deliveries/{deliveryId} ---------------------------------------------------------------


def test_delivery_status_shows_delivered_queued_and_parked(clean: Stack) -> None:
    delivered = f"st-{uuid.uuid4()}"
    assert send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), delivered).status_code == 200
    state = status_of(clean, delivered).json()
    [record] = clean.records(operation="person_lead")
    assert (state["status"], state["result"], state["attempts"]) == (
        "delivered",
        {"leadId": record["result"]},
        1,
    )

    rejected = f"st-{uuid.uuid4()}"
    payload = {**body("vitec_viewing_participant.json"), "contactId": "c-m10001-999"}
    assert send(clean, "/vitec/viewing-participants", payload, rejected).status_code == 422
    state = status_of(clean, rejected).json()
    assert (state["status"], state["reason"], state["operation"]) == (
        "parked",
        "vendor_rejected",
        "vitec_viewing_participant",
    )

    unknown = status_of(clean, f"st-{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    signed = requests.get(
        f"{clean.api}/deliveries/{delivered}", headers={"Typeform-Signature": "sha256=AAAA"}, timeout=30
    )
    assert signed.status_code == 401


def test_another_clients_delivery_is_not_found(clean: Stack) -> None:
    """The namespace is the client and the operation: another client's equal id is another delivery."""
    key = f"ns-{uuid.uuid4()}"
    lease = get_store().create(
        DeliveryKey("someone-else", "vitec_person_lead", key),
        fingerprint="x",
        customer_id=None,
        by="api",
        send=False,
    )
    assert isinstance(lease, deliveries.Lease)
    assert status_of(clean, key).status_code == 404
    # …and the caller's own delivery with that id is a delivery of its own.
    assert send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key).status_code == 200
    assert status_of(clean, key).json()["status"] == "delivered"


# ---- store faults --------------------------------------------------------------------------------


def _failing_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    store = get_store()
    original = store._call

    def call(operation: str, **kwargs: Any) -> dict[str, Any]:
        if operation == "update_item":
            raise IdempotencyStoreError("the delivery record store is unavailable")
        return original(operation, **kwargs)

    monkeypatch.setattr(store, "_call", call)


@pytest.mark.parametrize(("route", "sample", "operation"), [WRITES[0], WRITES[2]])
def test_a_store_fault_after_the_vendor_call_still_holds_the_bound(
    clean: Stack, monkeypatch: pytest.MonkeyPatch, route: str, sample: str, operation: str
) -> None:
    key = f"fault-{uuid.uuid4()}"
    with monkeypatch.context() as patch:
        _failing_updates(patch)
        response = send(clean, route, body(sample), key)
    assert response.status_code == 200, response.text  # delivered: the outcome just was not recorded
    # Later, the record still says in flight; once its lease has run out, a repeat must not send blind.
    monkeypatch.setattr(deliveries, "now_s", lambda: int(__import__("time").time()) + 3600)
    again = send(clean, route, body(sample), key)
    assert again.status_code == 202, again.text
    drain_all()
    monkeypatch.undo()
    bound = BOUND.get(operation, 2)
    assert 1 <= len(clean.records(operation=operation)) <= bound
    if operation == "viewing_participant":
        assert [e["reason"] for e in parked(clean)] == ["answer_lost"]


def test_an_unreachable_store_queues_instead_of_sending_blind(
    clean: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"nostore-{uuid.uuid4()}"
    with monkeypatch.context() as patch:
        patch.setattr(get_store(), "table", "no-such-table")
        first = send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key)
        second = send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key)
    assert [first.status_code, second.status_code] == [202, 202]
    assert first.json()["status"] == "queued"
    assert clean.records() == []  # nothing sent without the record
    drain_all()
    assert len(clean.records(operation="person_lead")) == 1  # two envelopes, one record, one write
    assert status_of(clean, key).json()["status"] == "delivered"
    assert get_settings().idempotency_table == get_store().table
